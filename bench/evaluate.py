"""Benchmark: how long offline evaluation, the policy pack and the mutants take. Prints figures; asserts nothing.

    .venv/bin/python bench/evaluate.py [--repeat N] [--mutants]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mutants", action="store_true", help="also time the whole mutant run")
    args = parser.parse_args()

    seconds, _ = timed(lambda: __import__("components.environment"))
    print(f"import program and pulumi-aws      {seconds:7.2f} s")
    from caseshield import checks
    from caseshield.offline import evaluate
    from caseshield.project import load_project, promotion_key
    from policies.pack import build_policies

    seconds, graph = timed(lambda: evaluate("prod"))
    print(f"first evaluation (prod, cold)      {seconds:7.2f} s  {len(graph.resources)} resources")
    policies = build_policies()
    for stack in sorted(load_project().stacks(), key=promotion_key):
        eval_times, check_times = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            graph = evaluate(stack)
            eval_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            checks.run_policies(graph, policies)
            check_times.append(time.perf_counter() - start)
        print(f"evaluate {stack:<8} median of {args.repeat}     {statistics.median(eval_times):7.2f} s  "
              f"{len(graph.resources)} resources; policy pack ({len(policies)} policies) "
              f"{statistics.median(check_times):5.2f} s")
    if args.mutants:
        from caseshield.mutation import run_mutants

        for jobs in sorted({1, os.cpu_count() or 1}):
            seconds, summary = timed(functools.partial(run_mutants, jobs=jobs))
            print(f"all mutants, {jobs} process(es)       {seconds:7.2f} s  {len(summary.results)} mutants, "
                  f"kill rate {summary.kill_rate:.0%}")


if __name__ == "__main__":
    main()
