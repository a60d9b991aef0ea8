"""`caseshield check --live caseshield-audit.json`: the live audit's results beside the preventive ones in every
format; a live fail or error fails the verdict; a live report that cannot be placed (unknown stack or control, not
an audit report, a stack twice) is refused with exit 2.

The live files are written by the audit's own JSON writer (caseshield/audit/report.py) from results made here,
so they have exactly the shape `caseshield audit --format json` writes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from caseshield import cli
from caseshield.audit.report import AuditReport, render_json
from caseshield.audit.runner import CheckResult, StackAudit
from caseshield.live_results import LiveResultError, load
from caseshield.render import json_doc, junit, markdown, sarif
from caseshield.report import CheckReport, StackReport
from policies import catalog as catalog_module
from tests.test_render import CATALOG, _sarif_schema

DRIFT = "cs-dev-documents: rotation of the case-documents key is off"


def audit_file(tmp_path: Path, stack: str, results: list[tuple[str, str, str]], name: str = "caseshield-audit.json") -> Path:
    """A caseshield-audit.json for `stack` with (check, control, status) results, as the audit writes it."""
    audit = StackAudit(stack, [CheckResult(check, control, status, (DRIFT,) if status != "pass" else ())  # type: ignore[arg-type]
                               for check, control, status in results], 1.5)
    report = AuditReport([audit], accounts={stack: "123456789012"}, regions={stack: "us-east-1"})
    path = tmp_path / name
    path.write_text(render_json(report))
    return path


def report_with_live(tmp_path: Path, status: str) -> CheckReport:
    """Two stacks that pass every preventive check; dev's live audit has CS-ENC-01 at `status`."""
    path = audit_file(tmp_path, "dev", [("key-rotates", "CS-ENC-01", status), ("mfa-on", "CS-IAM-04", "pass")])
    live = load([path], ["dev", "prod"], CATALOG.ids())
    stacks = [StackReport(s, s, 10, [], dict.fromkeys(CATALOG.ids(), "pass"), live=live.get(s)) for s in ("dev", "prod")]
    return CheckReport(generated_at="2031-01-02T03:04:05+00:00", catalog=CATALOG, stacks=stacks, waivers=[],
                       waiver_problems=[], parity=[])


def cells(md: str, control: str) -> dict[str, str]:
    """The matrix row of `control` in the Markdown report, by column heading."""
    header = next(line for line in md.splitlines() if line.startswith("| control | title |"))
    row = next(line for line in md.splitlines() if line.startswith(f"| `{control}` |"))
    return dict(zip((c.strip() for c in header.strip("|").split("|")), (c.strip() for c in row.strip("|").split("|")), strict=True))


def test_a_live_pass_shows_beside_the_preventive_result_and_the_verdict_passes(tmp_path: Path) -> None:
    report = report_with_live(tmp_path, "pass")
    assert report.passed
    md = markdown.render(report)
    row = cells(md, "CS-ENC-01")
    assert row["dev"] == "pass" and row["dev (live)"] == "pass" and row["prod (live)"] == "—"
    assert cells(md, "CS-NET-02")["dev (live)"] == "—"  # not checked live: a dash, never a pass
    assert "Every live check passed." in md


def test_a_live_fail_shows_in_the_matrix_and_fails_the_verdict_in_every_format(tmp_path: Path) -> None:
    report = report_with_live(tmp_path, "fail")
    assert not report.passed and not report.stacks[0].passed and report.stacks[1].passed
    md = markdown.render(report)
    row = cells(md, "CS-ENC-01")
    assert row["dev"] == "pass" and row["dev (live)"] == "**fail**"  # preventive and detective side by side
    assert "live audit: 1 drifted (CS-ENC-01)" in md and DRIFT in md
    document = json.loads(json_doc.render(report))
    jsonschema.Draft202012Validator(json.loads(json_doc.SCHEMA_PATH.read_text())).validate(document)
    assert document["passed"] is False
    assert document["stacks"][0]["live"]["controls"] == {"CS-ENC-01": "fail", "CS-IAM-04": "pass"}
    assert document["stacks"][1]["live"] is None
    log = json.loads(sarif.render(report))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    (result,) = [r for r in log["runs"][0]["results"] if r["ruleId"].startswith("live/")]
    assert result["ruleId"] == "live/key-rotates" and result["properties"]["status"] == "fail"
    suites = ET.fromstring(junit.render(report))
    (case,) = suites.findall("./testsuite[@name='dev']/testcase[@name='CS-ENC-01 (live audit)']")
    assert case.find("failure") is not None


