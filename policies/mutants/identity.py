"""Identity and access mutants (IAM-*): one breakage per rule, each caught only by its own control.

Inline policies and trust policies are JSON strings by the time a transform sees them; the vendor's trust policy is
a secret (it holds the ExternalId), so the edits here unwrap and rewrap the engine's secret marking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policies.mutants import drop_prop, drop_statement, each_statement, edit_document, mutant, set_prop

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"
PASSWORD_POLICY = "aws:iam/accountPasswordPolicy:AccountPasswordPolicy"
ACCESS_ANALYZER = "aws:accessanalyzer/analyzer:Analyzer"
USER_POOL = "aws:cognito/userPool:UserPool"

Change = Callable[[dict[str, Any]], None]


def add_actions(*actions: str) -> Change:
    return lambda statement: statement.update(Action=[*statement["Action"], *actions])


def rename_operator(old: str, new: str) -> Change:
    """Rename one condition operator of a statement, keeping its tests (e.g. negate it)."""
    def change(statement: dict[str, Any]) -> None:
        conditions = statement.get("Condition") or {}
        if old in conditions:
            conditions[new] = conditions.pop(old)
    return change


def condition(operator: str, key: str, value: Any = None) -> Change:
    """Set (or, with no value, remove) one condition test of a statement."""

    def apply(statement: dict[str, Any]) -> None:
        tests = statement.setdefault("Condition", {}).setdefault(operator, {})
        if value is None:
            tests.pop(key, None)
            if not tests:
                statement["Condition"].pop(operator)
        else:
            tests[key] = value

    return apply


def any_branch(statement: dict[str, Any]) -> None:
    """Move the OIDC subject test from StringEquals to a StringLike over every ref of the repository."""
    tests = statement["Condition"]["StringEquals"]
    key = next(k for k in tests if k.endswith(":sub"))
    repository = ":".join(tests.pop(key).split(":")[:2])
    statement["Condition"]["StringLike"] = {key: f"{repository}:*"}


def any_external_id(statement: dict[str, Any]) -> None:
    statement["Condition"] = {"StringLike": {"sts:ExternalId": "*"}}


# --- IAM-01 ---------------------------------------------------------------------------------------------------------
mutant("iam-01-partner-may-delete-documents", "IAM-01", "the partner's case-documents policy also allows s3:DeleteObject",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(add_actions("s3:DeleteObject"), "CaseDocumentsWrite"),
                             name="*-roles-partner-case-documents"))
mutant("iam-01-paralegal-reads-snapshots", "IAM-01", "the paralegal (case-database read) gets manage-level rds:DescribeDBSnapshots",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(add_actions("rds:DescribeDBSnapshots"), "CaseDatabaseRead"),
                             name="*-roles-paralegal-case-database"))
mutant("iam-01-paralegal-trusts-ec2", "IAM-01", "the paralegal role is trusted by the EC2 service instead of people",
       transform=edit_document(ROLE, "assumeRolePolicy", each_statement(lambda s: s.update(Principal={"Service": "ec2.amazonaws.com"})),
                             name="*-roles-paralegal"))

# --- IAM-02 ---------------------------------------------------------------------------------------------------------
mutant("iam-02-mfa-age-dropped", "IAM-02", "the partner role accepts MFA of any age",
       transform=edit_document(ROLE, "assumeRolePolicy", each_statement(condition("NumericLessThanEquals", "aws:MultiFactorAuthAge")),
                             name="*-roles-partner"))
mutant("iam-02-day-old-mfa", "IAM-02", "the records manager accepts an MFA sign-in a day old",
       transform=edit_document(ROLE, "assumeRolePolicy",
                             each_statement(condition("NumericLessThanEquals", "aws:MultiFactorAuthAge", "86400")),
                             name="*-roles-records-manager"))
mutant("iam-02-anyone-in-the-account", "IAM-02", "the partner role trusts anything in the account with MFA (no named people)",
       transform=edit_document(ROLE, "assumeRolePolicy", each_statement(condition("ArnLike", "aws:PrincipalArn")),
                             name="*-roles-partner"))
mutant("iam-02-every-caseshield-person", "IAM-02", "the key administrator trusts every person on a CaseShield path",
       transform=edit_document(ROLE, "assumeRolePolicy",
                             each_statement(condition("ArnLike", "aws:PrincipalArn", "arn:aws:iam::123456789012:user/caseshield/*")),
                             name="*-roles-key-admin"))
mutant("iam-02-named-people-negated", "IAM-02", "break-glass admits everyone but the people it names (ArnNotLike)",
       transform=edit_document(ROLE, "assumeRolePolicy", each_statement(rename_operator("ArnLike", "ArnNotLike")),
                             name="*-roles-break-glass"))
mutant("iam-02-matrix-names-everyone", "IAM-02", "the matrix lets every CaseShield person assume the paralegal role",
       inputs={"policies/role-matrix.yaml": lambda m: m["roles"]["paralegal"].update(assumed_by=["user/caseshield/*"])})

# --- IAM-03 ---------------------------------------------------------------------------------------------------------
mutant("iam-03-associate-without-boundary", "IAM-03", "the associate role loses its permissions boundary",
       transform=drop_prop(ROLE, "permissionsBoundary", name="*-roles-associate"))
mutant("iam-03-boundary-removable", "IAM-03", "the boundary no longer denies deleting a role's boundary",
       transform=edit_document(MANAGED_POLICY, "policy", drop_statement("NoBoundaryIsEverRemoved"), name="*-permissions-boundary"))
mutant("iam-03-boundary-replaceable", "IAM-03", "the boundary's role-creation guard accepts any boundary (StringLike *)",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(
           lambda s: s.update(Condition={"StringNotLike": {"iam:PermissionsBoundary": "*"}}), "RolesOnlyUnderThisBoundary"),
           name="*-permissions-boundary"))
mutant("iam-03-deployer-edits-the-boundary", "IAM-03", "the boundary's self-edit deny exempts the deployer again",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(
           lambda s: s["Condition"]["ArnNotEquals"].update({"aws:PrincipalArn": [*s["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
                                                                                  "arn:aws:iam::123456789012:role/cs-prod-ci-deployer"]}),
           "BoundaryIsImmutable"), name="*-permissions-boundary"))
mutant("iam-03-boundary-allows-everything", "IAM-03", "the boundary's ElevatedRolesByMatrix Allow of * to the deployer is back",
       transform=edit_document(MANAGED_POLICY, "policy", lambda d: d["Statement"].append(
           {"Sid": "ElevatedRolesByMatrix", "Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/cs-prod-ci-deployer"]}}}),
           name="*-permissions-boundary"))

# --- IAM-04 ---------------------------------------------------------------------------------------------------------
mutant("iam-04-key-admin-may-use-keys", "IAM-04", "the key administrator's policies lose their explicit denies of key use",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("KeyAdminCannotDecrypt", "AdministratorsNeverUseKeys"),
                             name="*-roles-key-admin-*"))
mutant("iam-04-ci-reads-case-documents", "IAM-04", "the CI deployer's s3:* is no longer denied case-document content",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("CiCannotReadCaseDataCaseDocumentsContent"),
                             name="*-roles-ci-deployer-segregation-of-duties"))
mutant("iam-04-auditor-power-user", "IAM-04", "the security auditor gets PowerUserAccess instead of SecurityAudit",
       transform=set_prop(ROLE_POLICY_ATTACHMENT, "policyArn", "arn:aws:iam::aws:policy/PowerUserAccess",
                          name="*-roles-security-auditor-SecurityAudit"))

# --- IAM-05 ---------------------------------------------------------------------------------------------------------
mutant("iam-05-it-operations-administrator", "IAM-05", "IT operations' managed-policy attachment becomes AdministratorAccess",
       transform=set_prop(ROLE_POLICY_ATTACHMENT, "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess",
                          name="*-roles-it-operations-AmazonSSMReadOnlyAccess"))

# --- IAM-06 ---------------------------------------------------------------------------------------------------------
mutant("iam-06-eight-character-passwords", "IAM-06", "the account password policy accepts 8-character passwords",
       transform=set_prop(PASSWORD_POLICY, "minimumPasswordLength", 8))

# --- IAM-07 ---------------------------------------------------------------------------------------------------------
mutant("iam-07-twelve-hour-vendor-sessions", "IAM-07", "vendor sessions last 12 hours",
       transform=set_prop(ROLE, "maxSessionDuration", 43200, name="*-roles-vendor-support"))
mutant("iam-07-any-external-id", "IAM-07", "the vendor trust accepts any ExternalId (StringLike *)",
       transform=edit_document(ROLE, "assumeRolePolicy", each_statement(any_external_id), name="*-roles-vendor-support"))

# --- IAM-08 ---------------------------------------------------------------------------------------------------------
mutant("iam-08-oidc-any-branch", "IAM-08", "the CI trust admits every ref of the repository (StringLike repo:*)",
       transform=edit_document(ROLE, "assumeRolePolicy", each_statement(any_branch), name="*-roles-ci-deployer"))

# --- IAM-09 ---------------------------------------------------------------------------------------------------------
mutant("iam-09-unused-access-analyzer-only", "IAM-09", "the only analyzer reports unused access, not external access",
       transform=set_prop(ACCESS_ANALYZER, "type", "ACCOUNT_UNUSED_ACCESS"))

# --- IAM-10 ---------------------------------------------------------------------------------------------------------
mutant("iam-10-mfa-off", "IAM-10", "the user pool's MFA is OFF",
       transform=set_prop(USER_POOL, "mfaConfiguration", "OFF"))
mutant("iam-10-threat-protection-audit-only", "IAM-10", "threat protection only audits risky sign-ins",
       transform=set_prop(USER_POOL, "userPoolAddOns.advancedSecurityMode", "AUDIT"))
mutant("iam-10-self-sign-up", "IAM-10", "anyone may sign themselves up to the user pool",
       transform=set_prop(USER_POOL, "adminCreateUserConfig.allowAdminCreateUserOnly", False))
mutant("iam-10-eight-character-passwords", "IAM-10", "application passwords may have 8 characters",
       transform=set_prop(USER_POOL, "passwordPolicy.minimumLength", 8))
mutant("iam-10-user-pool-deletable", "IAM-10", "the prod user pool's deletion protection is INACTIVE",
       transform=set_prop(USER_POOL, "deletionProtection", "INACTIVE"))

# --- IAM-11 ---------------------------------------------------------------------------------------------------------
mutant("iam-11-documents-on-any-resource", "IAM-11", "the partner's case-documents grant is widened to Resource *",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(lambda s: s.update(Resource="*"), "CaseDocumentsWrite"),
                             name="*-roles-partner-case-documents"))

# --- IAM-12 ---------------------------------------------------------------------------------------------------------
# Each opens one escalation primitive for real: where the boundary and the role's own policy both hold it back, the
# mutant loosens both (loosening one alone is caught by nothing, rightly: the other still holds).

def together(*transforms: Any) -> Any:
    """One transform applying the first of `transforms` that matches a resource (each matches different ones)."""

    def transform(args: Any) -> Any:
        return next((r for r in (t(args) for t in transforms) if r is not None), None)

    return transform


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """One document edit applying each of `changes` in turn."""

    def apply(document: dict[str, Any]) -> None:
        for change in changes:
            change(document)

    return apply


def unprotect(arn_part: str) -> Change:
    return lambda s: s.update(Resource=[r for r in s["Resource"] if not r.endswith(arn_part)])


def unconditioned(statement: dict[str, Any]) -> None:
    statement.pop("Condition", None)


def any_role_anywhere(statement: dict[str, Any]) -> None:
    """PassRole of every blueprint role, to any service."""
    unconditioned(statement)
    statement["Resource"] = "arn:aws:iam::*:role/cs-prod-*"


BOUNDARY = "*-permissions-boundary"
DEPLOY = "*-roles-ci-deployer-deploy"

mutant("iam-12-deployer-deletes-its-own-sod", "IAM-12",
       "the boundary no longer protects the deployer's own role: it may iam:DeleteRolePolicy its segregation denies",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(unprotect("-ci-deployer"), "ProtectedRolesKeepTheirIam"),
                               name=BOUNDARY))
mutant("iam-12-role-creation-without-boundary", "IAM-12",
       "role creation loses its iam:PermissionsBoundary condition, in the deployer's grant and in the boundary",
       transform=together(
           edit_document(ROLE_POLICY, "policy", each_statement(unconditioned, "ManageBlueprintRolesUnderTheBoundary"), name=DEPLOY),
           edit_document(MANAGED_POLICY, "policy", drop_statement("RolesOnlyUnderThisBoundary"), name=BOUNDARY)))
mutant("iam-12-deployer-passes-roles-to-lambda", "IAM-12",
       "the deployer may pass any blueprint role to a Lambda function it creates and invokes",
       transform=together(
           edit_document(ROLE_POLICY, "policy", both(
               each_statement(any_role_anywhere, "PassServiceRolesToTheirServices"),
               each_statement(add_actions("lambda:CreateFunction", "lambda:InvokeFunction"), "DeployEnvironmentServices")),
               name=DEPLOY),
           edit_document(MANAGED_POLICY, "policy", each_statement(add_actions("lambda:*"), "DeployerCeiling"), name=BOUNDARY)))
mutant("iam-12-grant-to-anyone", "IAM-12",
       "kms:CreateGrant without the AWS-resource constraint, in the deployer's key administration and the documents key policy",
       transform=together(
           edit_document(ROLE_POLICY, "policy", both(drop_statement("GrantsOnlyForAwsResources"),
                                                     each_statement(unconditioned, "GrantKeysToAwsResources")),
                         name="*-roles-ci-deployer-key-administration"),
           edit_document("aws:kms/key:Key", "policy", each_statement(condition("Bool", "kms:GrantIsForAWSResource"),
                                                                    "AdministratorsGrantOnlyToAwsResources"),
                         name="*-keys-case-documents")))
mutant("iam-12-partner-rewrites-trust", "IAM-12",
       "the partner role (and its boundary ceiling) gets iam:UpdateAssumeRolePolicy",
       transform=together(
           edit_document(ROLE_POLICY, "policy", lambda d: d["Statement"].append(
               {"Sid": "RewriteTrust", "Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"}),
               name="*-roles-partner-case-documents"),
           edit_document(MANAGED_POLICY, "policy", each_statement(add_actions("iam:UpdateAssumeRolePolicy"), "MatrixDataActions"),
                         name=BOUNDARY)))
mutant("iam-12-deployer-rewrites-key-policies", "IAM-12", "the deployer's deny of kms:PutKeyPolicy is gone",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("DeployerNeverRewritesKeys"), name=DEPLOY))
mutant("iam-12-deployer-deletes-metric-filters", "IAM-12", "the deployer may delete metric filters and alarms again",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(
           lambda s: s.update(Action=[a for a in s["Action"] if a not in ("logs:DeleteMetricFilter", "cloudwatch:DeleteAlarms")]),
           "DeployerNeverDestroysOrBlinds"), name=DEPLOY))

mutant("iam-12-instance-role-unbounded", "IAM-12", "the application instances' role carries no permissions boundary",
       transform=drop_prop(ROLE, "permissionsBoundary", name="*-app-instance-role"))
mutant("iam-12-service-roles-reach-iam", "IAM-12", "the service boundary no longer keeps service roles out of IAM",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(
           lambda s: s.update(NotAction=[a for a in s["NotAction"] if a != "iam:*"]), "ServiceWorkOutsideIam"),
           name="*-service-boundary-policy"))
mutant("iam-12-service-roles-read-the-database", "IAM-12", "the service boundary no longer denies database logins and secret values",
       transform=edit_document(MANAGED_POLICY, "policy", drop_statement("NoCaseContentButBackup"), name="*-service-boundary-policy"))
mutant("iam-12-service-roles-run-lambda", "IAM-12", "service roles may update and invoke Lambda functions that run under other roles",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(
           lambda s: s.update(NotAction=[a for a in s["NotAction"] if a != "lambda:*"]), "ServiceWorkOutsideIam"),
           name="*-service-boundary-policy"))
mutant("iam-12-service-roles-grant-keys", "IAM-12", "service roles may grant a data key to any principal",
       transform=edit_document(MANAGED_POLICY, "policy", drop_statement("GrantsOnlyForAwsResources"), name="*-service-boundary-policy"))

# --- IAM-13 ---------------------------------------------------------------------------------------------------------
mutant("iam-13-misspelled-deny", "IAM-13", "the deployer's deny names kms:PutKeyPolicies, an action that does not exist",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(
           lambda s: s.update(Action=["kms:PutKeyPolicies" if a == "kms:PutKeyPolicy" else a for a in s["Action"]]),
           "DeployerNeverRewritesKeys"), name=DEPLOY))
mutant("iam-13-condition-key-the-action-never-carries", "IAM-13",
       "the deployer's PassRole is conditioned on iam:PermissionsBoundary, a key PassRole never carries",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(
           lambda s: s.update(Condition={"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/x"}}),
           "PassServiceRolesToTheirServices"), name=DEPLOY))

# --- effective-access probes (policies/rules/deployer.py, policies/role-probes.yaml) --------------------------------
mutant("iam-08-deployer-passes-roles-to-any-service", "IAM-08",
       "the deployer's PassRole of the service roles no longer names the services they are for",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(lambda s: s.pop("Condition", None),
                                                                     "PassServiceRolesToTheirServices"), name=DEPLOY))
mutant("iam-08-deployer-cannot-create-blueprint-roles", "IAM-08",
       "the deployer's grant to create the blueprint's roles under the boundary is gone (the pipeline cannot deploy roles)",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("ManageBlueprintRolesUnderTheBoundary"), name=DEPLOY))
mutant("iam-12-key-admin-administers-every-key", "IAM-12",
       "the key administrator's key administration reaches every key of the account, not only the data-class keys",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(lambda s: s.update(Resource="*"), "AdministerDataClassKeys"),
                               name="*-roles-key-admin-key-administration"))
mutant("iam-03-deploy-ceiling-for-every-role", "IAM-03",
       "the boundary's deploy ceiling no longer names the deployer: any role under the boundary may deploy",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(lambda s: s.pop("Condition", None), "DeployerCeiling"),
                               name="*-permissions-boundary"))
mutant("iam-03-break-glass-creates-access-keys", "IAM-03",
       "the boundary's NoLongTermCredentials deny became an Allow: break-glass may create users and access keys",
       transform=edit_document(MANAGED_POLICY, "policy", each_statement(lambda s: s.update(Effect="Allow"), "NoLongTermCredentials"),
                               name="*-permissions-boundary"))
mutant("iam-12-service-roles-create-keys", "IAM-12",
       "the service boundary no longer denies key administration: a service role may create keys and rewrite key policies",
       transform=edit_document(MANAGED_POLICY, "policy", drop_statement("NoKeyAdministration"), name="*-service-boundary-policy"))

# --- the role matrix's grants and constraints, judged on effective access (issue 14) ---------------------------------
mutant("iam-01-partner-cannot-decrypt-the-database", "IAM-01",
       "the partner's case-database policy no longer lets it use the case-database key",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("UseCaseDatabaseKey"), name="*-roles-partner-case-database"))
mutant("iam-01-auditor-runs-a-blind-audit", "IAM-01", "the security auditor's live-audit policy no longer allows Macie's session",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(
           lambda s: s.update(Action=[a for a in s["Action"] if a != "macie2:GetMacieSession"]), "CaseShieldLiveAuditReadOnly"),
           name="*-roles-security-auditor-live-audit"))
mutant("iam-01-auditor-view-only", "IAM-01", "the security auditor carries ViewOnlyAccess instead of the matrix's SecurityAudit",
       transform=set_prop(ROLE_POLICY_ATTACHMENT, "policyArn", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
                          name="*-roles-security-auditor-SecurityAudit"))
mutant("iam-01-twelve-hour-partner-sessions", "IAM-01", "the partner role's sessions last 12 hours",
       transform=set_prop(ROLE, "maxSessionDuration", 43200, name="*-roles-partner"))
mutant("iam-11-paralegal-connects-as-anyone", "IAM-11",
       "the paralegal's database login is widened to every database user (the records manager's included)",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(lambda s: s.update(Resource="*"), "ConnectAsDatabaseUser"),
                               name="*-roles-paralegal-case-database"))
mutant("iam-04-it-operations-logs-in-to-the-database", "IAM-04",
       "IT operations' segregation-of-duties policy no longer denies logging in to the case database",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("CiCannotReadCaseDataCaseDatabaseLogin"),
                               name="*-roles-it-operations-segregation-of-duties"))
mutant("iam-04-vendor-decrypt-deny-turned-allow", "IAM-04",
       "the vendor's deny of decrypting case documents becomes an Allow inside its segregation-of-duties policy",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(lambda s: s.update(Effect="Allow"),
                                                                    "CiCannotReadCaseDataCaseDocumentsDecrypt"),
                               name="*-roles-vendor-support-segregation-of-duties"))
mutant("iam-04-key-admin-relies-on-its-grant", "IAM-04",
       "the key administrator's segregation-of-duties deny is gone (only its key-administration grant still denies key use)",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("KeyAdminCannotDecrypt"),
                               name="*-roles-key-admin-segregation-of-duties"))
mutant("iam-08-deployer-rewrites-the-service-boundary", "IAM-08",
       "the deployer may again publish a new version of the service boundary (and so turn the instance role on case data)",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("ServiceBoundaryChangesThroughBreakGlass"), name=DEPLOY))


def managed_policies_of(role_name: str, *names: str) -> Any:
    def change(document: Any) -> None:
        document["roles"][role_name]["managed_policies"] = list(names)

    return change


mutant("iam-01-auditor-given-read-only-access-in-the-matrix", "IAM-01",
       "policies/role-matrix.yaml gives the security auditor ReadOnlyAccess instead of SecurityAudit: it reads every case document",
       inputs={"policies/role-matrix.yaml": managed_policies_of("security-auditor", "ReadOnlyAccess")})
