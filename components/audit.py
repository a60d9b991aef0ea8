"""AuditTrail: a multi-region CloudTrail trail, delivered to a tamper-resistant archive and to CloudWatch Logs.

Why: who read or changed a case document, and who changed the environment around it, is evidence. The trail
records management events everywhere and data events (reads and writes) on the documents bucket; log-file
validation lets an auditor prove the files were not edited. The archive bucket keeps them under object lock
(COMPLIANCE in prod: not even the account root can shorten it) and a policy that denies deleting them; the
CloudWatch copy gives the detection rules something to query within minutes.

The archive bucket is a `SecureBucket` (KMS with the audit-logs key, public-access block, BucketOwnerEnforced,
versioning, TLS-only policy, access logging); this module adds object lock, lifecycle and the delivery and
anti-tamper policy statements.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child, classified, policy_document, role_arn, stateful, static_policy_document
from components.buckets import (
    ObjectLockDefault,
    SecureBucket,
    SecureBucketArgs,
    Statement,
    abort_incomplete_uploads_rule,
    bucket_and_objects,
)

DATA_CLASS = "audit-logs"
# Key prefixes of the two deliveries into the archive. The threat-detection component must set its AWS Config
# delivery channel's s3_key_prefix to CONFIG_KEY_PREFIX: the bucket policy lets Config write nowhere else.
TRAIL_KEY_PREFIX = "cloudtrail"
CONFIG_KEY_PREFIX = "config"
# Storage tiers: logs are queried for a quarter (Instant Retrieval keeps millisecond reads), then kept for the
# legal hold in Deep Archive (restore before `aws cloudtrail validate-logs` reads those files).
GLACIER_IR_AFTER_DAYS = 90
DEEP_ARCHIVE_AFTER_DAYS = 365
# Roles that may change the archive's configuration; see `archive_policy_statements`.
ARCHIVE_RECONFIGURERS = ("ci-deployer", "break-glass")
# Never allowed on the archive, to anyone: the actions that destroy evidence or the policy that guards it.
TAMPER_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
]
# Allowed only to ARCHIVE_RECONFIGURERS: the actions that would weaken the archive's controls.
RECONFIGURE_ACTIONS = [
    "s3:PutBucketPolicy",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketLogging",
]
CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com"
CONFIG_SERVICE = "config.amazonaws.com"
OWNER_FULL_CONTROL = {"s3:x-amz-acl": "bucket-owner-full-control"}


@dataclass
class AuditTrailArgs:
    """`key`: the audit-logs key; `access_log_bucket`: name of the bucket receiving S3 server access logs;
    `documents_bucket_arn`: the bucket whose object reads and writes the trail records."""

    settings: Settings
    key: aws.kms.Key
    access_log_bucket: pulumi.Input[str]
    documents_bucket_arn: pulumi.Input[str]
    account_id: str
    partition: str
    # The service roles' permissions boundary (components/service_roles.py); None only outside an environment.
    service_boundary_arn: pulumi.Input[str] | None = None


def trail_name(settings: Settings) -> str:
    """Fixed, because the audit-logs key policy (components/keys.py) names the trail before it exists."""
    return f"{settings.name_prefix}-audit-trail"


def trail_arn(args: AuditTrailArgs) -> str:
    s = args.settings
    return f"arn:{args.partition}:cloudtrail:{s.region}:{args.account_id}:trail/{trail_name(s)}"


class AuditTrail(pulumi.ComponentResource):
    """Trail + locked archive bucket + KMS-encrypted log group + the role CloudTrail writes to the log group with.

    Attributes: `trail`, `archive` (the SecureBucket), `archive_bucket` (its aws.s3.Bucket), `log_group`,
    `cloudwatch_role`, `config_key_prefix` (where AWS Config may deliver into the archive).
    """

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:audit:AuditTrail", name, None, opts)
        s = args.settings
        self.config_key_prefix = CONFIG_KEY_PREFIX
        self.archive = SecureBucket(f"{name}-archive", SecureBucketArgs(
            settings=s,
            data_class=DATA_CLASS,
            kms_key_arn=args.key.arn,
            object_lock=True,
            object_lock_default=ObjectLockDefault(mode=s.object_lock_mode, days=s.audit_archive_retention_days),
            extra_policy_statements=lambda arn: archive_policy_statements(arn, args),
            access_log_bucket=args.access_log_bucket,
            lifecycle_rules=archive_lifecycle_rules(s),
        ), pulumi.ResourceOptions(parent=self))
        self.archive_bucket = self.archive.bucket
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-log-group",
            name=f"/caseshield/{s.stack}/cloudtrail",
            kms_key_id=args.key.arn,
            retention_in_days=s.audit_log_retention_days,
            deletion_protection_enabled=s.is_prod,
            tags=classified(DATA_CLASS),
            opts=stateful(self, s),
        )
        self.cloudwatch_role, role_policy = self._cloudwatch_delivery_role(name, args)
        self.trail = self._trail(name, args, depends_on=[self.archive.policy, role_policy])
        self.register_outputs({
            "trail_arn": self.trail.arn,
            "archive_bucket": self.archive_bucket.bucket,
            "log_group_name": self.log_group.name,
        })

    def _cloudwatch_delivery_role(self, name: str, args: AuditTrailArgs) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The role CloudTrail assumes to write into the log group: only our trail may assume it (SourceArn, against
        the confused deputy), and it may only add streams and events to this one group."""
        s = args.settings
        role = aws.iam.Role(
            f"{name}-cloudwatch-role",
            name=f"{s.name_prefix}-cloudtrail-to-logs",
            description="CloudTrail delivers the audit trail to its CloudWatch log group",
            assume_role_policy=static_policy_document([{
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arn(args)}},
            }]),
            permissions_boundary=args.service_boundary_arn,
            opts=child(self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-cloudwatch-role-policy",
            role=role.id,
            policy=policy_document([{
                "Sid": "WriteTrailLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": pulumi.Output.concat(self.log_group.arn, ":log-stream:*"),
            }]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role, policy

    def _trail(self, name: str, args: AuditTrailArgs, depends_on: list[pulumi.Resource]) -> aws.cloudtrail.Trail:
        """Every region's management events plus the documents bucket's data events, in one basic event selector.

        Basic rather than advanced selectors: one selector says exactly what we need (all management events, read
        and write object events on one bucket), and `read_write_type="All"` is what auditors look for. It depends
        on the bucket policy and the role policy because CloudTrail checks both when the trail is created.
        """
        s = args.settings
        return aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name(s),
            s3_bucket_name=self.archive_bucket.bucket,
            s3_key_prefix=TRAIL_KEY_PREFIX,
            kms_key_id=args.key.arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            cloud_watch_logs_group_arn=pulumi.Output.concat(self.log_group.arn, ":*"),
            cloud_watch_logs_role_arn=self.cloudwatch_role.arn,
            event_selectors=[aws.cloudtrail.TrailEventSelectorArgs(
                read_write_type="All",
                include_management_events=True,
                data_resources=[aws.cloudtrail.TrailEventSelectorDataResourceArgs(
                    type="AWS::S3::Object",
                    values=[pulumi.Output.concat(args.documents_bucket_arn, "/")],
                )],
            )],
            tags=classified(DATA_CLASS),
            opts=stateful(self, s, depends_on=depends_on),
        )


def archive_lifecycle_rules(s: Settings) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Tier old logs down; expire a superseded version only once it is past the lock's retention.

    A version becomes noncurrent no earlier than it was written, so `noncurrent_days = retention` never removes one
    the lock still holds (S3 would refuse anyway). Current versions never expire: deleting evidence after the hold
    is a records-management decision, not a timer.
    """
    return [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="tier-and-expire-superseded",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            transitions=[
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=GLACIER_IR_AFTER_DAYS, storage_class="GLACIER_IR"),
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=DEEP_ARCHIVE_AFTER_DAYS, storage_class="DEEP_ARCHIVE"),
            ],
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=s.audit_archive_retention_days),
        ),
        abort_incomplete_uploads_rule(),
    ]


def archive_policy_statements(bucket_arn: pulumi.Output[str], args: AuditTrailArgs) -> list[Statement]:
    """Delivery by CloudTrail and AWS Config, and the denies that make the archive tamper-resistant.

    Deleting objects, versions, the bucket or its policy, and bypassing governance retention, is denied to
    everyone. Changing the policy or any control (lock, lifecycle, versioning, encryption, public access, logging)
    is denied to everyone except the ci-deployer and break-glass roles. A blanket deny on `s3:PutBucketPolicy`
    would be permanent: no one could ever update this policy again (a settings change, a new delivery service),
    and the only way out would be the account root. Exempting the deployer adds nothing it could not do anyway
    (it could rewrite the policy first), while everyone else is still refused. The same reasoning keeps lifecycle
    and lock updates, which follow the retention settings, deployable. Break-glass is the way to retire an archive
    (dev teardown included): replace the policy with one without these denies, then delete.
    """
    p, acct = args.partition, args.account_id
    trail = trail_arn(args)
    reconfigurers = [role_arn(p, acct, args.settings, r) for r in ARCHIVE_RECONFIGURERS]
    return [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:PutObject",
            "Resource": pulumi.Output.concat(bucket_arn, f"/{TRAIL_KEY_PREFIX}/AWSLogs/{acct}/*"),
            "Condition": {"StringEquals": {**OWNER_FULL_CONTROL, "aws:SourceArn": trail}},
        },
        *config_delivery_statements(bucket_arn, acct),
        {
            "Sid": "DenyEvidenceDestruction",
            "Effect": "Deny",
            "Principal": "*",
            "Action": TAMPER_ACTIONS,
            "Resource": bucket_and_objects(bucket_arn),
        },
        {
            "Sid": "OnlyDeployersReconfigureArchive",
            "Effect": "Deny",
            "Principal": "*",
            "Action": RECONFIGURE_ACTIONS,
            "Resource": bucket_arn,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": reconfigurers}},
        },
    ]


def config_delivery_statements(bucket_arn: pulumi.Output[str], account_id: str) -> list[Statement]:
    """AWS Config (set up by the threat-detection component) delivers snapshots and history under CONFIG_KEY_PREFIX,
    for this account only."""
    source = {"aws:SourceAccount": account_id}
    return [
        {
            "Sid": "ConfigAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CONFIG_SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "ConfigBucketExistenceCheck",
            "Effect": "Allow",
            "Principal": {"Service": CONFIG_SERVICE},
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "ConfigDelivery",
            "Effect": "Allow",
            "Principal": {"Service": CONFIG_SERVICE},
            "Action": "s3:PutObject",
            "Resource": pulumi.Output.concat(bucket_arn, f"/{CONFIG_KEY_PREFIX}/AWSLogs/{account_id}/Config/*"),
            "Condition": {"StringEquals": {**OWNER_FULL_CONTROL, **source}},
        },
    ]

