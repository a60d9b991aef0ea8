"""Run the live checks against one stack's account: every check's result is pass, fail or error.

A check that raises (AccessDenied, throttling after botocore's retries, an API the endpoint does not offer, a
resource that is not there, or anything else) is an error with the reason: a control is only `pass` when every one
of its checks observed the account and found nothing wrong.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from caseshield.audit import LiveCheck, load_all
from caseshield.audit.account import Account, ResourceMissing, error_code

Outcome = Literal["pass", "fail", "error"]
ORDER: dict[Outcome, int] = {"pass": 0, "fail": 1, "error": 2}


@dataclass(frozen=True)
class CheckResult:
    check: str
    control: str
    status: Outcome
    messages: tuple[str, ...] = ()


@dataclass
class StackAudit:
    stack: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    def controls(self) -> dict[str, Outcome]:
        """Control id -> the worst result of its checks."""
        found: dict[str, Outcome] = {}
        for r in self.results:
            if r.control not in found or ORDER[r.status] > ORDER[found[r.control]]:
                found[r.control] = r.status
        return dict(sorted(found.items()))

    def failing(self) -> list[str]:
        return [c for c, s in self.controls().items() if s != "pass"]

    @property
    def passed(self) -> bool:
        return all(s == "pass" for s in self.controls().values())


def describe(error: BaseException) -> str:
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "")
        return f"{error_code(error)} from {error.operation_name}: {message}".strip()
    if isinstance(error, ResourceMissing):
        return f"resource not found: {error}"
    return f"{type(error).__name__}: {error}"


def run_check(check: LiveCheck, account: Account) -> CheckResult:
    try:
        found = check.check(account)
    except (ClientError, BotoCoreError, ResourceMissing) as error:
        return CheckResult(check.id, check.control, "error", (describe(error),))
    except Exception as error:  # a check that cannot read the answer has not observed the control
        return CheckResult(check.id, check.control, "error", (describe(error),))
    return CheckResult(check.id, check.control, "fail" if found else "pass", tuple(found))


def _progress(total: int, stack: str, show: bool | None) -> Any:
    """A rich progress bar on a terminal; nothing in CI or when output is piped."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return nullcontext(None)
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.add_task(f"auditing {stack}", total=total)
    return progress


def audit_stack(account: Account, checks: Iterable[LiveCheck] | None = None, *, progress: bool | None = None) -> StackAudit:
    chosen = sorted(checks if checks is not None else load_all().values(), key=lambda c: (c.control, c.id))
    audit = StackAudit(account.stack)
    started = time.perf_counter()
    with _progress(len(chosen), account.stack, progress) as bar:
        for check in chosen:
            audit.results.append(run_check(check, account))
            if bar is not None:
                bar.advance(bar.task_ids[0])
    audit.seconds = time.perf_counter() - started
    return audit
