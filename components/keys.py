"""KeyHierarchy: one customer-managed KMS key per data class, with administrators kept apart from users.

Why per data class: revoking, rotating or investigating one class (say, case documents after a compromise) must
not touch the others, and each key policy can name exactly who may read that class.

Key policies name roles through `aws:PrincipalArn` conditions on the account principal rather than as
principals: KMS rejects principals that do not exist yet, and the role matrix is created after the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield.role_matrix import RoleMatrix
from caseshield.settings import Settings
from components.base import DATA_CLASSES, classified, role_arn, stateful, static_policy_document

ADMIN_ACTIONS = [
    "kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
]
CRYPTO_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
USE_ACTIONS = [*CRYPTO_ACTIONS, "kms:DescribeKey"]
DELETION_WINDOW_DAYS = 30


@dataclass
class KeyHierarchyArgs:
    settings: Settings
    matrix: RoleMatrix
    account_id: str
    partition: str


class KeyHierarchy(pulumi.ComponentResource):
    """Customer-managed keys by data class (`keys["case-documents"]`, ...) and EBS encryption by default."""

    keys: dict[str, aws.kms.Key]

    def __init__(self, name: str, args: KeyHierarchyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:keys:KeyHierarchy", name, None, opts)
        s = args.settings
        self.keys = {}
        for data_class in DATA_CLASSES:
            key = aws.kms.Key(
                f"{name}-{data_class}",
                description=f"CaseShield {s.stack}: {data_class}",
                enable_key_rotation=True,
                deletion_window_in_days=DELETION_WINDOW_DAYS,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                policy=key_policy(data_class, args),
                tags=classified(data_class),
                opts=stateful(self, s),
            )
            aws.kms.Alias(
                f"{name}-{data_class}-alias",
                name=f"alias/{s.name_prefix}/{data_class}",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=key),
            )
            self.keys[data_class] = key

        # Volumes of the application tier may hold cached case content: encrypt every new EBS volume by default.
        aws.ebs.EncryptionByDefault(f"{name}-ebs-default", enabled=True, opts=pulumi.ResourceOptions(parent=self))
        aws.ebs.DefaultKmsKey(f"{name}-ebs-default-key", key_arn=self.keys["case-documents"].arn,
                              opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({f"{dc}_key_arn": key.arn for dc, key in self.keys.items()})


def key_administrators(settings: Settings, matrix: RoleMatrix, partition: str, account_id: str) -> list[str]:
    """ARNs of the principals that administer every key: the role matrix's key administrators and configured ARNs."""
    roles = [role_arn(partition, account_id, settings, r) for r in matrix.key_administrators()]
    return sorted({*roles, *settings.key_administrator_arns})


def administration_statements(administrators: list[str], account_root: str) -> list[dict[str, Any]]:
    """Administrators manage the key and let AWS resources use it, and are denied every cryptographic use of it."""
    return [
        {
            "Sid": "KeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": ADMIN_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": administrators}},
        },
        {
            # Deployers must let RDS, DynamoDB and EBS attach the key to resources they create.
            "Sid": "AdministratorsGrantOnlyToAwsResources",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": administrators},
                          "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "AdministratorsNeverUseTheKey",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": CRYPTO_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": administrators}},
        },
    ]


def key_policy(data_class: str, args: KeyHierarchyArgs) -> str:
    """The key policy of one data class's key."""
    s, matrix = args.settings, args.matrix
    account_root = f"arn:{args.partition}:iam::{args.account_id}:root"
    administrators = key_administrators(s, matrix, args.partition, args.account_id)
    users = [role_arn(args.partition, args.account_id, s, r) for r in matrix.key_users(data_class)]
    statements = administration_statements(administrators, account_root)
    if users:
        statements.append({
            "Sid": "KeyUsersByRoleMatrix",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": USE_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": users}},
        })
    statements.extend(service_statements(data_class, args))
    return static_policy_document(statements)


def service_statements(data_class: str, args: KeyHierarchyArgs) -> list[dict[str, Any]]:
    """AWS services that encrypt this class on our behalf, each held to its own source or context."""
    s, p, acct, region = args.settings, args.partition, args.account_id, args.settings.region
    # No kms:Describe*: DescribeKey never carries an encryption context, so under this condition it was never
    # allowed (parliament: UNKNOWN_CONDITION_FOR_ACTION); CloudWatch Logs does not need it.
    logs = {
        "Sid": "CloudWatchLogsForThisAccountOnly",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{p}:logs:{region}:{acct}:log-group:*"}},
    }
    # Services that use a class's key on behalf of principals of this account (grants created at deploy time).
    via = {
        "backups": [f"backup.{region}.amazonaws.com"],
        "case-database": [f"rds.{region}.amazonaws.com", f"dynamodb.{region}.amazonaws.com"],
        "application-secrets": [f"secretsmanager.{region}.amazonaws.com"],
    }
    statements: list[dict[str, Any]] = []
    if data_class == "audit-logs":
        trail_arn = f"arn:{p}:cloudtrail:{region}:{acct}:trail/{s.name_prefix}-audit-trail"
        statements += [
            {
                "Sid": "CloudTrailEncryptsOnlyOurTrail",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{p}:cloudtrail:*:{acct}:trail/*"},
                },
            },
            {
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
            },
            logs,
            {
                # Session Manager encrypts each session's data channel and transcript with this key; the managed
                # instances' role must use it for exactly that.
                "Sid": "AppInstancesEncryptSessions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn(p, acct, s, "app-instance")}},
            },
            {
                # AWS Config delivers configuration snapshots into the audit archive, which this key encrypts.
                "Sid": "ConfigRecorderWritesToArchive",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn(p, acct, s, "config-recorder")},
                              "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
        ]
    elif data_class == "operational-logs":
        statements += [
            logs,
            {
                # CloudWatch alarms and EventBridge rules publish to the KMS-encrypted incident topic.
                "Sid": "AlarmsAndEventsPublishToIncidentTopic",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": acct}},
            },
        ]
    elif data_class == "case-documents":
        # The Auto Scaling service-linked role encrypts the application tier's volumes with this key.
        asg_role = f"arn:{p}:iam::{acct}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        # Macie's sensitive-data discovery (our classification control) must read the documents it classifies.
        macie_role = f"arn:{p}:iam::{acct}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
        statements.append({
            "Sid": "MacieClassifiesDocuments",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": macie_role}},
        })
        statements.append({
            # AWS Backup reads documents with its service role to back the bucket up.
            "Sid": "BackupRoleReadsDocuments",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn(p, acct, s, "backup")},
                          "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        })
        statements.append({
            "Sid": "AutoScalingEncryptsAppVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
            "Action": [*USE_ACTIONS, "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": asg_role},
                          "StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"}},
        })
    if data_class in via:
        statements.append({
            "Sid": "ServiceUseThroughOurAccountOnly",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
            "Action": [*USE_ACTIONS, "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": via[data_class], "kms:CallerAccount": acct}},
        })
    return statements
