"""The role matrix (`policies/role-matrix.yaml`) as typed data, with its segregation-of-duties checks.

Everything that reasons about who may do what reads it from here: the identity and key components, the policy
pack, and the quarterly access review. `load` reads the file strictly (duplicate role keys and aliases refused),
checks it against `policies/schemas/role-matrix.schema.json`, and holds it to `policies/role-matrix-floors.yaml`:
the segregation-of-duties constraints and MFA age the firm requires, stated apart from the matrix so that deleting
a constraint from the matrix cannot switch it off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from caseshield import schemas, strict_yaml
from caseshield.project import ROOT
from caseshield.strict_yaml import InputError, Problem

MATRIX_PATH = ROOT / "policies" / "role-matrix.yaml"
FLOORS_PATH = ROOT / "policies" / "role-matrix-floors.yaml"
LEVELS = ("read", "write", "manage")
TRUSTS = ("human", "oidc", "vendor")
# IAM's default session (and the firm's ceiling) for people and the pipeline; vendor sessions are a stack setting.
DEFAULT_SESSION_SECONDS = {"human": 3600, "oidc": 3600}


class RoleMatrixError(ValueError):
    pass


class RoleMatrixFileError(InputError, RoleMatrixError):
    """The role-matrix file is refused: names the file, the key path, the value and the fix."""


# Principals no human role may admit, whatever people it names: an account user on no path of the matrix, and the
# role's people in another account (AWS's documentation example account).
OUTSIDER_USER = "user/caseshield-escalation-probe"
OTHER_ACCOUNT = "111122223333"
ROLE_ARN = re.compile(r"arn:([a-z-]+):iam::(\d{12}):role/")


@dataclass(frozen=True)
class Role:
    name: str
    trust: str
    description: str
    data: dict[str, str]
    managed_policies: tuple[str, ...] = ()
    # Human roles: the account's principals (ARN patterns after arn:<partition>:iam::<account>:) that may assume it.
    assumed_by: tuple[str, ...] = ()
    administers_keys: bool = False
    administrator: bool = False
    deploys_infrastructure: bool = False
    # Holds the live audit's read-only policy (`caseshield audit --print-policy`) as its inline policy `live-audit`.
    runs_live_audit: bool = False

    def level(self, data_class: str) -> str | None:
        return self.data.get(data_class)

    def can(self, data_class: str, level: str) -> bool:
        held = self.data.get(data_class)
        return held is not None and LEVELS.index(held) >= LEVELS.index(level)


@dataclass(frozen=True)
class Constraint:
    id: str
    rule: str
    roles: tuple[str, ...]
    why: str
    data_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleMatrix:
    mfa_max_age_seconds: int
    actions: dict[str, dict[str, tuple[str, ...]]]  # data class -> level -> actions (not cumulative)
    database_users: dict[str, str]
    roles: dict[str, Role]
    constraints: tuple[Constraint, ...] = field(default=())
    # Trust kind (human, oidc) -> the longest session its roles may be issued (`sessions.max_seconds`).
    session_max_seconds: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SESSION_SECONDS))

    def actions_for(self, data_class: str, level: str) -> list[str]:
        """Cumulative actions of `level` on `data_class` (manage includes write includes read)."""
        levels = LEVELS[: LEVELS.index(level) + 1]
        return [a for lv in levels for a in self.actions[data_class][lv]]

    def key_users(self, data_class: str) -> list[str]:
        return sorted(r.name for r in self.roles.values() if data_class in r.data)

    def key_administrators(self) -> list[str]:
        return sorted(r.name for r in self.roles.values() if r.administers_keys)

    def refused_principals(self, name: str, arn: str, role_names: Mapping[str, str]) -> list[str]:
        """Who must not be able to assume human role `name` (ARN `arn`; `role_names`: matrix role -> IAM role name):
        a principal of the account on no path of the matrix, every other matrix role, the people named for other
        human roles (their patterns with the wildcard filled in: one person path serves one role, so a pattern
        widened over another role's people is refused even when the matrix says so), and this role's people in
        another account."""
        found = ROLE_ARN.match(arn)
        if found is None:
            return []
        partition, account = found.groups()
        own = [f"arn:{partition}:iam::{account}:{p}" for p in self.roles[name].assumed_by]
        probes = [f"arn:{partition}:iam::{account}:{OUTSIDER_USER}"]
        probes += [f"arn:{partition}:iam::{account}:role/{n}" for r, n in sorted(role_names.items()) if r != name]
        probes += [f"arn:{partition}:iam::{account}:{p.replace('*', 'probe')}" for r in self.roles.values()
                   if r.name != name for p in r.assumed_by]
        return probes + [o.replace(f"::{account}:", f"::{OTHER_ACCOUNT}:").replace("*", "probe") for o in own]

    def violations(self) -> list[str]:
        """Segregation-of-duties constraints the matrix itself breaks (empty when it is sound)."""
        found: list[str] = []
        for c in self.constraints:
            for name in c.roles:
                role = self.roles[name]
                if c.rule == "no_data_access" and role.data:
                    found.append(f"{c.id}: {name} holds data access {role.data}")
                elif c.rule == "no_access_to":
                    held = sorted(set(role.data) & set(c.data_classes))
                    if held:
                        found.append(f"{c.id}: {name} holds {held}")
                elif c.rule == "read_only" and (any(lv != "read" for lv in role.data.values()) or role.administrator):
                    found.append(f"{c.id}: {name} holds more than read access")
            if c.rule == "sole_administrator":
                admins = sorted(r.name for r in self.roles.values() if r.administrator)
                if admins != sorted(c.roles):
                    found.append(f"{c.id}: administrators are {admins}, expected {sorted(c.roles)}")
        return found


def parse(document: dict[str, Any]) -> RoleMatrix:
    """Build and validate a matrix from its YAML document; raises RoleMatrixError naming the bad entry."""
    actions = {
        dc: {lv: tuple(levels.get(lv) or ()) for lv in LEVELS}
        for dc, levels in (document.get("data_classes") or {}).items()
    }
    roles: dict[str, Role] = {}
    for name, spec in (document.get("roles") or {}).items():
        if spec.get("trust") not in TRUSTS:
            raise RoleMatrixError(f"role {name}: trust must be one of {TRUSTS}, not {spec.get('trust')!r}")
        if (spec["trust"] == "human") != bool(spec.get("assumed_by")):
            raise RoleMatrixError(f"role {name}: assumed_by names who may assume a human role, and only a human role "
                                  f"(trust {spec['trust']}); add it to every human role, remove it from the others")
        data = dict(spec.get("data") or {})
        for dc, level in data.items():
            if dc not in actions:
                raise RoleMatrixError(f"role {name}: unknown data class {dc!r} (known: {sorted(actions)})")
            if level not in LEVELS:
                raise RoleMatrixError(f"role {name}: level for {dc} must be one of {LEVELS}, not {level!r}")
        roles[name] = Role(
            name=name, trust=spec["trust"], description=spec.get("description", ""), data=data,
            managed_policies=tuple(spec.get("managed_policies") or ()), assumed_by=tuple(spec.get("assumed_by") or ()),
            administers_keys=bool(spec.get("administers_keys")), administrator=bool(spec.get("administrator")),
            deploys_infrastructure=bool(spec.get("deploys_infrastructure")),
            runs_live_audit=bool(spec.get("runs_live_audit")),
        )
    constraints = []
    for c in document.get("segregation_of_duties") or ():
        unknown = sorted(set(c.get("roles") or ()) - set(roles))
        if unknown:
            raise RoleMatrixError(f"constraint {c.get('id')}: unknown roles {unknown}")
        constraints.append(Constraint(id=c["id"], rule=c["rule"], roles=tuple(c["roles"]), why=c.get("why", ""),
                                      data_classes=tuple(c.get("data_classes") or ())))
    matrix = RoleMatrix(
        mfa_max_age_seconds=int((document.get("mfa") or {}).get("max_age_seconds", 3600)),
        actions=actions, database_users=dict(document.get("database_users") or {}), roles=roles,
        constraints=tuple(constraints),
        session_max_seconds={**DEFAULT_SESSION_SECONDS,
                             **{k: int(v) for k, v in ((document.get("sessions") or {}).get("max_seconds") or {}).items()}},
    )
    broken = matrix.violations()
    if broken:
        raise RoleMatrixError("role matrix breaks segregation of duties: " + "; ".join(broken))
    return matrix


def floor_problems(document: dict[str, Any], floors: dict[str, Any]) -> list[Problem]:
    """Where the matrix falls below the floors: a required constraint missing or narrowed, MFA allowed to age more."""
    found = []
    max_age = document["mfa"]["max_age_seconds"]
    if max_age > floors["mfa_max_age_seconds"]:
        found.append(Problem("mfa.max_age_seconds", max_age, f"exceeds the {floors['mfa_max_age_seconds']} seconds "
                             "the firm allows (policies/role-matrix-floors.yaml).",
                             f"set at most {floors['mfa_max_age_seconds']}."))
    present = {c["id"]: c for c in document["segregation_of_duties"]}
    for required in floors["required_constraints"]:
        have = present.get(required["id"])
        if have is None:
            found.append(Problem("segregation_of_duties", required["id"], "is a constraint the firm requires "
                                 "(policies/role-matrix-floors.yaml); the matrix has dropped it.",
                                 f"restore constraint {required['id']} ({required['rule']} over "
                                 f"{', '.join(required['roles'])})."))
            continue
        narrower = (have["rule"] != required["rule"]
                    or not set(required["roles"]) <= set(have["roles"])
                    or not set(required.get("data_classes", ())) <= set(have.get("data_classes", ())))
        if narrower:
            found.append(Problem(f"segregation_of_duties.{required['id']}", have, "is weaker than the firm requires.",
                                 f"keep rule {required['rule']} with at least roles {required['roles']}"
                                 + (f" and data classes {required['data_classes']}." if "data_classes" in required
                                    else ".")))
    return found


def validate(document: Any, floors: dict[str, Any], file: str = "policies/role-matrix.yaml") -> RoleMatrix:
    """Schema, floors, references and segregation of duties, every problem reported as a `RoleMatrixFileError`."""
    found = schemas.problems(document, "role-matrix")
    if not found:
        found = floor_problems(document, floors)
    if not found:
        try:
            return parse(document)
        except (RoleMatrixError, KeyError, TypeError, ValueError) as error:
            found = [Problem("roles", None, str(error), "change the matrix so every constraint holds and every "
                             "reference names a defined role or data class.")]
    raise RoleMatrixFileError(file, found)


@cache
def load(path: Path = MATRIX_PATH, floors_path: Path = FLOORS_PATH) -> RoleMatrix:
    try:
        # Through `schemas.load`, like every input file, so a data mutant's edit of the matrix reaches the program
        # and the rules alike (policies/mutants `edited_inputs`, which also clears this cache).
        document = schemas.load(path, "role-matrix")
        floors = schemas.load(floors_path, "role-matrix-floors")
    except InputError as error:
        raise RoleMatrixFileError(error.file, error.problems) from None
    return validate(document, floors, strict_yaml.display_path(path))
