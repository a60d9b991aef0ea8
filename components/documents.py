"""DocumentStore: the case-documents bucket, reachable only from inside the VPC and only encrypted with its key.

On top of the shared `SecureBucket` basics the bucket policy denies:
  * uploads that do not request SSE-KMS with the case-documents key (see `buckets.require_kms_statements`);
  * object reads, writes, deletes and listings that do not arrive through the listed S3 VPC endpoints.
    The deny covers the data plane only: bucket configuration (policy, lifecycle, logging) stays manageable by the
    deployer from CI, where IAM governs it; denying `s3:*` would lock the pipeline out of its own bucket.

Exceptions to the VPC-endpoint rule, each named by `aws:PrincipalArn`, and why:
  * the break-glass role: the audited emergency path must work when the network path is what is broken;
  * Amazon Macie's service-linked role: sensitive-data discovery reads objects from the Macie service, not from
    our VPC;
  * AWS Backup's service role (`<prefix>-backup`, created by components/backup.py, which selects this bucket by
    its backup tag): backups and restores of S3 run from the Backup service.
CloudTrail needs no exception: data events are recorded by CloudTrail without reading the bucket. No service
principal (`Principal: {Service: ...}`) is granted anything here, so none is excepted either; nor are requests
forwarded by other AWS services (`aws:ViaAWSService`), which would open a path around the endpoint rule.

Object lock is enabled on the bucket so records managers can place legal holds (and per-object retention) on the
documents of a matter. There is deliberately no default retention: holds are decided per matter, drafts and
mistaken uploads must stay deletable, and a bucket-wide retention would make every version undeletable for its
term. Lifecycle expiry never removes a version under a legal hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import role_arn
from components.buckets import SecureBucket, SecureBucketArgs, Statement, abort_incomplete_uploads_rule, bucket_and_objects

DATA_CLASS = "case-documents"
ACCESS_LOG_PREFIX = "case-documents/"
# The object-level (data-plane) actions that must come through a VPC endpoint.
DATA_ACTIONS = [
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:RestoreObject",
    "s3:ReplicateObject",
    "s3:AbortMultipartUpload",
    "s3:BypassGovernanceRetention",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
]
BREAK_GLASS_ROLE = "break-glass"
# The fixed role name components/backup.py gives AWS Backup's service role (role_name(settings, "backup")).
BACKUP_ROLE = "backup"
MACIE_ROLE_PATH = "aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"


@dataclass
class DocumentStoreArgs:
    """`vpc_endpoint_ids`: the S3 gateway endpoint(s) case documents may be reached through."""

    settings: Settings
    key: aws.kms.Key
    vpc_endpoint_ids: Sequence[pulumi.Input[str]]
    access_log_bucket: pulumi.Input[str]
    account_id: str
    partition: str

    def __post_init__(self) -> None:
        if not self.vpc_endpoint_ids:
            raise ValueError("DocumentStore needs at least one S3 VPC endpoint id: without one only break-glass could read")


class DocumentStore(pulumi.ComponentResource):
    """The case-documents bucket. Attributes: `bucket` (aws.s3.Bucket), `secure` (its SecureBucket)."""

    bucket: aws.s3.Bucket

    def __init__(self, name: str, args: DocumentStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:storage:DocumentStore", name, None, opts)
        s = args.settings
        self.secure = SecureBucket(
            f"{name}-bucket",
            SecureBucketArgs(
                settings=s,
                data_class=DATA_CLASS,
                kms_key_arn=args.key.arn,
                require_kms_on_put=True,
                object_lock=True,
                extra_policy_statements=lambda arn: [vpc_endpoint_only_statement(arn, args)],
                access_log_bucket=args.access_log_bucket,
                access_log_prefix=ACCESS_LOG_PREFIX,
                lifecycle_rules=[expire_superseded_versions_rule(s.document_version_retention_days),
                                 abort_incomplete_uploads_rule()],
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.bucket = self.secure.bucket
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


def exempt_principals(args: DocumentStoreArgs) -> list[str]:
    """Principals that may reach the documents from outside the VPC endpoints (see the module docstring)."""
    return [
        role_arn(args.partition, args.account_id, args.settings, BREAK_GLASS_ROLE),
        role_arn(args.partition, args.account_id, args.settings, BACKUP_ROLE),
        f"arn:{args.partition}:iam::{args.account_id}:role/{MACIE_ROLE_PATH}",
    ]


def vpc_endpoint_only_statement(bucket_arn: pulumi.Input[str], args: DocumentStoreArgs) -> Statement:
    """Deny object access that did not come through our S3 endpoints, unless an exempt principal makes it.

    `StringNotEquals` on `aws:SourceVpce` also matches requests with no endpoint at all (internet, console).
    """
    return {
        "Sid": "DenyDataAccessOutsideVpcEndpoints",
        "Effect": "Deny",
        "Principal": "*",
        "Action": DATA_ACTIONS,
        "Resource": bucket_and_objects(bucket_arn),
        "Condition": {
            "StringNotEquals": {"aws:SourceVpce": list(args.vpc_endpoint_ids)},
            "ArnNotEquals": {"aws:PrincipalArn": exempt_principals(args)},
        },
    }


def expire_superseded_versions_rule(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """A superseded version is kept `days` after it is replaced, then expires (unless under legal hold)."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-superseded-versions",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=days),
    )
