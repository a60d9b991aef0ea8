"""Edge cases of the identity and access rules (IAM-*), on hand-built policy resources.

Each test starts from a small compliant stack generated from the role matrix (`world()`), breaks or blurs one thing,
and runs one rule: compliant passes, the breakage fires, and values still unknown at preview (the engine's sentinel)
never fire on their own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import PolicyResource, StackValidationArgs

from caseshield import escalation
from caseshield.audit.policy import audit_policy
from caseshield.role_matrix import Role, load
from policies.rules import RULES, load_all
from policies.rules import identity as iam
from policies.rules._support import UNKNOWN
from tests.rule_worlds import Builder, World, check, policy, props, run, without

load_all()
MATRIX = load()
MY_RULES = sorted(r for r, rule in RULES.items() if rule.control.startswith("IAM-"))
ACCOUNT = "arn:aws:iam::123456789012:root"


def allow(actions: Any, resource: Any = "arn:aws:s3:::scoped", sid: str = "Grant") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}


def deny(actions: Any, resource: Any = "*", sid: str = "Deny") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": resource}


def trust(kind: str) -> str:
    if kind == "human":
        return policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole", "Condition": {
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "NumericLessThanEquals": {"aws:MultiFactorAuthAge": str(MATRIX.mfa_max_age_seconds)}}})
    if kind == "vendor":
        return policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"sts:ExternalId": "generated-32-characters-of-noise"}}})
    return policy({"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/ci"},
                   "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {
                       "ci.example:aud": "sts.amazonaws.com", "ci.example:sub": "repo:lawfirm/caseshield:environment:prod"}}})


def key_use(level: str) -> list[str]:
    return list(iam.KEY_READ_USE if level == "read" else iam.KEY_WRITE_USE)


def add_role(b: Builder, role: Role) -> None:
    """One matrix role as components/identity.py makes it: trust, boundary, a policy per data class held, the
    segregation denies of the constraints naming it, and its managed policies."""
    key = f"caseshield-roles-{role.name}"
    b.add(key, iam.ROLE, {"name": f"cs-prod-{role.name}", "assumeRolePolicy": trust(role.trust), "maxSessionDuration": 3600,
                          "permissionsBoundary": BOUNDARY_ARN},
          {"permissionsBoundary": ["boundary"]}, parent="caseshield-roles")
    for dc, level in role.data.items():
        statements = [allow(MATRIX.actions_for(dc, level)), allow(key_use(level), key_arn(dc), "UseKey")]
        deps = [f"key-{dc}"]
        if dc == "case-database":
            statements.append(allow(iam.DATABASE_LOGIN, f"{DB_USERS}/{MATRIX.database_users[level]}", "Login"))
            deps.append("database")
        b.add(f"{key}-{dc}", iam.ROLE_POLICY, {"name": dc, "policy": policy(*statements)}, {"role": [key], "policy": deps}, parent=key)
    denies: list[dict[str, Any]] = []
    deps = []
    for c in MATRIX.constraints:
        if role.name in c.roles and c.rule == "no_data_access":
            denies.append(deny(list(iam.KEY_CRYPTO)))
        if role.name in c.roles and c.rule == "no_access_to":
            for dc in c.data_classes:
                denies += [deny(iam.content_actions(MATRIX, dc)[:-1] or ["none:None"], CLASS_ARNS.get(dc, f"arn:{dc}")),
                           deny(iam.CONTENT_KEY_ACTION, key_arn(dc))]
                if dc == "case-database":
                    denies.append(deny(iam.DATABASE_LOGIN, f"{DB_USERS}/*"))
                deps.append(f"key-{dc}")
    if denies:
        b.add(f"{key}-segregation-of-duties", iam.ROLE_POLICY, {"name": "segregation-of-duties", "policy": policy(*denies)},
              {"role": [key], "policy": deps}, parent=key)
    if role.runs_live_audit:
        b.add(f"{key}-live-audit", iam.ROLE_POLICY, {"name": iam.LIVE_AUDIT_POLICY, "policy": json.dumps(audit_policy())},
              {"role": [key]}, parent=key)
    if role.deploys_infrastructure:
        b.add(f"{key}-deploy", iam.ROLE_POLICY, {"name": "deploy", "policy": policy(
            allow(["s3:*", "logs:*", "rds:*"], "*"),
            deny(sorted(escalation.load().denied), "*", "DeployerNeverDestroysOrBlinds"))}, {"role": [key]}, parent=key)
    for managed in [*role.managed_policies, *(["AdministratorAccess"] if role.administrator else [])]:
        b.add(f"{key}-{managed}", iam.ROLE_POLICY_ATTACHMENT, {"policyArn": f"arn:aws:iam::aws:policy/{managed}"},
              {"role": [key]}, parent=key)


BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/cs-prod-permissions-boundary"
# The classified resources' ARNs the world's policies name (the probe rules ask the policies about these).
DB_USERS = "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-TESTRESOURCEID"
CLASS_ARNS = {"case-documents": ["arn:aws:s3:::cs-prod-case-documents", "arn:aws:s3:::cs-prod-case-documents/*"]}


def key_arn(data_class: str) -> str:
    return f"arn:aws:kms:us-east-1:123456789012:key/{data_class}"


def with_arns(w: World) -> World:
    """The world with its keys' and database's ARNs known (the matrix probe rules ask the policies about them)."""
    for dc in MATRIX.actions:
        props(w[f"key-{dc}"])["arn"] = key_arn(dc)
    props(w["database"]).update(arn="arn:aws:rds:us-east-1:123456789012:db:cs-prod-case-db",
                                resourceId=DB_USERS.rsplit(":", 1)[-1])
    return w


def role_arn(name: str) -> str:
    return f"arn:aws:iam::123456789012:role/cs-prod-{name}"


def only(statement: dict[str, Any], *names: str, operator: str = "ArnEquals") -> dict[str, Any]:
    """The statement, for (or, with ArnNotEquals, for all but) the named matrix roles."""
    return {**statement, "Condition": {operator: {"aws:PrincipalArn": [role_arn(n) for n in names]}}}


def boundary_policy(*extra: dict[str, Any]) -> str:
    """The boundary as components/identity.py builds it, in small: ceilings per principal, and the guardrails."""
    return policy(
        only(allow("s3:GetObject", "*", "MatrixDataActions"), "partner"),
        only(allow(["s3:*", "logs:*", "rds:*", "iam:*Role", "iam:*RolePolicy"], "*", "DeployerCeiling"), "ci-deployer"),
        only(allow("*", "*", "BreakGlassCeiling"), "break-glass"),
        deny("iam:DeleteRolePermissionsBoundary", "*", "NoBoundaryIsEverRemoved"),
        {**deny(["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"], "*", "RolesOnlyUnderThisBoundary"),
         "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}},
        only(deny(["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"],
                  BOUNDARY_ARN, "BoundaryIsImmutable"), "break-glass", operator="ArnNotEquals"),
        only(deny(["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy"],
                  [role_arn(r) for r in iam.protected_roles(MATRIX)],
                  "ProtectedRolesKeepTheirIam"), "break-glass", operator="ArnNotEquals"),
        *extra)


def world(env: str = "prod") -> World:
    """A compliant stack: the matrix's roles and boundary, the account guardrails and the user pool."""
    b = Builder(env)
    for dc in MATRIX.actions:
        b.add(f"key-{dc}", "aws:kms/key:Key", {"tags": {"data-classification": dc}})
    b.add("database", iam.RDS_INSTANCE, {"tags": {"data-classification": "case-database"}})
    b.add("documents", "aws:s3/bucket:Bucket", {"arn": "arn:aws:s3:::cs-prod-case-documents",
                                                "tags": {"data-classification": "case-documents"}})
    b.add("caseshield-roles", iam.ROLE_MATRIX, {})
    b.add("boundary", iam.MANAGED_POLICY, {"name": "cs-prod-permissions-boundary", "policy": boundary_policy()},
          parent="caseshield-roles")
    for role in MATRIX.roles.values():
        add_role(b, role)
    b.add("password-policy", iam.PASSWORD_POLICY, {
        "minimumPasswordLength": 14, "requireUppercaseCharacters": True, "requireLowercaseCharacters": True, "requireNumbers": True,
        "requireSymbols": True, "passwordReusePrevention": 24, "maxPasswordAge": 90})
    b.add("analyzer", iam.ACCESS_ANALYZER, {"type": "ACCOUNT"})
    b.add("users", iam.USER_POOL, {
        "mfaConfiguration": "ON", "softwareTokenMfaConfiguration": {"enabled": True},
        "userPoolAddOns": {"advancedSecurityMode": "ENFORCED"}, "adminCreateUserConfig": {"allowAdminCreateUserOnly": True},
        "passwordPolicy": {"minimumLength": 14, "requireUppercase": True, "requireLowercase": True, "requireNumbers": True,
                           "requireSymbols": True, "passwordHistorySize": 24, "temporaryPasswordValidityDays": 1},
        "deletionProtection": "ACTIVE" if env == "prod" else "INACTIVE"})
    # A service role under its own boundary (components/service_roles.py, in small): nothing of IAM or the compute
    # services, no key administration or grant to a principal, no content IAM alone guards, nothing destructive.
    b.add("service-boundary", iam.MANAGED_POLICY, {"name": "cs-prod-service-boundary", "policy": policy(
        {"Sid": "ServiceWorkOutsideIam", "Effect": "Allow", "NotAction": SERVICE_OUT_OF_REACH, "Resource": "*"},
        deny(["kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion"], "*", "NoKeyAdministration"),
        {**deny("kms:CreateGrant", "*", "GrantsOnlyForAwsResources"),
         "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false"}}},
        deny(["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:ModifyInstanceAttribute"], "*", "NoComputeTakeover"),
        deny(["rds-db:connect", "secretsmanager:GetSecretValue", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
              "dynamodb:ExportTableToPointInTime"], "*", "NoCaseContent"),
        deny(escalation.load().destructive(), "*", "NoDestruction"))})
    b.add("app-role", iam.ROLE, {"name": "cs-prod-app-instance", "arn": role_arn("app-instance"),
                                 "permissionsBoundary": "arn:aws:iam::123456789012:policy/cs-prod-service-boundary",
                                 "assumeRolePolicy": policy({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                             "Action": "sts:AssumeRole"})},
          {"permissionsBoundary": ["service-boundary"]})
    b.add("app-role-policy", iam.ROLE_POLICY, {"policy": policy(allow("kms:Decrypt", "arn:key"))}, {"role": ["app-role"]})
    return b.world


