"""Identity in isolation: role-matrix roles, account guardrails and the user directory, evaluated offline.

The program builds bare KMS keys and literal resource ARNs, so every grant can be compared with exactly the
resources it should name.
"""

from __future__ import annotations

import dataclasses
import json
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml
from pulumi.runtime import rpc

from caseshield import role_matrix
from caseshield.iam_actions import takes_only_star
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.role_matrix import RoleMatrix, RoleMatrixError
from caseshield.settings import Settings, from_pulumi
from components.base import DATA_CLASSES, DataClassScope, role_arn, role_name
from components.identity import (
    ADMIN_ACTIONS,
    CRYPTO_ACTIONS,
    KEY_READ_ACTIONS,
    AccountGuardrails,
    AccountGuardrailsArgs,
    RoleMatrixRoles,
    RoleMatrixRolesArgs,
)
from components.user_directory import UserDirectory, UserDirectoryArgs

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
VENDOR_SESSION_HOURS = 2  # not the 1-hour default, so the vendor's session length is told apart from the others
RESOURCE_ARNS: dict[str, list[str]] = {
    "case-documents": ["arn:aws:s3:::cs-case-documents", "arn:aws:s3:::cs-case-documents/*"],
    "case-database": [f"arn:aws:rds:{REGION}:{ACCOUNT}:db:cs-case-database"],
    "audit-logs": ["arn:aws:s3:::cs-audit-archive", "arn:aws:s3:::cs-audit-archive/*",
                   f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/cs/audit:*",
                   f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/cs-audit-trail"],
    "backups": [f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:cs-vault",
                f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:*"],
    "application-secrets": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:cs/app-*"],
    "operational-logs": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/cs/app:*"],
}
DB_USER_PREFIX = f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:db-OFFLINE"
CASE_DATA = ("case-documents", "case-database", "application-secrets")
READ_VERBS = ("Get", "List", "Describe", "Lookup", "Filter")
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def program() -> None:
    s = from_pulumi()
    matrix = role_matrix.load()
    account_id = aws.get_caller_identity().account_id
    partition = aws.get_partition().partition
    keys = {dc: aws.kms.Key(f"key-{dc}") for dc in DATA_CLASSES}
    scopes = {dc: DataClassScope(key_arn=keys[dc].arn, resource_arns=RESOURCE_ARNS[dc],
                                 database_user_arn_prefix=DB_USER_PREFIX if dc == "case-database" else None)
              for dc in DATA_CLASSES}
    roles = RoleMatrixRoles("identity", RoleMatrixRolesArgs(s, matrix, account_id, partition, scopes))
    AccountGuardrails("guardrails", AccountGuardrailsArgs(s))
    UserDirectory("directory", UserDirectoryArgs(s, matrix, account_id))
    pulumi.export("key_arns", {dc: key.arn for dc, key in keys.items()})
    pulumi.export("vendor_external_id", roles.vendor_external_id)


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program, overrides={"vendorSessionHours": VENDOR_SESSION_HOURS})


@cache
def settings(stack: str) -> Settings:
    from caseshield.settings import load_settings

    return load_settings(graph(stack).config, stack)


@pytest.fixture
def prod() -> ResourceGraph:
    return graph("prod")


@pytest.fixture
def dev() -> ResourceGraph:
    return graph("dev")


@pytest.fixture
def matrix() -> RoleMatrix:
    return role_matrix.load()


# -- helpers ------------------------------------------------------------------------------------------------------

def document(resource: RecordedResource, prop: str) -> dict[str, Any]:
    value = resource.inputs[prop]
    return json.loads(rpc.unwrap_rpc_secret(value))


def statements(doc: dict[str, Any], effect: str | None = None) -> list[dict[str, Any]]:
    return [s for s in doc["Statement"] if effect is None or s["Effect"] == effect]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(g: ResourceGraph, role: str) -> RecordedResource:
    return g.one(ROLE, f"identity-{role}")


def inline_policies(g: ResourceGraph, role: str) -> dict[str, dict[str, Any]]:
    """Policy name -> parsed document, for the inline policies of one matrix role."""
    physical = role_name(settings(g.stack), role)
    return {p.inputs["name"]: document(p, "policy") for p in g.of_type(ROLE_POLICY) if p.inputs["role"] == physical}


def attached(g: ResourceGraph, role: str) -> set[str]:
    physical = role_name(settings(g.stack), role)
    return {a.inputs["policyArn"].rsplit("/", 1)[1] for a in g.of_type(ATTACHMENT) if a.inputs["role"] == physical}


def all_statements(g: ResourceGraph, role: str, effect: str) -> list[dict[str, Any]]:
    return [s for doc in inline_policies(g, role).values() for s in statements(doc, effect)]


def denied(g: ResourceGraph, role: str, action: str, resource: str) -> bool:
    """Whether an unconditional explicit Deny in the role's inline policies matches the request."""
    return any(
        "Condition" not in s
        and any(fnmatchcase(action, a) for a in as_list(s["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(s["Resource"]))
        for s in all_statements(g, role, "Deny")
    )


def key_arns(g: ResourceGraph) -> dict[str, str]:
    return g.stack_outputs["key_arns"]


def boundary(g: ResourceGraph) -> RecordedResource:
    return g.one("aws:iam/policy:Policy", "identity-permissions-boundary")


# -- roles and trust ----------------------------------------------------------------------------------------------

def test_generated_roles_are_exactly_the_matrix_roles(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    s = settings("prod")
    names = sorted(r.inputs["name"] for r in prod.of_type(ROLE))
    assert names == sorted(role_name(s, r) for r in matrix.roles)
    component = prod.one("caseshield:identity:RoleMatrix", "identity")
    assert all(r.parent == component.urn for r in prod.of_type(ROLE))


def test_human_roles_need_present_and_recent_mfa(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    humans = [r for r in matrix.roles.values() if r.trust == "human"]
    assert humans
    for role in humans:
        resource = role_of(prod, role.name)
        (trust,) = statements(document(resource, "assumeRolePolicy"))
        assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole", role.name
        assert trust["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, role.name
        assert trust["Condition"]["ArnLike"] == {"aws:PrincipalArn": [
            f"arn:aws:iam::{ACCOUNT}:user/caseshield/{role.name}/*"]}, role.name
        assert trust["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}, role.name
        assert trust["Condition"]["NumericLessThanEquals"] == {
            "aws:MultiFactorAuthAge": str(matrix.mfa_max_age_seconds)}, role.name
        assert resource.inputs["maxSessionDuration"] == 3600, role.name


def test_vendor_needs_the_secret_external_id_and_gets_short_sessions(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    (vendor,) = [r.name for r in matrix.roles.values() if r.trust == "vendor"]
    resource = role_of(prod, vendor)
    assert rpc.is_rpc_secret(resource.inputs["assumeRolePolicy"]), "the trust policy holds the ExternalId"
    (trust,) = statements(document(resource, "assumeRolePolicy"))
    external_id = prod.stack_outputs["vendor_external_id"]
    assert isinstance(external_id, str) and len(external_id) == 32
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": external_id}}
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}  # vendor_account_id "" = this account
    assert resource.inputs["maxSessionDuration"] == VENDOR_SESSION_HOURS * 3600
    generator = prod.one("random:index/randomPassword:RandomPassword")
    assert generator.inputs["length"] == 32 and generator.inputs["special"] is False


def test_ci_jobs_each_trust_their_own_oidc_subject_for_sts(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    s = settings("prod")
    subjects = {"ci-deployer": s.ci_oidc_subject, "ci-auditor": s.ci_audit_oidc_subject}
    assert sorted(r.name for r in matrix.roles.values() if r.trust == "oidc") == sorted(subjects)
    assert s.ci_oidc_subject != s.ci_audit_oidc_subject
    provider = prod.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == s.ci_oidc_provider_url
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    host = s.ci_oidc_provider_url.removeprefix("https://")
    for name, subject in subjects.items():
        resource = role_of(prod, name)
        assert prod.depends_on(resource, "assumeRolePolicy") == [provider]
        (trust,) = statements(document(resource, "assumeRolePolicy"))
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert set(trust["Principal"]) == {"Federated"}
        assert trust["Condition"] == {"StringEquals": {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": subject}}, name
        assert resource.inputs["maxSessionDuration"] == 3600


# -- boundary -----------------------------------------------------------------------------------------------------

def test_every_role_carries_the_boundary(prod: ResourceGraph) -> None:
    policy = boundary(prod)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-permissions-boundary"
    assert policy.inputs["name"] == "cs-prod-permissions-boundary"
    for role in prod.of_type(ROLE):
        assert role.inputs["permissionsBoundary"] == arn, role.name
        assert prod.depends_on(role, "permissionsBoundary") == [policy], role.name


def test_boundary_grants_star_to_nobody_but_break_glass(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    """Issue 11: the boundary used to allow `*` to the deployer; now every Allow names whom it caps for, only
    break-glass has `*`, and nobody (the deployer included) is allowed any `iam:*`."""
    s = settings("prod")
    doc = document(boundary(prod), "policy")
    allows = {st["Sid"]: st for st in statements(doc, "Allow")}
    grantable = {a for r in matrix.roles.values() for dc, lv in r.data.items() for a in matrix.actions_for(dc, lv)}
    assert grantable <= set(allows["MatrixDataActions"]["Action"])
    assert "rds-db:connect" in allows["MatrixDataActions"]["Action"]
    assert not [a for a in allows["MatrixDataActions"]["Action"] if "*" in a]
    # Data actions reach only the roles that hold data: a role the deployer creates under the boundary gets none.
    holders = sorted(role_arn("aws", ACCOUNT, s, r.name) for r in matrix.roles.values() if r.data)
    assert allows["MatrixDataActions"]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": holders}}
    assert not [a for a in allows["ReadOnlyBasics"]["Action"] if a.startswith(("s3:GetObject", "secretsmanager:Get", "ssm:GetParameter"))]
    star = {sid: st for sid, st in allows.items() if "*" in as_list(st["Action"])}
    assert set(star) == {"BreakGlassCeiling"}
    assert star["BreakGlassCeiling"]["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": [role_arn("aws", ACCOUNT, s, "break-glass")]}}
    assert "ElevatedRolesByMatrix" not in allows
    assert not [a for st in allows.values() for a in as_list(st["Action"]) if a in ("iam:*", "kms:*")]
    services = {sid for sid, st in allows.items() if any(a.endswith(":*") for a in as_list(st["Action"]))}
    assert services == {"DeployerCeiling"}, "only the deployer's ceiling names whole services"
    deployer = [role_arn("aws", ACCOUNT, s, "ci-deployer")]
    assert allows["DeployerCeiling"]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": deployer}}
    assert allows["KeyAdministration"]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": sorted(
        role_arn("aws", ACCOUNT, s, r) for r in matrix.key_administrators())}}
    # Managed policies are capped at 6,144 characters without whitespace.
    assert len(json.dumps(doc, separators=(",", ":"))) <= 6144


def test_boundary_guardrails_bind_every_role(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    s = settings("prod")
    boundary_arn = f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-permissions-boundary"
    not_break_glass = {"ArnNotEquals": {"aws:PrincipalArn": [role_arn("aws", ACCOUNT, s, "break-glass")]}}
    denies = {st["Sid"]: st for st in statements(document(boundary(prod), "policy"), "Deny")}
    assert {"iam:CreateUser", "iam:CreateAccessKey"} <= set(denies["NoLongTermCredentials"]["Action"])
    assert "Condition" not in denies["NoLongTermCredentials"]
    # No boundary is ever removed, and one is put on a role only if it is the blueprint's.
    assert denies["NoBoundaryIsEverRemoved"]["Resource"] == "*" and "Condition" not in denies["NoBoundaryIsEverRemoved"]
    # A role is created, given policies or a boundary only while it carries the blueprint's boundary.
    keyed = denies["RolesOnlyUnderThisBoundary"]
    assert {"iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:AttachRolePolicy"} <= set(keyed["Action"])
    assert keyed["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": [
        boundary_arn, f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-service-boundary"]}}
    # Nobody but break-glass edits the boundary (the deployer no longer may), ...
    edit = denies["BoundaryIsImmutable"]
    assert edit["Resource"] == boundary_arn and edit["Condition"] == not_break_glass
    assert {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"} <= set(edit["Action"])
    # ... or the deployer's, break-glass's and the segregated roles' own IAM (their SoD denies), ...
    protected = denies["ProtectedRolesKeepTheirIam"]
    assert sorted(protected["Resource"]) == sorted(role_arn("aws", ACCOUNT, s, r) for r in
                                                   ("break-glass", "ci-deployer", "it-operations", "key-admin", "vendor-support"))
    assert {"iam:DeleteRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DetachRolePolicy"} <= set(protected["Action"])
    assert protected["Condition"] == not_break_glass
    trail = denies["AuditTrailStaysOn"]
    assert set(trail["Action"]) == {"cloudtrail:StopLogging", "cloudtrail:DeleteTrail"} and "Condition" not in trail
    # Keys are deleted by key administrators who do not deploy: a person with MFA, never the pipeline.
    deletion = denies["OnlyKeyAdministratorsDeleteKeys"]
    assert "kms:ScheduleKeyDeletion" in deletion["Action"]
    assert deletion["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [role_arn("aws", ACCOUNT, s, "key-admin")]}}


# -- permissions --------------------------------------------------------------------------------------------------

def test_data_grants_name_exactly_the_scope_resources_and_key(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    keys = key_arns(prod)
    checked = 0
    for role in matrix.roles.values():
        policies = inline_policies(prod, role.name)
        for dc, level in role.data.items():
            by_sid = {st["Sid"]: st for st in statements(policies[dc])}
            actions = matrix.actions_for(dc, level)
            grant = by_sid.get(f"{dc.title().replace('-', '')}{level.title()}")
            # Actions IAM authorizes only on "*" (cloudtrail:LookupEvents) get their own statement on "*".
            unscoped = by_sid.get(f"{dc.title().replace('-', '')}{level.title()}Unscoped")
            if actions:
                scoped = [a for a in actions if not takes_only_star(a)]
                assert grant is not None and grant["Action"] == scoped, (role.name, dc)
                assert grant["Resource"] == RESOURCE_ARNS[dc], (role.name, dc)
                assert (unscoped or {}).get("Action", []) == [a for a in actions if takes_only_star(a)], (role.name, dc)
            key = by_sid[f"Use{dc.title().replace('-', '')}Key"]
            assert key["Resource"] == keys[dc], (role.name, dc)
            expected_key = KEY_READ_ACTIONS + ([] if level == "read" else ["kms:Encrypt"])
            assert sorted(key["Action"]) == sorted(expected_key), (role.name, dc)
            for st in statements(policies[dc], "Allow"):
                assert st is unscoped or "*" not in as_list(st["Resource"]), (role.name, dc, st["Sid"])
            checked += 1
    assert checked == sum(len(r.data) for r in matrix.roles.values())


def test_database_logins_use_the_matrix_database_user(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    holders = [r for r in matrix.roles.values() if "case-database" in r.data]
    assert holders
    for role in holders:
        level = role.data["case-database"]
        (connect,) = [st for st in statements(inline_policies(prod, role.name)["case-database"]) if st["Action"] == "rds-db:connect"]
        assert connect["Resource"] == f"{DB_USER_PREFIX}/{matrix.database_users[level]}", role.name


def test_inline_policies_are_exactly_those_the_matrix_implies(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    constrained = {r for c in matrix.constraints if c.rule in ("no_data_access", "no_access_to") for r in c.roles}
    for role in matrix.roles.values():
        expected = set(role.data)
        expected |= {"key-administration"} if role.administers_keys else set()
        expected |= {"deploy"} if role.deploys_infrastructure else set()
        expected |= {"live-audit"} if role.runs_live_audit else set()
        expected |= {"segregation-of-duties"} if role.name in constrained else set()
        assert set(inline_policies(prod, role.name)) == expected, role.name


def test_key_admin_administers_exactly_the_keys_and_never_uses_them(prod: ResourceGraph) -> None:
    policies = inline_policies(prod, "key-admin")
    assert set(policies) == {"key-administration", "segregation-of-duties"}
    by_sid = {st["Sid"]: st for st in statements(policies["key-administration"])}
    administer = by_sid["AdministerDataClassKeys"]
    # ADMIN_ACTIONS' key actions only: aliases and key listings take other resources (parliament: RESOURCE_MISMATCH).
    assert administer["Action"] and all(any(fnmatchcase(a, p) for p in ADMIN_ACTIONS) for a in administer["Action"])
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey"} <= set(administer["Action"])
    assert not {"kms:CreateAlias", "kms:ListKeys", "kms:DescribeCustomKeyStores"} & set(administer["Action"])
    assert sorted(administer["Resource"]) == sorted(key_arns(prod).values())
    for action in CRYPTO_ACTIONS:
        concrete = action.replace("*", "")
        for key in key_arns(prod).values():
            assert denied(prod, "key-admin", concrete, key), (action, key)
    allowed = [a for st in all_statements(prod, "key-admin", "Allow") for a in as_list(st["Action"])]
    assert not [a for a in allowed if any(fnmatchcase(c.replace("*", ""), a) for c in CRYPTO_ACTIONS)]
    assert attached(prod, "key-admin") == set()


def test_ci_deployer_may_deploy_but_never_reads_case_data(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    allowed = [a for st in all_statements(prod, "ci-deployer", "Allow") for a in as_list(st["Action"])]
    assert {"s3:*", "rds:*", "secretsmanager:*"} <= set(allowed), "broad deploy rights, yet ..."
    keys = key_arns(prod)
    for dc in CASE_DATA:
        assert denied(prod, "ci-deployer", "kms:Decrypt", keys[dc]), dc
    assert denied(prod, "ci-deployer", "s3:GetObject", "arn:aws:s3:::cs-case-documents/*")
    assert denied(prod, "ci-deployer", "s3:GetObjectVersion", "arn:aws:s3:::cs-case-documents/*")
    assert denied(prod, "ci-deployer", "rds-db:connect", f"{DB_USER_PREFIX}/case_reader")
    assert denied(prod, "ci-deployer", "secretsmanager:GetSecretValue", RESOURCE_ARNS["application-secrets"][0])
    # ... while deploy tooling may still read configuration back (HeadBucket needs s3:ListBucket).
    assert not denied(prod, "ci-deployer", "s3:ListBucket", "arn:aws:s3:::cs-case-documents")
    assert "AdministratorAccess" not in attached(prod, "ci-deployer")


def test_ci_deployer_holds_no_iam_wildcard(prod: ResourceGraph) -> None:
    """Issue 11: IAM only as named actions on the blueprint's names; roles only under the boundary; PassRole only
    to the services the blueprint's service roles serve; the environment's services only in its regions."""
    by_sid = {st["Sid"]: st for st in all_statements(prod, "ci-deployer", "Allow")}
    iam = [a for st in by_sid.values() for a in as_list(st["Action"]) if a.startswith("iam:")]
    assert iam and not [a for a in iam if "*" in a]
    boundary_arn = f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-permissions-boundary"
    create = by_sid["ManageBlueprintRolesUnderTheBoundary"]
    assert "iam:CreateRole" in create["Action"] and create["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/cs-prod-*"
    assert create["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}}
    assert by_sid["ManageBlueprintPolicies"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:policy/cs-prod-*"
    pass_role = by_sid["PassServiceRolesToTheirServices"]
    assert pass_role["Action"] == "iam:PassRole" and set(pass_role["Condition"]) == {"StringEquals"}
    assert not [r for r in pass_role["Resource"] if "*" in r or "ci-deployer" in r or "break-glass" in r]
    assert "lambda.amazonaws.com" not in pass_role["Condition"]["StringEquals"]["iam:PassedToService"]
    services = by_sid["DeployEnvironmentServices"]
    assert "iam:*" not in services["Action"] and "kms:*" not in services["Action"]
    assert services["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}
    # What the deployer may never do: rewrite a key policy or switch a key off, or change who may assume a role.
    denies = {st["Sid"]: st for st in all_statements(prod, "ci-deployer", "Deny")}
    assert {"kms:PutKeyPolicy", "kms:DisableKey"} <= set(denies["DeployerNeverRewritesKeys"]["Action"])
    for key in key_arns(prod).values():
        assert denied(prod, "ci-deployer", "kms:PutKeyPolicy", key)
    for role in ("partner", "break-glass", "ci-deployer"):
        assert denied(prod, "ci-deployer", "iam:UpdateAssumeRolePolicy", role_arn("aws", ACCOUNT, settings("prod"), role))


def test_boundary_ceiling_covers_the_deploy_grant(prod: ResourceGraph) -> None:
    """The boundary's coarser ceiling for the deployer must not cut its grant: every action the deploy policy
    allows is within some boundary Allow that names the deployer (or none)."""
    deployer = role_arn("aws", ACCOUNT, settings("prod"), "ci-deployer")
    ceiling = [st for st in statements(document(boundary(prod), "policy"), "Allow")
               if deployer in json.dumps(st.get("Condition", {})) or "Condition" not in st]
    granted = [a for st in statements(inline_policies(prod, "ci-deployer")["deploy"], "Allow") for a in as_list(st["Action"])]
    uncovered = [a for a in granted if not any(fnmatchcase(a.lower(), c.lower()) for st in ceiling for c in as_list(st["Action"]))]
    assert uncovered == []


def test_ci_deployer_is_denied_what_escalation_yaml_denies(prod: ResourceGraph) -> None:
    """The destructive and blinding actions of policies/escalation.yaml's `denied` are explicitly denied to the
    deployer; those it keeps (`allowed`) are not."""
    from caseshield import escalation

    limits = escalation.load()
    for action in limits.denied:
        assert denied(prod, "ci-deployer", action, "arn:aws:s3:::cs-case-documents"), action
    kept = [a for a, roles in limits.allowed.items() if "ci-deployer" in roles]
    assert kept
    for action in kept:
        assert not denied(prod, "ci-deployer", action, "arn:aws:s3:::cs-case-documents"), action


def test_support_and_operations_are_denied_case_content_too(prod: ResourceGraph) -> None:
    for role in ("vendor-support", "it-operations"):
        assert denied(prod, role, "s3:GetObject", "arn:aws:s3:::cs-case-documents/*"), role
        assert denied(prod, role, "kms:Decrypt", key_arns(prod)["case-documents"]), role
        assert not denied(prod, role, "logs:GetLogEvents", RESOURCE_ARNS["operational-logs"][0]), role


def test_security_auditor_reads_and_never_writes(prod: ResourceGraph) -> None:
    assert attached(prod, "security-auditor") == {"SecurityAudit"}
    allowed = [a for st in all_statements(prod, "security-auditor", "Allow") for a in as_list(st["Action"])]
    assert "cloudtrail:LookupEvents" in allowed
    writes = [a for a in allowed if a not in KEY_READ_ACTIONS and not a.split(":", 1)[1].startswith(READ_VERBS)]
    assert writes == []


def test_only_break_glass_is_administrator_and_managed_policies_follow_the_matrix(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    admins = [a for a in prod.of_type(ATTACHMENT) if a.inputs["policyArn"] == "arn:aws:iam::aws:policy/AdministratorAccess"]
    assert [a.inputs["role"] for a in admins] == [role_name(settings("prod"), "break-glass")]
    for role in matrix.roles.values():
        expected = set(role.managed_policies) | ({"AdministratorAccess"} if role.administrator else set())
        assert attached(prod, role.name) == expected, role.name


# -- account guardrails -------------------------------------------------------------------------------------------

def test_account_password_policy(prod: ResourceGraph) -> None:
    policy = prod.one("aws:iam/accountPasswordPolicy:AccountPasswordPolicy").inputs
    assert policy["minimumPasswordLength"] == 14
    assert all(policy[k] is True for k in ("requireUppercaseCharacters", "requireLowercaseCharacters",
                                           "requireNumbers", "requireSymbols", "allowUsersToChangePassword"))
    assert policy["passwordReusePrevention"] == 24
    assert policy["maxPasswordAge"] == 90
    assert policy["hardExpiry"] is False


def test_access_analyzer_covers_the_account(prod: ResourceGraph) -> None:
    analyzer = prod.one("aws:accessanalyzer/analyzer:Analyzer").inputs
    assert analyzer["type"] == "ACCOUNT"
    assert analyzer["analyzerName"] == "cs-prod-account-analyzer"


# -- user directory -----------------------------------------------------------------------------------------------

def test_user_pool_requires_totp_mfa_and_enforces_threat_protection(prod: ResourceGraph) -> None:
    pool = prod.one("aws:cognito/userPool:UserPool")
    inputs = pool.inputs
    assert inputs["mfaConfiguration"] == "ON"
    assert inputs["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert inputs["userPoolAddOns"]["advancedSecurityMode"] == "ENFORCED"
    assert inputs["userPoolTier"] == "PLUS"
    assert inputs["passwordPolicy"] == {"minimumLength": 14, "requireUppercase": True, "requireLowercase": True,
                                        "requireNumbers": True, "requireSymbols": True, "passwordHistorySize": 24,
                                        "temporaryPasswordValidityDays": 1}
    assert inputs["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert inputs["accountRecoverySetting"] == {"recoveryMechanisms": [{"name": "verified_email", "priority": 1}]}
    assert inputs["deletionProtection"] == "ACTIVE"
    assert pool.protect and pool.retain_on_delete


def test_dev_user_pool_can_be_torn_down(dev: ResourceGraph) -> None:
    pool = dev.one("aws:cognito/userPool:UserPool")
    assert pool.inputs["deletionProtection"] == "INACTIVE"
    assert not pool.protect
    assert pool.inputs["name"] == "cs-dev-users"


def test_app_client_is_a_short_lived_code_flow_client(prod: ResourceGraph) -> None:
    s = settings("prod")
    pool = prod.one("aws:cognito/userPool:UserPool")
    client = prod.one("aws:cognito/userPoolClient:UserPoolClient")
    inputs = client.inputs
    assert prod.depends_on(client, "userPoolId") == [pool]
    assert inputs["generateSecret"] is True
    assert inputs["allowedOauthFlowsUserPoolClient"] is True
    assert inputs["allowedOauthFlows"] == ["code"]
    assert inputs["allowedOauthScopes"] == ["openid", "email"]
    assert inputs["callbackUrls"] == [f"https://{s.domain_name}/oauth2/idpresponse"]
    assert inputs["preventUserExistenceErrors"] == "ENABLED"
    assert (inputs["accessTokenValidity"], inputs["idTokenValidity"], inputs["refreshTokenValidity"]) == (1, 1, 12)
    assert inputs["tokenValidityUnits"] == {"accessToken": "hours", "idToken": "hours", "refreshToken": "hours"}
    assert not [f for f in inputs.get("explicitAuthFlows", []) if "PASSWORD" in f]


def test_user_pool_domain_is_prefixed_by_stack_and_account(prod: ResourceGraph) -> None:
    domain = prod.one("aws:cognito/userPoolDomain:UserPoolDomain")
    assert domain.inputs["domain"] == f"cs-prod-{ACCOUNT}"
    assert prod.depends_on(domain, "userPoolId") == [prod.one("aws:cognito/userPool:UserPool")]


def test_user_groups_are_the_human_roles(prod: ResourceGraph, matrix: RoleMatrix) -> None:
    groups = prod.of_type("aws:cognito/userGroup:UserGroup")
    humans = sorted(r.name for r in matrix.roles.values() if r.trust == "human")
    assert sorted(g.inputs["name"] for g in groups) == humans
    assert "ci-deployer" not in humans and "vendor-support" not in humans
    assert all(g.protect for g in groups)


# -- segregation of duties ----------------------------------------------------------------------------------------

def violating_matrix() -> RoleMatrix:
    """The shipped matrix with the CI pipeline given read access to case documents."""
    document = yaml.safe_load(role_matrix.MATRIX_PATH.read_text())
    document["roles"]["ci-deployer"]["data"] = {"case-documents": "read"}
    # parse() refuses a violating document itself, so parse it without constraints and put them back after.
    lax = role_matrix.parse({k: v for k, v in document.items() if k != "segregation_of_duties"})
    return dataclasses.replace(lax, constraints=role_matrix.load().constraints)


def test_a_matrix_breaking_segregation_of_duties_is_rejected_before_any_resource() -> None:
    bad = violating_matrix()
    assert bad.violations()
    refused: list[Exception] = []

    def bad_program() -> None:
        s = from_pulumi()
        scopes = {dc: DataClassScope(key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{dc}", resource_arns=RESOURCE_ARNS[dc])
                  for dc in DATA_CLASSES}
        try:
            RoleMatrixRoles("identity", RoleMatrixRolesArgs(s, bad, ACCOUNT, "aws", scopes))
        except RoleMatrixError as error:
            refused.append(error)

    g = evaluate("dev", program=bad_program)
    assert len(refused) == 1 and "ci-cannot-read-case-data" in str(refused[0])
    assert g.resources == []
