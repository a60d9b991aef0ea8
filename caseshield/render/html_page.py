"""A single self-contained HTML page for reviewers: inline CSS only, no script, no external asset.

Evidence pages get mailed, archived and opened offline; a page that fetches nothing and runs nothing (its
Content-Security-Policy says so) renders the same everywhere and cannot leak or be tampered with at view time.
Every piece of report text goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from caseshield.render import _model as m
from caseshield.render._blocks import Block, Heading, Inline, Item, Items, Para, Span, Table
from caseshield.render._document import report_blocks

if TYPE_CHECKING:
    from caseshield.report import CheckReport

# Cell colours: pass green, fail red, waived amber, warn yellow, error grey (background, text).
COLOURS = {"pass": ("#d3f0d9", "#14532d"), "fail": ("#f8d0d0", "#7f1d1d"), "waived": ("#ffd8a8", "#7c3a00"),
           "warn": ("#fff3a3", "#5c4d00"), "error": ("#d9d9d9", "#333333")}
CSP = "default-src 'none'; style-src 'unsafe-inline'"
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2328; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c8ccd0; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f4f6; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.badge { padding: 0.05rem 0.45rem; border-radius: 0.3rem; font-weight: 600; }
li > ul { margin: 0.2rem 0 0.6rem; }
""".strip()


def render(report: CheckReport) -> str:
    return page(m.REPORT_TITLE, report_blocks(report))


def page(title: str, blocks: Iterable[Block]) -> str:
    styles = CSS + "\n" + "\n".join(f".s-{s} {{ background: {bg}; color: {fg}; }}" for s, (bg, fg) in COLOURS.items())
    body = "\n".join(_block(b) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">\n'
            f"<title>{escape(title)}</title>\n<style>\n{styles}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"<h{level}>{escape(text)}</h{level}>"
        case Para(content):
            return f"<p>{_inline(content)}</p>"
        case Table(headers, rows):
            head = "".join(f"<th>{escape(h)}</th>" for h in headers)
            body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
            return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
        case Items(items):
            return "<ul>\n" + "\n".join(_item(i) for i in items) + "\n</ul>"
    raise TypeError(f"not a block: {block!r}")


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
