"""The check: every stack against every control, with waivers, parity and mutation results, as one report.

`run_check` produces a `CheckReport`, a plain data model that the renderers in `caseshield/render/` turn into
Markdown, HTML, JSON, SARIF and JUnit. Everything in it is sorted and nothing is time-dependent except the one
`generated_at` header field, so the same input gives the same report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from caseshield import checks
from caseshield.offline import ResourceGraph, evaluate
from caseshield.parity import ParityFinding, check_parity
from caseshield.project import load_project
from caseshield.settings import Settings, SettingsError, load_settings
from policies import catalog as catalog_module
from policies import waivers as waivers_module
from policies.pack import build_policies
from policies.rules import RULES

Status = Literal["pass", "fail", "waived", "warn", "error"]
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


@dataclass
class StackReport:
    stack: str
    environment: str
    resource_count: int
    findings: list[Finding]
    controls: dict[str, Status]  # control id -> status on this stack
    settings_error: str | None = None

    @property
    def passed(self) -> bool:
        return self.settings_error is None and all(s != "fail" for s in self.controls.values())


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
    schema_version: str = SCHEMA_VERSION
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        mutation_ok = self.mutation is None or not self.mutation.controls_without_kill(self.catalog)
        return (all(s.passed for s in self.stacks) and not self.waiver_problems and not self.parity and mutation_ok)


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


def control_statuses(catalog: catalog_module.Catalog, findings: list[Finding]) -> dict[str, Status]:
    statuses: dict[str, Status] = {}
    order: dict[Status, int] = {"pass": 0, "waived": 1, "warn": 2, "fail": 3, "error": 4}
    for control in catalog.controls:
        statuses[control.id] = max((f.status for f in findings if f.control == control.id), key=order.__getitem__,
                                   default="pass")
    return statuses


def check_stack(stack: str, catalog: catalog_module.Catalog, waivers: list[waivers_module.Waiver],
                policies: list | None = None, graph: ResourceGraph | None = None) -> StackReport:
    """One stack's report; invalid settings make every control an error rather than a crash."""
    try:
        graph = graph or evaluate(stack)
    except SettingsError as error:
        return StackReport(stack, "unknown", 0, [], dict.fromkeys(catalog.ids(), "error"), settings_error=str(error))
    violations = checks.run_policies(graph, policies if policies is not None else build_policies(catalog))
    findings = findings_for(graph, catalog, waivers, violations)
    environment = graph.config.get(f"{graph.project}:environment", "unknown")
    return StackReport(stack, environment, len(graph.resources), findings, control_statuses(catalog, findings))


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
              mutation: MutationSummary | None = None) -> CheckReport:
    catalog = catalog_module.load()
    today = today or dt.date.today()
    waivers, waiver_problems = waivers_module.parse(list(waivers_module.load_entries()), catalog, today)
    policies = build_policies(catalog)
    reports = [check_stack(stack, catalog, waivers, policies) for stack in sorted(stacks)]
    all_stacks = load_project().stacks()
    parity = check_parity(stack_settings(all_stacks)) if set(all_stacks) >= set(stacks) else []
    return CheckReport(
        generated_at=generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        catalog=catalog, stacks=reports, waivers=waivers, waiver_problems=waiver_problems,
        parity=[p for p in parity if p.looser in stacks or p.stricter in stacks], mutation=mutation,
    )