SERVICE_OUT_OF_REACH = ["iam:*", "sts:*", "organizations:*", "account:*", "lambda:*", "glue:*", "sagemaker:*",
                        "cloudformation:*", "ecs:*", "ec2-instance-connect:*", "bedrock-agentcore:*", "codebuild:*",
                        "datapipeline:*", "apprunner:*"]


def role(name: str) -> str:
    return f"caseshield-roles-{name}"


def statements_of(resource: PolicyResource, prop: str = "policy") -> list[dict[str, Any]]:
    return json.loads(resource.props[prop])["Statement"]


def set_statements(resource: PolicyResource, found: list[dict[str, Any]], prop: str = "policy") -> None:
    props(resource)[prop] = policy(*found)


# parliament (IAM-13) judges real ARNs and action names; the small world's placeholders ("arn:key/...") are not, so
# its rule is tested on documents of its own below, and on the generated stacks by tests/test_controls.py.
@pytest.mark.parametrize("rule_id", [r for r in MY_RULES if r != "generated-policies-pass-parliament"])
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_compliant_stack_passes(rule_id: str, env: str) -> None:
    assert check(rule_id, world(env)) == []


def test_every_constraint_kind_of_the_matrix_has_a_rule() -> None:
    proven = {"no_data_access", "no_access_to", "read_only", "sole_administrator"}  # the last one is IAM-05's
    assert {c.rule for c in MATRIX.constraints} <= proven


def test_matrix_roles_are_found_under_the_component_by_name() -> None:
    assert sorted(iam.matrix_roles(StackValidationArgs(list(world().values())))) == sorted(MATRIX.roles)


# --- IAM-01 ---------------------------------------------------------------------------------------------------------

