"""Shared plumbing of the response actions: AWS clients, dry-run plan/apply, the action log and errors.

Why one place: every action must behave the same way at 3 a.m. during an incident. It looks before it touches,
changes nothing without `--execute`, refuses bad input before any change, and leaves evidence whatever happens:
the action log is opened and a `started` record written (and flushed to disk) before the first AWS call, and the
closing `finished`/`failed`/`interrupted` record is written in a `finally`, so Ctrl-C, a refused call or a bug in
this code still leaves a line for an action that may have changed the account. An unwritable log stops the run
before anything is read or changed.

Why "done" is earned, not assumed: after applying, each action reads the resource back and `verify` names what is
not in the intended state. A failed or unverified run rolls back what is safe to roll back, or ends `incomplete`
with the exact command that resumes it (every action is idempotent: a rerun does only what is still missing).

Why escape: object keys, tags and error messages come from the account, i.e. possibly from the intruder; printed
raw, an ANSI escape sequence could rewrite the responder's terminal. Everything printed goes through `safe`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_LOG = Path("reports/actions.jsonl")
# Tag keys the actions write, so other tools (alarms, bucket policies, cleanup) can find what was contained.
QUARANTINE_TAG = "caseshield:quarantine"
INCIDENT_TAG = "caseshield:incident"

# Exit codes: 0 done/passed, 1 a check found differences, AWS refused a change or a change is incomplete,
# 2 bad input (nothing changed), 130 interrupted (Ctrl-C; the log says how far it got).
OK, FAILED, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130

# C0/C1 controls (ESC starts ANSI sequences; CR and LF forge lines), DEL, and the bidirectional overrides that
# make text display in another order than it is stored.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe(text: Any) -> str:
    """`text` with every control and bidi-override character shown as an escape (\\x1b, \\n, \\u202e)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", str(text))


def say(text: Any = "", file: IO[str] | None = None) -> None:
    """Print one line of output, escaped."""
    print(safe(text), file=file or sys.stdout)


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


def describe_error(error: BaseException) -> str:
    """AWS errors as AWS words them; anything else with its type, since it is a bug or a local failure."""
    return str(error) if isinstance(error, (ClientError, BotoCoreError)) else f"{type(error).__name__}: {error}"


def no_problems(_: Any) -> list[str]:
    return []


@dataclass
class Plan:
    """What a changing action found and would do.

    `apply` makes the changes in protective-first order; `observe` reads the same state as `before` again (after a
    failed apply too, so the log shows how far a partial change got); `verify` names every way the observed state
    differs from the intended one (empty: done); `rollback`, when set, undoes what this run did that is safe to
    undo and says what it undid, or returns None when nothing may be undone (it is only called after a failure,
    and never undoes containment)."""

    target: str
    before: Any
    changes: list[str]
    apply: Callable[[], None]
    observe: Callable[[], Any]
    verify: Callable[[Any], list[str]] = no_problems
    rollback: Callable[[], str | None] | None = None


@dataclass
class Check:
    """What a read-only action observed; any finding makes the invocation fail (exit 1)."""

    target: str
    observed: Any
    findings: list[str]
    text: str = ""


@dataclass
class Outcome:
    """One invocation as it goes into the action log. `status` is the closing record's event."""

    target: str
    dry_run: bool
    read_only: bool
    result: str
    exit_code: int
    status: str = "finished"
    before: Any = None
    planned: list[str] = field(default_factory=list)
    after: Any = None
    findings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resume: str | None = None


class Context:
    """One invocation's session, clock and switches. `now` is fixed at start so tags, the revocation time and
    the log lines all carry the same instant."""

    def __init__(self, args: argparse.Namespace):
        self.action: str = args.action
        self.execute: bool = bool(getattr(args, "execute", False))
        self.log_path = Path(args.log)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.run_id = uuid.uuid4().hex
        self.command = command_line(args)
        self._region, self._profile = args.region, args.profile
        self._clients: dict[str, Any] = {}
        self.plan: Plan | None = None  # set as soon as the action has planned, for the log of an interrupted run

    @property
    def stamp(self) -> str:
        """The start time as ISO 8601 UTC with a Z, the form IAM date conditions and tags both accept."""
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def resume_command(self) -> str:
        """The command that finishes an incomplete run: the same one, with --execute (the actions are idempotent)."""
        return self.command if "--execute" in self.command.split() else f"{self.command} --execute"

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


