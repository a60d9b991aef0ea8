"""A third-party opinion: checkov's AWS checks over every stack, and its secrets scan over the stack files.

checkov lives in its own tool environment (`.tools/checkov`, made by `make tools`) because it pins old boto3,
packaging and networkx. One subprocess judges all stacks: it is started first, imports checkov while the stacks are
evaluated, then runs once over the plan documents of `caseshield/terraform_plan.py` and the secret-scan files.

Each result lands on its Pulumi resource (address -> URN). A failing check counts against the control that lists it
(`checkov:` in `policies/controls.yaml`), or else as a third-party failure of its own; a check triaged as not fitting
is suppressed by an entry of `policies/checkov-suppressions.yaml` (reason, owner, approver, ticket, expiry; the
schema of waivers) or, for a check a control covers, by a waiver of that control. Nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from caseshield.offline import ResourceGraph, evaluate
from caseshield.project import promotion_key
from caseshield.terraform_plan import TerraformPlan, translate
from policies import waivers as waivers_module
from policies.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_PYTHON = ROOT / ".tools" / "checkov" / "bin" / "python"
DRIVER = ROOT / "tools" / "checkov_driver.py"
SUPPRESSIONS_PATH = ROOT / "policies" / "checkov-suppressions.yaml"
SECRET_SCAN_GLOBS = ("Pulumi.yaml", "stacks/Pulumi.*.yaml")
SUPPRESSION_FIELDS = ("check", "stack", "resource", "reason", "owner", "approver", "ticket", "expires")
PLAN_SUFFIX = ".tfplan.json"
MAX_TERM = dt.timedelta(days=366)  # as for waivers: a triage decision is reviewed at least once a year
# checkov reads a JSON file no larger than CHECKOV_MAX_IAC_FILE_SIZE with PyYAML, only to know each resource's line
# numbers, and a larger one with json.loads: 0 makes every plan the latter (PyYAML was a third of each plan's run).
# Plan results then carry line 0, which nothing here reads (each result lands on its URN); the verdicts are the
# same (tests/test_checkov_plan_reading.py compares both readings). The secrets scan reads YAML files: unaffected.
PLANS_READ_AS_JSON = {"CHECKOV_MAX_IAC_FILE_SIZE": "0"}

if TYPE_CHECKING:
    from caseshield.report import StackReport
CheckStatus = Literal["pass", "fail", "waived"]


class CheckovError(RuntimeError):
    """checkov is missing, crashed, or said something we cannot read."""


@dataclass(frozen=True)
class Suppression:
    checks: tuple[str, ...]
    stacks: tuple[str, ...]
    resource: str
    reason: str
    owner: str
    approver: str
    ticket: str
    expires: dt.date

    def covers(self, check: str, stack: str, address: str, urn: str) -> bool:
        name = urn.rsplit("::", 1)[-1]
        return (check in self.checks and any(fnmatch.fnmatchcase(stack, s) for s in self.stacks)
                and any(fnmatch.fnmatchcase(v, self.resource) for v in (address, urn, name)))


@dataclass(frozen=True)
class Exemption:
    """Who accepted a failing check, and until when: a suppression's or a control waiver's fields."""

    owner: str
    approver: str
    ticket: str
    expires: str
    reason: str


@dataclass(frozen=True)
class CheckResult:
    """One checkov verdict on one resource of one stack (or, for the secrets scan, on one file)."""

    stack: str
    check_id: str
    check_name: str
    address: str
    urn: str
    passed: bool
    control: str | None = None
    status: CheckStatus = "pass"
    exemption: Exemption | None = None


@dataclass
class StackVerdict:
    stack: str
    results: list[CheckResult] = field(default_factory=list)

    def count(self, status: CheckStatus | None = None) -> int:
        return sum(1 for r in self.results if status is None or r.status == status)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def third_party_failures(self) -> list[CheckResult]:
        """Failing checks no control of the catalog covers."""
        return [r for r in self.failures if r.control is None]


@dataclass
class CheckovVerdict:
    version: str
    stacks: dict[str, StackVerdict]
    secrets: list[CheckResult]
    suppression_problems: list[str]

    def in_promotion_order(self) -> list[tuple[str, StackVerdict]]:
        """Per stack, dev before staging before prod, as every report lists stacks."""
        return sorted(self.stacks.items(), key=lambda item: promotion_key(item[0]))

    @property
    def passed(self) -> bool:
        return (not self.secrets and not self.suppression_problems
                and all(not v.failures for v in self.stacks.values()))


# --- running checkov ----------------------------------------------------------------------------------------------

def available() -> bool:
    return CHECKOV_PYTHON.is_file()


class CheckovProcess:
    """The one checkov subprocess. Start it first; `submit` each stack's plan as soon as the stack is evaluated (a
    forked child judges it while the next stack evaluates); `collect` waits for every verdict."""

    def __init__(self, secret_files: Sequence[Path] | None = None) -> None:
        """`secret_files`: what the secrets scan reads, first of all (default: Pulumi.yaml and stacks/)."""
        if not available():
            raise CheckovError(f"checkov is not installed in {CHECKOV_PYTHON.parent.parent}: run `make tools`")
        env = {**os.environ, "LOG_LEVEL": "WARNING", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
               "BC_SKIP_MAPPING": "TRUE", "PYTHONWARNINGS": "ignore", **PLANS_READ_AS_JSON}
        self._tmp = tempfile.TemporaryDirectory(prefix="caseshield-checkov-")
        self.dir = Path(self._tmp.name)
        self.plans: dict[str, TerraformPlan] = {}  # plan file name -> plan
        self.outputs: list[Path] = []
        self.process = subprocess.Popen([str(CHECKOV_PYTHON), "-c", _WITHOUT_CYCLIC_GC, str(DRIVER)],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, env=env, cwd=ROOT)
        self.scan_secrets(secret_scan_files() if secret_files is None else secret_files)

    def _request(self, frameworks: Sequence[str], files: Sequence[Path]) -> None:
        out = self.dir / f"result-{len(self.outputs)}.json"
        # Not --quiet: the passed results are needed for the counts.
        argv = ["--framework", *frameworks, "--output", "json", "--compact", "--skip-download",
                *[a for f in files for a in ("-f", str(f))]]
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"argv": argv, "out": str(out)}) + "\n")
        self.process.stdin.flush()
        self.outputs.append(out)

    def submitted(self, stack: str) -> bool:
        return f"{stack}{PLAN_SUFFIX}" in self.plans

    def submit(self, plan: TerraformPlan) -> None:
        if self.submitted(plan.stack):
            return
        path = self.dir / f"{plan.stack}{PLAN_SUFFIX}"
        path.write_text(plan.dumps())
        self.plans[path.name] = plan
        self._request(["terraform_plan"], [path])

    def scan_secrets(self, files: Sequence[Path]) -> None:
        if files:
            self._request(["secrets"], files)

    def collect(self, timeout: float = 300) -> tuple[str, list[dict[str, Any]], dict[str, TerraformPlan]]:
        """checkov's version, its raw reports, and which plan file is which plan."""
        try:
            _, err = self.process.communicate(timeout=timeout)
            if self.process.returncode != 0:
                raise CheckovError(f"checkov exited {self.process.returncode}: {err.strip()[-2000:]}")
            reports = [report for out in self.outputs for report in _reports(out, err)]
        finally:
            self.stop()
        version = next((v for r in reports if (v := (r.get("summary") or {}).get("checkov_version"))), "")
        return version, reports, dict(self.plans)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._tmp.cleanup()