def test_missing_extra_and_unmanaged_roles() -> None:
    w = world()
    assert check("stack-has-exactly-the-matrix-roles", without(w, role("partner")))
    b = Builder("prod")
    b.world = dict(w)
    b.add(role("contractor"), iam.ROLE, {}, parent="caseshield-roles")
    assert check("stack-has-exactly-the-matrix-roles", b.world)
    assert check("stack-has-exactly-the-matrix-roles", without(w, "caseshield-roles"))
    # a role outside the component (the app instance role) is not a matrix role and not an extra one
    assert check("stack-has-exactly-the-matrix-roles", w) == []


@pytest.mark.parametrize(("name", "kind", "fires"), [
    ("partner", "vendor", True), ("vendor-support", "human", True), ("ci-deployer", "human", True), ("partner", "human", False),
])
def test_trust_kind_follows_the_matrix(name: str, kind: str, fires: bool) -> None:
    w = world()
    props(w[role(name)])["assumeRolePolicy"] = trust(kind)
    assert bool(check("roles-are-trusted-as-the-matrix-says", w)) is fires


def test_trust_kind_waits_for_an_unknown_trust_policy() -> None:
    w = world()
    props(w[role("vendor-support")])["assumeRolePolicy"] = UNKNOWN
    assert check("roles-are-trusted-as-the-matrix-says", w) == []


def test_data_permissions_extra_missing_and_unknown() -> None:
    rule = "role-data-permissions-equal-the-matrix"
    w = world()
    documents = w[f"{role('partner')}-case-documents"]
    found = statements_of(documents)
    set_statements(documents, [allow([*found[0]["Action"], "s3:DeleteObject"]), *found[1:]])
    assert check(rule, w)
    set_statements(documents, [allow(found[0]["Action"][1:]), *found[1:]])
    assert check(rule, w)  # s3:GetObject missing
    set_statements(documents, [allow("s3:*"), *found[1:]])
    assert check(rule, w)  # a wildcard is not the matrix's list
    props(documents)["policy"] = UNKNOWN
    assert check(rule, w) == []


def test_database_login_only_where_the_policy_names_a_database() -> None:
    w = world()
    documents = w[f"{role('partner')}-case-documents"]
    set_statements(documents, [*statements_of(documents), allow(iam.DATABASE_LOGIN, "arn:dbuser")])
    assert check("role-data-permissions-equal-the-matrix", w)
    assert check("role-data-permissions-equal-the-matrix", world()) == []  # the case-database policy does name one


def test_class_not_held_and_class_policy_missing() -> None:
    w = world()
    props(w[f"{role('paralegal')}-case-documents"])["name"] = "application-secrets"
    messages = check("role-data-permissions-equal-the-matrix", w)
    assert any("does not give the role" in m for m in messages) and any("no inline policy grants case-documents" in m for m in messages)


MATRIX_PROBE_RULES = ["data-class-policies-let-the-role-use-its-key-and-database-user",
                      "data-class-policies-reach-nothing-outside-their-class", "roles-without-data-are-denied-key-use",
                      "excluded-roles-are-denied-case-content"]


@pytest.mark.parametrize("rule_id", MATRIX_PROBE_RULES)
def test_matrix_probes_hold_in_the_compliant_world_with_known_arns(rule_id: str) -> None:
    assert check(rule_id, with_arns(world())) == []


def test_data_class_policies_must_let_the_role_use_its_key_and_database_user() -> None:
    rule = "data-class-policies-let-the-role-use-its-key-and-database-user"
    w = with_arns(world())
    database = w[f"{role('partner')}-case-database"]
    found = statements_of(database)
    set_statements(database, [s for s in found if s["Sid"] != "UseKey"])
    assert check(rule, w) == [f"{role('partner')}: case-database policy refuses what the matrix's write access needs [policy = "
                              '["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"]; expected the '
                              "case-database key's use and the write database user allowed]"]
    set_statements(database, [*found[:-1], {**found[-1], "Resource": f"{DB_USERS}/case_reader"}])
    assert check(rule, w) and "case_writer" in check(rule, w)[0]  # logs in, but as the reader
    set_statements(database, [*found[:-1], {**found[-1], "Effect": "Deny"}])
    assert check(rule, w)
    assert check(rule, world()) == []  # ARNs not known yet: judged once they are
    props(database)["policy"] = UNKNOWN  # the others are judged, and the rule is reported as not run, never passed
    assert [s.policy for s in run(rule, w).skipped] == [rule]


def test_data_class_policies_reach_nothing_outside_their_class() -> None:
    rule = "data-class-policies-reach-nothing-outside-their-class"
    w = with_arns(world())
    database = w[f"{role('paralegal')}-case-database"]
    found = statements_of(database)
    set_statements(database, [{**s, "Resource": "*"} if s["Sid"] == "Login" else s for s in found])
    messages = check(rule, w)
    assert len(messages) == 1 and f"rds-db:connect as {DB_USERS}/case_records" in messages[0]  # the records manager's user
    set_statements(database, [{**s, "Resource": "*"} if s["Sid"] == "UseKey" else s for s in found])
    assert f"kms:Decrypt on {key_arn('case-documents')}" in check(rule, w)[0]  # another class's key
    set_statements(database, [{**s, "Resource": [key_arn("case-database"), "arn:aws:kms:*:111122223333:key/*"]}
                              if s["Sid"] == "UseKey" else s for s in found])
    assert "111122223333:key/caseshield-probe-elsewhere" in check(rule, w)[0]  # another account's key
    documents = w[f"{role('partner')}-case-documents"]
    set_statements(documents, [{**statements_of(documents)[0], "Resource": "arn:aws:s3:::*"}])
    assert any("s3:GetObject on arn:aws:s3:::caseshield-probe-elsewhere" in m for m in check(rule, w))
    assert check(rule, world()) == []


def test_live_auditors_must_be_able_to_run_the_live_audit() -> None:
    rule = "live-auditors-may-run-the-live-audit"
    w = world()
    assert check(rule, without(w, f"{role('security-auditor')}-live-audit"))
    audit = w[f"{role('ci-auditor')}-live-audit"]
    found = statements_of(audit)
    set_statements(audit, [{**found[0], "Action": [a for a in found[0]["Action"] if a != "macie2:GetMacieSession"]}])
    assert check(rule, w) == [f"{role('ci-auditor')}: may not run the live audit [policy = [\"macie2:GetMacieSession\"]; expected "
                              "an inline policy live-audit allowing every action of `caseshield audit --print-policy`]"]
    props(audit)["policy"] = UNKNOWN
    assert [s.policy for s in run(rule, w).skipped] == [rule]


