"""AuditTrail: multi-region trail with data events, locked and tamper-resistant archive, encrypted CloudWatch copy."""

from __future__ import annotations

import json
from functools import cache

import pulumi_aws as aws

from caseshield import settings as settings_module
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from components.audit import AuditTrail, AuditTrailArgs
from tests.conftest import policy, statement

ACCOUNT = "123456789012"
ACCESS_LOGS = "cs-test-access-logs"
DOCUMENTS_ARN = "arn:aws:s3:::cs-test-documents"
BUCKET = "aws:s3/bucket:Bucket"
TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def program() -> None:
    s = settings_module.from_pulumi()
    key = aws.kms.Key("audit-key")
    AuditTrail("audit", AuditTrailArgs(settings=s, key=key, access_log_bucket=ACCESS_LOGS,
                                       documents_bucket_arn=DOCUMENTS_ARN, account_id=ACCOUNT, partition="aws"))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def names(resources: list[RecordedResource]) -> list[str]:
    return [r.name for r in resources]


def trail_arn(stack: str) -> str:
    return f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/cs-{stack}-audit-trail"


def archive_policy(stack: str) -> dict:
    return policy(graph(stack).one(BUCKET_POLICY, "audit-archive-policy"))


# -- archive bucket -----------------------------------------------------------------------------------------------

def test_archive_is_created_with_object_lock_and_classified() -> None:
    bucket = graph("prod").one(BUCKET, "audit-archive")
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.inputs["tags"]["data-classification"] == "audit-logs"
    assert bucket.inputs.get("forceDestroy") is not True


def test_object_lock_default_retention_follows_settings() -> None:
    for stack, mode, days in (("prod", "COMPLIANCE", 2557), ("dev", "GOVERNANCE", 365)):
        g = graph(stack)
        lock = g.one(LOCK)
        assert lock.inputs["rule"]["defaultRetention"] == {"mode": mode, "days": days}
        assert names(g.depends_on(lock, "bucket")) == ["audit-archive"]


def test_archive_is_versioned() -> None:
    g = graph("prod")
    versioning = g.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    assert names(g.depends_on(versioning, "bucket")) == ["audit-archive"]


def test_archive_is_encrypted_with_the_audit_key_and_a_bucket_key() -> None:
    g = graph("prod")
    sse = g.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    rule = sse.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    assert names(g.depends_on(sse, "rules")) == ["audit-key"]


def test_public_access_is_blocked_and_acls_disabled() -> None:
    g = graph("prod")
    block = g.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag
    ownership = g.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_access_logging_goes_to_the_given_log_bucket() -> None:
    g = graph("prod")
    logging = g.one("aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["targetBucket"] == ACCESS_LOGS
    assert names(g.depends_on(logging, "bucket")) == ["audit-archive"]


def test_lifecycle_tiers_down_and_never_expires_a_locked_version() -> None:
    for stack, retention in (("prod", 2557), ("dev", 365)):
        rules = graph(stack).one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
        tiering = next(r for r in rules if r["id"] == "tier-and-expire-superseded")
        assert [t["storageClass"] for t in tiering["transitions"]] == ["GLACIER_IR", "DEEP_ARCHIVE"]
        assert tiering["noncurrentVersionExpiration"]["noncurrentDays"] >= retention
        assert not any("expiration" in r for r in rules), "current audit logs must never expire"


# -- archive bucket policy ----------------------------------------------------------------------------------------

def test_policy_denies_non_tls_access() -> None:
    deny = statement(archive_policy("prod"), "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_policy_denies_deleting_evidence_to_everyone() -> None:
    deny = statement(archive_policy("prod"), "DenyEvidenceDestruction")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert "Condition" not in deny
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:DeleteBucketPolicy"} <= set(deny["Action"])
    assert any(r.endswith("/*") for r in deny["Resource"]) and any(not r.endswith("/*") for r in deny["Resource"])


def test_only_deployer_and_break_glass_may_change_policy_lock_or_lifecycle() -> None:
    deny = statement(archive_policy("prod"), "OnlyDeployersReconfigureArchive")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert {"s3:PutBucketPolicy", "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration"} <= set(deny["Action"])
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [
        f"arn:aws:iam::{ACCOUNT}:role/cs-prod-ci-deployer", f"arn:aws:iam::{ACCOUNT}:role/cs-prod-break-glass"]}}


