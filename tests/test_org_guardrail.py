"""The organisation guardrail (components/org_guardrail.py, control ORG-01): off by default and then absent, switched on
an SCP and an RCP attached to every target through the policy administrator's role, documents within Organizations'
size limit, settings that refuse a guardrail which could not bind the stack, and rules that hold on the generated
documents and fire on each weakening, run through pulumi-policy's handler as every rule test runs them.

Nothing here talks to AWS Organizations: the mocks record what `pulumi up` would ask for, and the rules judge the
documents as IAM evaluates them. Whether Organizations accepts and enforces them is only provable in an
organisation (README, "Organisation guardrail (optional)").
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

import pytest

from caseshield import checks
from caseshield import terraform_plan as tp
from caseshield.mutation import run_mutant
from caseshield.offline import ResourceGraph, evaluate
from caseshield.role_matrix import load
from caseshield.settings import MAX_STACK_NAME, SettingsError, load_settings
from components.base import DataClassScope
from components.org_guardrail import (
    CASE_DATA_CLASSES,
    POLICY_SIZE_LIMIT,
    RCP,
    SCP,
    TYPE_TOKEN,
    OrganizationGuardrailArgs,
    compact_json,
    rcp_statements,
    scp_statements,
    within_limit,
)
from policies import catalog as catalog_module
from policies.mutants import MUTANTS
from policies.mutants import load_all as load_mutants
from policies.mutants.organization import ENABLED
from policies.pack import build_policies
from policies.rules import RULES
from policies.rules import load_all as load_rules
from policies.rules import organization as org
from policies.rules._support import UNKNOWN
from tests.conftest import STACKS, graph_of
from tests.rule_worlds import Builder, World, check, props, registered, run
from tests.test_settings import config_for

load_rules()
load_mutants()
MATRIX = load()
ORG_POLICY = "aws:organizations/policy:Policy"
ORG_ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ADMIN_ROLE = ENABLED["orgGuardrailAdminRoleArn"]
ACCOUNT = "123456789012"
OU = "ou-ab12-cd34ef56"


@cache
def enabled(stack: str, targets: tuple[str, ...] = (OU,)) -> ResourceGraph:
    return evaluate(stack, overrides={**ENABLED, "orgGuardrailTargetIds": list(targets)})


@cache
def org_policies() -> list:
    return [p for p in build_policies(catalog_module.load()) if RULES[p.name].control == "ORG-01"]


def contents(graph: ResourceGraph) -> dict[str, dict[str, Any]]:
    return {r.inputs["type"]: json.loads(r.inputs["content"]) for r in graph.of_type(ORG_POLICY)}


# --- off by default -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_off_by_default_registers_nothing_but_exports_the_documents_for_review(stack: str) -> None:
    graph = graph_of(stack)
    assert load_settings(config_for(stack), stack).org_guardrail_enabled is False
    assert [r for r in graph.resources if r.type in (TYPE_TOKEN, ORG_POLICY, ORG_ATTACHMENT)
            or "org-guardrail" in r.name] == []
    exported = graph.stack_outputs["org_guardrail_documents"]
    assert set(exported) == {"service_control_policy", "resource_control_policy"}
    for text in exported.values():
        assert len(text) <= POLICY_SIZE_LIMIT and json.loads(text)["Statement"]
    if stack == "prod":  # what would be attached is exactly what the review sees
        assert {SCP: json.loads(exported["service_control_policy"]),
                RCP: json.loads(exported["resource_control_policy"])} == contents(enabled(stack))


def test_the_switch_is_set_off_explicitly_in_every_stack_file() -> None:
    from caseshield.project import load_project

    for stack in STACKS:
        assert load_project().stack_document(stack)["config"]["caseshield:orgGuardrailEnabled"] is False


# --- switched on ----------------------------------------------------------------------------------------------------

def test_enabled_creates_an_scp_and_an_rcp_attached_to_every_target_through_the_administrators_role() -> None:
    graph = enabled("dev", (ACCOUNT, OU))
    (component,) = graph.of_type(TYPE_TOKEN)
    policies = {r.inputs["type"]: r for r in graph.of_type(ORG_POLICY)}
    assert set(policies) == {SCP, RCP}
    assert all(r.parent == component.urn for r in policies.values())
    attachments = graph.of_type(ORG_ATTACHMENT)
    found = sorted((graph.depends_on(a, "policyId")[0].inputs["type"], a.inputs["targetId"]) for a in attachments)
    assert found == sorted((kind, target) for kind in (SCP, RCP) for target in (ACCOUNT, OU))
    providers = [r for r in graph.resources if r.type == "pulumi:providers:aws" and r.parent == component.urn]
    (provider,) = providers
    # (the engine hands a provider's structured inputs JSON-encoded)
    decoded = {k: json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v for k, v in provider.inputs.items()}
    assert [a["roleArn"] for a in decoded["assumeRoles"]] == [ADMIN_ROLE]
    assert decoded["allowedAccountIds"] == [ADMIN_ROLE.split(":")[4]]
    for resource in [*policies.values(), *attachments]:
        assert resource.provider is not None and resource.provider.startswith(provider.urn)
        assert not resource.protect  # dev: a switched-off guardrail may be removed


def test_in_prod_the_guardrail_is_protected_and_retained() -> None:
    graph = enabled("prod")
    for resource in [*graph.of_type(ORG_POLICY), *graph.of_type(ORG_ATTACHMENT)]:
        assert resource.protect and resource.retain_on_delete, resource.name


def test_the_documents_name_the_matrix_not_a_hand_kept_list() -> None:
    graph = enabled("prod")
    scp = contents(graph)[SCP]
    by_sid = {s["Sid"]: s for s in scp["Statement"]}
    for dc in CASE_DATA_CLASSES:
        exempt = by_sid[org_sid(dc)]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        holders = {f"arn:aws:iam::{ACCOUNT}:role/cs-prod-{r.name}" for r in MATRIX.roles.values() if r.can(dc, "read")}
        assert holders <= set(exempt)
        assert ({f"arn:aws:iam::{ACCOUNT}:role/cs-prod-{r.name}" for r in MATRIX.roles.values()} - holders) & set(exempt) == set()
    assert "rds-db:connect" in by_sid["CaseDatabaseOnlyToTheMatrix"]["Action"]
    rcp = contents(graph)[RCP]
    assert all(a.split(":")[0] in ("s3", "kms", "secretsmanager") for s in rcp["Statement"] for a in s["Action"])
    assert all(s["Principal"] == "*" for s in rcp["Statement"])


def org_sid(data_class: str) -> str:
    return "".join(w.capitalize() for w in data_class.split("-")) + "OnlyToTheMatrix"


def test_switching_it_on_breaks_no_control_and_passes_its_own() -> None:
    graph = enabled("prod")
    policies = build_policies(catalog_module.load())
    before = {(v.policy, v.message) for v in checks.run_policies(graph_of("prod"), policies)}
    after = {(v.policy, v.message) for v in checks.run_policies(graph, policies)}
    assert after - before == set()
    result = checks.run_engine(graph, org_policies())
    assert result.violations == [] and result.errors == [] and result.skipped == []


def test_at_first_preview_the_rules_wait_for_the_documents() -> None:
    result = checks.run_engine(evaluate("prod", overrides=ENABLED, preview=True), org_policies())
    assert result.violations == [] and result.errors == []
    assert {s.policy for s in result.skipped} == {r.id for r in RULES.values() if r.control == "ORG-01"}


def test_the_terraform_translation_covers_the_guardrail() -> None:
    plan = json.dumps(tp.translate(enabled("prod")), default=lambda o: getattr(o, "__dict__", str(o)))
    assert "aws_organizations_policy" in plan and "aws_organizations_policy_attachment" in plan


# --- size -----------------------------------------------------------------------------------------------------------

def longest_args() -> OrganizationGuardrailArgs:
    """The longest stack name with realistic deploy-time ARNs (UUID key ids, a full-length bucket name)."""
    settings = dataclasses.replace(load_settings(config_for("prod"), "prod"), stack="s" * MAX_STACK_NAME)
    acct, region = ACCOUNT, "us-east-1"

    def key(n: int) -> str:
        return f"arn:aws:kms:{region}:{acct}:key/{n:08d}-1234-1234-1234-123456789012"

    bucket = "arn:aws:s3:::" + "caseshield-documents-bucket-".ljust(63, "x")
    scopes = {
        "case-documents": DataClassScope(key(1), [bucket, f"{bucket}/*"]),
        "case-database": DataClassScope(key(2), [f"arn:aws:rds:{region}:{acct}:db:{settings.name_prefix}-case-db"],
                                        f"arn:aws:rds-db:{region}:{acct}:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        "application-secrets": DataClassScope(key(3), [
            f"arn:aws:secretsmanager:{region}:{acct}:secret:rds!db-12345678-1234-1234-1234-123456789012-AbCdEf"]),
    }
    return OrganizationGuardrailArgs(settings, MATRIX, acct, "aws", scopes, [
        f"arn:aws:iam::{acct}:policy/{settings.name_prefix}-permissions-boundary",
        f"arn:aws:iam::{acct}:policy/{settings.name_prefix}-service-boundary"])


@pytest.mark.parametrize("kind", [SCP, RCP])
def test_each_document_fits_at_the_longest_stack_name(kind: str) -> None:
    args = longest_args()
    text = compact_json(scp_statements(args) if kind == SCP else rcp_statements(args))
    assert args.settings.name_prefix in text
    assert len(text) <= POLICY_SIZE_LIMIT, f"{kind}: {len(text)} characters"
    assert within_limit(kind, text) == text


@pytest.mark.parametrize("stack", STACKS)
def test_each_generated_document_fits(stack: str) -> None:
    """The documents each shipped stack renders (and would attach) are within Organizations' limit."""
    for kind, text in graph_of(stack).stack_outputs["org_guardrail_documents"].items():
        assert text == compact_json(json.loads(text)["Statement"])  # rendered without whitespace
        assert len(text) <= POLICY_SIZE_LIMIT, f"{stack} {kind}: {len(text)} characters"