def test_roles_carry_exactly_the_managed_policies_the_matrix_names() -> None:
    rule = "roles-carry-the-managed-policies-the-matrix-names"
    assert check(rule, without(world(), f"{role('security-auditor')}-SecurityAudit"))
    assert check(rule, without(world(), f"{role('break-glass')}-AdministratorAccess"))  # no emergency path
    w = world()
    props(w[f"{role('it-operations')}-AmazonSSMReadOnlyAccess"])["policyArn"] = "arn:aws:iam::aws:policy/AmazonSSMFullAccess"
    assert check(rule, w) == [f"{role('it-operations')}: managed policies differ from the matrix [policyArn = "
                              '{"extra": ["AmazonSSMFullAccess"], "missing": ["AmazonSSMReadOnlyAccess"]}; '
                              "expected exactly ['AmazonSSMReadOnlyAccess']]"]


@pytest.mark.parametrize(("name", "value", "fires"), [("partner", 43200, True), ("partner", 3600, False), ("partner", None, False),
                                                      ("ci-deployer", 7200, True), ("vendor-support", 7200, False)])
def test_role_sessions_stay_within_the_matrix_ceiling(name: str, value: Any, fires: bool) -> None:
    w = world()
    props(w[role(name)])["maxSessionDuration"] = value
    assert bool(check("role-sessions-last-no-longer-than-the-matrix-allows", w)) is fires


@pytest.mark.parametrize(("sessions", "accepted"), [({"human": 3600, "oidc": 900}, True), ({"human": 43200, "oidc": 3600}, False),
                                                     ({"human": 3600}, False), ({"human": "3600", "oidc": 3600}, False)])
def test_the_matrix_session_ceiling_stays_within_an_hour(sessions: dict[str, Any], accepted: bool) -> None:
    import yaml

    from caseshield import role_matrix

    document = yaml.safe_load(role_matrix.MATRIX_PATH.read_text())
    document["sessions"] = {"max_seconds": sessions}
    floors = yaml.safe_load(role_matrix.FLOORS_PATH.read_text())
    if accepted:
        assert role_matrix.validate(document, floors).session_max_seconds == sessions
    else:
        with pytest.raises(role_matrix.RoleMatrixFileError, match="sessions"):
            role_matrix.validate(document, floors)


def test_other_policies_grant_no_data_actions_except_a_deployers_service_wildcards() -> None:
    b = Builder("prod")
    b.world = world()
    b.add("extra", iam.ROLE_POLICY, {"name": "extra", "policy": policy(allow("s3:Get*", "*"))}, {"role": [role("it-operations")]})
    assert check("role-data-permissions-equal-the-matrix", b.world)
    assert check("role-data-permissions-equal-the-matrix", world()) == []  # the deployer's s3:* is its deploy grant
    b.world = world()
    b.add("extra", iam.ROLE_POLICY, {"name": "extra", "policy": policy(allow("s3:GetObject", "*"))}, {"role": [role("ci-deployer")]})
    assert check("role-data-permissions-equal-the-matrix", b.world)  # a literal data action is a data grant, deployer or not


def test_inline_policies_are_found_by_parent_when_no_dependency_names_the_role() -> None:
    w = world()
    documents = w[f"{role('partner')}-case-documents"]
    documents.property_dependencies.pop("role")
    set_statements(documents, [allow("s3:DeleteObject"), *statements_of(documents)])
    assert check("role-data-permissions-equal-the-matrix", w)


# --- IAM-02 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "fires"), [
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, True),
    ({"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}}, True),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, True),
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "7200"}}, True),
    ({"Bool": {"aws:multifactorauthpresent": True}, "NumericLessThan": {"aws:MultiFactorAuthAge": 900}}, False),
])
def test_human_trust_needs_present_and_recent_mfa(condition: dict[str, Any], fires: bool) -> None:
    w = world()
    statement = statements_of(w[role("partner")], "assumeRolePolicy")[0]
    set_statements(w[role("partner")], [{**statement, "Condition": condition}], "assumeRolePolicy")
    assert bool(check("human-roles-require-recent-mfa", w)) is fires


def test_mfa_is_not_asked_of_the_pipeline_and_waits_for_unknown_trust() -> None:
    w = world()
    props(w[role("partner")])["assumeRolePolicy"] = UNKNOWN
    assert check("human-roles-require-recent-mfa", w) == []  # ci-deployer and vendor-support have no MFA and are not people


# --- IAM-03 ---------------------------------------------------------------------------------------------------------

def test_boundary_missing_literal_or_unknown() -> None:
    rule = "matrix-roles-carry-the-permissions-boundary"
    w = world()
    del props(w[role("associate")])["permissionsBoundary"]
    assert check(rule, w)
    w = world()
    w[role("associate")].property_dependencies["permissionsBoundary"] = []  # typed in, not the stack's boundary
    assert check(rule, w)
    w = world()
    props(w[role("associate")])["permissionsBoundary"] = UNKNOWN
    assert check(rule, w) == []


def test_boundary_must_deny_its_own_removal() -> None:
    rule = "permissions-boundary-denies-its-own-removal"
    w = world()
    set_statements(w["boundary"], [allow("*", "*"), deny("iam:DeleteRolePermissionsBoundary")])
    assert check(rule, w)  # replacing it and creating roles without it stay open
    set_statements(w["boundary"], [allow("*", "*"), {**deny("iam:*RolePermissionsBoundary"), "Condition": {"Bool": {"x": "y"}}},
                                   deny("iam:CreateRole")])
    assert check(rule, w)  # a conditional deny can be sidestepped
    set_statements(w["boundary"], [deny("iam:DeleteRolePermissionsBoundary"), {
        **deny(["iam:PutRolePermissionsBoundary", "iam:CreateRole"]),
        "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/another"}}}])
    assert check(rule, w)  # pinned to some other boundary, not this one
    set_statements(w["boundary"], [deny("iam:*RolePermissionsBoundary"), deny("iam:CreateRole")])
    assert check(rule, w) == []  # unconditional denies hold
    assert check(rule, world()) == []  # pinned to this boundary holds
    props(w["boundary"])["policy"] = UNKNOWN
    assert check(rule, w) == []