# The driver, run as `python DRIVER` would run it (its directory first on sys.path), with the cyclic garbage collector
# off: each checkov run is a short-lived forked child whose garbage dies with it, and the collector's passes over
# checkov's half a million objects were a quarter of the import and of each run (same peak memory without them).
_WITHOUT_CYCLIC_GC = ("import gc, os, runpy, sys; gc.disable(); sys.argv = sys.argv[1:]; "
                      "sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0])); "
                      "runpy.run_path(sys.argv[0], run_name='__main__')")


def _reports(out: Path, err: str) -> list[dict[str, Any]]:
    text = out.read_text() if out.is_file() else ""
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    try:
        reports = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        reports = None
    if not isinstance(reports, list | dict):
        raise CheckovError(f"checkov wrote no JSON report: {text[:500]!r} {err[-1000:]!r}")
    return reports if isinstance(reports, list) else [reports]


def secret_scan_files(root: Path = ROOT) -> list[Path]:
    return sorted({p for pattern in SECRET_SCAN_GLOBS for p in root.glob(pattern)})


def run_checkov(plans: Sequence[TerraformPlan], *, secret_files: Sequence[Path] | None = None,
                process: CheckovProcess | None = None) -> tuple[str, list[dict[str, Any]], dict[str, TerraformPlan]]:
    """checkov's raw reports over `plans` (and the secrets scan over `secret_files`, unless `process` was started
    with its own), and which file is which plan."""
    process = process or CheckovProcess(secret_files)
    for plan in plans:
        process.submit(plan)
    return process.collect()


