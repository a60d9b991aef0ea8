"""Write a `CheckReport` in the formats its readers need: reviewers (md, html), tools (json, sarif) and CI (junit).

Each format lives in its own module and derives everything from `_model`, so the formats agree; every file is
written as UTF-8 bytes with no platform newline translation, so the same report gives byte-identical files.
Each file is written to a temporary file beside it and renamed into place (`os.replace`), so a reader never sees a
half-written report; `clear` removes the previous run's reports before a new run starts, so a run that fails early
leaves no stale PASS behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
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


class ReportWriteError(OSError):
    """The reports cannot be written where asked; says where and why, with the fix."""


class FormatError(ValueError):
    """`--format` names no format, an empty one or an unknown one."""


def parse_formats(text: str) -> list[str]:
    """`md,json` -> ["md", "json"]; an empty list, an empty item or an unknown format is a ValueError with the fix."""
    formats = [f.strip() for f in text.split(",")]
    unknown = sorted({f for f in formats if f not in RENDERERS})
    if unknown or not formats:
        raise FormatError(f"--format {text!r}: unknown or empty report format(s) {unknown}; give a comma list of "
                         f"{', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def clear(out_dir: Path, names: Iterable[str] | None = None, what: str = "reports") -> None:
    """Create `out_dir` if needed, prove it is writable, and remove the reports (`names`, default: every report of
    `caseshield check`) a previous run left there: a failed run must not leave a stale pass."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".caseshield-probe-"):
            pass
        for name in names if names is not None else [name for name, _ in RENDERERS.values()]:
            (out_dir / name).unlink(missing_ok=True)
    except OSError as error:
        raise ReportWriteError(f"cannot write {what} to {out_dir}: {error.strerror or error}. Fix: choose a "
                               "writable directory with --out, or fix its permissions.") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file in the same directory, flush it to disk, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def render(report: CheckReport, formats: list[str], out_dir: Path) -> list[Path]:
    """Write each requested format (duplicates once, in the order given) into out_dir; returns the files written."""
    unknown = sorted(set(formats) - set(RENDERERS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; choose from {', '.join(FORMATS)}")
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for fmt in dict.fromkeys(formats):
            name, render_format = RENDERERS[fmt]
            path = out_dir / name
            write_atomically(path, render_format(report).encode("utf-8"))
            written.append(path)
    except OSError as error:
        raise ReportWriteError(f"cannot write reports to {out_dir}: {error.strerror or error}. Fix: choose a "
                               "writable directory with --out, or fix its permissions.") from None
    return written
