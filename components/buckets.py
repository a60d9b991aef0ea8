"""Secure S3 buckets: the controls every CaseShield bucket shares, written once.

Every bucket in the environment (case documents, audit archive, access logs) needs the same basics: default
encryption, all four public-access blocks, ACLs disabled (BucketOwnerEnforced), versioning, and a policy that
refuses plain HTTP and outdated TLS. `SecureBucket` applies them, so a new bucket cannot forget one; callers add
what is particular to them (policy statements, lifecycle rules, access logging, object lock) through its args.

`AccessLogBucket` is the target of S3 server access logging. It uses SSE-S3 because log delivery does not support
SSE-KMS target buckets, and only the S3 log-delivery service may write to it.

In prod the bucket and its controls are protected and retained: removing the component from the program must not
delete evidence, nor leave a retained bucket without its public-access block or policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield.settings import OBJECT_LOCK_MODES, Settings
from components.base import classified, policy_document, stateful

Statement = Mapping[str, Any]
# Statements that name the bucket take its ARN; the bucket's name is not known before it exists.
StatementsFor = Callable[[pulumi.Output[str]], Sequence[Statement]]

SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
MINIMUM_TLS_VERSION = "1.2"
ABORT_INCOMPLETE_UPLOADS_DAYS = 7
# A deleted or expired access log stays recoverable this long as a noncurrent version.
NONCURRENT_LOG_DAYS = 30
LOG_DELIVERY_SERVICE = "logging.s3.amazonaws.com"


@dataclass(frozen=True)
class ObjectLockDefault:
    """Default retention applied to every new object version (needs `object_lock=True`)."""

    mode: str
    days: int

    def __post_init__(self) -> None:
        if self.mode not in OBJECT_LOCK_MODES:
            raise ValueError(f"object lock mode must be one of {OBJECT_LOCK_MODES}, not {self.mode!r}")
        if self.days < 1:
            raise ValueError(f"object lock retention must be at least one day, not {self.days}")


@dataclass
class SecureBucketArgs:
    """What one bucket adds to the shared basics.

    `kms_key_arn` None means SSE-S3 (AES256), which access-log targets need. `extra_policy_statements` is either a
    list of statements or a function of the bucket ARN returning them; a bucket has exactly one policy, so every
    statement must come through here. `require_kms_on_put` denies uploads that do not name `kms_key_arn`.
    `access_log_prefix` defaults to "<name>/".
    """

    settings: Settings
    data_class: str | None
    kms_key_arn: pulumi.Input[str] | None = None
    object_lock: bool = False
    object_lock_default: ObjectLockDefault | None = None
    require_kms_on_put: bool = False
    extra_policy_statements: Sequence[Statement] | StatementsFor = ()
    access_log_bucket: pulumi.Input[str] | None = None
    access_log_prefix: str | None = None
    lifecycle_rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs] = ()

    def __post_init__(self) -> None:
        if self.object_lock_default is not None and not self.object_lock:
            raise ValueError("object_lock_default needs object_lock=True: S3 enables object lock only at creation")
        if self.require_kms_on_put and self.kms_key_arn is None:
            raise ValueError("require_kms_on_put needs kms_key_arn: the policy must name the key uploads use")


class SecureBucket(pulumi.ComponentResource):
    """One S3 bucket with encryption, public-access block, BucketOwnerEnforced, versioning and a TLS-only policy.

    Attributes: `bucket` (aws.s3.Bucket), `arn`, `policy` (aws.s3.BucketPolicy), `versioning`, and `lifecycle`,
    `logging`, `object_lock` when configured (else None).
    """

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy
    versioning: aws.s3.BucketVersioning
    lifecycle: aws.s3.BucketLifecycleConfiguration | None
    logging: aws.s3.BucketLogging | None
    object_lock: aws.s3.BucketObjectLockConfiguration | None

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:storage:SecureBucket", name, None, opts)
        self._prefix, self._args = name, args
        self.bucket = aws.s3.Bucket(
            name,
            object_lock_enabled=args.object_lock,
            force_destroy=False,
            tags=classified(args.data_class),
            opts=stateful(self, args.settings),
        )
        self.arn = self.bucket.arn
        self._encrypt()
        public_access = self._block_public_access()
        self._enforce_bucket_owner()
        self.versioning = self._enable_versioning()
        self.policy = self._attach_policy(public_access)
        self.object_lock = self._lock_by_default()
        self.logging = self._log_access()
        self.lifecycle = self._manage_lifecycle()
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})

    def _opts(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        """Controls are protected with the bucket: a retained bucket must keep them."""
        return stateful(self, self._args.settings, depends_on=list(depends_on))

    def _encrypt(self) -> aws.s3.BucketServerSideEncryptionConfiguration:
        key = self._args.kms_key_arn
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm=SSE_KMS if key is not None else SSE_S3, kms_master_key_id=key)
        return aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._prefix}-encryption",
            bucket=self.bucket.id,
            # The bucket key cuts KMS calls per object (and their cost) without weakening the key's policy.
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=default, bucket_key_enabled=key is not None)],
            opts=self._opts(),
        )

    def _block_public_access(self) -> aws.s3.BucketPublicAccessBlock:
        return aws.s3.BucketPublicAccessBlock(
            f"{self._prefix}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._opts(),
        )

    def _enforce_bucket_owner(self) -> aws.s3.BucketOwnershipControls:
        """ACLs off: only policies grant access, so the policy pack and reviewers see every grant."""
        return aws.s3.BucketOwnershipControls(
            f"{self._prefix}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._opts(),
        )

    def _enable_versioning(self) -> aws.s3.BucketVersioning:
        """Overwrites and deletes keep the previous version: recoverable mistakes, and object lock requires it."""
        return aws.s3.BucketVersioning(
            f"{self._prefix}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self._opts(),
        )

    def _attach_policy(self, public_access: aws.s3.BucketPublicAccessBlock) -> aws.s3.BucketPolicy:
        # After the public-access block, so S3 never holds a policy while the bucket is still unblocked.
        return aws.s3.BucketPolicy(
            f"{self._prefix}-policy",
            bucket=self.bucket.id,
            policy=policy_document(self._statements()),
            opts=self._opts(public_access),
        )

    def _statements(self) -> list[Statement]:
        args = self._args
        statements = tls_only_statements(self.arn)
        if args.require_kms_on_put and args.kms_key_arn is not None:
            statements += require_kms_statements(self.arn, args.kms_key_arn)
        extra = args.extra_policy_statements
        statements += list(extra(self.arn) if callable(extra) else extra)
        return statements

    def _lock_by_default(self) -> aws.s3.BucketObjectLockConfiguration | None:
        default = self._args.object_lock_default
        if default is None:
            return None
        return aws.s3.BucketObjectLockConfiguration(
            f"{self._prefix}-object-lock",
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=default.mode, days=default.days)),
            opts=self._opts(self.versioning),
        )

    def _log_access(self) -> aws.s3.BucketLogging | None:
        target = self._args.access_log_bucket
        if target is None:
            return None
        return aws.s3.BucketLogging(
            f"{self._prefix}-access-logging",
            bucket=self.bucket.id,
            target_bucket=target,
            target_prefix=self._args.access_log_prefix or f"{self._prefix}/",
            # Date-partitioned keys keep a day's requests together for investigations and Athena.
            target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                    partition_date_source="EventTime")),
            opts=self._opts(),
        )

    def _manage_lifecycle(self) -> aws.s3.BucketLifecycleConfiguration | None:
        rules = list(self._args.lifecycle_rules)
        if not rules:
            return None
        # Noncurrent-version rules only mean something once versioning is on.
        return aws.s3.BucketLifecycleConfiguration(
            f"{self._prefix}-lifecycle", bucket=self.bucket.id, rules=rules, opts=self._opts(self.versioning))


def objects_of(bucket_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat(bucket_arn, "/*")


def bucket_and_objects(bucket_arn: pulumi.Input[str]) -> list[pulumi.Input[str]]:
    """The Resource list of a statement about the bucket and everything in it."""
    return [bucket_arn, objects_of(bucket_arn)]


def tls_only_statements(bucket_arn: pulumi.Input[str]) -> list[Statement]:
    """Refuse plain HTTP and TLS older than 1.2, for every principal and action."""
    resources = bucket_and_objects(bucket_arn)
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": MINIMUM_TLS_VERSION}},
        },
    ]


def require_kms_statements(bucket_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str]) -> list[Statement]:
    """Deny uploads that do not ask for SSE-KMS with exactly this key.

    Default encryption alone lets a writer pick SSE-S3 or another key; and `aws:kms` without a key id falls back to
    the AWS-managed aws/s3 key, whose policy we do not control. So writers must send both headers, the key by ARN.
    `StringNotEquals` also matches when a header is missing, which is what denies header-less uploads.
    """
    objects = objects_of(bucket_arn)
    return [
        {
            "Sid": "DenyPutWithoutKmsEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": SSE_KMS}},
        },
        {
            "Sid": "DenyPutWithOtherKmsKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn}},
        },
    ]


def abort_incomplete_uploads_rule(days: int = ABORT_INCOMPLETE_UPLOADS_DAYS) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """Abandoned multipart uploads are invisible, billed, and may hold partial documents: clear them."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-multipart-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=days),
    )