def test_boundary_edits_are_denied_to_all_but_break_glass() -> None:
    rule = "permissions-boundary-is-immutable-but-for-break-glass"
    assert check(rule, world()) == []
    w = world()
    set_statements(w["boundary"], [s for s in statements_of(w["boundary"]) if s["Sid"] != "BoundaryIsImmutable"])
    assert check(rule, w)
    w = world()
    set_statements(w["boundary"], [only(s, "break-glass", "ci-deployer", operator="ArnNotEquals") if s["Sid"] == "BoundaryIsImmutable"
                                   else s for s in statements_of(w["boundary"])])
    assert check(rule, w)  # the old OnlyTheDeployerEditsTheBoundary exemption
    w = world()
    set_statements(w["boundary"], [{**s, "Resource": "arn:aws:iam::123456789012:policy/other"} if s["Sid"] == "BoundaryIsImmutable"
                                   else s for s in statements_of(w["boundary"])])
    assert check(rule, w)  # guards another policy


def test_boundary_allows_everything_only_to_break_glass() -> None:
    rule = "permissions-boundary-allows-everything-only-to-break-glass"
    assert check(rule, world()) == []
    w = world()
    elevated = only(allow("*", "*", "ElevatedRolesByMatrix"), "break-glass", "ci-deployer")
    set_statements(w["boundary"], [*statements_of(w["boundary"]), elevated])
    assert check(rule, w)
    set_statements(w["boundary"], [*statements_of(world()["boundary"]), {**allow("s3:GetObject", "*"), "NotAction": "iam:*"}])
    assert check(rule, w)  # a NotAction Allow reaches everything else
    set_statements(w["boundary"], [*statements_of(world()["boundary"]), allow("*:*", "*")])
    assert check(rule, w)


# --- IAM-04 ---------------------------------------------------------------------------------------------------------

