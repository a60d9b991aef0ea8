"""`verify-trail`: is the audit trail still trustworthy evidence?

A trail that stopped logging, lost log file validation, covers one region only, is not encrypted with the
audit-logs key, or no longer delivers digest files cannot prove what happened during an incident, and each of
those is something an intruder would do first. This is the quick check; `aws cloudtrail validate-logs` then
proves the delivered files were not altered.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from caseshield.respond.core import Check, Context, add_action, missing

DIGEST_HOURS = 2  # CloudTrail delivers a digest file about every hour; allow one missed delivery.


def register(actions: Any) -> None:
    parser = add_action(actions, "verify-trail", verify_trail,
                        "check a trail is logging, validated, multi-region, KMS-encrypted and delivering digests; exit 1 on failure",
                        [("name", "trail name or ARN")], changes=False)
    parser.add_argument("--max-digest-age-hours", type=float, default=DIGEST_HOURS,
                        help=f"newest digest may be at most this old (default {DIGEST_HOURS})")


def digest_prefix(trail: dict[str, Any]) -> str:
    """Where the home region's digests land: [prefix/]AWSLogs/<account>/CloudTrail-Digest/<region>/ (the trail ARN
    names both the home region and the account)."""
    _, _, _, region, account, _ = trail["TrailARN"].split(":", 5)
    base = f"{trail['S3KeyPrefix'].rstrip('/')}/" if trail.get("S3KeyPrefix") else ""
    return f"{base}AWSLogs/{account}/CloudTrail-Digest/{region}/"


def newest_digest(ctx: Context, trail: dict[str, Any], status: dict[str, Any]) -> tuple[datetime | None, str]:
    """Latest digest delivery: from the trail status when CloudTrail reports it, else from the newest digest
    object of today or yesterday (UTC) in the trail bucket."""
    if status.get("LatestDigestDeliveryError"):
        return None, f"digest delivery error: {status['LatestDigestDeliveryError']}"
    if status.get("LatestDigestDeliveryTime"):
        return status["LatestDigestDeliveryTime"], "trail status"
    s3, prefix, newest = ctx.client("s3"), digest_prefix(trail), None
    for day in (ctx.now, ctx.now - timedelta(days=1)):
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=trail["S3BucketName"], Prefix=f"{prefix}{day:%Y/%m/%d}/")
            times = [o["LastModified"] for page in pages for o in page.get("Contents", [])]
        except ClientError as error:
            return None, f"cannot list s3://{trail['S3BucketName']}/{prefix}: {error}"
        newest = max([t for t in (newest, *times) if t is not None], default=None)
    return newest, f"s3://{trail['S3BucketName']}/{prefix}"


def verify_trail(ctx: Context, args: argparse.Namespace) -> Check:
    cloudtrail = ctx.client("cloudtrail")
    with missing("trail", args.name, "TrailNotFoundException", "InvalidTrailNameException"):
        trail = cloudtrail.get_trail(Name=args.name)["Trail"]
        status = cloudtrail.get_trail_status(Name=trail["TrailARN"])
    delivered, source = newest_digest(ctx, trail, status)
    age = (ctx.now - delivered).total_seconds() / 3600 if delivered else None
    checks = {
        "logging": bool(status.get("IsLogging")),
        "log file validation": bool(trail.get("LogFileValidationEnabled")),
        "multi-region": bool(trail.get("IsMultiRegionTrail")),
        "KMS encryption": bool(trail.get("KmsKeyId")),
        f"digest within {args.max_digest_age_hours} h": age is not None and age <= args.max_digest_age_hours,
    }
    findings = [f"{trail['Name']}: {name} failed" for name, ok in checks.items() if not ok]
    lines = [f"Trail {trail['Name']} ({trail['TrailARN']})"]
    lines += [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in checks.items()]
    lines.append(f"  latest digest: {delivered or 'none found'} ({source})")
    observed = {"checks": checks, "kms_key": trail.get("KmsKeyId"), "bucket": trail.get("S3BucketName"),
                "latest_digest": delivered, "digest_source": source}
    return Check(target=trail["Name"], observed=observed, findings=findings, text="\n".join(lines))
