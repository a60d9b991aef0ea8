"""Helpers shared by the `caseshield respond` tests: a mocked AWS account and a way to run one action."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from caseshield.respond import add_respond_parser, run
from caseshield.respond.core import Context

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"
IMAGE = "ami-0123456789abcdef0"  # any id: moto validates image ids only when asked to


def mocked_aws(monkeypatch: pytest.MonkeyPatch, managed_policies: bool = False) -> Iterator[None]:
    """Fake credentials and region (so nothing can reach a real account), then moto for the whole test. The
    environment is set through a MonkeyPatch of its own, so a test's `monkeypatch.undo()` (removing an injected
    fault) keeps it."""
    del monkeypatch  # kept in the signature for the callers; see the docstring
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        # AWS-managed policies (SecurityAudit, AdministratorAccess, ...) cost a second to load; only the review needs them.
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if managed_policies else "false")
        # Moto's catalogue of public AMIs costs seconds per test; it does not validate image ids without it.
        env.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
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


def log_records(where: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in action_log(where).read_text().splitlines()]


def last_log(where: Path, lines: int = 1) -> dict[str, Any]:
    """The newest invocation's closing record, after checking the log holds exactly `lines` invocations, each a
    `started` record followed by its closing record (same run id)."""
    records = log_records(where)
    assert len(records) == 2 * lines, f"expected {lines} invocation(s) (two records each), found {len(records)} records"
    for started, closing in zip(records[::2], records[1::2], strict=True):
        assert started["event"] == "started" and closing["event"] in ("finished", "failed", "interrupted")
        assert started["run_id"] == closing["run_id"]
    return records[-1]


def inject_fault(monkeypatch: pytest.MonkeyPatch, service: str, method: str, fault: BaseException | None, nth: int = 1,
                 when: Callable[[dict[str, Any]], bool] = lambda _: True,
                 instead: Callable[..., Any] | None = None) -> dict[str, int]:
    """Make the `nth` call of `service.method` (among calls whose keyword arguments satisfy `when`) raise `fault`,
    or run `instead(real_method, **kwargs)` when `fault` is None. Returns the call counter."""
    real_client = Context.client
    calls = {"n": 0}

    def faulty_client(self: Context, name: str) -> Any:
        made = real_client(self, name)
        if name == service and not getattr(made, "_caseshield_fault", False):
            real = getattr(made, method)

            def faulty(**kwargs: Any) -> Any:
                if when(kwargs):
                    calls["n"] += 1
                    if calls["n"] == nth:
                        if fault is not None:
                            raise fault
                        assert instead is not None
                        return instead(real, **kwargs)
                return real(**kwargs)

            monkeypatch.setattr(made, method, faulty)
            made._caseshield_fault = True
        return made

    monkeypatch.setattr(Context, "client", faulty_client)
    return calls


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "denied by an SCP"}}, operation)
