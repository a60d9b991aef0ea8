"""Benchmark: how long `caseshield audit` takes per stack, on dev, staging and prod deployed into moto. Prints
figures; asserts nothing (tests/test_audit_cli.py and tests/test_audit_live_mutants.py are the proofs).

    .venv/bin/python bench/audit.py [--repeat N] [--out DIR]

With --out, each stack's last audit is also written as DIR/<stack>/caseshield-audit.{md,json}, the files
`caseshield check --live` joins to the controls report.

Each stack's recorded graph is deployed into a fresh moto account (tests/moto_deploy.py, with the stub answers of
the reads moto lacks), then audited `--repeat` times on fresh account views (nothing cached between runs; the
first run of the process also creates botocore's clients and loads their service models).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `tests.moto_deploy` when run as a script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="audits per stack (the median is printed)")
    parser.add_argument("--out", type=Path, help="write each stack's last audit (md, json) to OUT/<stack>/")
    args = parser.parse_args()

    from caseshield.audit import load_all
    from caseshield.audit.account import Account
    from caseshield.audit.report import AuditReport, clear, write
    from caseshield.audit.runner import audit_stack
    from caseshield.offline import evaluate
    from caseshield.project import load_project, promotion_key
    from tests.moto_deploy import deployed

    checks = load_all()
    print(f"{len(checks)} live checks over {len({c.control for c in checks.values()})} controls "
          f"({sum(c.stub_tested for c in checks.values())} stub-tested)")
    for stack in sorted(load_project().stacks(), key=promotion_key):
        graph = evaluate(stack)  # before moto starts: the offline evaluation runs its own
        started = time.perf_counter()
        with deployed(graph) as account:
            deploy_seconds = time.perf_counter() - started
            times, audit = [], None
            for _ in range(args.repeat):
                view = Account(stack, account.session)
                audit = audit_stack(view, progress=False)
                times.append(audit.seconds)
            if args.out is not None and audit is not None:
                clear(args.out / stack)
                write(AuditReport([audit], accounts={stack: view.account_id}, regions={stack: view.region}), ["md", "json"],
                      args.out / stack)
        assert audit is not None
        counts = {s: sum(r.status == s for r in audit.results) for s in ("pass", "fail", "error")}
        print(f"{stack:<8} {len(graph.resources)} resources, deployed into moto in {deploy_seconds:5.1f} s; audit median of "
              f"{args.repeat}: {statistics.median(times):5.2f} s (first {times[0]:5.2f} s); {len(audit.controls())} controls checked, "
              f"{counts['pass']} pass, {counts['fail']} fail, {counts['error']} error")


if __name__ == "__main__":
    main()
