"""Monitoring and incident rules (MON-*, IR-*): detectors on, CIS alarms and finding routes paging the incident topic,
the topic reaching a person, and every signal naming its runbook.

The incident topic is the SNS topic of the IncidentAlerting component; an alarm or a finding route pages it when its
`alarmActions` (or the target's `arn`) came from that topic. Expected alarms are the rows of `policies/alarms.yaml`,
and, stated apart from it in `policies/floors.yaml`, the CloudTrail events the CIS alarms (MON-04) and the
break-glass and IAM-guardrail alarms (MON-05) must and must not match.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from caseshield import schemas
from caseshield.role_matrix import load as load_matrix
from policies.floors import TIERS, CisFilter, GuardrailFilter, cis_filters, guardrail_filters
from policies.floors import floor as floor_of
from policies.rules import resource_rule, stack_rule
from policies.rules._filter_pattern import PatternError, compile_pattern
from policies.rules._support import (
    as_list,
    belonging_to,
    conditions,
    consumers,
    covers,
    document,
    environment,
    get,
    is_anyone,
    is_list,
    is_unknown,
    judged_later,
    of_type,
    origin_buckets,
    peek,
    sources,
    statements,
    unique,
    violation,
)
from policies.rules.audit import archive_buckets, trail_log_groups
from policies.rules.identity import ROLE_POLICY, matrix_roles

ALARMS_PATH = Path(__file__).resolve().parent.parent / "alarms.yaml"
BREAK_GLASS_ALARM = "break-glass-use"
PLACEHOLDER_RE = re.compile(r"<[a-z0-9-]+>")

DETECTOR = "aws:guardduty/detector:Detector"
DETECTOR_FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
SECURITY_HUB = "aws:securityhub/account:Account"
STANDARDS_SUBSCRIPTION = "aws:securityhub/standardsSubscription:StandardsSubscription"
RECORDER = "aws:cfg/recorder:Recorder"
RECORDER_STATUS = "aws:cfg/recorderStatus:RecorderStatus"
DELIVERY_CHANNEL = "aws:cfg/deliveryChannel:DeliveryChannel"
CONFIG_RULE = "aws:cfg/rule:Rule"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
INCIDENT_ALERTING = "caseshield:alerting:IncidentAlerting"

GUARDDUTY_FEATURES = ("S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS")
# Security Hub standards by the tail of their ARN (`arn:<partition>:securityhub:<region>::standards/...`).
SECURITY_HUB_STANDARDS = (
    "standards/aws-foundational-security-best-practices/v/1.0.0",
    "standards/cis-aws-foundations-benchmark/v/3.0.0",
    "standards/nist-800-53/v/5.0.0",
)
# AWS managed Config rules (source identifiers) every stack must deploy: the evidence auditors ask for first. The
# floor is policies/floors.yaml `managed_config_rules` (prod adds its `prod_only` rules); the live audit asks for these.
CONFIG_RULES: tuple[str, ...] = tuple(floor_of("managed_config_rules")["every_stack"])
# An alarm pages on the first matching event: comparison operator -> largest threshold that still does.
FIRST_EVENT_THRESHOLDS = {"GreaterThanOrEqualToThreshold": 1.0, "GreaterThanThreshold": 0.0}
# Lowest GuardDuty severity that must page (7.0-8.9 High, 9.0-10.0 Critical) and the Security Hub labels that must.
GUARDDUTY_HIGH_SEVERITY = 7.0
GUARDDUTY_MAX_SEVERITY = 10.0
SECURITY_HUB_LABELS = ("CRITICAL", "HIGH")
MACIE_HIGH_SEVERITY = "High"
PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")
SOURCE_CONDITION_KEYS = ("aws:sourceaccount", "aws:sourceowner", "aws:sourcearn")
PERSON_PROTOCOLS = ("email", "email-json")
# Where each alerting resource names its runbook.
RUNBOOK_PROPS = {METRIC_ALARM: "alarmDescription", EVENT_RULE: "description", CONFIG_RULE: "description"}
RUNBOOK_RE = re.compile(r"\brunbooks/[a-z0-9/-]+\.md\b")


@dataclass(frozen=True)
class AlarmRow:
    """One row of policies/alarms.yaml: the metric its filter counts and the reviewed pattern (with placeholders)."""

    id: str
    metric: str
    pattern: str
    cis: str = ""  # the CIS recommendation ("4.1"); "" for ours (break-glass use, the IAM guardrails)

    def matches(self, pattern: str) -> bool:
        """`pattern` is the row's pattern with its placeholders filled in (whitespace runs are not significant)."""
        parts = [re.escape(" ".join(p.split())) for p in PLACEHOLDER_RE.split(self.pattern)]
        return re.fullmatch(r'[^"\s]+'.join(parts), " ".join(pattern.split())) is not None


def alarm_rows() -> tuple[AlarmRow, ...]:
    """The rows of policies/alarms.yaml, read once per loader: a data mutant (policies/mutants) swaps the loader for
    one that edits the file, and the rules must see that edit exactly as the program does."""
    return _alarm_rows(schemas.load)


@cache
def _alarm_rows(load: Any) -> tuple[AlarmRow, ...]:
    rows = load(ALARMS_PATH, "alarms")["alarms"]  # strict YAML + policies/schemas/alarms.schema.json
    return tuple(AlarmRow(str(r["id"]), str(r["metric"]), str(r["pattern"]).strip(), str(r["cis"])) for r in rows)


