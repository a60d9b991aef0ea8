"""DocumentStore: the case-documents bucket's encryption, lock, policy, logging, lifecycle and protection."""

from __future__ import annotations

from functools import cache
from typing import Any

import pulumi_aws as aws
import pytest

from caseshield import settings as settings_module
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.project import load_project
from components.documents import DocumentStore, DocumentStoreArgs
from tests.conftest import policy, statement

ACCOUNT = "123456789012"
ENDPOINT = "vpce-0s3gateway0001"
LOG_TARGET = "cs-access-logs-target"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"


def program() -> None:
    s = settings_module.from_pulumi()
    key = aws.kms.Key("case-documents-key")
    DocumentStore("documents", DocumentStoreArgs(settings=s, key=key, vpc_endpoint_ids=[ENDPOINT],
                                                 access_log_bucket=LOG_TARGET, account_id=ACCOUNT, partition="aws"))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def one(g: ResourceGraph, kind: str) -> RecordedResource:
    return g.one(f"aws:s3/{kind[0].lower()}{kind[1:]}:{kind}")


def bucket_arn(g: ResourceGraph) -> str:
    return f"arn:aws:s3:::{g.one(BUCKET).id}"


def document_policy(g: ResourceGraph) -> dict[str, Any]:
    return policy(one(g, "BucketPolicy"))


def test_bucket_is_object_lock_capable_without_default_retention_and_classified() -> None:
    g = graph("prod")
    bucket = g.one(BUCKET)
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.inputs["tags"]["data-classification"] == "case-documents"
    assert not g.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")


def test_documents_are_encrypted_with_the_case_documents_key_and_a_bucket_key() -> None:
    g = graph("prod")
    encryption = one(g, "BucketServerSideEncryptionConfiguration")
    rule = encryption.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    assert [r.name for r in g.depends_on(encryption, "rules")] == ["case-documents-key"]


def test_public_access_is_blocked_acls_disabled_and_versions_kept() -> None:
    g = graph("prod")
    block = one(g, "BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    assert one(g, "BucketOwnershipControls").inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert one(g, "BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"


def test_policy_denies_plain_http() -> None:
    g = graph("prod")
    deny = statement(document_policy(g), "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [bucket_arn(g), f"{bucket_arn(g)}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_policy_denies_uploads_without_sse_kms_or_with_another_key() -> None:
    g = graph("prod")
    document = document_policy(g)
    key_arn = one(g, "BucketServerSideEncryptionConfiguration").inputs["rules"][0][
        "applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    assert key_arn.startswith("arn:aws:kms:us-east-1:") and "case-documents-key" in key_arn
    without = statement(document, "DenyPutWithoutKmsEncryption")
    assert (without["Effect"], without["Principal"], without["Action"]) == ("Deny", "*", "s3:PutObject")
    assert without["Resource"] == f"{bucket_arn(g)}/*"
    assert without["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    other = statement(document, "DenyPutWithOtherKmsKey")
    assert (other["Effect"], other["Action"]) == ("Deny", "s3:PutObject")
    assert other["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_data_access_outside_the_vpc_endpoint_is_denied_except_break_glass_backup_and_macie(stack: str) -> None:
    g = graph(stack)
    deny = statement(document_policy(g), "DenyDataAccessOutsideVpcEndpoints")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Resource"] == [bucket_arn(g), f"{bucket_arn(g)}/*"]
    assert deny["Condition"]["StringNotEquals"] == {"aws:SourceVpce": [ENDPOINT]}
    assert sorted(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == sorted([
        f"arn:aws:iam::{ACCOUNT}:role/cs-{stack}-break-glass",
        f"arn:aws:iam::{ACCOUNT}:role/cs-{stack}-backup",
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie",
    ])
    assert set(deny["Condition"]) == {"StringNotEquals", "ArnNotEquals"}


def test_endpoint_rule_covers_object_data_but_not_bucket_configuration() -> None:
    actions = statement(document_policy(graph("prod")), "DenyDataAccessOutsideVpcEndpoints")["Action"]
    assert {"s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket", "s3:ListBucketVersions"} <= set(actions)
    # The deployer manages the bucket from CI, outside the VPC: configuration actions must stay reachable.
    assert not [a for a in actions if a in ("s3:*", "*") or a.startswith(("s3:PutBucket", "s3:GetBucket"))]


def test_policy_grants_nothing() -> None:
    assert [s["Sid"] for s in document_policy(graph("prod"))["Statement"] if s["Effect"] != "Deny"] == []


def test_access_is_logged_to_the_log_bucket_under_a_prefix() -> None:
    logging = one(graph("prod"), "BucketLogging").inputs
    assert logging["targetBucket"] == LOG_TARGET
    assert logging["targetPrefix"] == "case-documents/"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_superseded_versions_expire_after_the_configured_days_and_uploads_are_aborted(stack: str) -> None:
    rules = {r["id"]: r for r in one(graph(stack), "BucketLifecycleConfiguration").inputs["rules"]}
    days = int(load_project().stack_config(stack)["caseshield:documentVersionRetentionDays"])
    versions = rules["expire-superseded-versions"]
    assert versions["status"] == "Enabled" and versions["filter"] == {}
    assert versions["noncurrentVersionExpiration"] == {"noncurrentDays": days}
    assert "expiration" not in versions  # current documents never expire
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_prod_documents_differ_from_dev_in_retention() -> None:
    def days(stack: str) -> int:
        rules = one(graph(stack), "BucketLifecycleConfiguration").inputs["rules"]
        return int(next(r for r in rules if r["id"] == "expire-superseded-versions")["noncurrentVersionExpiration"]
                   ["noncurrentDays"])

    assert days("prod") > days("dev")


def test_bucket_and_controls_are_protected_and_retained_in_prod_only() -> None:
    def s3(stack: str) -> list[RecordedResource]:
        return [r for r in graph(stack).resources if r.type.startswith("aws:s3/")]

    assert len(s3("prod")) == 8
    assert all(r.protect and r.retain_on_delete for r in s3("prod"))
    assert not any(r.protect or r.retain_on_delete for r in s3("dev"))


def test_component_owns_its_bucket() -> None:
    g = graph("prod")
    store = g.one("caseshield:storage:DocumentStore", "documents")
    secure = g.one("caseshield:storage:SecureBucket", "documents-bucket")
    assert secure.parent == store.urn and g.one(BUCKET).parent == secure.urn
    assert store.outputs["bucket"] == g.one(BUCKET).id


def test_args_need_an_endpoint() -> None:
    s = settings_module.load_settings(load_project().stack_config("dev"), "dev")
    key: Any = object()  # never used: validation fails first
    with pytest.raises(ValueError, match="VPC endpoint"):
        DocumentStoreArgs(settings=s, key=key, vpc_endpoint_ids=[], access_log_bucket=LOG_TARGET,
                          account_id=ACCOUNT, partition="aws")