def test_keyless_roles_are_refused_every_key_by_their_segregation_policy() -> None:
    rule = "roles-without-data-are-denied-key-use"
    w = with_arns(world())
    sod = w[f"{role('key-admin')}-segregation-of-duties"]
    set_statements(sod, [deny(["kms:Decrypt", "kms:Encrypt"])])
    assert check(rule, w)  # GenerateDataKey still allowed
    set_statements(sod, [deny(list(iam.KEY_CRYPTO), key_arn("case-documents"))])
    assert check(rule, w)  # one key only
    set_statements(sod, [deny(list(iam.KEY_CRYPTO), [key_arn(dc) for dc in MATRIX.actions])])
    assert check(rule, w)  # every key of the stack, but not another account's (whose key policy may grant the role)
    set_statements(sod, [{**deny("kms:*"), "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}])
    assert check(rule, w)
    set_statements(sod, [deny(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"])])
    assert check(rule, w) == []
    # A deny that only the key-administration grant holds is not the constraint's: the policy itself is required.
    admin = w[f"{role('ci-deployer')}-segregation-of-duties"]
    messages = check(rule, without(w, f"{role('ci-deployer')}-segregation-of-duties"))
    assert messages and "has no segregation-of-duties policy" in messages[0]
    set_statements(admin, [deny("s3:GetObject")])
    messages = check(rule, w)
    assert len(messages) == 1 and messages[0].startswith(
        f"{role('ci-deployer')}: key-admin-cannot-decrypt: its segregation-of-duties policy does not refuse key use "
        f'[policy = ["kms:Decrypt on {key_arn("case-documents")}"')
    assert "111122223333:key/caseshield-probe-elsewhere" in messages[0]
    props(sod)["policy"] = UNKNOWN  # pulumi-policy's handler runs a stack policy whole or not at all: never a pass
    result = run(rule, w)
    assert [s.policy for s in result.skipped] == [rule]


def test_excluded_roles_are_refused_class_content_keys_and_logins() -> None:
    rule = "excluded-roles-are-denied-case-content"
    w = with_arns(world())
    sod = w[f"{role('vendor-support')}-segregation-of-duties"]
    found = statements_of(sod)
    assert check(rule, w) == []
    set_statements(sod, found[2:])  # the case-documents denies dropped
    assert check(rule, w)
    set_statements(sod, [s for s in found if s["Resource"] != key_arn("case-database")])  # decrypting the database's key
    assert any(key_arn("case-database") in m for m in check(rule, w))
    set_statements(sod, [s for s in found if s["Action"] != iam.DATABASE_LOGIN])  # logging in to the database
    assert any(f"{DB_USERS}/case_reader" in m for m in check(rule, w))
    set_statements(sod, [*found[:-1], {**found[-1], "Effect": "Allow"}])
    assert check(rule, w)  # a deny turned into an allow refuses nothing
    set_statements(sod, [deny(["s3:*", "secretsmanager:*", "kms:Decrypt", "rds-db:connect"])])  # on "*": covers every class
    assert check(rule, w) == []
    props(sod)["policy"] = UNKNOWN
    assert check(rule, w) == []


def test_segregation_policies_hold_only_denies() -> None:
    rule = "segregation-of-duties-policies-only-deny"
    w = world()
    sod = w[f"{role('it-operations')}-segregation-of-duties"]
    found = statements_of(sod)
    set_statements(sod, [{**found[0], "Effect": "Allow"}, *found[1:]])
    assert check(rule, w) == [f"{role('it-operations')}: its segregation-of-duties policy allows "
                              '[policy = ["Deny"]; expected only Deny statements]']
    props(sod)["policy"] = UNKNOWN
    assert [s.policy for s in run(rule, w).skipped] == [rule]


@pytest.mark.parametrize(("actions", "fires"), [(["s3:Get*", "logs:FilterLogEvents", "kms:Decrypt"], False), (["s3:*"], True),
                                                (["s3:PutObject"], True), (["kms:Generate*"], True), (["*"], True)])
def test_auditor_inline_actions_only_read(actions: list[str], fires: bool) -> None:
    w = world()
    set_statements(w[f"{role('security-auditor')}-audit-logs"], [allow(actions)])
    assert bool(check("auditors-hold-only-read-access", w)) is fires


@pytest.mark.parametrize(("arn", "fires"), [("arn:aws:iam::aws:policy/ReadOnlyAccess", False), (UNKNOWN, False),
                                            ("arn:aws:iam::aws:policy/PowerUserAccess", True),
                                            ("arn:aws:iam::123456789012:policy/made-by-hand", True)])
def test_auditor_managed_policies_only_read(arn: str, fires: bool) -> None:
    w = world()
    props(w[f"{role('security-auditor')}-SecurityAudit"])["policyArn"] = arn
    assert bool(check("auditors-hold-only-read-access", w)) is fires


def test_auditor_customer_managed_policy_is_read_from_its_document() -> None:
    b = Builder("prod")
    b.world = world()
    b.add("audit-extra", iam.MANAGED_POLICY, {"policy": policy(allow("cloudtrail:StopLogging", "*"))})
    b.add("audit-extra-attachment", iam.ROLE_POLICY_ATTACHMENT, {"policyArn": UNKNOWN},
          {"role": [role("security-auditor")], "policyArn": ["audit-extra"]})
    assert check("auditors-hold-only-read-access", b.world)


# --- IAM-05 ---------------------------------------------------------------------------------------------------------

def test_administrator_access_outside_break_glass() -> None:
    rule = "only-break-glass-holds-administrator-access"
    w = world()
    props(w[f"{role('it-operations')}-AmazonSSMReadOnlyAccess"])["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert check(rule, w)
    w = world()
    set_statements(w["app-role-policy"], [allow("*", "*")])
    assert check(rule, w)  # an inline * on * on a role outside the matrix
    set_statements(w["app-role-policy"], [allow("*", "arn:aws:s3:::one-bucket")])
    assert check(rule, w) == []
    b = Builder("prod")
    b.world = world()
    b.add("app-managed", iam.ROLE_POLICY_ATTACHMENTS, {"policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
          {"roleName": ["app-role"]})
    assert check(rule, b.world)
    b.world = world()
    b.add("admin-copy", iam.MANAGED_POLICY, {"policy": policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})})
    b.add("admin-copy-attachment", iam.ROLE_POLICY_ATTACHMENT, {"policyArn": UNKNOWN},
          {"role": [role("partner")], "policyArn": ["admin-copy"]})
    assert check(rule, b.world)


# --- IAM-06 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("prop", "value", "fires"), [
    ("minimumPasswordLength", 8, True), ("requireSymbols", False, True), ("passwordReusePrevention", None, True),
    ("maxPasswordAge", 0, True), ("maxPasswordAge", 365, True), ("minimumPasswordLength", UNKNOWN, False),
])
def test_account_password_policy(prop: str, value: Any, fires: bool) -> None:
    w = world()
    if value is None:
        del props(w["password-policy"])[prop]
    else:
        props(w["password-policy"])[prop] = value
    assert bool(check("account-password-policy-is-strict", w)) is fires


def test_account_password_policy_must_exist() -> None:
    assert check("account-password-policy-is-strict", without(world(), "password-policy"))


# --- IAM-07 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "fires"), [(43200, True), (14400, False), (None, False), (UNKNOWN, False)])
def test_vendor_session_length(value: Any, fires: bool) -> None:
    w = world()
    if value is None:
        del props(w[role("vendor-support")])["maxSessionDuration"]
    else:
        props(w[role("vendor-support")])["maxSessionDuration"] = value
    assert bool(check("vendor-sessions-are-short", w)) is fires


@pytest.mark.parametrize(("condition", "fires"), [
    ({"StringLike": {"sts:ExternalId": "*"}}, True), ({}, True), ({"StringEquals": {"sts:ExternalId": ""}}, True),
    ({"StringEquals": {"sts:externalid": "abc"}}, False),
])
def test_vendor_trust_needs_an_exact_external_id(condition: dict[str, Any], fires: bool) -> None:
    w = world()
    statement = statements_of(w[role("vendor-support")], "assumeRolePolicy")[0]
    set_statements(w[role("vendor-support")], [{**statement, "Condition": condition}], "assumeRolePolicy")
    assert bool(check("vendor-trust-requires-an-external-id", w)) is fires


def test_vendor_evidence_never_shows_the_external_id_and_unknown_trust_waits() -> None:
    w = world()
    statement = statements_of(w[role("vendor-support")], "assumeRolePolicy")[0]
    secret = {**statement, "Condition": {"StringLike": {"sts:ExternalId": "secret-value"}}}
    set_statements(w[role("vendor-support")], [secret], "assumeRolePolicy")
    assert all("secret-value" not in m for m in check("vendor-trust-requires-an-external-id", w))
    props(w[role("vendor-support")])["assumeRolePolicy"] = UNKNOWN
    assert check("vendor-trust-requires-an-external-id", w) == []


# --- IAM-08 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tests", "fires"), [
    ({"StringLike": {"ci.example:sub": "repo:lawfirm/caseshield:*"}, "StringEquals": {"ci.example:aud": "sts.amazonaws.com"}}, True),
    ({"StringEquals": {"ci.example:sub": "repo:lawfirm/*", "ci.example:aud": "sts.amazonaws.com"}}, True),
    ({"StringEquals": {"ci.example:sub": "repo:lawfirm/caseshield:environment:prod"}}, True),
    ({"StringEquals": {"ci.example:sub": "repo:lawfirm/caseshield:environment:prod", "ci.example:aud": "other"}}, True),
    ({"StringEquals": {"ci.example:sub": "repo:lawfirm/caseshield:ref:refs/heads/main", "ci.example:aud": "sts.amazonaws.com"}}, False),
])
def test_oidc_trust_pins_subject_and_audience(tests: dict[str, Any], fires: bool) -> None:
    w = world()
    statement = statements_of(w[role("ci-deployer")], "assumeRolePolicy")[0]
    set_statements(w[role("ci-deployer")], [{**statement, "Condition": tests}], "assumeRolePolicy")
    assert bool(check("ci-trust-pins-one-oidc-subject", w)) is fires


def test_oidc_rule_ignores_other_trusts_and_waits_for_unknown() -> None:
    w = world()
    props(w[role("ci-deployer")])["assumeRolePolicy"] = UNKNOWN
    assert check("ci-trust-pins-one-oidc-subject", w) == []


@pytest.mark.parametrize("type_", ["aws:iam/user:User", "aws:iam/accessKey:AccessKey"])
def test_no_iam_users_or_access_keys(type_: str) -> None:
    b = Builder("prod")
    b.world = world()
    b.add("someone", type_, {})
    assert check("no-long-lived-iam-credentials", b.world)


# --- IAM-09 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "fires"), [("ACCOUNT_UNUSED_ACCESS", True), ("ORGANIZATION", False), (None, False),
                                              (UNKNOWN, False)])
