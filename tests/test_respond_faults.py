"""Partial failures of `caseshield respond --execute` on moto: an AWS refusal, a non-AWS error or Ctrl-C at the
n-th call of a step. Each leaves the protective part in place (or rolls back what is safe to undo), a `started`
and a closing log record, and an `incomplete` result with a resume command that, run again, finishes the job
without duplicating anything."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from caseshield.respond.core import INCIDENT_TAG, QUARANTINE_TAG, ActionLog
from caseshield.respond.ec2 import QUARANTINE_GROUP
from caseshield.respond.s3 import SOURCE_TAG
from tests.respond_support import IMAGE, REGION, action_log, client, denied, inject_fault, last_log, log_records, mocked_aws, respond

BUCKET = "cs-prod-case-documents"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from mocked_aws(monkeypatch)


def resume(tmp_path: Path, record: dict[str, Any]) -> int:
    """Run the logged resume command (it already names the log)."""
    words = shlex.split(record["resume"])
    assert words[:2] == ["caseshield", "respond"] and "--execute" in words
    log = words.index("--log")
    return respond(tmp_path, *words[2:log], *words[log + 2:])


# --- isolate-instance ---------------------------------------------------------------------------------------------

@pytest.fixture
def suspect() -> dict[str, str]:
    """An instance of an Auto Scaling group, registered in a target group, in an app group open to the world on 443."""
    ec2, autoscaling, elbv2 = client("ec2"), client("autoscaling"), client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.16.0/20", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    app = ec2.create_security_group(GroupName="app", Description="app tier", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.create_launch_template(LaunchTemplateName="cs-app", LaunchTemplateData={"ImageId": IMAGE, "SecurityGroupIds": [app]})
    group = elbv2.create_target_group(Name="cs-app", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="instance")[
        "TargetGroups"][0]["TargetGroupArn"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="cs-app", LaunchTemplate={"LaunchTemplateName": "cs-app"},
                                          MinSize=1, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=subnet,
                                          TargetGroupARNs=[group])
    instance_id = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
    return {"id": instance_id, "app": app, "target_group": group}


def placement(instance_id: str, target_group: str) -> dict[str, Any]:
    described = client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    registered = client("elbv2").describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
    return {
        "groups": sorted(client("ec2").describe_security_groups(GroupIds=[g["GroupId"]])["SecurityGroups"][0]["GroupName"]
                         for g in described["SecurityGroups"]),
        "in_asg": bool(client("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]),
        "in_target_group": instance_id in {t["Target"]["Id"] for t in registered},
        "tags": {t["Key"]: t["Value"] for t in described.get("Tags", []) if t["Key"].startswith("caseshield:")},
        "snapshots": len(client("ec2").describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "tag:caseshield:source-instance", "Values": [instance_id]}])["Snapshots"]),
        "quarantine_groups": len(client("ec2").describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [QUARANTINE_GROUP]}])["SecurityGroups"]),
    }


def test_a_refused_group_swap_changes_nothing_else_and_removes_the_group_it_made(
        suspect: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's case: the swap used to fail after the instance had left its ASG and target group."""
    inject_fault(monkeypatch, "ec2", "modify_instance_attribute", denied("ModifyInstanceAttribute"), when=lambda kw: "Groups" in kw)

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--incident", "INC-7", "--execute") == 1

    after = placement(suspect["id"], suspect["target_group"])
    assert after == {"groups": ["app"], "in_asg": True, "in_target_group": True, "tags": {}, "snapshots": 0, "quarantine_groups": 0}
    record = last_log(tmp_path)
    assert record["event"] == "failed" and "AccessDenied" in record["result"] and "rolled back" in record["result"]