def test_a_live_error_is_never_a_pass(tmp_path: Path) -> None:
    report = report_with_live(tmp_path, "error")
    assert not report.passed
    assert cells(markdown.render(report), "CS-ENC-01")["dev (live)"] == "**error**"
    (case,) = ET.fromstring(junit.render(report)).findall("./testsuite[@name='dev']/testcase[@name='CS-ENC-01 (live audit)']")
    assert case.find("error") is not None


@pytest.mark.parametrize(("stack", "control", "expected"), [
    ("qa", "CS-ENC-01", "stack 'qa' is not among the stacks checked"),
    ("dev", "CS-XYZ-99", "control(s) CS-XYZ-99 of stack dev are not in policies/controls.yaml"),
])
def test_a_live_result_that_cannot_be_placed_is_refused(tmp_path: Path, stack: str, control: str, expected: str) -> None:
    path = audit_file(tmp_path, stack, [("some-check", control, "pass")])
    with pytest.raises(LiveResultError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load([path], ["dev", "prod"], CATALOG.ids())


@pytest.mark.parametrize("content", ["not json", json.dumps({"format": "caseshield-report/1", "stacks": []}),
                                     json.dumps({"format": "caseshield-audit/1", "stacks": [{"stack": "dev"}]})])
def test_a_file_that_is_not_an_audit_report_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "live.json"
    path.write_text(content)
    with pytest.raises(LiveResultError, match=r"--live .*live\.json.*Fix:"):
        load([path], ["dev"], CATALOG.ids())


def test_one_stack_in_two_files_is_refused(tmp_path: Path) -> None:
    first = audit_file(tmp_path, "dev", [("key-rotates", "CS-ENC-01", "pass")], "a.json")
    second = audit_file(tmp_path, "dev", [("key-rotates", "CS-ENC-01", "pass")], "b.json")
    with pytest.raises(LiveResultError, match="also given by"):
        load([first, second], ["dev"], CATALOG.ids())


# --- the CLI ----------------------------------------------------------------------------------------------------------

def run(tmp_path: Path, live: Path, capsys: pytest.CaptureFixture[str], *stacks: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp_path / "reports"
    code = cli.main(["check", "--stack", ",".join(stacks), "--no-checkov", "--format", "md,json", "--out", str(out),
                     "--live", str(live)])
    captured = capsys.readouterr()
    document = json.loads((out / "caseshield-report.json").read_text()) if (out / "caseshield-report.json").exists() else {}
    return code, captured.out + captured.err, document


def test_the_cli_refuses_a_live_report_of_a_stack_it_does_not_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = audit_file(tmp_path, "prod", [("key-rotates", "KEY-01", "pass")])
    code, text, document = run(tmp_path, live, capsys, "dev")
    assert code == 2 and "stack 'prod' is not among the stacks checked (dev)" in text and document == {}


def test_the_cli_joins_a_live_drift_to_the_report_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = audit_file(tmp_path, "dev", [("every-data-class-key-rotates", "KEY-01", "fail"),
                                        ("iam-equals-the-role-matrix", "IAM-01", "pass")])
    code, text, document = run(tmp_path, live, capsys, "dev")
    assert code == 1 and "verdict: FAIL" in text and "dev live (" in text and "live fail KEY-01" in text
    (dev,) = document["stacks"]
    assert dev["controls"]["KEY-01"] == "pass"  # the program is compliant; the account drifted
    assert dev["live"]["controls"] == {"IAM-01": "pass", "KEY-01": "fail"} and dev["passed"] is False
    assert any("live audit: 1 drifted (KEY-01)" in r for r in document["verdict_reasons"])
    assert set(catalog_module.load().ids()) >= set(dev["live"]["controls"])
