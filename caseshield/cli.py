"""`caseshield`: check stacks against the controls catalog, explain controls, plan stacks and respond to incidents.

Everything except `respond` runs offline: no cloud account and no Pulumi CLI are needed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.project import StackNotFound, load_project
from caseshield.respond import add_respond_parser
from caseshield.settings import SettingsError
from policies import catalog as catalog_module

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "controls.md"


def stacks_named(name: str) -> list[str]:
    """`all` means every stack file in the stack directory; otherwise a comma-separated list of stacks."""
    return load_project().stacks() if name == "all" else [s for s in name.split(",") if s]


# --- plan ---------------------------------------------------------------------------------------------------------

def render_plan(graph: ResourceGraph) -> str:
    """The resource tree (type, name, nested under its parent) followed by counts per type."""
    lines = [f"Stack {graph.stack}: {len(graph.resources)} resources"]

    def walk(resources: list[RecordedResource], depth: int) -> None:
        for r in resources:
            lines.append(f"{'  ' * depth}{r.type}  {r.name}")
            walk(graph.children(r.urn), depth + 1)

    # Top-level resources are parented to the stack itself, which is not a recorded registration.
    walk([r for r in graph.resources if r.parent not in graph.by_urn], 1)
    lines.append("")
    lines.append("Resources by type:")
    counts = graph.counts()
    width = max(len(t) for t in counts) if counts else 0
    lines.extend(f"  {t:<{width}}  {n:>4}" for t, n in counts.items())
    lines.append(f"  {'total':<{width}}  {len(graph.resources):>4}")
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    for i, stack in enumerate(stacks_named(args.stack)):
        if i:
            print()
        print(render_plan(evaluate(stack)))
    return 0


# --- check --------------------------------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    from caseshield.render import render
    from caseshield.report import run_check

    mutation = None
    if args.mutants:
        from caseshield.mutation import run_mutants

        mutation = run_mutants(jobs=args.jobs)
    report = run_check(stacks_named(args.stack), today=args.today, mutation=mutation)
    written = render(report, [f for f in args.format.split(",") if f], Path(args.out))
    for stack in report.stacks:
        counts = {s: list(stack.controls.values()).count(s) for s in ("pass", "fail", "waived", "warn", "error")}
        print(f"{stack.stack}: {'PASS' if stack.passed else 'FAIL'} "
              + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    for problem in report.waiver_problems:
        print(f"waivers: {problem}")
    for finding in report.parity:
        print(f"parity: {finding}")
    if report.mutation is not None:
        print(f"mutants: {sum(r.killed for r in report.mutation.results)}/{len(report.mutation.results)} caught "
              f"(kill rate {report.mutation.kill_rate:.0%})")
    print("reports: " + ", ".join(str(p) for p in written))
    print(f"verdict: {'PASS' if report.passed else 'FAIL'}")
    return 0 if report.passed else 1


# --- controls, explain, docs ----------------------------------------------------------------------------------------

def cmd_controls(args: argparse.Namespace) -> int:
    catalog = catalog_module.load()
    shown = [c for c in catalog.controls
             if (not args.domain or c.domain == args.domain)
             and (not args.framework or args.framework in c.frameworks)
             and (not args.severity or c.severity == args.severity)]
    for c in shown:
        refs = "; ".join(f"{k} {', '.join(v)}" for k, v in c.frameworks.items())
        print(f"{c.id:<9} {c.severity:<8} {c.enforcement:<9} {c.title}  [{refs}]")
    print(f"{len(shown)} of {len(catalog.controls)} controls")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from policies.mutants import load_all as load_mutants
    from policies.rules import load_all as load_rules

    catalog = catalog_module.load()
    try:
        c = catalog.get(args.id.upper())
    except KeyError as error:
        print(f"caseshield: {error.args[0]}; `caseshield controls` lists them", file=sys.stderr)
        return 2
    rules = load_rules()
    mutants = [m for m in load_mutants().values() if m.control == c.id]
    print(f"{c.id}: {c.title}")
    print(f"  domain {c.domain}, severity {c.severity}, {c.enforcement}, {'waivable' if c.waivable else 'never waivable'}")
    print(f"  requirement: {c.requirement.text} ({c.requirement.source}, \"{c.requirement.section}\")")
    print(f"  rationale: {c.rationale}")
    for name, refs in c.frameworks.items():
        print(f"  {name}: {', '.join(refs)}")
    for rule_id in c.rules:
        doc = (rules[rule_id].check.__doc__ or "").strip().splitlines()
        print(f"  rule {rule_id} ({rules[rule_id].kind}): {' '.join(line.strip() for line in doc)}")
    for m in mutants:
        print(f"  mutant {m.id}: {m.description} ({m.stack})")
    print(f"  runbook: {c.runbook}")
    print(f"  remediation: {c.remediation}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from caseshield.render.catalog_docs import catalog_markdown

    text = catalog_markdown(catalog_module.load())
    if args.check:
        current = DOCS_PATH.read_text() if DOCS_PATH.is_file() else ""
        if current != text:
            print(f"caseshield: {DOCS_PATH.name} is out of date; run `caseshield docs`", file=sys.stderr)
            return 1
        return 0
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PATH.write_text(text)
    print(f"wrote {DOCS_PATH}")
    return 0


# --- parser -------------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseshield", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="evaluate a stack offline and print its resource tree and counts")
    plan.add_argument("--stack", required=True, help="a stack name (stacks/Pulumi.NAME.yaml), a comma list, or 'all'")
    plan.set_defaults(func=cmd_plan)

    check = sub.add_parser("check", help="check stacks against every control and write reviewer reports")
    check.add_argument("--stack", default="all", help="a stack name, a comma list, or 'all' (default)")
    check.add_argument("--format", default="md,html,json,sarif,junit", help="comma list of md, html, json, sarif, junit")
    check.add_argument("--out", default="reports", help="directory for the reports (default: reports/)")
    check.add_argument("--mutants", action="store_true", help="also run every mutant and report the kill rate")
    check.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="processes for the mutant run (default: one per CPU)")
    check.add_argument("--today", type=dt.date.fromisoformat, default=None,
                       help="date waiver expiry is judged against (YYYY-MM-DD; default: today)")
    check.set_defaults(func=cmd_check)

    controls = sub.add_parser("controls", help="list the controls of the catalog")
    controls.add_argument("--domain")
    controls.add_argument("--framework", choices=catalog_module.FRAMEWORKS)
    controls.add_argument("--severity", choices=catalog_module.SEVERITIES)
    controls.set_defaults(func=cmd_controls)

    explain = sub.add_parser("explain", help="everything about one control: requirement, rules, mutants, runbook")
    explain.add_argument("id")
    explain.set_defaults(func=cmd_explain)

    docs = sub.add_parser("docs", help="regenerate docs/controls.md from the catalog")
    docs.add_argument("--check", action="store_true", help="only verify the committed page is current")
    docs.set_defaults(func=cmd_docs)

    add_respond_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, StackNotFound, catalog_module.CatalogError) as error:
        print(f"caseshield: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
