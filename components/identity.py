"""Identity: the IAM roles of the role matrix, their permissions boundary, and the account's IAM guardrails.

Why generated: `policies/role-matrix.yaml` is the single statement of who may do what to which data class. Every
role, trust policy and permission here is derived from it, so the quarterly access review and the policy pack
compare live IAM with the same file the roles were built from, and nobody hand-edits a grant into one role.

Layers, from outermost to innermost:
- trust policies decide who may become a role (MFA for people, an ExternalId for the vendor, one exact OIDC
  subject for CI);
- one permissions boundary caps every role at what the matrix can grant, and denies the moves that would undo
  the controls (long-term credentials, removing, replacing or editing a boundary, creating a role without it,
  changing the deployer's, break-glass's or a segregated role's own IAM, stopping the audit trail, deleting keys);
- inline policies grant each role exactly its data classes' actions on exactly those classes' resources and keys;
- explicit denies, generated from the matrix's segregation-of-duties constraints, hold even where a role has
  broad rights (the CI deployer may deploy everything yet never read case content).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from caseshield.iam_actions import resource_formats, takes_only_star
from caseshield.role_matrix import Constraint, Role, RoleMatrix, RoleMatrixError
from caseshield.settings import Settings
from components.base import DataClassScope, child, policy_document, role_arn, role_name, static_policy_document
from components.keys import ADMIN_ACTIONS, CRYPTO_ACTIONS
from components.service_roles import service_boundary_arn

# People and the pipeline get one-hour sessions: a stolen session token is worth little for long.
SESSION_SECONDS = 3600
OIDC_AUDIENCE = "sts.amazonaws.com"
EXTERNAL_ID_LENGTH = 32
# The inline policy holding a role's segregation-of-duties denies; the guardrail alarm (components/alerting.py) watches
# writes to it by this name.
SOD_POLICY_NAME = "segregation-of-duties"
# What a data-class key grants its users; writers also encrypt.
KEY_READ_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
KEY_WRITE_ACTIONS = [*KEY_READ_ACTIONS, "kms:Encrypt"]
# Key listings do not support resource-level permissions; they reveal key ids and aliases, never content.
KEY_INVENTORY_ACTIONS = ["kms:ListKeys", "kms:ListAliases"]
# Creating keys has no resource to scope to; the key policies written with them govern everything after.
KEY_CREATION_ACTIONS = ["kms:CreateKey", *KEY_INVENTORY_ACTIONS]
# Actions whose name says they read configuration, not the content of a data class (deploy tooling needs them).
CONTROL_PLANE_VERBS = ("Describe", "List")

# Guardrails the boundary denies to every role, the break-glass administrator included.
# UpdateUser too: a user moved onto a human role's path (`assumed_by`) would join the people it names.
LONG_TERM_CREDENTIAL_ACTIONS = ["iam:CreateUser", "iam:UpdateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile",
                                "iam:CreateServiceSpecificCredential"]
BOUNDARY_REMOVAL_ACTIONS = ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"]
BOUNDARY_EDIT_ACTIONS = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"]
AUDIT_TRAIL_OFF_ACTIONS = ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"]
KEY_DELETION_ACTIONS = ["kms:ScheduleKeyDeletion", "kms:DeleteImportedKeyMaterial"]

# Configuration metadata of the services this environment runs on: what the SecurityAudit and SSM read-only
# managed policies need to be useful under the boundary. Deliberately excludes every call that returns content
# (s3:GetObject, logs:GetLogEvents, secretsmanager:GetSecretValue, ssm:GetParameter, ec2:GetPasswordData,
# cognito-idp:ListUsers): those reach a role only through the matrix's data-class grants.
READ_ONLY_BASICS = [
    "sts:GetCallerIdentity", "iam:Get*", "iam:List*", "iam:GenerateCredentialReport",
    "iam:GenerateServiceLastAccessedDetails", "access-analyzer:Get*", "access-analyzer:List*",
    "ec2:Describe*", "elasticloadbalancing:Describe*", "autoscaling:Describe*", "wafv2:Get*", "wafv2:List*",
    "acm:Describe*", "acm:List*", "rds:Describe*", "rds:ListTagsForResource", "s3:GetBucket*",
    "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetAccountPublicAccessBlock",
    "s3:ListAllMyBuckets", "kms:Describe*", "kms:List*", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "cloudtrail:Describe*", "cloudtrail:GetTrail*", "cloudtrail:GetEventSelectors", "cloudtrail:ListTrails",
    "config:Describe*", "config:Get*", "config:List*", "guardduty:Get*", "guardduty:List*",
    "securityhub:Describe*", "securityhub:Get*", "securityhub:List*", "logs:Describe*", "cloudwatch:Describe*",
    "cloudwatch:Get*", "cloudwatch:List*", "events:Describe*", "events:List*", "sns:GetTopicAttributes",
    "sns:List*", "backup:ListBackupPlans", "backup:ListBackupVaults", "backup:GetBackupPlan",
    "backup:DescribeBackupVault", "ssm:Describe*", "ssm:List*", "cognito-idp:DescribeUserPool",
    "cognito-idp:ListUserPools", "tag:GetResources",
    # What the live audit also reads (caseshield/audit): table settings, tags, EBS defaults, Macie's session and
    # jobs, SSM documents and patch baselines. Never ssm:GetParameter*: parameters may hold secrets.
    # (dynamodb:Describe* never returns items; macie2 is named action by action: GetSensitiveDataOccurrences would.)
    "dynamodb:Describe*", "dynamodb:ListTagsOfResource", "ec2:GetEbs*", "logs:ListTagsForResource",
    "macie2:GetMacieSession", "macie2:ListClassificationJobs", "ssm:GetDocument", "ssm:GetPatchBaseline*",
]
# The inline policy of a role the matrix marks `runs_live_audit`: the live audit's read-only actions, no more.
LIVE_AUDIT_POLICY = "live-audit"
# Services the deployer manages resources of (it deploys the whole environment), held to the stack's regions.
# Neither IAM nor KMS is listed: the deployer's IAM is the named role and policy actions below, and it administers
# keys through the key-administration grant, which never includes using them.
DEPLOYED_SERVICES = (
    "access-analyzer", "acm", "autoscaling", "backup", "backup-storage", "cloudtrail", "cloudwatch", "cognito-idp",
    "config", "dynamodb", "ec2", "elasticloadbalancing", "events", "guardduty", "logs", "rds", "s3", "secretsmanager",
    "securityhub", "sns", "ssm", "wafv2",
)
# What the deployer may do to the blueprint's roles, instance profiles and customer-managed policies (named
# `<prefix>-*`), and nothing else in IAM: no users, groups or access keys, no role of another name.
DEPLOYER_ROLE_ACTIONS = [
    "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
    "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
]
DEPLOYER_POLICY_ACTIONS = [
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
]
DEPLOYER_PROFILE_ACTIONS = [
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
]
DEPLOYER_OIDC_ACTIONS = [
    "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
]
# Account-level IAM settings the blueprint manages (AccountGuardrails); none has a resource to scope to.
DEPLOYER_ACCOUNT_IAM_ACTIONS = ["iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy"]
# The blueprint's service roles (their names after the stack prefix) and the service each is passed to
# (iam:PassedToService): instance profiles, flow logs, RDS enhanced monitoring, the Config recorder, AWS Backup and
# CloudTrail's log delivery. They carry the service boundary (components/service_roles.py): the deployer may create
# or change these roles, and no other, only under it, and pass them only to these services; whatever it grants one,
# the service boundary keeps it from IAM, key administration, case content and destruction (IAM-03 proves it).
SERVICE_ROLES = {
    "app-instance": "ec2.amazonaws.com", "vpc-flow-logs": "vpc-flow-logs.amazonaws.com",
    "rds-monitoring": "monitoring.rds.amazonaws.com", "config-recorder": "config.amazonaws.com",
    "backup": "backup.amazonaws.com", "cloudtrail-to-logs": "cloudtrail.amazonaws.com",
}
PASSED_TO_SERVICES = sorted(set(SERVICE_ROLES.values()))
# Role actions whose request carries the target role's boundary (`iam:PermissionsBoundary`); the boundary denies
# them unless that boundary is the blueprint's. (UpdateAssumeRolePolicy and DeleteRole carry no such key.)
BOUNDARY_KEYED_ROLE_ACTIONS = [
    "iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy",
]
# What nobody under the boundary may do to a protected role (see `protected_role_names`).
PROTECTED_ROLE_ACTIONS = [
    "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:DeleteRole",
]
# What the deployer may never do to a blueprint role: change who may assume it, or delete it (and so re-create it
# with another trust). Trust changes are break-glass's.
ROLE_TRUST_ACTIONS = ["iam:UpdateAssumeRolePolicy", "iam:DeleteRole"]
# The boundary's ceiling for the deployer's IAM: the families of its named grant, never `iam:*`.
DEPLOYER_IAM_CEILING = ["iam:*Role", "iam:PutRolePermissionsBoundary", "iam:*Policy", "iam:*PolicyVersion",
                        "iam:*InstanceProfile", "iam:*OpenIDConnectProvider*", "kms:CreateKey", "kms:*Alias"]
# Key operations that would let the deployer hand a key to someone else or switch it off; key policies change
# only through a human key administrator (see `key_guardrail_statements`).
DEPLOYER_KEY_DENIES = ["kms:PutKeyPolicy", "kms:DisableKey", "kms:DisableKeyRotation", "kms:ReplicateKey"]


@dataclass
class RoleMatrixRolesArgs:
    settings: Settings
    matrix: RoleMatrix
    account_id: str
    partition: str
    # Data class -> its key and resources; every data class a role holds must be present.
    scopes: Mapping[str, DataClassScope]
    # Account the vendor's support staff sign in to. "" trusts this account instead, so a stack works before
    # the vendor contract names an account; set it (and the environment passes a setting) for real vendor access.
    vendor_account_id: str = ""


class RoleMatrixRoles(pulumi.ComponentResource):
    """One IAM role per role-matrix role (`roles["partner"]`, ...), capped by one permissions boundary."""

    roles: dict[str, aws.iam.Role]
    boundary: aws.iam.Policy
    oidc_provider: aws.iam.OpenIdConnectProvider | None
    vendor_external_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: RoleMatrixRolesArgs, opts: pulumi.ResourceOptions | None = None):
        # A matrix that breaks segregation of duties, or lacks the resources of a class it grants, must fail the
        # preview before a single resource is registered.
        check_matrix(args)
        super().__init__("caseshield:identity:RoleMatrix", name, None, opts)
        s, matrix = args.settings, args.matrix
        self.boundary = aws.iam.Policy(
            f"{name}-permissions-boundary",
            name=boundary_name(s),
            description="CaseShield: the most any role-matrix role can do, and what none of them may ever do.",
            policy=boundary_document(args),
            opts=child(self),
        )
        self.oidc_provider = self._oidc_provider(name, args)
        self.vendor_external_id = self._vendor_external_id(name, args)
        self.roles = {}
        for role in matrix.roles.values():
            self.roles[role.name] = self._role(name, role, args)
            self._permissions(name, role, args)
        self.register_outputs({"role_arns": {r: role.arn for r, role in self.roles.items()},
                               "boundary_arn": self.boundary.arn})

    def _oidc_provider(self, name: str, args: RoleMatrixRolesArgs) -> aws.iam.OpenIdConnectProvider | None:
        """The CI issuer, if any role trusts it. No thumbprints: IAM validates well-known issuers (GitHub,
        GitLab, ...) against its own trusted CAs, and fetches the thumbprint of any other issuer itself."""
        if not any(r.trust == "oidc" for r in args.matrix.roles.values()):
            return None
        return aws.iam.OpenIdConnectProvider(
            f"{name}-ci-oidc",
            url=args.settings.ci_oidc_provider_url,
            client_id_lists=[OIDC_AUDIENCE],
            opts=child(self),
        )

    def _vendor_external_id(self, name: str, args: RoleMatrixRolesArgs) -> pulumi.Output[str] | None:
        """The ExternalId the vendor must present: a generated secret, so a confused deputy at the vendor cannot
        be steered into our account by someone who merely knows the role ARN."""
        if not any(r.trust == "vendor" for r in args.matrix.roles.values()):
            return None
        external_id = random.RandomPassword(f"{name}-vendor-external-id", length=EXTERNAL_ID_LENGTH, special=False,
                                            opts=child(self))
        return pulumi.Output.secret(external_id.result)

    def _role(self, name: str, role: Role, args: RoleMatrixRolesArgs) -> aws.iam.Role:
        s = args.settings
        return aws.iam.Role(
            f"{name}-{role.name}",
            name=role_name(s, role.name),
            description=role.description[:1000],
            assume_role_policy=self._trust_policy(role, args),
            max_session_duration=(s.vendor_session_hours * 3600 if role.trust == "vendor"
                                  else args.matrix.session_max_seconds.get(role.trust, SESSION_SECONDS)),
            permissions_boundary=self.boundary.arn,
            tags={"role-matrix-role": role.name, "trust": role.trust},
            opts=child(self),
        )

    def _trust_policy(self, role: Role, args: RoleMatrixRolesArgs) -> pulumi.Input[str]:
        if role.trust == "human":
            return human_trust(role, args)
        if role.trust == "vendor":
            assert self.vendor_external_id is not None
            return vendor_trust(args, self.vendor_external_id)
        assert self.oidc_provider is not None
        # The deployer and the nightly audit are different jobs with different OIDC subjects: neither token
        # assumes the other's role.
        subject = args.settings.ci_oidc_subject if role.deploys_infrastructure else args.settings.ci_audit_oidc_subject
        return oidc_trust(args.settings, self.oidc_provider.arn, subject)

    def _permissions(self, name: str, role: Role, args: RoleMatrixRolesArgs) -> None:
        """Inline policies (one per data class held, plus key administration, deployment and segregation denies)
        and the managed policies the matrix names."""
        role_resource = self.roles[role.name]
        documents: dict[str, pulumi.Input[str]] = {
            dc: policy_document(data_class_statements(args.matrix, dc, level, args.scopes[dc]))
            for dc, level in role.data.items()
        }
        if role.administers_keys:
            documents["key-administration"] = policy_document(key_administration_statements(args))
        if role.deploys_infrastructure:
            documents["deploy"] = policy_document(deploy_statements(args))
        if role.runs_live_audit:
            documents[LIVE_AUDIT_POLICY] = live_audit_document()
        denies = segregation_statements(role, args)
        if denies:
            documents[SOD_POLICY_NAME] = policy_document(denies)
        for policy_name, document in documents.items():
            aws.iam.RolePolicy(f"{name}-{role.name}-{policy_name}", name=policy_name, role=role_resource.name,
                               policy=document, opts=child(role_resource))
        for managed in managed_policy_names(role):
            aws.iam.RolePolicyAttachment(
                f"{name}-{role.name}-{managed}", role=role_resource.name,
                policy_arn=f"arn:{args.partition}:iam::aws:policy/{managed}", opts=child(role_resource))


# ---------------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------------

def check_matrix(args: RoleMatrixRolesArgs) -> None:
    """Refuse a matrix that breaks its own segregation of duties, or grants a class we cannot scope."""
    violations = args.matrix.violations()
    if violations:
        raise RoleMatrixError("role matrix breaks segregation of duties: " + "; ".join(violations))
    held = {dc for r in args.matrix.roles.values() for dc in r.data}
    missing = sorted(held - set(args.scopes))
    if missing:
        raise RoleMatrixError(f"no DataClassScope for data classes {missing}: their grants would have no resources")
    unscoped = sorted({dc for r in args.matrix.roles.values() for dc, level in r.data.items()
                       if args.matrix.actions_for(dc, level) and not args.scopes[dc].resource_arns})
    if unscoped:
        raise RoleMatrixError(f"DataClassScope of {unscoped} lists no resource ARNs; refusing to grant on '*'")


# ---------------------------------------------------------------------------------------------------------------
# Boundary
# ---------------------------------------------------------------------------------------------------------------

def boundary_name(settings: Settings) -> str:
    return f"{settings.name_prefix}-permissions-boundary"


def boundary_document(args: RoleMatrixRolesArgs) -> str:
    """The permissions boundary: a ceiling built from the matrix plus guardrails no role may cross.

    A boundary grants nothing by itself; it only caps what identity policies can grant, and its denies hold for
    every role whatever it is granted later. Each Allow names the principals it caps for (`aws:PrincipalArn`):
    the matrix's data actions reach only roles that hold data, key administration only key administrators, the
    deploy ceiling only the deployer. So a role the deployer creates under this boundary (it may create no other
    kind) gets nothing beyond configuration reads, whatever policy it is given.

    No role but break-glass is allowed "*": the deployer's ceiling is its own deploy grant (`deploy_statements`),
    named IAM actions on the blueprint's roles and policies, never `iam:*`. Break-glass is the one emergency
    administrator (IAM-05): its ceiling statement names only its own ARN, it may not be assumed by the deployer
    (nobody under the boundary may change its trust, policies or boundary, or delete it), and every use pages the
    incident topic.
    """
    s, matrix, p, acct = args.settings, args.matrix, args.partition, args.account_id
    roles = matrix.roles.values()

    def arns(names: Sequence[str]) -> list[str]:
        return [role_arn(p, acct, s, n) for n in sorted(names)]

    holders = arns([r.name for r in roles if r.data])
    administrators = arns([r.name for r in roles if r.administrator])
    deployers = arns([r.name for r in roles if r.deploys_infrastructure])
    statements: list[dict[str, Any]] = [
        {"Sid": "MatrixDataActions", "Effect": "Allow", "Action": matrix_grantable_actions(args), "Resource": "*",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": holders}}},
        {"Sid": "ReadOnlyBasics", "Effect": "Allow", "Action": READ_ONLY_BASICS, "Resource": "*"},
    ]
    if matrix.key_administrators():
        # (ADMIN_ACTIONS less the Describe*/List* that ReadOnlyBasics already allows, plus grants to AWS resources.)
        administration = [a for a in ADMIN_ACTIONS if a not in READ_ONLY_BASICS]
        statements.append({"Sid": "KeyAdministration", "Effect": "Allow", "Action": [*administration, "kms:CreateGrant"], "Resource": "*",
                           "Condition": {"ArnEquals": {"aws:PrincipalArn": arns(matrix.key_administrators())}}})
    if deployers:
        # The deployer's services and the IAM and KMS families it manages, capped to the deployer. Its grant
        # (`deploy_allows`) names the exact actions, resources and conditions; this ceiling is coarser only to fit
        # IAM's 6,144-character limit, and the guardrails below hold whatever either says.
        statements.append({"Sid": "DeployerCeiling", "Effect": "Allow",
                           "Action": [*(f"{svc}:*" for svc in DEPLOYED_SERVICES), *DEPLOYER_IAM_CEILING],
                           "Resource": "*", "Condition": {"ArnEquals": {"aws:PrincipalArn": deployers}}})
    if administrators:
        statements.append({"Sid": "BreakGlassCeiling", "Effect": "Allow", "Action": "*", "Resource": "*",
                           "Condition": {"ArnEquals": {"aws:PrincipalArn": administrators}}})
    statements += guardrail_statements(args, deployers)
    return static_policy_document(statements)


def matrix_grantable_actions(args: RoleMatrixRolesArgs) -> list[str]:
    """Every action some role can be granted through the matrix: data-class actions, key use, database login."""
    actions: set[str] = set()
    for role in args.matrix.roles.values():
        for dc, level in role.data.items():
            actions.update(args.matrix.actions_for(dc, level))
            actions.update(KEY_WRITE_ACTIONS if level != "read" else KEY_READ_ACTIONS)
            if args.scopes[dc].database_user_arn_prefix is not None:
                actions.add("rds-db:connect")
    return sorted(actions)


def boundary_arn(args: RoleMatrixRolesArgs) -> str:
    return f"arn:{args.partition}:iam::{args.account_id}:policy/{boundary_name(args.settings)}"


def protected_role_names(matrix: RoleMatrix) -> list[str]:
    """Roles whose own IAM nobody under the boundary may change: the deployer (its grant and denies), break-glass
    (its trust would let the pipeline in) and every role a segregation-of-duties constraint names (deleting or
    overwriting its deny policy would lift the constraint). IAM has no condition key for an inline policy's name,
    so the whole role is protected; a change to them is applied by break-glass, with a second person and an alarm."""
    named = {r for c in matrix.constraints if c.rule in ("no_data_access", "no_access_to") for r in c.roles}
    named |= {r.name for r in matrix.roles.values() if r.administrator or r.deploys_infrastructure}
    return sorted(named)


def guardrail_statements(args: RoleMatrixRolesArgs, deployers: list[str]) -> list[dict[str, Any]]:
    """Denies that keep the controls themselves intact, for every role (break-glass included unless said)."""
    s, p, acct, matrix = args.settings, args.partition, args.account_id, args.matrix
    protected = [role_arn(p, acct, s, r) for r in protected_role_names(matrix)]
    administrators = [role_arn(p, acct, s, r.name) for r in matrix.roles.values() if r.administrator]
    # Key deletion stays with key administrators who do not deploy: a person with MFA, never the pipeline.
    key_admins = [role_arn(p, acct, s, r) for r in matrix.key_administrators()
                  if not matrix.roles[r].deploys_infrastructure]
    boundary = boundary_arn(args)
    not_break_glass = {"ArnNotEquals": {"aws:PrincipalArn": administrators}} if administrators else {}
    delete_keys: dict[str, Any] = {"Sid": "OnlyKeyAdministratorsDeleteKeys", "Effect": "Deny",
                                   "Action": KEY_DELETION_ACTIONS, "Resource": "*"}
    if key_admins:
        delete_keys["Condition"] = {"ArnNotEquals": {"aws:PrincipalArn": key_admins}}

    def unless_break_glass(statement: dict[str, Any]) -> dict[str, Any]:
        return {**statement, "Condition": not_break_glass} if not_break_glass else statement

    statements: list[dict[str, Any]] = [
        # Access goes through roles with short sessions; a user or access key would be a standing credential.
        {"Sid": "NoLongTermCredentials", "Effect": "Deny", "Action": LONG_TERM_CREDENTIAL_ACTIONS, "Resource": "*"},
        # A role that could drop or replace its boundary could grant itself anything: no boundary is ever removed,
        # and roles are created, given policies or a boundary only while they carry (or keep) this one, so a role
        # the deployer creates or changes is capped like the matrix roles and a role without it cannot be touched.
        {"Sid": "NoBoundaryIsEverRemoved", "Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary",
         "Resource": "*"},
        {"Sid": "RolesOnlyUnderThisBoundary", "Effect": "Deny", "Action": BOUNDARY_KEYED_ROLE_ACTIONS, "Resource": "*",
         "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": [boundary, service_boundary_arn(s, p, acct)]}}},
        # The boundary itself changes only through break-glass: a new version would lift every guardrail here.
        unless_break_glass({"Sid": "BoundaryIsImmutable", "Effect": "Deny", "Action": BOUNDARY_EDIT_ACTIONS,
                            "Resource": boundary}),
        unless_break_glass({"Sid": "ProtectedRolesKeepTheirIam", "Effect": "Deny", "Action": PROTECTED_ROLE_ACTIONS,
                            "Resource": protected}),
        # The audit trail is the evidence of everything else, break-glass use included.
        {"Sid": "AuditTrailStaysOn", "Effect": "Deny", "Action": AUDIT_TRAIL_OFF_ACTIONS, "Resource": "*"},
        delete_keys,
    ]
    return statements


# ---------------------------------------------------------------------------------------------------------------
# Trust policies
# ---------------------------------------------------------------------------------------------------------------

def named_principal_arns(role: Role, partition: str, account_id: str) -> list[str]:
    """The ARN patterns of the people the matrix lets assume `role` (its `assumed_by`), in this account."""
    return [f"arn:{partition}:iam::{account_id}:{pattern}" for pattern in role.assumed_by]


def human_trust(role: Role, args: RoleMatrixRolesArgs) -> str:
    """The people the matrix names for this role, only with MFA that is present and recent enough (the matrix's
    maximum age). The account is the principal and `aws:PrincipalArn` narrows it: a principal element cannot hold
    the wildcard a path needs, and without the condition anything in the account with sts:AssumeRole would do."""
    return static_policy_document([{
        "Sid": "NamedPeopleWithRecentMfa",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{args.partition}:iam::{args.account_id}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "ArnLike": {"aws:PrincipalArn": named_principal_arns(role, args.partition, args.account_id)},
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "NumericLessThanEquals": {"aws:MultiFactorAuthAge": str(args.matrix.mfa_max_age_seconds)},
        },
    }])


def vendor_trust(args: RoleMatrixRolesArgs, external_id: pulumi.Output[str]) -> pulumi.Output[str]:
    """The vendor's account, only with our ExternalId (the document is a secret because it holds it)."""
    account = args.vendor_account_id or args.account_id
    return policy_document([{
        "Sid": "VendorWithExternalId",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{args.partition}:iam::{account}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }])


