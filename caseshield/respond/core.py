"""Shared plumbing of the response actions: AWS clients, dry-run plan/apply, the action log and errors.

Why one place: every action must behave the same way at 3 a.m. during an incident. It looks before it touches,
changes nothing without `--execute`, refuses bad input before any change, and leaves exactly one JSON line of
evidence per invocation (who, when, what, before, planned, after, result) whatever happened.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_LOG = Path("reports/actions.jsonl")
# Tag keys the actions write, so other tools (alarms, bucket policies, cleanup) can find what was contained.
QUARANTINE_TAG = "caseshield:quarantine"
INCIDENT_TAG = "caseshield:incident"

# Exit codes: 0 done/passed, 1 a check found differences or AWS refused a change, 2 bad input (nothing changed).
OK, FAILED, BAD_INPUT = 0, 1, 2


class InputError(Exception):
    """Bad input found before any change: a missing instance, bucket, role, user, key or trail (exit 2)."""


def not_found(kind: str, name: str, where: str = "") -> InputError:
    return InputError(f"{kind} {name} not found{f' {where}' if where else ''}")


@contextmanager
def missing(kind: str, name: str, *codes: str) -> Iterator[None]:
    """Turn the AWS error codes that mean "no such thing" into an InputError naming the thing."""
    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in codes:
            raise not_found(kind, name) from error
        raise


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass
class Plan:
    """What a changing action found and would do. `apply` makes the changes; `observe` reads the same state as
    `before` again, and runs after a failed apply too, so the log shows how far a partial change got."""

    target: str
    before: Any
    changes: list[str]
    apply: Callable[[], None]
    observe: Callable[[], Any]


@dataclass
class Check:
    """What a read-only action observed; any finding makes the invocation fail (exit 1)."""

    target: str
    observed: Any
    findings: list[str]
    text: str = ""


@dataclass
class Outcome:
    """One invocation as it goes into the action log."""

    target: str
    dry_run: bool
    read_only: bool
    result: str
    exit_code: int
    before: Any = None
    planned: list[str] = field(default_factory=list)
    after: Any = None
    findings: list[str] = field(default_factory=list)


class Context:
    """One invocation's session, clock and switches. `now` is fixed at start so tags, the revocation time and
    the log line all carry the same instant."""

    def __init__(self, args: argparse.Namespace):
        self.action: str = args.action
        self.execute: bool = bool(getattr(args, "execute", False))
        self.log_path = Path(args.log)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self._region, self._profile = args.region, args.profile
        self._clients: dict[str, Any] = {}

    @property
    def stamp(self) -> str:
        """The start time as ISO 8601 UTC with a Z, the form IAM date conditions and tags both accept."""
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    @cached_property
    def session(self) -> boto3.Session:
        """Created on first use, so a bad --profile is reported (and logged) like any other error."""
        return boto3.Session(region_name=self._region, profile_name=self._profile)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    def caller(self) -> str:
        return str(self.client("sts").get_caller_identity()["Arn"])


def carry_out(ctx: Context, work: Plan | Check) -> Outcome:
    """Apply a plan only under --execute; report a check. Failures while applying keep the plan in the log."""
    if isinstance(work, Check):
        if work.text:
            print(work.text)
        result = "pass" if not work.findings else f"fail: {len(work.findings)} finding(s)"
        return Outcome(target=work.target, dry_run=False, read_only=True, result=result, before=work.observed,
                       findings=work.findings, exit_code=FAILED if work.findings else OK)
    outcome = Outcome(target=work.target, dry_run=not ctx.execute, read_only=False, result="", exit_code=OK,
                      before=work.before, planned=work.changes)
    if not work.changes:
        outcome.result = "nothing to do"
    elif not ctx.execute:
        outcome.result = "planned (dry run, nothing changed)"
    else:
        try:
            work.apply()
            outcome.result = "done"
        except (ClientError, BotoCoreError) as error:
            outcome.result, outcome.exit_code = f"failed: {error}", FAILED
        try:
            outcome.after = work.observe()
        except (ClientError, BotoCoreError, InputError) as error:
            outcome.after = {"error": f"could not read the state after the change: {error}"}
    verb = "Would" if outcome.dry_run else ("Done" if outcome.result == "done" else "Planned")
    print(f"{ctx.action} {work.target}: {outcome.result}")
    for change in work.changes:
        print(f"  {verb}: {change}")
    if outcome.dry_run and work.changes:
        print("  Re-run with --execute to make these changes.")
    return outcome


def write_log(ctx: Context, who: str, outcome: Outcome) -> None:
    record = {
        "who": who, "when": ctx.stamp, "action": ctx.action, "target": outcome.target,
        "dry_run": outcome.dry_run, "read_only": outcome.read_only, "before": outcome.before,
        "planned": outcome.planned, "after": outcome.after, "findings": outcome.findings, "result": outcome.result,
    }
    ctx.log_path.parent.mkdir(parents=True, exist_ok=True)
    with ctx.log_path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record, default=str, sort_keys=True) + "\n")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action, log it, and return its exit code; errors are one line on stderr."""
    ctx = Context(args)
    who = "unknown"
    try:
        who = ctx.caller()
        outcome = carry_out(ctx, args.handler(ctx, args))
    except InputError as error:
        outcome = _failure(ctx, args, error, BAD_INPUT)
    except (ClientError, BotoCoreError) as error:
        outcome = _failure(ctx, args, error, FAILED)
    write_log(ctx, who, outcome)
    return outcome.exit_code


def _failure(ctx: Context, args: argparse.Namespace, error: Exception, code: int) -> Outcome:
    """One line on stderr naming the problem, and the log record of an invocation that changed nothing."""
    print(f"caseshield respond {ctx.action}: {error}", file=sys.stderr)
    read_only = "execute" not in vars(args)
    return Outcome(target=" ".join(str(getattr(args, name)) for name in args.target_args), dry_run=not (ctx.execute or read_only),
                   read_only=read_only, result=f"error: {error}", exit_code=code)


def add_action(actions: Any, name: str, handler: Callable[[Context, argparse.Namespace], Plan | Check], help: str,
               targets: Sequence[tuple[str, str, *tuple[str, ...]]], changes: bool = True) -> argparse.ArgumentParser:
    """Register one action: its positional targets (name, help, allowed values...), the common options, and
    --execute when it changes things."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help, description=help)
    for target, target_help, *choices in targets:
        parser.add_argument(target, help=target_help, choices=choices or None, metavar=None if choices else target.upper())
    if changes:
        parser.add_argument("--execute", action="store_true", help="make the changes (default: dry run, change nothing)")
    parser.add_argument("--log", default=str(DEFAULT_LOG), help=f"action log to append to (default {DEFAULT_LOG})")
    parser.add_argument("--region", help="AWS region (default: from the environment/profile)")
    parser.add_argument("--profile", help="AWS profile (default: from the environment)")
    parser.set_defaults(handler=handler, target_args=tuple(t[0] for t in targets))
    return parser
