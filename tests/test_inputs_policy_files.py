"""Policy data files (waivers, role matrix, catalog, residency, alarms, CI trust): issue 15's bad inputs are refused.

Every case of the issue's "Policy data" list has a test showing the clear error, and a sound counterpart holds.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from caseshield import role_matrix, schemas, settings
from caseshield.role_matrix import RoleMatrixError, RoleMatrixFileError
from caseshield.strict_yaml import InputError
from policies import catalog as catalog_module
from policies import waivers as waivers_module
from policies.waivers import Waiver, load_entries, parse, stale

TODAY = dt.date(2026, 11, 23)
CATALOG = catalog_module.load()
WAIVABLE = next(c.id for c in CATALOG.controls if c.waivable)
NEVER = next(c.id for c in CATALOG.controls if not c.waivable)
REASON = "The dev load balancer is rebuilt nightly by the teardown job, which deletion protection would block."


def waiver(**changes: Any) -> dict[str, Any]:
    entry = {"control": WAIVABLE, "stack": "dev", "resource": "*edge-alb*", "reason": REASON,
             "owner": "platform-engineering", "approver": "ciso@lawfirm.example", "ticket": "SEC-1042",
             "expires": "2027-03-31"}
    entry.update(changes)
    return entry


def problems_of(entry: Any) -> list[str]:
    waivers, problems = parse([entry], CATALOG, TODAY)
    assert waivers == [] and problems, "a bad waiver was accepted"
    rendered = [str(p) for p in problems]
    for text in rendered:
        assert text.startswith("policies/waivers.yaml waiver #1") and "waivers[0]" in text and "Fix: " in text, text
    return rendered


# --- waivers --------------------------------------------------------------------------------------------------------

def test_a_sound_waiver_holds() -> None:
    waivers, problems = parse([waiver()], CATALOG, TODAY)
    assert problems == [] and len(waivers) == 1


@pytest.mark.parametrize("entry", [["control", "EDGE-03"], "EDGE-03 for a while", 7, None])
def test_an_entry_that_is_not_a_mapping_is_a_problem_not_a_crash(entry: Any) -> None:
    assert "must be a mapping" in problems_of(entry)[0]


@pytest.mark.parametrize(("text", "fragment"), [
    ("waivers: {control: EDGE-03}\n", "waivers = {'control': 'EDGE-03'}: must be a list"),
    ("waivers: EDGE-03\n", "waivers = 'EDGE-03': must be a list"),
    ("- control: EDGE-03\n", "(top level) = [{'control': 'EDGE-03'}]: must be a mapping"),
    ("waivers: []\nwaivers: [{control: EDGE-03}]\n", "appears twice"),
    ("x: &x [1]\nwaivers: *x\n", "anchor or alias"),
])
def test_a_malformed_waivers_file_is_an_input_error_naming_the_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        load_entries.__wrapped__(path)
    assert "waivers.yaml has " in str(raised.value) and fragment in str(raised.value)


def test_the_shipped_waivers_file_loads() -> None:
    assert load_entries.__wrapped__() == ()


@pytest.mark.parametrize(("expires", "fragment"), [
    ("2027-02-30", "there is no such day"),
    (20991231, "expires must be a date (YYYY-MM-DD), not 20991231"),
    ("20991231", "expires must be a date (YYYY-MM-DD), not '20991231'"),
    ("2099-12-31", "more than a year ahead"),
    ("2027-11-25", "more than a year ahead"),
])
def test_impossible_numeric_and_far_expiries_are_refused(expires: Any, fragment: str) -> None:
    assert any(fragment in p for p in problems_of(waiver(expires=expires)))


def test_an_expiry_a_year_ahead_holds() -> None:
    assert parse([waiver(expires="2027-11-24")], CATALOG, TODAY)[1] == []


@pytest.mark.parametrize("approver", ["Platform-Engineering", "PLATFORM-ENGINEERING ", "platform-engineering"])
def test_owner_and_approver_differing_only_in_case_are_one_person(approver: str) -> None:
    assert any("someone other than the owner" in p for p in problems_of(waiver(approver=approver)))


@pytest.mark.parametrize(("stack", "resource"), [("*", "*"), ("*", "**"), ("?*", "*")])
def test_a_waiver_of_everything_everywhere_is_refused(stack: str, resource: str) -> None:
    assert any("waives the control everywhere" in p for p in problems_of(waiver(stack=stack, resource=resource)))


def test_a_wildcard_stack_with_a_narrow_resource_holds() -> None:
    assert parse([waiver(stack="*", resource="*edge-alb*")], CATALOG, TODAY)[1] == []


@pytest.mark.parametrize("reason", [
    "risk risk risk risk risk risk risk risk risk risk risk risk",
    "accepted accepted accepted accepted because because because because",
    "ok ok ok ok ok ok ok ok ok ok",
    "TBD",
    "x1 x2 x3 x4 x5 x6 x7 x8 x9",
])
def test_a_reason_of_filler_is_refused(reason: str) -> None:
    assert any("reason must explain" in p for p in problems_of(waiver(reason=reason)))


@pytest.mark.parametrize(("field", "value"), [("owner", None), ("owner", 7), ("expires", dt.date(2027, 1, 1)),
                                              ("reason", ["a", "list"]), ("stack", "dev\n"), ("ticket", "SEC 1\n")])
def test_fields_of_the_wrong_type_or_with_newlines_are_refused(field: str, value: Any) -> None:
    found = problems_of(waiver(**{field: value}))
    assert any(field in p for p in found)


def test_a_never_waivable_control_cannot_be_waived() -> None:
    assert any("may never be waived" in p for p in problems_of(waiver(control=NEVER)))


def _urn(name: str) -> str:
    return f"urn:pulumi:dev::caseshield::aws:lb/loadBalancer:LoadBalancer::{name}"


def test_a_stale_waiver_is_reported_and_a_used_one_is_not() -> None:
    (w,) = parse([waiver()], CATALOG, TODAY)[0]
    (problem,) = stale([w], {"dev": {(WAIVABLE, _urn("caseshield-other"))}})
    assert "is stale: it matches no finding" in str(problem) and "waivers[0].resource" in str(problem)
    assert stale([w], {"dev": {(WAIVABLE, _urn("caseshield-edge-alb"))}}) == []


def test_a_waiver_for_a_stack_not_checked_is_not_judged_stale() -> None:
    prod_only = Waiver(WAIVABLE, "prod", "*edge-alb*", REASON, "a-team", "b-team", "SEC-1", dt.date(2027, 1, 1))
    assert stale([prod_only], {"dev": set()}) == []


def test_check_reports_a_stale_waiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from caseshield import cli

    monkeypatch.setattr(waivers_module, "load_entries", lambda: (waiver(expires="2027-03-31"),))
    code = cli.main(["check", "--stack", "dev", "--format", "json", "--out", str(tmp_path), "--today",
                     TODAY.isoformat(), "--no-checkov"])
    out = capsys.readouterr().out
    assert code == 1 and "is stale" in out and "verdict: FAIL" in out


# --- role matrix ----------------------------------------------------------------------------------------------------

MATRIX_TEXT = role_matrix.MATRIX_PATH.read_text()
FLOORS = yaml.safe_load(role_matrix.FLOORS_PATH.read_text())


def matrix_refused(document: Any) -> str:
    with pytest.raises(RoleMatrixFileError) as raised:
        role_matrix.validate(document, FLOORS)
    message = str(raised.value)
    assert message.startswith("policies/role-matrix.yaml has ") and "Fix: " in message
    return message


def matrix(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(yaml.safe_load(MATRIX_TEXT))
    document.update(changes)
    return document


def test_the_shipped_matrix_holds() -> None:
    assert role_matrix.validate(matrix(), FLOORS).roles.keys() == role_matrix.load().roles.keys()


def test_a_duplicate_role_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "role-matrix.yaml"
    path.write_text(MATRIX_TEXT.replace("  vendor-support:\n", "  key-admin:\n    trust: human\n    description: "
                                        "a second key-admin that would silently override the first\n    data: "
                                        "{case-documents: read}\n  vendor-support:\n"))
    with pytest.raises(RoleMatrixFileError, match="'key-admin': this key appears twice"):
        role_matrix.load.__wrapped__(path)


@pytest.mark.parametrize("seconds", [31_536_000, 43_201, 0, "3600", 3600.5, True])
def test_mfa_max_age_is_bounded_and_a_number(seconds: Any) -> None:
    assert "mfa.max_age_seconds" in matrix_refused(matrix(mfa={"max_age_seconds": seconds}))


def test_mfa_max_age_above_the_floors_file_is_refused() -> None:
    assert "exceeds the 3600 seconds" in matrix_refused(matrix(mfa={"max_age_seconds": 7200}))
    assert role_matrix.validate(matrix(mfa={"max_age_seconds": 900}), FLOORS).mfa_max_age_seconds == 900


def test_deleting_segregation_of_duties_is_refused() -> None:
    document = matrix()
    del document["segregation_of_duties"]
    document["roles"]["key-admin"]["data"] = {"case-documents": "read"}
    document["roles"]["ci-deployer"]["data"] = {"application-secrets": "read"}
    assert "segregation_of_duties = None: is required but missing" in matrix_refused(document)


def test_deleting_one_required_constraint_is_refused() -> None:
    document = matrix()
    document["segregation_of_duties"] = [c for c in document["segregation_of_duties"]
                                         if c["id"] != "ci-cannot-read-case-data"]
    document["roles"]["ci-deployer"]["data"] = {"application-secrets": "read"}
    assert "ci-cannot-read-case-data" in matrix_refused(document) and "dropped it" in matrix_refused(document)


def test_narrowing_a_required_constraint_is_refused() -> None:
    document = matrix()
    for c in document["segregation_of_duties"]:
        if c["id"] == "key-admin-cannot-decrypt":
            c["roles"] = ["ci-deployer"]
    assert "weaker than the firm requires" in matrix_refused(document)


def test_a_matrix_breaking_its_constraints_is_a_clear_error_not_a_traceback() -> None:
    document = matrix()
    document["roles"]["vendor-support"]["data"] = {"case-documents": "read"}
    assert "ci-cannot-read-case-data: vendor-support holds ['case-documents']" in matrix_refused(document)


def test_unknown_references_are_clear_errors() -> None:
    document = matrix()
    document["roles"]["partner"]["data"] = {"case-files": "write"}
    assert "unknown data class 'case-files'" in matrix_refused(document)


@pytest.mark.parametrize(("path", "value"), [(("roles", "key-admin", "administers_keys"), "false"),
                                             (("roles", "partner", "trust"), "admin"),
                                             (("roles", "partner", "data", "case-documents"), "own")])
def test_matrix_values_are_strictly_typed(path: tuple[str, ...], value: Any) -> None:
    document = matrix()
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert ".".join(path) in matrix_refused(document)


def test_the_role_matrix_error_is_also_a_role_matrix_error() -> None:
    assert issubclass(RoleMatrixFileError, RoleMatrixError) and issubclass(RoleMatrixFileError, InputError)


# --- catalog, residency, alarms, CI trust ---------------------------------------------------------------------------

CONTROLS_TEXT = catalog_module.CATALOG_PATH.read_text()


def catalog_refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "controls.yaml"
    path.write_text(text)
    with pytest.raises(catalog_module.CatalogError) as raised:
        catalog_module.load.__wrapped__(path)
    return str(raised.value)


def test_a_quoted_false_is_not_a_boolean(tmp_path: Path) -> None:
    message = catalog_refused(tmp_path, CONTROLS_TEXT.replace("waivable: false", 'waivable: "false"', 1))
    assert "controls[0].waivable = 'false': must be true or false (unquoted)" in message


def test_a_quoted_false_is_refused_by_parse_too() -> None:
    entry = copy.deepcopy(yaml.safe_load(CONTROLS_TEXT)["controls"][0])
    entry["waivable"] = "false"
    with pytest.raises(catalog_module.CatalogError, match="must be true or false, unquoted"):
        catalog_module.parse({"controls": [entry]})


@pytest.mark.parametrize(("severity", "waivable"), [("critical", True), ("high", False)])
def test_advisory_is_refused_on_critical_or_never_waivable_controls(severity: str, waivable: bool) -> None:
    entry = copy.deepcopy(yaml.safe_load(CONTROLS_TEXT)["controls"][0])
    entry.update(severity=severity, waivable=waivable, enforcement="advisory")
    with pytest.raises(catalog_module.CatalogError, match="would turn its failure into a warning"):
        catalog_module.parse({"controls": [entry]})


def test_a_rule_between_fields_names_the_catalog_file(tmp_path: Path) -> None:
    text = CONTROLS_TEXT.replace("enforcement: mandatory", "enforcement: advisory", 1)  # the first control is critical
    assert catalog_refused(tmp_path, text).startswith(f"{tmp_path / 'controls.yaml'}: control ")


def test_advisory_holds_on_a_waivable_medium_control() -> None:
    entry = copy.deepcopy(yaml.safe_load(CONTROLS_TEXT)["controls"][0])
    entry.update(severity="medium", waivable=True, enforcement="advisory")
    assert catalog_module.parse({"controls": [entry]}).controls[0].enforcement == "advisory"


def test_a_duplicate_control_key_is_refused(tmp_path: Path) -> None:
    assert "appears twice" in catalog_refused(tmp_path, CONTROLS_TEXT.replace("    waivable: false\n",
                                                                              "    waivable: false\n    waivable: true\n", 1))


def test_a_residency_file_without_its_key_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "data-residency.yaml"
    path.write_text("regions: [us-east-1]\n")
    with pytest.raises(InputError) as raised:
        schemas.load(path, "data-residency")
    assert "allowed_regions = None: is required but missing" in str(raised.value)
    assert "regions = ['us-east-1']: is not a key this file may have" in str(raised.value)


def test_every_residency_region_is_a_real_region_with_an_elb_log_account() -> None:
    from components.buckets import ELB_LOG_ACCOUNTS

    for region in settings.residency_regions():
        assert region in settings.region_partitions(), region
        assert region in ELB_LOG_ACCOUNTS, f"{region}: the load balancer's access logs would have no delivery account"


def test_the_alarms_and_trust_files_hold_and_a_malformed_row_is_refused(tmp_path: Path) -> None:
    alarms = (Path(catalog_module.CATALOG_PATH).parent / "alarms.yaml").read_text()
    assert schemas.problems(yaml.safe_load(alarms), "alarms") == []
    path = tmp_path / "alarms.yaml"
    path.write_text(alarms.replace('cis: "4.1"', "cis: 4.1", 1))
    with pytest.raises(InputError, match=r"alarms\[0\]\.cis = 4\.1: must be a string"):
        schemas.load(path, "alarms")
    assert settings.declared_oidc_providers() == ("https://token.actions.githubusercontent.com",)


def test_a_human_role_without_named_people_is_refused() -> None:
    document = matrix()
    del document["roles"]["partner"]["assumed_by"]
    assert "role partner: assumed_by names who may assume a human role" in matrix_refused(document)


def test_named_people_on_a_machine_role_are_refused() -> None:
    document = matrix()
    document["roles"]["vendor-support"]["assumed_by"] = ["user/caseshield/vendor-support/*"]
    assert "role vendor-support: assumed_by" in matrix_refused(document)


@pytest.mark.parametrize("pattern", ["user/*", "role/*", "*", "group/caseshield/partner/*"])
def test_named_people_that_admit_everyone_are_refused(pattern: str) -> None:
    document = matrix()
    document["roles"]["partner"]["assumed_by"] = [pattern]
    assert "roles.partner.assumed_by" in matrix_refused(document)
