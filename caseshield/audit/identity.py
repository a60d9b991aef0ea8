"""Live checks of IAM and the user directory against the role matrix (policies/role-matrix.yaml)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from caseshield.audit import live_check
from caseshield.audit.account import Account, as_list, document, statements
from caseshield.iam_actions import takes_only_star
from caseshield.role_matrix import RoleMatrix
from caseshield.role_matrix import load as load_matrix
from policies.rules.identity import (
    ADMINISTRATOR_POLICY,
    DATABASE_LOGIN,
    KEY_CRYPTO,
    KEY_READ_USE,
    KEY_WRITE_USE,
    PASSWORD_MAX_AGE_DAYS,
    PASSWORD_MIN_LENGTH,
    PASSWORD_REUSE_PREVENTION,
    READ_KEY_USE,
    READ_ONLY_MANAGED_POLICIES,
    READ_VERBS,
    TEMPORARY_PASSWORD_MAX_DAYS,
    VENDOR_MAX_SESSION_SECONDS,
)

# Inline policies of matrix roles that are not data classes: the segregation-of-duties denies, key administration
# and the deployer's grant.
SUPPORT_POLICIES = ("segregation-of-duties", "key-administration", "deploy", "live-audit")
CONTENT_CLASSES = ("case-documents", "case-database", "application-secrets")


def allowed_actions(policies: dict[str, dict[str, Any]], name: str | None = None) -> list[str]:
    return [str(a) for n, p in policies.items() if name in (None, n) for st in statements(p)
            if st.get("Effect") == "Allow" for a in as_list(st.get("Action"))]


def matrix_actions(matrix: RoleMatrix, data_class: str, level: str) -> set[str]:
    """What holding `data_class` at `level` may allow: the matrix's actions, the class key's use, the database login."""
    key_use = KEY_READ_USE if level == "read" else KEY_WRITE_USE
    login = (DATABASE_LOGIN,) if data_class == "case-database" else ()
    return {a.lower() for a in (*matrix.actions_for(data_class, level), *key_use, *login)}


@live_check("IAM-01", "iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies")
def iam_equals_the_role_matrix(account: Account) -> list[str]:
    """Every matrix role exists with one inline policy per data class it holds, granting no more than the matrix
    says, and with exactly the matrix's managed policies (AdministratorAccess is IAM-05's)."""
    iam, matrix, found = account.client("iam"), load_matrix(), []
    for role in matrix.roles.values():
        name = account.name(role.name)
        policies = account.inline_policies(name)
        classes = {n for n in policies if n in matrix.actions}
        if classes != set(role.data):
            found.append(f"{name}: data-class policies {sorted(classes)}, the matrix says {sorted(role.data)}")
        found += [f"{name}: inline policy {n} is neither a data class nor a support policy" for n in sorted(policies)
                  if n not in matrix.actions and n not in SUPPORT_POLICIES]
        if "live-audit" in policies and (extra := beyond_live_audit(policies["live-audit"])):
            found.append(f"{name}: live-audit allows {extra}, more than `caseshield audit --print-policy`")
        for cls in sorted(classes & set(role.data)):
            extra = sorted({a for a in allowed_actions(policies, cls) if a.lower() not in matrix_actions(matrix, cls, role.data[cls])})
            if extra:
                found.append(f"{name}: {cls} allows {extra} beyond the matrix's {role.data[cls]} access")
        attached = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]} - {ADMINISTRATOR_POLICY}
        if attached != set(role.managed_policies):
            found.append(f"{name}: managed policies {sorted(attached)}, the matrix says {sorted(role.managed_policies)}")
    return found


def beyond_live_audit(policy: dict[str, Any]) -> list[str]:
    """What an auditor's `live-audit` policy allows beyond the live checks' declared actions (--print-policy)."""
    from caseshield.audit.policy import actions

    declared = {a.lower() for a in actions()}
    return sorted(a for a in allowed_actions({"live-audit": policy}) if a.lower() not in declared)


def trust(account: Account, matrix_role: str) -> list[dict[str, Any]]:
    return [st for st in statements(document(account.role(matrix_role)["AssumeRolePolicyDocument"])) if st.get("Effect") == "Allow"]


def condition(statement: dict[str, Any], operator: str, key: str) -> list[str]:
    block = {k.lower(): v for k, v in ((statement.get("Condition") or {}).get(operator) or {}).items()}
    return [str(v) for v in as_list(block.get(key.lower()))]


@live_check("IAM-02", "iam:GetRole")
def human_roles_require_recent_mfa(account: Account) -> list[str]:
    """Every human role's trust requires MFA to be present and at most the matrix's maximum age."""
    matrix, found = load_matrix(), []
    for role in (r for r in matrix.roles.values() if r.trust == "human"):
        for st in trust(account, role.name):
            ages = [int(a) for op in ("NumericLessThan", "NumericLessThanEquals") for a in condition(st, op, "aws:MultiFactorAuthAge")]
            if condition(st, "Bool", "aws:MultiFactorAuthPresent") != ["true"] or not ages or max(ages) > matrix.mfa_max_age_seconds:
                found.append(f"{account.name(role.name)}: statement {st.get('Sid', '?')} does not require MFA at most "
                             f"{matrix.mfa_max_age_seconds} s old")
    return found


@live_check("IAM-02", "iam:GetRole")
def human_roles_admit_only_the_people_the_matrix_names(account: Account) -> list[str]:
    """No principal the matrix does not name for a human role (another matrix role, a user off its path, a person
    of another role, the same path in another account) may assume it, by the live trust policy's conditions."""
    from caseshield.iam_analysis import admitted_outsiders

    matrix, found = load_matrix(), []
    names = {r: account.name(r) for r in matrix.roles}
    for role in (r for r in matrix.roles.values() if r.trust == "human"):
        live = account.role(role.name)
        admitted = admitted_outsiders(statements(document(live["AssumeRolePolicyDocument"])), live["Arn"],
                                      matrix.refused_principals(role.name, live["Arn"], names))
        found += [f"{account.name(role.name)}: admits {p}, whom the matrix does not name" for p in admitted]
    return found