def test_access_analyzer_kind(value: Any, fires: bool) -> None:
    w = world()
    if value is None:
        del props(w["analyzer"])["type"]  # AWS's default is ACCOUNT
    else:
        props(w["analyzer"])["type"] = value
    assert bool(check("access-analyzer-watches-the-account", w)) is fires


def test_access_analyzer_must_exist() -> None:
    assert check("access-analyzer-watches-the-account", without(world(), "analyzer"))


# --- IAM-10 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule_id", "path", "value"), [
    ("user-pool-requires-totp-mfa", "mfaConfiguration", "OPTIONAL"),
    ("user-pool-requires-totp-mfa", "softwareTokenMfaConfiguration", None),
    ("user-pool-enforces-threat-protection", "userPoolAddOns", None),
    ("user-pool-admits-only-invited-users", "adminCreateUserConfig", {"allowAdminCreateUserOnly": False}),
    ("user-pool-passwords-are-strong", "passwordPolicy", {"minimumLength": 8}),
    ("user-pool-is-deletion-protected-in-prod", "deletionProtection", "INACTIVE"),
])
def test_user_pool_settings(rule_id: str, path: str, value: Any) -> None:
    w = world()
    if value is None:
        del props(w["users"])[path]
    else:
        props(w["users"])[path] = value
    assert check(rule_id, w)
    props(w["users"])[path] = UNKNOWN
    assert check(rule_id, w) == []


def test_user_pool_deletion_protection_only_in_prod() -> None:
    w = world("dev")
    props(w["users"])["deletionProtection"] = "INACTIVE"
    assert check("user-pool-is-deletion-protected-in-prod", w) == []


# --- IAM-11 ---------------------------------------------------------------------------------------------------------

def test_data_actions_on_every_resource() -> None:
    rule = "data-permissions-name-their-resources"
    w = world()
    documents = w[f"{role('partner')}-case-documents"]
    found = statements_of(documents)
    set_statements(documents, [{**found[0], "Resource": ["arn:aws:s3:::bucket", "*"]}, *found[1:]])
    assert check(rule, w)
    w = world()
    set_statements(w["app-role-policy"], [allow("logs:GetLogEvents", "*")])
    assert check(rule, w)  # any role, not only the matrix's
    set_statements(w["app-role-policy"], [allow("s3:*", "*")])
    assert check(rule, w)  # a service wildcard is a data grant for roles that deploy nothing
    set_statements(w["app-role-policy"], [allow("s3:CreateBucket", "*")])
    assert check(rule, w) == []
    props(w["app-role-policy"])["policy"] = UNKNOWN
    assert check(rule, w) == []


# --- IAM-12 ---------------------------------------------------------------------------------------------------------

def test_escalation_holds_in_the_compliant_world_and_fires_per_primitive() -> None:
    rule = "no-role-but-break-glass-can-escalate"
    assert check(rule, world()) == []
    # The deployer's ceiling lets it delete its own policies once it is no longer protected.
    w = world()
    set_statements(w["boundary"], [s for s in statements_of(w["boundary"]) if s["Sid"] != "ProtectedRolesKeepTheirIam"])
    deploy = w[f"{role('ci-deployer')}-deploy"]
    set_statements(deploy, [*statements_of(deploy), allow(["iam:PutRolePolicy", "iam:DeleteRolePolicy"], role_arn("*"))])
    messages = check(rule, w)
    assert any("PutRolePolicy" in m for m in messages) and any("DeleteOwnOrProtectedRolePolicy" in m for m in messages)
    # ... but not while the boundary protects its role: the same grant is then harmless.
    w = world()
    deploy = w[f"{role('ci-deployer')}-deploy"]
    set_statements(deploy, [*statements_of(deploy), allow(["iam:PutRolePolicy", "iam:DeleteRolePolicy"], role_arn("ci-deployer"))])
    assert check(rule, w) == []


