"""Print the generated-mutant figures: count per stack, kill rate and wall time of the parallel run.

    .venv/bin/python bench/generated_mutants.py [--stack all|dev,staging,prod] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import time

from caseshield.cli import stacks_named
from caseshield.generated_mutants import run_generated, summary_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="all")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    started = time.monotonic()
    summary = run_generated(stacks_named(args.stack), jobs=args.jobs)
    for line in summary_lines(summary):
        print(line)
    print(f"count {len(summary.results)}, kill rate {summary.kill_rate:.1%}, "
          f"wall time {time.monotonic() - started:.1f} s with {args.jobs} process(es)")


if __name__ == "__main__":
    main()