def test_a_document_over_the_limit_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"service control policy is 5121 characters; AWS Organizations accepts at most 5120"):
        within_limit("service control policy", "x" * (POLICY_SIZE_LIMIT + 1))


# --- settings -------------------------------------------------------------------------------------------------------

VALID = {**ENABLED}
BAD = [
    ("no-targets", {**VALID, "orgGuardrailTargetIds": []}, "caseshield:orgGuardrailTargetIds",
     "is required when orgGuardrailEnabled is true", "orgGuardrailTargetIds[0]"),
    ("no-administrator", {**VALID, "orgGuardrailAdminRoleArn": ""}, "caseshield:orgGuardrailAdminRoleArn",
     "is required when orgGuardrailEnabled is true", "pulumi config set orgGuardrailAdminRoleArn"),
    ("no-account", {**VALID, "aws:allowedAccountIds": None}, "caseshield:orgGuardrailEnabled",
     "needs the stack's account declared", "aws:allowedAccountIds[0]"),
    ("administered-from-the-workload-account", {**VALID, "orgGuardrailAdminRoleArn": f"arn:aws:iam::{ACCOUNT}:role/admin"},
     "caseshield:orgGuardrailAdminRoleArn", "is in the stack's own account", "management account"),
    ("attached-to-the-management-account", {**VALID, "orgGuardrailTargetIds": [OU, "111122223333"]},
     "caseshield:orgGuardrailTargetIds", "never bind the management account", "stack's account, or the OU"),
    ("only-other-accounts", {**VALID, "orgGuardrailTargetIds": ["444455556666"]}, "caseshield:orgGuardrailTargetIds",
     f"not the stack's account {ACCOUNT}", f"add {ACCOUNT}"),
    ("not-a-target", {**VALID, "orgGuardrailTargetIds": ["ou-1", OU]}, "caseshield:orgGuardrailTargetIds",
     "are not AWS Organizations targets", "the OU that holds it"),
    ("a-user-not-a-role", {**VALID, "orgGuardrailAdminRoleArn": "arn:aws:iam::111122223333:user/alice"},
     "caseshield:orgGuardrailAdminRoleArn", "is not an IAM role ARN", "pulumi config set orgGuardrailAdminRoleArn"),
    ("wildcard-role", {**VALID, "orgGuardrailAdminRoleArn": "arn:aws:iam::111122223333:role/*"},
     "caseshield:orgGuardrailAdminRoleArn", "no wildcards", "pulumi config set orgGuardrailAdminRoleArn"),
    ("other-partition", {**VALID, "orgGuardrailAdminRoleArn": "arn:aws-cn:iam::111122223333:role/admin"},
     "caseshield:orgGuardrailAdminRoleArn", "is in partition aws-cn", "stack's partition"),
    ("malformed-target-while-off", {"orgGuardrailTargetIds": ["o-abc"]}, "caseshield:orgGuardrailTargetIds",
     "are not AWS Organizations targets", "orgGuardrailTargetIds"),
]


