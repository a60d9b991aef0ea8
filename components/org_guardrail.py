"""OrganizationGuardrail: an optional data perimeter that the firm's AWS Organizations management account attaches.

Why: everything else in this blueprint is IAM inside the stack's account, and an account can change its own IAM.
Its root user, an administrator outside the role matrix, or a role that escaped the permissions boundary is bound by
none of it. An Organizations policy is enforced from outside the account: nobody in the account can detach or
edit it, the root user included.

What it denies (both documents are rendered from `policies/role-matrix.yaml`, never from a hand-kept list of roles):
  * a service control policy (SCP: it caps every IAM principal of the target accounts, the root user included):
    - reading case data to every principal but the matrix roles the role matrix grants that data class: objects of
      the case-documents bucket (the class's content actions of the matrix's read level), decrypting with the
      case-documents, case-database and application-secrets keys (kms:Decrypt, kms:ReEncryptFrom), reading the
      database's master secret (secretsmanager:GetSecretValue) and logging in to the database (rds-db:connect).
      Besides the matrix's holders of a class, two service identities read it on the firm's behalf and are exempt,
      as the bucket and key policies already exempt them: AWS Backup's role (`<prefix>-backup`, for the classes
      components/backup.py backs up) and Amazon Macie's service-linked role (classifying case documents). SCPs
      never restrict service-linked roles; Macie's is named anyway so that both documents say the same thing;
    - removing or replacing a permissions boundary to every principal but the matrix's administrator (break-glass):
      iam:DeleteRolePermissionsBoundary on the blueprint's roles (`<prefix>-*`), iam:PutRolePermissionsBoundary of
      any policy but the blueprint's boundaries (the matrix roles' and the service roles'), and editing or deleting
      those boundary policies (new or default version, deletion). Creating a role is left to the account's own
      boundary, which already refuses one without a blueprint boundary to every role under it: a deny scoped to the
      blueprint's names would not stop a role of another name, and what any role can read is what the data
      perimeter above denies.
  * a resource control policy (RCP: it caps what any principal, of any account, may do to the target accounts'
    resources) with the same data perimeter for the services AWS supports in RCPs (Amazon S3, AWS STS, AWS KMS,
    Amazon SQS, AWS Secrets Manager): the documents' objects, the three keys, the secret. Requests AWS services make
    as service principals are left alone (`aws:PrincipalIsAWSService`), as AWS's own data-perimeter examples do,
    so RDS and Secrets Manager keep using their keys. Database login (rds-db) and IAM have no RCP support: the SCP
    carries them alone.

Who deploys it: the management account, or a member account Organizations delegates policy administration to.
The component makes its own provider, which assumes `orgGuardrailAdminRoleArn` (a role there with Organizations
policy administration) and accepts no other account; the stack's own credentials never manage its guardrail. Both
policies must fit Organizations' 5,120 characters each: they are rendered without whitespace, and a document
that would not fit fails `pulumi up`, naming its size, before that policy is created or replaced
(tests/test_org_guardrail.py holds the documents of the longest stack name under the limit). In prod the policies
and attachments are protected and retained, so switching the guardrail off again fails until someone deliberately
unprotects them.

Off by default (`caseshield:orgGuardrailEnabled`): a switched-off stack registers nothing of it. The rendered
documents are still exported (`org_guardrail_documents`, see `rendered_documents`), because they name ARNs that
exist only after the stack's first `pulumi up` (key ids, the bucket's generated name, the secret's ARN, the
database's resource id): the stack is the only place they can be rendered, and the management-account team reviews
exactly what it would attach before anyone turns it on. The output holds ARNs and role names, no secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield.role_matrix import RoleMatrix
from caseshield.settings import Settings
from components.base import BACKED_UP_CLASSES, DataClassScope, child, role_arn, stateful
from components.documents import BACKUP_ROLE, MACIE_ROLE_PATH
from components.identity import BOUNDARY_EDIT_ACTIONS, CONTROL_PLANE_VERBS

TYPE_TOKEN = "caseshield:organization:DataPerimeterGuardrail"
SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
# Organizations refuses a service control or resource control policy longer than this (characters).
POLICY_SIZE_LIMIT = 5120
# The classes whose content is a client's confidence: documents, the case database and the database's credential.
CASE_DATA_CLASSES = ("case-documents", "case-database", "application-secrets")
# Decrypting with a class's key is reading the class (ReEncryptFrom decrypts under the old key first).
DECRYPT_ACTIONS = ["kms:Decrypt", "kms:ReEncryptFrom"]
DATABASE_LOGIN = "rds-db:connect"
# Services whose resources RCPs govern (AWS Organizations user guide, "Resource control policies").
RCP_SERVICES = ("s3", "sts", "kms", "sqs", "secretsmanager")
BOUNDARY_REMOVAL = "iam:DeleteRolePermissionsBoundary"
BOUNDARY_REPLACEMENT = "iam:PutRolePermissionsBoundary"


@dataclass
class OrganizationGuardrailArgs:
    """`scopes`: what each data class consists of (the same `DataClassScope`s the role matrix's grants name);
    `boundary_arns`: the blueprint's permissions boundary policies (the matrix roles', then the service roles');
    `target_ids`: the accounts or OUs to attach to (defaults to the settings'); `admin_role_arn`: the role the
    provider assumes (defaults to the settings')."""

    settings: Settings
    matrix: RoleMatrix
    account_id: str
    partition: str
    scopes: Mapping[str, DataClassScope]
    boundary_arns: Sequence[pulumi.Input[str]]
    target_ids: Sequence[str] | None = None
    admin_role_arn: str | None = None

    @property
    def targets(self) -> list[str]:
        return list(self.settings.org_guardrail_target_ids if self.target_ids is None else self.target_ids)

    @property
    def administrator_role(self) -> str:
        return self.settings.org_guardrail_admin_role_arn if self.admin_role_arn is None else self.admin_role_arn


class OrganizationGuardrail(pulumi.ComponentResource):
    """The SCP and the RCP (`service_control_policy`, `resource_control_policy`), each attached to every target."""

    service_control_policy: aws.organizations.Policy
    resource_control_policy: aws.organizations.Policy
    attachments: list[aws.organizations.PolicyAttachment]

    def __init__(self, name: str, args: OrganizationGuardrailArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.targets:
            raise ValueError("OrganizationGuardrail needs at least one target id (caseshield:orgGuardrailTargetIds)")
        if not args.administrator_role:
            raise ValueError("OrganizationGuardrail needs the policy administrator's role "
                             "(caseshield:orgGuardrailAdminRoleArn)")
        super().__init__(TYPE_TOKEN, name, None, opts)
        s = args.settings
        self.provider = aws.Provider(
            f"{name}-organizations",
            region=s.region,
            assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=args.administrator_role,
                                                     session_name=f"{s.name_prefix}-org-guardrail")],
            allowed_account_ids=[args.administrator_role.split(":")[4]],
            default_tags=aws.ProviderDefaultTagsArgs(tags={
                "project": "caseshield", "environment": s.environment, "owner": s.owner, "stack": s.stack,
            }),
            opts=child(self),
        )
        documents = rendered_documents(args)
        self.service_control_policy = self._policy(name, "scp", SCP, documents["service_control_policy"], args,
                                                   "denies case-data reads outside the role matrix and boundary removal")
        self.resource_control_policy = self._policy(name, "rcp", RCP, documents["resource_control_policy"], args,
                                                    "denies case-data reads outside the role matrix, from any account")
        self.attachments = [
            aws.organizations.PolicyAttachment(
                f"{name}-{kind}-{target}", policy_id=policy.id, target_id=target,
                opts=stateful(policy, s, provider=self.provider))
            for kind, policy in (("scp", self.service_control_policy), ("rcp", self.resource_control_policy))
            for target in args.targets
        ]
        self.register_outputs({
            "service_control_policy_id": self.service_control_policy.id,
            "resource_control_policy_id": self.resource_control_policy.id,
            "target_ids": args.targets,
        })

    def _policy(self, name: str, kind: str, type_: str, content: pulumi.Output[str], args: OrganizationGuardrailArgs,
                what: str) -> aws.organizations.Policy:
        s = args.settings
        return aws.organizations.Policy(
            f"{name}-{kind}",
            name=f"{s.name_prefix}-data-perimeter-{kind}",
            description=f"CaseShield {s.stack}: {what} (components/org_guardrail.py)",
            type=type_,
            content=content,
            opts=stateful(self, s, provider=self.provider),
        )


# ---------------------------------------------------------------------------------------------------------------
# The documents
# ---------------------------------------------------------------------------------------------------------------

def rendered_documents(args: OrganizationGuardrailArgs) -> dict[str, pulumi.Output[str]]:
    """Both documents as Organizations receives them (compact JSON); registers nothing, so a stack with the guardrail
    off can still export them for review. Rendering fails, and `pulumi up` with it, if either exceeds the limit."""
    return {
        "service_control_policy": _compact("service control policy", scp_statements(args)),
        "resource_control_policy": _compact("resource control policy", rcp_statements(args)),
    }


def _compact(what: str, statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements},
                                    separators=(",", ":")).apply(lambda text: within_limit(what, text))


def within_limit(what: str, text: str) -> str:
    """`text`, or a clear error when Organizations would refuse it for its size."""
    if len(text) > POLICY_SIZE_LIMIT:
        raise ValueError(f"the organisation guardrail's {what} is {len(text)} characters; AWS Organizations accepts "
                         f"at most {POLICY_SIZE_LIMIT}. Shorten the stack name or the role matrix's role names, or "
                         "split the document (components/org_guardrail.py).")
    return text


def compact_json(statements: list[dict[str, Any]]) -> str:
    """A document rendered as the component renders it, from plain values (tests, reviewers)."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def _logins(prefix: pulumi.Input[str]) -> pulumi.Input[str]:
    """Every database user of the instance (`<prefix>/*`); plain when the prefix is."""
    return f"{prefix}/*" if isinstance(prefix, str) else pulumi.Output.concat(prefix, "/*")


def content_read_actions(matrix: RoleMatrix, data_class: str) -> list[str]:
    """The matrix's read actions on the class that return its content (Describe*/List* read configuration)."""
    return [a for a in matrix.actions_for(data_class, "read")
            if not a.split(":", 1)[1].startswith(CONTROL_PLANE_VERBS)]


def readers(args: OrganizationGuardrailArgs, data_class: str) -> list[str]:
    """Who may read the class: the matrix roles that hold it, and the service identities that read it for the firm."""
    s, p, acct = args.settings, args.partition, args.account_id
    holders = [role_arn(p, acct, s, r.name) for r in args.matrix.roles.values() if r.can(data_class, "read")]
    services = [role_arn(p, acct, s, BACKUP_ROLE)] if data_class in BACKED_UP_CLASSES else []
    if data_class == "case-documents":
        services.append(f"arn:{p}:iam::{acct}:role/{MACIE_ROLE_PATH}")
    return sorted(set(holders)) + services


def sid(data_class: str) -> str:
    return "".join(w.capitalize() for w in data_class.split("-")) + "OnlyToTheMatrix"


def data_statement(args: OrganizationGuardrailArgs, data_class: str, *, rcp: bool) -> dict[str, Any] | None:
    """One class's perimeter: its content, its key and (SCP only) its database login, to its readers only."""
    scope = args.scopes.get(data_class)
    if scope is None:
        return None
    actions = [*content_read_actions(args.matrix, data_class), *DECRYPT_ACTIONS]
    resources: list[pulumi.Input[str]] = [*(scope.resource_arns if content_read_actions(args.matrix, data_class) else []),
                                          scope.key_arn]
    if scope.database_user_arn_prefix is not None and not rcp:
        actions.append(DATABASE_LOGIN)
        resources.append(_logins(scope.database_user_arn_prefix))
    allowed = readers(args, data_class)
    if rcp:
        actions = [a for a in actions if a.split(":", 1)[0] in RCP_SERVICES]
        return {"Sid": sid(data_class), "Effect": "Deny", "Principal": "*", "Action": actions, "Resource": resources,
                "Condition": {**({"ArnNotEqualsIfExists": {"aws:PrincipalArn": allowed}} if allowed else {}),
                              "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}
    statement: dict[str, Any] = {"Sid": sid(data_class), "Effect": "Deny", "Action": actions, "Resource": resources}
    if allowed:  # (an empty list would read as no exception in IAM's eyes, but say it plainly: nobody is exempt)
        statement["Condition"] = {"ArnNotEquals": {"aws:PrincipalArn": allowed}}
    return statement


def administrators(args: OrganizationGuardrailArgs) -> list[str]:
    return [role_arn(args.partition, args.account_id, args.settings, r.name)
            for r in args.matrix.roles.values() if r.administrator]


def boundary_statements(args: OrganizationGuardrailArgs) -> list[dict[str, Any]]:
    """No boundary is removed, replaced by a policy that is not a blueprint boundary or edited, except by the
    matrix's administrator."""
    roles = f"arn:{args.partition}:iam::{args.account_id}:role/{args.settings.name_prefix}-*"
    admins = administrators(args)
    not_administrator: dict[str, Any] = {"ArnNotEquals": {"aws:PrincipalArn": admins}} if admins else {}
    stays: dict[str, Any] = {"Sid": "BoundariesStay", "Effect": "Deny", "Action": [BOUNDARY_REMOVAL, *BOUNDARY_EDIT_ACTIONS],
                             "Resource": [roles, *args.boundary_arns]}
    if not_administrator:
        stays["Condition"] = not_administrator
    return [
        stays,
        {"Sid": "OnlyTheBlueprintBoundary", "Effect": "Deny", "Action": BOUNDARY_REPLACEMENT, "Resource": roles,
         "Condition": {**not_administrator, "StringNotEquals": {"iam:PermissionsBoundary": list(args.boundary_arns)}}},
    ]


def scp_statements(args: OrganizationGuardrailArgs) -> list[dict[str, Any]]:
    found = [data_statement(args, dc, rcp=False) for dc in CASE_DATA_CLASSES]
    return [*(s for s in found if s is not None), *boundary_statements(args)]


def rcp_statements(args: OrganizationGuardrailArgs) -> list[dict[str, Any]]:
    found = [data_statement(args, dc, rcp=True) for dc in CASE_DATA_CLASSES]
    return [s for s in found if s is not None]
