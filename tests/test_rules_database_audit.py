"""AUD-06 for the case database (policies/rules/database_audit.py), through pulumi-policy's handler: every setting
of the floor's database audit logging held, and each one broken alone fired on."""

from __future__ import annotations

import pytest

from components.database import LOG_EXPORTS, PARAMETERS
from policies.rules import database_audit as dba
from policies.rules._support import UNKNOWN
from policies.rules.encryption import DB_INSTANCE, DB_PARAMETER_GROUP
from tests.rule_worlds import Builder, World, check, props

RULE = dba.case_database_records_sessions_and_privileged_statements


def world(parameters: list[tuple[str, str]] | None = None, exports: list[str] | None = None) -> World:
    b = Builder("prod")
    rows = PARAMETERS if parameters is None else parameters
    b.add("params", DB_PARAMETER_GROUP, {"name": "case-params", "parameters": [
        {"name": n, "value": v, "applyMethod": "immediate"} for n, v, *_ in rows]})
    b.add("db", DB_INSTANCE, {"parameterGroupName": "case-params",
                                  "enabledCloudwatchLogsExports": list(LOG_EXPORTS if exports is None else exports)},
          {"parameterGroupName": ["params"]})
    return b.world


def without_parameter(name: str) -> list[tuple[str, str]]:
    return [(n, v) for n, v, _ in PARAMETERS if n != name]


def test_the_component_meets_the_floor() -> None:
    assert check(RULE, world()) == []


@pytest.mark.parametrize("name", ["log_connections", "log_disconnections", "pgaudit.log", "shared_preload_libraries"])
def test_a_removed_parameter_fires(name: str) -> None:
    assert check(RULE, world(without_parameter(name)))


@pytest.mark.parametrize(("name", "value", "fires"), [
    ("log_connections", "0", True),
    ("shared_preload_libraries", "pg_stat_statements", True),
    ("shared_preload_libraries", "PGAUDIT", False),  # PostgreSQL lists are case-insensitive
    ("pgaudit.log", "ddl", True),
    ("pgaudit.log", "all", False),
    ("pgaudit.log", "role,ddl,write", False),
    ("pgaudit.log", "all,-ddl", True),  # `-ddl` subtracts the class
])
def test_a_weaker_value_fires(name: str, value: str, fires: bool) -> None:
    rows = [(n, value if n == name else v) for n, v, _ in PARAMETERS]
    assert bool(check(RULE, world(rows))) is fires


def test_logs_not_exported_fire() -> None:
    assert check(RULE, world(exports=["postgresql"]))
    assert check(RULE, world(exports=[]))


def test_a_database_without_the_stacks_parameter_group_fires() -> None:
    w = world()
    w["db"].property_dependencies = {}
    assert check(RULE, w)


def test_unknown_values_are_judged_later() -> None:
    w = world()
    props(w["params"])["parameters"] = UNKNOWN
    props(w["db"])["enabledCloudwatchLogsExports"] = UNKNOWN
    assert check(RULE, w) == []
