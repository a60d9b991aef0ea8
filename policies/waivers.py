"""Waivers (`policies/waivers.yaml`): time-boxed, approved exceptions to a waivable control.

A waiver must say which control, which stack, which resources (a glob over URN or name), why (a real reason,
not a placeholder), who owns the risk, who approved it, the ticket that records the decision, and when it
expires. A malformed or expired waiver, or a waiver of a control the catalog marks non-waivable, fails the
check itself: an exception nobody can defend must not quietly hide findings. So does a waiver that runs more than a
year (risk is re-accepted at least yearly), one whose owner approves it (in any letter case), one that waives every
resource of every stack, and a stale one that matches no finding (dead weight that would silently hide the next one).

The file is read with the project's strict YAML loader (no duplicate keys, no aliases, no guessed dates or
numbers: `expires: 20991231` is a number, not a date) and checked against `policies/schemas/waivers.schema.json`
and, entry by entry, `waiver.schema.json`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from caseshield import schemas
from caseshield.strict_yaml import shorten
from policies.catalog import Catalog

WAIVERS_PATH = Path(__file__).resolve().parent / "waivers.yaml"
FILE = "policies/waivers.yaml"
FIELDS = ("control", "stack", "resource", "reason", "owner", "approver", "ticket", "expires")
PLACEHOLDER_RE = re.compile(r"^\s*(tbd|todo|n/?a|none|placeholder|xxx+|temp(orary)?|test|fixme|-+|\.+)\s*$", re.I)
MIN_REASON_WORDS = 8
MIN_DISTINCT_REASON_WORDS = 6  # "risk risk risk risk ..." or "accepted accepted ..." is filler, not a reason
LONGEST_WAIVER = dt.timedelta(days=366)  # a year, leap day included
MATCH_ALL_RE = re.compile(r"[*?]+")
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]*")


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
    index: int = 0

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
        return f"{FILE} waiver #{self.index + 1} ({self.control or 'no control'}): {self.message}"


def parse(entries: list[Any], catalog: Catalog, today: dt.date) -> tuple[list[Waiver], list[WaiverProblem]]:
    """Valid, current waivers and the problems with the rest (each problem fails the check)."""
    waivers: list[Waiver] = []
    problems: list[WaiverProblem] = []
    for i, entry in enumerate(entries):
        control = str(entry.get("control", "")) if isinstance(entry, dict) else ""
        found = _problems(i, entry, catalog, today)
        problems.extend(WaiverProblem(i, control, m) for m in found)
        if not found:
            waivers.append(Waiver(**{f: entry[f] for f in FIELDS if f != "expires"},
                                  expires=dt.date.fromisoformat(entry["expires"]), index=i))
    return waivers, problems


def _at(i: int, field: str, value: Any, message: str, fix: str) -> str:
    return f"waivers[{i}].{field} = {shorten(value)}: {message} Fix: {fix}"


def _problems(i: int, entry: Any, catalog: Catalog, today: dt.date) -> list[str]:
    if not isinstance(entry, dict):
        return [f"waivers[{i}] = {shorten(entry)}: must be a mapping of {', '.join(FIELDS)}. "
                "Fix: write the entry as in the example at the top of the file."]
    missing = [f for f in FIELDS if entry.get(f) is None or (isinstance(entry[f], str) and not entry[f].strip())]
    if missing:
        return [f"waivers[{i}]: missing {', '.join(missing)}. Fix: give every field a value."]
    unknown = sorted(set(entry) - set(FIELDS))
    found = [f"waivers[{i}]: unknown field(s) {unknown}. Fix: remove them (a typo?)."] if unknown else []
    shape = [p for p in schemas.problems({k: v for k, v in entry.items() if k in FIELDS}, "waiver")]
    if shape:
        return [*found, *(_at(i, p.key, p.value, _shape_message(p.key, p.value, p.message), p.fix) for p in shape)]
    try:
        control = catalog.get(entry["control"])
    except KeyError:
        return [*found, _at(i, "control", entry["control"], f"names no control of the catalog ({entry['control']}).",
                            "use an id `caseshield controls` lists.")]
    try:
        expires = dt.date.fromisoformat(entry["expires"])
    except ValueError:
        return [*found, _at(i, "expires", entry["expires"], f"expires must be a date (YYYY-MM-DD), not "
                            f"{entry['expires']!r}: there is no such day.", "give a real calendar date.")]
    for check in CHECKS:
        found.extend(_at(i, *p) for p in check(entry, control, expires, today))
    return found


def _shape_message(key: str, value: Any, message: str) -> str:
    if key == "expires":
        return f"expires must be a date (YYYY-MM-DD), not {value!r}."
    return message


Found = Iterable[tuple[str, Any, str, str]]


def _not_waivable(entry: dict[str, Any], control: Any, expires: dt.date, today: dt.date) -> Found:
    if control.waivable is not True:
        yield "control", entry["control"], f"{control.id} may never be waived ({control.title}).", \
            "fix the finding instead; the catalog marks this control never waivable."


def _reason_is_real(entry: dict[str, Any], control: Any, expires: dt.date, today: dt.date) -> Found:
    reason = entry["reason"]
    words = [w.lower() for w in WORD_RE.findall(reason)]
    if (PLACEHOLDER_RE.match(reason) or len(words) < MIN_REASON_WORDS
            or len(set(words)) < MIN_DISTINCT_REASON_WORDS or len(set(words)) * 2 < len(words)):
        yield "reason", reason, (f"reason must explain the risk and why it is accepted (at least {MIN_REASON_WORDS} "
                                 f"words, {MIN_DISTINCT_REASON_WORDS} of them different; no repeated filler)."), \
            "write what could go wrong, why it is acceptable for now and what ends the exception."


def _expiry_is_current_and_near(entry: dict[str, Any], control: Any, expires: dt.date, today: dt.date) -> Found:
    if expires < today:
        yield "expires", entry["expires"], f"expired on {expires.isoformat()}.", \
            "renew it with a fresh approval and a new date, or remove it."
    elif expires > today + LONGEST_WAIVER:
        yield "expires", entry["expires"], (f"is more than a year ahead (latest allowed "
                                            f"{(today + LONGEST_WAIVER).isoformat()}): risk is re-accepted yearly."), \
            "set an expiry within a year and renew it when it comes due."


def _someone_else_approved(entry: dict[str, Any], control: Any, expires: dt.date, today: dt.date) -> Found:
    if entry["owner"].strip().casefold() == entry["approver"].strip().casefold():
        yield "approver", entry["approver"], "the approver must be someone other than the owner.", \
            "have someone independent of the owner approve it."


def _scope_is_narrow(entry: dict[str, Any], control: Any, expires: dt.date, today: dt.date) -> Found:
    if MATCH_ALL_RE.fullmatch(entry["stack"]) and MATCH_ALL_RE.fullmatch(entry["resource"]):
        yield "resource", entry["resource"], "with stack also a bare wildcard, waives the control everywhere.", \
            "name the stack, or a resource glob that matches only the resources the reason is about."


CHECKS = (_not_waivable, _reason_is_real, _expiry_is_current_and_near, _someone_else_approved, _scope_is_narrow)


def stale(waivers: list[Waiver], checked: dict[str, set[tuple[str, str]]]) -> list[WaiverProblem]:
    """Waivers that apply to a checked stack yet match none of its findings.

    `checked`: stack -> its findings as (control, urn). A waiver whose stack glob matches no checked stack is not
    judged (a prod waiver is not stale in a dev-only run)."""
    problems = []
    for w in waivers:
        stacks = [s for s in checked if fnmatch.fnmatchcase(s, w.stack)]
        if stacks and not any(w.covers(control, s, urn) for s in stacks for control, urn in checked[s]):
            problems.append(WaiverProblem(w.index, w.control, _at(
                w.index, "resource", w.resource, f"is stale: it matches no finding of {w.control} on "
                f"{', '.join(sorted(stacks))}.", "remove it; a stale waiver would silently hide the next finding.")))
    return problems


@cache
def load_entries(path: Path = WAIVERS_PATH) -> tuple[Any, ...]:
    """The file's entries; raises `InputError` naming file, key path, value and fix if the file is malformed."""
    if not path.is_file():
        return ()
    return tuple(schemas.load(path, "waivers")["waivers"])
