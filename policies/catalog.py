"""The controls catalog (`policies/controls.yaml`): the one source of truth for what CaseShield promises.

Each control names the requirement it serves (a section of the source articles), why, how severe a failure is,
whether it blocks a deployment (mandatory) or only warns (advisory), whether it may ever be waived, the framework
references it maps to, the rules that check it and the runbook that handles it. Policy metadata, reports and the
generated docs page all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from caseshield import schemas, strict_yaml
from caseshield.strict_yaml import InputError

CATALOG_PATH = Path(__file__).resolve().parent / "controls.yaml"
# Part of the catalog (control DATA-07): a catalog without its residency list is no catalog.
RESIDENCY_PATH = Path(__file__).resolve().parent / "data-residency.yaml"
# Part of the catalog too (issue 14): the floors the rules hold the inputs to, stated apart from those inputs.
FLOORS_PATH = Path(__file__).resolve().parent / "floors.yaml"
SEVERITIES = ("low", "medium", "high", "critical")
ENFORCEMENTS = ("mandatory", "advisory")
FRAMEWORKS = ("HIPAA", "GDPR", "CCPA", "NIST-800-53", "CIS-AWS", "ABA")
REQUIRED_FIELDS = ("id", "title", "domain", "requirement", "rationale", "severity", "enforcement", "waivable",
                   "frameworks", "rules", "runbook", "remediation")


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    source: str  # file name of the source article under shared/seeds
    section: str  # section heading of that article
    text: str  # what the article asks for, in a sentence


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    domain: str
    requirement: Requirement
    rationale: str
    severity: str
    enforcement: str
    waivable: bool
    frameworks: dict[str, tuple[str, ...]]
    rules: tuple[str, ...]
    runbook: str
    remediation: str
    checkov: tuple[str, ...] = ()  # checkov check ids this control covers (caseshield/thirdparty_checkov.py)
    live: bool = False  # `caseshield audit` checks it in a deployed account (caseshield/audit/), with a live mutant

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"


@dataclass(frozen=True)
class Catalog:
    controls: tuple[Control, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.controls})

    def get(self, control_id: str) -> Control:
        by_id: dict[str, Control] = self._by_id  # type: ignore[attr-defined]
        if control_id not in by_id:
            raise KeyError(f"no control {control_id!r} in {CATALOG_PATH.name}")
        return by_id[control_id]

    def ids(self) -> list[str]:
        return [c.id for c in self.controls]

    def domains(self) -> list[str]:
        return sorted({c.domain for c in self.controls})


def _control(entry: dict[str, Any]) -> Control:
    missing = [f for f in REQUIRED_FIELDS if f not in entry]
    where = entry.get("id", "<no id>")
    if missing:
        raise CatalogError(f"control {where}: missing {missing}")
    if entry["severity"] not in SEVERITIES:
        raise CatalogError(f"control {where}: severity must be one of {SEVERITIES}")
    if entry["enforcement"] not in ENFORCEMENTS:
        raise CatalogError(f"control {where}: enforcement must be one of {ENFORCEMENTS}")
    if entry["waivable"] not in (True, False):  # `is`-strict: a quoted "false" is truthy and would allow waivers
        raise CatalogError(f"control {where}: waivable = {entry['waivable']!r} must be true or false, unquoted")
    if entry["enforcement"] == "advisory" and (entry["severity"] == "critical" or entry["waivable"] is False):
        raise CatalogError(f"control {where}: enforcement = 'advisory' on a {entry['severity']}, "
                           f"{'never-waivable' if entry['waivable'] is False else 'waivable'} control would turn its "
                           "failure into a warning. Fix: make it mandatory (advisory only suits waivable, non-critical "
                           "controls).")
    unknown = sorted(set(entry["frameworks"]) - set(FRAMEWORKS))
    if unknown or not entry["frameworks"]:
        raise CatalogError(f"control {where}: frameworks must be a non-empty map over {FRAMEWORKS}, unknown: {unknown}")
    if not entry["rules"]:
        raise CatalogError(f"control {where}: names no rule that checks it")
    req = entry["requirement"]
    return Control(
        id=entry["id"], title=entry["title"], domain=entry["domain"],
        requirement=Requirement(source=req["source"], section=req["section"], text=req["text"]),
        rationale=entry["rationale"].strip(), severity=entry["severity"], enforcement=entry["enforcement"],
        waivable=entry["waivable"] is True,
        frameworks={k: tuple(str(r) for r in v) for k, v in entry["frameworks"].items()},
        rules=tuple(entry["rules"]), runbook=entry["runbook"], remediation=entry["remediation"].strip(),
        checkov=tuple(str(c) for c in entry.get("checkov") or ()),
        live=entry.get("live") is True,
    )


def parse(document: dict[str, Any]) -> Catalog:
    controls = tuple(_control(e) for e in document.get("controls") or ())
    seen: set[str] = set()
    for c in controls:
        if c.id in seen:
            raise CatalogError(f"control id {c.id} appears twice. Fix: give each control its own id")
        seen.add(c.id)
    return Catalog(controls)


@cache
def load(path: Path = CATALOG_PATH) -> Catalog:
    try:
        document = schemas.load(path, "controls")
        schemas.load(RESIDENCY_PATH, "data-residency")
        schemas.load(FLOORS_PATH, "floors")
    except InputError as error:
        raise CatalogError(str(error)) from None
    try:
        return parse(document)
    except CatalogError as error:
        raise CatalogError(f"{strict_yaml.display_path(path)}: {error}") from None
