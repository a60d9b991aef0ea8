"""Rule registry: one small function per rule, each serving one control of `policies/controls.yaml`.

A rule is written against pulumi_policy's own argument types, so the very same function runs inside the
CrossGuard pack (`pulumi preview --policy-pack policies`) and over the offline-evaluated graph
(`caseshield check`). Rules are registered with a decorator naming the control they serve:

    @resource_rule("ENC-01", "aws:kms/key:Key")
    def kms_keys_rotate(args, report): ...

The rule id is the function name in kebab case; the catalog lists it under the control's `rules`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


@dataclass(frozen=True)
class Rule:
    id: str
    control: str
    kind: Literal["resource", "stack"]
    resource_types: tuple[str, ...]
    check: Callable[..., None]

    @property
    def description(self) -> str:
        return (self.check.__doc__ or self.id).strip().splitlines()[0]


RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> None:
    if rule.id in RULES:
        raise ValueError(f"rule {rule.id} is registered twice")
    RULES[rule.id] = rule


def rule_id(fn: Callable[..., None]) -> str:
    return fn.__name__.replace("_", "-")


def resource_rule(control: str, *resource_types: str) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a per-resource rule that applies to `resource_types`."""

    def decorate(fn: ResourceCheck) -> ResourceCheck:
        _register(Rule(rule_id(fn), control, "resource", tuple(resource_types), fn))
        return fn

    return decorate


def stack_rule(control: str) -> Callable[[StackCheck], StackCheck]:
    """Register a whole-stack rule (relations between resources)."""

    def decorate(fn: StackCheck) -> StackCheck:
        _register(Rule(rule_id(fn), control, "stack", (), fn))
        return fn

    return decorate


def load_all() -> dict[str, Rule]:
    """Import every rule module of this package (each registers its rules) and return the registry."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return RULES
