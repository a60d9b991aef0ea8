"""The service-access rules (policies/rules/service_access.py) on hand-built stacks: each holds on a compliant stack and
fires when one probe's answer changes (a dropped Allow, a dropped or loosened source condition, a widened principal, a
widened resource, a dropped Deny), and values still unknown at preview never fire on their own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from policies.rules import service_access as sa
from policies.rules._support import UNKNOWN
from tests.rule_worlds import Builder, World, check, policy, props, without

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/cs-prod-audit-trail"
ARCHIVE = "arn:aws:s3:::archive"
LOGS = "arn:aws:s3:::access-logs"
DOCUMENTS = "arn:aws:s3:::documents"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/caseshield/prod/cloudtrail"
FLOW_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/cs-prod/network/vpc-flow-logs"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/audit"
SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
OWNER = {"s3:x-amz-acl": "bucket-owner-full-control"}
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TLS_DENY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def trust(service: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "Trust", "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/cs-prod-{name}"


def archive_statements() -> list[dict[str, Any]]:
    """The archive's policy as components/audit.py writes it (the parts the probes ask)."""
    trail = {"aws:SourceArn": TRAIL_ARN}
    return [
        TLS_DENY,
        {"Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": ARCHIVE, "Condition": {"StringEquals": trail}},
        {"Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"{ARCHIVE}/cloudtrail/AWSLogs/{ACCOUNT}/*", "Condition": {"StringEquals": {**OWNER, **trail}}},
        {"Sid": "ConfigAclCheck", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": ARCHIVE, "Condition": SOURCE_ACCOUNT},
        {"Sid": "ConfigBucketExistenceCheck", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": "s3:ListBucket", "Resource": ARCHIVE, "Condition": SOURCE_ACCOUNT},
        {"Sid": "ConfigDelivery", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"{ARCHIVE}/config/AWSLogs/{ACCOUNT}/Config/*",
         "Condition": {"StringEquals": {**OWNER, "aws:SourceAccount": ACCOUNT}}},
        {"Sid": "DenyEvidenceDestruction", "Effect": "Deny", "Principal": "*", "Resource": [ARCHIVE, f"{ARCHIVE}/*"],
         "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:DeleteBucket",
                    "s3:DeleteBucketPolicy"]},
        {"Sid": "OnlyDeployersReconfigureArchive", "Effect": "Deny", "Principal": "*", "Action": ["s3:PutBucketPolicy",
         "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning",
         "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:PutBucketLogging"],
         "Resource": ARCHIVE, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [role_arn("ci-deployer"), role_arn("break-glass")]}}},
    ]


def log_bucket_statements() -> list[dict[str, Any]]:
    alb = f"{LOGS}/alb/AWSLogs/{ACCOUNT}/*"
    return [
        TLS_DENY,
        {"Sid": "S3ServerAccessLogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{LOGS}/*", "Condition": SOURCE_ACCOUNT},
        {"Sid": "AlbLogDeliveryAccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::127311923021:root"},
         "Action": "s3:PutObject", "Resource": alb},
        {"Sid": "AlbLogDeliveryService", "Effect": "Allow", "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": alb, "Condition": SOURCE_ACCOUNT},
    ]


def documents_statements() -> list[dict[str, Any]]:
    return [TLS_DENY, {
        "Sid": "DenyDataAccessOutsideVpcEndpoints", "Effect": "Deny", "Principal": "*",
        "Action": ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"], "Resource": [DOCUMENTS, f"{DOCUMENTS}/*"],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": ["vpce-s3"]}, "ArnNotEquals": {"aws:PrincipalArn": [
            role_arn("break-glass"), role_arn("backup"),
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"]}}}]


def world(env: str = "prod") -> World:
    """A compliant stack: every service role and delivery of policies/service-access.yaml, and the guarded buckets."""
    b = Builder(env)
    b.add("matrix", "caseshield:identity:RoleMatrix", {})
    for short in ("break-glass", "ci-deployer"):
        b.add(f"matrix-{short}", ROLE, {"name": f"cs-prod-{short}", "arn": role_arn(short)}, parent="matrix")
    b.add("key", "aws:kms/key:Key", {"arn": KEY_ARN})
    b.add("archive", BUCKET, {"bucket": "archive", "arn": ARCHIVE})
    b.add("archive-policy", BUCKET_POLICY, {"bucket": "archive", "policy": policy(*archive_statements())}, {"bucket": ["archive"]})
    b.add("access-logs", BUCKET, {"bucket": "access-logs", "arn": LOGS})
    b.add("access-logs-policy", BUCKET_POLICY, {"bucket": "access-logs", "policy": policy(*log_bucket_statements())},
          {"bucket": ["access-logs"]})
    b.add("documents", BUCKET, {"bucket": "documents", "arn": DOCUMENTS, "tags": {"data-classification": "case-documents"}})
    b.add("documents-policy", BUCKET_POLICY, {"bucket": "documents", "policy": policy(*documents_statements())},
          {"bucket": ["documents"]})
    b.add("documents-logging", "aws:s3/bucketLogging:BucketLogging",
          {"bucket": "documents", "targetBucket": "access-logs", "targetPrefix": "case-documents/", "arn": DOCUMENTS},
          {"bucket": ["documents"], "targetBucket": ["access-logs-policy"]})
    b.add("alb", "aws:lb/loadBalancer:LoadBalancer", {"arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/alb",
          "accessLogs": {"enabled": True, "bucket": "access-logs", "prefix": "alb"}}, {"accessLogs": ["access-logs-policy"]})

    b.add("trail-logs", LOG_GROUP, {"arn": LOG_GROUP_ARN, "deletionProtectionEnabled": True})
    b.add("cloudtrail-role", ROLE, {"name": "cs-prod-cloudtrail-to-logs", "arn": role_arn("cloudtrail-to-logs"),
          "assumeRolePolicy": policy(trust("cloudtrail.amazonaws.com", {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}))})
    b.add("cloudtrail-role-policy", ROLE_POLICY, {"role": "cs-prod-cloudtrail-to-logs", "policy": policy(
        {"Sid": "WriteTrailLogStreams", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{LOG_GROUP_ARN}:log-stream:*"})}, {"role": ["cloudtrail-role"], "policy": ["trail-logs"]})
    b.add("trail", "aws:cloudtrail/trail:Trail", {"arn": TRAIL_ARN, "s3BucketName": "archive", "s3KeyPrefix": "cloudtrail",
          "cloudWatchLogsGroupArn": f"{LOG_GROUP_ARN}:*", "cloudWatchLogsRoleArn": role_arn("cloudtrail-to-logs"),
          "eventSelectors": [{"includeManagementEvents": True, "readWriteType": "All"}]},
          {"s3BucketName": ["archive"], "cloudWatchLogsGroupArn": ["trail-logs"], "cloudWatchLogsRoleArn": ["cloudtrail-role"]})

    b.add("config-role", ROLE, {"name": "cs-prod-config-recorder", "arn": role_arn("config-recorder"),
          "assumeRolePolicy": policy(trust("config.amazonaws.com", SOURCE_ACCOUNT))})
    b.add("config-role-managed", ATTACHMENT, {"role": "cs-prod-config-recorder",
          "policyArn": "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"}, {"role": ["config-role"]})
    b.add("config-role-delivery", ROLE_POLICY, {"role": "cs-prod-config-recorder", "policy": policy(
        {"Sid": "DeliverUnderConfigPrefix", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"{ARCHIVE}/config/AWSLogs/{ACCOUNT}/*", "Condition": {"StringEquals": OWNER}},
        {"Sid": "CheckBucketAcl", "Effect": "Allow", "Action": "s3:GetBucketAcl", "Resource": ARCHIVE},
        {"Sid": "EncryptDeliveries", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": KEY_ARN})},
        {"role": ["config-role"], "policy": ["archive", "key"]})
    b.add("recorder", "aws:cfg/recorder:Recorder", {"roleArn": role_arn("config-recorder")}, {"roleArn": ["config-role"]})
    b.add("delivery", "aws:cfg/deliveryChannel:DeliveryChannel", {
        "arn": f"arn:aws:config:{REGION}:{ACCOUNT}:deliveryChannel/d", "s3BucketName": "archive", "s3KeyPrefix": "config",
        "s3KmsKeyArn": KEY_ARN}, {"s3BucketName": ["archive"], "s3KmsKeyArn": ["key"]})

    b.add("flow-logs", LOG_GROUP, {"arn": FLOW_GROUP_ARN, "deletionProtectionEnabled": True})
    flow_source = {**SOURCE_ACCOUNT, "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"}}
    b.add("flow-role", ROLE, {"name": "cs-prod-vpc-flow-logs", "arn": role_arn("vpc-flow-logs"),
          "assumeRolePolicy": policy(trust("vpc-flow-logs.amazonaws.com", flow_source))})
    b.add("flow-role-write", ROLE_POLICY, {"role": "cs-prod-vpc-flow-logs", "policy": policy(
        {"Sid": "WriteOnlyTheFlowLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": [FLOW_GROUP_ARN, f"{FLOW_GROUP_ARN}:log-stream:*"]},
        {"Sid": "FindTheFlowLogGroup", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"})},
        {"role": ["flow-role"], "policy": ["flow-logs"]})
    b.add("flow-log", "aws:ec2/flowLog:FlowLog", {"arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:flow-log/fl-1",
          "iamRoleArn": role_arn("vpc-flow-logs"), "logDestination": FLOW_GROUP_ARN},
          {"iamRoleArn": ["flow-role"], "logDestination": ["flow-logs"]})

    b.add("backup-role", ROLE, {"name": "cs-prod-backup", "arn": role_arn("backup"),
          "assumeRolePolicy": policy(trust("backup.amazonaws.com", SOURCE_ACCOUNT))})
    for i, name in enumerate(("service-role/AWSBackupServiceRolePolicyForBackup", "service-role/AWSBackupServiceRolePolicyForRestores",
                              "AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore")):
        b.add(f"backup-role-policy-{i}", ATTACHMENT, {"role": "cs-prod-backup", "policyArn": f"arn:aws:iam::aws:policy/{name}"},
              {"role": ["backup-role"]})
    b.add("selection", "aws:backup/selection:Selection", {"iamRoleArn": role_arn("backup")}, {"iamRoleArn": ["backup-role"]})

    b.add("monitoring-role", ROLE, {"name": "cs-prod-rds-monitoring", "arn": role_arn("rds-monitoring"),
          "assumeRolePolicy": policy(trust("monitoring.rds.amazonaws.com", SOURCE_ACCOUNT))})
    b.add("monitoring-role-managed", ATTACHMENT, {"role": "cs-prod-rds-monitoring",
          "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"}, {"role": ["monitoring-role"]})
    b.add("database", "aws:rds/instance:Instance", {"monitoringRoleArn": role_arn("rds-monitoring")},
          {"monitoringRoleArn": ["monitoring-role"]})

    b.add("instance-role", ROLE, {"name": "cs-prod-app-instance", "arn": role_arn("app-instance"),
          "assumeRolePolicy": policy(trust("ec2.amazonaws.com", None))})
    b.add("instance-profile", "aws:iam/instanceProfile:InstanceProfile", {"role": "cs-prod-app-instance"},
          {"role": ["instance-role"]})
    for resource in b.world.values():  # the provider's region, as the stacks' explicit provider states it
        if resource.provider is not None:
            provider_props: Any = resource.provider.props
            provider_props["region"] = REGION
    return b.world


RULES = [sa.cloudtrail_alone_delivers_this_trail, sa.config_alone_delivers_this_accounts_configuration,
         sa.flow_log_role_serves_only_this_accounts_flow_logs, sa.backup_role_serves_only_this_accounts_backups,
         sa.monitoring_role_serves_only_this_accounts_rds, sa.instance_role_is_assumable_only_by_ec2,
         sa.only_this_accounts_log_delivery_writes_request_logs, sa.only_this_accounts_load_balancer_logs_are_delivered,
         sa.only_deployers_reconfigure_the_audit_archive, sa.case_documents_are_reached_only_through_the_vpc_endpoints]


def edit_statements(w: World, key: str, prop: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    document = json.loads(props(w[key])[prop])
    document["Statement"] = change(document["Statement"])
    props(w[key])[prop] = json.dumps(document)


def on(sid: str, change: Callable[[dict[str, Any]], None]) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def apply(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for statement in found:
            if statement.get("Sid") == sid:
                change(statement)
        return found

    return apply


def dropping(sid: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    return lambda found: [s for s in found if s.get("Sid") != sid]


def condition_dropped(key: str) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        for tests in statement.get("Condition", {}).values():
            tests.pop(key, None)
        statement["Condition"] = {op: tests for op, tests in statement.get("Condition", {}).items() if tests}

    return change


def with_if_exists(statement: dict[str, Any]) -> None:
    statement["Condition"] = {f"{op}IfExists": tests for op, tests in statement["Condition"].items()}


def negated(statement: dict[str, Any]) -> None:
    statement["Condition"] = {op.replace("Equals", "NotEquals").replace("Like", "NotLike"): tests
                              for op, tests in statement["Condition"].items()}


def to_everyone(statement: dict[str, Any]) -> None:
    statement["Principal"] = "*"


def on_everything(statement: dict[str, Any]) -> None:
    statement["Resource"] = "*"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_compliant_stack_passes(rule: Callable[..., None], env: str) -> None:
    assert check(rule, world(env)) == []


@pytest.mark.parametrize(("rule", "key", "prop", "change", "expected"), [
    # trusts: the source condition dropped, given IfExists, negated; the principal widened; the Allow dropped
    (sa.cloudtrail_alone_delivers_this_trail, "cloudtrail-role", "assumeRolePolicy", on("Trust", condition_dropped("aws:SourceArn")),
     "with another account's aws:sourcearn"),
    (sa.cloudtrail_alone_delivers_this_trail, "cloudtrail-role", "assumeRolePolicy", on("Trust", with_if_exists), "with no aws:sourcearn"),
    (sa.cloudtrail_alone_delivers_this_trail, "cloudtrail-role", "assumeRolePolicy", on("Trust", to_everyone), "another service"),
    (sa.cloudtrail_alone_delivers_this_trail, "cloudtrail-role", "assumeRolePolicy", dropping("Trust"), "cannot assume it"),
    (sa.config_alone_delivers_this_accounts_configuration, "config-role", "assumeRolePolicy", on("Trust", negated),
     "another account's aws:sourceaccount"),
    (sa.flow_log_role_serves_only_this_accounts_flow_logs, "flow-role", "assumeRolePolicy",
     on("Trust", condition_dropped("aws:SourceAccount")), "with another account's aws:sourceaccount"),
    (sa.flow_log_role_serves_only_this_accounts_flow_logs, "flow-role", "assumeRolePolicy",
     on("Trust", condition_dropped("aws:SourceArn")), "with no aws:sourcearn"),
    (sa.backup_role_serves_only_this_accounts_backups, "backup-role", "assumeRolePolicy", on("Trust", with_if_exists),
     "with no aws:sourceaccount"),
    (sa.monitoring_role_serves_only_this_accounts_rds, "monitoring-role", "assumeRolePolicy", on("Trust", condition_dropped(
        "aws:SourceAccount")), "another account's aws:sourceaccount"),
    (sa.instance_role_is_assumable_only_by_ec2, "instance-role", "assumeRolePolicy", on("Trust", to_everyone),
     "a principal of another account"),
    (sa.instance_role_is_assumable_only_by_ec2, "instance-role", "assumeRolePolicy", dropping("Trust"), "cannot assume it"),
    # delivery policies: the Allow dropped, its resource widened, its context condition dropped
    (sa.cloudtrail_alone_delivers_this_trail, "cloudtrail-role-policy", "policy", dropping("WriteTrailLogStreams"), "may not logs:"),
    (sa.cloudtrail_alone_delivers_this_trail, "cloudtrail-role-policy", "policy", on("WriteTrailLogStreams", on_everything),
     "another-group-probe"),
    (sa.config_alone_delivers_this_accounts_configuration, "config-role-delivery", "policy",
     on("DeliverUnderConfigPrefix", condition_dropped("s3:x-amz-acl")), "with no s3:x-amz-acl"),
    (sa.config_alone_delivers_this_accounts_configuration, "config-role-delivery", "policy", on("EncryptDeliveries", on_everything),
     "another-key-probe"),
    (sa.flow_log_role_serves_only_this_accounts_flow_logs, "flow-role-write", "policy", dropping("FindTheFlowLogGroup"),
     "may not logs:DescribeLogGroups"),
    # bucket policies: deliveries dropped or widened, Denies dropped or negated
    (sa.cloudtrail_alone_delivers_this_trail, "archive-policy", "policy", dropping("CloudTrailWrite"), "the delivery it exists for"),
    (sa.cloudtrail_alone_delivers_this_trail, "archive-policy", "policy", on("CloudTrailWrite", condition_dropped("s3:x-amz-acl")),
     "with no s3:x-amz-acl"),
    (sa.cloudtrail_alone_delivers_this_trail, "archive-policy", "policy", on("CloudTrailAclCheck", to_everyone), "another service"),
    (sa.config_alone_delivers_this_accounts_configuration, "archive-policy", "policy", on("ConfigDelivery", on_everything),
     "beyond its delivery"),
    (sa.config_alone_delivers_this_accounts_configuration, "archive-policy", "policy", dropping("ConfigBucketExistenceCheck"),
     "s3:ListBucket"),
    (sa.only_this_accounts_log_delivery_writes_request_logs, "access-logs-policy", "policy", on("S3ServerAccessLogDelivery",
                                                                                                  to_everyone), "another service"),
    (sa.only_this_accounts_load_balancer_logs_are_delivered, "access-logs-policy", "policy", dropping("AlbLogDeliveryAccount"),
     "127311923021"),
    (sa.only_this_accounts_load_balancer_logs_are_delivered, "access-logs-policy", "policy", on("AlbLogDeliveryService", on_everything),
     "beyond its delivery"),
    (sa.only_deployers_reconfigure_the_audit_archive, "archive-policy", "policy", dropping("OnlyDeployersReconfigureArchive"),
     "a role not listed"),
    (sa.only_deployers_reconfigure_the_audit_archive, "archive-policy", "policy",
     on("OnlyDeployersReconfigureArchive", lambda s: s.update(Condition={"ArnEquals": s["Condition"]["ArnNotEquals"]})),
     "a role not listed"),
    (sa.only_deployers_reconfigure_the_audit_archive, "archive-policy", "policy", dropping("DenyEvidenceDestruction"),
     "granted everything, may s3:Delete"),
    (sa.case_documents_are_reached_only_through_the_vpc_endpoints, "documents-policy", "policy",
     dropping("DenyDataAccessOutsideVpcEndpoints"), "aws:SourceVpce None"),
    (sa.case_documents_are_reached_only_through_the_vpc_endpoints, "documents-policy", "policy", on(
        "DenyDataAccessOutsideVpcEndpoints", lambda s: s.update(Condition={
            "StringNotLike": {"aws:SourceVpce": "*"}, "ArnNotEquals": s["Condition"]["ArnNotEquals"]})),
     "vpce-0probe0another0vpc"),
])
def test_a_changed_answer_fires(rule: Callable[..., None], key: str, prop: str, change: Any, expected: str) -> None:
    w = world()
    edit_statements(w, key, prop, change)
    found = check(rule, w)
    assert found and expected in found[0], found


def test_a_missing_managed_policy_fires() -> None:
    found = check(sa.backup_role_serves_only_this_accounts_backups, without(world(), "backup-role-policy-1"))
    assert found and "AWSBackupServiceRolePolicyForRestores" in found[0]


def test_a_missing_delivery_policy_fires() -> None:
    found = check(sa.flow_log_role_serves_only_this_accounts_flow_logs, without(world(), "flow-role-write"))
    assert found and "may not logs:PutLogEvents" in found[0]


@pytest.mark.parametrize(("key", "prop"), [("cloudtrail-role", "assumeRolePolicy"), ("archive-policy", "policy"),
                                           ("cloudtrail-role", "arn")])
def test_values_unknown_at_preview_do_not_fire(key: str, prop: str) -> None:
    w = world()
    props(w[key])[prop] = UNKNOWN
    assert check(sa.cloudtrail_alone_delivers_this_trail, w) == []


def test_intent_file_loads_and_names_each_rules_control() -> None:
    spec = sa.intent()
    controls = {e["control"] for kind in ("service_roles", "bucket_deliveries", "guarded_buckets") for e in spec[kind]}
    assert controls == {"AUD-02", "MON-03", "NET-06", "DATA-05", "MON-07", "PATCH-04", "AUD-05", "EDGE-03", "AUD-04", "DATA-02"}


def test_intent_file_is_checked_against_its_schema(tmp_path: Any) -> None:
    from caseshield import schemas
    from caseshield.strict_yaml import InputError

    text = sa.INTENT_PATH.read_text().replace('probe_account: "111122223333"', "probe_account: 111122223333", 1)
    path = tmp_path / "service-access.yaml"
    path.write_text(text.replace("service: cloudtrail.amazonaws.com", "service: cloudtrail", 1))
    with pytest.raises(InputError, match=r"probe_account = 111122223333: must be a string[\s\S]*service_roles\[0\]\.service"):
        schemas.load(path, "service-access")


def test_a_delivery_through_a_role_of_another_stack_fires() -> None:
    w = world()
    w["flow-log"].property_dependencies["iamRoleArn"] = []
    props(w["flow-log"])["iamRoleArn"] = "arn:aws:iam::111122223333:role/elsewhere"
    found = check(sa.flow_log_role_serves_only_this_accounts_flow_logs, w)
    assert found and "not this stack's vpc-flow-logs service role" in found[0]
