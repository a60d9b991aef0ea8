"""SecureBucket and AccessLogBucket: the shared S3 basics, the optional extras, and the access-log target."""

from __future__ import annotations

from functools import cache

import pulumi_aws as aws
import pytest

from caseshield import settings as settings_module
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.project import load_project
from caseshield.settings import Settings
from components.buckets import (
    AccessLogBucket,
    AccessLogBucketArgs,
    ObjectLockDefault,
    SecureBucket,
    SecureBucketArgs,
)
from tests.conftest import policy, statement

ACCOUNT = "123456789012"
BUCKET = "aws:s3/bucket:Bucket"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
S3_TYPES = (BUCKET, ENCRYPTION, PUBLIC_ACCESS, OWNERSHIP, VERSIONING, POLICY, LOGGING, LIFECYCLE, OBJECT_LOCK)
SECURE_BUCKETS = ("plain", "locked", "logs-bucket")


def program() -> None:
    s = settings_module.from_pulumi()
    key = aws.kms.Key("archive-key")
    SecureBucket("plain", SecureBucketArgs(settings=s, data_class="operational-logs"))
    SecureBucket("locked", SecureBucketArgs(
        settings=s,
        data_class="audit-logs",
        kms_key_arn=key.arn,
        object_lock=True,
        object_lock_default=ObjectLockDefault(mode="COMPLIANCE", days=30),
        require_kms_on_put=True,
        extra_policy_statements=lambda arn: [{"Sid": "NamesTheBucket", "Effect": "Deny", "Principal": "*",
                                              "Action": "s3:DeleteBucket", "Resource": arn}],
        access_log_bucket="cs-access-log-target",
    ))
    AccessLogBucket("logs", AccessLogBucketArgs(settings=s, account_id=ACCOUNT, expiration_days=90))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def settings(stack: str) -> Settings:
    return settings_module.load_settings(load_project().stack_config(stack), stack)


def of_bucket(g: ResourceGraph, type_: str, bucket: str) -> RecordedResource:
    """The one resource of `type_` configuring the bucket named `bucket` (its `bucket` input depends on it)."""
    target = g.one(BUCKET, bucket)
    found = [r for r in g.of_type(type_) if target in g.depends_on(r, "bucket")]
    assert len(found) == 1, f"expected one {type_} for {bucket}, found {[r.name for r in found]}"
    return found[0]


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{graph('prod').one(BUCKET, bucket).id}"


@pytest.mark.parametrize("bucket", SECURE_BUCKETS)
def test_every_bucket_blocks_public_access_and_acls_and_keeps_versions(bucket: str) -> None:
    g = graph("prod")
    block = of_bucket(g, PUBLIC_ACCESS, bucket)
    assert {k: block.inputs.get(k) for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                             "restrictPublicBuckets")} == dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    assert of_bucket(g, OWNERSHIP, bucket).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert of_bucket(g, VERSIONING, bucket).inputs["versioningConfiguration"]["status"] == "Enabled"
    assert g.one(BUCKET, bucket).inputs["forceDestroy"] is False


