"""Containment actions of `caseshield respond` against moto: a dry run changes nothing and says so in the log,
`--execute` changes exactly what the action promises, and bad input changes nothing and exits 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from caseshield.respond.core import INCIDENT_TAG, QUARANTINE_TAG, Context
from caseshield.respond.ec2 import QUARANTINE_GROUP
from caseshield.respond.iam import REVOKE_POLICY
from caseshield.respond.s3 import SOURCE_TAG
from tests.respond_support import CALLER, IMAGE, REGION, client, last_log, mocked_aws, respond


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from mocked_aws(monkeypatch)


# --- isolate-instance ---------------------------------------------------------------------------------------------

@pytest.fixture
def network() -> dict[str, str]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.16.0/20", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    app = ec2.create_security_group(GroupName="app", Description="app tier", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{"CidrIp": "10.40.0.0/24"}]}])
    return {"vpc": vpc, "subnet": subnet, "app_group": app, "image": IMAGE}


def launch(network: dict[str, str]) -> str:
    return str(client("ec2").run_instances(ImageId=network["image"], MinCount=1, MaxCount=1, SubnetId=network["subnet"],
                                           SecurityGroupIds=[network["app_group"]])["Instances"][0]["InstanceId"])


@pytest.fixture
def target_group(network: dict[str, str]) -> str:
    return str(client("elbv2").create_target_group(Name="cs-app", Protocol="HTTPS", Port=8443, VpcId=network["vpc"],
                                                   TargetType="instance")["TargetGroups"][0]["TargetGroupArn"])


def targets(group_arn: str) -> set[str]:
    return {t["Target"]["Id"] for t in client("elbv2").describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]}


def instance(instance_id: str) -> dict[str, Any]:
    return client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def evidence_snapshots() -> list[dict[str, Any]]:
    return client("ec2").describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag-key", "Values": [INCIDENT_TAG]}])["Snapshots"]


def ec2_state(instance_id: str, group_arn: str) -> dict[str, Any]:
    described = instance(instance_id)
    return {
        "groups": sorted(g["GroupId"] for g in described["SecurityGroups"]),
        "tags": described.get("Tags", []),
        "all_groups": sorted(g["GroupName"] for g in client("ec2").describe_security_groups()["SecurityGroups"]),
        "snapshots": evidence_snapshots(),
        "targets": targets(group_arn),
        "protected": client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination")[
            "DisableApiTermination"]["Value"],
    }


def test_isolate_dry_run_changes_nothing_and_logs_the_plan(network: dict[str, str], target_group: str, tmp_path: Path) -> None:
    instance_id = launch(network)
    client("elbv2").register_targets(TargetGroupArn=target_group, Targets=[{"Id": instance_id, "Port": 8443}])
    before = ec2_state(instance_id, target_group)

    assert respond(tmp_path, "isolate-instance", instance_id) == 0

    assert ec2_state(instance_id, target_group) == before
    record = last_log(tmp_path)
    assert set(record) == {"event", "run_id", "who", "when", "action", "target", "dry_run", "read_only", "before", "planned", "after",
                           "findings", "problems", "result", "resume"}
    assert record["dry_run"] is True and record["after"] is None
    assert record["action"] == "isolate-instance" and record["target"] == instance_id and record["who"] == CALLER
    assert any("deregister" in change and target_group in change for change in record["planned"])
    assert record["before"]["security_groups"] and record["result"].startswith("planned")


def test_isolate_execute_quarantines_snapshots_tags_and_deregisters(network: dict[str, str], target_group: str, tmp_path: Path) -> None:
    suspect, bystander = launch(network), launch(network)
    client("elbv2").register_targets(TargetGroupArn=target_group, Targets=[{"Id": suspect, "Port": 8443}, {"Id": bystander, "Port": 8443}])
    volumes = {m["Ebs"]["VolumeId"] for m in instance(suspect)["BlockDeviceMappings"]}

    assert respond(tmp_path, "isolate-instance", suspect, "--incident", "INC-42", "--execute") == 0

    record = last_log(tmp_path)
    quarantine = client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [QUARANTINE_GROUP]}])["SecurityGroups"]
    assert len(quarantine) == 1 and quarantine[0]["VpcId"] == network["vpc"]
    assert quarantine[0]["IpPermissions"] == [] and quarantine[0]["IpPermissionsEgress"] == []
    assert [g["GroupId"] for g in instance(suspect)["SecurityGroups"]] == [quarantine[0]["GroupId"]]
    tags = {t["Key"]: t["Value"] for t in instance(suspect)["Tags"]}
    assert tags[QUARANTINE_TAG] == record["when"] and tags[INCIDENT_TAG] == "INC-42"
    snapshots = evidence_snapshots()
    assert {s["VolumeId"] for s in snapshots} == volumes
    assert all({"Key": INCIDENT_TAG, "Value": "INC-42"} in s["Tags"] for s in snapshots)
    assert targets(target_group) == {bystander}
    assert [g["GroupId"] for g in instance(bystander)["SecurityGroups"]] == [network["app_group"]]
    assert client("ec2").describe_instance_attribute(InstanceId=suspect, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"] is True
    assert record["dry_run"] is False and record["result"] == "done"
    assert record["after"]["quarantine_group"] == quarantine[0]["GroupId"] and record["after"]["target_groups"] == []


def test_isolate_reuses_the_quarantine_group_and_strips_its_rules(network: dict[str, str], tmp_path: Path) -> None:
    ec2 = client("ec2")
    existing = ec2.create_security_group(GroupName=QUARANTINE_GROUP, Description="q", VpcId=network["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=existing, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    suspect = launch(network)

    assert respond(tmp_path, "isolate-instance", suspect, "--execute") == 0

    group = ec2.describe_security_groups(GroupIds=[existing])["SecurityGroups"][0]
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    assert [g["GroupId"] for g in instance(suspect)["SecurityGroups"]] == [existing]
    assert len(ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [QUARANTINE_GROUP]}])["SecurityGroups"]) == 1


def test_isolate_detaches_from_auto_scaling_so_the_group_cannot_terminate_it(network: dict[str, str], tmp_path: Path) -> None:
    client("ec2").create_launch_template(LaunchTemplateName="cs-app", LaunchTemplateData={"ImageId": network["image"]})
    autoscaling = client("autoscaling")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="cs-app", LaunchTemplate={"LaunchTemplateName": "cs-app"},
                                          MinSize=1, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=network["subnet"])
    suspect = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]

    assert respond(tmp_path, "isolate-instance", suspect, "--execute") == 0

    assert autoscaling.describe_auto_scaling_instances(InstanceIds=[suspect])["AutoScalingInstances"] == []
    assert instance(suspect)["State"]["Name"] == "running"
    assert last_log(tmp_path)["before"]["auto_scaling_group"] == "cs-app"


def test_isolate_unknown_instance_is_refused(network: dict[str, str], target_group: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    instance_id = launch(network)
    before = ec2_state(instance_id, target_group)

    assert respond(tmp_path, "isolate-instance", "i-0123456789abcdef0", "--execute") == 2

    assert capsys.readouterr().err.strip() == "caseshield respond isolate-instance: instance i-0123456789abcdef0 not found"
    assert ec2_state(instance_id, target_group) == before
    record = last_log(tmp_path)
    assert record["target"] == "i-0123456789abcdef0" and record["result"].startswith("error: instance")


# --- revoke-role-sessions -----------------------------------------------------------------------------------------

@pytest.fixture
def role() -> str:
    client("iam").create_role(RoleName="cs-prod-vendor-support", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                                                "Action": "sts:AssumeRole"}]}))
    return "cs-prod-vendor-support"


def inline_policies(role: str) -> list[str]:
    return list(client("iam").list_role_policies(RoleName=role)["PolicyNames"])


def test_revoke_sessions_dry_run_changes_nothing(role: str, tmp_path: Path) -> None:
    assert respond(tmp_path, "revoke-role-sessions", role) == 0

    assert inline_policies(role) == []
    record = last_log(tmp_path)
    assert record["dry_run"] is True and record["before"] == {REVOKE_POLICY: None} and REVOKE_POLICY in record["planned"][0]


def test_revoke_sessions_execute_denies_sessions_issued_before_now(role: str, tmp_path: Path) -> None:
    assert respond(tmp_path, "revoke-role-sessions", role, "--execute") == 0

    assert inline_policies(role) == [REVOKE_POLICY]
    document = client("iam").get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY)["PolicyDocument"]
    [statement] = document["Statement"]
    record = last_log(tmp_path)
    assert statement["Effect"] == "Deny" and statement["Action"] == ["*"] and statement["Resource"] == ["*"]
    assert statement["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": record["when"]}}
    assert record["after"][REVOKE_POLICY] == document and record["dry_run"] is False


def test_revoke_sessions_unknown_role_is_refused(role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert respond(tmp_path, "revoke-role-sessions", "cs-prod-nobody", "--execute") == 2

    assert capsys.readouterr().err.strip() == "caseshield respond revoke-role-sessions: role cs-prod-nobody not found"
    assert inline_policies(role) == []
    assert last_log(tmp_path)["result"] == "error: role cs-prod-nobody not found"


# --- disable-access-key -------------------------------------------------------------------------------------------

@pytest.fixture
def keys() -> tuple[str, str]:
    iam = client("iam")
    iam.create_user(UserName="legacy-scanner")
    first, second = (iam.create_access_key(UserName="legacy-scanner")["AccessKey"]["AccessKeyId"] for _ in range(2))
    return first, second


def key_status() -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in client("iam").list_access_keys(UserName="legacy-scanner")["AccessKeyMetadata"]}


def test_disable_key_dry_run_then_execute(keys: tuple[str, str], tmp_path: Path) -> None:
    stolen, other = keys

    assert respond(tmp_path, "disable-access-key", "legacy-scanner", stolen) == 0
    assert key_status() == {stolen: "Active", other: "Active"}
    assert last_log(tmp_path)["dry_run"] is True

    assert respond(tmp_path, "disable-access-key", "legacy-scanner", stolen, "--execute") == 0
    assert key_status() == {stolen: "Inactive", other: "Active"}
    record = last_log(tmp_path, lines=2)
    assert record["before"]["status"] == "Active" and record["after"]["status"] == "Inactive" and record["dry_run"] is False


def test_a_refused_change_is_logged_with_the_state_it_left(keys: tuple[str, str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    stolen, _ = keys
    real_client = Context.client

    def refusing_client(self: Context, service: str) -> Any:
        client = real_client(self, service)
        if service == "iam":
            error = ClientError({"Error": {"Code": "AccessDenied", "Message": "denied by the boundary"}}, "UpdateAccessKey")
            monkeypatch.setattr(client, "update_access_key", lambda **_: (_ for _ in ()).throw(error))
        return client

    monkeypatch.setattr(Context, "client", refusing_client)

    assert respond(tmp_path, "disable-access-key", "legacy-scanner", stolen, "--execute") == 1

    record = last_log(tmp_path)
    assert record["result"].startswith("failed: ") and "AccessDenied" in record["result"]
    assert record["dry_run"] is False and record["after"]["status"] == "Active" and key_status()[stolen] == "Active"


@pytest.mark.parametrize(("user", "key", "message"), [
    ("nobody", "AKIAEXAMPLE000000000", "user nobody not found"),
    ("legacy-scanner", "AKIAEXAMPLE000000000", "access key AKIAEXAMPLE000000000 not found for user legacy-scanner"),
])
def test_disable_key_bad_input_is_refused(keys: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          user: str, key: str, message: str) -> None:
    assert respond(tmp_path, "disable-access-key", user, key, "--execute") == 2

    assert capsys.readouterr().err.strip() == f"caseshield respond disable-access-key: {message}"
    assert set(key_status().values()) == {"Active"}


# --- legal-hold ---------------------------------------------------------------------------------------------------

@pytest.fixture
def documents() -> dict[str, list[tuple[str, str]]]:
    """A locked case-documents bucket: two versions of one matter document, one of another, one of another matter."""
    s3 = client("s3")
    s3.create_bucket(Bucket="cs-prod-case-documents", ObjectLockEnabledForBucket=True)
    written: dict[str, list[tuple[str, str]]] = {"inside": [], "outside": []}
    for key, body, where in [("matters/2024-0117/brief.docx", b"v1", "inside"), ("matters/2024-0117/brief.docx", b"v2", "inside"),
                             ("matters/2024-0117/exhibits/a.pdf", b"a", "inside"), ("matters/2024-0118/brief.docx", b"x", "outside")]:
        written[where].append((key, s3.put_object(Bucket="cs-prod-case-documents", Key=key, Body=body)["VersionId"]))
    return written


def hold(key: str, version: str) -> str:
    result = client("s3").get_object_legal_hold(Bucket="cs-prod-case-documents", Key=key, VersionId=version)
    return str(result.get("LegalHold", {}).get("Status", "OFF"))


def test_legal_hold_dry_run_changes_nothing(documents: dict[str, list[tuple[str, str]]], tmp_path: Path) -> None:
    assert respond(tmp_path, "legal-hold", "set", "cs-prod-case-documents", "matters/2024-0117/") == 0

    assert {hold(*v) for vs in documents.values() for v in vs} == {"OFF"}
    record = last_log(tmp_path)
    assert record["dry_run"] is True and len(record["planned"]) == 3 and set(record["before"].values()) == {"OFF"}


def test_legal_hold_set_and_release_cover_every_version_under_the_prefix_only(documents: dict[str, list[tuple[str, str]]],
                                                                             tmp_path: Path) -> None:
    assert respond(tmp_path, "legal-hold", "set", "cs-prod-case-documents", "matters/2024-0117/", "--execute") == 0

    assert [hold(*v) for v in documents["inside"]] == ["ON", "ON", "ON"]
    assert [hold(*v) for v in documents["outside"]] == ["OFF"]
    assert set(last_log(tmp_path)["after"].values()) == {"ON"}

    assert respond(tmp_path, "legal-hold", "release", "cs-prod-case-documents", "matters/2024-0117/", "--execute") == 0

    assert [hold(*v) for v in documents["inside"]] == ["OFF", "OFF", "OFF"]
    assert list(last_log(tmp_path, lines=2)["before"].values()) == ["ON", "ON", "ON"]


@pytest.mark.parametrize(("bucket", "prefix", "message"), [
    ("cs-prod-nowhere", "matters/", "bucket cs-prod-nowhere not found"),
    ("cs-prod-case-documents", "matters/1999-0001/", "object versions under s3://cs-prod-case-documents/matters/1999-0001/ not found"),
    ("cs-prod-unlocked", "matters/", "bucket cs-prod-unlocked has no S3 Object Lock, so it cannot hold objects"),
])
def test_legal_hold_bad_input_is_refused(documents: dict[str, list[tuple[str, str]]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         bucket: str, prefix: str, message: str) -> None:
    client("s3").create_bucket(Bucket="cs-prod-unlocked")
    client("s3").put_object(Bucket="cs-prod-unlocked", Key="matters/x", Body=b"x")

    assert respond(tmp_path, "legal-hold", "set", bucket, prefix, "--execute") == 2

    assert capsys.readouterr().err.strip() == f"caseshield respond legal-hold: {message}"
    assert {hold(*v) for vs in documents.values() for v in vs} == {"OFF"}


# --- quarantine-object --------------------------------------------------------------------------------------------

@pytest.fixture
def suspect_object() -> dict[str, str]:
    s3, kms = client("s3"), client("kms")
    key_arn = kms.create_key(Description="case-documents")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="cs-prod-uploads")
    s3.put_bucket_versioning(Bucket="cs-prod-uploads", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="cs-prod-uploads", Key="intake/invoice.pdf", Body=b"%PDF suspicious", ServerSideEncryption="aws:kms",
                            SSEKMSKeyId=key_arn, Tagging="data-classification=case-documents")["VersionId"]
    return {"bucket": "cs-prod-uploads", "key": "intake/invoice.pdf", "version": version, "kms": key_arn}


def keys_in(bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def test_quarantine_dry_run_changes_nothing(suspect_object: dict[str, str], tmp_path: Path) -> None:
    assert respond(tmp_path, "quarantine-object", suspect_object["bucket"], suspect_object["key"]) == 0

    assert keys_in(suspect_object["bucket"]) == [suspect_object["key"]]
    record = last_log(tmp_path)
    assert record["dry_run"] is True and record["before"]["version"] == suspect_object["version"] and len(record["planned"]) == 3


def test_quarantine_execute_moves_tags_and_keeps_encryption_and_versions(suspect_object: dict[str, str], tmp_path: Path) -> None:
    s3, bucket, key = client("s3"), suspect_object["bucket"], suspect_object["key"]

    assert respond(tmp_path, "quarantine-object", bucket, key, "--execute") == 0

    assert keys_in(bucket) == [f"quarantine/{key}"]
    moved = s3.head_object(Bucket=bucket, Key=f"quarantine/{key}")
    assert moved["ServerSideEncryption"] == "aws:kms" and moved["SSEKMSKeyId"] == suspect_object["kms"]
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=f"quarantine/{key}")["TagSet"]}
    assert tags == {QUARANTINE_TAG: "true", "data-classification": "case-documents", SOURCE_TAG: suspect_object["version"]}
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)
    assert [m["IsLatest"] for m in versions["DeleteMarkers"] if m["Key"] == key] == [True]
    kept = s3.get_object(Bucket=bucket, Key=key, VersionId=suspect_object["version"])["Body"].read()
    assert kept == b"%PDF suspicious"
    assert last_log(tmp_path)["after"]["original_versions_kept"] == [suspect_object["version"]]


def test_quarantine_refuses_unknown_key_and_unversioned_bucket(suspect_object: dict[str, str], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    client("s3").create_bucket(Bucket="cs-prod-scratch")
    client("s3").put_object(Bucket="cs-prod-scratch", Key="note.txt", Body=b"n")

    assert respond(tmp_path, "quarantine-object", suspect_object["bucket"], "intake/missing.pdf", "--execute") == 2
    assert respond(tmp_path, "quarantine-object", "cs-prod-scratch", "note.txt", "--execute") == 2

    errors = capsys.readouterr().err.strip().splitlines()
    assert errors[0] == "caseshield respond quarantine-object: object s3://cs-prod-uploads/intake/missing.pdf not found"
    assert errors[1].startswith("caseshield respond quarantine-object: bucket cs-prod-scratch is not versioned")
    assert keys_in(suspect_object["bucket"]) == [suspect_object["key"]] and keys_in("cs-prod-scratch") == ["note.txt"]
    assert last_log(tmp_path, lines=2)["dry_run"] is False
