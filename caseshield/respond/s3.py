"""`legal-hold` and `quarantine-object`: preserve or fence off case documents in S3 without destroying any version.

Legal holds go on every stored version under the prefix, not only the current one: earlier drafts are often
the evidence that matters, and a hold also stops the noncurrent-version lifecycle rule from expiring them.
Quarantine copies the object aside and leaves a delete marker, so the original bytes stay as a prior version.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from caseshield.respond.core import QUARANTINE_TAG, Context, InputError, Plan, add_action, error_code, missing, not_found

QUARANTINE_PREFIX = "quarantine/"
COPY_LIMIT = 5 * 1024**3  # CopyObject copies at most 5 GiB in one request.
HOLD = {"set": "ON", "release": "OFF"}


def register(actions: Any) -> None:
    add_action(actions, "legal-hold", legal_hold, "set or release an S3 Object Lock legal hold on every object version under a prefix",
               [("mode", "set = hold ON, release = hold OFF", *HOLD), ("bucket", "bucket name"),
                ("prefix", "key prefix of the matter, e.g. matters/2024-0117/")])
    add_action(actions, "quarantine-object", quarantine_object,
               f"move an object to {QUARANTINE_PREFIX}<key> tagged {QUARANTINE_TAG}=true (encryption kept; versions kept)",
               [("bucket", "bucket name"), ("key", "object key")])


def check_bucket(ctx: Context, bucket: str) -> None:
    try:
        ctx.client("s3").head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket"):
            raise not_found("bucket", bucket) from error
        if error_code(error) in ("403", "AccessDenied"):
            raise InputError(f"bucket {bucket} exists but this identity may not access it") from error
        raise


def versions(ctx: Context, bucket: str, prefix: str) -> list[tuple[str, str]]:
    pages = ctx.client("s3").get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    return [(v["Key"], v["VersionId"]) for page in pages for v in page.get("Versions", [])]


def hold_status(ctx: Context, bucket: str, key: str, version: str) -> str:
    try:
        hold = ctx.client("s3").get_object_legal_hold(Bucket=bucket, Key=key, VersionId=version)
    except ClientError as error:
        if error_code(error) == "NoSuchObjectLockConfiguration":  # never held
            return "OFF"
        raise
    return str(hold.get("LegalHold", {}).get("Status", "OFF"))


def holds(ctx: Context, bucket: str, found: list[tuple[str, str]]) -> dict[str, str]:
    return {f"{key}?versionId={version}": hold_status(ctx, bucket, key, version) for key, version in found}


def legal_hold(ctx: Context, args: argparse.Namespace) -> Plan:
    s3, status = ctx.client("s3"), HOLD[args.mode]
    check_bucket(ctx, args.bucket)
    try:
        s3.get_object_lock_configuration(Bucket=args.bucket)
    except ClientError as error:
        if error_code(error) == "ObjectLockConfigurationNotFoundError":
            raise InputError(f"bucket {args.bucket} has no S3 Object Lock, so it cannot hold objects") from error
        raise
    found = versions(ctx, args.bucket, args.prefix)
    if not found:
        raise not_found("object versions under", f"s3://{args.bucket}/{args.prefix}")
    before = holds(ctx, args.bucket, found)
    pending = [(key, version) for key, version in found if before[f"{key}?versionId={version}"] != status]

    def apply() -> None:
        for key, version in pending:
            s3.put_object_legal_hold(Bucket=args.bucket, Key=key, VersionId=version, LegalHold={"Status": status})

    changes = [f"legal hold {status} on s3://{args.bucket}/{key} version {version}" for key, version in pending]
    return Plan(target=f"s3://{args.bucket}/{args.prefix}", before=before, changes=changes, apply=apply,
                observe=lambda: holds(ctx, args.bucket, found))


def tags(ctx: Context, bucket: str, key: str, version: str | None = None) -> dict[str, str]:
    extra = {"VersionId": version} if version else {}
    return {t["Key"]: t["Value"] for t in ctx.client("s3").get_object_tagging(Bucket=bucket, Key=key, **extra)["TagSet"]}


def describe_object(ctx: Context, bucket: str, key: str) -> dict[str, Any]:
    with missing("object", f"s3://{bucket}/{key}", "404", "NoSuchKey"):
        head = ctx.client("s3").head_object(Bucket=bucket, Key=key)
    return {"version": head.get("VersionId"), "size": head["ContentLength"], "etag": head.get("ETag"),
            "encryption": head.get("ServerSideEncryption"), "kms_key": head.get("SSEKMSKeyId"),
            "bucket_key": head.get("BucketKeyEnabled", False), "tags": tags(ctx, bucket, key, head.get("VersionId"))}


def quarantine_object(ctx: Context, args: argparse.Namespace) -> Plan:
    s3, bucket, key = ctx.client("s3"), args.bucket, args.key
    destination = QUARANTINE_PREFIX + key
    check_bucket(ctx, bucket)
    if key.startswith(QUARANTINE_PREFIX):
        raise InputError(f"s3://{bucket}/{key} is already under {QUARANTINE_PREFIX}")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise InputError(f"bucket {bucket} is not versioned: deleting the original would destroy it; quarantine by hand")
    original = describe_object(ctx, bucket, key)
    if original["size"] > COPY_LIMIT:
        raise InputError(f"s3://{bucket}/{key} is larger than 5 GiB; copy it with `aws s3 cp` and quarantine by hand")
    encryption = {"ServerSideEncryption": original["encryption"]} if original["encryption"] else {}
    if original["kms_key"]:
        encryption |= {"SSEKMSKeyId": original["kms_key"], "BucketKeyEnabled": bool(original["bucket_key"])}
    # Keep the classification tags (access rules may depend on them) and add the quarantine tag.
    new_tags = {**original["tags"], QUARANTINE_TAG: "true"}

    def apply() -> None:
        s3.copy_object(Bucket=bucket, Key=destination, CopySource={"Bucket": bucket, "Key": key, "VersionId": original["version"]},
                       MetadataDirective="COPY", TaggingDirective="REPLACE", Tagging=urlencode(new_tags), **encryption)
        s3.delete_object(Bucket=bucket, Key=key)

    def observe() -> dict[str, Any]:
        return {"original_versions_kept": [v for k, v in versions(ctx, bucket, key) if k == key],
                "quarantined": describe_object(ctx, bucket, destination)}

    changes = [
        f"copy s3://{bucket}/{key} version {original['version']} to s3://{bucket}/{destination} tagged {QUARANTINE_TAG}=true, "
        f"encryption {original['encryption'] or 'bucket default'}{' with ' + original['kms_key'] if original['kms_key'] else ''}",
        f"delete the current version of s3://{bucket}/{key} (a delete marker; version {original['version']} is kept)",
    ]
    return Plan(target=f"s3://{bucket}/{key}", before=original, changes=changes, apply=apply, observe=observe)
