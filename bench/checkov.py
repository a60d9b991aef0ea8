"""Benchmark: what the third-party gate (checkov) adds to `caseshield check`. Prints figures; asserts nothing.

    .venv/bin/python bench/checkov.py [--repeat N]

Each figure is a fresh `caseshield check --stack all` process (as a reviewer or `make report` runs it, without
mutants), with and without checkov, then the parts: translating the three graphs and one checkov run over them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "caseshield"


def check_seconds(*extra: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([str(CLI), "check", "--stack", "all", "--format", "json", "--out", out, *extra], cwd=ROOT,
                       check=False, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    for label, extra in (("with checkov", ()), ("without checkov", ("--no-checkov",))):
        runs = [check_seconds(*extra) for _ in range(args.repeat)]
        print(f"caseshield check --stack all, {label:<16} median of {args.repeat}: {statistics.median(runs):6.2f} s "
              f"(min {min(runs):.2f}, max {max(runs):.2f})")

    sys.path.insert(0, str(ROOT))
    from caseshield import terraform_plan, thirdparty_checkov
    from caseshield.offline import evaluate
    from caseshield.project import load_project

    graphs = [evaluate(stack) for stack in load_project().stacks()]
    start = time.perf_counter()
    plans = [terraform_plan.translate(g) for g in graphs]
    print(f"translate {len(plans)} stacks to Terraform plans          {time.perf_counter() - start:6.2f} s")
    start = time.perf_counter()
    _, reports, _ = thirdparty_checkov.run_checkov(plans)
    results = sum(len(r.get("results", {}).get(k, [])) for r in reports for k in ("passed_checks", "failed_checks"))
    print(f"one checkov process over them (+ secrets scan)   {time.perf_counter() - start:6.2f} s  {results} results")


if __name__ == "__main__":
    main()
