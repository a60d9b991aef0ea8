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

from caseshield import live_results
from caseshield.audit.cli import add_audit_parser
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.plans import PlanError
from caseshield.project import StackNotFound, load_project
from caseshield.render import FormatError, ReportWriteError
from caseshield.respond import add_respond_parser
from caseshield.role_matrix import RoleMatrixError
from caseshield.strict_yaml import InputError
from policies import catalog as catalog_module

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "controls.md"


def stacks_named(name: str) -> list[str]:
    """`all` means every stack file in the stack directory; otherwise a comma-separated list of stacks.

    Never an empty list: checking nothing must not look like a pass. Every name must be a file in stacks/."""
    project = load_project()
    known = ", ".join(project.stacks()) or "none"
    if name == "all":
        if not project.stacks():
            raise StackNotFound(f"--stack all: no stack files (Pulumi.NAME.yaml) in {project.stack_dir}, so there is "
                                "nothing to check. Fix: restore stacks/ or create a stack with `pulumi stack init NAME`.")
        return project.stacks()
    names = [s.strip() for s in name.split(",")]
    if not all(names):
        raise StackNotFound(f"--stack {name!r} names no stack (or an empty one). Fix: give stack names separated by "
                            f"commas, or 'all' (stacks here: {known}).")
    for stack in names:
        if not project.stack_file(stack).is_file():  # stack_file refuses a name with a path in it
            raise StackNotFound(f"no stack file stacks/Pulumi.{stack}.yaml (stacks here: {known}). "
                                f"Create it with `pulumi stack init {stack}` and set its config.")
    return list(dict.fromkeys(names))


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


def engine_plans(args: argparse.Namespace) -> dict[str, ResourceGraph]:
    """The graphs of `--stack-export` / `--preview-json` files, by stack; empty when the offline evaluation is used."""
    from caseshield.plans import from_preview_json, from_stack_export

    graphs = [from_stack_export(Path(f)) for f in args.stack_export or []]
    graphs += [from_preview_json(Path(f)) for f in args.preview_json or []]
    by_stack = {g.stack: g for g in graphs}
    if len(by_stack) != len(graphs):
        raise PlanError("two plan files describe the same stack; give one file per stack")
    return by_stack