@live_check("IAM-03", "iam:GetRole", "iam:GetPolicy", "iam:GetPolicyVersion")
def matrix_roles_carry_the_irremovable_boundary(account: Account) -> list[str]:
    """Every matrix role carries the stack's permissions boundary, which denies removing or replacing itself."""
    iam, found = account.client("iam"), []
    boundary = f"arn:{account.partition}:iam::{account.account_id}:policy/{account.name('permissions-boundary')}"
    for role in load_matrix().roles.values():
        attached = account.role(role.name).get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if attached != boundary:
            found.append(f"{account.name(role.name)}: permissions boundary is {attached or 'none'}, not {boundary}")
    version = iam.get_policy(PolicyArn=boundary)["Policy"]["DefaultVersionId"]
    policy = document(iam.get_policy_version(PolicyArn=boundary, VersionId=version)["PolicyVersion"]["Document"])
    denied = {a.lower() for st in statements(policy) if st.get("Effect") == "Deny" for a in as_list(st.get("Action"))}
    found += [f"the boundary does not deny {a}" for a in ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary")
              if a.lower() not in denied]
    return found


@live_check("IAM-04", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies")
def segregation_of_duties_holds(account: Account) -> list[str]:
    """Key administrators are denied key use, excluded roles hold no case content, and the auditor only reads."""
    iam, matrix, found = account.client("iam"), load_matrix(), []
    for name in matrix.key_administrators():
        policies = account.inline_policies(account.name(name))
        denied = {a.lower() for p in policies.values() for st in statements(p) if st.get("Effect") == "Deny"
                  for a in as_list(st.get("Action"))}
        if not {a.lower() for a in KEY_CRYPTO} <= {d.replace("*", "") if d.endswith("*") else d for d in denied} | denied:
            found.append(f"{account.name(name)}: not denied {', '.join(KEY_CRYPTO)}")
    content = {a.lower() for cls in CONTENT_CLASSES for lvl in ("read", "write", "manage") for a in matrix.actions_for(cls, lvl)}
    for name in ("ci-deployer", "vendor-support", "it-operations"):
        policies = account.inline_policies(account.name(name))
        held = sorted({a for a in allowed_actions(policies) if a.lower() in content})
        if held or set(policies) & set(CONTENT_CLASSES):
            found.append(f"{account.name(name)}: holds case content ({held or sorted(set(policies) & set(CONTENT_CLASSES))})")
    auditor = account.name("security-auditor")
    writes = sorted({a for a in allowed_actions(account.inline_policies(auditor))
                     if not a.split(":")[-1].startswith(READ_VERBS) and a not in READ_KEY_USE})
    if writes:
        found.append(f"{auditor}: allows {writes}, which are not reads")
    managed = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=auditor)["AttachedPolicies"]}
    if extra := sorted(managed - set(READ_ONLY_MANAGED_POLICIES)):
        found.append(f"{auditor}: holds managed policies {extra} that are not read-only")
    return found