def test_a_failure_after_the_swap_leaves_it_contained_and_the_resume_command_finishes(
        suspect: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    inject_fault(monkeypatch, "autoscaling", "detach_instances", denied("DetachInstances"))

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--incident", "INC-7", "--execute") == 1

    midway = placement(suspect["id"], suspect["target_group"])
    assert midway["groups"] == [QUARANTINE_GROUP] and midway["in_asg"] is True and midway["snapshots"] == 0
    record = last_log(tmp_path)
    assert record["event"] == "failed" and record["result"].startswith("incomplete: failed: ")
    assert record["problems"] == ["still in Auto Scaling group cs-app", f"still registered in {suspect['target_group']}",
                                  f"no evidence snapshot of {record['before']['volumes'][0]}"]
    assert record["after"]["security_groups"] == {eni: [record["after"]["quarantine_group"]] for eni in record["before"]["security_groups"]}
    assert f"Resume with: {record['resume']}" in capsys.readouterr().out
    monkeypatch.undo()

    assert resume(tmp_path, record) == 0

    done = placement(suspect["id"], suspect["target_group"])
    assert done == {"groups": [QUARANTINE_GROUP], "in_asg": False, "in_target_group": False, "snapshots": 1, "quarantine_groups": 1,
                    "tags": {INCIDENT_TAG: "INC-7", QUARANTINE_TAG: record["when"]}}
    assert last_log(tmp_path, lines=2)["result"] == "done"


def test_a_non_aws_error_mid_action_is_logged_as_failed_and_incomplete(suspect: dict[str, str], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    inject_fault(monkeypatch, "ec2", "create_snapshot", RuntimeError("disk quota of the snapshot service"))

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--execute") == 1

    record = last_log(tmp_path)
    assert record["event"] == "failed" and "RuntimeError: disk quota" in record["result"]
    assert record["after"]["auto_scaling_group"] is None and record["problems"] == [
        f"no evidence snapshot of {record['before']['volumes'][0]}"]
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_mid_action_still_writes_an_interrupted_record_with_the_state_and_resume(
        suspect: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_fault(monkeypatch, "elbv2", "deregister_targets", KeyboardInterrupt())
    vpc = client("ec2").describe_security_groups(GroupIds=[suspect["app"]])["SecurityGroups"][0]["VpcId"]
    direct = client("elbv2").create_target_group(Name="cs-admin", Protocol="HTTPS", Port=443, VpcId=vpc)["TargetGroups"][0]
    client("elbv2").register_targets(TargetGroupArn=direct["TargetGroupArn"], Targets=[{"Id": suspect["id"], "Port": 443}])

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--execute") == 130

    started, closing = log_records(tmp_path)
    assert started["event"] == "started" and closing["event"] == "interrupted" and closing["run_id"] == started["run_id"]
    assert closing["after"]["security_groups"] and "--execute" in closing["resume"].split()
    assert placement(suspect["id"], suspect["target_group"])["groups"] == [QUARANTINE_GROUP]


def test_ctrl_c_before_any_plan_is_logged_without_a_resume(suspect: dict[str, str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    inject_fault(monkeypatch, "ec2", "describe_instances", KeyboardInterrupt())

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--execute") == 130

    record = last_log(tmp_path)
    assert record["event"] == "interrupted" and record["resume"] is None and record["planned"] == []


def test_a_rerun_without_incident_keeps_the_incident_tag_and_a_different_one_is_refused(suspect: dict[str, str],
                                                                                        tmp_path: Path) -> None:
    client("ec2").create_tags(Resources=[suspect["id"]], Tags=[{"Key": INCIDENT_TAG, "Value": "INC-1"}])

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--execute") == 0
    assert placement(suspect["id"], suspect["target_group"])["tags"][INCIDENT_TAG] == "INC-1"

    assert respond(tmp_path, "isolate-instance", suspect["id"], "--incident", "INC-2", "--execute") == 2
    assert placement(suspect["id"], suspect["target_group"])["tags"][INCIDENT_TAG] == "INC-1"
    assert "already tagged caseshield:incident=INC-1" in last_log(tmp_path, lines=2)["result"]


def test_a_second_run_after_success_changes_nothing_and_makes_no_second_snapshot(suspect: dict[str, str], tmp_path: Path) -> None:
    assert respond(tmp_path, "isolate-instance", suspect["id"], "--execute") == 0
    assert respond(tmp_path, "isolate-instance", suspect["id"], "--execute") == 0

    assert last_log(tmp_path, lines=2)["result"] == "nothing to do"
    assert placement(suspect["id"], suspect["target_group"])["snapshots"] == 1


# --- quarantine-object --------------------------------------------------------------------------------------------

@pytest.fixture
def upload() -> dict[str, str]:
    s3 = client("s3")
    s3.create_bucket(Bucket="cs-prod-uploads")
    s3.put_bucket_versioning(Bucket="cs-prod-uploads", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="cs-prod-uploads", Key="intake/invoice.pdf", Body=b"%PDF suspicious",
                            Tagging="data-classification=case-documents")["VersionId"]
    return {"bucket": "cs-prod-uploads", "key": "intake/invoice.pdf", "version": version}


def object_versions(bucket: str, key: str) -> dict[str, int]:
    listed = client("s3").list_object_versions(Bucket=bucket, Prefix=key)
    return {"versions": sum(v["Key"] == key for v in listed.get("Versions", [])),
            "delete_markers": sum(m["Key"] == key for m in listed.get("DeleteMarkers", []))}


def test_quarantine_delete_refused_leaves_a_verified_copy_and_the_rerun_does_not_copy_again(
        upload: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket, key = upload["bucket"], upload["key"]
    inject_fault(monkeypatch, "s3", "delete_object", denied("DeleteObject"))

    assert respond(tmp_path, "quarantine-object", bucket, key, "--execute") == 1

    record = last_log(tmp_path)
    assert record["result"].startswith("incomplete: ") and record["resume"]
    assert object_versions(bucket, key) == {"versions": 1, "delete_markers": 0}
    assert object_versions(bucket, f"quarantine/{key}") == {"versions": 1, "delete_markers": 0}
    monkeypatch.undo()

    assert resume(tmp_path, record) == 0

    rerun = last_log(tmp_path, lines=2)
    assert rerun["result"] == "done" and not any(change.startswith("copy ") for change in rerun["planned"])
    assert object_versions(bucket, f"quarantine/{key}") == {"versions": 1, "delete_markers": 0}, "no second copy"
    assert object_versions(bucket, key) == {"versions": 1, "delete_markers": 1}
    assert respond(tmp_path, "quarantine-object", bucket, key, "--execute") == 0
    assert last_log(tmp_path, lines=3)["result"] == "nothing to do"


def test_an_unfaithful_copy_is_removed_and_the_original_left_untouched(upload: dict[str, str], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    bucket, key = upload["bucket"], upload["key"]

    def copy_without_tags(real: Any, **kwargs: Any) -> Any:
        return real(**{**kwargs, "Tagging": ""})

    inject_fault(monkeypatch, "s3", "copy_object", None, instead=copy_without_tags)

    assert respond(tmp_path, "quarantine-object", bucket, key, "--execute") == 1

    record = last_log(tmp_path)
    assert "rolled back: removed the unverified copy" in record["result"] and record["event"] == "failed"
    assert object_versions(bucket, key) == {"versions": 1, "delete_markers": 0}
    assert object_versions(bucket, f"quarantine/{key}") == {"versions": 0, "delete_markers": 0}


def test_quarantine_ctrl_c_before_the_delete_is_logged(upload: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_fault(monkeypatch, "s3", "delete_object", KeyboardInterrupt())

    assert respond(tmp_path, "quarantine-object", upload["bucket"], upload["key"], "--execute") == 130

    record = last_log(tmp_path)
    assert record["event"] == "interrupted" and record["after"]["current_version"] == upload["version"]
    assert record["after"]["quarantined"]["tags"][SOURCE_TAG] == upload["version"]


# --- legal-hold ---------------------------------------------------------------------------------------------------

@pytest.fixture
def matter() -> list[str]:
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    return [s3.put_object(Bucket=BUCKET, Key=f"matters/2024-0117/{n}.pdf", Body=b"x")["VersionId"] for n in ("a", "b", "c")]


def holds() -> list[str]:
    s3 = client("s3")
    return [s3.get_object_legal_hold(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"]).get("LegalHold", {}).get("Status", "OFF")
            for v in sorted(s3.list_object_versions(Bucket=BUCKET)["Versions"], key=lambda v: v["Key"])]


def test_a_hold_refused_part_way_reports_incomplete_and_the_resume_holds_only_the_rest(
        matter: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_fault(monkeypatch, "s3", "put_object_legal_hold", denied("PutObjectLegalHold"), nth=2)

    assert respond(tmp_path, "legal-hold", "set", BUCKET, "matters/2024-0117/", "--execute") == 1

    assert holds() == ["ON", "OFF", "OFF"]
    record = last_log(tmp_path)
    assert record["result"].startswith("incomplete: failed: ") and record["problems"][0].startswith("2 of 3 version(s) not ON")
    assert record["resume"] == (f"caseshield respond legal-hold set {BUCKET} matters/2024-0117/ --execute "
                                f"--log {action_log(tmp_path)}")
    monkeypatch.undo()

    assert resume(tmp_path, record) == 0

    assert holds() == ["ON", "ON", "ON"] and len(last_log(tmp_path, lines=2)["planned"]) == 2


def test_a_hold_that_does_not_stick_is_not_reported_done(matter: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_fault(monkeypatch, "s3", "put_object_legal_hold", None, nth=3, instead=lambda real, **kw: {})

    assert respond(tmp_path, "legal-hold", "set", BUCKET, "matters/2024-0117/", "--execute") == 1

    record = last_log(tmp_path)
    assert record["result"] == "incomplete: applied, but the read-back differs from the intended state"
    assert holds() == ["ON", "ON", "OFF"]


def test_releasing_a_whole_bucket_needs_the_explicit_flag(matter: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert respond(tmp_path, "legal-hold", "set", BUCKET, "matters/", "--execute") == 0

    assert respond(tmp_path, "legal-hold", "release", BUCKET, "", "--execute") == 2

    assert holds() == ["ON", "ON", "ON"]
    assert "pass --whole-bucket" in capsys.readouterr().err
    assert respond(tmp_path, "legal-hold", "release", BUCKET, "", "--whole-bucket", "--execute") == 0
    assert holds() == ["OFF", "OFF", "OFF"]


# --- the log and the terminal -------------------------------------------------------------------------------------

def test_an_unwritable_log_stops_before_any_change(matter: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    calls = inject_fault(monkeypatch, "sts", "get_caller_identity", AssertionError("no AWS call may happen"))
    (tmp_path / "reports").write_text("a file where the log directory should be")

    assert respond(tmp_path, "legal-hold", "set", BUCKET, "matters/2024-0117/", "--execute") == 2

    assert holds() == ["OFF", "OFF", "OFF"] and calls["n"] == 0
    assert "cannot write the action log" in capsys.readouterr().err


def test_untrusted_keys_are_escaped_before_printing(upload: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A planted key with ANSI escapes, a carriage return and a right-to-left override cannot forge terminal output.
    (Moto cannot list such keys, so the quarantine dry run, which only heads them, shows it.)"""
    forged = "intake/\x1b[2J\x1b[1A\rquarantine-object: nothing to do\u202e.pdf"
    client("s3").put_object(Bucket=upload["bucket"], Key=forged, Body=b"x")

    assert respond(tmp_path, "quarantine-object", upload["bucket"], forged) == 0
    assert respond(tmp_path, "quarantine-object", upload["bucket"], forged + "\x1b[0m", "--execute") == 2

    out, err = capsys.readouterr()
    for text in (out, err):
        assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "\\x1b[2J\\x1b[1A\\x0dquarantine-object: nothing to do\\u202e.pdf" in out
    assert err.strip().endswith("nothing to do\\u202e.pdf\\x1b[0m not found")
    assert last_log(tmp_path, lines=2)["target"] == f"{upload['bucket']} {forged}\x1b[0m", "the log keeps the exact key (JSON-escaped)"


def test_a_log_that_fails_after_the_change_puts_the_record_on_stderr(matter: list[str], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    real_write = ActionLog.write

    def full_disk(self: ActionLog, record: dict[str, Any]) -> None:
        if record["event"] != "started":
            raise OSError(28, "No space left on device")
        real_write(self, record)

    monkeypatch.setattr(ActionLog, "write", full_disk)

    assert respond(tmp_path, "legal-hold", "set", BUCKET, "matters/2024-0117/", "--execute") == 0

    assert holds() == ["ON", "ON", "ON"]
    err = capsys.readouterr().err.splitlines()
    assert "cannot write the action log" in err[0] and json.loads(err[1])["result"] == "done"
    assert [r["event"] for r in log_records(tmp_path)] == ["started"]


def test_access_review_without_a_stack_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert respond(tmp_path, "access-review") == 2

    assert "name the stack with --stack" in capsys.readouterr().err
    assert last_log(tmp_path)["event"] == "failed"
