"""`policies/escalation.yaml`: the destructive and blinding actions the CI deployer is denied or keeps under a named
review and alarm, and where the escalation control (IAM-12) tries each action. Read by the program (the deployer's
denies) and by the control, through the one strict loader, so both see the same file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshield import schemas
from caseshield.project import ROOT

ESCALATION_FILE = ROOT / "policies" / "escalation.yaml"


@dataclass(frozen=True)
class Escalation:
    denied: dict[str, str]  # action -> why the deployer is denied it
    allowed: dict[str, dict[str, str]]  # action -> {role: the review and alarm under which it keeps the action}
    targets: dict[str, tuple[str, ...]]  # lower-case action -> target kinds it is tried on
    primitives: dict[str, tuple[str, ...]]  # name -> lower-case actions, beyond cloudsplaining's methods
    raised: tuple[str, ...] = ()  # parliament issues that count whatever parliament's severity
    ignored: tuple[dict[str, Any], ...] = ()  # parliament's own limits: issue, kinds, detail, why

    def clash(self) -> list[str]:
        return sorted(set(self.denied) & set(self.allowed))

    def destructive(self) -> list[str]:
        return sorted({*self.denied, *self.allowed})


def load() -> Escalation:
    document = schemas.load(ESCALATION_FILE, "escalation")
    allowed: dict[str, dict[str, str]] = {}
    for entry in document["allowed"]:
        for action in entry["actions"]:
            allowed.setdefault(action, {}).update({role: entry["why"] for role in entry["roles"]})
    found = Escalation(
        denied={a: e["why"] for e in document["denied"] for a in e["actions"]},
        allowed=allowed,
        targets={a: tuple(kinds) for a, kinds in document["targets"].items()},
        primitives={name: tuple(actions) for name, actions in document["primitives"].items()},
        raised=tuple(document["lint"]["raised"]),
        ignored=tuple(document["lint"]["ignored"]),
    )
    if found.clash():
        raise ValueError(f"{ESCALATION_FILE.name}: actions both denied and allowed: {found.clash()}")
    return found
