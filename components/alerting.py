"""IncidentAlerting: the incident topic and everything that publishes to it — CIS log-metric alarms and finding rules.

Why one topic: an alert only protects anyone if a person reads it. Every signal (CloudTrail-based alarms, GuardDuty,
Security Hub and Macie findings) lands on one KMS-encrypted topic that the on-call addresses subscribe to, and every
signal names the runbook to follow, so the person paged at 3 a.m. knows the first step without a search.

The alarms are data (`policies/alarms.yaml`: CIS AWS Foundations Benchmark v3.0.0 section 4, break-glass use, and
the IAM guardrails of issue 11: the permissions boundary, the segregation-of-duties denies, break-glass's trust and
the deployer's session outside a deployment), so adding a control is a reviewed table row, not new code. The rows'
placeholders are filled here from the names the program itself gives (`placeholder_values`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield import role_matrix, schemas
from caseshield.project import ROOT
from caseshield.settings import Settings
from components.base import child, policy_document, role_arn, role_name
from components.identity import SOD_POLICY_NAME, boundary_name

ALARMS_PATH = ROOT / "policies" / "alarms.yaml"
RUNBOOK_RE = re.compile(r"^runbooks/[a-z0-9/-]+\.md$")
# CIS 4.x: any single matching event is worth a look; five minutes keeps the page prompt.
ALARM_PERIOD_SECONDS = 300
ALARM_THRESHOLD = 1
PLACEHOLDERS = ("<break-glass-role-name>", "<break-glass-role-arn>", "<boundary-policy-arn>", "<sod-policy-name>",
                "<deployer-role-name>", "<deployer-assumed-role-arn>")
PLACEHOLDER_RE = re.compile(r"<[a-z0-9-]+>")
# CloudWatch Logs refuses a filter pattern longer than this (PutMetricFilter, filterPattern).
MAX_PATTERN_LENGTH = 1024


@dataclass(frozen=True)
class AlarmSpec:
    """One row of `policies/alarms.yaml`: a metric filter on the trail log group and its alarm."""

    id: str
    cis: str
    metric: str
    description: str
    runbook: str
    pattern: str


@dataclass(frozen=True)
class EventRuleSpec:
    """An EventBridge rule that forwards matching findings to the incident topic."""

    id: str
    description: str
    runbook: str
    pattern: Mapping[str, Any]


EVENT_RULES = (
    # GuardDuty severity 7.0-8.9 is High, 9.0-10.0 Critical; lower severities are reviewed in the console.
    EventRuleSpec(
        id="guardduty-high-severity",
        description="GuardDuty finding of high or critical severity (>= 7).",
        runbook="runbooks/findings/guardduty-high-severity.md",
        pattern={"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
                 "detail": {"severity": [{"numeric": [">=", 7]}]}},
    ),
    # New, active CRITICAL/HIGH findings only. GuardDuty and Macie findings are also imported into Security Hub; they
    # are excluded here because their own rules (and runbooks) already page for them.
    EventRuleSpec(
        id="securityhub-critical-high",
        description="New Security Hub finding of CRITICAL or HIGH severity.",
        runbook="runbooks/findings/securityhub-critical-high.md",
        pattern={"source": ["aws.securityhub"], "detail-type": ["Security Hub Findings - Imported"],
                 "detail": {"findings": {
                     "Severity": {"Label": ["CRITICAL", "HIGH"]},
                     "Workflow": {"Status": ["NEW"]},
                     "RecordState": ["ACTIVE"],
                     "ProductName": [{"anything-but": ["GuardDuty", "Macie"]}],
                 }}},
    ),
    # Case documents hold personal data by design, so every sensitive-data finding at low/medium severity would page
    # all day. Page on policy findings (a bucket made public, encryption or replication changed) at any severity
    # and on high-severity sensitive-data findings; the rest stay in Macie for the weekly review.
    EventRuleSpec(
        id="macie-sensitive-data",
        description="Macie policy finding, or high-severity sensitive-data finding.",
        runbook="runbooks/findings/macie-sensitive-data.md",
        pattern={"source": ["aws.macie"], "detail-type": ["Macie Finding"],
                 "detail": {"$or": [{"category": ["POLICY"]}, {"severity": {"description": ["High"]}}]}},
    ),
)


def load_alarms(path: Path = ALARMS_PATH) -> tuple[AlarmSpec, ...]:
    """The alarm table, checked: unique ids and metrics, a runbook path for every row, one-line patterns."""
    rows = schemas.load(path, "alarms")["alarms"]  # strict YAML + policies/schemas/alarms.schema.json
    specs = tuple(AlarmSpec(**{k: str(v).strip() for k, v in row.items()}) for row in rows)
    for field in ("id", "metric"):
        values = [getattr(s, field) for s in specs]
        if len(set(values)) != len(values):
            raise ValueError(f"{path}: duplicate alarm {field} in {values}")
    for spec in specs:
        if not RUNBOOK_RE.match(spec.runbook):
            raise ValueError(f"{path}: alarm {spec.id} runbook {spec.runbook!r} is not a Markdown file under runbooks/")
        if not (spec.pattern.startswith("{") and spec.pattern.endswith("}")):
            raise ValueError(f"{path}: alarm {spec.id} pattern is not a JSON filter pattern")
        unknown = sorted(set(PLACEHOLDER_RE.findall(spec.pattern)) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"{path}: alarm {spec.id} pattern has placeholders {unknown} that nothing fills in; "
                             f"use one of {list(PLACEHOLDERS)}")
    return specs


def matrix_role(flag: str) -> str:
    """The one role of the role matrix with `flag` set (`administrator`: break-glass, `deploys_infrastructure`: the
    CI deployer), as the matrix names it."""
    names = sorted(r.name for r in role_matrix.load().roles.values() if getattr(r, flag))
    if len(names) != 1:
        raise ValueError(f"policies/role-matrix.yaml: an alarm names the role with {flag}, but the matrix has {names}")
    return names[0]


def placeholder_values(settings: Settings, partition: str, account_id: str) -> dict[str, str]:
    """What each placeholder of policies/alarms.yaml stands for in this stack: the names the program gives the
    break-glass role, the permissions boundary, the segregation-of-duties policy and the deployer role."""
    break_glass, deployer = matrix_role("administrator"), matrix_role("deploys_infrastructure")
    values = (
        role_name(settings, break_glass),
        role_arn(partition, account_id, settings, break_glass),
        f"arn:{partition}:iam::{account_id}:policy/{boundary_name(settings)}",
        SOD_POLICY_NAME,
        role_name(settings, deployer),
        f"arn:{partition}:sts::{account_id}:assumed-role/{role_name(settings, deployer)}",
    )
    return dict(zip(PLACEHOLDERS, values, strict=True))


def render_pattern(spec: AlarmSpec, settings: Settings, partition: str, account_id: str) -> str:
    """The alarm's filter pattern with this stack's names filled in (the roles and the boundary are named per stack);
    refused if CloudWatch Logs would refuse it for its length."""
    pattern = spec.pattern
    if PLACEHOLDER_RE.search(pattern):
        for placeholder, value in placeholder_values(settings, partition, account_id).items():
            pattern = pattern.replace(placeholder, value)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"alarm {spec.id}: its filter pattern is {len(pattern)} characters once filled in for stack "
                         f"{settings.stack}; CloudWatch Logs accepts at most {MAX_PATTERN_LENGTH}")
    return pattern


def alarm_description(spec: AlarmSpec) -> str:
    cis = f"CIS {spec.cis}: " if spec.cis else ""
    return f"{cis}{spec.description} Runbook: {spec.runbook}"


def topic_policy(topic_arn: pulumi.Input[str], account_id: str) -> pulumi.Output[str]:
    """Only CloudWatch alarms and EventBridge rules of this account publish; nothing reaches the topic without TLS."""
    return policy_document([
        {
            "Sid": "AlarmsAndEventsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class IncidentAlertingArgs:
    settings: Settings
    key: aws.kms.Key  # the operational-logs key; its policy lets CloudWatch and EventBridge use it for this topic
    trail_log_group_name: pulumi.Input[str]
    account_id: str
    partition: str
    alarms: Sequence[AlarmSpec] | None = None  # None: the table in policies/alarms.yaml


class IncidentAlerting(pulumi.ComponentResource):
    """`topic` (`{prefix}-incidents`), `alarms` (id -> MetricAlarm), `metric_filters`, `event_rules` (id -> EventRule)."""

    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    metric_filters: dict[str, aws.cloudwatch.LogMetricFilter]
    event_rules: dict[str, aws.cloudwatch.EventRule]

    def __init__(self, name: str, args: IncidentAlertingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:alerting:IncidentAlerting", name, None, opts)
        s = args.settings
        self.topic = aws.sns.Topic(f"{name}-incidents", name=f"{s.name_prefix}-incidents",
                                   kms_master_key_id=args.key.arn, opts=child(self))
        aws.sns.TopicPolicy(f"{name}-incidents-policy", arn=self.topic.arn,
                            policy=topic_policy(self.topic.arn, args.account_id),
                            opts=pulumi.ResourceOptions(parent=self.topic))
        for email in s.alert_emails:
            aws.sns.TopicSubscription(f"{name}-email-{_slug(email)}", topic=self.topic.arn, protocol="email",
                                      endpoint=email, opts=pulumi.ResourceOptions(parent=self.topic))
        self.metric_filters, self.alarms = {}, {}
        for spec in args.alarms if args.alarms is not None else load_alarms():
            self._alarm(name, spec, args)
        self.event_rules = {spec.id: self._event_rule(name, spec, s) for spec in EVENT_RULES}
        self.register_outputs({"topic_arn": self.topic.arn,
                               "alarm_arns": {k: a.arn for k, a in self.alarms.items()},
                               "event_rule_arns": {k: r.arn for k, r in self.event_rules.items()}})

    def _alarm(self, name: str, spec: AlarmSpec, args: IncidentAlertingArgs) -> None:
        """A metric filter on the trail log group counting matching events, and an alarm paging on the first one."""
        s = args.settings
        namespace = f"CaseShield/{s.stack}/CISBenchmark"
        metric_filter = aws.cloudwatch.LogMetricFilter(
            f"{name}-{spec.id}-filter",
            name=f"{s.name_prefix}-{spec.id}",
            log_group_name=args.trail_log_group_name,
            pattern=render_pattern(spec, s, args.partition, args.account_id),
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=spec.metric, namespace=namespace, value="1"),
            opts=child(self),
        )
        self.metric_filters[spec.id] = metric_filter
        self.alarms[spec.id] = aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.id}",
            name=f"{s.name_prefix}-{spec.id}",
            alarm_description=alarm_description(spec),
            namespace=namespace,
            metric_name=spec.metric,
            statistic="Sum",
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=1,
            threshold=ALARM_THRESHOLD,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # No matching events means no data points: that is the healthy state, not an unknown one.
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            opts=child(self, depends_on=[metric_filter]),
        )

    def _event_rule(self, name: str, spec: EventRuleSpec, s: Settings) -> aws.cloudwatch.EventRule:
        rule = aws.cloudwatch.EventRule(
            f"{name}-{spec.id}",
            name=f"{s.name_prefix}-{spec.id}",
            description=f"{spec.description} Runbook: {spec.runbook}",
            event_pattern=json.dumps(spec.pattern, sort_keys=True),
            state="ENABLED",
            opts=child(self),
        )
        aws.cloudwatch.EventTarget(f"{name}-{spec.id}-target", rule=rule.name, arn=self.topic.arn,
                                   target_id="incident-topic", opts=pulumi.ResourceOptions(parent=rule))
        return rule