def test_cloudtrail_may_write_only_for_our_trail_with_owner_full_control() -> None:
    doc = archive_policy("prod")
    acl, write = statement(doc, "CloudTrailAclCheck"), statement(doc, "CloudTrailWrite")
    assert acl["Principal"] == write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert acl["Action"] == "s3:GetBucketAcl"
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn("prod")}}
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"].endswith(f"/cloudtrail/AWSLogs/{ACCOUNT}/*")
    assert write["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                                   "aws:SourceArn": trail_arn("prod")}}


def test_config_may_deliver_for_this_account_only() -> None:
    doc = archive_policy("prod")
    for sid, action in (("ConfigAclCheck", "s3:GetBucketAcl"), ("ConfigBucketExistenceCheck", "s3:ListBucket"),
                        ("ConfigDelivery", "s3:PutObject")):
        found = statement(doc, sid)
        assert found["Principal"] == {"Service": "config.amazonaws.com"} and found["Action"] == action
        assert found["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    delivery = statement(doc, "ConfigDelivery")
    assert delivery["Resource"].endswith(f"/config/AWSLogs/{ACCOUNT}/Config/*")
    assert delivery["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"


# -- CloudWatch delivery ------------------------------------------------------------------------------------------

def test_log_group_is_encrypted_with_the_audit_key_and_kept_per_settings() -> None:
    for stack, days in (("prod", 731), ("dev", 90)):
        g = graph(stack)
        group = g.one(LOG_GROUP, "audit-log-group")
        assert group.inputs["name"] == f"/caseshield/{stack}/cloudtrail"
        assert group.inputs["retentionInDays"] == days
        assert names(g.depends_on(group, "kmsKeyId")) == ["audit-key"]


def test_cloudwatch_role_is_assumable_only_by_our_trail_and_writes_only_its_group() -> None:
    g = graph("prod")
    role = g.one(ROLE, "audit-cloudwatch-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceArn": trail_arn("prod")}}}]
    role_policy = g.one("aws:iam/rolePolicy:RolePolicy", "audit-cloudwatch-role-policy")
    [grant] = policy(role_policy)["Statement"]
    assert sorted(grant["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert grant["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/caseshield/prod/cloudtrail:log-stream:*"
    assert names(g.depends_on(role_policy, "policy")) == ["audit-log-group"]
    assert names(g.depends_on(role_policy, "role")) == ["audit-cloudwatch-role"]


# -- trail --------------------------------------------------------------------------------------------------------

def test_trail_is_named_for_the_key_policy_and_covers_every_region_with_validation() -> None:
    for stack in ("prod", "dev"):
        trail = graph(stack).one(TRAIL, "audit-trail")
        assert trail.inputs["name"] == f"cs-{stack}-audit-trail"
        assert trail.inputs["isMultiRegionTrail"] is True
        assert trail.inputs["includeGlobalServiceEvents"] is True
        assert trail.inputs["enableLogFileValidation"] is True


def test_trail_is_encrypted_with_the_audit_key_and_delivers_to_the_archive() -> None:
    g = graph("prod")
    trail = g.one(TRAIL, "audit-trail")
    assert names(g.depends_on(trail, "kmsKeyId")) == ["audit-key"]
    assert names(g.depends_on(trail, "s3BucketName")) == ["audit-archive"]
    assert trail.inputs["s3KeyPrefix"] == "cloudtrail"


def test_trail_records_reads_and_writes_on_the_documents_bucket() -> None:
    [selector] = graph("prod").one(TRAIL, "audit-trail").inputs["eventSelectors"]
    assert selector["readWriteType"] == "All"
    assert selector["includeManagementEvents"] is True
    assert selector["dataResources"] == [{"type": "AWS::S3::Object", "values": [f"{DOCUMENTS_ARN}/"]}]


def test_trail_delivers_to_cloudwatch_through_the_role() -> None:
    g = graph("prod")
    trail = g.one(TRAIL, "audit-trail")
    assert names(g.depends_on(trail, "cloudWatchLogsGroupArn")) == ["audit-log-group"]
    assert trail.inputs["cloudWatchLogsGroupArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/caseshield/prod/cloudtrail:*"
    assert names(g.depends_on(trail, "cloudWatchLogsRoleArn")) == ["audit-cloudwatch-role"]


def test_trail_waits_for_the_bucket_policy_and_role_policy() -> None:
    g = graph("prod")
    trail = g.one(TRAIL, "audit-trail")
    waits_for = {g.by_urn[u].name for u in trail.dependencies if u in g.by_urn}
    assert {"audit-archive-policy", "audit-cloudwatch-role-policy"} <= waits_for


# -- statefulness -------------------------------------------------------------------------------------------------

def test_evidence_is_protected_and_retained_in_prod_only() -> None:
    evidence = ((BUCKET, "audit-archive"), (LOCK, None), (BUCKET_POLICY, None), (LOG_GROUP, None), (TRAIL, None))
    for type_, name in evidence:
        assert graph("prod").one(type_, name).protect and graph("prod").one(type_, name).retain_on_delete, type_
        assert not graph("dev").one(type_, name).protect and not graph("dev").one(type_, name).retain_on_delete, type_
    assert graph("prod").one(LOG_GROUP).inputs["deletionProtectionEnabled"] is True
    assert graph("dev").one(LOG_GROUP).inputs["deletionProtectionEnabled"] is False


def test_component_registers_its_outputs() -> None:
    g = graph("prod")
    component = g.one("caseshield:audit:AuditTrail", "audit")
    assert component.outputs["trail_arn"] == trail_arn("prod")
    assert component.outputs["log_group_name"] == "/caseshield/prod/cloudtrail"
    bucket_name = g.one(BUCKET, "audit-archive").id
    assert bucket_name and component.outputs["archive_bucket"] == bucket_name
    assert g.one(TRAIL, "audit-trail").inputs["s3BucketName"] == bucket_name
