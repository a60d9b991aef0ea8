"""`check --mutants` shows a progress bar on a terminal and writes nothing when its output is not a terminal."""

from __future__ import annotations

import io

from caseshield.mutation import progress
from caseshield.report import MutantResult

RESULTS = [MutantResult(f"m{i}", "NET-01", "a mutant", "dev", True, ("rule",)) for i in range(3)]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_that_counts_every_mutant() -> None:
    terminal = _Terminal()
    assert list(progress(iter(RESULTS), len(RESULTS), stream=terminal)) == RESULTS
    shown = terminal.getvalue()
    assert "mutants" in shown and "3/3" in shown and "━" in shown


def test_a_file_or_ci_log_gets_nothing() -> None:
    log = io.StringIO()
    assert list(progress(iter(RESULTS), len(RESULTS), stream=log)) == RESULTS
    assert log.getvalue() == ""