def test_escalation_counts_a_boundary_pin_and_not_a_region() -> None:
    rule = "no-role-but-break-glass-can-escalate"
    w = world()
    deploy = w[f"{role('ci-deployer')}-deploy"]
    pinned = {**allow(["iam:CreateRole", "iam:PutRolePolicy"], role_arn("*")),
              "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}}
    set_statements(deploy, [*statements_of(deploy), pinned])
    set_statements(w["boundary"], [s for s in statements_of(w["boundary"]) if s["Sid"] != "RolesOnlyUnderThisBoundary"])
    assert check(rule, w) == []  # the grant's own pin holds without the boundary's deny
    regional = {**pinned, "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    set_statements(deploy, [*statements_of(deploy), regional])
    assert any("CreateUnboundedRole" in m for m in check(rule, w))


def test_destructive_actions_need_a_deny_or_a_listed_review() -> None:
    rule = "no-role-but-break-glass-can-escalate"
    w = world()
    deploy = w[f"{role('ci-deployer')}-deploy"]
    set_statements(deploy, [s for s in statements_of(deploy) if s["Sid"] != "DeployerNeverDestroysOrBlinds"])
    messages = check(rule, w)
    assert any("rds:DeleteDBInstance" in m for m in messages) and any("logs:DeleteMetricFilter" in m for m in messages)
    assert not any("s3:PutBucketPolicy" in m for m in messages)  # listed for the deployer, under the CIS 4.8 alarm
    # The same s3:* in a role escalation.yaml lists nothing for is a finding.
    w = world()
    set_statements(w["boundary"], [*statements_of(w["boundary"]), only(allow("s3:*", "*", "Widened"), "associate")])
    documents = w[f"{role('associate')}-case-documents"]
    set_statements(documents, [*statements_of(documents), allow("s3:PutBucketPolicy", "*", "Widened")])
    assert any("associate" in m and "s3:PutBucketPolicy" in m for m in check(rule, w))


def test_escalation_names_unknown_managed_policies_and_waits_for_unknown_documents() -> None:
    rule = "no-role-but-break-glass-can-escalate"
    w = world()
    props(w[f"{role('it-operations')}-AmazonSSMReadOnlyAccess"])["policyArn"] = "arn:aws:iam::aws:policy/PowerUserAccess"
    assert any("cannot be judged" in m for m in check(rule, w))
    w = world()
    props(w[f"{role('ci-deployer')}-deploy"])["policy"] = UNKNOWN
    assert check(rule, w) == []


def test_a_service_role_granted_everything_reaches_nothing_under_its_boundary() -> None:
    rule = "service-roles-cannot-be-turned-on-case-data"
    assert check(rule, world()) == []
    w = world()  # no boundary at all
    props(w["app-role"]).pop("permissionsBoundary")
    assert any("without a permissions boundary" in m for m in check(rule, w))
    for sid in ("ServiceWorkOutsideIam", "NoCaseContent", "NoDestruction", "GrantsOnlyForAwsResources"):
        w = world()
        found = statements_of(w["service-boundary"])
        if sid == "ServiceWorkOutsideIam":  # IAM reachable again
            found = [{**s, "NotAction": [a for a in s["NotAction"] if a != "iam:*"]} if s.get("Sid") == sid else s for s in found]
        else:
            found = [s for s in found if s.get("Sid") != sid]
        if sid == "GrantsOnlyForAwsResources":  # a key whose policy lets the account's IAM decide
            props(w["key-case-documents"]).update(arn="arn:aws:kms:us-east-1:123456789012:key/documents", policy=policy(
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}))
        set_statements(w["service-boundary"], found)
        assert any("app-instance" in m or "app-role" in m for m in check(rule, w)), sid


# --- IAM-13 ---------------------------------------------------------------------------------------------------------

def lint_world(*statements: dict[str, Any], trust_doc: str | None = None) -> World:
    """One role with one inline policy (and a trust policy), written with real action names and ARNs."""
    b = Builder("prod")
    b.add("role", iam.ROLE, {"name": "cs-prod-probe", "assumeRolePolicy": trust_doc or policy(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})})
    b.add("role-policy", iam.ROLE_POLICY, {"name": "probe", "policy": policy(*statements)}, {"role": ["role"]})
    return b.world


def test_parliament_passes_clean_documents_and_its_own_trust_limit() -> None:
    rule = "generated-policies-pass-parliament"
    clean = allow("s3:GetObject", "arn:aws:s3:::cs-prod-documents/*")
    assert check(rule, lint_world(clean)) == []  # the trust policy has no Resource: parliament's limit, listed


def test_parliament_catches_a_misspelled_deny_and_a_condition_the_action_never_carries() -> None:
    rule = "generated-policies-pass-parliament"
    messages = check(rule, lint_world(deny(["kms:PutKeyPolicies"]), allow("s3:GetObject", "arn:aws:s3:::cs-prod-documents/*")))
    assert any("UNKNOWN_ACTION" in m for m in messages)  # low in parliament, raised by policies/escalation.yaml
    never = {**allow("iam:PassRole", "arn:aws:iam::123456789012:role/cs-prod-app-instance"),
             "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/x"}}}
    assert any("UNKNOWN_CONDITION_FOR_ACTION" in m for m in check(rule, lint_world(never)))
    wrong_type = allow("rds:DescribeDBInstances", "arn:aws:rds:us-east-1:123456789012:instance/cs-prod-case-db")
    assert any("RESOURCE_MISMATCH" in m for m in check(rule, lint_world(wrong_type)))


def test_parliament_waits_for_unknown_documents() -> None:
    rule = "generated-policies-pass-parliament"
    w = lint_world(allow("s3:GetObject", "arn:aws:s3:::cs-prod-documents/*"))
    props(w["role-policy"])["policy"] = UNKNOWN
    result = run(rule, w)
    assert result.violations == [] and [s.policy for s in result.skipped] == [rule]


# --- IAM-01: AWS managed policies judged on their documents (caseshield/aws_managed.py) ------------------------------

MANAGED_RULE = "managed-policies-reach-no-case-data-the-matrix-withholds"


@pytest.mark.parametrize(("holder", "policy_name", "fires"), [
    ("security-auditor", "SecurityAudit", False),  # configuration reads only
    ("security-auditor", "ReadOnlyAccess", True),  # s3:GetObject on *: every case document
    ("security-auditor", "ViewOnlyAccess", False),
    ("it-operations", "AmazonSSMReadOnlyAccess", False),
    ("it-operations", "AmazonS3ReadOnlyAccess", True),
    ("it-operations", "AmazonS3FullAccess", True),
    ("security-auditor", "NoSuchPolicyAwsEverShipped", True),  # not in the dated copy: cannot be judged
])
def test_managed_policies_are_judged_on_their_documents(holder: str, policy_name: str, fires: bool) -> None:
    w = with_arns(world())
    attachment = next(k for k in w if k.startswith(f"{role(holder)}-") and k.endswith(("SecurityAudit", "AmazonSSMReadOnlyAccess")))
    props(w[attachment])["policyArn"] = f"arn:aws:iam::aws:policy/{policy_name}"
    assert bool(check(MANAGED_RULE, w)) is fires


def test_the_administrator_is_left_to_iam_05_and_unknown_arns_to_later() -> None:
    w = with_arns(world())
    assert check(MANAGED_RULE, w) == []
    props(w[f"{role('security-auditor')}-SecurityAudit"])["policyArn"] = UNKNOWN
    assert check(MANAGED_RULE, w) == []


def test_the_dated_copy_has_the_policies_the_matrix_names() -> None:
    from caseshield import aws_managed

    for spec in MATRIX.roles.values():
        for name in spec.managed_policies:
            assert aws_managed.document(name) is not None, name
            assert aws_managed.updated(name), name
