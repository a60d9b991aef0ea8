"""Helpers shared by the `caseshield respond` tests: a mocked AWS account and a way to run one action."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from caseshield.respond import add_respond_parser, run

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"
IMAGE = "ami-0123456789abcdef0"  # any id: moto validates image ids only when asked to


def mocked_aws(monkeypatch: pytest.MonkeyPatch, managed_policies: bool = False) -> Iterator[None]:
    """Fake credentials and region (so nothing can reach a real account), then moto for the whole test."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # AWS-managed policies (SecurityAudit, AdministratorAccess, ...) cost a second to load; only the review needs them.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if managed_policies else "false")
    # Moto's catalogue of public AMIs costs seconds per test; it does not validate image ids without it.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def action_log(where: Path) -> Path:
    return where / "reports" / "actions.jsonl"


def respond(where: Path, *argv: str) -> int:
    """Run `caseshield respond ARGV` with its action log under the directory `where` (a test's tmp_path)."""
    parser = argparse.ArgumentParser(prog="caseshield")
    add_respond_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["respond", *argv, "--log", str(action_log(where))]))


def last_log(where: Path, lines: int = 1) -> dict[str, Any]:
    """The newest action-log record, after checking the log holds exactly `lines` records."""
    records = [json.loads(line) for line in action_log(where).read_text().splitlines()]
    assert len(records) == lines, f"expected {lines} log line(s), found {len(records)}"
    return records[-1]
