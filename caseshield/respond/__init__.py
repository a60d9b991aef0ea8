"""`caseshield respond`: executable containment and evidence steps named by the runbooks.

Every action is a dry run unless `--execute` is given, refuses bad input before changing anything (exit 2),
and appends one JSON line to the action log (`reports/actions.jsonl`, `--log PATH`). The lead CLI wires it
in with `add_respond_parser(subparsers)`; the parser sets `func=run`, which `caseshield.cli.main` calls.
"""

from __future__ import annotations

import argparse
from typing import Any

from caseshield.respond import ec2, iam, review, s3, trail
from caseshield.respond.core import run

__all__ = ["action_names", "add_respond_parser", "run"]

MODULES = (ec2, iam, s3, review, trail)


def add_respond_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `respond` with one sub-command per action to an argparse sub-parser collection."""
    respond: argparse.ArgumentParser = subparsers.add_parser(
        "respond", help="incident response actions (dry run unless --execute; every run is logged)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = respond.add_subparsers(dest="action", required=True, metavar="ACTION")
    for module in MODULES:
        module.register(actions)
    respond.set_defaults(func=run)
    return respond


def action_names() -> list[str]:
    """The action sub-commands, e.g. for checking that runbooks only name real ones."""
    respond = add_respond_parser(argparse.ArgumentParser().add_subparsers())
    subcommands = next(a for a in respond._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(subcommands.choices)
