"""The control floors (`policies/floors.yaml`): what the rules require, stated apart from the inputs they judge.

Why a file of its own: a rule that reads its requirement from the data it checks (the CIS alarms from
`policies/alarms.yaml`) loses the requirement together with the data: deleting an alarm deleted the need for it.
The catalog owns this file (`policies.catalog.load` refuses a catalog whose floors file is invalid); it is read
strictly (`caseshield/strict_yaml.py`) and checked against `policies/schemas/floors.schema.json`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from caseshield import schemas

FLOORS_PATH = Path(__file__).resolve().parent / "floors.yaml"


@dataclass(frozen=True)
class CisFilter:
    """One CIS 4.x recommendation: the CloudTrail records its metric filter must count, and those it must not."""

    cis: str
    title: str
    events: tuple[dict[str, Any], ...]
    not_events: tuple[dict[str, Any], ...]


def _cis_filter(entry: dict[str, Any]) -> CisFilter:
    base = entry.get("base") or {}
    named = [{**copy.deepcopy(base), "eventName": name} for name in entry.get("event_names") or ()]
    listed = [{**copy.deepcopy(base), **e} for e in entry.get("events") or ()]
    return CisFilter(str(entry["cis"]), str(entry["title"]), tuple(named + listed), tuple(entry.get("not_events") or ()))


@cache
def document(path: Path = FLOORS_PATH) -> dict[str, Any]:
    """The floors file, parsed strictly and schema-checked; raises `InputError` naming the file, key and fix."""
    loaded: dict[str, Any] = schemas.load(path, "floors")
    return loaded


def cis_filters(path: Path = FLOORS_PATH) -> tuple[CisFilter, ...]:
    return tuple(_cis_filter(e) for e in document(path)["cis_monitoring"])


@dataclass(frozen=True)
class GuardrailFilter:
    """One alarm of MON-05 (break-glass use, the IAM guardrails of issue 11): the CloudTrail records its metric
    filter must count and those it must not, naming the stack's resources by placeholder (`<deployer-role-name>`...),
    which the rule fills in from the stack's own resources."""

    id: str
    title: str
    events: tuple[dict[str, Any], ...]
    not_events: tuple[dict[str, Any], ...]


def guardrail_filters(path: Path = FLOORS_PATH) -> tuple[GuardrailFilter, ...]:
    found = (_cis_filter({**e, "cis": e["id"]}) for e in document(path)["guardrail_monitoring"])
    return tuple(GuardrailFilter(f.cis, f.title, f.events, f.not_events) for f in found)


# --- sizes of settings (issue 14, stage 2): per environment tier ---------------------------------------------------

TIERS = ("dev", "staging", "prod")
# A stack whose environment tier is not one of TIERS (or is not known) is held to the strictest tier's floors.
STRICTEST_TIER = "prod"


def _per_tier(value: Any, environment: str | None) -> Any:
    if isinstance(value, dict) and set(value) == set(TIERS):
        return value[environment if environment in TIERS else STRICTEST_TIER]
    return value


def floor(path: str, environment: str | None = None, doc: Path = FLOORS_PATH) -> Any:
    """The floor at a dotted path of the floors file (`"retention_days.backups"`), for `environment` where it differs
    by tier. A path the file does not have raises KeyError naming it: a rule never runs without its floor."""
    current: Any = document(doc)
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            raise KeyError(f"{display(doc)} has no floor {path!r} (policies/schemas/floors.schema.json requires it)")
        current = current[part]
    return copy.deepcopy(_per_tier(current, environment))


def display(path: Path) -> str:
    try:
        return str(path.relative_to(FLOORS_PATH.parent.parent))
    except ValueError:
        return str(path)


# --- intended network reachability (issue 14: reachability per port and peer, not the presence of a rule) -----------

REACHABILITY_PATH = Path(__file__).resolve().parent / "network-reachability.yaml"


@cache
def reachability(path: Path = REACHABILITY_PATH) -> dict[str, Any]:
    """What each security-group role, network-ACL tier and VPC endpoint is intended to let through
    (`policies/network-reachability.yaml`), parsed strictly and checked against its schema; raises `InputError`."""
    loaded: dict[str, Any] = schemas.load(path, "network-reachability")
    return loaded
