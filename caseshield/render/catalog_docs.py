"""`docs/controls.md`, generated from the catalog so the documented controls can never drift from the checked ones.

Nothing in it depends on time or on a stack: the same catalog always gives the same page, which a test compares
with the committed file.
"""

from __future__ import annotations

from caseshield.render import _model as m
from caseshield.render._blocks import Block, Heading, Item, Items, Span, code, para, table
from caseshield.render.markdown import serialise
from policies.catalog import FRAMEWORKS, Catalog, Control


def catalog_markdown(catalog: Catalog) -> str:
    controls = m.controls(catalog)
    index = [(code(c.id), Span(c.title), Span(c.domain), Span(c.severity), Span(c.enforcement), Span("yes" if c.waivable else "no"))
             for c in controls]
    blocks: list[Block] = [
        Heading(1, "CaseShield controls"),
        para("Generated from ", code("policies/controls.yaml"), " by ", code("caseshield docs"), "; do not edit by hand. ",
             f"{len(controls)} controls in {len(catalog.domains())} domains."),
        Heading(2, "Index"),
        table(("id", "title", "domain", "severity", "enforcement", "waivable"), index, "The catalog has no control."),
    ]
    for domain in catalog.domains():
        blocks.append(Heading(2, domain))
        for c in controls:
            if c.domain == domain:
                blocks += _control(c)
    return serialise(blocks)


def _control(c: Control) -> list[Block]:
    req = c.requirement
    frameworks = [Item((Span(fw, strong=True), Span(": "), *_joined(c.frameworks[fw]))) for fw in FRAMEWORKS if fw in c.frameworks]
    return [
        Heading(3, f"{c.id} {c.title}"),
        para(Span("Severity: ", strong=True), c.severity, " · ", Span("Enforcement: ", strong=True), c.enforcement, " · ",
             Span("Waivable: ", strong=True), "yes" if c.waivable else "no"),
        para(Span("Requirement: ", strong=True), req.text, " (", code(req.source), f", section “{req.section}”)"),
        para(Span("Rationale: ", strong=True), c.rationale),
        para(Span("Frameworks:", strong=True)),
        Items(tuple(frameworks)),
        para(Span("Rules: ", strong=True), *_joined(c.rules)),
        para(Span("Runbook: ", strong=True), code(c.runbook)),
        para(Span("Remediation: ", strong=True), c.remediation),
    ]


def _joined(values: tuple[str, ...]) -> list[Span]:
    spans: list[Span] = []
    for i, value in enumerate(sorted(values)):
        spans += [Span(", ")] * (i > 0) + [code(value)]
    return spans
