"""`caseshield check` over several stacks at once: one forked process per stack, after the first evaluation.

Most of a first evaluation is importing pulumi-aws's modules, moto's backends and the program (seconds that the
later evaluations of the same process do not pay). So the first stack to evaluate is evaluated here, and then every
stack is evaluated (if it was not) and judged by the policy pack in a child forked from this process: the children
start with everything imported and share those pages with it. Each child sends back its stack's graph as soon as it
is evaluated (its Terraform plan goes to checkov at once, thirdparty_checkov.py) and then its `StackReport`, plain
data. What the children run is `report.check_stack`, the very function the serial path runs, over the same graph,
catalog, waivers and policy objects, so the reports are the same (`tests/test_workers.py` compares them).

Without fork (not POSIX), with one stack, or with `jobs=1`, `run_check` checks the stacks one after another instead.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from caseshield import offline, thirdparty_checkov
from caseshield.offline import ResourceGraph
from caseshield.project import promotion_key
from caseshield.terraform_plan import translate

if TYPE_CHECKING:
    from caseshield.report import StackReport


SILENCE_SECONDS = 900  # a stack's evaluation and pack take seconds; a child silent this long is stuck


class WorkerFailed(RuntimeError):
    """A child ended without a report: the check fails, naming the stack and why."""


def default_jobs() -> int:
    """One more process than CPUs: while one child waits (on parliament, say), the CPUs stay busy."""
    return (os.cpu_count() or 1) + 1


def wanted(stacks: Sequence[str], jobs: int | None) -> bool:
    return len(set(stacks)) > 1 and (jobs is None or jobs > 1) and "fork" in multiprocessing.get_all_start_methods()


def stack_reports(stacks: Sequence[str], catalog: Any, waivers: list, policies: list,
                  given: dict[str, ResourceGraph], *, preview: bool = False,
                  process: thirdparty_checkov.CheckovProcess | None = None, jobs: int | None = None) -> list[StackReport]:
    """Every stack's report, in promotion order. `given` holds the graphs read from files; the graphs evaluated here
    are added to it (the checkov verdict is folded into the reports from them), and their plans go to `process`."""
    with offline.collector_paused():
        return _stack_reports(stacks, catalog, waivers, policies, given, preview, process, jobs)


def _stack_reports(stacks: Sequence[str], catalog: Any, waivers: list, policies: list, given: dict[str, ResourceGraph],
                   preview: bool, process: thirdparty_checkov.CheckovProcess | None, jobs: int | None
                   ) -> list[StackReport]:
    order = sorted(dict.fromkeys(stacks), key=promotion_key)
    with_checkov = process is not None
    for stack in [s for s in dict.fromkeys(stacks) if s not in given]:
        # The cold evaluation: everything the children need gets imported here, once. A stack that cannot be
        # evaluated (its child reports why) does not count: the next one is tried.
        graph = _evaluated(stack, preview, with_checkov, process)
        if graph is not None:
            given[stack] = graph
            break
    _only_this_thread()
    context = multiprocessing.get_context("fork")
    todo = list(order)
    running: dict[Connection, tuple[str, Any]] = {}
    reports: dict[str, StackReport] = {}
    limit = max(1, jobs or default_jobs())
    try:
        while todo or running:
            while todo and len(running) < limit:
                stack = todo.pop(0)
                receive, send = context.Pipe(duplex=False)
                child = context.Process(target=_child, name=f"caseshield-check-{stack}", daemon=True, args=(
                    send, stack, given.get(stack), catalog, waivers, policies, preview, with_checkov))
                child.start()
                send.close()  # the child holds the only sending end: its exit is our end of file
                running[receive] = (stack, child)
            ready_ones = wait(list(running), timeout=SILENCE_SECONDS)
            if not ready_ones:  # a stuck child must fail the check, not hold it for ever
                raise WorkerFailed(f"no word from the checks of {', '.join(s for s, _ in running.values())} in "
                                   f"{SILENCE_SECONDS} s")
            for ready in ready_ones:
                assert isinstance(ready, Connection)
                stack, child = running[ready]
                try:
                    kind, payload = ready.recv()
                except EOFError:
                    child.join()
                    raise WorkerFailed(f"the check of stack {stack} ended without a report (exit code "
                                       f"{child.exitcode})") from None
                if kind == "graph":
                    given[stack] = payload
                    if process is not None:
                        process.submit(translate(payload))
                    continue
                ready.close()
                child.join()
                del running[ready]
                if kind == "crash":
                    raise WorkerFailed(f"the check of stack {stack} raised:\n{payload}")
                reports[stack] = payload
    finally:
        for receive, (_, child) in running.items():
            child.kill()
            child.join()
            receive.close()
    return [reports[stack] for stack in order]


def _only_this_thread(timeout: float = 10.0) -> None:
    """Fork with no other thread alive (or ending): a lock another thread holds at the fork stays held in the child
    for ever. The evaluation joins its executor's threads (offline.py); this waits for any thread still ending."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout)


def _evaluated(stack: str, preview: bool, with_checkov: bool,
               process: thirdparty_checkov.CheckovProcess | None = None) -> ResourceGraph | None:
    """The stack's graph, or None when it cannot be evaluated, by the functions the serial path calls: with checkov,
    `thirdparty_checkov.evaluated` (which also submits the plan to `process`); without, `report.evaluate`."""
    if with_checkov:
        return thirdparty_checkov.evaluated(stack, preview, process)
    from caseshield import report

    try:
        return report.evaluate(stack, preview=preview)
    except Exception:  # check_stack evaluates it again and reports why
        return None


def _child(send: Connection, stack: str, graph: ResourceGraph | None, catalog: Any, waivers: list, policies: list,
           preview: bool, with_checkov: bool) -> None:
    # The child holds the parent's pipe to checkov open until it exits; the parent closes it (`collect`) only after
    # every child has sent its report and been joined. The parent's objects are frozen out of the collector's sight
    # (a collection would also write to, and so copy, every page of them); the child's own garbage is one stack's
    # evaluation and pack and dies with the child.
    gc.freeze()
    gc.disable()
    from caseshield.report import check_stack

    try:
        if graph is None and with_checkov:  # the parent needs the graph for the plan checkov judges
            graph = _evaluated(stack, preview, with_checkov)
            if graph is not None:
                send.send(("graph", graph))
        send.send(("report", check_stack(stack, catalog, waivers, policies, graph=graph, preview=preview)))
    except BaseException:
        send.send(("crash", traceback.format_exc()))
    finally:
        send.close()