@dataclass
class AccessLogBucketArgs:
    """`expiration_days`: how long access logs are kept; `account_id`: the only account whose buckets may log here."""

    settings: Settings
    account_id: str
    expiration_days: int
    data_class: str | None = "audit-logs"
    # Also accept Application Load Balancer access logs under this prefix (needs the region, for ELB's account).
    elb_log_prefix: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if self.expiration_days < 1:
            raise ValueError(f"access logs must be kept at least one day, not {self.expiration_days}")


class AccessLogBucket(pulumi.ComponentResource):
    """Target bucket of S3 server access logging: SSE-S3, written only by the log-delivery service, expiring logs.

    Access logs record who read which case document, so they are evidence: no IAM principal may write or delete
    them (only the lifecycle does, after `expiration_days`). Attributes: `bucket` (aws.s3.Bucket), `secure`.
    """

    bucket: aws.s3.Bucket

    def __init__(self, name: str, args: AccessLogBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:storage:AccessLogBucket", name, None, opts)
        self.secure = SecureBucket(
            f"{name}-bucket",
            SecureBucketArgs(
                settings=args.settings,
                data_class=args.data_class,
                kms_key_arn=None,  # Server access logging cannot deliver to SSE-KMS buckets.
                extra_policy_statements=lambda arn: log_delivery_statements(arn, args),
                lifecycle_rules=[expire_logs_rule(args.expiration_days), abort_incomplete_uploads_rule()],
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.bucket = self.secure.bucket
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


# Elastic Load Balancing's log-delivery account per region (AWS-published; regions opened before August 2022).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
    "ca-central-1": "985666609251", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-central-1": "054676820928",
}
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def log_delivery_statements(bucket_arn: pulumi.Input[str], args: AccessLogBucketArgs) -> list[Statement]:
    """Only S3 log delivery (and, if asked, load-balancer log delivery) on behalf of this account may add logs;
    no IAM principal may alter them."""
    objects = objects_of(bucket_arn)
    tamper_condition: dict[str, Any] = {"Bool": {"aws:PrincipalIsAWSService": "false"}}
    statements: list[Statement] = [
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": LOG_DELIVERY_SERVICE},
            "Action": "s3:PutObject",
            "Resource": objects,
            # Without this, any account could make S3 deliver its logs into our bucket (confused deputy).
            "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
        },
    ]
    if args.elb_log_prefix:
        region = args.region or args.settings.region
        if region not in ELB_LOG_ACCOUNTS:
            raise ValueError(f"no Elastic Load Balancing log account is known for {region}; add it to ELB_LOG_ACCOUNTS "
                             "(AWS documents it under 'Enable access logs for your Application Load Balancer')")
        elb_account = ELB_LOG_ACCOUNTS[region]
        alb_objects = pulumi.Output.concat(bucket_arn, f"/{args.elb_log_prefix}/AWSLogs/{args.account_id}/*")
        statements += [
            {"Sid": "AlbLogDeliveryAccount", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{elb_account}:root"},
             "Action": "s3:PutObject", "Resource": alb_objects},
            {"Sid": "AlbLogDeliveryService", "Effect": "Allow", "Principal": {"Service": ELB_LOG_DELIVERY_SERVICE},
             "Action": "s3:PutObject", "Resource": alb_objects,
             "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}}},
        ]
        tamper_condition["StringNotEquals"] = {"aws:PrincipalAccount": elb_account}
    statements.append({
        "Sid": "DenyLogTamperingByPrincipals",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": objects,
        "Condition": tamper_condition,
    })
    return statements


def expire_logs_rule(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-access-logs",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=NONCURRENT_LOG_DAYS),
    )
