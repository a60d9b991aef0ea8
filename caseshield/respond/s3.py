"""`legal-hold` and `quarantine-object`: preserve or fence off case documents in S3 without destroying any version.

Legal holds go on every stored version under the prefix, not only the current one: earlier drafts are often
the evidence that matters, and a hold also stops the noncurrent-version lifecycle rule from expiring them.
Quarantine copies the object aside, verifies the copy, and only then leaves a delete marker, so the original bytes
stay as a prior version. An empty prefix (the whole bucket) is refused unless --whole-bucket says it is meant.
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
SOURCE_TAG = "caseshield:quarantine-source"  # on the copy: the version id it was made from (the idempotency key)


def register(actions: Any) -> None:
    add_action(actions, "legal-hold", legal_hold, "set or release an S3 Object Lock legal hold on every object version under a prefix",
               [("mode", "set = hold ON, release = hold OFF", *HOLD), ("bucket", "bucket name"),
                ("prefix", "key prefix of the matter, e.g. matters/2024-0117/ (an empty prefix needs --whole-bucket)")]
               ).add_argument("--whole-bucket", action="store_true", help="allow an empty prefix: every object version in the bucket")
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
    if not args.prefix and not args.whole_bucket:
        raise InputError(f"an empty prefix means every object in {args.bucket}; pass --whole-bucket if that is really meant")
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
        """One version at a time; a failure part-way leaves the rest pending, and the rerun (the resume command)
        only touches versions not yet in the wanted state."""
        for key, version in pending:
            s3.put_object_legal_hold(Bucket=args.bucket, Key=key, VersionId=version, LegalHold={"Status": status})

    def verify(after: dict[str, str]) -> list[str]:
        wrong = [name for name, held in after.items() if held != status]
        shown = ", ".join(wrong[:5]) + (" ..." if len(wrong) > 5 else "")
        return [f"{len(wrong)} of {len(after)} version(s) not {status}: {shown}"] if wrong else []

    changes = [f"legal hold {status} on s3://{args.bucket}/{key} version {version}" for key, version in pending]
    return Plan(target=f"s3://{args.bucket}/{args.prefix}", before=before, changes=changes, apply=apply,
                observe=lambda: holds(ctx, args.bucket, found), verify=verify)


def tags(ctx: Context, bucket: str, key: str, version: str | None = None) -> dict[str, str]:
    extra = {"VersionId": version} if version else {}
    return {t["Key"]: t["Value"] for t in ctx.client("s3").get_object_tagging(Bucket=bucket, Key=key, **extra)["TagSet"]}


def describe_object(ctx: Context, bucket: str, key: str) -> dict[str, Any]:
    with missing("object", f"s3://{bucket}/{key}", "404", "NoSuchKey"):
        head = ctx.client("s3").head_object(Bucket=bucket, Key=key)
    return {"version": head.get("VersionId"), "size": head["ContentLength"], "etag": head.get("ETag"),
            "encryption": head.get("ServerSideEncryption"), "kms_key": head.get("SSEKMSKeyId"),
            "bucket_key": head.get("BucketKeyEnabled", False), "tags": tags(ctx, bucket, key, head.get("VersionId"))}


def current(ctx: Context, bucket: str, key: str) -> dict[str, Any] | None:
    """The object's current version, or None when there is none (never written, or a delete marker on top)."""
    try:
        return describe_object(ctx, bucket, key)
    except InputError:
        return None


def copy_problems(original: dict[str, Any], copy: dict[str, Any] | None) -> list[str]:
    """Why `copy` is not a faithful quarantine copy of `original` (empty: it is). Size, source version (the
    idempotency key), encryption and tags are compared; ETags are not, as SSE-KMS and multipart ETags differ between
    an object and its copy."""
    if copy is None:
        return ["no quarantine copy"]
    expected = {"size": original["size"], "encryption": original["encryption"], "kms_key": original["kms_key"],
                "tags": {**original["tags"], QUARANTINE_TAG: "true", SOURCE_TAG: original["version"]}}
    return [f"copy {name} is {copy[name]!r}, expected {value!r}" for name, value in expected.items() if copy[name] != value]