def command_line(args: argparse.Namespace) -> str:
    """The invocation as a shell command, rebuilt from the parsed arguments (quoted, so it can be pasted)."""
    parser: argparse.ArgumentParser | None = getattr(args, "parser", None)
    words = ["caseshield", "respond", args.action]
    for action in parser._actions if parser else []:
        value = getattr(args, action.dest, None)
        if isinstance(action, argparse._HelpAction) or value is None or value is False:
            continue
        if not action.option_strings:
            words.append(str(value))
        elif value is True:
            words.append(action.option_strings[-1])
        elif value != action.default or action.required:
            words += [action.option_strings[-1], str(value)]
    return " ".join(shlex.quote(word) for word in words)


def carry_out(ctx: Context, work: Plan | Check) -> Outcome:
    """Apply a plan only under --execute, then read back and verify; report a check."""
    if isinstance(work, Check):
        for line in work.text.splitlines():
            say(line)
        result = "pass" if not work.findings else f"fail: {len(work.findings)} finding(s)"
        return Outcome(target=work.target, dry_run=False, read_only=True, result=result, before=work.observed,
                       findings=work.findings, exit_code=FAILED if work.findings else OK)
    ctx.plan = work
    outcome = Outcome(target=work.target, dry_run=not ctx.execute, read_only=False, result="", exit_code=OK,
                      before=work.before, planned=work.changes)
    if not work.changes:
        outcome.result = "nothing to do"
    elif not ctx.execute:
        outcome.result = "planned (dry run, nothing changed)"
    else:
        apply_and_verify(ctx, work, outcome)
    verb = "Would" if outcome.dry_run else ("Done" if outcome.result == "done" else "Planned")
    say(f"{ctx.action} {work.target}: {outcome.result}")
    for change in work.changes:
        say(f"  {verb}: {change}")
    for problem in outcome.problems:
        say(f"  Not in the intended state: {problem}")
    if outcome.dry_run and work.changes:
        say("  Re-run with --execute to make these changes.")
    if outcome.resume:
        say(f"  Resume with: {outcome.resume}")
    return outcome


def apply_and_verify(ctx: Context, work: Plan, outcome: Outcome) -> None:
    """Apply; read back; `done` only when verify finds nothing. After a failure, roll back if the plan can; else
    say `nothing changed` when the read-back equals `before`, or leave `incomplete`; both with the resume command."""
    error: Exception | None = None
    try:
        work.apply()
    except Exception as failure:  # a bug mid-change must still be observed, rolled back and logged
        error = failure
    outcome.after, outcome.problems = observe(work)
    if error is None and not outcome.problems:
        outcome.result = "done"
        return
    outcome.exit_code, outcome.status = FAILED, "failed"
    cause = f"failed: {describe_error(error)}" if error else "applied, but the read-back differs from the intended state"
    if error is not None and work.rollback is not None:
        try:
            undone = work.rollback()
        except Exception as failure:  # the rollback failing is reported, never raised over the cause
            undone, cause = None, f"{cause}; rollback failed: {describe_error(failure)}"
        outcome.after, outcome.problems = observe(work)
        if undone is not None:
            outcome.result = f"{cause}; rolled back: {undone}"
            return
    outcome.resume = ctx.resume_command
    if error is not None and outcome.after == work.before:
        outcome.result = f"{cause}; nothing changed"
        return
    outcome.result = f"incomplete: {cause}"


def observe(work: Plan) -> tuple[Any, list[str]]:
    try:
        after = work.observe()
    except Exception as error:  # an unreadable state is itself the finding
        return {"error": f"could not read the state after the change: {describe_error(error)}"}, [
            "the state after the change could not be read back"]
    return after, work.verify(after)


