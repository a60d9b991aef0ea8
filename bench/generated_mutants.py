"""Print the generated-mutant figures: count per stack, kill rate and wall time of the parallel run.

    .venv/bin/python bench/generated_mutants.py [--stack all|dev,staging,prod] [--jobs 2] [--only GLOB] [--json FILE]

`--only 'gen:prod:caseshield-keys-*'` runs the mutants whose ids match the glob (while mending the rules of one family);
`--json` writes every result (id, caught, caught by, control, description) for comparing two runs.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import time

from caseshield.cli import stacks_named
from caseshield.generated_mutants import run_generated, summary_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="all")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", default=None, help="a glob of mutant ids")
    parser.add_argument("--json", default=None, help="write every result here")
    args = parser.parse_args()
    started = time.monotonic()
    only = (lambda m: fnmatch.fnmatchcase(m.id, args.only)) if args.only else None
    summary = run_generated(stacks_named(args.stack), jobs=args.jobs, only=only)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([{"id": r.id, "killed": r.killed, "caught_by": list(r.caught_by), "control": r.control,
                        "description": r.description} for r in summary.results], handle, indent=1)
    for line in summary_lines(summary):
        print(line)
    print(f"count {len(summary.results)}, kill rate {summary.kill_rate:.1%}, "
          f"wall time {time.monotonic() - started:.1f} s with {args.jobs} process(es)")


if __name__ == "__main__":
    main()