@pytest.mark.parametrize("bucket", SECURE_BUCKETS)
def test_every_bucket_policy_refuses_plain_http_and_old_tls(bucket: str) -> None:
    g = graph("prod")
    document = policy(of_bucket(g, POLICY, bucket))
    arn = bucket_arn(bucket)
    insecure = statement(document, "DenyInsecureTransport")
    assert (insecure["Effect"], insecure["Principal"], insecure["Action"]) == ("Deny", "*", "s3:*")
    assert insecure["Resource"] == [arn, f"{arn}/*"]
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    old_tls = statement(document, "DenyOutdatedTls")
    assert old_tls["Effect"] == "Deny" and old_tls["Resource"] == [arn, f"{arn}/*"]
    assert old_tls["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


@pytest.mark.parametrize("bucket", SECURE_BUCKETS)
def test_policy_is_attached_only_after_the_public_access_block(bucket: str) -> None:
    g = graph("prod")
    assert of_bucket(g, PUBLIC_ACCESS, bucket).urn in of_bucket(g, POLICY, bucket).dependencies


def test_kms_bucket_uses_its_key_with_a_bucket_key() -> None:
    g = graph("prod")
    rule = of_bucket(g, ENCRYPTION, "locked").inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    key = g.one("aws:kms/key:Key", "archive-key")
    assert key in g.depends_on(of_bucket(g, ENCRYPTION, "locked"), "rules")
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")


@pytest.mark.parametrize("bucket", ["plain", "logs-bucket"])
def test_bucket_without_a_key_uses_sse_s3(bucket: str) -> None:
    rule = of_bucket(graph("prod"), ENCRYPTION, bucket).inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert "kmsMasterKeyId" not in rule["applyServerSideEncryptionByDefault"]


def test_require_kms_on_put_denies_other_encryption_and_other_keys() -> None:
    g = graph("prod")
    document = policy(of_bucket(g, POLICY, "locked"))
    objects = f"{bucket_arn('locked')}/*"
    key_arn = of_bucket(g, ENCRYPTION, "locked").inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    without = statement(document, "DenyPutWithoutKmsEncryption")
    assert (without["Effect"], without["Action"], without["Resource"]) == ("Deny", "s3:PutObject", objects)
    assert without["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    other_key = statement(document, "DenyPutWithOtherKmsKey")
    assert (other_key["Effect"], other_key["Action"], other_key["Resource"]) == ("Deny", "s3:PutObject", objects)
    assert other_key["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}
    plain = [s["Sid"] for s in policy(of_bucket(g, POLICY, "plain"))["Statement"]]
    assert "DenyPutWithoutKmsEncryption" not in plain and "DenyPutWithOtherKmsKey" not in plain


def test_extra_statements_are_added_and_may_name_the_bucket() -> None:
    extra = statement(policy(of_bucket(graph("prod"), POLICY, "locked")), "NamesTheBucket")
    assert extra["Resource"] == bucket_arn("locked")
    assert [s["Sid"] for s in policy(of_bucket(graph("prod"), POLICY, "plain"))["Statement"]] == [
        "DenyInsecureTransport", "DenyOutdatedTls"]


def test_object_lock_is_enabled_at_creation_with_the_default_retention_asked_for() -> None:
    g = graph("prod")
    assert g.one(BUCKET, "locked").inputs["objectLockEnabled"] is True
    assert g.one(BUCKET, "plain").inputs["objectLockEnabled"] is False
    lock = of_bucket(g, OBJECT_LOCK, "locked")
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 30}
    assert of_bucket(g, VERSIONING, "locked").urn in lock.dependencies
    assert not [r for r in g.of_type(OBJECT_LOCK) if g.one(BUCKET, "plain") in g.depends_on(r, "bucket")]


def test_access_logging_goes_to_the_target_with_a_partitioned_prefix() -> None:
    g = graph("prod")
    logging = of_bucket(g, LOGGING, "locked")
    assert logging.inputs["targetBucket"] == "cs-access-log-target"
    assert logging.inputs["targetPrefix"] == "locked/"
    assert logging.inputs["targetObjectKeyFormat"] == {"partitionedPrefix": {"partitionDateSource": "EventTime"}}
    logged = {g.depends_on(r, "bucket")[0].name for r in g.of_type(LOGGING)}
    assert logged == {"locked"}  # the log target itself must not log into itself


def test_buckets_carry_their_data_class() -> None:
    g = graph("prod")
    assert g.one(BUCKET, "plain").inputs["tags"]["data-classification"] == "operational-logs"
    assert g.one(BUCKET, "locked").inputs["tags"]["data-classification"] == "audit-logs"
    assert g.one(BUCKET, "logs-bucket").inputs["tags"]["data-classification"] == "audit-logs"


def test_buckets_and_their_controls_are_protected_and_retained_in_prod_only() -> None:
    prod = [r for r in graph("prod").resources if r.type in S3_TYPES]
    dev = [r for r in graph("dev").resources if r.type in S3_TYPES]
    assert len(prod) == len(dev) >= 20
    assert all(r.protect and r.retain_on_delete for r in prod), [r.name for r in prod if not r.protect]
    assert not any(r.protect or r.retain_on_delete for r in dev)


def test_components_use_their_type_tokens_and_own_their_resources() -> None:
    g = graph("prod")
    secure = {r.name: r for r in g.of_type("caseshield:storage:SecureBucket")}
    assert set(secure) == set(SECURE_BUCKETS)
    access_log = g.one("caseshield:storage:AccessLogBucket", "logs")
    assert secure["logs-bucket"].parent == access_log.urn
    assert {r.type for r in g.children(secure["locked"].urn)} == set(S3_TYPES) - {LIFECYCLE}  # it has no rules


def test_access_log_bucket_admits_only_s3_log_delivery_from_this_account() -> None:
    g = graph("prod")
    document = policy(of_bucket(g, POLICY, "logs-bucket"))
    objects = f"{bucket_arn('logs-bucket')}/*"
    delivery = statement(document, "S3ServerAccessLogDelivery")
    assert delivery["Effect"] == "Allow"
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert (delivery["Action"], delivery["Resource"]) == ("s3:PutObject", objects)
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert allows == [delivery]
    tamper = statement(document, "DenyLogTamperingByPrincipals")
    assert tamper["Effect"] == "Deny" and tamper["Principal"] == "*" and tamper["Resource"] == objects
    assert {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(tamper["Action"])
    assert tamper["Condition"] == {"Bool": {"aws:PrincipalIsAWSService": "false"}}


def test_access_logs_expire_after_the_given_days() -> None:
    rules = {r["id"]: r for r in of_bucket(graph("prod"), LIFECYCLE, "logs-bucket").inputs["rules"]}
    assert rules["expire-access-logs"]["status"] == "Enabled"
    assert rules["expire-access-logs"]["expiration"] == {"days": 90}
    assert rules["expire-access-logs"]["filter"] == {}
    assert rules["expire-access-logs"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    lifecycle = of_bucket(graph("prod"), LIFECYCLE, "logs-bucket")
    assert of_bucket(graph("prod"), VERSIONING, "logs-bucket").urn in lifecycle.dependencies


def test_args_reject_contradictions() -> None:
    s = settings("dev")
    with pytest.raises(ValueError, match="object lock mode"):
        ObjectLockDefault(mode="LEGAL", days=1)
    with pytest.raises(ValueError, match="at least one day"):
        ObjectLockDefault(mode="GOVERNANCE", days=0)
    with pytest.raises(ValueError, match="object_lock=True"):
        SecureBucketArgs(settings=s, data_class=None, object_lock_default=ObjectLockDefault("GOVERNANCE", 1))
    with pytest.raises(ValueError, match="kms_key_arn"):
        SecureBucketArgs(settings=s, data_class=None, require_kms_on_put=True)
    with pytest.raises(ValueError, match="at least one day"):
        AccessLogBucketArgs(settings=s, account_id=ACCOUNT, expiration_days=0)
