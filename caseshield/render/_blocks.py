"""A tiny document model (headings, paragraphs, tables, detail lists) that Markdown and HTML both serialise.

The reviewer report and the catalog docs are built once as blocks; each format only decides how a block looks,
so the Markdown and HTML pages always say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caseshield.report import Status


@dataclass(frozen=True)
class Span:
    """A run of text; `status` marks it as a verdict word (coloured in HTML, a word in Markdown)."""

    text: str
    status: Status | None = None
    code: bool = False
    strong: bool = False


Inline = tuple[Span, ...]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    content: Inline


# Facts about a row or section (control, domain, stack, results) that the HTML page filters on; Markdown ignores them.
Meta = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Span, ...], ...]
    row_meta: tuple[Meta, ...] = ()


@dataclass(frozen=True)
class Item:
    """A list entry with labelled details beneath it (a finding and its evidence)."""

    head: Inline
    details: tuple[tuple[str, Inline], ...] = ()


@dataclass(frozen=True)
class Items:
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Fold:
    """A titled section a reader can fold away: Markdown writes the heading and the body, HTML a <details> element."""

    level: int
    title: str
    body: tuple[Block, ...]
    meta: Meta = ()


Block = Heading | Para | Table | Items | Fold


def para(*parts: str | Span) -> Para:
    return Para(tuple(p if isinstance(p, Span) else Span(p) for p in parts))


def status(value: Status) -> Span:
    return Span(value, status=value)


def code(value: str) -> Span:
    return Span(value, code=True)


def table(headers: tuple[str, ...], rows: Sequence[tuple[Span, ...]], empty: str, meta: Sequence[Meta] = ()) -> Block:
    """A table, or a sentence saying there is nothing to list (an empty table reads like a rendering bug)."""
    return Table(headers, tuple(rows), tuple(meta)) if rows else para(empty)
