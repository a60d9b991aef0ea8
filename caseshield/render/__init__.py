"""Write a `CheckReport` in the formats its readers need: reviewers (md, html), tools (json, sarif) and CI (junit).

Each format lives in its own module and derives everything from `_model`, so the formats agree; every file is
written as UTF-8 bytes with no platform newline translation, so the same report gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from caseshield.render import html_page, json_doc, junit, markdown, sarif

if TYPE_CHECKING:
    from caseshield.report import CheckReport

RENDERERS: dict[str, tuple[str, Callable[[CheckReport], str]]] = {
    "md": ("caseshield-report.md", markdown.render),
    "html": ("caseshield-report.html", html_page.render),
    "json": ("caseshield-report.json", json_doc.render),
    "sarif": ("caseshield-report.sarif", sarif.render),
    "junit": ("caseshield-junit.xml", junit.render),
}
FORMATS = tuple(RENDERERS)


def render(report: CheckReport, formats: list[str], out_dir: Path) -> list[Path]:
    """Write each requested format (duplicates once, in the order given) into out_dir; returns the files written."""
    unknown = sorted(set(formats) - set(RENDERERS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; choose from {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in dict.fromkeys(formats):
        name, render_format = RENDERERS[fmt]
        path = out_dir / name
        path.write_bytes(render_format(report).encode("utf-8"))
        written.append(path)
    return written
