"""Edge cases of the audit, monitoring and incident-response rules, on hand-built policy resources.

Each test starts from a small compliant stack (`world()`), breaks or blurs one thing, and runs one rule: compliant
passes, the breakage fires, and values still unknown at preview (the engine's sentinel) never fire on their own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.rules import RULES, load_all
from policies.rules import audit as aud
from policies.rules import monitoring as mon
from policies.rules._support import UNKNOWN
from tests.rule_worlds import Builder, World, check, policy, props, without

load_all()
MY_RULES = sorted(r for r, rule in RULES.items() if rule.control.split("-")[0] in ("AUD", "MON", "IR"))


def session_content(**inputs: Any) -> str:
    return json.dumps({"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {
        "cloudWatchLogGroupName": "/caseshield/prod/ssm-sessions", "cloudWatchEncryptionEnabled": True, "kmsKeyId": "key-id",
        "s3BucketName": "", "s3EncryptionEnabled": True, **inputs}})


def rendered(row: mon.AlarmRow) -> str:
    return mon.PLACEHOLDER_RE.sub("cs-prod-break-glass", row.pattern)


FINDING_PATTERNS = {
    "guardduty": {"source": ["aws.guardduty"], "detail": {"severity": [{"numeric": [">=", 7]}]}},
    "securityhub": {"source": ["aws.securityhub"], "detail": {"findings": {"Severity": {"Label": ["CRITICAL", "HIGH"]}}}},
    "macie": {"source": ["aws.macie"], "detail": {"$or": [{"category": ["POLICY"]}, {"severity": {"description": ["High"]}}]}},
}


# The access-log bucket's Deny of log tampering: every principal but the log-delivery services (components/buckets.py).
LOG_BUCKET_ARN = "arn:aws:s3:::access-logs"
LOG_TAMPER_DENY = {"Sid": "DenyLogTamperingByPrincipals", "Effect": "Deny", "Principal": "*", "Resource": f"{LOG_BUCKET_ARN}/*",
                   "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                   "Condition": {"Bool": {"aws:PrincipalIsAWSService": "false"},
                                 "StringNotEquals": {"aws:PrincipalAccount": "127311923021"}}}


# The incident topic's policy as components/alerting.py writes it: the two publishers for this account, TLS only.
TOPIC_STATEMENTS = (
    {"Effect": "Allow", "Principal": {"Service": list(mon.PUBLISHERS)}, "Action": "sns:Publish", "Resource": "arn:topic",
     "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}},
    {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": "arn:topic",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
)


def world(env: str = "prod") -> World:
    """A compliant stack: the trail and its archive, detectors, Config, alarms, finding routes and the incident topic."""
    b = Builder(env)
    b.add("audit-key", aud.KMS_KEY, {"tags": {"data-classification": "audit-logs"}})
    b.add("documents", aud.S3_BUCKET, {"tags": {"data-classification": "case-documents"}})
    b.add("archive", aud.S3_BUCKET, {"objectLockEnabled": True, "tags": {"data-classification": "audit-logs"}})
    b.add("access-logs", aud.S3_BUCKET, {"bucket": "access-logs", "arn": LOG_BUCKET_ARN})
    b.add("access-logs-policy", aud.BUCKET_POLICY, {"bucket": "access-logs", "policy": policy(LOG_TAMPER_DENY)},
          {"bucket": ["access-logs"]})
    b.add("trail-logs", aud.LOG_GROUP, {"retentionInDays": 731, "kmsKeyId": "arn:key"}, {"kmsKeyId": ["audit-key"]})
    b.add("trail-role", aud.IAM_ROLE, {})
    b.add("trail", aud.TRAIL, {
        "isMultiRegionTrail": True, "includeGlobalServiceEvents": True, "enableLogFileValidation": True, "enableLogging": True,
        "kmsKeyId": "arn:key", "s3BucketName": "archive", "cloudWatchLogsGroupArn": "arn:group:*", "cloudWatchLogsRoleArn": "arn:role",
        "eventSelectors": [{"readWriteType": "All", "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:documents/"]}]}],
    }, {"kmsKeyId": ["audit-key"], "s3BucketName": ["archive"], "cloudWatchLogsGroupArn": ["trail-logs"],
        "cloudWatchLogsRoleArn": ["trail-role"], "eventSelectors": ["documents"]})
    b.add("archive-lock", aud.BUCKET_OBJECT_LOCK, {"rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 2557}}},
          {"bucket": ["archive"]})
    b.add("archive-versioning", aud.BUCKET_VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}, {"bucket": ["archive"]})
    b.add("archive-policy", aud.BUCKET_POLICY, {"policy": policy(
        {"Sid": "DenyEvidenceDestruction", "Effect": "Deny", "Principal": "*", "Resource": ["arn:archive", "arn:archive/*"],
         "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucketPolicy"]})}, {"bucket": ["archive"]})
    for bucket in ("documents", "archive"):
        b.add(f"{bucket}-logging", aud.BUCKET_LOGGING, {"bucket": bucket, "targetBucket": "access-logs"},
              {"bucket": [bucket], "targetBucket": ["access-logs-policy"]})
    b.add("session-logs", aud.LOG_GROUP, {"retentionInDays": 731})
    b.add("session-key", aud.KMS_KEY, {})
    b.add("session-preferences", aud.SSM_DOCUMENT, {"name": aud.SESSION_PREFERENCES, "documentType": "Session",
                                                    "content": session_content()}, {"content": ["session-logs", "session-key"]})
    b.add("launch-template", aud.COMPUTE[0], {})

    b.add("detector", mon.DETECTOR, {"enable": True, "findingPublishingFrequency": "FIFTEEN_MINUTES"})
    for feature in mon.GUARDDUTY_FEATURES:
        b.add(f"feature-{feature}", mon.DETECTOR_FEATURE, {"name": feature, "status": "ENABLED"}, {"detectorId": ["detector"]})
    b.add("hub", mon.SECURITY_HUB, {})
    for i, standard in enumerate(mon.SECURITY_HUB_STANDARDS):
        b.add(f"standard-{i}", mon.STANDARDS_SUBSCRIPTION, {"standardsArn": f"arn:aws:securityhub:us-east-1::{standard}"})
    b.add("recorder", mon.RECORDER, {"recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    b.add("recorder-status", mon.RECORDER_STATUS, {"isEnabled": True}, {"name": ["recorder"]})
    b.add("delivery", mon.DELIVERY_CHANNEL, {"s3BucketName": "archive"}, {"s3BucketName": ["archive"]})
    for identifier in mon.required_config_rules(env):
        b.add(f"rule-{identifier}", mon.CONFIG_RULE, {"source": {"owner": "AWS", "sourceIdentifier": identifier},
                                                     "description": "Checked. Runbook: runbooks/incident-response.md"})

    b.add("alerting", mon.INCIDENT_ALERTING, {})
    b.add("topic", mon.TOPIC, {"name": "cs-prod-incidents"}, parent="alerting")
    b.add("topic-policy", mon.TOPIC_POLICY, {"arn": "arn:topic", "policy": policy(*TOPIC_STATEMENTS)}, {"arn": ["topic"]})
    b.add("subscription", mon.TOPIC_SUBSCRIPTION, {"protocol": "email", "endpoint": "oncall@lawfirm.example"}, {"topic": ["topic"]})
    b.add("subscription-2", mon.TOPIC_SUBSCRIPTION, {"protocol": "email", "endpoint": "it-ops@lawfirm.example"}, {"topic": ["topic"]})
    for row in mon.alarm_rows():
        b.add(f"{row.id}-filter", mon.METRIC_FILTER, {"logGroupName": "/trail", "pattern": rendered(row),
                                                      "metricTransformation": {"name": row.metric, "namespace": "CIS"}},
              {"logGroupName": ["trail-logs"]})
        b.add(f"{row.id}-alarm", mon.METRIC_ALARM, {
            "metricName": row.metric, "namespace": "CIS", "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 1,
            "alarmActions": ["arn:topic"], "alarmDescription": f"Runbook: runbooks/alarms/{row.id}.md"}, {"alarmActions": ["topic"]})
    for name, pattern in FINDING_PATTERNS.items():
        b.add(f"{name}-rule", mon.EVENT_RULE, {"eventPattern": json.dumps(pattern), "state": "ENABLED",
                                               "description": f"Runbook: runbooks/findings/{name}.md"})
        b.add(f"{name}-target", mon.EVENT_TARGET, {"rule": name, "arn": "arn:topic"}, {"rule": [f"{name}-rule"], "arn": ["topic"]})
    b.add("monitoring-role", mon.IAM_ROLE, {"assumeRolePolicy": policy(
        {"Effect": "Allow", "Principal": {"Service": mon.RDS_MONITORING_SERVICE}, "Action": "sts:AssumeRole"})})
    b.add("monitoring-role-managed", mon.ROLE_POLICY_ATTACHMENT, {
        "role": "cs-prod-rds-monitoring", "policyArn": f"arn:aws:iam::aws:{mon.RDS_MONITORING_POLICY}"},
        {"role": ["monitoring-role"]})
    b.add("database-parameters", "aws:rds/parameterGroup:ParameterGroup", {"parameters": [
        {"name": "log_connections", "value": "1"}, {"name": "log_disconnections", "value": "1"},
        {"name": "shared_preload_libraries", "value": "pgaudit"}, {"name": "pgaudit.log", "value": "ddl,role"}]})
    b.add("database", mon.RDS_INSTANCE, {"monitoringInterval": 60, "monitoringRoleArn": "arn:role",
                                         "enabledCloudwatchLogsExports": ["postgresql", "upgrade"], "parameterGroupName": "params"},
          {"monitoringRoleArn": ["monitoring-role"], "parameterGroupName": ["database-parameters"]})
    return b.world


@pytest.mark.parametrize("rule_id", MY_RULES)
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_compliant_stack_passes(rule_id: str, env: str) -> None:
    assert check(RULES[rule_id].check, world(env)) == []


# --- AUD ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("prop", "value", "fires"), [
    ("isMultiRegionTrail", None, True),  # absent: AWS's default is single-region
    ("includeGlobalServiceEvents", None, False),  # absent: AWS's default is on
    ("enableLogFileValidation", False, True),
    ("enableLogging", False, True),
    ("isMultiRegionTrail", UNKNOWN, False),
])
def test_trail_coverage(prop: str, value: Any, fires: bool) -> None:
    w = world()
    if value is None:
        del props(w["trail"])[prop]
    else:
        props(w["trail"])[prop] = value
    assert bool(check(aud.trail_covers_all_regions_with_validation, w)) is fires


@pytest.mark.parametrize(("selectors", "fires"), [
    ([{"includeManagementEvents": False, "readWriteType": "All"}], True),
    ([{"includeManagementEvents": True, "readWriteType": "WriteOnly"}], True),
    ([{"includeManagementEvents": False}, {"readWriteType": "All"}], False),  # the second selector records them
    ([{"includeManagementEvents": UNKNOWN}], False),
    (UNKNOWN, False),
])
def test_trail_records_management_events(selectors: Any, fires: bool) -> None:
    w = world()
    props(w["trail"])["eventSelectors"] = selectors
    assert bool(check(aud.trail_records_management_events, w)) is fires


def test_trail_key_must_be_the_audit_logs_key_and_may_be_unknown() -> None:
    w = world()
    props(w["trail"])["kmsKeyId"] = UNKNOWN
    assert check(aud.trail_is_encrypted_with_the_audit_logs_key, w) == []
    w["trail"].property_dependencies["kmsKeyId"] = [w["session-key"]]
    assert check(aud.trail_is_encrypted_with_the_audit_logs_key, w)


def test_trail_log_group_must_be_encrypted_with_the_audit_logs_key() -> None:
    w = world()
    props(w["trail-logs"])["kmsKeyId"] = UNKNOWN  # unknown at preview, but it came from the audit-logs key
    assert check(aud.trail_log_group_is_encrypted_with_the_audit_logs_key, w) == []
    w["trail-logs"].property_dependencies["kmsKeyId"] = [w["session-key"]]
    assert check(aud.trail_log_group_is_encrypted_with_the_audit_logs_key, w)
    del props(w["trail-logs"])["kmsKeyId"]
    w["trail-logs"].property_dependencies.pop("kmsKeyId")
    assert check(aud.trail_log_group_is_encrypted_with_the_audit_logs_key, w)


def test_trail_log_group_must_come_from_this_stack() -> None:
    w = world()
    w["trail"].property_dependencies["cloudWatchLogsGroupArn"] = []  # a literal ARN typed in by hand
    assert check(aud.trail_delivers_to_a_log_group_of_this_stack, w)


def test_data_events_need_a_trail_reading_and_writing_the_documents_bucket() -> None:
    assert check(aud.case_document_access_is_recorded, without(world(), "trail"))
    w = world()
    w["trail"].property_dependencies["eventSelectors"] = []  # values from some other bucket
    assert check(aud.case_document_access_is_recorded, w)
    w = world()
    props(w["trail"])["eventSelectors"][0]["readWriteType"] = "ReadOnly"
    assert check(aud.case_document_access_is_recorded, w)


def test_data_event_values_unknown_at_preview_pass() -> None:
    w = world()
    props(w["trail"])["eventSelectors"][0]["dataResources"][0]["values"] = [UNKNOWN]
    assert check(aud.case_document_access_is_recorded, w) == []
    props(w["trail"])["eventSelectors"] = UNKNOWN
    assert check(aud.case_document_access_is_recorded, w) == []


@pytest.mark.parametrize(("env", "mode", "fires"), [
    ("prod", "GOVERNANCE", True), ("dev", "GOVERNANCE", False), ("prod", "COMPLIANCE", False),
])
def test_archive_lock_mode_by_tier(env: str, mode: str, fires: bool) -> None:
    w = world(env)
    props(w["archive-lock"])["rule"]["defaultRetention"]["mode"] = mode
    assert bool(check(aud.audit_archive_locks_objects_by_default, w)) is fires


def test_archive_lock_needs_a_default_retention() -> None:
    assert check(aud.audit_archive_locks_objects_by_default, without(world(), "archive-lock"))
    w = world()
    props(w["archive-lock"])["rule"]["defaultRetention"] = {"mode": "COMPLIANCE"}
    assert check(aud.audit_archive_locks_objects_by_default, w)
    props(w["archive-lock"])["rule"]["defaultRetention"] = UNKNOWN
    assert check(aud.audit_archive_locks_objects_by_default, w) == []


def test_archive_versioning_is_required() -> None:
    assert check(aud.audit_archive_keeps_every_version, without(world(), "archive-versioning"))


@pytest.mark.parametrize(("statement", "fires"), [
    ({"Effect": "Deny", "Principal": "*", "Action": ["s3:Delete*"]}, False),  # a wildcard covers every delete
    ({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*"}, False),
    ({"Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"]}, True),  # policy deletable
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:Delete*", "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "x"}}}, True),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:Delete*"}, True),
])
def test_archive_policy_deny(statement: dict[str, Any], fires: bool) -> None:
    w = world()
    props(w["archive-policy"])["policy"] = policy(statement)
    assert bool(check(aud.audit_archive_policy_denies_evidence_destruction, w)) is fires


def test_archive_policy_unknown_at_preview_passes() -> None:
    w = world()
    props(w["archive-policy"])["policy"] = UNKNOWN
    assert check(aud.audit_archive_policy_denies_evidence_destruction, w) == []


def test_access_logs_must_go_to_another_bucket() -> None:
    w = world()
    w["documents-logging"].property_dependencies["targetBucket"] = [w["documents"]]  # logs into itself
    assert check(aud.evidence_buckets_log_requests_to_a_separate_bucket, w)
    assert check(aud.evidence_buckets_log_requests_to_a_separate_bucket, without(world(), "archive-logging"))
    w = world()
    w["archive-logging"].property_dependencies["targetBucket"] = []  # a bucket name typed in by hand
    assert check(aud.evidence_buckets_log_requests_to_a_separate_bucket, w)


def test_access_log_target_unknown_at_preview_passes_through_its_source() -> None:
    w = world()
    props(w["documents-logging"])["targetBucket"] = UNKNOWN
    assert check(aud.evidence_buckets_log_requests_to_a_separate_bucket, w) == []


@pytest.mark.parametrize(("env", "days", "fires"), [
    ("prod", 180, True), ("prod", 365, False), ("prod", 0, False), ("prod", UNKNOWN, False), ("dev", 90, False), ("dev", 60, True),
])
def test_audit_log_retention_floor(env: str, days: Any, fires: bool) -> None:
    w = world(env)
    props(w["trail-logs"])["retentionInDays"] = days
    assert bool(check(aud.audit_log_groups_meet_the_retention_floor, w)) is fires


def test_session_log_group_is_held_to_the_floor() -> None:
    w = world()
    props(w["session-logs"])["retentionInDays"] = 30
    assert check(aud.audit_log_groups_meet_the_retention_floor, w)


@pytest.mark.parametrize(("inputs", "fires"), [
    ({"kmsKeyId": ""}, True),
    ({"cloudWatchEncryptionEnabled": False}, True),
    ({"s3BucketName": "transcripts", "s3EncryptionEnabled": False}, True),
    ({"s3EncryptionEnabled": False}, False),  # no S3 copy: nothing to encrypt there
    ({"cloudWatchLogGroupName": ""}, True),
])
def test_session_preferences(inputs: dict[str, Any], fires: bool) -> None:
    w = world()
    props(w["session-preferences"])["content"] = session_content(**inputs)
    assert bool(check(aud.admin_sessions_are_encrypted_and_recorded, w)) is fires


def test_session_preferences_unknown_at_preview_rely_on_their_sources() -> None:
    w = world()
    props(w["session-preferences"])["content"] = UNKNOWN
    assert check(aud.admin_sessions_are_encrypted_and_recorded, w) == []
    w["session-preferences"].property_dependencies["content"] = []
    assert check(aud.admin_sessions_are_encrypted_and_recorded, w)


def test_managed_instances_need_session_preferences() -> None:
    assert check(aud.admin_sessions_are_encrypted_and_recorded, without(world(), "session-preferences"))
    assert check(aud.admin_sessions_are_encrypted_and_recorded, without(world(), "session-preferences", "launch-template")) == []


# --- MON ----------------------------------------------------------------------------------------------------------

def test_guardduty_features() -> None:
    assert check(mon.guardduty_watches_data_events_malware_and_database_logins, without(world(), "feature-RDS_LOGIN_EVENTS"))
    assert check(mon.guardduty_watches_data_events_malware_and_database_logins, without(world(), "detector"))
    w = world()
    props(w["feature-S3_DATA_EVENTS"])["status"] = UNKNOWN
    assert check(mon.guardduty_watches_data_events_malware_and_database_logins, w) == []


def test_security_hub_standards() -> None:
    assert check(mon.security_hub_scores_fsbp_cis_and_nist, without(world(), "standard-1"))
    w = world()
    props(w["standard-1"])["standardsArn"] = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"
    assert check(mon.security_hub_scores_fsbp_cis_and_nist, w)
    props(w["standard-1"])["standardsArn"] = UNKNOWN
    assert check(mon.security_hub_scores_fsbp_cis_and_nist, w) == []


@pytest.mark.parametrize(("value", "fires"), [(True, False), (None, False), (UNKNOWN, False), (False, True)])
def test_security_hub_enables_new_controls(value: object, fires: bool) -> None:
    w = world()
    if value is not None:
        props(w["hub"])["autoEnableControls"] = value
    assert bool(check(mon.security_hub_enables_new_controls, w)) is fires


def test_config_recorder_and_delivery() -> None:
    w = world()
    props(w["recorder"])["recordingGroup"]["includeGlobalResourceTypes"] = False
    assert check(mon.config_records_every_resource_type, w)
    assert check(mon.config_records_every_resource_type, without(world(), "recorder-status"))
    w = world()
    w["delivery"].property_dependencies["s3BucketName"] = [w["documents"]]
    assert check(mon.config_delivers_to_the_audit_archive, w)
    w = world()
    props(w["delivery"])["s3BucketName"] = UNKNOWN
    assert check(mon.config_delivers_to_the_audit_archive, w) == []


def test_managed_config_rules() -> None:
    assert check(mon.managed_config_rules_are_deployed, world()) == []
    assert check(mon.managed_config_rules_are_deployed, without(world(), "rule-SECURITYHUB_ENABLED"))
    assert check(mon.managed_config_rules_are_deployed, without(world(), "rule-WAFV2_LOGGING_ENABLED"))
    assert check(mon.managed_config_rules_are_deployed, without(world(), "rule-RDS_MULTI_AZ_SUPPORT"))  # prod's own
    assert check(mon.managed_config_rules_are_deployed, world("dev")) == []  # dev does not need Multi-AZ's rule


def test_config_rule_floor_is_what_the_component_deploys() -> None:
    """The floor and components/detection.py agree (the shipped stacks pass); the floor is not read from it."""
    from components.detection import CONFIG_RULES as DEPLOYED

    assert set(mon.required_config_rules("prod")) == {r.identifier for r in DEPLOYED}
    assert set(mon.required_config_rules("dev")) == {r.identifier for r in DEPLOYED if not r.prod_only}


def test_alarm_row_patterns_fill_placeholders_only() -> None:
    row = mon.break_glass_row()
    assert row.matches(rendered(row))
    assert row.matches(rendered(row).replace(" || ", "\n    || "))  # whitespace is not significant
    assert not row.matches(rendered(row).replace("||", "&&"))
    assert not row.matches(mon.PLACEHOLDER_RE.sub('x" || "y', row.pattern))  # a placeholder cannot smuggle in syntax


def test_cis_filters_must_read_the_trail_log_group() -> None:
    w = world()
    w["root-account-usage-filter"].property_dependencies["logGroupName"] = [w["session-logs"]]
    assert check(mon.cis_metric_filters_watch_the_trail_log_group, w)
    assert check(mon.cis_metric_filters_watch_the_trail_log_group, without(world(), "vpc-changes-filter"))


def test_cis_filter_pattern_unknown_at_preview_passes() -> None:
    w = world()
    props(w["root-account-usage-filter"])["pattern"] = UNKNOWN
    assert check(mon.cis_metric_filters_watch_the_trail_log_group, w) == []


@pytest.mark.parametrize(("change", "fires"), [
    ({"alarmActions": []}, True),
    ({"actionsEnabled": False}, True),
    ({"comparisonOperator": "GreaterThanThreshold", "threshold": 0}, False),
    ({"comparisonOperator": "GreaterThanThreshold", "threshold": 1}, True),
    ({"alarmActions": [UNKNOWN]}, False),
])
def test_cis_alarms(change: dict[str, Any], fires: bool) -> None:
    w = world()
    props(w["iam-policy-changes-alarm"]).update(change)
    assert bool(check(mon.cis_alarms_page_the_incident_topic, w)) is fires


def test_alarm_must_page_the_incident_topic_not_another() -> None:
    w = world()
    other = Builder("prod")
    w["iam-policy-changes-alarm"].property_dependencies["alarmActions"] = [other.add("other-topic", mon.TOPIC, {})]
    assert check(mon.cis_alarms_page_the_incident_topic, w)


def test_break_glass_alarm() -> None:
    assert check(mon.break_glass_use_raises_an_alarm, without(world(), "break-glass-use-alarm"))
    assert check(mon.break_glass_use_raises_an_alarm, without(world(), "break-glass-use-filter"))
    assert check(mon.cis_alarms_page_the_incident_topic, without(world(), "break-glass-use-alarm")) == []  # MON-05's alone


@pytest.mark.parametrize(("source", "detail", "fires"), [
    ("guardduty", {"severity": [{"numeric": [">=", 9]}]}, True),
    ("guardduty", {"severity": [{"numeric": [">", 6.9]}]}, False),
    ("guardduty", {"severity": [{"numeric": [">=", 7, "<", 9]}]}, True),  # critical findings left out
    ("guardduty", {}, False),  # every finding
    ("securityhub", {"findings": {"Severity": {"Label": ["CRITICAL"]}}}, True),
    ("securityhub", {"findings": {}}, False),
    ("macie", {"severity": {"description": ["Low"]}}, True),
])
def test_finding_patterns(source: str, detail: dict[str, Any], fires: bool) -> None:
    w = world()
    props(w[f"{source}-rule"])["eventPattern"] = json.dumps({**FINDING_PATTERNS[source], "detail": detail})
    assert bool(check(mon.high_severity_findings_are_matched, w)) is fires


def test_finding_rules_disabled_unknown_and_untargeted() -> None:
    w = world()
    props(w["macie-rule"])["state"] = "DISABLED"
    assert check(mon.high_severity_findings_are_matched, w)
    w = world()
    props(w["macie-rule"])["eventPattern"] = UNKNOWN
    assert check(mon.high_severity_findings_are_matched, w) == []
    assert check(mon.finding_rules_target_the_incident_topic, without(world(), "guardduty-target"))


def test_incident_topic_needs_enough_people() -> None:
    rule = mon.incident_topic_reaches_enough_people
    assert check(rule, world()) == []
    assert check(rule, without(world(), "subscription", "subscription-2"))
    assert check(rule, without(world(), "topic", "topic-policy", "subscription", "subscription-2"))
    assert check(rule, without(world(), "subscription-2"))  # one person in prod: below the floor of two
    assert check(rule, without(world("dev"), "subscription-2")) == []  # dev's floor is one
    w = world()
    props(w["subscription"])["protocol"] = "lambda"
    assert check(rule, w)
    w = world()
    props(w["subscription-2"])["endpoint"] = "ONCALL@lawfirm.example"  # the same mailbox twice is one person
    assert check(rule, w)


@pytest.mark.parametrize(("statement", "fires"), [
    ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
      "Condition": {"ArnLike": {"aws:SourceArn": "arn:rule"}}}, False),
    ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish"}, True),  # any account
    ({"Effect": "Allow", "Principal": "*", "Action": "sns:*", "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}, True),
    ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sns:GetTopicAttributes"}, False),  # not publishing
])
def test_incident_topic_policy(statement: dict[str, Any], fires: bool) -> None:
    w = world()
    props(w["topic-policy"])["policy"] = policy(*TOPIC_STATEMENTS, statement)
    assert bool(check(mon.only_this_accounts_alarms_and_events_publish_to_the_incident_topic, w)) is fires


@pytest.mark.parametrize(("dropped", "message"), [
    (0, "does not let the alarms and event rules publish"), (1, "accepts publishing over plain HTTP")])
def test_incident_topic_policy_needs_its_publishers_and_tls(dropped: int, message: str) -> None:
    w = world()
    props(w["topic-policy"])["policy"] = policy(*(s for i, s in enumerate(TOPIC_STATEMENTS) if i != dropped))
    assert any(message in m for m in check(mon.only_this_accounts_alarms_and_events_publish_to_the_incident_topic, w))


def test_incident_topic_policy_missing_or_unknown() -> None:
    assert check(mon.only_this_accounts_alarms_and_events_publish_to_the_incident_topic, without(world(), "topic-policy"))
    w = world()
    props(w["topic-policy"])["policy"] = UNKNOWN
    assert check(mon.only_this_accounts_alarms_and_events_publish_to_the_incident_topic, w) == []


@pytest.mark.parametrize(("key", "prop", "text", "fires"), [
    ("root-account-usage-alarm", "alarmDescription", "Root was used.", True),
    ("root-account-usage-alarm", "alarmDescription", "Root was used. See runbooks/alarms/root.md", False),
    ("guardduty-rule", "description", "Findings. Runbook: https://wiki/runbooks", True),
    ("rule-CLOUD_TRAIL_ENABLED", "description", UNKNOWN, False),
])
def test_alerts_name_their_runbook(key: str, prop: str, text: Any, fires: bool) -> None:
    w = world()
    props(w[key])[prop] = text
    assert bool(check(mon.alerts_name_their_runbook, w)) is fires


# --- MON-07 -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("interval", "fires"), [(60, False), (1, False), (UNKNOWN, False), (0, True), (None, True),
                                                 (120, True)])
def test_case_database_sends_enhanced_monitoring(interval: Any, fires: bool) -> None:
    w = world()
    props(w["database"])["monitoringInterval"] = interval
    assert bool(check(mon.case_database_sends_enhanced_monitoring, w)) is fires


def test_monitoring_role_must_come_from_this_stack() -> None:
    w = world()
    w["database"].property_dependencies["monitoringRoleArn"] = []
    assert check(mon.enhanced_monitoring_uses_its_own_rds_monitoring_role, w)
    props(w["database"])["monitoringInterval"] = 0  # monitoring off: the other rule reports it, not this one
    assert check(mon.enhanced_monitoring_uses_its_own_rds_monitoring_role, w) == []


@pytest.mark.parametrize(("principal", "fires"), [
    ({"Service": "monitoring.rds.amazonaws.com"}, False),
    ({"Service": ["monitoring.rds.amazonaws.com"]}, False),
    ({"Service": ["monitoring.rds.amazonaws.com", "ec2.amazonaws.com"]}, True),
    ({"Service": "ec2.amazonaws.com"}, True),
    ({"AWS": "arn:aws:iam::123456789012:root"}, True),
    ("*", True),
])
def test_monitoring_role_trusts_only_rds_monitoring(principal: Any, fires: bool) -> None:
    w = world()
    props(w["monitoring-role"])["assumeRolePolicy"] = policy(
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    assert bool(check(mon.enhanced_monitoring_uses_its_own_rds_monitoring_role, w)) is fires


def test_monitoring_role_needs_the_managed_monitoring_policy() -> None:
    w = world()
    props(w["monitoring-role-managed"])["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert check(mon.enhanced_monitoring_uses_its_own_rds_monitoring_role, w)
    assert check(mon.enhanced_monitoring_uses_its_own_rds_monitoring_role, without(world(), "monitoring-role-managed"))
    w = world()
    props(w["monitoring-role-managed"])["policyArn"] = UNKNOWN
    assert check(mon.enhanced_monitoring_uses_its_own_rds_monitoring_role, w) == []


# --- issue 14: the size of a setting (floors of policies/floors.yaml) ----------------------------------------------

@pytest.mark.parametrize(("values", "fires"), [
    (["arn:documents/"], False), (["arn:documents/matters/"], True), (["arn:documents/matters/", "arn:documents/"], False),
    (["arn:aws:s3"], False), ([UNKNOWN], False),
])
def test_data_events_cover_the_whole_bucket(values: list[Any], fires: bool) -> None:
    w = world()
    props(w["trail"])["eventSelectors"][0]["dataResources"][0]["values"] = values
    assert bool(check(aud.case_document_access_is_recorded, w)) is fires


@pytest.mark.parametrize(("env", "retention", "fires"), [
    ("prod", {"mode": "COMPLIANCE", "days": 1}, True), ("prod", {"mode": "COMPLIANCE", "days": 2555}, False),
    ("prod", {"mode": "COMPLIANCE", "years": 7}, False), ("prod", {"mode": "COMPLIANCE", "years": 1}, True),
    ("dev", {"mode": "GOVERNANCE", "days": 30}, True), ("dev", {"mode": "GOVERNANCE", "days": 365}, False),
    ("staging", {"days": 730}, True), ("prod", {"mode": "COMPLIANCE", "days": UNKNOWN}, False),
])
def test_archive_lock_length_and_mode_meet_the_floor(env: str, retention: dict[str, Any], fires: bool) -> None:
    w = world(env)
    props(w["archive-lock"])["rule"]["defaultRetention"] = retention
    assert bool(check(aud.audit_archive_locks_objects_by_default, w)) is fires


@pytest.mark.parametrize(("statement", "fires"), [
    (LOG_TAMPER_DENY, False),
    ({**LOG_TAMPER_DENY, "Action": ["s3:PutObject"]}, True),
    ({**LOG_TAMPER_DENY, "Action": "s3:Delete*"}, False),
    ({**LOG_TAMPER_DENY, "Condition": {"StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/ops"}}}, True),
    ({**LOG_TAMPER_DENY, "Effect": "Allow"}, True),
    # The Deny must cover this bucket's objects (issue 14): judged as IAM evaluates a deletion request.
    ({**LOG_TAMPER_DENY, "Resource": "arn:aws:s3:::other-logs/*"}, True),
    ({**LOG_TAMPER_DENY, "Resource": f"{LOG_BUCKET_ARN}/alb/*"}, True),
    ({**LOG_TAMPER_DENY, "Resource": LOG_BUCKET_ARN}, True),
    ({**LOG_TAMPER_DENY, "Resource": "arn:aws:s3:::access-*/*"}, False),
    ({**LOG_TAMPER_DENY, "Resource": "*"}, False),
    ({**LOG_TAMPER_DENY, "Resource": [LOG_BUCKET_ARN, f"{LOG_BUCKET_ARN}/*"]}, False),
    ({**LOG_TAMPER_DENY, "NotResource": f"{LOG_BUCKET_ARN}/*"}, True),
    ({**LOG_TAMPER_DENY, "Condition": {"Bool": {"aws:PrincipalIsAWSService": "false"},
                                       "StringNotEquals": {"aws:PrincipalAccount": aud.PROBE_ACCOUNT}}}, True),
])
def test_access_log_bucket_denies_deleting_logs(statement: dict[str, Any], fires: bool) -> None:
    w = world()
    props(w["access-logs-policy"])["policy"] = policy(statement)
    assert bool(check(aud.access_log_buckets_deny_deleting_logs, w)) is fires


@pytest.mark.parametrize(("exempted", "fires"), [("123456789012", True), ("127311923021", False)])
def test_access_log_deny_exempting_the_stacks_own_account_fires(exempted: str, fires: bool) -> None:
    """An exemption of the account the stack's ARNs name lets its own principals delete logs; the ELB account's does not."""
    w = world()
    props(w["trail-logs"])["arn"] = "arn:aws:logs:us-east-1:123456789012:log-group:trail"
    condition = {"Bool": {"aws:PrincipalIsAWSService": "false"}, "StringNotEquals": {"aws:PrincipalAccount": exempted}}
    props(w["access-logs-policy"])["policy"] = policy({**LOG_TAMPER_DENY, "Condition": condition})
    assert bool(check(aud.access_log_buckets_deny_deleting_logs, w)) is fires


@pytest.mark.parametrize("known", [{"bucket": "access-logs"}, {"arn": LOG_BUCKET_ARN}])
def test_access_log_bucket_named_by_its_arn_or_its_name(known: dict[str, Any]) -> None:
    w = world()
    props(w["access-logs"]).clear()
    props(w["access-logs"]).update(known)
    assert check(aud.access_log_buckets_deny_deleting_logs, w) == []
    props(w["access-logs-policy"])["policy"] = policy({**LOG_TAMPER_DENY, "Resource": "arn:aws:s3:::other-logs/*"})
    assert len(check(aud.access_log_buckets_deny_deleting_logs, w)) == 1


def test_access_log_bucket_arn_unknown_at_preview_passes() -> None:
    w = world()
    props(w["access-logs"]).update(arn=UNKNOWN, bucket=UNKNOWN)
    props(w["access-logs-policy"])["policy"] = policy({**LOG_TAMPER_DENY, "Resource": "arn:aws:s3:::other-logs/*"})
    assert check(aud.access_log_buckets_deny_deleting_logs, w) == []


def test_access_log_bucket_policy_unknown_at_preview_passes() -> None:
    w = world()
    props(w["access-logs-policy"])["policy"] = UNKNOWN
    assert check(aud.access_log_buckets_deny_deleting_logs, w) == []


@pytest.mark.parametrize(("env", "days", "fires"), [
    ("prod", 7, True), ("prod", 90, False), ("prod", 0, False), ("dev", 30, False), ("dev", 14, True), ("staging", 1, True),
    ("prod", UNKNOWN, False),
])
def test_operational_log_retention_floor(env: str, days: Any, fires: bool) -> None:
    w = world(env)
    b = Builder(env)
    b.world = w
    b.add("flow-logs", aud.LOG_GROUP, {"retentionInDays": days, "tags": {"data-classification": "operational-logs"}})
    assert bool(check(aud.operational_log_groups_meet_the_retention_floor, w)) is fires


@pytest.mark.parametrize(("frequency", "fires"), [
    ("FIFTEEN_MINUTES", False), ("ONE_HOUR", True), ("SIX_HOURS", True), (None, True), (UNKNOWN, False),
])
def test_guardduty_publishes_findings_promptly(frequency: Any, fires: bool) -> None:
    w = world()
    detector = props(w["detector"])
    detector.pop("findingPublishingFrequency")
    if frequency is not None:
        detector["findingPublishingFrequency"] = frequency
    assert bool(check(mon.guardduty_publishes_findings_promptly, w)) is fires


@pytest.mark.parametrize(("env", "days", "status", "fires"), [
    ("prod", 1, "Enabled", True), ("prod", 400, "Enabled", False), ("prod", 1, "Disabled", False), ("dev", 90, "Enabled", False),
    ("dev", 30, "Enabled", True), ("prod", UNKNOWN, "Enabled", False),
])
def test_access_logs_are_kept_for_the_floor(env: str, days: Any, status: str, fires: bool) -> None:
    w = world(env)
    b = Builder(env)
    b.world = w
    b.add("access-logs-lifecycle", aud.BUCKET_LIFECYCLE, {"rules": [
        {"id": "expire-access-logs", "status": status, "filter": {}, "expiration": {"days": days}}]}, {"bucket": ["access-logs"]})
    assert bool(check(aud.access_logs_are_kept_for_the_floor, w)) is fires
