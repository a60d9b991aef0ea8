"""The live audit's results in every format, from one place: the detective column per stack in the matrix, the
counts per stack, the live checks that did not pass, and why they fail the report.

Kept apart from `_model`/`_document` like `third_party`, so each renderer needs one call and every format reads
the same numbers. A control the audit does not check live shows a dash, never a pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caseshield.render._blocks import Block, Heading, Span, code, para, status, table

if TYPE_CHECKING:
    from caseshield.live_results import LiveStack
    from caseshield.report import CheckReport, StackReport

COUNT_HEADERS = ("live controls passed", "live controls failed", "live controls in error")
SUFFIX = " (live)"


def audited(report: CheckReport) -> bool:
    return any(s.live is not None for s in report.stacks)


def header(stack: StackReport) -> str:
    return f"{stack.stack}{SUFFIX}"


def cell(stack: StackReport, control: str) -> Span:
    """The detective result of `control` on `stack`: its live status, or a dash when it is not checked live there."""
    if stack.live is None or control not in stack.live.controls:
        return Span("—")
    return status(stack.live.controls[control])


def count_cells(stack: StackReport) -> tuple[Span, ...]:
    live = stack.live
    return tuple(Span("—" if live is None else str(live.count(s))) for s in ("pass", "fail", "error"))


def reasons(report: CheckReport) -> list[str]:
    found = []
    for s in report.stacks:
        if s.live is not None and s.live.failing:
            failed = [c for c in s.live.failing if s.live.controls[c] == "fail"]
            errors = [c for c in s.live.failing if s.live.controls[c] == "error"]
            parts = [f"{len(failed)} drifted ({', '.join(failed)})"] if failed else []
            parts += [f"{len(errors)} not observed ({', '.join(errors)})"] if errors else []
            found.append(f"stack {s.stack}: live audit: {'; '.join(parts)}")
    return found


def blocks(report: CheckReport) -> list[Block]:
    """The reviewer's section: where each stack's live results come from, and every live check that did not pass."""
    if not audited(report):
        return []
    out: list[Block] = [Heading(2, "Live audit (detective)"),
                        para("What `caseshield audit` observed in each deployed account, read with the security-auditor "
                             "role; a fail is drift, an error a control it could not observe (never a pass).")]
    for s in report.stacks:
        live: LiveStack | None = s.live
        out.append(Heading(3, f"Stack {s.stack}"))
        if live is None:
            out.append(para("No live audit was given for this stack."))
            continue
        out.append(para(f"{live.source}, generated {live.generated_at}, account {live.account or 'unknown'}, region "
                        f"{live.region or 'unknown'}: {live.count('pass')} controls passed, {live.count('fail')} failed, "
                        f"{live.count('error')} in error."))
        rows = [(status(p.status), code(p.control), code(p.check), Span("; ".join(p.messages) or "—")) for p in live.problems]
        out.append(table(("result", "control", "live check", "what it found"), rows, "Every live check passed."))
    return out


def json_stack(stack: StackReport) -> dict[str, Any] | None:
    live = stack.live
    if live is None:
        return None
    return {"source": live.source, "generated_at": live.generated_at, "account": live.account, "region": live.region,
            "passed": not live.failing, "controls": dict(live.controls),
            "problems": [{"control": p.control, "check": p.check, "status": p.status, "messages": list(p.messages)}
                         for p in live.problems]}
