"""`caseshield audit` when the account is not what the stack expects: resources found exactly from a stack export,
and a resource deleted from the account, each an `error` of the checks that read it (never a pass) and exit 1.

dev is deployed into moto once for the module; the tests change that account, so they run in file order: the decoy
bucket and the decoy launch template (removed again), the load balancer the account lacks, then the deleted table,
then the deleted bucket. The last test audits with moto enforcing IAM on the same (by then changed) account, to show a
permission missing from the audit policy as AccessDenied errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from caseshield import cli
from caseshield.audit import cli as audit_cli
from caseshield.audit import load_all
from caseshield.audit.account import Account
from caseshield.audit.runner import audit_stack
from tests.conftest import graph_of
from tests.moto_deploy import Deployed, deployed
from tests.test_plans import stack_export

BUCKET = "aws:s3/bucket:Bucket"


@pytest.fixture(scope="module")
def dev() -> Iterator[Deployed]:
    with deployed(graph_of("dev")) as found:
        yield found


@pytest.fixture(scope="module")
def export(dev: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pulumi stack export` of the deployed dev, in the engine's shape, built from the recorded graph."""
    path = tmp_path_factory.mktemp("export") / "dev.json"
    document = stack_export(graph_of("dev"))
    # AWS, not Pulumi, names the load balancer's ARN and the launch template's id: the real export records what AWS
    # returned, here what moto returned when the graph was deployed.
    for resource in document["deployment"]["resources"]:
        if resource["type"] in (audit_cli.LOAD_BALANCER, audit_cli.LAUNCH_TEMPLATE):
            real = dev.deployment.real[resource["urn"]]
            resource["id"] = real["id"]
            resource["outputs"] = {**resource["outputs"], **real}
    path.write_text(json.dumps(document))
    return path


def audit(dev: Deployed, out: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> tuple[int, dict[str, str], dict[str, str]]:
    """Run the CLI against the moto account; the exit code, each check's status and each check's messages."""
    monkeypatch.setattr(audit_cli, "SESSION_FACTORY", lambda profile, region: dev.session)
    code = cli.main(["audit", *options, "--format", "json", "--out", str(out), "--no-progress"])
    (stack,) = json.loads((out / "caseshield-audit.json").read_text())["stacks"]
    return (code, {c["check"]: c["status"] for c in stack["checks"]},
            {c["check"]: " ".join(c["messages"]) for c in stack["checks"]})


def reading(prefix: str) -> set[str]:
    """The checks that call any action of a service (e.g. `dynamodb:`)."""
    return {c.id for c in load_all().values() if any(a.startswith(prefix) for a in c.actions)}


def asking(dev: Deployed, service: str) -> set[str]:
    """The checks that send `service` a request on dev (one at a time, on a fresh account view)."""
    sent: list[str] = []
    session = boto3.session.Session(region_name=dev.session.region_name)
    dev.gaps.install(session)
    session.events.register_first(f"before-send.{service}", lambda request, **_: sent.append(request.url))
    found = set()
    for check in load_all().values():
        sent.clear()
        audit_stack(Account("dev", session), [check], progress=False)
        if sent:
            found.add(check.id)
    return found


def test_the_stack_export_names_the_buckets_exactly(dev: Deployed, export: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A second bucket named and tagged like the documents bucket makes discovery by tag ambiguous (an error, not a
    guess); with the stack export the audit reads exactly the buckets the stack created, and passes."""
    s3 = dev.session.client("s3")
    decoy = "caseshield-documents-bucket-decoy"
    s3.create_bucket(Bucket=decoy)
    s3.put_bucket_tagging(Bucket=decoy, Tagging={"TagSet": [{"Key": "stack", "Value": "dev"}]})
    try:
        code, by_tag, messages = audit(dev, tmp_path / "tags", monkeypatch, "--stack", "dev")
        assert code == 1
        ambiguous = {c for c, m in messages.items() if "expected one bucket caseshield-documents-bucket-*" in m}
        assert ambiguous and {by_tag[c] for c in ambiguous} == {"error"}
        code, exact, _ = audit(dev, tmp_path / "export", monkeypatch, "--stack-export", str(export))
        assert code == 0 and set(exact.values()) == {"pass"} and set(exact) == set(load_all())
    finally:
        s3.delete_bucket_tagging(Bucket=decoy)
        s3.delete_bucket(Bucket=decoy)


def test_the_stack_export_names_the_launch_template_exactly(dev: Deployed, export: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A second launch template tagged stack=dev, one that would pass nothing (IMDSv1, unencrypted volumes): found by
    tag it is ambiguous, an error; with the stack export the audit reads the stack's own template, and passes."""
    ec2 = dev.session.client("ec2")
    decoy = ec2.create_launch_template(
        LaunchTemplateName="caseshield-decoy", LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "stack", "Value": "dev"}]}],
    )["LaunchTemplate"]["LaunchTemplateId"]
    try:
        code, by_tag, messages = audit(dev, tmp_path / "tags", monkeypatch, "--stack", "dev")
        assert code == 1
        ambiguous = {c for c, m in messages.items() if "expected one launch template tagged stack=dev, found 2" in m}
        assert ambiguous and {by_tag[c] for c in ambiguous} == {"error"}
        code, exact, _ = audit(dev, tmp_path / "export", monkeypatch, "--stack-export", str(export))
        assert code == 0 and set(exact.values()) == {"pass"}
    finally:
        ec2.delete_launch_template(LaunchTemplateId=decoy)