@pytest.mark.parametrize(("overrides", "key", "message", "fix"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_settings_refuse_a_guardrail_that_could_not_bind_the_stack(overrides: dict[str, Any], key: str, message: str,
                                                                   fix: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(config_for("prod", overrides), "prod")
    (problem,) = raised.value.problems  # this mistake alone
    assert problem.key == key and message in problem.message and fix in problem.fix
    assert f"{key} = " in str(raised.value) and "Fix:" in str(raised.value)


def test_settings_accept_the_switched_on_configuration_and_the_default() -> None:
    on = load_settings(config_for("prod", VALID), "prod")
    assert on.org_guardrail_enabled and on.org_guardrail_target_ids == (OU,)
    assert on.org_guardrail_admin_role_arn == ADMIN_ROLE
    off = load_settings(config_for("prod"), "prod")
    assert (off.org_guardrail_enabled, off.org_guardrail_target_ids, off.org_guardrail_admin_role_arn) == (False, (), "")


def test_an_object_valued_or_misspelled_switch_is_not_a_setting() -> None:
    for overrides, key in (({"orgGuardrail": {"enabled": True}}, "caseshield:orgGuardrail"),
                           ({"orgGuardrailEnable": True}, "caseshield:orgGuardrailEnable")):
        with pytest.raises(SettingsError) as raised:
            load_settings(config_for("dev", overrides), "dev")
        assert [(p.key, "is not a CaseShield setting" in p.message) for p in raised.value.problems] == [(key, True)]


def test_an_invalid_switch_registers_nothing() -> None:
    with pytest.raises(SettingsError) as raised:
        evaluate("dev", overrides={"orgGuardrailEnabled": True})
    keys = sorted(p.key for p in raised.value.problems)
    assert keys == ["caseshield:orgGuardrailAdminRoleArn", "caseshield:orgGuardrailEnabled",
                    "caseshield:orgGuardrailTargetIds"]


# --- the rules, through the handler, on hand-built worlds ------------------------------------------------------------

PREFIX = "cs-prod"
IAM = f"arn:aws:iam::{ACCOUNT}"
BOUNDARY = f"{IAM}:policy/{PREFIX}-permissions-boundary"
SERVICE_BOUNDARY = f"{IAM}:policy/{PREFIX}-service-boundary"
BUCKET = "arn:aws:s3:::cs-prod-case-documents"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!cs-prod-case-db"
DB_USERS = f"arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:db-ABC"
SERVICE_ROLES = {"backup": "backup.amazonaws.com", "app-instance": "ec2.amazonaws.com"}
DATA_RULE = org.organization_guardrail_keeps_case_data_to_the_matrix
BOUNDARY_RULE = org.organization_guardrail_keeps_every_boundary


def key_arn(dc: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{dc}"


def world_args() -> OrganizationGuardrailArgs:
    settings = load_settings(config_for("prod"), "prod")
    scopes = {
        "case-documents": DataClassScope(key_arn("case-documents"), [BUCKET, f"{BUCKET}/*"]),
        "case-database": DataClassScope(key_arn("case-database"), [f"arn:aws:rds:us-east-1:{ACCOUNT}:db:cs-prod-case-db"],
                                        DB_USERS),
        "application-secrets": DataClassScope(key_arn("application-secrets"), [SECRET]),
    }
    return OrganizationGuardrailArgs(settings, MATRIX, ACCOUNT, "aws", scopes, [BOUNDARY, SERVICE_BOUNDARY])


def world(env: str = "prod", *, scp: list[dict[str, Any]] | None = None, rcp: list[dict[str, Any]] | None = None,
          guardrail: bool = True) -> World:
    """A stack as the program makes it with the guardrail on: matrix and service roles, the case data, and the
    guardrail's SCP and RCP (generated by the component from plain ARNs), each attached to an OU."""
    b = Builder(env)
    b.add("caseshield-roles", "caseshield:identity:RoleMatrix", {})
    for name in MATRIX.roles:
        b.add(f"caseshield-roles-{name}", org.ROLE, {"name": f"{PREFIX}-{name}", "arn": f"{IAM}:role/{PREFIX}-{name}",
                                                     "permissionsBoundary": BOUNDARY}, parent="caseshield-roles")
    for name, service in SERVICE_ROLES.items():
        b.add(f"{name}-role", org.ROLE, {"name": f"{PREFIX}-{name}", "arn": f"{IAM}:role/{PREFIX}-{name}",
                                         "permissionsBoundary": SERVICE_BOUNDARY,
                                         "assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [{
                                             "Effect": "Allow", "Principal": {"Service": service},
                                             "Action": "sts:AssumeRole"}]})})
    for dc in MATRIX.actions:
        b.add(f"key-{dc}", org.KMS_KEY, {"arn": key_arn(dc), "tags": {"data-classification": dc}})
    b.add("documents", "aws:s3/bucket:Bucket", {"arn": BUCKET, "tags": {"data-classification": "case-documents"}})
    b.add("database", org.RDS_INSTANCE, {"arn": f"arn:aws:rds:us-east-1:{ACCOUNT}:db:cs-prod-case-db", "resourceId": "db-ABC",
                                         "masterUserSecrets": [{"secretArn": SECRET}],
                                         "tags": {"data-classification": "case-database"}})
    if guardrail:
        b.add("guardrail", org.GUARDRAIL, {})
        documents = {"scp": (SCP, scp if scp is not None else scp_statements(world_args())),
                     "rcp": (RCP, rcp if rcp is not None else rcp_statements(world_args()))}
        for name, (type_, found) in documents.items():
            b.add(name, org.ORG_POLICY, {"type": type_, "content": compact_json(found)}, parent="guardrail")
            b.add(f"{name}-attachment", org.ORG_ATTACHMENT, {"policyId": f"p-{name}", "targetId": OU},
                  {"policyId": [name]}, parent=name)
    return b.world