# --- results, controls and triage ---------------------------------------------------------------------------------

def controls_by_check(catalog: Catalog) -> dict[str, str]:
    """checkov check id -> the control that covers it (`checkov:` in the catalog)."""
    return {check: c.id for c in catalog.controls for check in c.checkov}


@cache
def load_suppression_entries(path: Path = SUPPRESSIONS_PATH) -> tuple[dict[str, Any], ...]:
    if not path.is_file():
        return ()
    return tuple((yaml.safe_load(path.read_text()) or {}).get("suppressions") or ())


def parse_suppressions(entries: Sequence[dict[str, Any]], today: dt.date) -> tuple[list[Suppression], list[str]]:
    """Valid suppressions and the problems with the rest, held to the waivers' rules (each problem fails)."""
    found, problems = [], []
    for i, entry in enumerate(entries):
        where = f"checkov suppression #{i + 1} ({entry.get('check', 'no check')})"
        missing = [f for f in SUPPRESSION_FIELDS if not str(entry.get(f, "")).strip()]
        unknown = sorted(set(entry) - set(SUPPRESSION_FIELDS))
        issues = [f"missing {', '.join(missing)}"] if missing else []
        issues += [f"unknown field(s) {unknown}"] if unknown else []
        if not missing:
            reason = str(entry["reason"])
            if waivers_module.PLACEHOLDER_RE.match(reason) or len(reason.split()) < waivers_module.MIN_REASON_WORDS:
                issues.append("reason must explain why the check does not fit (at least "
                              f"{waivers_module.MIN_REASON_WORDS} words)")
            if str(entry["owner"]).strip() == str(entry["approver"]).strip():
                issues.append("the approver must be someone other than the owner")
            try:
                expires = _date(entry["expires"])
            except ValueError:
                issues.append(f"expires must be a date (YYYY-MM-DD), not {entry['expires']!r}")
            else:
                if expires < today:
                    issues.append(f"expired on {expires.isoformat()}")
                elif expires - today > MAX_TERM:
                    issues.append(f"expires more than {MAX_TERM.days} days ahead: review non-fits at least yearly")
        problems += [f"{where}: {m}" for m in issues]
        if not issues:
            found.append(Suppression(_strings(entry["check"]), _strings(entry["stack"]),
                                     **{f: str(entry[f]) for f in SUPPRESSION_FIELDS[2:-1]},
                                     expires=_date(entry["expires"])))
    return found, problems


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _triaged(result: CheckResult, catalog: Catalog, suppressions: Sequence[Suppression],
             waivers: Sequence[waivers_module.Waiver]) -> CheckResult:
    if result.passed:
        return result
    suppression = next((s for s in suppressions if s.covers(result.check_id, result.stack, result.address,
                                                            result.urn)), None)
    exempt: Suppression | waivers_module.Waiver | None = suppression
    if exempt is None and result.control is not None and catalog.get(result.control).waivable:
        exempt = next((w for w in waivers if w.covers(result.control, result.stack, result.urn)), None)
    if exempt is None:
        return _with(result, "fail", None)
    return _with(result, "waived", Exemption(exempt.owner, exempt.approver, exempt.ticket, exempt.expires.isoformat(),
                                             " ".join(exempt.reason.split())))


def _with(result: CheckResult, status: CheckStatus, exemption: Exemption | None) -> CheckResult:
    return CheckResult(result.stack, result.check_id, result.check_name, result.address, result.urn, result.passed,
                       result.control, status, exemption)


