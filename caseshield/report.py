"""The check: every stack against every control, with waivers, parity and mutation results, as one report.

`run_check` produces a `CheckReport`, a plain data model that the renderers in `caseshield/render/` turn into
Markdown, HTML, JSON, SARIF and JUnit. Everything in it is sorted and nothing is time-dependent except the one
`generated_at` header field, so the same input gives the same report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from caseshield import checks, iam_lint, thirdparty_checkov, workers
from caseshield.live_results import LiveStack
from caseshield.offline import ResourceGraph, evaluate
from caseshield.parity import ParityFinding, check_parity
from caseshield.project import load_project, promotion_key
from caseshield.settings import Settings, SettingsError, load_settings
from policies import catalog as catalog_module
from policies import waivers as waivers_module
from policies.pack import build_policies
from policies.rules import RULES

if TYPE_CHECKING:
    from caseshield.generated_mutants import GeneratedSummary

Status = Literal["pass", "not-run", "fail", "waived", "warn", "error"]
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class WaiverRef:
    owner: str
    approver: str
    ticket: str
    expires: str
    reason: str


@dataclass(frozen=True)
class Finding:
    stack: str
    control: str
    rule: str
    severity: str
    enforcement: str
    urn: str
    resource_type: str
    resource_name: str
    message: str
    path: str | None = None
    actual: str | None = None
    expected: str | None = None
    waiver: WaiverRef | None = None

    @property
    def status(self) -> Status:
        if self.waiver:
            return "waived"
        return "fail" if self.enforcement == "mandatory" else "warn"


@dataclass(frozen=True)
class PolicyOutcome:
    """A policy the engine's handler could not run (`not-run`: it read a value unknown at preview) or that raised
    (`error`: the engine would stop the preview with "failed to run policy")."""

    control: str
    rule: str
    urn: str
    reason: str


@dataclass
class StackReport:
    stack: str
    environment: str
    resource_count: int
    findings: list[Finding]
    controls: dict[str, Status]  # control id -> status on this stack
    settings_error: str | None = None
    not_run: list[PolicyOutcome] = field(default_factory=list)
    rule_errors: list[PolicyOutcome] = field(default_factory=list)
    preview: bool = False  # evaluated as a first preview: computed outputs unknown
    checkov: thirdparty_checkov.StackVerdict | None = None  # the third-party verdict (caseshield/thirdparty_checkov.py)
    live: LiveStack | None = None  # what `caseshield audit` observed in the deployed account (caseshield/live_results.py)

    @property
    def passed(self) -> bool:
        """A skipped policy does not fail a preview (the engine runs it again at `pulumi up`, when the value is known);
        it is reported as not run, never as a pass. A policy that raised fails the stack, and so does a live control
        the audit found drifted or could not observe."""
        return (self.settings_error is None and all(s not in ("fail", "error") for s in self.controls.values())
                and (self.checkov is None or not self.checkov.failures) and (self.live is None or not self.live.failing))


@dataclass(frozen=True)
class MutantResult:
    id: str
    control: str
    description: str
    stack: str
    killed: bool
    caught_by: tuple[str, ...]  # rules (or "settings") that caught it


@dataclass
class MutationSummary:
    results: list[MutantResult]

    @property
    def kill_rate(self) -> float:
        return sum(r.killed for r in self.results) / len(self.results) if self.results else 0.0

    def controls_without_kill(self, catalog: catalog_module.Catalog) -> list[str]:
        killed = {r.control for r in self.results if r.killed}
        return [c.id for c in catalog.controls if c.id not in killed]


@dataclass
class CheckReport:
    generated_at: str
    catalog: catalog_module.Catalog
    stacks: list[StackReport]
    waivers: list[waivers_module.Waiver]
    waiver_problems: list[waivers_module.WaiverProblem]
    parity: list[ParityFinding]
    mutation: MutationSummary | None = None
    generated: GeneratedSummary | None = None  # `--generated-mutants` (caseshield/generated_mutants.py)
    schema_version: str = SCHEMA_VERSION
    notes: list[str] = field(default_factory=list)
    checkov: thirdparty_checkov.CheckovVerdict | None = None  # None: checked without the third-party gate

    @property
    def passed(self) -> bool:
        mutation_ok = self.mutation is None or not self.mutation.controls_without_kill(self.catalog)
        return (all(s.passed for s in self.stacks) and not self.waiver_problems and not self.parity and mutation_ok
                and (self.checkov is None or self.checkov.passed) and (self.generated is None or self.generated.passed))


def findings_for(graph: ResourceGraph, catalog: catalog_module.Catalog, waivers: list[waivers_module.Waiver],
                 violations: list[checks.Violation]) -> list[Finding]:
    by_urn = graph.by_urn
    found = []
    for v in violations:
        rule = RULES[v.policy]
        control = catalog.get(rule.control)
        resource = by_urn.get(v.urn)
        waiver = next((w for w in waivers if w.covers(control.id, graph.stack, v.urn or "")), None)
        found.append(Finding(
            stack=graph.stack, control=control.id, rule=v.policy, severity=control.severity,
            enforcement=control.enforcement, urn=v.urn, resource_type=resource.type if resource else "pulumi:pulumi:Stack",
            resource_name=resource.name if resource else graph.stack, message=v.message, path=v.path, actual=v.actual,
            expected=v.expected,
            waiver=WaiverRef(waiver.owner, waiver.approver, waiver.ticket, waiver.expires.isoformat(), waiver.reason)
            if waiver and control.waivable else None,
        ))
    return sorted(found, key=lambda f: (f.control, f.rule, f.urn, f.message))


def control_statuses(catalog: catalog_module.Catalog, findings: list[Finding], not_run: Sequence[PolicyOutcome] = (),
                     rule_errors: Sequence[PolicyOutcome] = ()) -> dict[str, Status]:
    statuses: dict[str, Status] = {}
    order: dict[Status, int] = {"pass": 0, "not-run": 1, "waived": 2, "warn": 3, "fail": 4, "error": 5}
    outcomes: list[tuple[str, Status]] = [(f.control, f.status) for f in findings]
    outcomes += [(o.control, "not-run") for o in not_run] + [(o.control, "error") for o in rule_errors]
    for control in catalog.controls:
        statuses[control.id] = max((s for c, s in outcomes if c == control.id), key=order.__getitem__, default="pass")
    return statuses


def _outcomes(found: list) -> list[PolicyOutcome]:
    return sorted({PolicyOutcome(RULES[o.policy].control, o.policy, o.urn, getattr(o, "reason", None) or o.error)
                   for o in found}, key=lambda o: (o.control, o.rule, o.urn))


def check_stack(stack: str, catalog: catalog_module.Catalog, waivers: list[waivers_module.Waiver],
                policies: list | None = None, graph: ResourceGraph | None = None, preview: bool = False) -> StackReport:
    """One stack's report, from pulumi-policy's own handler; invalid settings make every control an error rather than
    a crash, and so does a policy that raises (its control only)."""
    try:
        graph = graph or evaluate(stack, preview=preview)
    except SettingsError as error:
        return StackReport(stack, "unknown", 0, [], dict.fromkeys(catalog.ids(), "error"), settings_error=str(error),
                           preview=preview)
    except Exception as error:  # a raising program (a component bug): this stack is an error, the run goes on
        why = f"the Pulumi program raised {type(error).__name__}: {error}. Fix the program; nothing of this stack was checked."
        return StackReport(stack, "unknown", 0, [], dict.fromkeys(catalog.ids(), "error"), settings_error=why, preview=preview)
    result = checks.run_engine(graph, policies if policies is not None else build_policies(catalog))
    findings = findings_for(graph, catalog, waivers, result.violations)
    not_run, rule_errors = _outcomes(result.skipped), _outcomes(result.errors)
    environment = graph.config.get(f"{graph.project}:environment", "unknown")
    return StackReport(stack, environment, len(graph.resources), findings,
                       control_statuses(catalog, findings, not_run, rule_errors), not_run=not_run, rule_errors=rule_errors,
                       preview=preview)


def stack_settings(stacks: list[str]) -> dict[str, Settings]:
    project = load_project()
    loaded = {}
    for stack in stacks:
        try:
            loaded[stack] = load_settings(project.stack_config(stack), stack)
        except SettingsError:
            continue  # reported by check_stack
    return loaded


def run_check(stacks: list[str], *, today: dt.date | None = None, generated_at: str | None = None,
              mutation: MutationSummary | None = None, preview: bool = False,
              graphs: Mapping[str, ResourceGraph] | None = None, third_party: bool = True,
              live: Mapping[str, LiveStack] | None = None, jobs: int | None = None) -> CheckReport:
    """Check `stacks` (evaluated offline, as at `pulumi up` or, with `preview`, as on a first preview), or the given
    `graphs` (read from `pulumi stack export` / `pulumi preview --json`) in their place. `third_party`: checkov judges
    every stack too (one subprocess, started first so its import overlaps the evaluations; thirdparty_checkov.py).
    `live`: the live audit's results by stack, shown beside the preventive ones (caseshield/live_results.py).
    `jobs`: how many stacks are checked at once, each in a process forked once the first evaluation has imported
    the program (default: one more than the CPUs; 1 checks them one after another here; caseshield/workers.py)."""
    process = thirdparty_checkov.CheckovProcess() if third_party else None
    iam_lint.start()  # parliament's import (IAM-13) overlaps the evaluations too, and forked workers share it
    catalog = catalog_module.load()
    today = today or dt.date.today()
    waivers, waiver_problems = waivers_module.parse(list(waivers_module.load_entries()), catalog, today)
    policies = build_policies(catalog)
    given = dict(graphs or {})
    if workers.wanted(stacks, jobs):
        reports = workers.stack_reports(stacks, catalog, waivers, policies, given, preview=preview, process=process,
                                        jobs=jobs)
    else:
        if process is not None:  # the graphs are needed for the Terraform plans too: evaluate each stack once
            given |= {s: g for s in stacks if s not in given and (g := thirdparty_checkov.evaluated(s, preview, process)) is not None}
        reports = [check_stack(stack, catalog, waivers, policies, graph=given.get(stack), preview=preview)
                   for stack in sorted(stacks, key=promotion_key)]
    for report in reports:
        report.live = (live or {}).get(report.stack)
    # A waiver matching no finding of a checked stack is reported (policies/waivers.py `stale`).
    waiver_problems += waivers_module.stale(waivers, {r.stack: {(f.control, f.urn) for f in r.findings}
                                                      for r in reports if r.settings_error is None})
    all_stacks = load_project().stacks()
    parity = check_parity(stack_settings(all_stacks)) if set(all_stacks) >= set(stacks) else []
    verdict = thirdparty_checkov.fold(reports, given, catalog, waivers, today=today, process=process) if process else None
    return CheckReport(
        generated_at=generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        catalog=catalog, stacks=reports, waivers=waivers, waiver_problems=waiver_problems,
        parity=[p for p in parity if p.looser in stacks or p.stricter in stacks], mutation=mutation, checkov=verdict,
    )
