"""`caseshield diff BASE.json HEAD.json`: what a change does to the findings, for a pull-request comment and a gate.

Reviewers of an infrastructure pull request need the difference, not two full reports: which findings the change
introduces, resolves or leaves (per control and stack), which waivers it adds or lets run out soon, and whether
the mutants still prove the rules bite. The gate fails on what a reviewer must never wave through unnoticed: a new
unwaived mandatory finding, a new waiver, or a lower mutant kill rate.

Both inputs are `caseshield-report.json` files, validated against `policies/report.schema.json` first, so a diff
never silently compares a truncated or foreign file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jsonschema

from caseshield.project import promotion_key
from caseshield.render._blocks import Block, Heading, Item, Items, Span, code, para, status, table
from caseshield.render.json_doc import SCHEMA_PATH
from caseshield.render.markdown import serialise

if TYPE_CHECKING:
    from caseshield.report import Status

# A hidden line the pull-request workflow searches for, so it edits its one comment instead of adding another.
MARKER = "<!-- caseshield-diff -->"
EXPIRY_HORIZON = dt.timedelta(days=30)
MAX_LISTED = 50  # findings listed per section; a PR comment is capped at 65,536 characters

Doc = dict[str, Any]


class DiffInputError(ValueError):
    """A report file that cannot be read or does not follow the report schema."""


@dataclass
class ControlChange:
    """One control on one stack: its status before and after, and the findings that came, went or stayed."""

    stack: str
    control: str
    before: str | None  # None: the stack was not in that report
    after: str | None
    introduced: list[Doc] = field(default_factory=list)
    resolved: list[Doc] = field(default_factory=list)
    left: list[Doc] = field(default_factory=list)


@dataclass
class ReportDiff:
    base_passed: bool
    head_passed: bool
    titles: dict[str, str]
    changes: list[ControlChange]
    waivers_added: list[Doc]
    waivers_removed: list[Doc]
    waivers_expiring: list[Doc]
    kill_rate: tuple[float | None, float | None]
    new_settings_errors: list[str]

    @property
    def new_failures(self) -> list[tuple[str, Doc]]:
        return [(c.stack, f) for c in self.changes for f in c.introduced if f["status"] == "fail"]

    @property
    def kill_rate_lower(self) -> bool:
        before, after = self.kill_rate
        return before is not None and after is not None and after < before

    def gate_reasons(self) -> list[str]:
        """Why the change must not merge unreviewed; empty when it may."""
        reasons = [f"stack {s}: settings became invalid" for s in self.new_settings_errors]
        if failures := self.new_failures:
            where = sorted({f"{f['control']} on {s}" for s, f in failures})
            reasons.append(f"{len(failures)} new mandatory finding(s) ({', '.join(where)})")
        if self.waivers_added:
            reasons.append(f"{len(self.waivers_added)} new waiver(s)")
        if self.kill_rate_lower:
            before, after = self.kill_rate
            reasons.append(f"mutant kill rate fell from {_pct(before)} to {_pct(after)}")
        return reasons


# --- reading ------------------------------------------------------------------------------------------------------

def load(path: Path) -> Doc:
    """A report document, or a DiffInputError naming the file and what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DiffInputError(f"{path}: cannot read a JSON report: {error}") from error
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    problem = next(iter(validator.iter_errors(document)), None)
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "(top level)"
        raise DiffInputError(f"{path}: not a caseshield report ({where}: {problem.message})")
    return document


# --- comparing ----------------------------------------------------------------------------------------------------

def _finding_key(f: Doc) -> tuple[str, str, str, str]:
    """Identity of a finding across two runs: the same rule on the same resource property. The message may carry
    values that change with the fix, so it is not part of the identity."""
    return (f["control"], f["rule"], f["urn"], f["path"] or "")


def _waiver_key(w: Doc) -> tuple[str, str, str, str]:
    return (w["control"], w["stack"], w["resource"], w["ticket"])


def _stacks(document: Doc) -> dict[str, Doc]:
    return {s["stack"]: s for s in document["stacks"]}


def _stack_changes(name: str, base: Doc | None, head: Doc | None) -> list[ControlChange]:
    """Every control with a finding or a status change on this stack."""
    before = {_finding_key(f): f for f in (base or {}).get("findings", [])}
    after = {_finding_key(f): f for f in (head or {}).get("findings", [])}
    statuses_before = (base or {}).get("controls", {})
    statuses_after = (head or {}).get("controls", {})
    changes = []
    for control in sorted(set(statuses_before) | set(statuses_after)):
        change = ControlChange(name, control, statuses_before.get(control), statuses_after.get(control))
        change.introduced = [f for k, f in sorted(after.items()) if k[0] == control and k not in before]
        change.resolved = [f for k, f in sorted(before.items()) if k[0] == control and k not in after]
        change.left = [f for k, f in sorted(after.items()) if k[0] == control and k in before]
        if change.introduced or change.resolved or change.left or change.before != change.after:
            changes.append(change)
    return changes


def _kill_rate(document: Doc) -> float | None:
    return None if document["mutation"] is None else float(document["mutation"]["kill_rate"])


