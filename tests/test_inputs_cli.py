"""`caseshield check` never passes on nothing or on error (issue 15, item 2).

No stack checked, an empty `--stack` or `--format`, a stack name with a path, an unwritable `--out`: each is a
non-zero exit with a one-paragraph message on stderr, never `verdict: PASS` and never a traceback. Reports are
written atomically, and the previous run's reports are removed before a run starts, so a run that fails early leaves
no stale PASS behind.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from caseshield import cli, inputs, offline, report
from caseshield.project import ROOT, Project, load_project
from caseshield.render import RENDERERS, ReportWriteError, write_atomically
from policies import waivers as waivers_module

REPORT_NAMES = sorted(name for name, _ in RENDERERS.values())


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def stale_pass_reports(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in REPORT_NAMES:
        (out / name).write_text('{"passed": true} failures="0" verdict: PASS')


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the project under tmp_path that every module reading stacks/ sees instead of the real one."""
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", root / "stacks")
    copy = load_project(root)
    for module in (cli, offline, report, inputs):
        monkeypatch.setattr(module, "load_project", lambda: copy)
    return copy


# --- nothing to check -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["", ",", " , ", "dev,,prod"])
def test_an_empty_stack_list_is_an_error_not_a_pass(stack: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["check", "--stack", stack, "--out", str(tmp_path)], capsys)
    assert code == 2 and "names no stack" in err and "Fix:" in err and "PASS" not in out


@pytest.mark.parametrize("layout", ["empty", "missing"])
def test_no_stack_files_is_an_error_not_a_pass(layout: str, project: Project, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(project.stack_dir)
    if layout == "empty":
        project.stack_dir.mkdir()
    code, out, err = run(["check", "--stack", "all", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "nothing to check" in err and "PASS" not in out
    code, out, err = run(["plan", "--stack", "all"], capsys)
    assert code == 2 and "nothing to check" in err


def test_plan_of_an_empty_stack_list_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["plan", "--stack", ""], capsys)
    assert code == 2 and "names no stack" in err and out == ""


@pytest.mark.parametrize("formats", ["", ",", "pdf", "md,pdf", "md,"])
def test_an_empty_or_unknown_format_is_a_clear_error(formats: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["check", "--stack", "dev", "--format", formats, "--out", str(tmp_path)], capsys)
    assert code == 2 and f"--format {formats!r}" in err and "md, html, json, sarif, junit" in err
    assert "PASS" not in out and list(tmp_path.iterdir()) == []


# --- --stack resolves only inside stacks/ ---------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["x/../../../outside/evil", "../Pulumi", "/etc/passwd", "dev/../prod", ".."])
def test_a_stack_name_with_a_path_is_refused_even_when_the_target_exists(stack: str, project: Project, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (project.stack_dir / "Pulumi.x").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "evil.yaml").write_text((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    code, out, err = run(["check", "--stack", stack, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "is not a stack name" in err and "PASS" not in out


def test_an_unknown_stack_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", "--stack", "dev,qa", "--out", str(tmp_path)], capsys)
    assert code == 2 and "no stack file stacks/Pulumi.qa.yaml" in err and "pulumi stack init qa" in err


# --- --out ----------------------------------------------------------------------------------------------------------

def test_an_unwritable_out_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, out, err = run(["check", "--stack", "dev", "--out", str(blocker / "reports")], capsys)
    assert code == 2 and "cannot write reports to" in err and "--out" in err and "PASS" not in out


def test_a_run_refused_on_its_inputs_removes_the_previous_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "waivers.yaml"
    bad.write_text("waivers: []\nwaivers: []\n")
    original = waivers_module.load_entries.__wrapped__
    monkeypatch.setattr(waivers_module, "load_entries", lambda: original(bad))
    out = tmp_path / "out"
    stale_pass_reports(out)
    code, stdout, err = run(["check", "--stack", "dev", "--out", str(out)], capsys)
    assert code == 2 and "waivers.yaml has 1 problem(s)" in err and "appears twice" in err
    assert "verdict: FAIL" in err and "PASS" not in stdout
    assert not any((out / name).exists() for name in REPORT_NAMES)


def test_a_run_that_crashes_leaves_no_stale_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine fault")

    monkeypatch.setattr(report, "run_check", crash)
    out = tmp_path / "out"
    stale_pass_reports(out)
    (out / "notes.txt").write_text("not ours")
    with pytest.raises(RuntimeError):
        cli.main(["check", "--stack", "dev", "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_reports_are_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "caseshield-report.json"
    write_atomically(path, b'{"passed": false}')
    assert path.read_bytes() == b'{"passed": false}'

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_atomically(path, b'{"passed": true}')
    assert path.read_bytes() == b'{"passed": false}'  # the reader sees the old file whole, never half the new one
    assert [p.name for p in tmp_path.iterdir()] == ["caseshield-report.json"]  # no temporary file left behind
    assert issubclass(ReportWriteError, OSError)


# --- settings errors reach stderr -----------------------------------------------------------------------------------

def test_a_settings_error_prints_key_value_and_fix_on_stderr(project: Project, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    text = (project.stack_dir / "Pulumi.prod.yaml").read_text().replace("objectLockMode: COMPLIANCE",
                                                                         "objectLockMode: GOVERNANCE")
    (project.stack_dir / "Pulumi.qa.yaml").write_text(text)
    out = tmp_path / "out"
    code, stdout, err = run(["check", "--stack", "qa", "--format", "json", "--out", str(out), "--no-checkov"], capsys)
    assert code == 1 and "verdict: FAIL" in stdout
    assert "caseshield:objectLockMode = 'GOVERNANCE': must be COMPLIANCE in prod" in err
    assert "Fix: `pulumi config set objectLockMode COMPLIANCE`" in err and "stacks/Pulumi.qa.yaml" in err
    document = json.loads((out / "caseshield-report.json").read_text())
    assert document["passed"] is False
    assert [p.name for p in out.iterdir()] == ["caseshield-report.json"]


def test_a_malformed_stack_file_is_refused_before_evaluation(project: Project, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = project.stack_dir / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + '  caseshield:wafCountryAllowList: []\n  caseshield:owner: "x\\n"\n')
    code, stdout, err = run(["check", "--stack", "dev", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "stacks/Pulumi.dev.yaml has 1 problem(s)" in err and "appears twice" in err
    assert "PASS" not in stdout


def test_a_raising_program_is_an_error_of_its_stack_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    real = report.evaluate

    def evaluate(stack: str, **kwargs: Any) -> offline.ResourceGraph:
        if stack == "dev":
            raise RuntimeError("a component bug")
        return real(stack, **kwargs)

    monkeypatch.setattr(report, "evaluate", evaluate)
    out = tmp_path / "out"
    code, stdout, _ = run(["check", "--stack", "dev,staging", "--format", "json", "--out", str(out), "--no-checkov"], capsys)
    assert code == 1 and "verdict: FAIL" in stdout
    stacks = {s["stack"]: s for s in json.loads((out / "caseshield-report.json").read_text())["stacks"]}
    assert set(stacks["dev"]["controls"].values()) == {"error"} and "RuntimeError: a component bug" in stacks["dev"]["settings_error"]
    assert stacks["staging"]["passed"] is True