def evidence(found: list[str]) -> list[str]:
    """The evidence lines of the violation messages: `principal: request; request`."""
    lines: list[str] = []
    for message in found:
        lines += json.loads(message.split(" = ", 1)[1].rsplit("; expected ", 1)[0])
    return lines


def leaked(found: list[str], principal: str, action: str) -> bool:
    return any(line.startswith(f"{principal}: ") and action in line for line in evidence(found))


def edited(statements: list[dict[str, Any]], sid: str, change: Any) -> list[dict[str, Any]]:
    copied = json.loads(json.dumps(statements))
    for statement in copied:
        if statement.get("Sid") == sid:
            change(statement)
    return copied


def without_sid(statements: list[dict[str, Any]], sid: str) -> list[dict[str, Any]]:
    return [s for s in statements if s.get("Sid") != sid]


def exempt(*arns: str, operator: str = "ArnNotEquals") -> Any:
    def change(statement: dict[str, Any]) -> None:
        tests = statement["Condition"].pop(operator if operator in statement["Condition"] else next(iter(statement["Condition"])))
        statement["Condition"][operator] = {"aws:PrincipalArn": [*tests["aws:PrincipalArn"], *arns]}
    return change


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("rule", [DATA_RULE, BOUNDARY_RULE])
def test_the_generated_guardrail_holds(rule: Any, env: str) -> None:
    assert check(rule, world(env)) == []