@live_check("IAM-05", "iam:ListEntitiesForPolicy")
def only_break_glass_holds_administrator_access(account: Account) -> list[str]:
    """Only the break-glass role holds AdministratorAccess (no other role, no user, no group)."""
    arn = f"arn:{account.partition}:iam::aws:policy/{ADMINISTRATOR_POLICY}"
    entities = account.client("iam").list_entities_for_policy(PolicyArn=arn)
    holders = [f"role {r['RoleName']}" for r in entities["PolicyRoles"] if r["RoleName"] != account.name("break-glass")]
    holders += [f"user {u['UserName']}" for u in entities["PolicyUsers"]] + [f"group {g['GroupName']}" for g in entities["PolicyGroups"]]
    return [f"{h} holds {ADMINISTRATOR_POLICY}" for h in holders]


@live_check("IAM-06", "iam:GetAccountPasswordPolicy")
def account_password_policy_is_strict(account: Account) -> list[str]:
    """The account password policy asks for 14+ characters of all four classes, 24 remembered, 90-day expiry."""
    policy = account.client("iam").get_account_password_policy()["PasswordPolicy"]
    found = []
    if policy.get("MinimumPasswordLength", 0) < PASSWORD_MIN_LENGTH:
        found.append(f"minimum length {policy.get('MinimumPasswordLength')} < {PASSWORD_MIN_LENGTH}")
    found += [f"{c} is off" for c in ("RequireUppercaseCharacters", "RequireLowercaseCharacters", "RequireNumbers", "RequireSymbols")
              if not policy.get(c)]
    if policy.get("PasswordReusePrevention", 0) < PASSWORD_REUSE_PREVENTION:
        found.append(f"remembers {policy.get('PasswordReusePrevention', 0)} passwords, fewer than {PASSWORD_REUSE_PREVENTION}")
    if not policy.get("MaxPasswordAge") or policy["MaxPasswordAge"] > PASSWORD_MAX_AGE_DAYS:
        found.append(f"passwords expire after {policy.get('MaxPasswordAge', 'never')} days, not within {PASSWORD_MAX_AGE_DAYS}")
    return found


@live_check("IAM-07", "iam:GetRole")
def vendor_sessions_are_short_and_need_an_external_id(account: Account) -> list[str]:
    """The vendor role's trust needs an exact ExternalId, and its sessions last at most four hours."""
    role, found = account.role("vendor-support"), []
    if role.get("MaxSessionDuration", 3600) > VENDOR_MAX_SESSION_SECONDS:
        found.append(f"{role['RoleName']}: sessions may last {role['MaxSessionDuration']} s, more than {VENDOR_MAX_SESSION_SECONDS}")
    found += [f"{role['RoleName']}: statement {st.get('Sid', '?')} needs no exact sts:ExternalId"
              for st in trust(account, "vendor-support") if len(condition(st, "StringEquals", "sts:ExternalId")) != 1]
    return found


@live_check("IAM-08", "iam:GetRole", "iam:ListUsers", "iam:ListAccessKeys")
def ci_deploys_through_one_oidc_subject_and_nobody_holds_keys(account: Account) -> list[str]:
    """The deployer and the nightly audit are each trusted only through the stack's OIDC provider for their own one
    exact subject, and no IAM user holds an access key."""
    iam, found, s = account.client("iam"), [], account.settings
    issuer = s.ci_oidc_provider_url.removeprefix("https://")
    for role in (r for r in load_matrix().roles.values() if r.trust == "oidc"):
        expected = s.ci_oidc_subject if role.deploys_infrastructure else s.ci_audit_oidc_subject
        for st in trust(account, role.name):
            federated = as_list((st.get("Principal") or {}).get("Federated"))
            subjects = condition(st, "StringEquals", f"{issuer}:sub")
            if not federated or not all(str(f).endswith(f":oidc-provider/{issuer}") for f in federated):
                found.append(f"{role.name} trust statement {st.get('Sid', '?')} trusts {st.get('Principal')}, not the {issuer} provider")
            if subjects != [expected] or condition(st, "StringLike", f"{issuer}:sub"):
                found.append(f"{role.name} trust statement {st.get('Sid', '?')} admits subjects {subjects}, not exactly {expected}")
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            keys = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
            found += [f"user {user['UserName']} holds access key {k['AccessKeyId']}" for k in keys]
    return found