def quarantine_object(ctx: Context, args: argparse.Namespace) -> Plan:
    """Copy, verify the copy, then delete (a delete marker): the original version stays until the copy is proven,
    and the copy carries the source version id as its idempotency key, so a rerun after a failure reuses the copy
    instead of making a second one."""
    s3, bucket, key = ctx.client("s3"), args.bucket, args.key
    destination = QUARANTINE_PREFIX + key
    check_bucket(ctx, bucket)
    if key.startswith(QUARANTINE_PREFIX):
        raise InputError(f"s3://{bucket}/{key} is already under {QUARANTINE_PREFIX}")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise InputError(f"bucket {bucket} is not versioned: deleting the original would destroy it; quarantine by hand")
    original, quarantined = current(ctx, bucket, key), current(ctx, bucket, destination)

    def observe() -> dict[str, Any]:
        now = current(ctx, bucket, key)
        return {"current_version": now and now["version"], "original_versions_kept": [v for k, v in versions(ctx, bucket, key) if k == key],
                "quarantined": current(ctx, bucket, destination)}

    if original is None:
        if quarantined is None or SOURCE_TAG not in quarantined["tags"]:
            raise not_found("object", f"s3://{bucket}/{key}")
        source = quarantined["tags"][SOURCE_TAG]  # a finished earlier run: nothing left to do
        return Plan(target=f"s3://{bucket}/{key}", before=observe(), changes=[], apply=lambda: None, observe=observe,
                    verify=lambda after: [] if source in after["original_versions_kept"] else [f"version {source} is gone"])
    if original["size"] > COPY_LIMIT:
        raise InputError(f"s3://{bucket}/{key} is larger than 5 GiB; copy it with `aws s3 cp` and quarantine by hand")
    encryption = {"ServerSideEncryption": original["encryption"]} if original["encryption"] else {}
    if original["kms_key"]:
        encryption |= {"SSEKMSKeyId": original["kms_key"], "BucketKeyEnabled": bool(original["bucket_key"])}
    # Keep the classification tags (access rules may depend on them), add the quarantine tag and the idempotency key.
    new_tags = {**original["tags"], QUARANTINE_TAG: "true", SOURCE_TAG: original["version"]}
    copied = not copy_problems(original, quarantined)
    made: dict[str, str | None] = {}

    def apply() -> None:
        if not copied:
            response = s3.copy_object(
                Bucket=bucket, Key=destination, CopySource={"Bucket": bucket, "Key": key, "VersionId": original["version"]},
                MetadataDirective="COPY", TaggingDirective="REPLACE", Tagging=urlencode(new_tags), **encryption)
            made["copy"] = response.get("VersionId")
        problems = copy_problems(original, current(ctx, bucket, destination))
        if problems:
            raise CopyNotVerified("; ".join(problems))
        made["verified"] = "yes"
        still = current(ctx, bucket, key)
        if still is None or still["version"] != original["version"]:
            raise CopyNotVerified(f"s3://{bucket}/{key} changed while quarantining (now {still and still['version']}); rerun")
        s3.delete_object(Bucket=bucket, Key=key)

    def rollback() -> str | None:
        """An unverified copy made by this run is removed (the original was never touched). A verified copy stays:
        the rerun reuses it and only deletes."""
        if made.get("verified") or not made.get("copy"):
            return None if made.get("verified") else "nothing had changed"
        s3.delete_object(Bucket=bucket, Key=destination, VersionId=made["copy"])
        return f"removed the unverified copy s3://{bucket}/{destination} version {made['copy']}"

    def verify(after: dict[str, Any]) -> list[str]:
        return [
            *([f"s3://{bucket}/{key} still has a current version"] if after["current_version"] else []),
            *([] if original["version"] in after["original_versions_kept"] else [f"version {original['version']} is gone"]),
            *copy_problems(original, after["quarantined"]),
        ]

    changes = [
        *([] if copied else [
            f"copy s3://{bucket}/{key} version {original['version']} to s3://{bucket}/{destination} tagged {QUARANTINE_TAG}=true "
            f"and {SOURCE_TAG}={original['version']}, encryption {original['encryption'] or 'bucket default'}"
            f"{' with ' + original['kms_key'] if original['kms_key'] else ''}"]),
        "verify the copy (size, encryption, tags, source version) before touching the original",
        f"delete the current version of s3://{bucket}/{key} (a delete marker; version {original['version']} is kept)",
    ]
    return Plan(target=f"s3://{bucket}/{key}", before={**original, "quarantine_copy": quarantined}, changes=changes, apply=apply,
                observe=observe, verify=verify, rollback=rollback)


class CopyNotVerified(Exception):
    """The quarantine copy is not (or no longer) a faithful copy of the original: the original is not deleted."""
