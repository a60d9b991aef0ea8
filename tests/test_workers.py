"""`caseshield check` over several stacks in forked workers (caseshield/workers.py) gives the serial path's report.

The workers run `report.check_stack` over the same graphs, catalog, waivers and policies, after the parent's first
evaluation; the report must not depend on it: same findings, statuses, not-run and errored policies, checkov verdict
(counts, exemptions, failures), waiver problems and parity. A stack that cannot be evaluated is still its own error,
and a worker that dies or raises fails the check instead of dropping its stack.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from caseshield import offline, report, thirdparty_checkov, workers
from caseshield.report import CheckReport, run_check
from tests.conftest import STACKS, graph_of

TODAY = dt.date(2026, 12, 1)
GENERATED_AT = "2026-12-01T00:00:00+00:00"


def same(serial: CheckReport, parallel: CheckReport) -> None:
    assert [s.stack for s in parallel.stacks] == [s.stack for s in serial.stacks]
    for one, other in zip(serial.stacks, parallel.stacks, strict=True):
        assert other == one  # dataclass equality: findings, statuses, not-run, errors, checkov counts and results
    assert parallel.checkov == serial.checkov
    assert parallel.waiver_problems == serial.waiver_problems and parallel.parity == serial.parity
    assert parallel.passed == serial.passed


def test_forked_workers_give_the_serial_report_of_every_stack() -> None:
    """With checkov when it is installed: its plans then come from the graphs the workers send back."""
    third_party = thirdparty_checkov.available()
    serial = run_check(list(STACKS), today=TODAY, generated_at=GENERATED_AT, third_party=third_party, jobs=1)
    parallel = run_check(list(STACKS), today=TODAY, generated_at=GENERATED_AT, third_party=third_party, jobs=3)
    same(serial, parallel)
    assert any(s.findings for s in parallel.stacks)  # a real comparison: dev has waived findings
    if third_party:
        assert all(s.checkov is not None and s.checkov.count() > 600 for s in parallel.stacks)


def test_given_graphs_are_judged_in_workers_without_evaluating_them(monkeypatch: pytest.MonkeyPatch) -> None:
    graphs = {s: graph_of(s) for s in ("dev", "prod")}
    serial = run_check(list(graphs), today=TODAY, generated_at=GENERATED_AT, graphs=graphs, third_party=False, jobs=1)

    def no_evaluation(stack: str, **_: Any) -> offline.ResourceGraph:
        raise AssertionError(f"{stack} was evaluated although its graph was given")

    monkeypatch.setattr(report, "evaluate", no_evaluation)
    monkeypatch.setattr(thirdparty_checkov, "evaluate", no_evaluation)
    parallel = run_check(list(graphs), today=TODAY, generated_at=GENERATED_AT, graphs=graphs, third_party=False, jobs=2)
    same(serial, parallel)


def test_a_stack_that_cannot_be_evaluated_is_its_own_error_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    real = report.evaluate

    def evaluate(stack: str, **kwargs: Any) -> offline.ResourceGraph:
        if stack == "dev":  # the first stack: the parent's cold evaluation moves on to the next one
            raise RuntimeError("a component bug")
        return real(stack, **kwargs)

    monkeypatch.setattr(report, "evaluate", evaluate)
    serial = run_check(["dev", "staging"], today=TODAY, generated_at=GENERATED_AT, third_party=False, jobs=1)
    parallel = run_check(["dev", "staging"], today=TODAY, generated_at=GENERATED_AT, third_party=False, jobs=2)
    same(serial, parallel)
    dev = parallel.stacks[0]
    assert dev.settings_error is not None and "RuntimeError: a component bug" in dev.settings_error
    assert set(dev.controls.values()) == {"error"} and parallel.stacks[1].passed


def test_a_worker_that_dies_or_raises_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    graphs = {s: graph_of(s) for s in ("dev", "prod")}
    real = report.check_stack

    def dies(stack: str, *args: Any, **kwargs: Any) -> report.StackReport:
        if stack == "prod":
            os._exit(3)
        return real(stack, *args, **kwargs)

    monkeypatch.setattr(report, "check_stack", dies)
    with pytest.raises(workers.WorkerFailed, match="stack prod ended without a report"):
        run_check(list(graphs), graphs=graphs, third_party=False, jobs=2)

    def raises(stack: str, *args: Any, **kwargs: Any) -> report.StackReport:
        raise ValueError(f"broken {stack}")

    monkeypatch.setattr(report, "check_stack", raises)
    with pytest.raises(workers.WorkerFailed, match=r"ValueError: broken (dev|prod)"):
        run_check(list(graphs), graphs=graphs, third_party=False, jobs=2)


def test_one_stack_or_one_job_is_checked_in_this_process() -> None:
    assert not workers.wanted(["dev"], None) and not workers.wanted(["dev", "dev"], None)
    assert not workers.wanted(["dev", "prod"], 1)
    assert workers.wanted(["dev", "prod"], None) == ("fork" in __import__("multiprocessing").get_all_start_methods())


def test_a_stuck_worker_fails_the_check_instead_of_holding_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    graphs = {s: graph_of(s) for s in ("dev", "prod")}

    def stuck(stack: str, *args: Any, **kwargs: Any) -> report.StackReport:
        time.sleep(60)
        raise AssertionError("unreachable")

    monkeypatch.setattr(report, "check_stack", stuck)
    monkeypatch.setattr(workers, "SILENCE_SECONDS", 1)
    with pytest.raises(workers.WorkerFailed, match="no word from the checks of dev, prod in 1 s"):
        run_check(list(graphs), graphs=graphs, third_party=False, jobs=2)
