"""The IAM-guardrail alarms of policies/alarms.yaml (issue 11, control MON-05): what each filter pattern, filled in
with the program's own names, matches in real-shaped CloudTrail records (and what it does not), that the floors of
policies/floors.yaml hold them independently of alarms.yaml, and that the MON-05 rules, run through the engine on
the evaluated stacks, hold on the shipped program and fire when an alarm is missing, misspelled or narrowed.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any

import pytest

from caseshield.checks import run_engine
from caseshield.engine import EngineResult
from caseshield.offline import RecordedResource, ResourceGraph
from caseshield.project import ROOT
from caseshield.settings import from_stack_file
from components.alerting import (
    MAX_PATTERN_LENGTH,
    PLACEHOLDERS,
    SOD_POLICY_NAME,
    AlarmSpec,
    load_alarms,
    placeholder_values,
    render_pattern,
)
from policies.floors import guardrail_filters
from policies.pack import build_policies
from policies.rules import monitoring as mon
from policies.rules._filter_pattern import matches
from policies.rules._support import UNKNOWN
from tests.conftest import STACKS, graph_of

ACCOUNT = "123456789012"  # the account the offline evaluation's caller identity reports
PROD = from_stack_file("prod")
NAMES = placeholder_values(PROD, "aws", ACCOUNT)
GUARDRAIL_ALARMS = ("permissions-boundary-changes", "segregation-of-duties-changes", "break-glass-role-changes",
                    "deployer-outside-deployment")
MON_05_RULES = ("break-glass-use-raises-an-alarm", "guardrail-alarms-page-the-incident-topic",
                "guardrail-monitoring-floors-are-met")
DEPLOYER = NAMES["<deployer-role-name>"]
BREAK_GLASS = NAMES["<break-glass-role-name>"]
BOUNDARY = NAMES["<boundary-policy-arn>"]


def spec(alarm_id: str) -> AlarmSpec:
    return next(s for s in load_alarms() if s.id == alarm_id)


def pattern(alarm_id: str) -> str:
    return render_pattern(spec(alarm_id), PROD, "aws", ACCOUNT)


def record(source: str, name: str, *, role: str = DEPLOYER, session: str = "caseshield-preview-prod",
           read_only: bool = False, **fields: Any) -> dict[str, Any]:
    """A CloudTrail record as the trail delivers it to the log group, for a call made in a session of `role`
    (a web-identity session: the CI deployer's, assumed with GitHub's OIDC token)."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole", "principalId": f"AROAEXAMPLEID:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}", "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID", "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                  "accountId": ACCOUNT, "userName": role},
                "webIdFederationData": {"federatedProvider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                                        "attributes": {}},
                "attributes": {"creationDate": "2026-12-02T05:00:00Z", "mfaAuthenticated": "false"},
            },
        },
        "eventTime": "2026-12-02T05:01:00Z", "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7", "userAgent": "APN/1.0 HashiCorp/1.0 Terraform/1.5.7", "requestParameters": {},
        "responseElements": None, "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": ACCOUNT, **fields,
    }


IAM, KMS = "iam.amazonaws.com", "kms.amazonaws.com"


# --- the patterns, filled in with prod's names ------------------------------------------------------------------

def test_every_placeholder_is_filled_with_the_programs_names() -> None:
    expected = {
        "<break-glass-role-name>": "cs-prod-break-glass",
        "<break-glass-role-arn>": f"arn:aws:iam::{ACCOUNT}:role/cs-prod-break-glass",
        "<boundary-policy-arn>": f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-permissions-boundary",
        "<sod-policy-name>": "segregation-of-duties",
        "<deployer-role-name>": "cs-prod-ci-deployer",
        "<deployer-assumed-role-arn>": f"arn:aws:sts::{ACCOUNT}:assumed-role/cs-prod-ci-deployer",
    }
    assert expected == NAMES
    for alarm_id in GUARDRAIL_ALARMS:
        assert not re.search(r"<[a-z0-9-]+>", pattern(alarm_id)), alarm_id
        assert spec(alarm_id).cis == "" and spec(alarm_id).runbook == f"runbooks/alarms/{alarm_id}.md"
        assert (ROOT / spec(alarm_id).runbook).is_file()