def oidc_host(settings: Settings) -> str:
    """The issuer as IAM names it in condition keys: the URL without its scheme."""
    return settings.ci_oidc_provider_url.removeprefix("https://").rstrip("/")


def oidc_trust(settings: Settings, provider_arn: pulumi.Input[str], subject: str) -> pulumi.Output[str]:
    """Tokens of our CI issuer, for STS, from exactly one subject (repository and environment/branch)."""
    host = oidc_host(settings)
    return policy_document([{
        "Sid": "CiPipelineSubjectOnly",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:aud": OIDC_AUDIENCE, f"{host}:sub": subject}},
    }])


# ---------------------------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------------------------

def sid(*parts: str) -> str:
    """An IAM statement id (alphanumeric only) from kebab-case parts: ("case-documents", "read") -> CaseDocumentsRead."""
    return "".join(word.capitalize() for part in parts for word in part.split("-"))


def data_class_statements(matrix: RoleMatrix, data_class: str, level: str, scope: DataClassScope) -> list[dict[str, Any]]:
    """What `level` on `data_class` means in IAM: its actions on exactly its resources, its key, its DB user."""
    statements: list[dict[str, Any]] = []
    actions = matrix.actions_for(data_class, level)
    scoped = [a for a in actions if not takes_only_star(a)]
    if scoped:
        statements.append({"Sid": sid(data_class, level), "Effect": "Allow", "Action": scoped,
                           "Resource": list(scope.resource_arns)})
    if len(scoped) < len(actions):
        # Actions AWS authorizes only on "*" (cloudtrail:LookupEvents, backup:ListBackupJobs): on the class's ARNs
        # they would match nothing, so the role would silently lack them (parliament: RESOURCE_MISMATCH).
        statements.append({"Sid": sid(data_class, level, "unscoped"), "Effect": "Allow",
                           "Action": [a for a in actions if takes_only_star(a)], "Resource": "*"})
    statements.append({"Sid": sid("use", data_class, "key"), "Effect": "Allow",
                       "Action": KEY_READ_ACTIONS if level == "read" else KEY_WRITE_ACTIONS, "Resource": scope.key_arn})
    if scope.database_user_arn_prefix is not None and level in matrix.database_users:
        statements.append({"Sid": "ConnectAsDatabaseUser", "Effect": "Allow", "Action": "rds-db:connect",
                           "Resource": pulumi.Output.concat(scope.database_user_arn_prefix, "/",
                                                            matrix.database_users[level])})
    return statements


