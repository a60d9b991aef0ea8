"""What every format derives from a `CheckReport`, computed once so that no two formats can disagree.

The status ranking, the per-stack counts, the framework coverage, the verdict's reasons, the sort orders and the
wording of evidence and waivers are needed by the reviewer pages, JSON, SARIF and JUnit alike; a second copy of
any of them in a renderer would drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caseshield.project import promotion_key
from caseshield.render import live, third_party
from policies.catalog import FRAMEWORKS, Catalog, Control

if TYPE_CHECKING:
    from caseshield.parity import ParityFinding
    from caseshield.report import CheckReport, Finding, MutantResult, StackReport, Status, WaiverRef
    from policies.waivers import Waiver, WaiverProblem

# Best to worst; the same ranking `caseshield.report.control_statuses` uses to fold findings into one status.
STATUSES: tuple[Status, ...] = ("pass", "not-run", "waived", "warn", "fail", "error")
RANK: dict[Status, int] = {s: i for i, s in enumerate(STATUSES)}
# Column headings for status counts ("controls passed / failed / ...").
COUNT_LABELS: dict[Status, str] = {"pass": "passed", "not-run": "not run at preview", "fail": "failed", "waived": "waived",
                                   "warn": "warned", "error": "in error"}
REPORT_TITLE = "CaseShield compliance report"


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=RANK.__getitem__, default="pass")


def control_status(stack: StackReport, control: str) -> Status:
    """A control a stack report does not mention was never evaluated there: an error, never a silent pass."""
    return stack.controls.get(control, "error")


def counts(stack: StackReport, catalog: Catalog) -> dict[Status, int]:
    found = [control_status(stack, c.id) for c in catalog.controls]
    return {s: found.count(s) for s in STATUSES}


def controls(catalog: Catalog) -> list[Control]:
    return sorted(catalog.controls, key=lambda c: c.id)


def stacks(report: CheckReport) -> list[StackReport]:
    """In promotion order (dev, staging, prod, then any other stack by name), the way a change travels."""
    return sorted(report.stacks, key=lambda s: promotion_key(s.stack))


def findings(stack: StackReport) -> list[Finding]:
    return sorted(stack.findings, key=lambda f: (f.control, f.rule, f.urn, f.message, f.path or ""))


def findings_by_control(stack: StackReport) -> list[tuple[str, list[Finding]]]:
    grouped: dict[str, list[Finding]] = {}
    for f in findings(stack):
        grouped.setdefault(f.control, []).append(f)
    return sorted(grouped.items())


def waivers(report: CheckReport) -> list[Waiver]:
    return sorted(report.waivers, key=lambda w: (w.control, w.stack, w.resource, w.ticket))


def waiver_problems(report: CheckReport) -> list[WaiverProblem]:
    return sorted(report.waiver_problems, key=lambda p: (p.index, p.control, p.message))


def parity(report: CheckReport) -> list[ParityFinding]:
    return sorted(report.parity, key=lambda p: (p.key, p.looser, p.stricter))


def mutants(report: CheckReport) -> list[MutantResult]:
    return sorted(report.mutation.results, key=lambda m: (m.control, m.id, m.stack)) if report.mutation else []


def without_kill(report: CheckReport) -> list[str]:
    return sorted(report.mutation.controls_without_kill(report.catalog)) if report.mutation else []


def rate_text(counts: tuple[int, int] | None) -> str:
    """`killed/total (rate)`, or a dash where no mutant of that kind was run for the control."""
    return "—" if not counts or not counts[1] else f"{counts[0]}/{counts[1]} ({percent(counts[0] / counts[1])})"


def kill_rates(report: CheckReport) -> list[tuple[str, tuple[int, int] | None, tuple[int, int] | None]]:
    """Per control: (killed, total) of its hand-written mutants and of the generated mutants of the properties it
    guards (policies/generated-mutants.yaml), side by side; empty when neither kind was run."""
    if report.mutation is None and report.generated is None:
        return []
    hand: dict[str, tuple[int, int]] = {}
    for r in report.mutation.results if report.mutation else []:
        killed, total = hand.get(r.control, (0, 0))
        hand[r.control] = (killed + r.killed, total + 1)
    generated: dict[str, tuple[int, int]] = {}
    if report.generated is not None:
        from caseshield.generated_mutants import kill_rates as generated_rates

        generated = generated_rates(report.generated)
    return [(c.id, hand.get(c.id), generated.get(c.id)) for c in controls(report.catalog)]


def generated_survivors(report: CheckReport) -> list[tuple[MutantResult, str | None]]:
    """Every generated mutant no rule caught, with the reviewed reason it is harmless (None: not reviewed)."""
    if report.generated is None:
        return []
    found = []
    for r in report.generated.results:
        if not r.killed:
            review = report.generated.review_of(r)
            found.append((r, review.reason if review else None))
    return sorted(found, key=lambda x: (x[1] is not None, x[0].control, x[0].id))


def generated_reasons(report: CheckReport) -> list[str]:
    """Why the generated mutants fail the run: survivors nobody reviewed, reviewed entries that match nothing."""
    g = report.generated
    if g is None:
        return []
    reasons = []
    if not g.results:
        reasons.append("no generated mutant was run")
    if unreviewed := g.unreviewed:
        reasons.append(f"{len(unreviewed)} generated mutant(s) survived without a review "
                       f"(policies/generated-mutants-reviewed.yaml)")
    if stale := g.stale:
        reasons.append(f"{len(stale)} stale review(s) of generated mutants ({', '.join(r.pattern for r in stale)})")
    return reasons


@dataclass(frozen=True)
class Clause:
    """One clause of a framework and the controls whose catalog entry cites it."""

    framework: str
    ref: str
    controls: tuple[str, ...]

    def status(self, stack: StackReport) -> Status:
        """The clause is only as good as the worst of its controls on that stack."""
        return worst(control_status(stack, c) for c in self.controls)


def coverage(catalog: Catalog) -> dict[str, list[Clause]]:
    """Every framework (uncited ones map to an empty list, so a gap shows) with its cited clauses, sorted."""
    cited: dict[tuple[str, str], set[str]] = {}
    for control in catalog.controls:
        for framework, refs in control.frameworks.items():
            for ref in refs:
                cited.setdefault((framework, ref), set()).add(control.id)
    return {fw: [Clause(fw, ref, tuple(sorted(ids))) for (f, ref), ids in sorted(cited.items()) if f == fw] for fw in FRAMEWORKS}


def verdict_reasons(report: CheckReport) -> list[str]:
    """Why the report fails, one line per cause; empty when it passes."""
    reasons = []
    for s in stacks(report):
        if s.settings_error is not None:
            reasons.append(f"stack {s.stack}: invalid settings, no control could be checked")
        failed = [c for c, status in sorted(s.controls.items()) if status == "fail"]
        if failed:
            reasons.append(f"stack {s.stack}: {len(failed)} mandatory control(s) failed ({', '.join(failed)})")
        if s.rule_errors:
            raised = sorted({o.rule for o in s.rule_errors})
            reasons.append(f"stack {s.stack}: {len(raised)} policy(ies) raised an error ({', '.join(raised)})")
    if report.waiver_problems:
        reasons.append(f"{len(report.waiver_problems)} waiver problem(s)")
    if report.parity:
        reasons.append(f"{len(report.parity)} parity finding(s): a higher tier is looser than a lower one")
    if missing := without_kill(report):
        reasons.append(f"{len(missing)} control(s) without a killed mutant ({', '.join(missing)})")
    reasons += generated_reasons(report)
    return reasons + third_party.reasons(report) + live.reasons(report)


def text(value: Any) -> str:
    """A value as reviewers read it; an absent value is a dash, never an empty cell."""
    return "—" if value is None else str(value)


def evidence(finding: Finding) -> list[tuple[str, str]]:
    """The facts that let a reviewer verify a finding without rerunning the check."""
    found = [("URN", finding.urn), ("resource", f"{finding.resource_name} ({finding.resource_type})")]
    found += [(label, v) for label, v in (("property path", finding.path), ("actual", finding.actual),
                                          ("expected", finding.expected)) if v is not None]
    return found


def waiver_text(w: WaiverRef | Waiver) -> str:
    expires = w.expires if isinstance(w.expires, str) else w.expires.isoformat()
    return f"approved by {w.approver} (risk owner {w.owner}), ticket {w.ticket}, expires {expires}: {w.reason}"


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"
