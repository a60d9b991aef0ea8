"""checkov's verdict in every format, from one place: counts per stack, the third-party matrix column, the results
that are not a plain pass, the secrets scan, and why they fail the report.

Kept apart from `_model`/`_document` so that each renderer needs one call; every format reads the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caseshield.render._blocks import Block, Heading, Span, code, para, status, table

if TYPE_CHECKING:
    from caseshield.report import CheckReport, StackReport, Status
    from caseshield.thirdparty_checkov import CheckResult, StackVerdict

COUNT_HEADERS = ("checkov ran", "checkov passed", "checkov failed", "checkov waived")
COLUMN = "third-party (checkov)"
UNMAPPED = "checks no control lists"


def counts(stack: StackReport) -> dict[str, int] | None:
    verdict: StackVerdict | None = stack.checkov
    if verdict is None:
        return None
    return {"ran": verdict.count(), "passed": verdict.count("pass"), "failed": verdict.count("fail"),
            "waived": verdict.count("waived")}


def count_cells(stack: StackReport) -> tuple[Span, ...]:
    found = counts(stack)
    return tuple(Span("—" if found is None else str(n)) for n in (found or dict.fromkeys(COUNT_HEADERS)).values())


def _worst(results: list[CheckResult]) -> Status:
    statuses = {r.status for r in results}
    return "fail" if "fail" in statuses else "waived" if "waived" in statuses else "pass"


def column(report: CheckReport) -> tuple[str, ...]:
    """The matrix's third-party column, when checkov ran."""
    return () if report.checkov is None else (COLUMN,)


def control_cells(report: CheckReport, control: str) -> tuple[Span, ...]:
    """The worst checkov result, over every stack, of the checks `control` lists (a dash when it lists none)."""
    if report.checkov is None:
        return ()
    results = [r for s in report.stacks if s.checkov for r in s.checkov.results if r.control == control]
    if not report.catalog.get(control).checkov:
        return (Span("—"),)
    return (status(_worst(results)) if results else Span("not applicable"),)


def unmapped_status(stack: StackReport) -> Status | None:
    if stack.checkov is None:
        return None
    return _worst([r for r in stack.checkov.results if r.control is None])


def reasons(report: CheckReport) -> list[str]:
    verdict = report.checkov
    if verdict is None:
        return []
    found = [f"stack {s}: {len(v.third_party_failures)} failing checkov check(s) no control covers"
             for s, v in verdict.in_promotion_order() if v.third_party_failures]
    found += [f"checkov secrets scan: {len(verdict.secrets)} secret(s) found"] if verdict.secrets else []
    found += [f"{len(verdict.suppression_problems)} checkov suppression problem(s)"] if verdict.suppression_problems else []
    return found


def blocks(report: CheckReport) -> list[Block]:
    """The reviewer's section: what checkov ran, every result that is not a plain pass, the secrets scan."""
    verdict = report.checkov
    head: list[Block] = [Heading(2, "Third-party checks (checkov)")]
    if verdict is None:
        return [*head, para("checkov was not run for this report.")]
    out = [*head, para(f"checkov {verdict.version} over each stack's Terraform translation "
                       "(caseshield/terraform_plan.py); suppressions: policies/checkov-suppressions.yaml.")]
    for stack, v in verdict.in_promotion_order():
        rows = [(status(r.status), code(r.check_id), code(r.control or "—"), code(r.address), Span(r.check_name),
                 Span(r.exemption.ticket if r.exemption else "—"))
                for r in v.results if r.status != "pass"]
        out += [Heading(3, f"Stack {stack}"),
                para(f"{v.count()} ran, {v.count('pass')} passed, {v.count('fail')} failed, {v.count('waived')} waived"),
                table(("status", "check", "control", "resource", "check name", "ticket"), rows, "Every check passed.")]
    secrets = [(status("fail"), code(r.check_id), code(r.address), Span(r.check_name)) for r in verdict.secrets]
    out += [Heading(3, "Secrets scan (Pulumi.yaml, stacks/)"),
            table(("status", "check", "where", "check name"), secrets, "No secret found.")]
    out += [para(status("fail"), f" {p}") for p in verdict.suppression_problems]
    return out


def json_stack(stack: StackReport) -> dict[str, Any] | None:
    found = counts(stack)
    if found is None or stack.checkov is None:
        return None
    return {**found, "results": [_json_result(r) for r in stack.checkov.results if r.status != "pass"]}


def json_report(report: CheckReport) -> dict[str, Any] | None:
    verdict = report.checkov
    if verdict is None:
        return None
    return {"version": verdict.version, "passed": verdict.passed,
            "secrets": [_json_result(r) for r in verdict.secrets],
            "suppression_problems": list(verdict.suppression_problems)}


def _json_result(r: CheckResult) -> dict[str, Any]:
    return {"check": r.check_id, "name": r.check_name, "control": r.control, "status": r.status, "address": r.address,
            "urn": r.urn, "ticket": r.exemption.ticket if r.exemption else None}