def verdict_from_reports(reports: Sequence[dict[str, Any]], by_file: dict[str, TerraformPlan], catalog: Catalog,
                         waivers: Sequence[waivers_module.Waiver], *, today: dt.date, version: str = "",
                         suppression_entries: Sequence[dict[str, Any]] | None = None) -> CheckovVerdict:
    """checkov's reports, each result mapped to its stack, resource and control, and triaged."""
    entries = load_suppression_entries() if suppression_entries is None else suppression_entries
    suppressions, problems = parse_suppressions(entries, today)
    covering = controls_by_check(catalog)
    stacks = {p.stack: StackVerdict(p.stack) for p in by_file.values()}
    secrets: list[CheckResult] = []
    for report in reports:
        results = report.get("results") or {}
        for raw, passed in [(r, True) for r in results.get("passed_checks", [])] + \
                           [(r, False) for r in results.get("failed_checks", [])]:
            file_name = Path(str(raw.get("file_path", ""))).name
            if report.get("check_type") == "secrets":
                if not passed:
                    secrets.append(CheckResult(file_name, raw["check_id"], str(raw.get("check_name")),
                                               f"{file_name}:{(raw.get('file_line_range') or [0])[0]}", "", False,
                                               status="fail"))
                continue
            plan = by_file.get(file_name)
            if plan is None:
                continue
            address = str(raw.get("resource_address") or raw.get("resource"))
            result = CheckResult(plan.stack, raw["check_id"], str(raw.get("check_name")), address,
                                 plan.urns.get(address, ""), passed, covering.get(raw["check_id"]))
            stacks[plan.stack].results.append(_triaged(result, catalog, suppressions, waivers))
    for verdict in stacks.values():
        verdict.results.sort(key=lambda r: (r.check_id, r.address))
    return CheckovVerdict(version, stacks, sorted(secrets, key=lambda r: (r.stack, r.check_id, r.address)), problems)


def judge(plans: Sequence[TerraformPlan], catalog: Catalog, waivers: Sequence[waivers_module.Waiver], *,
          today: dt.date, process: CheckovProcess | None = None) -> CheckovVerdict:
    version, reports, by_file = run_checkov(plans, process=process)
    return verdict_from_reports(reports, by_file, catalog, waivers, today=today, version=version)


# --- folding the verdict into the report ----------------------------------------------------------------------------

def evaluated(stack: str, preview: bool = False, process: CheckovProcess | None = None) -> ResourceGraph | None:
    """The stack's graph, or None when its settings are invalid (the report says so for that stack); its plan goes
    to `process` at once, so checkov judges it while the next stack evaluates."""
    try:
        graph = evaluate(stack, preview=preview)
    except Exception:  # invalid settings or a raising program: check_stack reports it as that stack's error
        return None
    if process is not None:
        process.submit(translate(graph))
    return graph


def fold(reports: Sequence[StackReport], graphs: Mapping[str, ResourceGraph | None], catalog: Catalog,
         waivers: Sequence[waivers_module.Waiver], *, today: dt.date, process: CheckovProcess) -> CheckovVerdict:
    """Judge every evaluated stack and add checkov's verdict to its report: the counts, and a finding under the
    control that lists each failing (or exempted) check, so the control's status reflects it."""
    from caseshield.report import Finding, WaiverRef, control_statuses

    # A plan submitted as its stack was evaluated is not translated again.
    plans = [translate(g) for s, g in graphs.items() if g is not None and not process.submitted(s)]
    verdict = judge(plans, catalog, waivers, today=today, process=process)
    for report in reports:
        stack = verdict.stacks.get(report.stack)
        graph = graphs.get(report.stack)
        if stack is None or graph is None:
            continue
        report.checkov = stack
        for r in stack.results:
            if r.control is None or r.status == "pass":
                continue
            control, resource = catalog.get(r.control), graph.by_urn.get(r.urn)
            exemption = r.exemption
            report.findings.append(Finding(
                stack=r.stack, control=control.id, rule=r.check_id, severity=control.severity,
                enforcement=control.enforcement, urn=r.urn, resource_type=resource.type if resource else "",
                resource_name=resource.name if resource else r.address, message=f"checkov {r.check_id}: {r.check_name}",
                path=r.address, waiver=WaiverRef(exemption.owner, exemption.approver, exemption.ticket,
                                                 exemption.expires, exemption.reason) if exemption else None))
        report.findings.sort(key=lambda f: (f.control, f.rule, f.urn, f.message))
        report.controls = control_statuses(catalog, report.findings, report.not_run, report.rule_errors)
    return verdict


def summary_lines(verdict: CheckovVerdict | None) -> list[str]:
    """checkov's counts per stack, each failure it holds against the check, and any secret its scan found."""
    if verdict is None:
        return []
    lines = [f"checkov {verdict.version} {s}: {v.count()} ran, {v.count('pass')} passed, {v.count('fail')} failed, "
             f"{v.count('waived')} waived" for s, v in verdict.in_promotion_order()]
    lines += [f"checkov {r.stack}: FAIL {r.check_id} {r.address} ({r.control or 'third-party'}): {r.check_name}"
              for _, v in verdict.in_promotion_order() for r in v.failures]
    lines += [f"checkov secrets: FAIL {r.check_id} {r.address}: {r.check_name}" for r in verdict.secrets]
    lines += [f"checkov: {p}" for p in verdict.suppression_problems]
    return lines
