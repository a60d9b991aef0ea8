"""Live checks of the buckets and the privacy ledger: encryption, public access, versioning and retention, logging,
tamper resistance of the audit archive, and data classification tags."""

from __future__ import annotations

from typing import Any

from caseshield.audit import live_check
from caseshield.audit.account import Account, absent, as_list, document, statements
from policies.rules.data_protection import DATA_CLASSES

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
EVIDENCE_DESTRUCTION = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucketPolicy")
SSE_KMS = ("aws:kms", "aws:kms:dsse")


def encryption(account: Account, bucket: str) -> dict[str, Any] | None:
    """The bucket's default encryption rule, or None when it has none."""
    found = absent(account.client("s3").get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError", Bucket=bucket)
    rules = (found or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    return dict(rules[0].get("ApplyServerSideEncryptionByDefault", {})) if rules else None


def bucket_policy(account: Account, bucket: str) -> dict[str, Any]:
    found = absent(account.client("s3").get_bucket_policy, "NoSuchBucketPolicy", Bucket=bucket)
    return document(found["Policy"]) if found else {}


def denies(policy: dict[str, Any], action: str, condition_key: str | None = None) -> bool:
    """Whether a Deny statement for everyone covers `action` (and tests `condition_key`, when given)."""
    for st in statements(policy):
        if st.get("Effect") != "Deny" or st.get("Principal") not in ("*", {"AWS": "*"}):
            continue
        actions = as_list(st.get("Action"))
        if not any(a in ("s3:*", "*", action) for a in actions):
            continue
        keys = {k.lower() for block in (st.get("Condition") or {}).values() for k in block}
        if condition_key is None or condition_key.lower() in keys:
            return True
    return False


@live_check("ENC-01", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy",
            "kms:ListAliases")
def case_documents_are_encrypted_with_their_key(account: Account) -> list[str]:
    """The case-documents bucket encrypts with the case-documents key by default and denies uploads under any other."""
    bucket = account.documents_bucket
    rule = encryption(account, bucket) or {}
    found = []
    if rule.get("SSEAlgorithm") not in SSE_KMS or not account.same_key(rule.get("KMSMasterKeyID"), "case-documents"):
        found.append(f"{bucket}: default encryption is {rule or 'none'}, not SSE-KMS with the case-documents key")
    policy = bucket_policy(account, bucket)
    for key in ("s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"):
        if not denies(policy, "s3:PutObject", key):
            found.append(f"{bucket}: the bucket policy does not deny s3:PutObject on {key}")
    return found


@live_check("ENC-03", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetEncryptionConfiguration", "dynamodb:DescribeTable")
def every_bucket_and_the_ledger_are_encrypted(account: Account) -> list[str]:
    """Every bucket of the stack has default encryption, and the privacy ledger is encrypted with a KMS key."""
    found = [f"{b}: no default encryption" for b in sorted(account.buckets) if not encryption(account, b)]
    sse = account.ledger.get("SSEDescription") or {}
    if sse.get("Status") not in ("ENABLED", "UPDATING") or sse.get("SSEType") != "KMS":
        found.append(f"{account.ledger['TableName']}: server-side encryption is {sse or 'the AWS owned key'}, not KMS")
    return found


@live_check("ENC-06", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetBucketPolicy", "rds:DescribeDBInstances",
            "rds:DescribeDBParameters", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeListeners")
def data_in_transit_requires_tls12(account: Account) -> list[str]:
    """Buckets deny plain HTTP and TLS < 1.2, the database forces TLS, HTTPS listeners use a TLS 1.2+ policy and
    HTTP listeners only redirect to HTTPS."""
    from policies.rules.encryption import TLS12_POLICY_PREFIXES

    found = []
    for bucket in sorted(account.buckets):
        policy = bucket_policy(account, bucket)
        if not denies(policy, "s3:GetObject", "aws:SecureTransport"):
            found.append(f"{bucket}: the bucket policy does not deny requests without TLS")
        if not denies(policy, "s3:GetObject", "s3:TlsVersion"):
            found.append(f"{bucket}: the bucket policy does not deny TLS older than 1.2")
    rds = account.client("rds")
    for group in account.database["DBParameterGroups"]:
        params = [p for page in rds.get_paginator("describe_db_parameters").paginate(DBParameterGroupName=group["DBParameterGroupName"])
                  for p in page["Parameters"] if p["ParameterName"] == "rds.force_ssl"]
        if not params or params[0].get("ParameterValue") != "1":
            found.append(f"{group['DBParameterGroupName']}: rds.force_ssl is not 1")
    for listener in account.client("elbv2").describe_listeners(LoadBalancerArn=account.load_balancer["LoadBalancerArn"])["Listeners"]:
        if listener["Protocol"] == "HTTPS" and not str(listener.get("SslPolicy", "")).startswith(TLS12_POLICY_PREFIXES):
            found.append(f"listener {listener['Port']}: SSL policy {listener.get('SslPolicy')} admits TLS older than 1.2")
        if listener["Protocol"] == "HTTP" and any(a["Type"] != "redirect" or a.get("RedirectConfig", {}).get("Protocol") != "HTTPS"
                                                  for a in listener["DefaultActions"]):
            found.append(f"listener {listener['Port']}: plain HTTP does more than redirect to HTTPS")
    return found


@live_check("DATA-02", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketOwnershipControls")
def every_bucket_blocks_public_access(account: Account) -> list[str]:
    """Every bucket has all four public-access blocks on and ACLs disabled (BucketOwnerEnforced)."""
    s3, found = account.client("s3"), []
    for bucket in sorted(account.buckets):
        block = absent(s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration", Bucket=bucket)
        flags = (block or {}).get("PublicAccessBlockConfiguration", {})
        found += [f"{bucket}: {flag} is off" for flag in PUBLIC_ACCESS_FLAGS if not flags.get(flag)]
        owner = absent(s3.get_bucket_ownership_controls, "OwnershipControlsNotFoundError", Bucket=bucket)
        rules = (owner or {}).get("OwnershipControls", {}).get("Rules", [])
        if not rules or rules[0].get("ObjectOwnership") != "BucketOwnerEnforced":
            found.append(f"{bucket}: ACLs are not disabled (object ownership is not BucketOwnerEnforced)")
    return found


@live_check("DATA-03", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetLifecycleConfiguration")
def every_bucket_is_versioned_with_a_retention_schedule(account: Account) -> list[str]:
    """Every bucket is versioned, expires noncurrent versions and aborts incomplete uploads; case-document versions
    are kept for the retention floor."""
    s3, found = account.client("s3"), []
    floor = account.settings.document_version_retention_days
    for bucket in sorted(account.buckets):
        if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
            found.append(f"{bucket}: versioning is not enabled")
        lifecycle = absent(s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration", Bucket=bucket)
        rules = [r for r in (lifecycle or {}).get("Rules", []) if r.get("Status") == "Enabled"]
        expiries = [r["NoncurrentVersionExpiration"].get("NoncurrentDays", 0) for r in rules if r.get("NoncurrentVersionExpiration")]
        if not expiries:
            found.append(f"{bucket}: noncurrent versions never expire")
        if not any(r.get("AbortIncompleteMultipartUpload") for r in rules):
            found.append(f"{bucket}: incomplete multipart uploads are never aborted")
        if bucket == account.documents_bucket and expiries and min(expiries) < floor:
            found.append(f"{bucket}: noncurrent versions expire after {min(expiries)} days, below the floor of {floor}")
    return found


@live_check("AUD-04", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketVersioning", "s3:GetBucketPolicy")
def audit_archive_is_tamper_resistant(account: Account) -> list[str]:
    """The audit archive locks objects by default (COMPLIANCE in prod), keeps every version and its policy denies
    deleting evidence."""
    s3, bucket, found = account.client("s3"), account.archive_bucket, []
    lock = absent(s3.get_object_lock_configuration, "ObjectLockConfigurationNotFoundError", Bucket=bucket)
    config = (lock or {}).get("ObjectLockConfiguration", {})
    retention = config.get("Rule", {}).get("DefaultRetention", {})
    modes = ("COMPLIANCE",) if account.is_prod else ("COMPLIANCE", "GOVERNANCE")
    if config.get("ObjectLockEnabled") != "Enabled" or retention.get("Mode") not in modes:
        found.append(f"{bucket}: objects are not locked by default in {' or '.join(modes)} mode (found {config or 'no lock'})")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        found.append(f"{bucket}: versioning is not enabled")
    policy = bucket_policy(account, bucket)
    found += [f"{bucket}: the bucket policy does not deny {a}" for a in EVIDENCE_DESTRUCTION if not denies(policy, a)]
    return found


@live_check("AUD-05", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetBucketLogging")
def evidence_buckets_log_to_a_separate_bucket(account: Account) -> list[str]:
    """The case-documents bucket and the audit archive log every request into the separate access-log bucket."""
    s3, found = account.client("s3"), []
    for bucket in (account.documents_bucket, account.archive_bucket):
        target = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled", {}).get("TargetBucket")
        if target != account.access_logs_bucket:
            found.append(f"{bucket}: access logs go to {target or 'nowhere'}, not to {account.access_logs_bucket}")
    return found


@live_check("DATA-01", "s3:ListAllMyBuckets", "s3:GetBucketTagging", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource",
            "rds:DescribeDBInstances", "logs:DescribeLogGroups", "logs:ListTagsForResource")
def data_stores_carry_a_known_classification(account: Account) -> list[str]:
    """Every bucket, the ledger, the database and every log group carry a known data-classification tag."""
    found = [f"bucket {b}: data-classification {t.get('data-classification')!r}" for b, t in sorted(account.buckets.items())
             if t.get("data-classification") not in DATA_CLASSES]
    ddb = account.client("dynamodb")
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=account.ledger["TableArn"]).get("Tags", [])}
    if tags.get("data-classification") not in DATA_CLASSES:
        found.append(f"table {account.ledger['TableName']}: data-classification {tags.get('data-classification')!r}")
    db_tags = {t["Key"]: t["Value"] for t in account.database.get("TagList", [])}
    if db_tags.get("data-classification") not in DATA_CLASSES:
        found.append(f"database {account.database['DBInstanceIdentifier']}: data-classification {db_tags.get('data-classification')!r}")
    logs = account.client("logs")
    for name, group in sorted(account.log_groups.items()):
        group_tags = logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*")).get("tags", {})
        if group_tags.get("data-classification") not in DATA_CLASSES:
            found.append(f"log group {name}: data-classification {group_tags.get('data-classification')!r}")
    return found


@live_check("PRIV-01", "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "kms:ListAliases")
def privacy_ledger_keeps_its_records(account: Account) -> list[str]:
    """The consent and DSR ledger is recoverable to any point, encrypted with a customer-managed key and, in prod,
    protected from deletion."""
    table, found = account.ledger, []
    backups = account.client("dynamodb").describe_continuous_backups(TableName=table["TableName"])["ContinuousBackupsDescription"]
    if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
        found.append(f"{table['TableName']}: point-in-time recovery is off")
    key = (table.get("SSEDescription") or {}).get("KMSMasterKeyArn", "")
    if not any(account.same_key(key, c) for c in account.key_aliases):
        found.append(f"{table['TableName']}: not encrypted with one of the stack's customer-managed keys ({key or 'AWS owned key'})")
    if account.is_prod and not table.get("DeletionProtectionEnabled"):
        found.append(f"{table['TableName']}: deletion protection is off in prod")
    return found