def cmd_check(args: argparse.Namespace) -> int:
    from caseshield import inputs
    from caseshield.render import clear, parse_formats, render
    from caseshield.report import run_check

    formats = parse_formats(args.format)
    named = [] if args.stack_export or args.preview_json else stacks_named(args.stack)
    clear(Path(args.out))  # from here on, no earlier run's report can be mistaken for this one's
    refused = inputs.problems(named)
    if refused:
        for message in refused:
            print(f"caseshield: {message}", file=sys.stderr)
        print("verdict: FAIL (input files refused; nothing checked, no report written)", file=sys.stderr)
        return 2
    graphs = engine_plans(args)
    stacks = sorted(graphs) if graphs else stacks_named(args.stack)
    live = live_results.load([Path(p) for p in args.live or []], stacks, catalog_module.load().ids())
    mutation = None
    if args.mutants:
        from caseshield.mutation import run_mutants

        mutation = run_mutants(jobs=args.jobs)
    generated = None
    if args.generated_mutants:
        from caseshield.generated_mutants import run_generated

        generated = run_generated(stacks, jobs=args.jobs, graphs=graphs)
    report = run_check(stacks, today=args.today, mutation=mutation, third_party=not args.no_checkov, preview=args.preview,
                       graphs=graphs, live=live)
    report.generated = generated
    written = render(report, formats, Path(args.out))
    for stack in report.stacks:
        if stack.settings_error:
            print(f"caseshield: {stack.settings_error}", file=sys.stderr)
        counts = {s: list(stack.controls.values()).count(s) for s in ("pass", "not-run", "fail", "waived", "warn", "error")}
        print(f"{stack.stack}: {'PASS' if stack.passed else 'FAIL'} "
              + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        if stack.live is not None:
            print(f"{stack.stack} live ({stack.live.source}): " + ", ".join(f"{stack.live.count(s)} {s}" for s in ("pass", "fail", "error"))
                  + "".join(f"\n  live {p.status} {p.control} {p.check}: {'; '.join(p.messages)}" for p in stack.live.problems))
    from caseshield.thirdparty_checkov import summary_lines

    for line in summary_lines(report.checkov):
        print(line)
    for problem in report.waiver_problems:
        print(f"waivers: {problem}")
    for finding in report.parity:
        print(f"parity: {finding}")
    if report.generated is not None:
        from caseshield.generated_mutants import summary_lines as generated_lines

        for line in generated_lines(report.generated):
            print(line)
    if report.mutation is not None:
        print(f"mutants: {sum(r.killed for r in report.mutation.results)}/{len(report.mutation.results)} caught "
              f"(kill rate {report.mutation.kill_rate:.0%})")
    print("reports: " + ", ".join(str(p) for p in written))
    passed = report.passed and bool(report.stacks)  # nothing checked is never a pass
    print(f"verdict: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


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


# --- diff ---------------------------------------------------------------------------------------------------------

def cmd_diff(args: argparse.Namespace) -> int:
    from caseshield import diff

    try:
        result = diff.compare(diff.load(Path(args.base)), diff.load(Path(args.head)), args.today or dt.date.today())
    except diff.DiffInputError as error:
        print(f"caseshield: {error}", file=sys.stderr)
        return 2
    text = diff.markdown(result)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    for reason in result.gate_reasons():
        print(f"diff: {reason}", file=sys.stderr)
    return 1 if result.gate_reasons() else 0


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
    check.add_argument("--generated-mutants", action="store_true",
                       help="also run the generated mutants of every checked stack (policies/generated-mutants.yaml)")
    check.add_argument("--no-checkov", action="store_true",
                       help="skip the third-party gate (checkov over each stack's Terraform translation)")
    check.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="processes for the mutant run (default: one per CPU)")
    check.add_argument("--today", type=dt.date.fromisoformat, default=None,
                       help="date waiver expiry is judged against (YYYY-MM-DD; default: today)")
    check.add_argument("--preview", action="store_true",
                       help="evaluate as on a first `pulumi preview` (computed outputs unknown) and report the policies that "
                            "cannot run then")
    check.add_argument("--stack-export", action="append", metavar="FILE",
                       help="check the JSON of `pulumi stack export [--show-secrets]` instead of evaluating offline (repeatable)")
    check.add_argument("--preview-json", action="append", metavar="FILE",
                       help="check the JSON of `pulumi preview --json` instead of evaluating offline (repeatable)")
    check.add_argument("--live", action="append", metavar="FILE",
                       help="caseshield-audit.json of `caseshield audit --format json`: the live result of each control "
                            "beside the preventive one (repeatable; a live fail or error fails the verdict)")
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

    diff = sub.add_parser("diff", help="compare two JSON reports: findings introduced/resolved, waivers, kill rate (Markdown)")
    diff.add_argument("base", help="caseshield-report.json of the base branch")
    diff.add_argument("head", help="caseshield-report.json of the change")
    diff.add_argument("--out", help="write the Markdown here instead of standard output")
    diff.add_argument("--today", type=dt.date.fromisoformat, default=None,
                      help="date waiver expiry is judged against (YYYY-MM-DD; default: today)")
    diff.set_defaults(func=cmd_diff)

    add_respond_parser(sub)
    add_audit_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not as a traceback at exit
        return code
    # InputError covers SettingsError and every refused input file; each message names the file or option, the
    # value and the fix, never a traceback.
    except (InputError, StackNotFound, catalog_module.CatalogError, PlanError, RoleMatrixError, FormatError,
            ReportWriteError, live_results.LiveResultError) as error:
        print(f"caseshield: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `caseshield ... | head`: the reader left; say nothing more (the Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
