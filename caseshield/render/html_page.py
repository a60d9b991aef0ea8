"""A single self-contained HTML page for reviewers: inline CSS and SVG, one inline filter script, no external asset.

Evidence pages get mailed, archived and opened offline; a page that fetches nothing (its Content-Security-Policy
says so, and allows only the one script it ships, by hash) renders the same everywhere and cannot leak or be
tampered with at view time. Every piece of report text goes through `html.escape`. Findings are folded per
control (<details>) so a long report opens on its verdict and matrix; `html_view` draws the chart and the filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, cast

from caseshield.render import _model as m
from caseshield.render import html_view
from caseshield.render._blocks import Block, Fold, Heading, Inline, Item, Items, Meta, Para, Span, Table
from caseshield.render._document import report_blocks

if TYPE_CHECKING:
    from caseshield.report import CheckReport, Status

# Cell colours: pass green, fail red, waived amber, warn yellow, error grey (background, text).
COLOURS = {"pass": ("#d3f0d9", "#14532d"), "fail": ("#f8d0d0", "#7f1d1d"), "waived": ("#ffd8a8", "#7c3a00"),
           "warn": ("#fff3a3", "#5c4d00"), "error": ("#d9d9d9", "#333333"),
           "not-run": ("#dbe4ff", "#1e3a8a")}
CSP = "default-src 'none'; style-src 'unsafe-inline'"
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2328; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c8ccd0; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f4f6; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.badge { padding: 0.05rem 0.45rem; border-radius: 0.3rem; font-weight: 600; }
li > ul { margin: 0.2rem 0 0.6rem; }
details { margin: 0.3rem 0; } summary { cursor: pointer; } summary > h4 { display: inline; margin: 0; }
.filter { position: sticky; top: 0; background: #fff; padding: 0.5rem 0; border-bottom: 1px solid #c8ccd0; z-index: 1; }
.filter label { margin-right: 0.6rem; }
svg.chart text { fill: #1f2328; font-family: inherit; }
""".strip()


def render(report: CheckReport) -> str:
    return page(m.REPORT_TITLE, report_blocks(report), before={"Control/stack matrix": html_view.filter_form(report)},
                after={"Coverage per framework": html_view.coverage_chart(report, COLOURS)}, script=html_view.FILTER_SCRIPT)


def page(title: str, blocks: Iterable[Block], before: Mapping[str, str] | None = None, after: Mapping[str, str] | None = None,
         script: str | None = None) -> str:
    """The page; `before`/`after` put ready-made HTML next to the level-2 heading of that text, and `script` is
    inlined and allowed by its hash, so the policy still forbids any other script."""
    styles = CSS + "\n" + "\n".join(f".s-{s} {{ background: {bg}; color: {fg}; }}" for s, (bg, fg) in COLOURS.items())
    parts = []
    for b in blocks:
        key = b.text if isinstance(b, Heading) and b.level == 2 else None
        parts += [(before or {}).get(key or "", ""), _block(b), (after or {}).get(key or "", "")]
    body = "\n".join(p for p in parts if p)
    csp = f"{CSP}; script-src {html_view.script_hash(script)}" if script else CSP
    tail = f"\n<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">\n'
            f"<title>{escape(title)}</title>\n<style>\n{styles}\n</style>\n</head>\n<body>\n{body}{tail}\n</body>\n</html>\n")


def _block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"<h{level}>{escape(text)}</h{level}>"
        case Para(content):
            return f"<p>{_inline(content)}</p>"
        case Table(headers, rows, row_meta):
            head = "".join(f"<th>{escape(h)}</th>" for h in headers)
            metas = row_meta or ((),) * len(rows)
            body = "\n".join(f"<tr{_data(meta)}>" + "".join(_cell(c) for c in row) + "</tr>" for row, meta in zip(rows, metas, strict=True))
            kind = ' class="filterable"' if row_meta else ""
            return f"<table{kind}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
        case Fold(level, title, body, meta):
            return _fold(level, title, body, meta)
        case Items(items):
            return "<ul>\n" + "\n".join(_item(i) for i in items) + "\n</ul>"
    raise TypeError(f"not a block: {block!r}")


def _fold(level: int, title: str, body: tuple[Block, ...], meta: Meta) -> str:
    """Closed by default: the summary line carries the title, the worst status and how many findings it hides."""
    results = [r.split(":", 1)[1] for r in dict(meta).get("results", "").split()]
    badge = _span(Span(results[0], status=cast("Status", results[0]))) if len(results) == 1 else ""
    count = sum(len(b.items) for b in body if isinstance(b, Items))
    summary = f"<h{level}>{escape(title)}</h{level}> {badge} <small>{count} finding(s)</small>"
    inner = "\n".join(_block(b) for b in body)
    return f"<details{_data(meta)}><summary>{summary}</summary>\n{inner}\n</details>"


def _data(meta: Meta) -> str:
    return "".join(f' data-{escape(key)}="{escape(value)}"' for key, value in meta)


def _item(item: Item) -> str:
    details = "".join(f"<li><strong>{escape(label)}:</strong> {_inline(v)}</li>" for label, v in item.details)
    return f"<li>{_inline(item.head)}" + (f"<ul>{details}</ul>" if details else "") + "</li>"


def _cell(span: Span) -> str:
    """A status cell is coloured as a whole, so the matrix reads at a glance."""
    attr = f' class="s-{span.status}"' if span.status else ""
    return f"<td{attr}>{_span(span, badge=False)}</td>"


def _inline(content: Inline) -> str:
    return "".join(_span(s) for s in content)


def _span(span: Span, badge: bool = True) -> str:
    text = escape(span.text)
    if span.code:
        text = f"<code>{text}</code>"
    if span.strong or span.status in ("fail", "error"):
        text = f"<strong>{text}</strong>"
    return f'<span class="badge s-{span.status}">{text}</span>' if span.status and badge else text
