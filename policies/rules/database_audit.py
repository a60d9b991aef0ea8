"""AUD-06 for the case database: it records who connected and what changed schema or privileges, and exports those
logs to CloudWatch, where the retention floor and the alarms apply.

Why a rule of its own: the parameter group is a list, and removing one entry (`pgaudit.log`, `log_connections`)
silently returns PostgreSQL to its default of logging nothing; removing `pgaudit` from `shared_preload_libraries`
leaves every pgaudit setting in place and inert. The floor is policies/floors.yaml `database_audit_logging`, stated
apart from components/database.py (PARAMETERS, LOG_EXPORTS), so the program cannot lower it by changing its own list.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from policies.floors import floor
from policies.rules import stack_rule
from policies.rules._support import as_list, get, is_unknown, of_type, peek, violation
from policies.rules.encryption import DB_INSTANCE, parameter_groups

PRELOAD = "shared_preload_libraries"
PGAUDIT_LOG = "pgaudit.log"


def parameter_values(group: PolicyResource) -> dict[str, Any] | None:
    """name -> value of a parameter group's parameters; None while the list is not known."""
    found = group.props.get("parameters")
    if is_unknown(found):
        return None
    return {str(get(p, "name")): get(p, "value") for p in as_list(found) if get(p, "name") is not None}


def listed(value: Any) -> set[str]:
    """A comma-separated PostgreSQL list setting, lower-cased (`pg_stat_statements,pgaudit`)."""
    return {part.strip().lower() for part in str(value or "").split(",") if part.strip()}


def missing_settings(values: dict[str, Any]) -> list[str]:
    """What the parameter values leave out of the floor (empty: all of it is set)."""
    wanted = floor("database_audit_logging")
    missing = [f"{name}={value}" for name, value in wanted["parameters"].items()
               if not is_unknown(values.get(name)) and str(values.get(name)) != value]
    if not is_unknown(values.get(PRELOAD)):
        missing += [f"{PRELOAD} includes {lib}" for lib in wanted["preload_libraries"] if lib not in listed(values.get(PRELOAD))]
    if not is_unknown(values.get(PGAUDIT_LOG)):
        named = listed(values.get(PGAUDIT_LOG))
        removed = {c[1:] for c in named if c.startswith("-")}
        missing += [f"{PGAUDIT_LOG} includes {c}" for c in wanted["pgaudit_log_classes"]
                    if c in removed or ("all" not in named and c not in named)]
    return missing


@stack_rule("AUD-06")
def case_database_records_sessions_and_privileged_statements(args: StackValidationArgs, report: ReportViolation) -> None:
    """The case database logs every connection and disconnection and pgaudit's DDL and role statements (pgaudit
    preloaded), through a parameter group of this stack, and exports its PostgreSQL and upgrade logs to CloudWatch.
    Implemented by components/database.py (CaseDatabase PARAMETERS, LOG_EXPORTS)."""
    wanted = floor("database_audit_logging")
    for db in of_type(args, DB_INSTANCE):
        exports = db.props.get("enabledCloudwatchLogsExports")
        if not is_unknown(exports):
            absent = [e for e in wanted["log_exports"] if e not in [str(x) for x in as_list(exports)]]
            if absent:
                violation(report, f"{db.name} does not export its {absent} logs to CloudWatch",
                          path="enabledCloudwatchLogsExports", actual=peek(db.props, "enabledCloudwatchLogsExports"),
                          expected=f"at least {wanted['log_exports']} (policies/floors.yaml database_audit_logging)",
                          urn=db.urn)
        for group in parameter_groups(db, report, "its audit logging"):
            values = parameter_values(group)
            if values is None:
                continue
            if missing := missing_settings(values):
                violation(report, f"{group.name} leaves the case database's audit logging short", path="parameters",
                          actual=missing, expected="every setting of policies/floors.yaml database_audit_logging",
                          urn=group.urn)
