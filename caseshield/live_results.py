"""Detective results in the check's report: `caseshield check --live caseshield-audit.json` (repeatable).

`caseshield audit --format json` writes what it observed in a deployed account; the check's control x stack matrix
then shows, for each stack, the preventive result (the policy pack over the program), the third-party one (checkov)
and the detective one (the live audit) side by side. A live `fail` (drift) or `error` (not observed) fails the
stack and the verdict, exactly as in the audit itself: an error is never a pass.

A file is refused (exit 2, naming the file and the fix) when it is not an audit report, when it names a stack the
check does not cover or a control the catalog does not have, or when two files give the same stack: a live result
that cannot be placed in the matrix must not be silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

LiveStatus = Literal["pass", "fail", "error"]
FORMAT = "caseshield-audit/1"
STATUSES: tuple[LiveStatus, ...] = ("pass", "fail", "error")


class LiveResultError(ValueError):
    """A `--live` file cannot be joined to the report; says which file, why and the fix."""


@dataclass(frozen=True)
class LiveProblem:
    """One live check that did not pass on a stack, with what it found or why it could not observe."""

    control: str
    check: str
    status: LiveStatus
    messages: tuple[str, ...]


@dataclass(frozen=True)
class LiveStack:
    """What `caseshield audit` observed for one stack: the worst result of each live-checked control."""

    stack: str
    source: str  # the --live file
    generated_at: str
    account: str | None
    region: str | None
    controls: dict[str, LiveStatus]
    problems: tuple[LiveProblem, ...]

    def count(self, status: LiveStatus) -> int:
        return sum(s == status for s in self.controls.values())

    @property
    def failing(self) -> list[str]:
        """Controls the audit found drifted (fail) or could not observe (error)."""
        return sorted(c for c, s in self.controls.items() if s != "pass")


def load(paths: Sequence[Path], stacks: Sequence[str], controls: Sequence[str]) -> dict[str, LiveStack]:
    """The live results of `paths` by stack; every stack must be one the check covers, every control in the catalog."""
    found: dict[str, LiveStack] = {}
    for path in paths:
        for live in _read(path):
            if live.stack not in stacks:
                raise LiveResultError(f"--live {path}: stack {live.stack!r} is not among the stacks checked "
                                      f"({', '.join(stacks) or 'none'}). Fix: add it to --stack, or drop this file.")
            unknown = sorted(set(live.controls) - set(controls))
            if unknown:
                raise LiveResultError(f"--live {path}: control(s) {', '.join(unknown)} of stack {live.stack} are not in "
                                      "policies/controls.yaml. Fix: rerun `caseshield audit` with this catalog's version.")
            if live.stack in found:
                raise LiveResultError(f"--live {path}: stack {live.stack} is also given by {found[live.stack].source}. "
                                      "Fix: give one audit report per stack.")
            found[live.stack] = live
    return found


def _read(path: Path) -> list[LiveStack]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LiveResultError(f"--live {path}: cannot read it ({error.strerror or error}). Fix: give the "
                              "caseshield-audit.json that `caseshield audit --format json` wrote.") from None
    except ValueError as error:
        raise LiveResultError(f"--live {path}: not JSON ({error}). Fix: give the caseshield-audit.json that "
                              "`caseshield audit --format json` wrote.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("stacks"), list) or not doc["stacks"]:
        raise LiveResultError(f"--live {path}: not a `caseshield audit` JSON report (\"format\": \"{FORMAT}\" with at "
                              "least one stack). Fix: run `caseshield audit --stack NAME --format json` and give its "
                              "caseshield-audit.json.")
    return [_stack(path, doc, s) for s in doc["stacks"]]


def _stack(path: Path, doc: dict[str, Any], entry: Any) -> LiveStack:
    try:
        controls = {str(c): _status(s) for c, s in entry["controls"].items()}
        problems = tuple(LiveProblem(str(c["control"]), str(c["check"]), _status(c["status"]),
                                     tuple(str(m) for m in c.get("messages") or ()))
                         for c in entry.get("checks") or () if c["status"] != "pass")
        return LiveStack(stack=str(entry["stack"]), source=str(path), generated_at=str(doc.get("generated_at", "")),
                         account=entry.get("account"), region=entry.get("region"), controls=dict(sorted(controls.items())),
                         problems=tuple(sorted(problems, key=lambda p: (p.control, p.check))))
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise LiveResultError(f"--live {path}: a stack entry lacks {error} or has the wrong shape. Fix: give the "
                              "caseshield-audit.json that `caseshield audit --format json` wrote, unedited.") from None


def _status(value: Any) -> LiveStatus:
    for status in STATUSES:
        if value == status:
            return status
    raise ValueError(f"status {value!r}")