def test_a_load_balancer_the_export_names_but_the_account_lacks_is_an_error(
        dev: Deployed, export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(export.read_text())
    for resource in document["deployment"]["resources"]:
        if resource["type"] == audit_cli.LOAD_BALANCER:
            resource["outputs"]["arn"] = resource["outputs"]["arn"].rsplit("/", 1)[0] + "/gone/0123456789abcdef"
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(document))
    code, found, messages = audit(dev, tmp_path / "out", monkeypatch, "--stack-export", str(elsewhere))
    readers = {c for c, m in messages.items() if "LoadBalancerNotFound" in m}
    assert code == 1 and readers and {found[c] for c in readers} == {"error"}
    assert "fail" not in found.values()


def test_a_stack_export_of_another_stack_is_refused(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["audit", "--stack", "prod", "--stack-export", str(export), "--out", "/nonexistent/never"]) == 2
    assert "--stack-export" in capsys.readouterr().err


def test_a_deleted_table_is_an_error_of_every_check_that_reads_it(dev: Deployed, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    dev.session.client("dynamodb").delete_table(TableName="cs-dev-privacy-ledger")
    code, found, messages = audit(dev, tmp_path, monkeypatch, "--stack", "dev")
    assert code == 1
    readers = asking(dev, "dynamodb")
    assert len(readers) >= 3 and readers <= reading("dynamodb:")
    assert {found[c] for c in readers} == {"error"}
    assert all("ResourceNotFoundException" in messages[c] for c in readers)
    assert {s for c, s in found.items() if c not in readers} <= {"pass", "error"}  # never a fail or a pass it did not see


def test_a_bucket_the_export_lists_but_the_account_lost_is_an_error(dev: Deployed, export: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = dev.session.client("s3")
    (logs,) = [r.id for r in graph_of("dev").of_type(BUCKET) if r.name == "access-logs-bucket" or
               str(r.id).startswith("caseshield-access-logs-bucket-")]
    assert logs
    s3.delete_bucket_policy(Bucket=logs)  # it denies deleting log objects, as it should
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=logs):
        for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=logs, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=logs)
    code, found, messages = audit(dev, tmp_path, monkeypatch, "--stack-export", str(export))
    assert code == 1
    lost = {c for c, m in messages.items() if logs in m or "NoSuchBucket" in m}
    assert lost and {found[c] for c in lost} == {"error"}
    assert "pass" not in {found[c] for c in lost}


def test_an_unknown_profile_is_a_clear_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    config.write_text("[profile someone-else]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert cli.main(["audit", "--stack", "dev", "--profile", "caseshield-dev-auditor", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--profile caseshield-dev-auditor: no such profile" in err and "Fix:" in err and "Traceback" not in err


def test_moto_enforcing_iam_turns_a_missing_permission_into_access_denied_errors(dev: Deployed) -> None:
    """moto evaluates IAM here (not an injected answer): a principal holding `--print-policy` is audited, then the
    same principal without kms:GetKeyRotationStatus. Exactly the checks that call it go from pass to an error naming
    AccessDenied and the action; every other check keeps its result. (moto names some actions differently from IAM,
    e.g. CloudWatch as `monitoring:`, so the baseline is compared with, not assumed to be all pass.)"""
    from moto.core.authorization import enable_iam_authentication

    from caseshield.audit.policy import audit_policy

    dropped = "kms:GetKeyRotationStatus"
    iam = dev.session.client("iam")
    iam.create_user(UserName="auditor")
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    session = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                                    region_name=dev.session.region_name)
    dev.gaps.install(session)

    def audited(policy: dict) -> dict[str, tuple[str, str]]:
        iam.put_user_policy(UserName="auditor", PolicyName="live-audit", PolicyDocument=json.dumps(policy))
        with enable_iam_authentication():
            results = audit_stack(Account("dev", session), progress=False).results
        return {r.check: (r.status, " ".join(r.messages)) for r in results}

    full = audit_policy()
    before = audited(full)
    (statement,) = full["Statement"]
    after = audited({**full, "Statement": [{**statement, "Action": [a for a in statement["Action"] if a != dropped]}]})
    callers = {c.id for c in load_all().values() if dropped in c.actions}
    assert callers and {before[c][0] for c in callers} == {"pass"}
    changed = {c for c in before if before[c][0] != after[c][0]}
    assert changed == callers
    assert all(after[c][0] == "error" and "AccessDenied" in after[c][1] and dropped in after[c][1] for c in callers)