def compare(base: Doc, head: Doc, today: dt.date) -> ReportDiff:
    base_stacks, head_stacks = _stacks(base), _stacks(head)
    changes = [c for name in sorted(set(base_stacks) | set(head_stacks), key=promotion_key)
               for c in _stack_changes(name, base_stacks.get(name), head_stacks.get(name))]
    base_waivers = {_waiver_key(w): w for w in base["waivers"]}
    head_waivers = {_waiver_key(w): w for w in head["waivers"]}
    horizon = (today + EXPIRY_HORIZON).isoformat()
    return ReportDiff(
        base_passed=base["passed"], head_passed=head["passed"],
        titles={c["id"]: c["title"] for c in (*base["controls"], *head["controls"])},
        changes=changes,
        waivers_added=[w for k, w in sorted(head_waivers.items()) if k not in base_waivers],
        waivers_removed=[w for k, w in sorted(base_waivers.items()) if k not in head_waivers],
        waivers_expiring=[w for w in head["waivers"] if w["expires"] <= horizon],
        kill_rate=(_kill_rate(base), _kill_rate(head)),
        new_settings_errors=[name for name, s in head_stacks.items()
                             if s["settings_error"] and not (base_stacks.get(name) or {}).get("settings_error")],
    )


# --- Markdown -----------------------------------------------------------------------------------------------------

def markdown(diff: ReportDiff) -> str:
    """The pull-request comment: the hidden marker line, then the gate, the changes and the evidence."""
    blocks: list[Block] = [
        Heading(2, "CaseShield: what this change does to the controls"),
        *_gate(diff), *_per_control(diff),
        *_finding_list("Introduced findings", [(c.stack, f) for c in diff.changes for f in c.introduced],
                       "This change introduces no finding."),
        *_finding_list("Resolved findings", [(c.stack, f) for c in diff.changes for f in c.resolved],
                       "This change resolves no finding."),
        *_waivers(diff), *_mutation(diff),
    ]
    return MARKER + "\n" + serialise(blocks)


def _gate(diff: ReportDiff) -> list[Block]:
    reasons = diff.gate_reasons()
    verdict = status("fail") if reasons else status("pass")
    summary = "; ".join(reasons) if reasons else "no new mandatory finding, no new waiver, kill rate not lower"
    head = "PASS" if diff.head_passed else "FAIL"
    base = "PASS" if diff.base_passed else "FAIL"
    return [para(Span("Gate: ", strong=True), verdict, f" — {summary}"),
            para(f"Full check on this branch: {head} (base branch: {base}).")]


def _per_control(diff: ReportDiff) -> list[Block]:
    rows = [(Span(c.stack), code(c.control), Span(diff.titles.get(c.control, "")), _status_cell(c.before), _status_cell(c.after),
             Span(str(len(c.introduced)), strong=bool(c.introduced)), Span(str(len(c.resolved))), Span(str(len(c.left))))
            for c in diff.changes]
    return [Heading(3, "Findings per control and stack"),
            table(("stack", "control", "title", "base", "head", "introduced", "resolved", "left"), rows,
                  "No control has a finding on either side.")]


def _status_cell(value: str | None) -> Span:
    return Span("—") if value is None else status(cast("Status", value))


def _finding_list(title: str, found: list[tuple[str, Doc]], empty: str) -> list[Block]:
    blocks: list[Block] = [Heading(3, title)]
    if not found:
        return [*blocks, para(empty)]
    items = tuple(_finding_item(stack, f) for stack, f in found[:MAX_LISTED])
    blocks.append(Items(items))
    if len(found) > MAX_LISTED:
        blocks.append(para(f"… and {len(found) - MAX_LISTED} more; the full list is in the JSON reports."))
    return blocks


def _finding_item(stack: str, f: Doc) -> Item:
    details = [("URN", (code(f["urn"]),))]
    details += [(label, (code(f[key]),)) for label, key in (("property path", "path"), ("actual", "actual"),
                                                           ("expected", "expected")) if f[key] is not None]
    return Item((status(f["status"]), Span(f" {stack} "), code(f["control"]), Span(" "), code(f["rule"]),
                 Span(f" {f['message']}")), tuple(details))


def _waivers(diff: ReportDiff) -> list[Block]:
    rows = [(Span(change, strong=change == "added"), code(w["control"]), Span(w["stack"]), code(w["resource"]), Span(w["approver"]),
             Span(w["ticket"]), Span(w["expires"]), Span(w["reason"]))
            for change, waivers in (("added", diff.waivers_added), ("removed", diff.waivers_removed),
                                    ("expires within 30 days", diff.waivers_expiring))
            for w in waivers]
    return [Heading(3, "Waivers"),
            table(("change", "control", "stack", "resource", "approver", "ticket", "expires", "reason"), rows,
                  "No waiver is added or removed, and none expires within 30 days.")]


def _mutation(diff: ReportDiff) -> list[Block]:
    before, after = diff.kill_rate
    if before is None and after is None:
        return [Heading(3, "Mutation testing"),
                para("Mutation testing was run on neither side (", code("caseshield check --mutants"), ").")]
    if before is None or after is None:
        text = f"Kill rate: base {_pct(before)}, head {_pct(after)} (mutation testing ran on one side only; not compared)."
    else:
        trend = "lower" if after < before else "higher" if after > before else "unchanged"
        text = f"Kill rate: {_pct(before)} → {_pct(after)} ({trend})."
    return [Heading(3, "Mutation testing"), para(text)]


def _pct(rate: float | None) -> str:
    return "not run" if rate is None else f"{rate * 100:.1f}%"