@live_check("IAM-10", "cognito-idp:ListUserPools", "cognito-idp:DescribeUserPool")
def users_sign_in_with_totp_mfa_and_strong_passwords(account: Account) -> list[str]:
    """The user pool requires MFA without SMS (TOTP), enforces threat protection, admits only invited users, asks
    for strong passwords and, in prod, cannot be deleted.

    DescribeUserPool (which the security-auditor's SecurityAudit policy allows) says MFA is ON; with no SMS
    configuration, TOTP is the factor."""
    pool = account.client("cognito-idp").describe_user_pool(UserPoolId=account.user_pool_id)["UserPool"]
    found = []
    if pool.get("MfaConfiguration") != "ON" or pool.get("SmsConfiguration"):
        found.append(f"MFA is {pool.get('MfaConfiguration')} (SMS {'on' if pool.get('SmsConfiguration') else 'off'}): not required TOTP")
    if pool.get("UserPoolAddOns", {}).get("AdvancedSecurityMode") != "ENFORCED":
        found.append(f"threat protection is {pool.get('UserPoolAddOns', {}).get('AdvancedSecurityMode', 'OFF')}, not ENFORCED")
    if not pool.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly"):
        found.append("anyone may sign up: not invitation-only")
    policy = pool.get("Policies", {}).get("PasswordPolicy", {})
    if policy.get("MinimumLength", 0) < PASSWORD_MIN_LENGTH or not all(
            policy.get(c) for c in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols")):
        found.append(f"password policy {policy} is weaker than {PASSWORD_MIN_LENGTH}+ characters of all four classes")
    if policy.get("TemporaryPasswordValidityDays", 7) > TEMPORARY_PASSWORD_MAX_DAYS:
        found.append(f"temporary passwords live {policy.get('TemporaryPasswordValidityDays', 7)} days")
    if account.is_prod and pool.get("DeletionProtection") != "ACTIVE":
        found.append("the user pool is not deletion-protected in prod")
    return found


@live_check("IAM-11", "iam:ListRoles", "iam:ListRolePolicies", "iam:GetRolePolicy")
def data_permissions_name_their_resources(account: Account) -> list[str]:
    """No role of the stack allows a data-class action of the matrix on Resource "*" (the deployer's service
    wildcards excepted: IAM-04's denies hold it), except the actions AWS authorizes only on "*"
    (cloudtrail:LookupEvents, backup:ListBackupJobs), as the static rule of IAM-11 judges them."""
    matrix, found = load_matrix(), []
    data_actions = {a.lower() for cls in matrix.actions for lvl in ("read", "write", "manage") for a in matrix.actions_for(cls, lvl)}
    deployers = {account.name(r.name) for r in matrix.roles.values() if r.deploys_infrastructure}
    auditors = {account.name(r.name) for r in matrix.roles.values() if r.runs_live_audit}
    for role_name in sorted(account.roles):
        for policy_name, policy in account.inline_policies(role_name).items():
            if role_name in auditors and policy_name == "live-audit" and not beyond_live_audit(policy):
                continue  # the audit's configuration reads (rds:DescribeDBInstances, ...) on "*"; more is a finding
            for st in statements(policy):
                if st.get("Effect") != "Allow" or "*" not in as_list(st.get("Resource")):
                    continue
                granted = sorted({d for a in as_list(st.get("Action")) for d in data_actions if fnmatchcase(d, str(a).lower())
                                  and not (role_name in deployers and str(a).endswith(":*")) and not takes_only_star(d)})
                if granted:
                    found.append(f"{role_name}/{policy_name}: allows {granted} on every resource")
    return found
