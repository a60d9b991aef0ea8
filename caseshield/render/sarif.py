"""SARIF 2.1.0 for code-scanning dashboards: one run of the "caseshield" tool, one rule per policy rule.

Findings are infrastructure, not source lines, so each result is located by a logical location (the resource's
URN and type). Waived findings stay in the log with an external suppression carrying the waiver, so a dashboard
shows them as accepted risk instead of losing them; invalid settings, waiver problems and parity findings are
tool notifications because no single resource is at fault.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from caseshield.render import _model as m
from caseshield.render import third_party

if TYPE_CHECKING:
    from caseshield.live_results import LiveProblem
    from caseshield.report import CheckReport, Finding
    from policies.catalog import Control

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"mandatory": "error", "advisory": "warning"}
# GitHub code scanning ranks security results by this property (a CVSS-like score as a string).
SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


def render(report: CheckReport) -> str:
    return json.dumps(log(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def log(report: CheckReport) -> dict[str, Any]:
    rules = _rule_controls(report)
    index = {rule: i for i, rule in enumerate(rules)}
    results = [_result(f, report.catalog.get(f.control), index[f.rule]) for s in m.stacks(report) for f in m.findings(s)]
    descriptors = [_descriptor(rule, report.catalog.get(cid)) for rule, cid in rules.items()]
    # Live checks that did not pass: one rule per live check (`live/<check>`), one result per stack.
    live_rules = sorted({(f"live/{p.check}", p.control) for s in report.stacks if s.live for p in s.live.problems})
    for rule, cid in live_rules:
        index[rule] = len(descriptors)
        descriptors.append({**_descriptor(rule, report.catalog.get(cid)), "name": rule})
    results += [_live_result(s.stack, p, report.catalog.get(p.control), index[f"live/{p.check}"])
                for s in m.stacks(report) if s.live for p in s.live.problems]
    notifications = _notifications(report)
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "caseshield", "rules": descriptors}},
        "invocations": [{"executionSuccessful": all(s.settings_error is None for s in report.stacks),
                         "endTimeUtc": report.generated_at, "toolExecutionNotifications": notifications}],
        "results": results,
        "properties": {"passed": report.passed, "verdictReasons": m.verdict_reasons(report),
                       "checkov": {s.stack: third_party.counts(s) for s in m.stacks(report)},
                       **_kill_rates(report)},
    }]}


def _kill_rates(report: CheckReport) -> dict[str, Any]:
    """Per control, the kill rate of its hand-written mutants beside that of the generated mutants of what it guards."""
    rates = m.kill_rates(report)
    if not rates:
        return {}
    found: dict[str, Any] = {"mutantKillRates": {c: {"handWritten": m.rate_text(hand), "generated": m.rate_text(gen)}
                                                 for c, hand, gen in rates}}
    if report.generated is not None:
        found["generatedMutants"] = {"killRate": round(report.generated.kill_rate, 4), "passed": report.generated.passed,
                                     "unreviewedSurvivors": [r.id for r in report.generated.unreviewed]}
    return found


def _rule_controls(report: CheckReport) -> dict[str, str]:
    """Rule id -> control id, from the catalog plus any rule a finding names that the catalog does not list."""
    pairs = {(rule, c.id) for c in report.catalog.controls for rule in c.rules}
    pairs |= {(f.rule, f.control) for s in report.stacks for f in s.findings}
    rules: dict[str, str] = {}
    for rule, cid in sorted(pairs):
        rules.setdefault(rule, cid)
    return rules


def _descriptor(rule: str, c: Control) -> dict[str, Any]:
    frameworks = {fw: sorted(refs) for fw, refs in c.frameworks.items()}
    help_text = f"Runbook: {c.runbook}\n\nRemediation: {c.remediation}"
    descriptor: dict[str, Any] = {
        "id": rule, "name": rule, "shortDescription": {"text": f"{c.id} {c.title}"},
        "fullDescription": {"text": f"{c.requirement.text} ({c.requirement.source}, {c.requirement.section})"},
        "help": {"text": help_text, "markdown": f"**Runbook:** `{c.runbook}`\n\n**Remediation:** {c.remediation}"},
        "defaultConfiguration": {"level": LEVELS[c.enforcement]},
        "properties": {"control": c.id, "severity": c.severity, "enforcement": c.enforcement, "waivable": c.waivable,
                       "frameworks": frameworks, "security-severity": SECURITY_SEVERITY[c.severity],
                       "tags": ["security", *sorted(f"{fw} {ref}" for fw, refs in frameworks.items() for ref in refs)]},
    }
    if "://" in c.runbook:  # helpUri must be an absolute URI; a repository path stays in the help text
        descriptor["helpUri"] = c.runbook
    return descriptor


def _result(f: Finding, c: Control, rule_index: int) -> dict[str, Any]:
    message = f"[{f.stack}] {c.id} {c.title}: {f.message}"
    if f.path is not None:
        message += f" ({f.path}: expected {m.text(f.expected)}, found {m.text(f.actual)})"
    result: dict[str, Any] = {
        "ruleId": f.rule, "ruleIndex": rule_index, "level": LEVELS[f.enforcement], "message": {"text": message},
        "locations": [{"logicalLocations": [{"fullyQualifiedName": f.urn, "name": f.resource_name, "kind": "resource",
                                             "properties": {"resourceType": f.resource_type}}]}],
        "partialFingerprints": {"caseshield/v1": _fingerprint(f)},
        "properties": {"stack": f.stack, "control": f.control, "severity": f.severity, "status": f.status,
                       **{k: v for k, v in (("path", f.path), ("actual", f.actual), ("expected", f.expected)) if v is not None}},
    }
    if f.waiver:
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": m.waiver_text(f.waiver),
                                   "properties": {"owner": f.waiver.owner, "approver": f.waiver.approver, "ticket": f.waiver.ticket,
                                                  "expires": f.waiver.expires}}]
    return result


def _live_result(stack: str, p: LiveProblem, c: Control, rule_index: int) -> dict[str, Any]:
    """A live check's drift (fail) or a control it could not observe (error), located at the stack's account."""
    what = "drift" if p.status == "fail" else "not observed"
    return {
        "ruleId": f"live/{p.check}", "ruleIndex": rule_index, "level": "error",
        "message": {"text": f"[{stack}] {c.id} {c.title}: live audit {what}: {'; '.join(p.messages) or 'no detail'}"},
        "locations": [{"logicalLocations": [{"fullyQualifiedName": f"stack/{stack}/{c.id}", "name": stack, "kind": "resource"}]}],
        "partialFingerprints": {"caseshield/v1": hashlib.sha256("\0".join((stack, "live", p.check, p.status)).encode()).hexdigest()},
        "properties": {"stack": stack, "control": c.id, "severity": c.severity, "status": p.status, "source": "live"},
    }


def _fingerprint(f: Finding) -> str:
    """Stable across runs for the same problem, so dashboards track a finding instead of re-opening it."""
    return hashlib.sha256("\0".join((f.stack, f.rule, f.urn, f.path or "")).encode()).hexdigest()


def _notifications(report: CheckReport) -> list[dict[str, Any]]:
    found = [(f"caseshield/settings/{s.stack}", f"stack {s.stack}: invalid settings: {s.settings_error}")
             for s in m.stacks(report) if s.settings_error is not None]
    found += [(f"caseshield/policy-error/{o.rule}", f"stack {s.stack}: policy {o.rule} ({o.control}) raised on {o.urn or 'the stack'}: "
               f"{o.reason}") for s in m.stacks(report) for o in s.rule_errors]
    found += [("caseshield/waiver", str(p)) for p in m.waiver_problems(report)]
    found += [("caseshield/parity", str(p)) for p in m.parity(report)]
    notes = [{"level": "note", "descriptor": {"id": f"caseshield/not-run-at-preview/{o.rule}"},
              "message": {"text": f"stack {s.stack}: policy {o.rule} ({o.control}) could not run at preview on {o.urn or 'the stack'}: "
                                  f"{o.reason}"}} for s in m.stacks(report) for o in s.not_run]
    return [{"level": "error", "message": {"text": text}, "descriptor": {"id": ident}} for ident, text in found] + notes