def monitored_rows() -> tuple[AlarmRow, ...]:
    """The CIS rows (MON-04); break-glass use and the IAM-guardrail rows are MON-05's."""
    return tuple(r for r in alarm_rows() if r.cis)


def guardrail_rows() -> tuple[AlarmRow, ...]:
    """The rows of ours (no CIS recommendation) other than break-glass use: the IAM guardrails of issue 11 (MON-05)."""
    return tuple(r for r in alarm_rows() if not r.cis and r.id != BREAK_GLASS_ALARM)


def break_glass_row() -> AlarmRow:
    return next(r for r in alarm_rows() if r.id == BREAK_GLASS_ALARM)


def is_incident_topic(resource: PolicyResource) -> bool:
    return resource.resource_type == TOPIC and resource.parent is not None and resource.parent.resource_type == INCIDENT_ALERTING


def incident_topics(args: StackValidationArgs) -> list[PolicyResource]:
    return [t for t in of_type(args, TOPIC) if is_incident_topic(t)]


def pages_incident_topic(resource: PolicyResource, prop: str) -> bool:
    return bool(peek(resource.props, prop)) and any(is_incident_topic(s) for s in sources(resource, prop))


# --- MON-01 -------------------------------------------------------------------------------------------------------

@stack_rule("MON-01")
def guardduty_watches_data_events_malware_and_database_logins(args: StackValidationArgs, report: ReportViolation) -> None:
    """GuardDuty is enabled with S3 data-event, EBS malware and RDS login protection.
    Implemented by components/detection.py (ThreatDetection._guardduty)."""
    detectors = of_type(args, DETECTOR)
    if not detectors:
        violation(report, "GuardDuty is not enabled in this stack", path="enable", actual=None, expected=f"a {DETECTOR}")
    for detector in detectors:
        if detector.props.get("enable") is False:
            violation(report, "GuardDuty detector is suspended", path="enable", actual=False, expected="true", urn=detector.urn)
        statuses = {f.props.get("name"): f.props.get("status") for f in consumers(args, detector, DETECTOR_FEATURE, "detectorId")}
        enabled = sorted(str(name) for name, status in statuses.items() if status == "ENABLED" or is_unknown(status))
        missing = [f for f in GUARDDUTY_FEATURES if f not in enabled]
        if missing:
            violation(report, f"GuardDuty protection plans are off: {missing}", path="features", actual=enabled,
                      expected=f"ENABLED features including {list(GUARDDUTY_FEATURES)}", urn=detector.urn)


# Finding publishing frequencies of GuardDuty and Macie, fastest first; absent means AWS's default, SIX_HOURS.
PUBLISHING_FREQUENCIES = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")
DEFAULT_PUBLISHING_FREQUENCY = "SIX_HOURS"


def publishes_at_least_as_often(frequency: Any, slowest: str) -> bool:
    """Whether a findingPublishingFrequency (absent: SIX_HOURS) is no slower than `slowest`; unknown is not judged."""
    if is_unknown(frequency):
        return True
    value = DEFAULT_PUBLISHING_FREQUENCY if frequency is None else frequency
    return value in PUBLISHING_FREQUENCIES and PUBLISHING_FREQUENCIES.index(value) <= PUBLISHING_FREQUENCIES.index(slowest)


