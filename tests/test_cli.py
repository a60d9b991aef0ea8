"""The `caseshield` command line: plan, check (exit codes, reports), controls, explain, docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caseshield import cli
from caseshield.render.catalog_docs import catalog_markdown
from policies import catalog as catalog_module
from policies import waivers as waivers_module


def test_plan_prints_the_tree_and_counts_per_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack dev: ")
    assert "\n  caseshield:environment:CaseManagementEnvironment  caseshield\n" in out
    assert "\n    caseshield:keys:KeyHierarchy  caseshield-keys\n" in out  # children indented under their parent
    assert "Resources by type:" in out
    counts = dict(line.split() for line in out.split("Resources by type:\n")[1].splitlines() if line.strip())
    assert counts["aws:kms/key:Key"] == "6"
    assert int(counts["total"]) == int(out.split(": ")[1].split()[0])


def test_plan_of_an_unknown_stack_names_the_file_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--stack", "qa"]) == 2
    err = capsys.readouterr().err
    assert "stacks/Pulumi.qa.yaml" in err and "pulumi stack init qa" in err


def test_check_passes_a_shipped_stack_and_writes_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "--stack", "dev", "--out", str(tmp_path), "--today", "2026-11-23"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["caseshield-junit.xml", "caseshield-report.html", "caseshield-report.json", "caseshield-report.md",
                     "caseshield-report.sarif"]
    document = json.loads((tmp_path / "caseshield-report.json").read_text())
    assert [s["stack"] for s in document["stacks"]] == ["dev"]
    assert "verdict: PASS" in capsys.readouterr().out


def test_check_fails_when_a_waiver_has_expired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    control = catalog_module.load().controls[0]
    expired = {"control": control.id, "stack": "dev", "resource": "*", "owner": "platform-engineering",
               "reason": "Accepted while the replacement design is reviewed by the security committee next quarter.",
               "approver": "ciso@lawfirm.example", "ticket": "SEC-1", "expires": "2026-01-31"}
    monkeypatch.setattr(waivers_module, "load_entries", lambda: (expired,))
    assert cli.main(["check", "--stack", "dev", "--format", "json", "--out", str(tmp_path), "--today", "2026-11-23"]) == 1
    out = capsys.readouterr().out
    assert "expired on 2026-01-31" in out and "verdict: FAIL" in out


def test_controls_filters_by_framework_and_severity(capsys: pytest.CaptureFixture[str]) -> None:
    catalog = catalog_module.load()
    assert cli.main(["controls", "--framework", "HIPAA", "--severity", "critical"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [c.id for c in catalog.controls if "HIPAA" in c.frameworks and c.severity == "critical"]
    assert [line.split()[0] for line in lines[:-1]] == expected
    assert lines[-1] == f"{len(expected)} of {len(catalog.controls)} controls"


def test_explain_shows_requirement_rules_mutants_and_runbook(capsys: pytest.CaptureFixture[str]) -> None:
    control = catalog_module.load().controls[0]
    assert cli.main(["explain", control.id.lower()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{control.id}: {control.title}")
    assert all(f"rule {r} " in out for r in control.rules)
    assert "  mutant " in out and f"runbook: {control.runbook}" in out


def test_explain_an_unknown_control_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "NOPE-1"]) == 2
    assert "caseshield controls" in capsys.readouterr().err


def test_committed_controls_page_is_generated_from_the_catalog() -> None:
    assert cli.DOCS_PATH.read_text() == catalog_markdown(catalog_module.load()), "run `caseshield docs`"
