"""Run the mutants of `policies/mutants/` and report which the check catches (the kill rate)."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from typing import TextIO

from caseshield import checks
from caseshield.offline import evaluate
from caseshield.report import MutantResult, MutationSummary
from caseshield.settings import SettingsError
from policies import catalog as catalog_module
from policies.mutants import Mutant, load_all
from policies.pack import build_policies
from policies.rules import RULES


def run_mutant(mutant: Mutant, policies: list, baseline: set[tuple[str, str, str]]) -> MutantResult:
    """Killed when a rule of the mutant's control reports something the unmutated stack does not, or when the
    settings validation rejects a settings mutant before any resource exists."""
    transforms = [mutant.transform] if mutant.transform else []
    with mutant.edited_inputs():  # a data mutant: the program and the rules read the edited input file
        try:
            graph = evaluate(mutant.stack, overrides=mutant.overrides, transforms=transforms)
        except SettingsError:
            return MutantResult(mutant.id, mutant.control, mutant.description, mutant.stack, True, ("settings",))
        found = checks.run_policies(graph, policies)
    caught = sorted({
        v.policy for v in found
        if RULES[v.policy].control == mutant.control and (v.policy, v.urn, v.message) not in baseline
    })
    return MutantResult(mutant.id, mutant.control, mutant.description, mutant.stack, bool(caught), tuple(caught))


@cache
def _policies() -> list:
    return build_policies(catalog_module.load())


@cache
def _baseline(stack: str) -> frozenset[tuple[str, str, str]]:
    """What the unmutated stack already reports; a mutant is caught only by something new."""
    return frozenset((v.policy, v.urn, v.message) for v in checks.run_policies(evaluate(stack), _policies()))


def _run_by_id(mutant_id: str) -> MutantResult:
    """One mutant in this process. Worker processes get ids, not mutants: transforms are closures."""
    mutant = load_all()[mutant_id]
    return run_mutant(mutant, _policies(), set(_baseline(mutant.stack)))


def run_mutants(only: set[str] | None = None, jobs: int = 1) -> MutationSummary:
    """Run every mutant (or those in `only`), in `jobs` processes. Each evaluation is single-threaded Python, so
    processes are what make a second core count; a spawned worker re-imports the program once (seconds), so more
    than one job pays off for whole runs, not for a handful of mutants."""
    ids = sorted(m for m in load_all() if only is None or m in only)
    if jobs <= 1 or len(ids) < 2 * jobs:
        return MutationSummary(list(progress(map(_run_by_id, ids), len(ids))))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return MutationSummary(list(progress(pool.map(_run_by_id, ids, chunksize=4), len(ids))))


def progress(results: Iterable[MutantResult], total: int, stream: TextIO | None = None) -> Iterator[MutantResult]:
    """A progress bar on a terminal, where a run of minutes otherwise looks hung; nothing at all when the output
    goes to a file or a CI log, which a redrawn bar would only fill with control characters."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield from results
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("mutants"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=stream, force_terminal=True), transient=False) as bar:
        task = bar.add_task("mutants", total=total)
        for result in results:
            bar.advance(task)
            yield result