@cache
def key_only_actions(patterns: tuple[str, ...]) -> list[str]:
    """The KMS actions `patterns` name that take a key ARN and nothing else: what an identity policy can scope to
    the data-class keys (aliases and key listings take other resources; they are granted where those are named)."""
    from fnmatch import fnmatchcase

    from policy_sentry.querying.actions import get_actions_for_service

    return sorted(a for a in get_actions_for_service("kms") if any(fnmatchcase(a.lower(), p.lower()) for p in patterns)
                  and {f.rsplit(":", 1)[-1].split("/", 1)[0] for f in resource_formats(a)} == {"key"})


def key_arns(args: RoleMatrixRolesArgs) -> list[pulumi.Input[str]]:
    return [args.scopes[dc].key_arn for dc in sorted(args.scopes)]


def key_administration_statements(args: RoleMatrixRolesArgs) -> list[dict[str, Any]]:
    """Manage the data-class keys, never use them (mirrors the key policies in components/keys.py)."""
    return [
        {"Sid": "AdministerDataClassKeys", "Effect": "Allow", "Action": key_only_actions(tuple(ADMIN_ACTIONS)),
         "Resource": key_arns(args)},
        # RDS, DynamoDB, Secrets Manager and EBS need a grant from whoever creates a resource with the key.
        {"Sid": "GrantKeysToAwsResources", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key_arns(args),
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "InventoryKeys", "Effect": "Allow", "Action": KEY_INVENTORY_ACTIONS, "Resource": "*"},
        {"Sid": "AdministratorsNeverUseKeys", "Effect": "Deny", "Action": CRYPTO_ACTIONS, "Resource": "*"},
        # A grant to some other principal would be a way round the deny above; grants only for AWS resources.
        {"Sid": "GrantsOnlyForAwsResources", "Effect": "Deny", "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false"}}},
    ]


