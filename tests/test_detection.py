"""ThreatDetection (and its IncidentAlerting child), evaluated alone against literal inputs, for prod and dev."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pulumi_aws as aws
import pytest

from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.settings import from_pulumi, load_settings
from components.detection import ThreatDetection, ThreatDetectionArgs
from tests.conftest import policy, statement

ACCOUNT = "123456789012"
TRAIL_LOG_GROUP = "/caseshield/test/cloudtrail"
ARCHIVE_BUCKET = "cs-test-audit-archive"
DOCUMENTS_BUCKET = "cs-test-case-documents"
STACKS = ("prod", "dev")
RUNBOOK_RE = re.compile(r"runbooks/[a-z0-9/-]+\.md")

CIS_ALARMS = {
    # id: (runbook, a fragment the CIS v3.0.0 pattern must contain)
    "unauthorized-api-calls": ("runbooks/alarms/unauthorized-api-calls.md", '($.errorCode = "AccessDenied*")'),
    "console-signin-without-mfa": ("runbooks/alarms/console-signin-without-mfa.md", '($.additionalEventData.MFAUsed != "Yes")'),
    "root-account-usage": ("runbooks/alarms/root-account-usage.md", '$.userIdentity.type = "Root"'),
    "iam-policy-changes": ("runbooks/alarms/iam-policy-changes.md", "($.eventName = DetachGroupPolicy)"),
    "cloudtrail-changes": ("runbooks/alarms/cloudtrail-changes.md", "($.eventName = StopLogging)"),
    "console-auth-failures": ("runbooks/alarms/console-auth-failures.md", '($.errorMessage = "Failed authentication")'),
    "kms-key-disable-or-deletion": ("runbooks/alarms/kms-key-disable-or-deletion.md", "($.eventName = ScheduleKeyDeletion)"),
    "s3-bucket-policy-changes": ("runbooks/alarms/s3-bucket-policy-changes.md", "($.eventName = PutBucketPolicy)"),
    "config-changes": ("runbooks/alarms/config-changes.md", "($.eventName = StopConfigurationRecorder)"),
    "security-group-changes": ("runbooks/alarms/network-changes.md", "($.eventName = AuthorizeSecurityGroupIngress)"),
    "nacl-changes": ("runbooks/alarms/network-changes.md", "($.eventName = ReplaceNetworkAclAssociation)"),
    "network-gateway-changes": ("runbooks/alarms/network-changes.md", "($.eventName = AttachInternetGateway)"),
    "route-table-changes": ("runbooks/alarms/network-changes.md", "($.eventName = DisassociateRouteTable)"),
    "vpc-changes": ("runbooks/alarms/network-changes.md", "($.eventName = CreateVpcPeeringConnection)"),
}
EXPECTED_CONFIG_RULES = {
    "CLOUD_TRAIL_ENABLED", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", "CLOUD_TRAIL_ENCRYPTION_ENABLED",
    "CMK_BACKING_KEY_ROTATION_ENABLED", "S3_BUCKET_PUBLIC_READ_PROHIBITED", "S3_BUCKET_SSL_REQUESTS_ONLY",
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "S3_DEFAULT_ENCRYPTION_KMS", "RDS_STORAGE_ENCRYPTED",
    "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", "IAM_PASSWORD_POLICY", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
    "ROOT_ACCOUNT_MFA_ENABLED", "VPC_FLOW_LOGS_ENABLED", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", "RESTRICTED_INCOMING_TRAFFIC",
    "INCOMING_SSH_DISABLED", "EC2_IMDSV2_CHECK", "ENCRYPTED_VOLUMES", "EC2_EBS_ENCRYPTION_BY_DEFAULT",
    "DYNAMODB_PITR_ENABLED", "GUARDDUTY_ENABLED_CENTRALIZED", "WAFV2_LOGGING_ENABLED",
}
ALERT_RUNBOOKS = {
    "runbooks/alarms/unauthorized-api-calls.md", "runbooks/alarms/console-signin-without-mfa.md",
    "runbooks/alarms/root-account-usage.md", "runbooks/alarms/iam-policy-changes.md",
    "runbooks/alarms/cloudtrail-changes.md", "runbooks/alarms/console-auth-failures.md",
    "runbooks/alarms/kms-key-disable-or-deletion.md", "runbooks/alarms/s3-bucket-policy-changes.md",
    "runbooks/alarms/config-changes.md", "runbooks/alarms/network-changes.md", "runbooks/alarms/break-glass-use.md",
    "runbooks/findings/guardduty-high-severity.md", "runbooks/findings/securityhub-critical-high.md",
    "runbooks/findings/macie-sensitive-data.md",
    *(f"runbooks/alarms/{alarm_id}.md" for alarm_id in ("permissions-boundary-changes", "segregation-of-duties-changes",
                                                        "break-glass-role-changes", "deployer-outside-deployment")),
}
# Ours beside break-glass use: the IAM guardrails of issue 11 (tests/test_guardrail_alarms.py tests their patterns).
GUARDRAIL_ALARMS = ("permissions-boundary-changes", "segregation-of-duties-changes", "break-glass-role-changes",
                    "deployer-outside-deployment")
KNOWN_RUNBOOKS = ALERT_RUNBOOKS | {"runbooks/incident-response.md"}

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
CONFIG_RULE = "aws:cfg/rule:Rule"


def program() -> None:
    settings = from_pulumi()
    key = aws.kms.Key("ops-key")
    ThreatDetection("detection", ThreatDetectionArgs(
        settings=settings, alerts_key=key, trail_log_group_name=TRAIL_LOG_GROUP, audit_archive_bucket=ARCHIVE_BUCKET,
        documents_bucket_name=DOCUMENTS_BUCKET, account_id=ACCOUNT, partition="aws",
    ))


@cache
def graph_for(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


@pytest.fixture(params=STACKS)
def graph(request: pytest.FixtureRequest) -> ResourceGraph:
    return graph_for(request.param)


def topic(graph: ResourceGraph) -> RecordedResource:
    return graph.one("aws:sns/topic:Topic", "detection-alerting-incidents")


def _topic_arn(graph: ResourceGraph) -> str:
    arn = graph.one("aws:sns/topicPolicy:TopicPolicy").inputs["arn"]
    assert arn.endswith(f":cs-{graph.stack}-incidents")
    return str(arn)


def by_name_suffix(graph: ResourceGraph, type_: str, prefix: str) -> dict[str, RecordedResource]:
    return {r.name.removeprefix(prefix): r for r in graph.of_type(type_)}


def alarms(graph: ResourceGraph) -> dict[str, RecordedResource]:
    return by_name_suffix(graph, ALARM, "detection-alerting-")


def metric_filters(graph: ResourceGraph) -> dict[str, RecordedResource]:
    return {k.removesuffix("-filter"): v for k, v in by_name_suffix(graph, FILTER, "detection-alerting-").items()}


def event_rules(graph: ResourceGraph) -> dict[str, RecordedResource]:
    return by_name_suffix(graph, EVENT_RULE, "detection-alerting-")


def config_rules(graph: ResourceGraph) -> dict[str, RecordedResource]:
    return {r.inputs["source"]["sourceIdentifier"]: r for r in graph.of_type(CONFIG_RULE)}


def depends(resource: RecordedResource, on: RecordedResource) -> bool:
    return on.urn in resource.dependencies


# -- structure -----------------------------------------------------------------------------------------------------

def test_every_resource_lives_under_the_component(graph: ResourceGraph) -> None:
    component = graph.one("caseshield:detection:ThreatDetection", "detection")
    alerting = graph.one("caseshield:alerting:IncidentAlerting", "detection-alerting")
    assert alerting.parent == component.urn
    descendants = {r.urn for r in graph.descendants(component.urn)}
    strays = [r.name for r in graph.resources if r.type.startswith("aws:") and r.name != "ops-key" and r.urn not in descendants]
    assert strays == []
    assert "topic_arn" in component.outputs and "alarm_arns" in alerting.outputs


# -- GuardDuty -----------------------------------------------------------------------------------------------------

def test_guardduty_detector_and_features_enabled(graph: ResourceGraph) -> None:
    detector = graph.one("aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    assert detector.inputs["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = graph.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    assert {f.inputs["name"] for f in features} == {"S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS"}
    for feature in features:
        assert feature.inputs["status"] == "ENABLED"
        assert graph.depends_on(feature, "detectorId") == [detector]


# -- Security Hub --------------------------------------------------------------------------------------------------

def test_security_hub_subscribes_three_standards_after_the_account(graph: ResourceGraph) -> None:
    account = graph.one("aws:securityhub/account:Account")
    assert account.inputs["enableDefaultStandards"] is False
    subscriptions = graph.of_type("aws:securityhub/standardsSubscription:StandardsSubscription")
    assert {s.inputs["standardsArn"] for s in subscriptions} == {
        "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0",
        "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0",
        "arn:aws:securityhub:us-east-1::standards/nist-800-53/v/5.0.0",
    }
    assert all(depends(s, account) for s in subscriptions)


# -- AWS Config ----------------------------------------------------------------------------------------------------

def test_config_records_everything_into_the_archive(graph: ResourceGraph) -> None:
    recorder = graph.one("aws:cfg/recorder:Recorder")
    assert recorder.inputs["recordingGroup"]["allSupported"] is True
    assert recorder.inputs["recordingGroup"]["includeGlobalResourceTypes"] is True
    role = graph.one("aws:iam/role:Role", "detection-config-role")
    assert graph.depends_on(recorder, "roleArn") == [role]
    assert statement_principal(policy(role, "assumeRolePolicy")) == {"Service": "config.amazonaws.com"}
    attachment = graph.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "detection-config-role-managed")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
    delivery = policy(graph.one("aws:iam/rolePolicy:RolePolicy", "detection-config-role-delivery"))
    assert statement(delivery, "DeliverUnderConfigPrefix")["Resource"] == f"arn:aws:s3:::{ARCHIVE_BUCKET}/config/AWSLogs/{ACCOUNT}/*"

    channel = graph.one("aws:cfg/deliveryChannel:DeliveryChannel")
    assert channel.inputs["s3BucketName"] == ARCHIVE_BUCKET
    assert channel.inputs["s3KeyPrefix"] == "config"
    status = graph.one("aws:cfg/recorderStatus:RecorderStatus")
    assert status.inputs["isEnabled"] is True
    assert depends(status, channel)


def statement_principal(document: dict[str, Any]) -> Any:
    (only,) = document["Statement"]
    return only["Principal"]


def test_config_rules_cover_the_controls(graph: ResourceGraph) -> None:
    rules = config_rules(graph)
    missing = EXPECTED_CONFIG_RULES - set(rules)
    assert not missing, f"missing Config rules: {sorted(missing)}"
    recorder = graph.one("aws:cfg/recorder:Recorder")
    for identifier, rule in rules.items():
        assert rule.inputs["source"]["owner"] == "AWS", identifier
        assert depends(rule, recorder), identifier
        assert len(rule.inputs["description"]) <= 256, identifier
    assert ("RDS_MULTI_AZ_SUPPORT" in rules) is (graph.stack == "prod")
    password = json.loads(rules["IAM_PASSWORD_POLICY"].inputs["inputParameters"])
    assert int(password["MinimumPasswordLength"]) >= 14


# -- incident topic ------------------------------------------------------------------------------------------------

def test_topic_is_encrypted_with_the_alerts_key(graph: ResourceGraph) -> None:
    incidents = topic(graph)
    assert incidents.inputs["name"] == f"cs-{graph.stack}-incidents"
    assert graph.depends_on(incidents, "kmsMasterKeyId") == [graph.one("aws:kms/key:Key", "ops-key")]


def test_topic_policy_admits_only_alarms_and_events_over_tls(graph: ResourceGraph) -> None:
    document = policy(graph.one("aws:sns/topicPolicy:TopicPolicy"))
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert sorted(allows[0]["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert allows[0]["Action"] == "sns:Publish"
    assert allows[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    deny = statement(document, "DenyInsecureTransport")
    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_one_email_subscription_per_alert_address(graph: ResourceGraph) -> None:
    settings = load_settings(graph.config, graph.stack)
    subscriptions = graph.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.inputs["endpoint"] for s in subscriptions) == sorted(settings.alert_emails)
    assert {s.inputs["protocol"] for s in subscriptions} == {"email"}
    assert all(graph.depends_on(s, "topic") == [topic(graph)] for s in subscriptions)


# -- CIS alarms ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alarm_id", [*CIS_ALARMS, "break-glass-use", *GUARDRAIL_ALARMS])
def test_alarm_filters_the_trail_and_pages_the_topic(graph: ResourceGraph, alarm_id: str) -> None:
    alarm, metric_filter = alarms(graph)[alarm_id], metric_filters(graph)[alarm_id]
    namespace = f"CaseShield/{graph.stack}/CISBenchmark"
    assert metric_filter.inputs["logGroupName"] == TRAIL_LOG_GROUP
    assert len(metric_filter.inputs["pattern"]) <= 1024
    transformation = metric_filter.inputs["metricTransformation"]
    assert (transformation["namespace"], transformation["value"]) == (namespace, "1")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (namespace, transformation["name"])
    assert alarm.inputs["threshold"] == 1
    assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm.inputs["period"] == 300
    assert alarm.inputs["treatMissingData"] == "notBreaching"
    assert alarm.inputs["alarmActions"] == [_topic_arn(graph)]
    assert graph.depends_on(alarm, "alarmActions") == [topic(graph)]


@pytest.mark.parametrize("alarm_id", CIS_ALARMS)
def test_cis_alarm_uses_the_benchmark_pattern_and_runbook(graph: ResourceGraph, alarm_id: str) -> None:
    runbook, fragment = CIS_ALARMS[alarm_id]
    assert fragment in metric_filters(graph)[alarm_id].inputs["pattern"]
    assert runbook in alarms(graph)[alarm_id].inputs["alarmDescription"]


def test_break_glass_alarm_watches_the_break_glass_role(graph: ResourceGraph) -> None:
    pattern = metric_filters(graph)["break-glass-use"].inputs["pattern"]
    role = f"cs-{graph.stack}-break-glass"
    assert f'$.userIdentity.sessionContext.sessionIssuer.userName = "{role}"' in pattern
    assert f'$.requestParameters.roleArn = "arn:aws:iam::{ACCOUNT}:role/{role}"' in pattern
    assert "<" not in pattern
    assert "runbooks/alarms/break-glass-use.md" in alarms(graph)["break-glass-use"].inputs["alarmDescription"]


def test_no_alarm_beyond_the_table(graph: ResourceGraph) -> None:
    assert set(alarms(graph)) == {*CIS_ALARMS, "break-glass-use", *GUARDRAIL_ALARMS}
    assert set(metric_filters(graph)) == set(alarms(graph))


# -- EventBridge ---------------------------------------------------------------------------------------------------

def test_event_rules_forward_urgent_findings_to_the_topic(graph: ResourceGraph) -> None:
    rules = event_rules(graph)
    patterns = {k: json.loads(r.inputs["eventPattern"]) for k, r in rules.items()}
    assert patterns["guardduty-high-severity"] == {
        "source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", 7]}]},
    }
    hub = patterns["securityhub-critical-high"]
    assert (hub["source"], hub["detail-type"]) == (["aws.securityhub"], ["Security Hub Findings - Imported"])
    findings = hub["detail"]["findings"]
    assert sorted(findings["Severity"]["Label"]) == ["CRITICAL", "HIGH"]
    assert findings["Workflow"]["Status"] == ["NEW"]
    macie = patterns["macie-sensitive-data"]
    assert (macie["source"], macie["detail-type"]) == (["aws.macie"], ["Macie Finding"])

    targets = graph.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert {t.inputs["rule"] for t in targets} == {r.inputs["name"] for r in rules.values()}
    assert all(t.inputs["arn"] == _topic_arn(graph) for t in targets)
    assert all(len(r.inputs["description"]) <= 512 for r in rules.values())


# -- Macie ---------------------------------------------------------------------------------------------------------

def test_macie_discovers_sensitive_data_in_the_documents_bucket(graph: ResourceGraph) -> None:
    account = graph.one("aws:macie2/account:Account")
    assert (account.inputs["status"], account.inputs["findingPublishingFrequency"]) == ("ENABLED", "FIFTEEN_MINUTES")
    job = graph.one("aws:macie2/classificationJob:ClassificationJob")
    assert job.inputs["s3JobDefinition"]["bucketDefinitions"] == [{"accountId": ACCOUNT, "buckets": [DOCUMENTS_BUCKET]}]
    assert job.inputs["jobType"] == "SCHEDULED"
    assert job.inputs["initialRun"] is True
    assert job.inputs["samplingPercentage"] == 100
    schedule = job.inputs["scheduleFrequency"]
    assert schedule == ({"dailySchedule": True} if graph.stack == "prod" else {"weeklySchedule": "MONDAY"})
    assert depends(job, account)


# -- runbooks ------------------------------------------------------------------------------------------------------

def test_every_alert_and_rule_names_its_runbook(graph: ResourceGraph) -> None:
    descriptions = {
        **{f"alarm {k}": r.inputs["alarmDescription"] for k, r in alarms(graph).items()},
        **{f"event rule {k}": r.inputs["description"] for k, r in event_rules(graph).items()},
        **{f"config rule {k}": r.inputs["description"] for k, r in config_rules(graph).items()},
    }
    named = {where: RUNBOOK_RE.findall(text) for where, text in descriptions.items()}
    assert [where for where, found in named.items() if len(found) != 1] == []
    paged = {found[0] for where, found in named.items() if not where.startswith("config rule")}
    assert paged == ALERT_RUNBOOKS
    assert {found[0] for found in named.values()} <= KNOWN_RUNBOOKS
