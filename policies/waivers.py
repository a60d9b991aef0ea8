"""Waivers (`policies/waivers.yaml`): time-boxed, approved exceptions to a waivable control.

A waiver must say which control, which stack, which resources (a glob over URN or name), why (a real reason,
not a placeholder), who owns the risk, who approved it, the ticket that records the decision, and when it
expires. A malformed or expired waiver, or a waiver of a control the catalog marks non-waivable, fails the
check itself: an exception nobody can defend must not quietly hide findings.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from policies.catalog import Catalog

WAIVERS_PATH = Path(__file__).resolve().parent / "waivers.yaml"
FIELDS = ("control", "stack", "resource", "reason", "owner", "approver", "ticket", "expires")
PLACEHOLDER_RE = re.compile(r"^\s*(tbd|todo|n/?a|none|placeholder|xxx+|temp(orary)?|test|fixme|-+|\.+)\s*$", re.I)
MIN_REASON_WORDS = 8


@dataclass(frozen=True)
class Waiver:
    control: str
    stack: str
    resource: str
    reason: str
    owner: str
    approver: str
    ticket: str
    expires: dt.date

    def covers(self, control: str, stack: str, urn: str) -> bool:
        name = urn.rsplit("::", 1)[-1]
        return (self.control == control and fnmatch.fnmatchcase(stack, self.stack)
                and (fnmatch.fnmatchcase(urn, self.resource) or fnmatch.fnmatchcase(name, self.resource)))


@dataclass(frozen=True)
class WaiverProblem:
    index: int
    control: str
    message: str

    def __str__(self) -> str:
        return f"waiver #{self.index + 1} ({self.control or 'no control'}): {self.message}"


def parse(entries: list[dict[str, Any]], catalog: Catalog, today: dt.date) -> tuple[list[Waiver], list[WaiverProblem]]:
    """Valid, current waivers and the problems with the rest (each problem fails the check)."""
    waivers: list[Waiver] = []
    problems: list[WaiverProblem] = []
    for i, entry in enumerate(entries):
        control = str(entry.get("control", ""))
        found = _problems(entry, catalog, today)
        problems.extend(WaiverProblem(i, control, m) for m in found)
        if not found:
            waivers.append(Waiver(**{f: entry[f] for f in FIELDS if f != "expires"}, expires=_date(entry["expires"])))
    return waivers, problems


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _problems(entry: dict[str, Any], catalog: Catalog, today: dt.date) -> list[str]:
    missing = [f for f in FIELDS if not str(entry.get(f, "")).strip()]
    if missing:
        return [f"missing {', '.join(missing)}"]
    unknown = sorted(set(entry) - set(FIELDS))
    found = [f"unknown field(s) {unknown}"] if unknown else []
    try:
        control = catalog.get(str(entry["control"]))
    except KeyError:
        return [*found, f"names no control of the catalog ({entry['control']})"]
    if not control.waivable:
        found.append(f"{control.id} may never be waived ({control.title})")
    reason = str(entry["reason"])
    if PLACEHOLDER_RE.match(reason) or len(reason.split()) < MIN_REASON_WORDS:
        found.append(f"reason must explain the risk and why it is accepted (at least {MIN_REASON_WORDS} words)")
    try:
        expires = _date(entry["expires"])
    except ValueError:
        return [*found, f"expires must be a date (YYYY-MM-DD), not {entry['expires']!r}"]
    if expires < today:
        found.append(f"expired on {expires.isoformat()}")
    if str(entry["owner"]).strip() == str(entry["approver"]).strip():
        found.append("the approver must be someone other than the owner")
    return found


@cache
def load_entries(path: Path = WAIVERS_PATH) -> tuple[dict[str, Any], ...]:
    if not path.is_file():
        return ()
    return tuple((yaml.safe_load(path.read_text()) or {}).get("waivers") or ())