def deployer_regions(settings: Settings) -> list[str]:
    """Regions the deployer works in: the stack's and the backup copy's (both inside the data-residency list)."""
    return sorted({settings.region, *([settings.backup_copy_region] if settings.backup_copy_region else [])})


def deploy_allows(args: RoleMatrixRolesArgs) -> list[dict[str, Any]]:
    """What the deployer is granted, and (with a principal condition) the boundary's ceiling for it.

    - services of the environment, in its regions only (a copy elsewhere would leave the data-residency list);
    - IAM only as named role, policy, instance-profile and OIDC-provider actions on `<prefix>-*` names; creating or
      changing a role's policies only while it carries the blueprint's boundary, or, for the service roles by
      name, the service boundary (the boundary enforces that one of the two is carried);
    - iam:PassRole only of the blueprint's service roles, only to their services (`iam:PassedToService`);
    - keys: creating them and their aliases (administration is the key-administration grant)."""
    s, p, acct = args.settings, args.partition, args.account_id
    prefix = s.name_prefix
    boundary = boundary_arn(args)
    return [
        {"Sid": "DeployEnvironmentServices", "Effect": "Allow", "Action": [f"{svc}:*" for svc in DEPLOYED_SERVICES],
         "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": deployer_regions(s)}}},
        {"Sid": "ManageBlueprintRolesUnderTheBoundary", "Effect": "Allow", "Action": BOUNDARY_KEYED_ROLE_ACTIONS,
         "Resource": f"arn:{p}:iam::{acct}:role/{prefix}-*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
        {"Sid": "ManageServiceRolesUnderTheServiceBoundary", "Effect": "Allow", "Action": BOUNDARY_KEYED_ROLE_ACTIONS,
         "Resource": [role_arn(p, acct, s, name) for name in sorted(SERVICE_ROLES)],
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": service_boundary_arn(s, p, acct)}}},
        {"Sid": "ManageBlueprintRoles", "Effect": "Allow",
         "Action": sorted(set(DEPLOYER_ROLE_ACTIONS) - set(BOUNDARY_KEYED_ROLE_ACTIONS)),
         "Resource": f"arn:{p}:iam::{acct}:role/{prefix}-*"},
        {"Sid": "ManageBlueprintPolicies", "Effect": "Allow", "Action": DEPLOYER_POLICY_ACTIONS,
         "Resource": f"arn:{p}:iam::{acct}:policy/{prefix}-*"},
        {"Sid": "ManageBlueprintInstanceProfiles", "Effect": "Allow", "Action": DEPLOYER_PROFILE_ACTIONS,
         "Resource": f"arn:{p}:iam::{acct}:instance-profile/*"},
        {"Sid": "ManageCiIdentityProvider", "Effect": "Allow", "Action": DEPLOYER_OIDC_ACTIONS,
         "Resource": f"arn:{p}:iam::{acct}:oidc-provider/*"},
        {"Sid": "ManageAccountPasswordPolicy", "Effect": "Allow", "Action": DEPLOYER_ACCOUNT_IAM_ACTIONS, "Resource": "*"},
        {"Sid": "PassServiceRolesToTheirServices", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": [role_arn(p, acct, s, name) for name in sorted(SERVICE_ROLES)],
         "Condition": {"StringEquals": {"iam:PassedToService": PASSED_TO_SERVICES}}},
        {"Sid": "CreateDataClassKeys", "Effect": "Allow", "Action": KEY_CREATION_ACTIONS, "Resource": "*"},
        # An alias call names the alias and the key it points to: both must be allowed.
        {"Sid": "ManageKeyAliases", "Effect": "Allow", "Action": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
         "Resource": [f"arn:{p}:kms:{s.region}:{acct}:alias/{prefix}/*", *key_arns(args)]},
    ]


def deploy_statements(args: RoleMatrixRolesArgs) -> list[dict[str, Any]]:
    """The deployer creates and updates the whole environment; it may not destroy or blind it.

    Its grant is `deploy_allows`. Its denies are the destructive and blinding actions `policies/escalation.yaml`
    lists as denied (deleting the database, the ledger, buckets, recovery points, the trail's selectors, metric
    filters, alarms, ...): these would destroy client data or evidence without reaching it, so neither the grant
    nor a mistake in it may allow them. The actions that file lists as allowed stay, each under the review of the
    protected environment and the alarm it names (the launch template's entry says that none watches it yet).

    Two more denies, and their trade-off: the deployer may not put a key policy, disable a key or its rotation (KMS
    has no condition key for what a new policy grants, so an alarm after the fact was the only other choice): a
    key-policy change in the program fails the pipeline's `pulumi up` and is applied by the human key
    administrator. And it may not change any blueprint role's trust, or delete one: trust changes are break-glass's.
    Nor may it edit the service boundary (a new or default version, deleting it): with it rewritten, the deployer
    could put any policy on the instance role it passes to EC2 and run code that reads case data; a change to it in
    the program is applied by break-glass, as for the matrix boundary.
    These denies live in the deployer's own policy, which nobody under the boundary may change
    (`protected_role_names`); the boundary's guardrails bind it as well."""
    from caseshield import escalation

    return [*deploy_allows(args),
            {"Sid": "DeployerNeverDestroysOrBlinds", "Effect": "Deny", "Action": sorted(escalation.load().denied),
             "Resource": "*"},
            {"Sid": "DeployerNeverRewritesKeys", "Effect": "Deny", "Action": DEPLOYER_KEY_DENIES, "Resource": "*"},
            {"Sid": "RolesKeepTheirTrust", "Effect": "Deny", "Action": ROLE_TRUST_ACTIONS,
             "Resource": f"arn:{args.partition}:iam::{args.account_id}:role/{args.settings.name_prefix}-*"},
            # The service boundary is what keeps a service role the deployer may change (and pass to EC2) off case
            # content; like the matrix boundary, it is edited only through break-glass.
            {"Sid": "ServiceBoundaryChangesThroughBreakGlass", "Effect": "Deny", "Action": BOUNDARY_EDIT_ACTIONS,
             "Resource": service_boundary_arn(args.settings, args.partition, args.account_id)}]


def live_audit_document() -> str:
    """Exactly the policy `caseshield audit --print-policy` prints, derived from the checks' declared actions, so
    the auditor's grant and the audit cannot drift apart (tests/test_audit_policy.py)."""
    from caseshield.audit.policy import audit_policy

    return static_policy_document(audit_policy()["Statement"])


def segregation_statements(role: Role, args: RoleMatrixRolesArgs) -> list[dict[str, Any]]:
    """Explicit denies for each segregation-of-duties constraint naming `role`: they win over any allow, so the
    constraint holds even for roles with broad rights or managed policies.

    Each denied request is written once: a role that a no_data_access constraint already denies every key use on
    "*" (the deployer) gets no per-key decrypt denies from its no_access_to constraints, which would repeat a
    subset of that deny (and a copy whose removal changes nothing is a deny nobody can tell is missing)."""
    statements: list[dict[str, Any]] = []
    mine = [c for c in args.matrix.constraints if role.name in c.roles]
    keyless = any(c.rule == "no_data_access" for c in mine)
    for constraint in mine:
        if constraint.rule == "no_data_access":
            statements.append({"Sid": sid(constraint.id), "Effect": "Deny", "Action": CRYPTO_ACTIONS, "Resource": "*"})
        elif constraint.rule == "no_access_to":
            statements += content_denies(constraint, args, keys_denied=keyless)
    return statements


def content_denies(constraint: Constraint, args: RoleMatrixRolesArgs, *, keys_denied: bool = False) -> list[dict[str, Any]]:
    """Deny any touch of the content of the constraint's data classes: every matrix action of the class except
    Describe*/List* on its resources, logging in to its database, and decrypting with its key (unless `keys_denied`:
    the role is denied every key use on "*" already). Describe/List stay allowed because deploy tooling reads
    resource configuration back (S3 HeadBucket needs s3:ListBucket)."""
    statements: list[dict[str, Any]] = []
    for dc in constraint.data_classes:
        scope = args.scopes.get(dc)
        if scope is None:
            continue
        content = [a for a in args.matrix.actions_for(dc, "manage") if not a.split(":", 1)[1].startswith(CONTROL_PLANE_VERBS)]
        if content:
            statements.append({"Sid": sid(constraint.id, dc, "content"), "Effect": "Deny", "Action": content,
                               "Resource": list(scope.resource_arns)})
        if scope.database_user_arn_prefix is not None:
            statements.append({"Sid": sid(constraint.id, dc, "login"), "Effect": "Deny", "Action": "rds-db:connect",
                               "Resource": pulumi.Output.concat(scope.database_user_arn_prefix, "/*")})
        if not keys_denied:
            statements.append({"Sid": sid(constraint.id, dc, "decrypt"), "Effect": "Deny",
                               "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": scope.key_arn})
    return statements


def managed_policy_names(role: Role) -> list[str]:
    """AWS managed policies the matrix names, plus AdministratorAccess for its (single) administrator."""
    return [*role.managed_policies, *(["AdministratorAccess"] if role.administrator else [])]


# ---------------------------------------------------------------------------------------------------------------
# Account guardrails
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class AccountGuardrailsArgs:
    settings: Settings


class AccountGuardrails(pulumi.ComponentResource):
    """Account-wide IAM settings: a strict password policy and an IAM Access Analyzer.

    The boundary forbids creating IAM users, so the password policy should never apply to anyone; it is there
    for the root user's console-created users in an emergency and for auditors who check it. The analyzer
    reports any resource policy (bucket, key, role trust) that grants access outside the account.
    """

    password_policy: aws.iam.AccountPasswordPolicy
    access_analyzer: aws.accessanalyzer.Analyzer

    def __init__(self, name: str, args: AccountGuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:identity:AccountGuardrails", name, None, opts)
        self.password_policy = aws.iam.AccountPasswordPolicy(
            f"{name}-password-policy",
            minimum_password_length=14,
            require_uppercase_characters=True,
            require_lowercase_characters=True,
            require_numbers=True,
            require_symbols=True,
            allow_users_to_change_password=True,
            password_reuse_prevention=24,
            max_password_age=90,
            hard_expiry=False,
            opts=child(self),
        )
        self.access_analyzer = aws.accessanalyzer.Analyzer(
            f"{name}-access-analyzer",
            analyzer_name=f"{args.settings.name_prefix}-account-analyzer",
            type="ACCOUNT",
            opts=child(self),
        )
        self.register_outputs({"access_analyzer_arn": self.access_analyzer.arn})