@pytest.mark.parametrize("rule", [DATA_RULE, BOUNDARY_RULE])
def test_no_guardrail_nothing_to_judge(rule: Any) -> None:
    assert check(rule, world(guardrail=False)) == []
    assert check(rule, []) == []


SCP_DOC = scp_statements(world_args())
RCP_DOC = rcp_statements(world_args())


ROOT = f"{IAM}:root"
DEPLOYER = f"{IAM}:role/{PREFIX}-ci-deployer"
ELSEWHERE = f"arn:aws:iam::210987654321:role/{PREFIX}-partner"


@pytest.mark.parametrize(("scp", "principal", "action"), [
    (edited(SCP_DOC, "CaseDocumentsOnlyToTheMatrix", exempt(DEPLOYER)), DEPLOYER, "s3:GetObject"),
    (edited(SCP_DOC, "CaseDocumentsOnlyToTheMatrix", exempt(f"{IAM}:role/{PREFIX}-*", operator="ArnNotLike")),
     f"{IAM}:role/{PREFIX}-outside-the-role-matrix", "s3:GetObject"),
    (edited(SCP_DOC, "ApplicationSecretsOnlyToTheMatrix", exempt(f"{IAM}:role/{PREFIX}-backup")),
     f"{IAM}:role/{PREFIX}-backup", "secretsmanager:GetSecretValue"),
    (edited(SCP_DOC, "CaseDatabaseOnlyToTheMatrix", lambda s: s.update(Action=["kms:Decrypt"])), ROOT, "rds-db:connect"),
    (edited(SCP_DOC, "CaseDatabaseOnlyToTheMatrix",
            lambda s: s.update(Condition={"StringNotEquals": {"aws:PrincipalTag/team": "litigation"}})),
     f"{IAM}:user/{PREFIX}-administrator", "kms:Decrypt on arn:aws:kms:us-east-1:123456789012:key/case-database"),
    (edited(SCP_DOC, "CaseDocumentsOnlyToTheMatrix", lambda s: s.update(Resource=[key_arn("case-documents")])),
     ROOT, "s3:GetObject on arn:aws:s3:::cs-prod-case-documents/matters"),
    (without_sid(SCP_DOC, "ApplicationSecretsOnlyToTheMatrix"), ELSEWHERE, "secretsmanager:GetSecretValue"),
])
def test_the_data_rule_fires_on_each_weakening_of_the_scp(scp: list[dict[str, Any]], principal: str, action: str) -> None:
    found = check(DATA_RULE, world(scp=scp))
    assert found and all("scp: the guardrail lets principals the role matrix does not grant" in f for f in found), found
    assert leaked(found, principal, action), evidence(found)
    assert check(BOUNDARY_RULE, world(scp=scp)) == []


