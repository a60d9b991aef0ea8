"""The security reviewer's report as blocks: verdict, stacks, matrix, framework coverage, evidence, exceptions.

Ordered the way a reviewer reads: can it ship, where does it fail, which obligations are affected, what exactly
is wrong, and which exceptions and self-checks stand behind the verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from caseshield.render import _model as m
from caseshield.render import live, third_party
from caseshield.render._blocks import Block, Fold, Heading, Inline, Item, Items, Meta, Span, code, para, status, table

if TYPE_CHECKING:
    from caseshield.report import CheckReport, Finding


def report_blocks(report: CheckReport) -> list[Block]:
    return [
        Heading(1, m.REPORT_TITLE),
        para(f"Generated at {report.generated_at} · report schema {report.schema_version} · "
             f"{len(report.catalog.controls)} controls · {len(report.stacks)} stack(s)"),
        *_verdict(report), *_stacks(report), *_matrix(report), *_coverage(report), *_findings(report), *third_party.blocks(report),
        *live.blocks(report),
        *_waivers(report), *_parity(report), *_mutation(report), *_notes(report),
    ]


def _verdict(report: CheckReport) -> list[Block]:
    verdict = status("pass") if report.passed else status("fail")
    clean = "every stack meets every mandatory control; waivers, parity and mutation checks are clean"
    summary = clean if report.passed else "; ".join(m.verdict_reasons(report))
    return [Heading(2, "Verdict"), para(Span("Overall: ", strong=True), verdict, f" — {summary}")]


def _stacks(report: CheckReport) -> list[Block]:
    headers = ("stack", "environment", "resources", *(f"controls {m.COUNT_LABELS[s]}" for s in m.STATUSES), "result",
               "settings error", *third_party.COUNT_HEADERS, *(live.COUNT_HEADERS if live.audited(report) else ()))
    rows = []
    for s in m.stacks(report):
        counts = m.counts(s, report.catalog)
        rows.append((Span(s.stack, strong=True), Span(s.environment), Span(str(s.resource_count)),
                     *(Span(str(counts[st])) for st in m.STATUSES), status("pass" if s.passed else "fail"),
                     Span(m.text(s.settings_error)), *third_party.count_cells(s),
                     *(live.count_cells(s) if live.audited(report) else ())))
    return [Heading(2, "Stacks"), table(headers, rows, "No stack was checked.")]


def _matrix(report: CheckReport) -> list[Block]:
    stacks = m.stacks(report)
    # Per stack, the preventive result (policy pack, checkov folded in) and, when given, the detective (live) one.
    audited = [s for s in stacks if live.audited(report)]
    headers = ("control", "title", "severity", "enforcement", *(s.stack for s in stacks), *third_party.column(report),
               *(live.header(s) for s in audited))
    controls = m.controls(report.catalog)
    rows = [(code(c.id), Span(c.title), Span(c.severity), Span(c.enforcement), *(status(m.control_status(s, c.id)) for s in stacks),
             *third_party.control_cells(report, c.id), *(live.cell(s, c.id) for s in audited)) for c in controls]
    meta = [_meta(c.id, c.domain, *((s.stack, m.control_status(s, c.id)) for s in stacks),
                  *((s.stack, s.live.controls[c.id]) for s in audited if s.live and c.id in s.live.controls)) for c in controls]
    if report.checkov is not None:  # failing checks no control lists are failures of their own
        unmapped = [third_party.unmapped_status(s) or "error" for s in stacks]
        rows.append((code("—"), Span(third_party.UNMAPPED), Span("—"), Span("mandatory"), *(status(u) for u in unmapped),
                     status(max(unmapped, key=m.RANK.__getitem__, default="pass")), *(Span("—") for _ in audited)))
        meta.append(_meta("third-party", "third-party", *((s.stack, u) for s, u in zip(stacks, unmapped, strict=True))))
    return [Heading(2, "Control/stack matrix"), table(headers, rows, "The catalog has no control.", meta)]


def _meta(control: str, domain: str, *results: tuple[str, str]) -> Meta:
    """What the HTML filter matches a matrix row or a folded finding group on."""
    return (("control", control), ("domain", domain), ("results", " ".join(f"{stack}:{st}" for stack, st in results)))


def _coverage(report: CheckReport) -> list[Block]:
    stacks = m.stacks(report)
    blocks: list[Block] = [Heading(2, "Coverage per framework"),
                           para("Each clause a control cites, with the status of every control covering it on every stack.")]
    for framework, clauses in m.coverage(report.catalog).items():
        rows = [(Span(clause.ref, strong=True), code(cid), Span(report.catalog.get(cid).title),
                 *(status(m.control_status(s, cid)) for s in stacks))
                for clause in clauses for cid in clause.controls]
        blocks += [Heading(3, framework),
                   table(("clause", "control", "title", *(s.stack for s in stacks)), rows, f"No control cites {framework}.")]
    return blocks


def _findings(report: CheckReport) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Findings")]
    for s in m.stacks(report):
        blocks.append(Heading(3, f"Stack {s.stack}"))
        if s.settings_error is not None:
            blocks.append(para(status("error"), " invalid settings, no control could be checked: ", code(s.settings_error)))
        for o in s.rule_errors:
            blocks.append(para(status("error"), " ", code(o.rule), f" ({o.control}) raised on ", code(o.urn or "the stack"),
                               ": ", code(o.reason)))
        if s.not_run:
            blocks.append(para(status("not-run"), f" {len(s.not_run)} policy run(s) could not be judged at this preview (a value "
                               "they read is unknown until the update; the engine runs them again at `pulumi up`):"))
            blocks.append(Items(tuple(Item((code(o.rule), Span(f" ({o.control}) on "), code(o.urn or "the stack"),
                                            Span(f": {o.reason}")), ()) for o in s.not_run)))
        grouped = m.findings_by_control(s)
        if not grouped and s.settings_error is None:
            blocks.append(para("No finding."))
        for cid, found in grouped:
            control = report.catalog.get(cid)
            result = m.control_status(s, cid)
            blocks.append(Fold(4, f"{cid} {control.title}", (
                para("Control status: ", status(result), f" · {control.severity}, {control.enforcement}"),
                Items(tuple(_finding_item(f) for f in found))), _meta(cid, control.domain, (s.stack, result))))
    return blocks


def _finding_item(f: Finding) -> Item:
    details: list[tuple[str, Inline]] = [(label, (code(value),)) for label, value in m.evidence(f)]
    if f.waiver:
        details.append(("waiver", (Span(m.waiver_text(f.waiver)),)))
    return Item((status(f.status), Span(" "), code(f.rule), Span(f" {f.message}")), tuple(details))


def _waivers(report: CheckReport) -> list[Block]:
    in_force = [(code(w.control), Span(w.stack), code(w.resource), Span(w.owner), Span(w.approver, strong=True), Span(w.ticket),
                 Span(w.expires.isoformat(), strong=True), Span(w.reason)) for w in m.waivers(report)]
    waived = [(Span(s.stack), code(f.control), code(f.urn), Span(f.waiver.approver), Span(f.waiver.expires), Span(f.waiver.ticket))
              for s in m.stacks(report) for f in m.findings(s) if f.waiver]
    problems = [(Span(str(p.index + 1)), Span(p.control or "—"), Span(p.message)) for p in m.waiver_problems(report)]
    return [
        Heading(2, "Waivers"), Heading(3, "Waivers in force"),
        table(("control", "stack", "resource", "owner", "approver", "ticket", "expires", "reason"), in_force, "No waiver is in force."),
        Heading(3, "Waived findings"),
        table(("stack", "control", "URN", "approved by", "expires", "ticket"), waived, "No finding is waived."),
        Heading(3, "Waiver problems"),
        table(("waiver #", "control", "problem"), problems, "No waiver problem."),
    ]


def _parity(report: CheckReport) -> list[Block]:
    rows = [(code(p.key), Span(p.looser, strong=True), code(m.text(p.looser_value)), Span(p.stricter), code(m.text(p.stricter_value)),
             Span(p.meaning)) for p in m.parity(report)]
    return [Heading(2, "Stack parity"),
            table(("setting", "looser stack", "value", "stricter lower tier", "value", "stricter means"), rows,
                  "No parity finding: every higher tier is at least as strict as the tiers below it.")]


def _mutation(report: CheckReport) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Mutation testing")]
    if report.mutation is None and report.generated is None:
        return [*blocks, para("Mutation testing was not run for this report.")]
    if report.mutation is not None:
        results = m.mutants(report)
        killed = sum(r.killed for r in results)
        missing = m.without_kill(report)
        rate = m.percent(report.mutation.kill_rate)
        blocks += [para(Span("Kill rate: ", strong=True), f"{rate} ({killed} of {len(results)} mutants killed)"),
                   para(Span("Controls without a killed mutant: ", strong=True), ", ".join(missing) if missing else "none")]
    blocks += _generated(report)
    rows = [(code(c), Span(m.rate_text(hand)), Span(m.rate_text(generated))) for c, hand, generated in m.kill_rates(report)]
    blocks.append(table(("control", "hand-written mutants killed", "generated mutants killed"), rows, "No mutant was run."))
    if report.mutation is not None:
        mutant_rows = [(code(r.id), code(r.control), Span(r.stack),
                        Span("killed", status="pass") if r.killed else Span("survived", status="fail"),
                        Span(", ".join(r.caught_by) or "—"), Span(r.description)) for r in m.mutants(report)]
        blocks.append(table(("mutant", "control", "stack", "outcome", "caught by", "mutation"), mutant_rows, "No mutant was run."))
    return blocks


def _generated(report: CheckReport) -> list[Block]:
    g = report.generated
    if g is None:
        return []
    killed = sum(r.killed for r in g.results)
    per_stack = ", ".join(f"{s} {k}/{t}" for s, (k, t) in g.by_stack().items()) or "none"
    survivors = m.generated_survivors(report)
    rows = [(code(r.id), code(r.control), Span(r.stack), Span(reason) if reason else Span("not reviewed", status="fail"),
             Span(r.description)) for r, reason in survivors]
    return [para(Span("Generated mutants (policies/generated-mutants.yaml): ", strong=True),
                 f"{m.percent(g.kill_rate)} killed ({killed} of {len(g.results)}; {per_stack}), "
                 f"{sum(1 for _, reason in survivors if reason)} survivor(s) reviewed as harmless, run in {g.seconds:.0f} s"),
            table(("surviving generated mutant", "control", "stack", "review", "mutation"), rows,
                  "Every generated mutant was killed.")]


def _notes(report: CheckReport) -> list[Block]:
    return [Heading(2, "Notes"), *(para(n) for n in report.notes)] if report.notes else []
