"""Fuzz-style: 240 generated malformed stack, waiver and role-matrix files (seeded, so every run is the same).

Each file breaks exactly one thing, and each must be refused with the project's own error (`InputError` and its
kinds, or a waiver problem) naming the file and the key that is wrong: no traceback, no silent acceptance. A
sound file of each kind is accepted by the same path, so the refusals are not the path failing on everything.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from caseshield import role_matrix
from caseshield.project import ROOT, Project, load_project
from caseshield.settings import from_stack_file
from caseshield.strict_yaml import InputError
from policies import catalog as catalog_module
from policies.waivers import load_entries, parse

SEED = 15
PROD = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
DECLARED = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
STACK_KEYS = [f"caseshield:{k}" for k in DECLARED]
BAD_BY_TYPE = {
    "integer": ["\uff13", "1_000", "3.5", "true", "[]", "{}", "null", '"1e3"', '"12 "', '"0x10"', '"- 3"'],
    "boolean": ["yes", "no", "on", "off", "1", "0", '"TRUE "', "null", "[]", '"y"'],
    "string": ['"x\\n"', "null", "[a]", "{a: b}", "123", "true", '"tab\\there"', '"\\u0007bell"', "2027-01-01"],
    "array": ['"a"', "{}", "[1, 2]", '["x\\n"]', "null", "7", "[[a]]", "[null]"],
}
OUT_OF_RANGE = {  # schema-valid values every settings rule must refuse
    "caseshield:vendorSessionHours": "99", "caseshield:appPort": "80", "aws:region": "us-north-9",
    "caseshield:objectLockMode": "NONE", "caseshield:vpcCidr": "10.0.0.0/8", "caseshield:environment": "production",
    "caseshield:availabilityZoneCount": "6", "caseshield:wafRateLimit": "10", "caseshield:domainName": "localhost",
    "caseshield:ciOidcSubject": "repo:lawfirm/caseshield:pull_request", "caseshield:databaseInstanceClass": "db.t2.micro",
    "caseshield:ciOidcProviderUrl": "https://ci.attacker.example", "caseshield:backupCopyRegion": "ap-south-1",
}
REQUIRED = [k for k, d in DECLARED.items() if "default" not in d]


def set_line(text: str, key: str, value: str) -> str:
    line = f"  {key}: {value}"
    new, n = re.subn(rf"^  {re.escape(key)}: .*$", lambda _: line, text, flags=re.M)
    return new if n else text + line + "\n"


def stack_mutations(rng: random.Random) -> list[tuple[str, str, str]]:
    """(file text, key the error must name, what was done) for 120 broken prod files."""
    cases: list[tuple[str, str, str]] = []
    kinds = ["type", "type", "duplicate", "alias", "required", "unknown", "secret", "syntax", "range", "shape"]
    while len(cases) < 120:
        kind = rng.choice(kinds)
        key = rng.choice(STACK_KEYS)
        declared = DECLARED[key.partition(":")[2]]["type"]
        if kind == "type":
            value = rng.choice(BAD_BY_TYPE[declared])
            cases.append((set_line(PROD, key, value), key, f"{key}: {value}"))
        elif kind == "duplicate":
            existing = [k for k in STACK_KEYS if f"  {k}:" in PROD]
            dup = rng.choice(existing)
            cases.append((PROD + f"  {dup}: {rng.choice(['', '[]', 'x', '0'])}\n", dup, f"duplicate {dup}"))
        elif kind == "alias":
            target = rng.choice([k for k in STACK_KEYS if f"  {k}:" in PROD])
            text = PROD.replace(f"  {target}: ", f"  {target}: &v{rng.randrange(99)} ", 1)
            cases.append((text + "  caseshield:appPort: *v1\n" if rng.random() < 0.5 else text, "line", "anchor"))
        elif kind == "required":
            gone = rng.choice(REQUIRED)
            text = re.sub(rf"^  caseshield:{gone}: .*\n", "", PROD, flags=re.M)
            cases.append((text, f"caseshield:{gone}", f"without {gone}"))
        elif kind == "unknown":
            name = "caseshield:" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(3, 12)))
            cases.append((set_line(PROD, name, "x"), name, f"unknown {name}"))
        elif kind == "secret":
            name = rng.choice(["aws:secretKey", "aws:accessKey", "aws:token", "caseshield:apiToken", "caseshield:dbPassword"])
            cases.append((set_line(PROD, name, "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOP234567") for _ in range(16))),
                          name, f"plain-text {name}"))
        elif kind == "syntax":
            cut = rng.randrange(20, len(PROD) - 20)
            cases.append((PROD[:cut] + rng.choice([": [", "\n\t- x", " {a: ", "\n  - : :\n  'x"]) + PROD[cut:], "line",
                          "syntax"))
        elif kind == "range":
            bad_key, value = rng.choice(sorted(OUT_OF_RANGE.items()))
            cases.append((set_line(PROD, bad_key, value), bad_key, f"{bad_key}: {value}"))
        else:
            shape = rng.choice(["- config\n", "config: []\n", "config: x\n", "", "config:\n  - a\n", "42\n",
                                "config: {}\nother: 1\n"])
            cases.append((shape, "config" if shape.startswith("config") and "other" not in shape else
                          ("other" if "other" in shape else "(top level)"), f"shape {shape!r}"))
    return cases


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("fuzz-project")
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", root / "stacks")
    return load_project(root)


def assert_refused(load: Callable[[], object], file: str, key: str, what: str) -> None:
    try:
        load()
    except InputError as error:
        message = str(error)
        assert file in message, f"{what}: the file is not named: {message}"
        assert key in message, f"{what}: the key {key!r} is not named: {message}"
        assert error.problems and all(p.fix.strip() for p in error.problems), what
        return
    except Exception as error:  # anything else is a traceback for the user
        pytest.fail(f"{what}: {type(error).__name__}: {error}")
    pytest.fail(f"{what}: silently accepted")


def test_the_generator_makes_distinct_files() -> None:
    cases = stack_mutations(random.Random(SEED))
    assert len(cases) == 120 and len({text for text, _, _ in cases}) >= 90


def test_120_malformed_stack_files_are_each_refused_by_name(project: Project) -> None:
    path = project.stack_dir / "Pulumi.fuzz.yaml"
    path.write_text(PROD)
    assert from_stack_file("fuzz", project).stack == "fuzz"
    for text, key, what in stack_mutations(random.Random(SEED)):
        path.write_text(text)
        assert_refused(lambda: from_stack_file("fuzz", project), "stacks/Pulumi.fuzz.yaml", key, what)


# --- waivers --------------------------------------------------------------------------------------------------------

CATALOG = catalog_module.load()
TODAY_TEXT = "2026-11-23"
WAIVABLE = next(c.id for c in CATALOG.controls if c.waivable)
NEVER = next(c.id for c in CATALOG.controls if not c.waivable)
GOOD_WAIVER = {"control": WAIVABLE, "stack": "dev", "resource": "*edge-alb*",
               "reason": "The dev load balancer is rebuilt nightly by the teardown job, which protection would block.",
               "owner": "platform-engineering", "approver": "ciso@lawfirm.example", "ticket": "SEC-1042",
               "expires": "2027-03-31"}


BROKEN_WAIVER_FILES = {  # file text -> the key (or line) the error must name
    "waivers: {control: X}\n": "waivers", "waivers: x\n": "waivers", "- a\n": "(top level)",
    "waivers: []\nwaivers: []\n": "waivers", "a: &a [1]\nwaivers: *a\n": "line 1", "waivers: [1, 2]\n": "waivers[0]",
    "waivers:\n  - [a, b]\n": "waivers[0]", "w: []\n": "w", "waivers: [\n": "line",
}


def waiver_mutations(rng: random.Random) -> list[tuple[str, str, str]]:
    """(file text, key the problem must name, what) for 60 broken waiver files."""
    cases: list[tuple[str, str, str]] = []
    bad_values: dict[str, list[object]] = {
        "control": ["XYZ-99", NEVER, 5, "", None, ["EDGE-03"]],
        "stack": ["", None, "dev\n", 7, "DEV STACK"],
        "resource": ["", None, "has space", {"a": 1}],
        "reason": ["TBD", "risk " * 12, "ok", None, "word\nword " * 5, "filler filler filler filler filler filler"],
        "owner": [None, "", 42, "ciso@lawfirm.example", "CISO@LAWFIRM.EXAMPLE"],
        "approver": [None, "", "Platform-Engineering", "platform-engineering ", True],
        "ticket": [None, "", "SEC 1", 1042],
        "expires": ["2099-12-31", "2027-02-30", 20991231, "20991231", "next spring", "2025-01-01", None, "2027-13-01"],
    }
    while len(cases) < 60:
        if rng.random() < 0.15:
            text, key = rng.choice(sorted(BROKEN_WAIVER_FILES.items()))
            cases.append((text, key, f"file {text!r}"))
            continue
        field = rng.choice(sorted(bad_values))
        entry: dict[str, Any] = dict(GOOD_WAIVER)
        entry[field] = rng.choice(bad_values[field])
        if field in ("owner", "approver") and isinstance(entry[field], str) and entry[field].strip():
            other = "approver" if field == "owner" else "owner"
            entry[other] = entry[field].upper() if rng.random() < 0.5 else entry[field].strip().lower()
        if rng.random() < 0.2:
            entry["stack"], entry["resource"], field = "*", "*", "resource"
        text = yaml.safe_dump({"waivers": [entry]}, allow_unicode=True)
        cases.append((text, "waivers[0]", f"{field} = {entry[field]!r}"))
    return cases


def test_60_malformed_waiver_files_are_each_refused_by_name(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "waivers.yaml"
    today = dt.date.fromisoformat(TODAY_TEXT)
    path.write_text(yaml.safe_dump({"waivers": [GOOD_WAIVER]}))
    assert parse(list(load_entries.__wrapped__(path)), CATALOG, today)[1] == []
    for text, key, what in waiver_mutations(random.Random(SEED)):
        path.write_text(text)
        try:
            entries = load_entries.__wrapped__(path)
        except InputError as error:
            assert "waivers.yaml" in str(error) and key in str(error), f"{what}: {error}"
            continue
        except Exception as error:
            pytest.fail(f"{what}: {type(error).__name__}: {error}")
        waivers, problems = parse(list(entries), CATALOG, today)
        assert problems and not waivers, f"{what}: silently accepted"
        for problem in problems:
            assert str(problem).startswith("policies/waivers.yaml waiver #1") and key in str(problem), what


# --- role matrix ----------------------------------------------------------------------------------------------------

MATRIX = role_matrix.MATRIX_PATH.read_text()


def matrix_mutations(rng: random.Random) -> list[tuple[str, str, str]]:
    """(file text, key the error must name, what) for 60 broken role matrices."""
    document = yaml.safe_load(MATRIX)
    roles = sorted(document["roles"])
    cases: list[tuple[str, str, str]] = []
    while len(cases) < 60:
        kind = rng.choice(["dup-role", "mfa", "sod", "flag", "trust", "level", "class", "grant", "alias", "extra",
                           "constraint-role"])
        doc = yaml.safe_load(MATRIX)
        role = rng.choice(roles)
        if kind == "dup-role":
            text = MATRIX.replace("\n  vendor-support:\n", f"\n  {role}:\n    trust: human\n    description: a second "
                                  f"{role} entry\n    data: {{}}\n  vendor-support:\n")
            cases.append((text, role if role != "vendor-support" else "vendor-support", f"duplicate {role}"))
            continue
        if kind == "alias":
            cases.append((MATRIX.replace("mfa:\n", "mfa: &m\n", 1), "line", "anchor"))
            continue
        if kind == "mfa":
            doc["mfa"]["max_age_seconds"] = rng.choice([31_536_000, 86_400, 7_200, 0, -1, "3600", 3600.5, None, True])
            key = "mfa.max_age_seconds"
        elif kind == "sod":
            if rng.random() < 0.4:
                del doc["segregation_of_duties"]
            else:
                drop = rng.randrange(len(doc["segregation_of_duties"]))
                del doc["segregation_of_duties"][drop]
            key = "segregation_of_duties"
        elif kind == "flag":
            flag = rng.choice(["administers_keys", "administrator", "deploys_infrastructure"])
            doc["roles"][role][flag] = rng.choice(["true", "false", "yes", 1, 0, None])
            key = f"roles.{role}.{flag}"
        elif kind == "trust":
            doc["roles"][role]["trust"] = rng.choice(["admin", "Human", "", None, 3])
            key = f"roles.{role}.trust"
        elif kind == "level":
            doc["roles"][role]["data"] = {"case-documents": rng.choice(["own", "READ", "", None, 2])}
            key = f"roles.{role}.data.case-documents"
        elif kind == "class":
            doc["roles"][role]["data"] = {rng.choice(["case-files", "secrets", "all"]): "read"}
            key = "roles"
        elif kind == "grant":
            victim = rng.choice(["key-admin", "ci-deployer", "vendor-support", "it-operations"])
            doc["roles"][victim]["data"] = {"case-documents": "read", "application-secrets": "read"}
            key = "roles"
        elif kind == "extra":
            doc[rng.choice(["admins", "mfa_age", "notes"])] = "x"
            key = next(k for k in doc if k not in yaml.safe_load(MATRIX))
        else:
            doc["segregation_of_duties"][0]["roles"] = [*doc["segregation_of_duties"][0]["roles"], "ghost-role"]
            key = "roles"
        cases.append((yaml.safe_dump(doc, sort_keys=False), key, f"{kind} on {role}"))
    return cases


def test_60_malformed_role_matrices_are_each_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "role-matrix.yaml"
    path.write_text(MATRIX)
    assert role_matrix.load.__wrapped__(path).roles
    for text, key, what in matrix_mutations(random.Random(SEED)):
        path.write_text(text)
        assert_refused(lambda: role_matrix.load.__wrapped__(path), str(path), key, what)


def test_at_least_200_files_in_all() -> None:
    rng = random.Random(SEED)
    assert len(stack_mutations(rng)) + len(waiver_mutations(rng)) + len(matrix_mutations(rng)) >= 200