def test_a_matrix_holder_shut_out_is_reported_too() -> None:
    partner = f"{IAM}:role/{PREFIX}-partner"

    def drop_partner(statement: dict[str, Any]) -> None:
        tests = statement["Condition"]["ArnNotEquals"]
        tests["aws:PrincipalArn"] = [a for a in tests["aws:PrincipalArn"] if a != partner]

    found = check(DATA_RULE, world(scp=edited(SCP_DOC, "CaseDocumentsOnlyToTheMatrix", drop_partner)))
    assert [f.split(" [", 1)[0] for f in found] == ["scp: the guardrail denies case-documents to matrix roles that hold it"]
    assert leaked(found, partner, "s3:GetObject")


def test_aws_backup_may_read_what_it_backs_up_and_nothing_else() -> None:
    backup = f"{IAM}:role/{PREFIX}-backup"
    assert backup in json.dumps(SCP_DOC)
    assert check(DATA_RULE, world()) == []
    app = f"{IAM}:role/{PREFIX}-app-instance"
    found = check(DATA_RULE, world(scp=edited(SCP_DOC, "CaseDocumentsOnlyToTheMatrix", exempt(app))))
    assert leaked(found, app, "s3:GetObject") and not leaked(found, backup, "s3:GetObject")


@pytest.mark.parametrize(("rcp", "principal", "action"), [
    (without_sid(RCP_DOC, "ApplicationSecretsOnlyToTheMatrix"), ELSEWHERE, "secretsmanager:GetSecretValue"),
    (edited(RCP_DOC, "CaseDocumentsOnlyToTheMatrix", lambda s: s["Condition"].update(
        BoolIfExists={"aws:PrincipalIsAWSService": "true"})), ROOT, "s3:GetObject"),
    (edited(RCP_DOC, "CaseDatabaseOnlyToTheMatrix", exempt(ELSEWHERE, operator="ArnNotEqualsIfExists")),
     ELSEWHERE, "kms:Decrypt"),
])
def test_the_data_rule_fires_on_each_weakening_of_the_rcp(rcp: list[dict[str, Any]], principal: str, action: str) -> None:
    found = check(DATA_RULE, world(rcp=rcp))
    assert found and all(f.startswith("rcp: the guardrail lets principals") for f in found), found
    assert leaked(found, principal, action), evidence(found)


def test_the_rcp_is_not_asked_for_what_rcps_cannot_govern() -> None:
    """rds-db:connect has no RCP support: an RCP without it is complete, the SCP carries it alone."""
    assert "rds-db:connect" not in json.dumps(RCP_DOC) and "rds-db:connect" in json.dumps(SCP_DOC)
    assert check(DATA_RULE, world()) == []


