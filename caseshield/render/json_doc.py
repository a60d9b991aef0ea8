"""The machine-readable report, documented by `policies/report.schema.json` (JSON Schema 2020-12).

Keys and lists are sorted and `generated_at` is the only time-dependent value, so two reports of the same
deployment diff to nothing but that line and can be compared or archived as evidence.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from caseshield.render import _model as m
from caseshield.render import live, third_party
from policies.catalog import CATALOG_PATH

if TYPE_CHECKING:
    from caseshield.report import CheckReport, Finding, PolicyOutcome, StackReport, WaiverRef
    from policies.catalog import Control

SCHEMA_PATH = CATALOG_PATH.parent / "report.schema.json"


def render(report: CheckReport) -> str:
    return json.dumps(document(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def document(report: CheckReport) -> dict[str, Any]:
    stacks = m.stacks(report)
    return {
        "schema_version": report.schema_version,
        "generated_at": report.generated_at,
        "passed": report.passed,
        "verdict_reasons": m.verdict_reasons(report),
        "controls": [_control(c) for c in m.controls(report.catalog)],
        "stacks": [_stack(s, report) for s in stacks],
        "coverage": {fw: [{"ref": c.ref, "controls": list(c.controls), "stacks": {s.stack: c.status(s) for s in stacks}}
                          for c in clauses] for fw, clauses in m.coverage(report.catalog).items()},
        "waivers": [{"control": w.control, "stack": w.stack, "resource": w.resource, "reason": w.reason, "owner": w.owner,
                     "approver": w.approver, "ticket": w.ticket, "expires": w.expires.isoformat()} for w in m.waivers(report)],
        "waiver_problems": [{"index": p.index, "control": p.control, "message": p.message} for p in m.waiver_problems(report)],
        "parity": [{"key": p.key, "looser": p.looser, "stricter": p.stricter, "looser_value": _scalar(p.looser_value),
                    "stricter_value": _scalar(p.stricter_value), "meaning": p.meaning} for p in m.parity(report)],
        "mutation": None if report.mutation is None else {
            "kill_rate": round(report.mutation.kill_rate, 4),
            "controls_without_kill": m.without_kill(report),
            "results": [{"id": r.id, "control": r.control, "description": r.description, "stack": r.stack, "killed": r.killed,
                         "caught_by": sorted(r.caught_by)} for r in m.mutants(report)],
        },
        "generated_mutation": _generated(report),
        "notes": list(report.notes),
        "checkov": third_party.json_report(report),
    }


def _control(c: Control) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "domain": c.domain, "severity": c.severity, "enforcement": c.enforcement,
            "waivable": c.waivable, "rationale": c.rationale, "runbook": c.runbook, "remediation": c.remediation,
            "requirement": {"source": c.requirement.source, "section": c.requirement.section, "text": c.requirement.text},
            "frameworks": {fw: sorted(refs) for fw, refs in c.frameworks.items()}, "rules": sorted(c.rules)}


def _stack(s: StackReport, report: CheckReport) -> dict[str, Any]:
    return {"stack": s.stack, "environment": s.environment, "resource_count": s.resource_count, "passed": s.passed,
            "settings_error": s.settings_error, "counts": m.counts(s, report.catalog),
            "controls": {c.id: m.control_status(s, c.id) for c in report.catalog.controls},
            "findings": [_finding(f) for f in m.findings(s)], "preview": s.preview, "checkov": third_party.json_stack(s),
            "live": live.json_stack(s),
            "not_run": [_outcome(o) for o in s.not_run], "rule_errors": [_outcome(o) for o in s.rule_errors]}


def _outcome(o: PolicyOutcome) -> dict[str, Any]:
    return {"control": o.control, "rule": o.rule, "urn": o.urn, "reason": o.reason}


def _finding(f: Finding) -> dict[str, Any]:
    return {"control": f.control, "rule": f.rule, "severity": f.severity, "enforcement": f.enforcement, "status": f.status,
            "urn": f.urn, "resource_type": f.resource_type, "resource_name": f.resource_name, "message": f.message,
            "path": f.path, "actual": f.actual, "expected": f.expected, "waiver": _waiver(f.waiver) if f.waiver else None}


def _waiver(w: WaiverRef) -> dict[str, str]:
    return {"owner": w.owner, "approver": w.approver, "ticket": w.ticket, "expires": w.expires, "reason": w.reason}


def _scalar(value: Any) -> str | int | float | bool | None:
    """Settings values are scalars; anything else is written as text rather than guessed at."""
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _counts(counts: tuple[int, int] | None) -> dict[str, int] | None:
    return None if counts is None else {"killed": counts[0], "total": counts[1]}


def _generated(report: CheckReport) -> dict[str, Any] | None:
    g = report.generated
    if g is None:
        return None
    return {
        "kill_rate": round(g.kill_rate, 4), "seconds": round(g.seconds, 1), "passed": g.passed,
        "by_stack": {s: {"killed": k, "total": t} for s, (k, t) in g.by_stack().items()},
        "by_control": {c: {"hand_written": _counts(hand), "generated": _counts(gen)} for c, hand, gen in m.kill_rates(report)},
        "survivors": [{"id": r.id, "control": r.control, "stack": r.stack, "description": r.description, "review": review}
                      for r, review in m.generated_survivors(report)],
        "stale_reviews": [rv.pattern for rv in g.stale],
        "results": [{"id": r.id, "control": r.control, "stack": r.stack, "killed": r.killed, "caught_by": sorted(r.caught_by)}
                    for r in g.results],
    }