@resource_rule("MON-01", DETECTOR)
def guardduty_publishes_findings_promptly(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """GuardDuty publishes updated findings at least as often as policies/floors.yaml requires (every 15 minutes).
    Implemented by components/detection.py (ThreatDetection._guardduty, finding_publishing_frequency)."""
    slowest = floor_of("detection.guardduty_finding_publishing", environment(args))
    frequency = peek(args.props, "findingPublishingFrequency")
    if not publishes_at_least_as_often(frequency, slowest):
        violation(report, f"{args.name} publishes updated findings too seldom", path="findingPublishingFrequency",
                  actual=frequency, expected=f"{slowest} or more often (absent means {DEFAULT_PUBLISHING_FREQUENCY})")


# --- MON-02 -------------------------------------------------------------------------------------------------------

@resource_rule("MON-02", SECURITY_HUB)
def security_hub_enables_new_controls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Security Hub turns on the controls AWS adds to the subscribed standards (autoEnableControls): otherwise each
    new check (a new service's encryption, a new public-access path) stays off and its findings are never raised.
    Implemented by components/detection.py (ThreatDetection._security_hub)."""
    value = args.props.get("autoEnableControls")
    if not is_unknown(value) and value is False:
        violation(report, "Security Hub leaves controls AWS adds to the standards turned off", path="autoEnableControls",
                  actual=value, expected="true (AWS's default when unset)")

@stack_rule("MON-02")
def security_hub_scores_fsbp_cis_and_nist(args: StackValidationArgs, report: ReportViolation) -> None:
    """Security Hub is enabled and subscribed to AWS FSBP, CIS AWS Foundations v3.0.0 and NIST SP 800-53 rev 5.
    Implemented by components/detection.py (ThreatDetection._security_hub)."""
    if not of_type(args, SECURITY_HUB):
        violation(report, "Security Hub is not enabled in this stack", path="type", actual=None, expected=f"a {SECURITY_HUB}")
    arns = [s.props.get("standardsArn") for s in of_type(args, STANDARDS_SUBSCRIPTION)]
    if any(is_unknown(a) for a in arns):
        return
    missing = [std for std in SECURITY_HUB_STANDARDS if not any(str(a).endswith(f":{std}") for a in arns)]
    if missing:
        violation(report, f"Security Hub is not subscribed to {missing}", path="standardsArn", actual=arns,
                  expected=f"subscriptions to {list(SECURITY_HUB_STANDARDS)}")


# --- MON-03 -------------------------------------------------------------------------------------------------------

@stack_rule("MON-03")
def config_records_every_resource_type(args: StackValidationArgs, report: ReportViolation) -> None:
    """An AWS Config recorder is running and records every supported resource type, global (IAM) types included.
    Implemented by components/detection.py (ThreatDetection._config)."""
    recorders = of_type(args, RECORDER)
    if not recorders:
        violation(report, "AWS Config records nothing in this stack", path="recordingGroup", actual=None, expected=f"a {RECORDER}")
    for recorder in recorders:
        group = recorder.props.get("recordingGroup")
        scope = {k: get(group or {}, k) for k in ("allSupported", "includeGlobalResourceTypes")}
        if not is_unknown(group) and not all(v is True or is_unknown(v) for v in scope.values()):
            violation(report, "Config recorder leaves resource types unrecorded", path="recordingGroup", actual=scope,
                      expected="allSupported and includeGlobalResourceTypes true", urn=recorder.urn)
        started = [s.props.get("isEnabled") for s in consumers(args, recorder, RECORDER_STATUS, "name")]
        if not any(v is True or is_unknown(v) for v in started):
            violation(report, "Config recorder is not started", path="isEnabled", actual=started,
                      expected=f"a {RECORDER_STATUS} with isEnabled true", urn=recorder.urn)


@stack_rule("MON-03")
def config_delivers_to_the_audit_archive(args: StackValidationArgs, report: ReportViolation) -> None:
    """AWS Config delivers configuration history and snapshots into the trail's tamper-resistant archive.
    Implemented by components/detection.py (ThreatDetection._config) into components/audit.py (AuditTrail archive)."""
    archives = {b.urn for b in archive_buckets(args)}
    channels = of_type(args, DELIVERY_CHANNEL)
    if not channels:
        violation(report, "AWS Config delivers nowhere", path="s3BucketName", actual=None, expected=f"a {DELIVERY_CHANNEL}")
    for channel in channels:
        if not channel.props.get("s3BucketName") or not any(b.urn in archives for b in origin_buckets(channel, "s3BucketName")):
            violation(report, "Config does not deliver into the audit archive", path="s3BucketName",
                      actual=peek(channel.props, "s3BucketName"), expected="the bucket the trail delivers to", urn=channel.urn)


def required_config_rules(tier: str | None) -> list[str]:
    """MON-03's floor for a stack of `tier` (an unknown tier is held to prod's)."""
    rules = floor_of("managed_config_rules")
    return [*rules["every_stack"], *(rules["prod_only"] if tier not in TIERS or tier == "prod" else [])]


@stack_rule("MON-03")
def managed_config_rules_are_deployed(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every AWS managed Config rule of the floor (policies/floors.yaml managed_config_rules: CloudTrail, KMS, S3,
    RDS, IAM root/MFA/password, VPC, EC2, DynamoDB, WAF, detectors; Multi-AZ in prod) is deployed. The floor is not
    read from the program, so a rule dropped from the component is missed, not forgotten.
    Implemented by components/detection.py (CONFIG_RULES)."""
    managed = [r for r in of_type(args, CONFIG_RULE) if get(r.props, "source.owner") == "AWS"]
    deployed = sorted(str(get(r.props, "source.sourceIdentifier")) for r in managed)
    tier = next((environment(r) for r in args.resources if environment(r)), None)
    required = required_config_rules(tier)
    missing = [rule for rule in required if rule not in deployed]
    if missing:
        violation(report, f"managed Config rules are missing: {missing}", path="source.sourceIdentifier", actual=deployed,
                  expected=f"AWS-owned rules including {required} (policies/floors.yaml managed_config_rules)")


# --- MON-04 / MON-05: metric filters on the trail log group and their alarms --------------------------------------

def metric_filters(args: StackValidationArgs, row: AlarmRow) -> list[PolicyResource]:
    """The filters writing the row's metric."""
    return [f for f in of_type(args, METRIC_FILTER) if get(f.props, "metricTransformation.name") == row.metric]


def check_metric_filter(args: StackValidationArgs, row: AlarmRow, report: ReportViolation) -> list[PolicyResource]:
    """Report unless the row's metric is counted by a filter on a trail log group applying the row's pattern; returns
    the filters counting the metric."""
    filters = metric_filters(args, row)
    if not filters:
        violation(report, f"no metric filter counts {row.metric} ({row.id})", path="metricTransformation.name", actual=None,
                  expected=f"a {METRIC_FILTER} on the trail log group")
    groups = {g.urn for g in trail_log_groups(args)}
    for f in filters:
        if not f.props.get("logGroupName") or not any(s.urn in groups for s in sources(f, "logGroupName")):
            violation(report, f"metric filter {row.id} does not read the trail log group", path="logGroupName",
                      actual=peek(f.props, "logGroupName"), expected="the name of the log group the trail delivers to", urn=f.urn)
        pattern = f.props.get("pattern")
        if not is_unknown(pattern) and not row.matches(str(pattern or "")):
            violation(report, f"metric filter {row.id} does not apply the reviewed pattern", path="pattern", actual=pattern,
                      expected=f"the pattern of {row.id} in policies/alarms.yaml", urn=f.urn)
    return filters


def fires_on_first_event(alarm: PolicyResource) -> bool:
    operator, threshold = alarm.props.get("comparisonOperator"), alarm.props.get("threshold")
    if is_unknown(operator) or is_unknown(threshold):
        return True
    return operator in FIRST_EVENT_THRESHOLDS and isinstance(threshold, (int, float)) and threshold <= FIRST_EVENT_THRESHOLDS[operator]


def check_alarm(args: StackValidationArgs, row: AlarmRow, filters: list[PolicyResource], report: ReportViolation) -> None:
    """Report unless an alarm on the row's metric (in a namespace its filters write to) pages the incident topic on
    the first matching event."""
    namespaces = {get(f.props, "metricTransformation.namespace") for f in filters}
    alarms = [a for a in of_type(args, METRIC_ALARM)
              if a.props.get("metricName") == row.metric and a.props.get("namespace") in namespaces]
    if not alarms:
        violation(report, f"no alarm watches {row.metric} ({row.id})", path="metricName", actual=None,
                  expected=f"a {METRIC_ALARM} on the metric its filter writes")
    for alarm in alarms:
        if not pages_incident_topic(alarm, "alarmActions") or alarm.props.get("actionsEnabled") is False:
            violation(report, f"alarm {row.id} does not page the incident topic", path="alarmActions",
                      actual=peek(alarm.props, "alarmActions"), expected="the ARN of the incident topic, actions enabled", urn=alarm.urn)
        if not fires_on_first_event(alarm):
            violation(report, f"alarm {row.id} does not fire on the first matching event", path="threshold",
                      actual=[peek(alarm.props, "comparisonOperator"), peek(alarm.props, "threshold")],
                      expected=f"one of {FIRST_EVENT_THRESHOLDS} (operator: highest threshold)", urn=alarm.urn)


@stack_rule("MON-04")
def cis_metric_filters_watch_the_trail_log_group(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every CIS 4.x metric filter of policies/alarms.yaml reads the trail's log group with its reviewed pattern.
    Implemented by components/alerting.py (IncidentAlerting._alarm) on components/audit.py's log group."""
    for row in monitored_rows():
        check_metric_filter(args, row, report)


@stack_rule("MON-04")
def cis_alarms_page_the_incident_topic(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every CIS 4.x metric of policies/alarms.yaml has an alarm that pages the incident topic on the first event.
    Implemented by components/alerting.py (IncidentAlerting._alarm)."""
    for row in monitored_rows():
        check_alarm(args, row, metric_filters(args, row), report)


def trail_filters(args: StackValidationArgs) -> list[PolicyResource]:
    """The metric filters reading a log group the trail delivers to."""
    groups = {g.urn for g in trail_log_groups(args)}
    return [f for f in of_type(args, METRIC_FILTER) if any(s.urn in groups for s in sources(f, "logGroupName"))]


def missed_events(pattern: Any, floor: CisFilter | GuardrailFilter) -> list[dict[str, Any]]:
    """The floor's samples the pattern gets wrong: required events it does not match, excluded ones it does."""
    try:
        matcher = compile_pattern(str(pattern or ""))
    except PatternError:
        return [*floor.events, *floor.not_events]
    return [e for e in floor.events if not matcher(e)] + [e for e in floor.not_events if matcher(e)]


def paging_alarms(args: StackValidationArgs, metric_filter: PolicyResource) -> list[PolicyResource]:
    """Alarms on the filter's metric that page the incident topic on the first matching event."""
    name, namespace = (get(metric_filter.props, f"metricTransformation.{k}") for k in ("name", "namespace"))
    return [a for a in of_type(args, METRIC_ALARM)
            if a.props.get("metricName") == name and a.props.get("namespace") == namespace
            and pages_incident_topic(a, "alarmActions") and a.props.get("actionsEnabled") is not False
            and fires_on_first_event(a)]


def judge_filter_floor(args: StackValidationArgs, floor: CisFilter | GuardrailFilter, label: str,
                       filters: list[PolicyResource], report: ReportViolation) -> bool:
    """Report unless a filter on the trail log group counts exactly the floor's events (each one it names, none it
    excludes) and an alarm on its metric pages the incident topic on the first event. Returns False when it cannot be
    decided yet (no known filter covers it, but one whose pattern is not yet known may)."""
    known = [f for f in filters if not is_unknown(f.props.get("pattern"))]
    misses = {f.urn: missed_events(f.props.get("pattern"), floor) for f in known}
    covering = [f for f in known if not misses[f.urn]]
    if not covering:
        if len(known) < len(filters):
            return False
        nearest = min(known, key=lambda f: len(misses[f.urn]), default=None)
        violation(report, f"{label} ({floor.title}): no metric filter on the trail log group counts exactly the events "
                  "it must", path="pattern", actual=None if nearest is None else nearest.props.get("pattern"),
                  expected=f"a pattern matching {len(floor.events)} required event(s) and none of {len(floor.not_events)} "
                  f"excluded of policies/floors.yaml; the nearest filter gets wrong "
                  f"{[] if nearest is None else misses[nearest.urn][:5]}", urn=None if nearest is None else nearest.urn)
    elif not any(paging_alarms(args, f) for f in covering):
        violation(report, f"{label} ({floor.title}): no alarm on the matching filter's metric pages the incident topic "
                  "on the first event", path="metricTransformation.name",
                  actual=[get(f.props, "metricTransformation.name") for f in covering],
                  expected="a MetricAlarm on that metric and namespace, alarmActions = the incident topic, threshold 1",
                  urn=covering[0].urn)
    return True


@stack_rule("MON-04")
def cis_monitoring_floors_are_met(args: StackValidationArgs, report: ReportViolation) -> None:
    """For every CIS 3.0 recommendation 4.1-4.14 in policies/floors.yaml, a metric filter on the trail log group
    matches each CloudTrail event it names (and none it excludes) and an alarm on its metric pages the incident topic.
    Why: the requirement lives outside policies/alarms.yaml, so removing or misspelling an alarm there fails here.
    Implemented by components/alerting.py (IncidentAlerting._alarm) from the rows of policies/alarms.yaml."""
    filters = trail_filters(args)
    decided = [judge_filter_floor(args, floor, f"CIS {floor.cis}", filters, report) for floor in cis_filters()]
    if not all(decided):
        judged_later("pattern")


@stack_rule("MON-05")
def break_glass_use_raises_an_alarm(args: StackValidationArgs, report: ReportViolation) -> None:
    """Any assumption or use of the break-glass role is counted on the trail log group and pages the incident topic.
    Implemented by components/alerting.py (IncidentAlerting, row break-glass-use of policies/alarms.yaml)."""
    row = break_glass_row()
    check_alarm(args, row, check_metric_filter(args, row, report), report)


@stack_rule("MON-05")
def guardrail_alarms_page_the_incident_topic(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every IAM-guardrail row of policies/alarms.yaml (the permissions boundary, the segregation-of-duties denies,
    break-glass's trust, the deployer outside a deployment) is a filter on the trail log group with its reviewed
    pattern and an alarm paging the incident topic on the first event.
    Implemented by components/alerting.py (IncidentAlerting._alarm, placeholder_values)."""
    for row in guardrail_rows():
        check_alarm(args, row, check_metric_filter(args, row, report), report)


# Placeholders of the guardrail floors' samples, filled in from the stack's own resources (never from alarms.yaml).
ROLE_NAME_PLACEHOLDERS = {"<break-glass-role-name>": "administrator", "<deployer-role-name>": "deploys_infrastructure"}
ROLE_ARN_PLACEHOLDERS = {"<break-glass-role-arn>": ("administrator", "iam::{account}:role/{name}"),
                         "<deployer-assumed-role-arn>": ("deploys_infrastructure", "sts::{account}:assumed-role/{name}")}
BOUNDARY_PLACEHOLDER = "<boundary-policy-arn>"
SOD_PLACEHOLDER = "<sod-policy-name>"
ACCOUNT_ARN_RE = re.compile(r"^arn:([a-z0-9-]+):iam::([0-9]{12}):")


def known(values: list[Any]) -> list[str] | None:
    """The distinct values, or None while one of them is not known (or not a string)."""
    if any(is_unknown(v) or not isinstance(v, str) for v in values):
        return None
    return sorted(set(values))


def guardrail_names(args: StackValidationArgs) -> dict[str, list[str] | None]:
    """What each placeholder of policies/floors.yaml's guardrail_monitoring stands for in this stack: [] when the stack
    has no such thing (its samples are not required), None while it is not yet known (judged later)."""
    matrix = load_matrix()
    roles = matrix_roles(args)

    def flagged(flag: str) -> list[PolicyResource]:
        return [r for name, r in sorted(roles.items()) if name in matrix.roles and getattr(matrix.roles[name], flag)]

    boundaries = [peek(r.props, "permissionsBoundary") for r in roles.values()]
    present = [b for b in boundaries if b is not None]
    names: dict[str, list[str] | None] = {BOUNDARY_PLACEHOLDER: known(present)}
    accounts = [m.groups() for b in present if isinstance(b, str) and (m := ACCOUNT_ARN_RE.match(b))]
    for placeholder, flag in ROLE_NAME_PLACEHOLDERS.items():
        names[placeholder] = known([peek(r.props, "name") for r in flagged(flag)])
    for placeholder, (flag, tail) in ROLE_ARN_PLACEHOLDERS.items():
        role_names = names[next(p for p, f in ROLE_NAME_PLACEHOLDERS.items() if f == flag)]
        if role_names is None or (role_names and not accounts):
            names[placeholder] = None  # the account is read from the roles' boundary ARN, not yet known
        else:
            names[placeholder] = sorted({f"arn:{partition}:" + tail.format(account=account, name=name)
                                         for partition, account in accounts for name in role_names})
    # A segregation-of-duties policy is an inline policy of a matrix role that only denies (components/identity.py).
    policies = [p for role in roles.values() for p in belonging_to(args, role, ROLE_POLICY, "role")]
    if any(is_unknown(peek(p.props, "policy")) for p in policies):
        names[SOD_PLACEHOLDER] = None
    else:
        denying = [p for p in policies if (found := statements(document(p.props.get("policy"))))
                   and all(st.get("Effect") == "Deny" for st in found)]
        names[SOD_PLACEHOLDER] = known([peek(p.props, "name") for p in denying])
    return names


def placeholders_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER_RE.findall(value))
    if isinstance(value, Mapping):
        return {p for v in value.values() for p in placeholders_in(v)}
    return set()


def filled(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(0), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: filled(v, values) for k, v in value.items()}
    return value


def stack_samples(samples: tuple[dict[str, Any], ...], names: Mapping[str, list[str] | None]) -> Iterator[dict[str, Any] | None]:
    """Each sample once for every combination of the values its placeholders have in this stack; None for a sample
    whose placeholders are not yet known; nothing for one naming what the stack does not have."""
    for sample in samples:
        wanted = sorted(placeholders_in(sample))
        options = [names.get(p) for p in wanted]
        if any(o is None for o in options):
            yield None
            continue
        for combination in itertools.product(*(o or [] for o in options)):
            yield filled(sample, dict(zip(wanted, combination, strict=True)))


@stack_rule("MON-05")
def guardrail_monitoring_floors_are_met(args: StackValidationArgs, report: ReportViolation) -> None:
    """For every entry of policies/floors.yaml's guardrail_monitoring (break-glass use; an edit of the permissions
    boundary or of a role's boundary; a segregation-of-duties deny written or deleted; break-glass's trust changed;
    the deployer writing IAM or key policies outside a deploy job), a metric filter on the trail log group matches
    each CloudTrail event it names (with this stack's role, boundary and policy names) and none it excludes, and an
    alarm on its metric pages the incident topic on the first event.
    Why: the requirement lives outside policies/alarms.yaml, so removing, misspelling or narrowing an alarm there
    fails here. Implemented by components/alerting.py (IncidentAlerting._alarm, placeholder_values)."""
    filters = trail_filters(args)
    names = guardrail_names(args)
    undecided = False
    for entry in guardrail_filters():
        events, excluded = list(stack_samples(entry.events, names)), list(stack_samples(entry.not_events, names))
        if None in events or None in excluded:
            undecided = True  # a name not yet known: judged when it is
            continue
        floor = GuardrailFilter(entry.id, entry.title, tuple(e for e in events if e is not None),
                                tuple(e for e in excluded if e is not None))
        if floor.events:  # else the stack has none of what this entry watches (the identity controls judge that)
            undecided |= not judge_filter_floor(args, floor, floor.id, filters, report)
    if undecided:
        judged_later("pattern")


# --- MON-06: findings routed through EventBridge ------------------------------------------------------------------

def values_of(pattern: Any, key: str) -> list[Any]:
    """Every value under `key` anywhere in an event pattern (inside `$or` branches too)."""
    if isinstance(pattern, Mapping):
        return [v for k, v in pattern.items() if k == key] + [x for v in pattern.values() for x in values_of(v, key)]
    if is_list(pattern):
        return [x for v in pattern for x in values_of(v, key)]
    return []


def numeric_floor(matcher: Any) -> float | None:
    """The lower bound of a `{"numeric": [">=", 7, ...]}` matcher that leaves no severity out at the top; else None."""
    bounds = as_list(get(matcher, "numeric")) if isinstance(matcher, Mapping) else []
    pairs = dict(zip(bounds[::2], bounds[1::2], strict=False))
    if any(op in pairs and pairs[op] < GUARDDUTY_MAX_SEVERITY for op in ("<", "<=")):
        return None
    return pairs.get(">=", pairs.get(">"))


def guardduty_high_is_matched(detail: Any) -> bool:
    filters = values_of(detail, "severity")
    return not filters or any((floor := numeric_floor(m)) is not None and floor <= GUARDDUTY_HIGH_SEVERITY
                              for f in filters for m in as_list(f))


def security_hub_critical_high_is_matched(detail: Any) -> bool:
    labels = [set(as_list(get(s, "Label"))) for s in values_of(detail, "Severity") if get(s, "Label") is not None]
    return not labels or any(set(SECURITY_HUB_LABELS) <= found for found in labels)


def macie_high_is_matched(detail: Any) -> bool:
    filters = values_of(detail, "severity")
    return not filters or any(MACIE_HIGH_SEVERITY in as_list(get(f, "description")) for f in filters)


FINDING_SOURCES = {
    "aws.guardduty": guardduty_high_is_matched,
    "aws.securityhub": security_hub_critical_high_is_matched,
    "aws.macie": macie_high_is_matched,
}


def finding_rules(args: StackValidationArgs, source: str) -> list[tuple[PolicyResource, dict[str, Any]]]:
    """EventBridge rules whose (known) pattern names `source`, with the parsed pattern."""
    parsed = ((rule, document(rule.props.get("eventPattern"))) for rule in of_type(args, EVENT_RULE))
    return [(rule, pattern) for rule, pattern in parsed if pattern is not None and source in as_list(pattern.get("source"))]


@stack_rule("MON-06")
def high_severity_findings_are_matched(args: StackValidationArgs, report: ReportViolation) -> None:
    """Enabled EventBridge rules match GuardDuty findings of severity >= 7, CRITICAL/HIGH Security Hub and high Macie findings.
    Implemented by components/alerting.py (EVENT_RULES)."""
    if any(is_unknown(rule.props.get("eventPattern")) for rule in of_type(args, EVENT_RULE)):
        return  # a pattern still unknown at preview may be the one that matches
    for source, matched in FINDING_SOURCES.items():
        rules = finding_rules(args, source)
        if not any(rule.props.get("state", "ENABLED") == "ENABLED" and matched(pattern.get("detail")) for rule, pattern in rules):
            violation(report, f"no enabled rule matches high-severity {source} findings", path="eventPattern",
                      actual=[[peek(rule.props, "state"), pattern] for rule, pattern in rules],
                      expected=f"an ENABLED rule for {source} matching its high and critical findings")


@stack_rule("MON-06")
def finding_rules_target_the_incident_topic(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every finding rule (GuardDuty, Security Hub, Macie) has a target that publishes to the incident topic.
    Implemented by components/alerting.py (IncidentAlerting._event_rule)."""
    for rule in unique(rule for source in FINDING_SOURCES for rule, _ in finding_rules(args, source)):
        targets = consumers(args, rule, EVENT_TARGET, "rule")
        if not any(pages_incident_topic(t, "arn") for t in targets):
            violation(report, "finding rule does not target the incident topic", path="arn",
                      actual=[peek(t.props, "arn") for t in targets], expected="an EventTarget whose arn came from the incident topic",
                      urn=rule.urn)


# --- IR-01 --------------------------------------------------------------------------------------------------------

@stack_rule("IR-01")
def incident_topic_reaches_enough_people(args: StackValidationArgs, report: ReportViolation) -> None:
    """The incident topic exists and pages at least the floor's number of people by e-mail (policies/floors.yaml
    incident_recipients: two in prod and staging), so one person away or one bouncing mailbox loses no incident.
    Implemented by components/alerting.py (IncidentAlerting, settings alertEmails)."""
    topics = incident_topics(args)
    if not topics:
        violation(report, "there is no incident topic", path="type", actual=None, expected=f"a {TOPIC} of {INCIDENT_ALERTING}")
    for topic in topics:
        needed = floor_of("incident_recipients", environment(topic))
        subscriptions = consumers(args, topic, TOPIC_SUBSCRIPTION, "topic")
        people = {str(peek(s.props, "endpoint")).lower() if not is_unknown(s.props.get("endpoint")) else s.urn
                  for s in subscriptions
                  if s.props.get("endpoint") and (s.props.get("protocol") in PERSON_PROTOCOLS or is_unknown(s.props.get("protocol")))}
        if len(people) < needed:
            violation(report, f"the incident topic pages {len(people)} people, fewer than the floor", path="protocol",
                      actual=sorted(people), expected=f"at least {needed} subscriptions over one of {list(PERSON_PROTOCOLS)} "
                      "(policies/floors.yaml incident_recipients)", urn=topic.urn)


def lets_others_publish(statement: dict[str, Any]) -> bool:
    """An Allow of sns:Publish to anyone but CloudWatch/EventBridge, or without a source-account/ARN condition."""
    if statement.get("Effect") != "Allow" or not covers(statement.get("Action"), "sns:Publish"):
        return False
    principal = statement.get("Principal")
    services = as_list(principal.get("Service")) if isinstance(principal, Mapping) and set(principal) == {"Service"} else None
    # Only positive, exact source tests hold the publishers to this account: a negated operator, `...IfExists` or a
    # bare "*" admits every other account's alarms and rules (the confused deputy the condition is there to stop).
    condition_keys = {key for operator, key, values in conditions(statement)
                      if not operator.rpartition(":")[2].startswith(("StringNot", "ArnNot")) and not operator.endswith("IfExists")
                      and values and all(v != "*" for v in values)}
    return (services is None or not set(services) <= set(PUBLISHERS) or "NotPrincipal" in statement
            or not condition_keys & set(SOURCE_CONDITION_KEYS))


def publishers_allowed(found: list[dict[str, Any]]) -> set[str]:
    """The alarm and event services an Allow of sns:Publish (not denied them) admits: without both, pages are lost."""
    allowed = {str(service) for s in found if s.get("Effect") == "Allow" and covers(s.get("Action"), "sns:Publish")
               and isinstance(s.get("Principal"), Mapping) for service in as_list(s["Principal"].get("Service"))}
    denied = {str(service) for s in found if s.get("Effect") == "Deny" and covers(s.get("Action"), "sns:Publish")
              and not s.get("Condition") and isinstance(s.get("Principal"), Mapping)
              for service in as_list(s["Principal"].get("Service"))}
    return (allowed - denied) & set(PUBLISHERS)


def refuses_insecure_transport(found: list[dict[str, Any]]) -> bool:
    """A Deny of sns:Publish to anyone when aws:SecureTransport is false (and on no other condition)."""
    return any(s.get("Effect") == "Deny" and covers(s.get("Action"), "sns:Publish") and is_anyone(s.get("Principal"))
               and [(o, k, [str(v).lower() for v in vs]) for o, k, vs in conditions(s)] == [("Bool", "aws:securetransport", ["false"])]
               for s in found)


@stack_rule("IR-01")
def only_this_accounts_alarms_and_events_publish_to_the_incident_topic(args: StackValidationArgs, report: ReportViolation) -> None:
    """The incident topic's policy lets only CloudWatch and EventBridge publish, on behalf of this account.
    Implemented by components/alerting.py (topic_policy)."""
    for topic in incident_topics(args):
        raw = [topic.props.get("policy"), *(p.props.get("policy") for p in consumers(args, topic, TOPIC_POLICY, "arn"))]
        policies = [p for p in raw if p]
        if not policies:
            violation(report, "incident topic has no access policy", path="policy", actual=None,
                      expected=f"a policy letting only {list(PUBLISHERS)} publish", urn=topic.urn)
        if any(is_unknown(p) for p in policies):
            continue
        found = [s for p in policies for s in statements(document(p))]
        loose = [s for s in found if lets_others_publish(s)]
        if loose:
            violation(report, "incident topic policy lets others publish", path="policy.Statement", actual=loose,
                      expected=f"Allow sns:Publish only to {list(PUBLISHERS)} with an aws:SourceAccount or aws:SourceArn condition",
                      urn=topic.urn)
        if policies and (missing := sorted(set(PUBLISHERS) - publishers_allowed(found))):
            violation(report, "incident topic policy does not let the alarms and event rules publish", path="policy.Statement",
                      actual=missing, expected=f"an Allow of sns:Publish to {list(PUBLISHERS)} (else no page is delivered)",
                      urn=topic.urn)
        if policies and not refuses_insecure_transport(found):
            violation(report, "incident topic policy accepts publishing over plain HTTP", path="policy.Statement",
                      actual=None, expected='a Deny of sns:Publish to "*" on Bool aws:SecureTransport "false"', urn=topic.urn)


# --- IR-02 --------------------------------------------------------------------------------------------------------

@resource_rule("IR-02", *RUNBOOK_PROPS)
def alerts_name_their_runbook(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every alarm, EventBridge rule and Config rule names the runbook that handles it (a Markdown path under runbooks/ in its description).
    Implemented by components/alerting.py (alarms, finding rules) and components/detection.py (Config rules)."""
    prop = RUNBOOK_PROPS[args.resource_type]
    text = args.props.get(prop)
    if not is_unknown(text) and not RUNBOOK_RE.search(str(text or "")):
        violation(report, "alert does not name its runbook", path=prop, actual=text, expected="a runbooks/<name>.md path in it")



# --- MON-07 -------------------------------------------------------------------------------------------------------

RDS_INSTANCE = "aws:rds/instance:Instance"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ENHANCED_MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
RDS_MONITORING_SERVICE = "monitoring.rds.amazonaws.com"
RDS_MONITORING_POLICY = "policy/service-role/AmazonRDSEnhancedMonitoringRole"


@resource_rule("MON-07", RDS_INSTANCE)
def case_database_sends_enhanced_monitoring(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The case database publishes enhanced-monitoring OS metrics at least every minute (AWS FSBP RDS.6).
    Implemented by components/database.py (CaseDatabase, monitoring_interval)."""
    interval = args.props.get("monitoringInterval")
    if not is_unknown(interval) and interval not in ENHANCED_MONITORING_INTERVALS:
        violation(report, "case database sends no enhanced-monitoring metrics", path="monitoringInterval",
                  actual=interval, expected=f"one of {list(ENHANCED_MONITORING_INTERVALS)} seconds")


def trusts_only_rds_monitoring(role: PolicyResource) -> bool:
    """Every Allow of the role's trust policy names RDS monitoring as its only principal."""
    trust = role.props.get("assumeRolePolicy")
    if is_unknown(trust):
        return True
    allows = [s for s in statements(document(trust)) if s.get("Effect") == "Allow"]
    principals = [s.get("Principal") for s in allows]
    return bool(allows) and all(isinstance(p, dict) and set(p) == {"Service"}
                                and as_list(p["Service"]) == [RDS_MONITORING_SERVICE] for p in principals)


@stack_rule("MON-07")
def enhanced_monitoring_uses_its_own_rds_monitoring_role(args: StackValidationArgs, report: ReportViolation) -> None:
    """The database's monitoring role is a role of this stack that only RDS monitoring can assume and that holds AWS's
    AmazonRDSEnhancedMonitoringRole policy. Implemented by components/database.py (CaseDatabase._monitoring_role)."""
    for instance in of_type(args, RDS_INSTANCE):
        if instance.props.get("monitoringInterval") in (0, None):
            continue  # case-database-sends-enhanced-monitoring reports it
        roles = [r for r in sources(instance, "monitoringRoleArn") if r.resource_type == IAM_ROLE]
        if not roles:
            violation(report, "enhanced monitoring uses no role of this stack", path="monitoringRoleArn",
                      actual=peek(instance.props, "monitoringRoleArn"), expected=f"the ARN of a {IAM_ROLE} of this stack",
                      urn=instance.urn)
        for role in roles:
            if not trusts_only_rds_monitoring(role):
                violation(report, "monitoring role can be assumed by others than RDS monitoring",
                          path="assumeRolePolicy.Statement", actual=peek(role.props, "assumeRolePolicy"),
                          expected=f"Allow only Service {RDS_MONITORING_SERVICE}", urn=role.urn)
            attached = [a.props.get("policyArn") for a in consumers(args, role, ROLE_POLICY_ATTACHMENT, "role")]
            if not any(is_unknown(a) or str(a).endswith(RDS_MONITORING_POLICY) for a in attached):
                violation(report, "monitoring role lacks AmazonRDSEnhancedMonitoringRole", path="policyArn",
                          actual=attached, expected=f"an attachment of arn:<partition>:iam::aws:{RDS_MONITORING_POLICY}",
                          urn=role.urn)