def test_a_missing_or_unattached_policy_is_reported() -> None:
    w = world()
    no_rcp = {k: r for k, r in w.items() if k not in ("rcp", "rcp-attachment")}
    assert any("has no resource control policy" in f for f in check(DATA_RULE, no_rcp))
    unattached = {k: r for k, r in w.items() if k != "scp-attachment"}
    assert any("scp: the guardrail's service control policy is attached to no target" in f
               for f in check(DATA_RULE, unattached))
    props(w["scp"]).pop("type")  # Organizations' default type is an SCP
    assert check(DATA_RULE, w) == []


def boundaries_by_pattern(statement: dict[str, Any]) -> None:
    """Accept any policy named like the blueprint's (`<prefix>-*`) as a boundary: anyone may create one."""
    statement["Condition"].pop("StringNotEquals")
    statement["Condition"]["StringNotLike"] = {"iam:PermissionsBoundary": f"{IAM}:policy/{PREFIX}-*"}


@pytest.mark.parametrize(("scp", "principal", "action"), [
    (without_sid(SCP_DOC, "BoundariesStay"), DEPLOYER, "iam:DeleteRolePermissionsBoundary"),
    (edited(SCP_DOC, "BoundariesStay", lambda s: s.update(Action=["iam:DeleteRolePermissionsBoundary"])),
     ROOT, "iam:CreatePolicyVersion on " + BOUNDARY),
    (edited(SCP_DOC, "OnlyTheBlueprintBoundary", exempt(DEPLOYER)), DEPLOYER, "iam:PutRolePermissionsBoundary"),
    (edited(SCP_DOC, "OnlyTheBlueprintBoundary", lambda s: s["Condition"].update(
        StringNotEquals={"iam:PermissionsBoundary": f"{IAM}:policy/{PREFIX}-another-boundary"})),
     f"{IAM}:role/{PREFIX}-app-instance", "iam:PutRolePermissionsBoundary"),
    (edited(SCP_DOC, "BoundariesStay", lambda s: s.update(Resource=[BOUNDARY, SERVICE_BOUNDARY])), ROOT,
     "iam:DeleteRolePermissionsBoundary"),
    (edited(SCP_DOC, "BoundariesStay", lambda s: s.update(Resource=[f"{IAM}:role/{PREFIX}-*", BOUNDARY])), DEPLOYER,
     "iam:CreatePolicyVersion on " + SERVICE_BOUNDARY),
    (edited(SCP_DOC, "OnlyTheBlueprintBoundary", boundaries_by_pattern), f"{IAM}:user/{PREFIX}-administrator",
     "iam:PutRolePermissionsBoundary"),
])
def test_the_boundary_rule_fires_on_each_weakening(scp: list[dict[str, Any]], principal: str, action: str) -> None:
    found = check(BOUNDARY_RULE, world(scp=scp))
    assert found and all("remove, replace or edit a permissions boundary" in f for f in found), found
    assert leaked(found, principal, action), evidence(found)


def test_break_glass_may_be_exempt_from_the_boundary_denies_but_need_not_be() -> None:
    strict = edited(SCP_DOC, "BoundariesStay", lambda s: s.pop("Condition"))
    assert check(BOUNDARY_RULE, world(scp=strict)) == []


@pytest.mark.parametrize("rule", [DATA_RULE, BOUNDARY_RULE])
def test_unknown_documents_are_judged_later_never_passed(rule: Any) -> None:
    w = world()
    props(w["scp"])["content"] = UNKNOWN
    result = run(rule, w)
    assert result.violations == [] and result.errors == []
    assert [s.policy for s in result.skipped] == [registered(rule).id]


# --- mutants, through the mutation runner -------------------------------------------------------------------------

@pytest.mark.parametrize("mutant_id", sorted(m for m in MUTANTS if MUTANTS[m].control == "ORG-01"))
def test_each_guardrail_mutant_is_caught_by_org_01(mutant_id: str) -> None:
    mutant = MUTANTS[mutant_id]
    assert mutant.overrides == ENABLED and mutant.transform is not None
    baseline = {(v.policy, v.urn, v.message) for v in checks.run_policies(graph_of(mutant.stack), org_policies())}
    result = run_mutant(mutant, org_policies(), baseline)
    assert result.killed and all(RULES[r].control == "ORG-01" for r in result.caught_by), result
