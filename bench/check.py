"""Benchmark: how long `caseshield check --stack all` takes, whole and by phase. Prints figures; asserts nothing.

    .venv/bin/python bench/check.py [--repeat N] [--serial]

Each total is a fresh `caseshield check --stack all --format json` process, as a reviewer or `make report` runs it
(without mutants), with checkov (the default) and with `--no-checkov`: wall time, and the CPU time of the process
and all its children (evaluation workers, checkov, parliament). `--serial` adds the same runs with the stacks
checked one after another in one process (`run_check(jobs=1)`), the way `check` ran before caseshield/workers.py.

Then one more fresh run with checkov, timed inside: when each phase started and ended, in which process, measured
from the moment the process began importing caseshield (interpreter start-up, ~0.05 s, comes before).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

T0 = time.perf_counter()  # the timeline's zero (CLOCK_MONOTONIC: the same clock in forked children)
ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
SERIAL = "import functools, sys; from caseshield import cli, report; " \
         "report.run_check = functools.partial(report.run_check, jobs=1); sys.exit(cli.main(sys.argv[1:]))"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_once(*extra: str, serial: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh `check --stack all` process (CPU: it and every process it waited for)."""
    with tempfile.TemporaryDirectory() as out:
        argv = ["check", "--stack", "all", "--format", "json", "--out", out, *extra]
        command = [str(PYTHON), "-c", SERIAL, *argv] if serial else [str(ROOT / ".venv" / "bin" / "caseshield"), *argv]
        cpu, start = children_cpu(), time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode not in (0, 1):
            sys.exit(f"check failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return wall, children_cpu() - cpu


# --- the timeline: this script re-runs itself with --timeline FILE, wraps the phases and runs the CLI ------------------

def record(path: str, label: str, stack: str, start: float, end: float) -> None:
    line = json.dumps({"label": label, "stack": stack, "pid": os.getpid(), "start": start - T0, "end": end - T0})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)  # one write per line: forked children append safely
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def timed(path: str, label: str, fn: Callable[..., Any], stack_of: Callable[..., Any] = lambda *a, **k: "-"
          ) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            record(path, label, str(stack_of(*args, **kwargs)), start, time.perf_counter())
    return wrapper


def run_timeline(path: str, argv: list[str]) -> int:
    start = time.perf_counter()
    from caseshield import checks, cli, iam_lint, offline, render, report, thirdparty_checkov

    record(path, "import caseshield (cli, report, policies)", "-", start, time.perf_counter())
    evaluate = offline.evaluate
    evaluated_in: set[int] = set()  # processes that have evaluated (a forked worker inherits the parent's imports)

    def evaluate_labelled(stack: str, **kwargs: Any) -> Any:
        first = not evaluated_in and not offline._frozen
        evaluated_in.add(os.getpid())
        label = "evaluate (first of the run: imports pulumi-aws, moto)" if first else "evaluate"
        return timed(path, label, evaluate, lambda s, **k: s)(stack, **kwargs)

    offline.evaluate = report.evaluate = thirdparty_checkov.evaluate = evaluate_labelled
    checks.run_engine = timed(path, "policy pack (run_engine)", checks.run_engine, lambda g, *a, **k: g.stack)
    iam_lint.lint = timed(path, "  of which parliament (IAM-13)", iam_lint.lint)
    thirdparty_checkov.CheckovProcess.collect = timed(  # type: ignore[method-assign]
        path, "wait for checkov's verdicts", thirdparty_checkov.CheckovProcess.collect)
    thirdparty_checkov.fold = timed(path, "checkov: plans, verdicts folded into reports", thirdparty_checkov.fold)
    report.check_parity = timed(path, "parity", report.check_parity)
    render.render = timed(path, "render reports", render.render)
    report.run_check = timed(path, "run_check", report.run_check)
    code = cli.main(argv)
    record(path, "whole command", "-", T0, time.perf_counter())
    return code


def print_timeline(extra: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as out:
        events = Path(out) / "events.jsonl"
        argv = ["check", "--stack", "all", "--format", "json", "--out", out, *extra]
        subprocess.run([str(PYTHON), __file__, "--timeline", str(events), *argv], cwd=ROOT, check=False,
                       capture_output=True)
        rows = [json.loads(line) for line in events.read_text().splitlines()]
    parent = next(r["pid"] for r in rows if r["label"] == "whole command")
    names = {parent: "parent"}
    for r in sorted(rows, key=lambda r: r["start"]):
        names.setdefault(r["pid"], f"worker {r['stack']}")
    print(f"\nphases of one run (`check --stack all{' ' + ' '.join(extra) if extra else ''}`), seconds from start:")
    print(f"  {'phase':<60} {'stack':<8} {'process':<15} {'start':>6} {'end':>6} {'took':>6}")
    for r in sorted(rows, key=lambda r: (r["start"], -r["end"])):
        print(f"  {r['label']:<60} {r['stack']:<8} {names[r['pid']]:<15} {r['start']:6.2f} {r['end']:6.2f} "
              f"{r['end'] - r['start']:6.2f}")


def main() -> None:
    if sys.argv[1:2] == ["--timeline"]:
        sys.exit(run_timeline(sys.argv[2], sys.argv[3:]))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serial", action="store_true", help="also time the stacks checked one after another")
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    modes = [("", False)] + ([("serial, ", True)] if args.serial else [])
    for prefix, serial in modes:
        for label, extra in (("with checkov", ()), ("without checkov", ("--no-checkov",))):
            runs = [check_once(*extra, serial=serial) for _ in range(args.repeat)]
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            print(f"check --stack all, {prefix}{label:<16} median of {args.repeat}: {statistics.median(walls):6.2f} s "
                  f"wall (min {min(walls):.2f}, max {max(walls):.2f}), {statistics.median(cpus):6.2f} s CPU")
    print_timeline(())
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
