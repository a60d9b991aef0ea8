"""The service roles' permissions boundary: what AWS services act with on the blueprint's behalf, capped.

The blueprint's service roles (instance profile, flow logs, RDS enhanced monitoring, the Config recorder, AWS
Backup, CloudTrail's log delivery: `components.identity.SERVICE_ROLES`) carry AWS managed policies whose content
changes with AWS, so the role matrix's boundary cannot cap them. Without a boundary, though, the CI deployer could
neither create them (it may create roles only under a boundary) nor be prevented from turning one on the data: put
an administrator policy on the instance role, and code on the instances reads whatever that grants.

So they carry this boundary, and the deployer may create or change exactly these roles only while they carry it
(components/identity.py, `deploy_allows`; the matrix boundary refuses any other). Under it, whatever a service role
is granted:
- it can touch no IAM, STS, Organizations or account setting (no escalation from a service role);
- it can administer no key (policy, grants to others aside from AWS resources, disabling, deletion);
- it can read no case content that IAM alone guards: logging in to the database, secret values, the privacy
  ledger's items and exports (the data-class keys admit no service role to a direct decrypt, and reading a
  document takes its key through S3: IAM-12 asks both with the key and bucket policies applied);
- it can take none of the destructive and blinding actions of `policies/escalation.yaml` (those denied to the
  deployer and those it keeps under review), nor change the instances' launch template or user data, nor reach
  the compute services whose code runs under other roles (Lambda, Glue, SageMaker, ...);
- it can create key grants only for AWS resources.
AWS Backup's role is the exception to the last two: backing up and expiring recovery points is its work; its trust
admits only the Backup service, so no one can act as it but through a backup or restore job. IAM-03 proves all of
this on the generated documents (a role granted everything, under this boundary, with the key and bucket policies
applied), not by the presence of statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child, role_arn, static_policy_document

# Nothing under this boundary reaches these services at all: identity, and the compute services whose code or
# sessions run under another role (cloudsplaining's escalation methods through Lambda, Glue, SageMaker, ...).
OUT_OF_REACH = ["iam:*", "sts:*", "organizations:*", "account:*", "lambda:*", "glue:*", "sagemaker:*", "cloudformation:*",
                "ecs:*", "ec2-instance-connect:*", "bedrock-agentcore:*", "codebuild:*", "datapipeline:*", "apprunner:*"]
# Taking over the instances: new launch-template versions or user data run code under the instance role.
COMPUTE_TAKEOVER = ["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:ModifyInstanceAttribute"]
# Key administration: key policies and grants decide who may decrypt, and disabling or deleting a key destroys data.
KEY_ADMINISTRATION = ["kms:PutKeyPolicy", "kms:CreateKey", "kms:DisableKey", "kms:DisableKeyRotation",
                      "kms:ScheduleKeyDeletion", "kms:DeleteImportedKeyMaterial"]
# Case content that IAM alone guards (no key or bucket policy stands in front of it).
CASE_CONTENT = ["rds-db:connect", "secretsmanager:GetSecretValue", "dynamodb:GetItem", "dynamodb:BatchGetItem",
                "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect", "dynamodb:ExportTableToPointInTime"]
BACKUP_ROLE = "backup"


def service_boundary_name(settings: Settings) -> str:
    return f"{settings.name_prefix}-service-boundary"


def service_boundary_arn(settings: Settings, partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:policy/{service_boundary_name(settings)}"


def service_boundary_document(settings: Settings, partition: str, account_id: str) -> str:
    """The boundary's statements (see the module note); destructive actions from policies/escalation.yaml."""
    from caseshield import escalation

    not_backup = {"ArnNotEquals": {"aws:PrincipalArn": role_arn(partition, account_id, settings, BACKUP_ROLE)}}
    statements: list[dict[str, Any]] = [
        {"Sid": "ServiceWorkOutsideIam", "Effect": "Allow", "NotAction": OUT_OF_REACH, "Resource": "*"},
        {"Sid": "NoKeyAdministration", "Effect": "Deny", "Action": KEY_ADMINISTRATION, "Resource": "*"},
        # Grants only for AWS resources (a backup of an encrypted database), never to a principal of one's choosing.
        {"Sid": "GrantsOnlyForAwsResources", "Effect": "Deny", "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false"}}},
        {"Sid": "NoComputeTakeover", "Effect": "Deny", "Action": COMPUTE_TAKEOVER, "Resource": "*"},
        {"Sid": "NoCaseContentButBackup", "Effect": "Deny", "Action": CASE_CONTENT, "Resource": "*", "Condition": not_backup},
        {"Sid": "NoDestructionButBackup", "Effect": "Deny", "Action": escalation.load().destructive(), "Resource": "*",
         "Condition": not_backup},
    ]
    return static_policy_document(statements)


@dataclass
class ServiceRoleBoundaryArgs:
    settings: Settings
    partition: str
    account_id: str


class ServiceRoleBoundary(pulumi.ComponentResource):
    """The permissions boundary every service role carries (created first: the roles name it when created)."""

    policy: aws.iam.Policy

    def __init__(self, name: str, args: ServiceRoleBoundaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:identity:ServiceRoleBoundary", name, None, opts)
        self.policy = aws.iam.Policy(
            f"{name}-policy",
            name=service_boundary_name(args.settings),
            description="CaseShield: the most a service role can do; no IAM, key administration, case content or destruction.",
            policy=service_boundary_document(args.settings, args.partition, args.account_id),
            opts=child(self),
        )
        self.register_outputs({"arn": self.policy.arn})
