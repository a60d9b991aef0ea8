"""Live checks of the audit trail, log groups, CIS metric filters and alarms, finding rules and the incident topic."""

from __future__ import annotations

import json
from typing import Any

from caseshield.audit import live_check
from caseshield.audit.account import Account, as_list, document, statements
from policies.rules.monitoring import (
    PERSON_PROTOCOLS,
    PUBLISHERS,
    RUNBOOK_RE,
    SOURCE_CONDITION_KEYS,
    AlarmRow,
    break_glass_row,
    guardrail_rows,
    monitored_rows,
)

AUDIT_LOG_GROUPS = ("cloudtrail", "ssm-sessions")  # /caseshield/<stack>/<name>: audit evidence, held to the audit floor


@live_check("AUD-01", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")
def trail_records_every_region_with_validation(account: Account) -> list[str]:
    """The trail is logging, multi-region, records global service events and validates its log files."""
    trail, found = account.trail, []
    for flag in ("IsMultiRegionTrail", "IncludeGlobalServiceEvents", "LogFileValidationEnabled"):
        if not trail.get(flag):
            found.append(f"{trail['Name']}: {flag} is off")
    if not account.client("cloudtrail").get_trail_status(Name=trail["TrailARN"]).get("IsLogging"):
        found.append(f"{trail['Name']}: logging is stopped")
    return found


@live_check("AUD-02", "cloudtrail:DescribeTrails", "kms:ListAliases", "logs:DescribeLogGroups")
def trail_is_encrypted_and_delivered_to_this_stack(account: Account) -> list[str]:
    """The trail encrypts with the audit-logs key and delivers to this stack's log group, itself under that key."""
    trail, found = account.trail, []
    if not account.same_key(trail.get("KmsKeyId"), "audit-logs"):
        found.append(f"{trail['Name']}: encrypted with {trail.get('KmsKeyId') or 'SSE-S3'}, not the audit-logs key")
    group = account.log_group(account.trail_log_group)
    if not str(trail.get("CloudWatchLogsLogGroupArn", "")).startswith(group["arn"].removesuffix(":*")):
        target = trail.get("CloudWatchLogsLogGroupArn") or "no log group"
        found.append(f"{trail['Name']}: delivers to {target}, not {account.trail_log_group}")
    if not account.same_key(group.get("kmsKeyId"), "audit-logs"):
        found.append(f"{account.trail_log_group}: not encrypted with the audit-logs key")
    return found


@live_check("AUD-03", "cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "s3:ListAllMyBuckets", "s3:GetBucketTagging")
def case_document_access_is_recorded(account: Account) -> list[str]:
    """The trail records every read and write of case-document objects (S3 data events)."""
    selectors = account.client("cloudtrail").get_event_selectors(TrailName=account.trail["TrailARN"])
    wanted = f"arn:{account.partition}:s3:::{account.documents_bucket}/"
    for selector in selectors.get("EventSelectors") or []:
        for data in selector.get("DataResources", []):
            if selector.get("ReadWriteType") == "All" and data.get("Type") == "AWS::S3::Object" and \
                    any(v in (wanted, "arn:aws:s3", f"arn:{account.partition}:s3:::") for v in data.get("Values", [])):
                return []
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f["Field"]: f for f in selector.get("FieldSelectors", [])}
        if fields.get("resources.type", {}).get("Equals") == ["AWS::S3::Object"] and "readOnly" not in fields:
            return []
    return [f"{account.trail['Name']}: no S3 data-event selector (read and write) for {wanted}"]


@live_check("ENC-04", "logs:DescribeLogGroups", "kms:ListAliases")
def log_groups_are_encrypted_with_a_cmk(account: Account) -> list[str]:
    """Every log group of the stack is encrypted with one of the stack's customer-managed keys."""
    keys = account.key_aliases
    return [f"{name}: encrypted with {g.get('kmsKeyId') or 'the service key'}" for name, g in sorted(account.log_groups.items())
            if not any(account.same_key(g.get("kmsKeyId"), c) for c in keys)]


@live_check("AUD-06", "logs:DescribeLogGroups", "ssm:GetDocument", "kms:ListAliases")
def audit_logs_are_kept_and_sessions_recorded(account: Account) -> list[str]:
    """Audit log groups keep events for the retention floor, and Session Manager sessions are encrypted and logged."""
    floor, found = account.settings.audit_log_retention_days, []
    for name in (f"/caseshield/{account.stack}/{g}" for g in AUDIT_LOG_GROUPS):
        days = account.log_group(name).get("retentionInDays")
        if days is not None and days < floor:
            found.append(f"{name}: keeps events {days} days, below the floor of {floor}")
    content = document(account.client("ssm").get_document(Name="SSM-SessionManagerRunShell")["Content"])
    inputs = content.get("inputs", {})
    if not inputs.get("cloudWatchEncryptionEnabled") or inputs.get("cloudWatchLogGroupName") != f"/caseshield/{account.stack}/ssm-sessions":
        found.append("Session Manager preferences do not stream sessions to the encrypted ssm-sessions log group")
    if not account.same_key(inputs.get("kmsKeyId"), "audit-logs"):  # the key found by its alias (kms:ListAliases)
        found.append(f"Session Manager preferences encrypt sessions with {inputs.get('kmsKeyId') or 'no KMS key'}, "
                     f"not the audit-logs key alias/{account.prefix}/audit-logs")
    return found


def filters_for(account: Account, row: AlarmRow) -> list[dict[str, Any]]:
    return [f for f in account.metric_filters if any(t["metricName"] == row.metric for t in f.get("metricTransformations", []))
            and row.matches(f.get("filterPattern", ""))]


def alarms_paging(account: Account, row: AlarmRow, namespace: str) -> list[dict[str, Any]]:
    return [a for a in account.alarms.values() if a.get("MetricName") == row.metric and a.get("Namespace") == namespace
            and account.topic_arn in a.get("AlarmActions", []) and a.get("ActionsEnabled", True)]


def check_rows(account: Account, rows: tuple[AlarmRow, ...]) -> list[str]:
    found = []
    for row in rows:
        filters = filters_for(account, row)
        if not filters:
            found.append(f"{row.id}: no metric filter on {account.trail_log_group} counts {row.metric} with the reviewed pattern")
            continue
        namespace = filters[0]["metricTransformations"][0]["metricNamespace"]
        if not alarms_paging(account, row, namespace):
            found.append(f"{row.id}: no enabled alarm on {namespace}/{row.metric} pages {account.topic_arn}")
    return found


@live_check("MON-04", "logs:DescribeMetricFilters", "cloudwatch:DescribeAlarms", "sns:GetTopicAttributes")
def cis_metric_filters_page_the_incident_topic(account: Account) -> list[str]:
    """Each CIS metric filter of policies/alarms.yaml watches the trail log group and its alarm pages the incident topic."""
    return check_rows(account, monitored_rows())


@live_check("MON-05", "logs:DescribeMetricFilters", "cloudwatch:DescribeAlarms", "sns:GetTopicAttributes")
def break_glass_use_raises_an_alarm(account: Account) -> list[str]:
    """Any use of the break-glass role, and any edit of the IAM guardrails (the permissions boundary, the
    segregation-of-duties denies, break-glass's trust, the deployer outside a deployment), is counted on the trail
    log group with its reviewed pattern and its alarm pages the incident topic."""
    return check_rows(account, (break_glass_row(), *guardrail_rows()))


@live_check("IR-02", "cloudwatch:DescribeAlarms", "events:ListRules", "config:DescribeConfigRules")
def alerts_name_their_runbook(account: Account) -> list[str]:
    """Every alarm, EventBridge rule and Config rule of the stack names the runbook that handles it."""
    described = {f"alarm {n}": a.get("AlarmDescription", "") for n, a in account.alarms.items()}
    described |= {f"rule {r['Name']}": r.get("Description", "") for r in finding_rules(account)}
    config = account.client("config")
    described |= {f"config rule {r['ConfigRuleName']}": r.get("Description", "")
                  for page in config.get_paginator("describe_config_rules").paginate() for r in page["ConfigRules"]
                  if r["ConfigRuleName"].startswith(f"{account.prefix}-")}
    if not described:
        return ["no alarm, EventBridge rule or Config rule of the stack was found"]
    return [f"{what}: names no runbooks/<name>.md" for what, text in sorted(described.items()) if not RUNBOOK_RE.search(text or "")]


def finding_rules(account: Account) -> list[dict[str, Any]]:
    events = account.client("events")
    return [r for page in events.get_paginator("list_rules").paginate(NamePrefix=f"{account.prefix}-") for r in page["Rules"]]


@live_check("MON-06", "events:ListRules", "events:ListTargetsByRule", "sns:GetTopicAttributes")
def high_severity_findings_page_the_incident_topic(account: Account) -> list[str]:
    """Enabled EventBridge rules match GuardDuty, Security Hub and Macie findings and target the incident topic."""
    events, found = account.client("events"), []
    covered = set()
    for rule in finding_rules(account):
        pattern = json.loads(rule.get("EventPattern") or "{}")
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if rule.get("State") == "ENABLED" and any(t["Arn"] == account.topic_arn for t in targets):
            covered.update(as_list(pattern.get("source")))
    found += [f"no enabled rule sends {s} findings to the incident topic" for s in ("aws.guardduty", "aws.securityhub", "aws.macie")
              if s not in covered]
    return found


@live_check("ENC-07", "sns:GetTopicAttributes", "kms:ListAliases")
def incident_topic_is_encrypted_with_a_cmk(account: Account) -> list[str]:
    """The incident topic is encrypted with one of the stack's customer-managed keys."""
    key = account.client("sns").get_topic_attributes(TopicArn=account.topic_arn)["Attributes"].get("KmsMasterKeyId", "")
    if not any(account.same_key(key, c) for c in account.key_aliases):
        return [f"{account.topic_arn}: encrypted with {key or 'nothing'}, not a customer-managed key of the stack"]
    return []


@live_check("IR-01", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic")
def incident_topic_reaches_a_person_and_only_this_account_publishes(account: Account) -> list[str]:
    """The incident topic has a person's subscription, and only this account's alarms and events may publish."""
    sns, found = account.client("sns"), []
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=account.topic_arn)["Subscriptions"]
    if not any(s["Protocol"] in PERSON_PROTOCOLS for s in subscriptions):
        found.append(f"{account.topic_arn}: no e-mail subscription reaches a person")
    policy = document(sns.get_topic_attributes(TopicArn=account.topic_arn)["Attributes"].get("Policy"))
    for st in statements(policy):
        if st.get("Effect") != "Allow" or "sns:Publish" not in as_list(st.get("Action")):
            continue
        principal = st.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        keys = {k.lower() for block in (st.get("Condition") or {}).values() for k in block}
        if not services or not set(services) <= set(PUBLISHERS) or not keys & set(SOURCE_CONDITION_KEYS):
            found.append(f"{account.topic_arn}: statement {st.get('Sid', '?')} lets {principal} publish without our account as source")
    return found
