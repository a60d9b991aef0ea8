"""Markdown (GitHub-flavoured) for reviewers reading the report in a pull request or a wiki.

Statuses are words, not colours, so the page reads the same in plain text; every piece of report text is escaped
so a resource name or a message can never break a table or inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from caseshield.render._blocks import Block, Fold, Heading, Inline, Items, Para, Span, Table
from caseshield.render._document import report_blocks

if TYPE_CHECKING:
    from caseshield.report import CheckReport

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&])")


def render(report: CheckReport) -> str:
    return serialise(report_blocks(report))


def serialise(blocks: Iterable[Block]) -> str:
    return "\n\n".join(_block(b) for b in blocks) + "\n"


def _block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {_escape(text)}"
        case Para(content):
            return _inline(content)
        case Table(headers, rows):
            lines = [_row(Span(h) for h in headers), "|" + " --- |" * len(headers)]
            return "\n".join([*lines, *(_row(row) for row in rows)])
        case Fold(level, title, body):
            return "\n\n".join([f"{'#' * level} {_escape(title)}", *(_block(b) for b in body)])
        case Items(items):
            return "\n".join(line for item in items for line in (
                f"- {_inline(item.head)}", *(f"  - {_escape(label)}: {_inline(value)}" for label, value in item.details)))
    raise TypeError(f"not a block: {block!r}")


def _row(cells: Iterable[Span]) -> str:
    return "| " + " | ".join(_span(c, in_table=True) for c in cells) + " |"


def _inline(content: Inline) -> str:
    return "".join(_span(s) for s in content)


def _span(span: Span, in_table: bool = False) -> str:
    if span.code:
        return _code(span.text, in_table)
    text = _escape(span.text)
    if not (span.strong or span.status in ("fail", "error")) or not text.strip():
        return text
    # Emphasis must not start or end with a space (CommonMark flanking rule), so whitespace goes outside it.
    core = text.strip()
    return f"{text[:len(text) - len(text.lstrip())]}**{core}**{text[len(text.rstrip()):]}"


def _escape(text: str) -> str:
    """Backslash-escape inline markup and fold line breaks, which would end a table row or a list item."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _code(text: str, in_table: bool) -> str:
    """A code span whose fence is longer than any backtick run inside it (CommonMark); in a table, pipes are escaped (GFM)."""
    text = " ".join(text.splitlines())
    text = text.replace("|", "\\|") if in_table else text
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
