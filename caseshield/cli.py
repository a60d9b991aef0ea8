"""`caseshield` command line: offline views of the stacks that need no cloud account and no Pulumi CLI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from caseshield.offline import ResourceGraph, evaluate
from caseshield.project import StackNotFound, load_project
from caseshield.settings import SettingsError


def stacks_named(name: str) -> list[str]:
    """`all` means every stack file in the stack directory; anything else is one stack."""
    return load_project().stacks() if name == "all" else [name]


def render_plan(graph: ResourceGraph) -> str:
    """The resource tree (type, name, nested under its parent) followed by counts per type."""
    lines = [f"Stack {graph.stack}: {len(graph.resources)} resources"]

    def walk(resources: list, depth: int) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseshield", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="evaluate a stack offline and print its resource tree and counts")
    plan.add_argument("--stack", required=True, help="a stack name (stacks/Pulumi.NAME.yaml) or 'all'")
    plan.set_defaults(func=cmd_plan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, StackNotFound) as error:
        print(f"caseshield: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