def test_the_names_are_those_the_program_records(prod: ResourceGraph) -> None:
    roles = {r.inputs["name"] for r in prod.of_type("aws:iam/role:Role")}
    assert {BREAK_GLASS, DEPLOYER} <= roles
    boundary = prod.one("aws:iam/policy:Policy", "caseshield-roles-permissions-boundary")
    assert BOUNDARY.endswith(f":policy/{boundary.inputs['name']}")
    assert {r.inputs.get("permissionsBoundary") for r in prod.of_type("aws:iam/role:Role")
            if r.inputs.get("tags", {}).get("role-matrix-role")} == {BOUNDARY}
    segregation = [r for r in prod.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-segregation-of-duties")]
    assert segregation and {r.inputs["name"] for r in segregation} == {SOD_POLICY_NAME}


def test_the_deployed_filters_carry_the_filled_patterns(prod: ResourceGraph) -> None:
    filters = {r.inputs["name"]: r.inputs["pattern"] for r in prod.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")}
    for alarm_id in GUARDRAIL_ALARMS:
        assert filters[f"cs-prod-{alarm_id}"] == pattern(alarm_id)


def test_patterns_fit_cloudwatch_limits_for_the_longest_stack_name() -> None:
    longest = dataclasses.replace(PROD, stack="a" * 35)  # the longest stack name the settings accept
    for row in load_alarms():
        assert len(render_pattern(row, longest, "aws-us-gov", ACCOUNT)) <= MAX_PATTERN_LENGTH, row.id


def test_an_unknown_placeholder_or_an_overlong_pattern_is_refused(tmp_path: Any) -> None:
    table = tmp_path / "alarms.yaml"
    table.write_text('alarms:\n  - {id: x-y, cis: "", metric: Xy, description: A test alarm row., runbook: runbooks/x.md,\n'
                     '     pattern: \'{ $.a = "<deployer-role>" }\'}\n')
    with pytest.raises(ValueError, match="placeholders"):
        load_alarms(table)
    long = AlarmSpec("x-y", "", "Xy", "d", "runbooks/x.md", "{ " + " || ".join(['($.a = "<sod-policy-name>")'] * 40) + " }")
    with pytest.raises(ValueError, match="at most 1024"):
        render_pattern(long, PROD, "aws", ACCOUNT)
    assert set(PLACEHOLDERS) == set(NAMES)


@pytest.mark.parametrize(("event", "pages"), [
    # A deploy job's session: its IAM writes, and the grants RDS makes with its credentials, are the deployment.
    (record(IAM, "PutRolePolicy", session="caseshield-up-prod"), False),
    (record(IAM, "CreateRole", session="caseshield-up-prod"), False),
    (record(KMS, "CreateGrant", session="caseshield-up-prod", invokedBy="rds.amazonaws.com"), False),
    # A preview job must never write: any IAM write or key-policy, grant or key-state change of it pages.
    (record(IAM, "PutRolePolicy"), True),
    (record(IAM, "AttachRolePolicy"), True),
    (record(IAM, "DeleteRolePolicy", errorCode="AccessDenied", errorMessage="explicit deny"), True),  # attempts too
    (record(KMS, "PutKeyPolicy"), True),
    (record(KMS, "CreateGrant"), True),
    (record(KMS, "DisableKey"), True),
    (record(KMS, "ScheduleKeyDeletion"), True),
    # ... and so does a manual session, whatever it is called, or the deploy name of a job that does not exist.
    (record(IAM, "CreateRole", session="alice"), True),
    (record(IAM, "UpdateAssumeRolePolicy", session="caseshield-preview-prod-debug"), True),
    (record(KMS, "PutKeyPolicy", session="up-prod"), True),
    # Reads, other services and other roles are not this alarm's (CIS 4.4, 4.7 and 4.8 watch those).
    (record(IAM, "GetRole", read_only=True), False),
    (record(IAM, "ListRolePolicies", read_only=True), False),
    (record(KMS, "DescribeKey", read_only=True), False),
    (record(KMS, "CreateAlias"), False),
    (record("s3.amazonaws.com", "PutBucketPolicy"), False),
    (record(IAM, "PutRolePolicy", role="cs-prod-it-operations", session="alice"), False),
    (record(KMS, "PutKeyPolicy", role="cs-prod-key-admin", session="bob"), False),
])
def test_deployer_alarm_tells_a_deploy_job_from_any_other_session(event: dict[str, Any], pages: bool) -> None:
    assert matches(pattern("deployer-outside-deployment"), event) is pages


def test_the_session_name_is_chosen_by_the_token_holder_and_proves_no_more() -> None:
    """What the deployer alarm cannot see, stated as a test: whoever holds the OIDC token names the session, so a
    preview job (or a stolen token) that calls itself `caseshield-up-prod` writes unpaged. The protected
    environment's reviewer is the control for that; the boundary, segregation and break-glass alarms still page."""
    forged = record(IAM, "PutRolePolicy", session="caseshield-up-prod",
                    requestParameters={"roleName": DEPLOYER, "policyName": SOD_POLICY_NAME})
    assert not matches(pattern("deployer-outside-deployment"), forged)
    assert matches(pattern("segregation-of-duties-changes"), forged)


@pytest.mark.parametrize(("event", "pages"), [
    (record(IAM, name, requestParameters={"policyArn": BOUNDARY, "versionId": "v2"}), True)
    for name in ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy")
] + [
    (record(IAM, "CreatePolicyVersion", role=BREAK_GLASS, session="jane", requestParameters={
        "policyArn": BOUNDARY, "policyDocument": "{}", "setAsDefault": True}), True),  # anyone, break-glass too
    (record(IAM, "PutRolePermissionsBoundary", session="caseshield-up-prod", requestParameters={
        "roleName": "cs-prod-partner", "permissionsBoundary": BOUNDARY}), True),  # any role's boundary, even a deploy
    (record(IAM, "DeleteRolePermissionsBoundary", requestParameters={"roleName": "cs-prod-partner"}), True),
    (record(IAM, "CreatePolicyVersion", requestParameters={"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-other"}), False),
    (record(IAM, "CreatePolicyVersion", requestParameters={"policyArn": f"{BOUNDARY}-v2"}), False),
    (record(IAM, "GetPolicyVersion", read_only=True, requestParameters={"policyArn": BOUNDARY, "versionId": "v1"}), False),
    (record(IAM, "AttachRolePolicy", requestParameters={"roleName": "cs-prod-partner", "policyArn": BOUNDARY}), False),
])
def test_boundary_alarm(event: dict[str, Any], pages: bool) -> None:
    assert matches(pattern("permissions-boundary-changes"), event) is pages


@pytest.mark.parametrize(("name", "policy", "pages"), [
    ("PutRolePolicy", SOD_POLICY_NAME, True),
    ("DeleteRolePolicy", SOD_POLICY_NAME, True),
    ("GetRolePolicy", SOD_POLICY_NAME, False),
    ("PutRolePolicy", "case-documents", False),
    ("DeleteRolePolicy", "deploy", False),
    ("PutRolePolicy", f"{SOD_POLICY_NAME}-v2", False),
])
def test_segregation_of_duties_alarm(name: str, policy: str, pages: bool) -> None:
    event = record(IAM, name, role=BREAK_GLASS, session="jane", requestParameters={"roleName": DEPLOYER, "policyName": policy})
    assert matches(pattern("segregation-of-duties-changes"), event) is pages


@pytest.mark.parametrize(("name", "role", "pages"), [
    ("UpdateAssumeRolePolicy", BREAK_GLASS, True),
    ("DeleteRole", BREAK_GLASS, True),
    ("UpdateRole", BREAK_GLASS, True),
    ("UpdateAssumeRolePolicy", "cs-prod-partner", False),
    ("GetRole", BREAK_GLASS, False),
    ("AttachRolePolicy", BREAK_GLASS, False),  # CIS 4.4's
])
def test_break_glass_role_alarm(name: str, role: str, pages: bool) -> None:
    event = record(IAM, name, session="caseshield-up-prod", requestParameters={"roleName": role, "policyDocument": "{}"})
    assert matches(pattern("break-glass-role-changes"), event) is pages


# --- the floors of policies/floors.yaml, apart from alarms.yaml -------------------------------------------------

def fill(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"<[a-z0-9-]+>", lambda m: NAMES[m.group(0)], value)
    if isinstance(value, dict):
        return {k: fill(v) for k, v in value.items()}
    return value


def meets(text: str, floor_id: str) -> bool:
    floor = next(f for f in guardrail_filters() if f.id == floor_id)
    return (all(matches(text, fill(e)) for e in floor.events)
            and not any(matches(text, fill(e)) for e in floor.not_events))


def test_every_guardrail_floor_is_met_by_exactly_one_alarm() -> None:
    assert [f.id for f in guardrail_filters()] == ["break-glass-use", *GUARDRAIL_ALARMS]
    patterns = {row.id: render_pattern(row, PROD, "aws", ACCOUNT) for row in load_alarms()}
    for floor in guardrail_filters():
        assert [i for i, text in patterns.items() if meets(text, floor.id)] == [floor.id]


@pytest.mark.parametrize(("alarm_id", "old", "new"), [
    ("permissions-boundary-changes", '"SetDefaultPolicyVersion"', '"SetDefaultPolicyVersions"'),
    ("permissions-boundary-changes", ' || ($.eventName = "DeleteRolePermissionsBoundary")', ""),
    ("segregation-of-duties-changes", '"DeleteRolePolicy"', '"PutRolePolicy"'),
    ("segregation-of-duties-changes", '($.requestParameters.policyName = "segregation-of-duties")',
     '($.eventSource = "iam.amazonaws.com")'),
    ("break-glass-role-changes", "UpdateAssumeRolePolicy", "UpdateAssumedRolePolicy"),
    ("deployer-outside-deployment", "/caseshield-up-*", "/caseshield-*"),
    ("deployer-outside-deployment", "($.readOnly IS FALSE)", '($.eventName = "CreateRole")'),
    ("deployer-outside-deployment", ' || ($.eventName = "CreateGrant")', ""),
    ("deployer-outside-deployment", "!=", "="),
])
def test_a_misspelled_or_narrowed_guardrail_pattern_misses_its_floor(alarm_id: str, old: str, new: str) -> None:
    assert meets(pattern(alarm_id), alarm_id)
    assert old in pattern(alarm_id)
    assert not meets(pattern(alarm_id).replace(old, new), alarm_id)


# --- the MON-05 rules through the engine, on the evaluated stacks ----------------------------------------------

@cache
def policies() -> list[Any]:
    return [p for p in build_policies() if p.name in MON_05_RULES]


def engine(graph: ResourceGraph) -> EngineResult:
    result = run_engine(graph, policies())
    assert result.errors == [], result.errors
    return result


def edited(graph: ResourceGraph, keep: Any = lambda r: True, **inputs: dict[str, Any]) -> ResourceGraph:
    """The graph less the resources `keep` refuses, with `inputs` (by resource name) merged into inputs and outputs."""
    resources: list[RecordedResource] = []
    for r in graph.resources:
        if not keep(r):
            continue
        change = inputs.get(r.name)
        resources.append(dataclasses.replace(r, inputs={**r.inputs, **change}, outputs={**r.outputs, **change})
                         if change else r)
    return dataclasses.replace(graph, resources=resources)


FILTER = "caseshield-detection-alerting-{}-filter"
ALARM = "caseshield-detection-alerting-{}"


@pytest.mark.parametrize("stack", STACKS)
def test_mon_05_holds_on_every_stack_and_is_judged(stack: str) -> None:
    result = engine(graph_of(stack))
    assert result.violations == [] and result.skipped == []


def test_guardrail_names_are_read_from_the_stack(prod: ResourceGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    """The floors rule fills its samples from the stack's resources: the same names the program put in the filters."""
    captured: dict[str, Any] = {}
    original = mon.guardrail_names

    def spy(args: Any) -> dict[str, list[str] | None]:
        captured.update(original(args))
        return original(args)

    monkeypatch.setattr(mon, "guardrail_names", spy)
    engine(prod)
    assert captured == {placeholder: [value] for placeholder, value in NAMES.items()}


@pytest.mark.parametrize("alarm_id", GUARDRAIL_ALARMS)
def test_floor_rule_fires_when_a_guardrail_alarm_is_missing(prod: ResourceGraph, alarm_id: str) -> None:
    gone = {FILTER.format(alarm_id), ALARM.format(alarm_id)}
    result = engine(edited(prod, keep=lambda r: r.name not in gone))
    fired = {v.policy for v in result.violations}
    assert "guardrail-monitoring-floors-are-met" in fired and "guardrail-alarms-page-the-incident-topic" in fired
    assert any(v.message.startswith(alarm_id) for v in result.violations if v.policy == "guardrail-monitoring-floors-are-met")


@pytest.mark.parametrize("alarm_id", GUARDRAIL_ALARMS)
def test_floor_rule_fires_when_the_alarm_pages_no_one(prod: ResourceGraph, alarm_id: str) -> None:
    result = engine(edited(prod, **{ALARM.format(alarm_id): {"alarmActions": []}}))
    assert {v.policy for v in result.violations} == {"guardrail-alarms-page-the-incident-topic",
                                                     "guardrail-monitoring-floors-are-met"}


def test_floor_rule_fires_on_a_narrowed_deployed_pattern(prod: ResourceGraph) -> None:
    narrowed = pattern("deployer-outside-deployment").replace("/caseshield-up-*", "/caseshield-*")
    result = engine(edited(prod, **{FILTER.format("deployer-outside-deployment"): {"pattern": narrowed}}))
    assert [v.policy for v in result.violations if v.message.startswith("deployer-outside-deployment")] == [
        "guardrail-monitoring-floors-are-met"]


def test_a_pattern_unknown_at_preview_is_judged_later_not_passed(prod: ResourceGraph) -> None:
    result = engine(edited(prod, **{FILTER.format("break-glass-role-changes"): {"pattern": UNKNOWN}}))
    assert result.violations == []
    assert "guardrail-monitoring-floors-are-met" in {s.policy for s in result.skipped}
