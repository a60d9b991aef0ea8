"""`caseshield respond verify-trail` against moto: a logging, validated, multi-region, encrypted trail that
delivers digests passes; each weakening an intruder would try fails with the check named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.respond_support import ACCOUNT, REGION, client, last_log, mocked_aws, respond

AUDIT_BUCKET = "cs-prod-audit-archive"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from mocked_aws(monkeypatch)



def make_trail(name: str, validation: bool = True, digest: bool = True) -> None:
    s3, cloudtrail = client("s3"), client("cloudtrail")
    if AUDIT_BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=AUDIT_BUCKET)
    key = client("kms").create_key(Description="audit-logs")["KeyMetadata"]["Arn"]
    cloudtrail.create_trail(Name=name, S3BucketName=AUDIT_BUCKET, S3KeyPrefix=name, IsMultiRegionTrail=True,
                            EnableLogFileValidation=validation, KmsKeyId=key)
    cloudtrail.start_logging(Name=name)
    if digest:
        now = datetime.now(UTC)
        s3.put_object(Bucket=AUDIT_BUCKET, Body=b"{}", Key=f"{name}/AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{now:%Y/%m/%d}/"
                      f"{ACCOUNT}_CloudTrail-Digest_{REGION}_{name}_{REGION}_{now:%Y%m%dT%H%M%SZ}.json.gz")


def test_verify_trail_passes_on_a_good_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_trail("cs-prod-audit")

    assert respond(tmp_path, "verify-trail", "cs-prod-audit") == 0

    assert "FAIL" not in capsys.readouterr().out
    record = last_log(tmp_path)
    assert record["result"] == "pass" and all(record["before"]["checks"].values()) and record["before"]["latest_digest"]


@pytest.mark.parametrize(("validation", "digest", "failed"), [
    (False, True, "log file validation"),
    (True, False, "digest within 2 h"),
])
def test_verify_trail_fails_on_a_weakened_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str], validation: bool, digest: bool,
                                                failed: str) -> None:
    make_trail("cs-prod-audit", validation=validation, digest=digest)

    assert respond(tmp_path, "verify-trail", "cs-prod-audit") == 1

    assert f"FAIL  {failed}" in capsys.readouterr().out
    assert last_log(tmp_path)["findings"] == [f"cs-prod-audit: {failed} failed"]


def test_verify_trail_fails_when_logging_stopped(tmp_path: Path) -> None:
    make_trail("cs-prod-audit")
    client("cloudtrail").stop_logging(Name="cs-prod-audit")

    assert respond(tmp_path, "verify-trail", "cs-prod-audit") == 1

    assert last_log(tmp_path)["findings"] == ["cs-prod-audit: logging failed"]


def test_verify_trail_unknown_trail_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert respond(tmp_path, "verify-trail", "cs-prod-nothing") == 2

    assert capsys.readouterr().err.strip() == "caseshield respond verify-trail: trail cs-prod-nothing not found"
    record = last_log(tmp_path)
    assert record["result"] == "error: trail cs-prod-nothing not found" and record["read_only"] is True and record["dry_run"] is False