class ActionLog:
    """The append-only JSON-lines log, opened before anything else happens and flushed to disk per record."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def started_record(ctx: Context, args: argparse.Namespace) -> dict[str, Any]:
    read_only = "execute" not in vars(args)
    return {"event": "started", "run_id": ctx.run_id, "when": ctx.stamp, "action": ctx.action, "target": target_of(args),
            "dry_run": not (ctx.execute or read_only), "read_only": read_only, "command": ctx.command}


def closing_record(ctx: Context, who: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "event": outcome.status, "run_id": ctx.run_id, "who": who, "when": ctx.stamp, "action": ctx.action,
        "target": outcome.target, "dry_run": outcome.dry_run, "read_only": outcome.read_only, "before": outcome.before,
        "planned": outcome.planned, "after": outcome.after, "findings": outcome.findings, "problems": outcome.problems,
        "result": outcome.result, "resume": outcome.resume,
    }


def target_of(args: argparse.Namespace) -> str:
    return " ".join(str(getattr(args, name)) for name in args.target_args)


def run(args: argparse.Namespace) -> int:
    """Run the chosen action between a `started` and a closing log record; errors are one line on stderr."""
    ctx = Context(args)
    try:
        log = ActionLog(ctx.log_path)
        log.write(started_record(ctx, args))
    except OSError as error:
        say(f"caseshield respond {ctx.action}: cannot write the action log {ctx.log_path}: {error.strerror or error}; "
            "nothing was read or changed", file=sys.stderr)
        return BAD_INPUT
    who = "unknown"
    outcome = _failure(ctx, args, "interrupted before the action finished", INTERRUPTED, "interrupted")
    try:
        who = ctx.caller()
        outcome = carry_out(ctx, args.handler(ctx, args))
    except InputError as error:
        outcome = _failure(ctx, args, str(error), BAD_INPUT)
    except (ClientError, BotoCoreError) as error:
        outcome = _failure(ctx, args, str(error), FAILED)
    except KeyboardInterrupt:
        outcome = _interrupted(ctx, args)
    except Exception as error:  # a bug must still close the log record and exit non-zero
        outcome = _failure(ctx, args, f"unexpected {describe_error(error)}", FAILED)
    finally:
        try:
            log.write(closing_record(ctx, who, outcome))
        except OSError as error:  # the evidence must survive somewhere: stderr
            say(f"caseshield respond {ctx.action}: cannot write the action log ({error}); the record follows:", file=sys.stderr)
            say(json.dumps(closing_record(ctx, who, outcome), default=str, sort_keys=True), file=sys.stderr)
        log.close()
    return outcome.exit_code


def _failure(ctx: Context, args: argparse.Namespace, message: str, code: int, status: str = "failed") -> Outcome:
    """One line on stderr naming the problem, and the log record of an invocation that got no plan applied."""
    if status != "interrupted":
        say(f"caseshield respond {ctx.action}: {message}", file=sys.stderr)
    read_only = "execute" not in vars(args)
    return Outcome(target=target_of(args), dry_run=not (ctx.execute or read_only), read_only=read_only,
                   result=f"error: {message}", exit_code=code, status=status)


def _interrupted(ctx: Context, args: argparse.Namespace) -> Outcome:
    """Ctrl-C: record how far the plan got (read back once, if that still works) and how to resume."""
    outcome = _failure(ctx, args, "interrupted", INTERRUPTED, "interrupted")
    outcome.result = "interrupted"
    if ctx.plan is not None:
        outcome.target, outcome.before, outcome.planned = ctx.plan.target, ctx.plan.before, ctx.plan.changes
        if ctx.execute and ctx.plan.changes:
            try:
                outcome.after, outcome.problems = observe(ctx.plan)
            except KeyboardInterrupt:
                outcome.after = {"error": "interrupted again while reading the state back"}
            outcome.resume = ctx.resume_command
    say(f"caseshield respond {ctx.action}: interrupted; the action log has how far it got"
        + (f"; resume with: {outcome.resume}" if outcome.resume else ""), file=sys.stderr)
    return outcome


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
    parser.set_defaults(handler=handler, target_args=tuple(t[0] for t in targets), parser=parser)
    return parser
