"""Live-check registry: one small function per check of a deployed account, each serving one control.

The preventive gate (`caseshield check`) proves what the program will build; these checks read what is deployed
today, with boto3 and read-only calls, so drift (a console change, an emergency fix never reverted) shows under
the same control ids. A check is registered with the control it serves and the IAM actions it calls:

    @live_check("KEY-01", "kms:ListAliases", "kms:GetKeyRotationStatus")
    def every_data_class_key_rotates(account): ...

It returns what it found wrong (empty: the control holds). It never catches AWS errors: the runner turns them into
an `error` result, so nothing that was not observed is reported as passing. The declared actions are the audit's
least-privilege policy (`caseshield audit --print-policy`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caseshield.audit.account import Account

Check = Callable[["Account"], list[str]]


@dataclass(frozen=True)
class LiveCheck:
    id: str
    control: str
    actions: tuple[str, ...]  # IAM actions the check calls (read-only)
    check: Check
    # moto cannot answer this read; its tests use botocore's Stubber with responses in the service model's shapes.
    stub_tested: bool = False

    @property
    def description(self) -> str:
        return (self.check.__doc__ or self.id).strip().splitlines()[0]


LIVE_CHECKS: dict[str, LiveCheck] = {}


def live_check(control: str, *actions: str, stub_tested: bool = False) -> Callable[[Check], Check]:
    """Register a live check of `control` that calls `actions`."""

    def decorate(fn: Check) -> Check:
        check_id = fn.__name__.replace("_", "-")
        if check_id in LIVE_CHECKS:
            raise ValueError(f"live check {check_id} is registered twice")
        LIVE_CHECKS[check_id] = LiveCheck(check_id, control, tuple(actions), fn, stub_tested)
        return fn

    return decorate


def load_all() -> dict[str, LiveCheck]:
    """Import every check module of this package (each registers its checks) and return the registry."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_") and module.name not in ("account", "runner", "policy"):
            importlib.import_module(f"{__name__}.{module.name}")
    return LIVE_CHECKS


def controls_checked() -> list[str]:
    return sorted({c.control for c in load_all().values()})
