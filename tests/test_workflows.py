"""The GitHub workflows adopters start from: actionlint and zizmor (offline, strictest persona) find nothing, and
each does fire on a workflow with the mistakes they exist to catch. The repository's own rules on top: every action
pinned by a full commit SHA, least `permissions:` per job, no `pull_request_target`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from caseshield import diff

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")

BAD_WORKFLOW = """\
name: bad
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the `on:` key as the boolean True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "actionlint"), "-no-color", *map(str, paths)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def _zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-progress", *map(str, paths)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_workflows_exist() -> None:
    assert [p.name for p in _workflows()] == ["deploy.yml", "nightly-audit.yml", "pull-request.yml"]


def test_actionlint_finds_nothing() -> None:
    result = _actionlint(*_workflows())
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_fires_on_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minutes: soon"))
    result = _actionlint(bad)
    assert result.returncode == 1 and "timeout-minutes" in result.stdout


def test_zizmor_finds_nothing() -> None:
    result = _zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_fires_on_an_unsafe_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    result = _zizmor(bad)
    assert result.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "excessive-permissions"):
        assert f"[{audit}]" in result.stdout, audit


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha_with_the_tag_named(path: Path) -> None:
    text = path.read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        assert PINNED.match(ref), ref
        assert re.search(r"# v\d+\.\d+\.\d+", comment), f"{ref}: name the tag the SHA was read from"


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: p.name)
def test_least_permissions_per_job_and_no_pull_request_target(path: Path) -> None:
    document = _load(path)
    assert document["permissions"] == {}, "the workflow grants nothing by default"
    assert "pull_request_target" not in document["on"]
    for name, job in document["jobs"].items():
        assert "permissions" in job, f"job {name} states its permissions"
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        assert writes <= {"security-events", "checks", "pull-requests", "id-token"}, name
        if writes - {"id-token"}:
            assert "actions/checkout" not in str(job["steps"]), f"job {name} publishes, so it must not run pull-request code"


def test_pull_request_comment_is_found_by_the_diff_marker() -> None:
    text = (WORKFLOWS / "pull-request.yml").read_text()
    assert f"marker='{diff.MARKER}'" in text and "--method PATCH" in text
    assert "caseshield diff base-reports/caseshield-report.json reports/caseshield-report.json" in text
    assert "ref: ${{ github.event.pull_request.base.sha }}" in text


def test_deploy_runs_only_with_credentials_and_promotes_through_environments() -> None:
    jobs = _load(WORKFLOWS / "deploy.yml")["jobs"]
    assert "CI_DEPLOYER_ROLE_ARN_PROD != ''" in jobs["preview"]["if"]
    assert [(j["environment"], j["needs"]) for j in (jobs["up-dev"], jobs["up-staging"], jobs["up-prod"])] == [
        ("dev", "preview"), ("staging", "up-dev"), ("prod", "up-staging")]
    assert "refs/heads/main" in jobs["up-dev"]["if"]
    preview = " ".join(s.get("run", "") for s in jobs["preview"]["steps"])
    assert "pulumi preview" in preview and "--policy-pack policies" in preview


def test_nightly_audit_runs_each_stack_with_its_audit_role_and_fails_on_drift() -> None:
    document = _load(WORKFLOWS / "nightly-audit.yml")
    assert set(document["on"]) == {"schedule", "workflow_dispatch"} and document["on"]["schedule"][0]["cron"]
    audit, upload = document["jobs"]["audit"], document["jobs"]["code-scanning"]
    assert audit["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]  # promotion order, one at a time
    assert audit["strategy"]["max-parallel"] == 1 and audit["strategy"]["fail-fast"] is False
    assert audit["environment"] == "audit-${{ matrix.stack }}"
    assert audit["permissions"] == {"contents": "read", "id-token": "write"}
    steps = audit["steps"]
    credentials = next(s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert credentials["with"]["role-to-assume"] == "${{ vars.CI_AUDITOR_ROLE_ARN }}"
    sha = {u for p in _workflows() if p.name != "nightly-audit.yml" for u in re.findall(r"uses:\s*(\S+)", p.read_text())}
    assert {s["uses"] for s in steps if "uses" in s} <= sha, "reuse the SHAs the other workflows pin"
    run = "\n".join(s.get("run", "") for s in steps)
    assert 'caseshield audit --stack "$STACK" --format md,json,sarif,junit --out "reports/audit-$STACK"' in run
    assert 'caseshield-audit.md" >> "$GITHUB_STEP_SUMMARY"' in run and 'test "$AUDIT_RC" = 0' in run
    assert "make setup" in run
    # Not configured: the first step says so in the summary, every later step is skipped (not failed).
    assert "CI_AUDITOR_ROLE_ARN" in steps[0]["env"]["ROLE_ARN"] and "GITHUB_STEP_SUMMARY" in steps[0]["run"]
    assert all("steps.role.outputs.configured == 'true'" in s["if"] for s in steps[1:])
    assert upload["needs"] == "audit" and upload["permissions"]["security-events"] == "write"
    sarif = next(s for s in upload["steps"] if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert sarif["with"]["sarif_file"] == "reports/caseshield-audit.sarif"
