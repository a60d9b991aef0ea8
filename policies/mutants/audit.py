"""Mutants of the audit-trail, monitoring and incident-response controls (AUD-*, MON-*, IR-*), one breakage each."""

from __future__ import annotations

from typing import Any

from policies.mutants import drop_prop, drop_statement, each_statement, edit, edit_document, mutant, set_path, set_prop
from policies.rules._support import S3_BUCKET as BUCKET
from policies.rules.audit import (
    BUCKET_LOGGING,
    BUCKET_OBJECT_LOCK,
    BUCKET_POLICY,
    BUCKET_VERSIONING,
    LOG_GROUP,
    SSM_DOCUMENT,
    TRAIL,
)
from policies.rules.encryption import DB_PARAMETER_GROUP
from policies.rules.monitoring import (
    CONFIG_RULE,
    DELIVERY_CHANNEL,
    DETECTOR,
    DETECTOR_FEATURE,
    EVENT_RULE,
    EVENT_TARGET,
    IAM_ROLE,
    METRIC_ALARM,
    METRIC_FILTER,
    RDS_INSTANCE,
    RECORDER,
    RECORDER_STATUS,
    ROLE_POLICY_ATTACHMENT,
    SECURITY_HUB,
    STANDARDS_SUBSCRIPTION,
    TOPIC_POLICY,
    TOPIC_SUBSCRIPTION,
)

ARCHIVE = "*-audit-archive"
TRAIL_LOG_GROUP = "*-audit-log-group"


def widen_to_everyone(document: dict[str, Any]) -> None:
    for statement in document["Statement"]:
        if statement["Effect"] == "Allow":
            statement["Principal"] = {"AWS": "*"}
            statement.pop("Condition", None)


# --- AUD: the trail, its archive and its log groups ----------------------------------------------------------------

mutant("aud-01-single-region-trail", "AUD-01", "the trail records its home region only",
       transform=set_prop(TRAIL, "isMultiRegionTrail", False))
mutant("aud-01-log-file-validation-off", "AUD-01", "the trail writes no signed digest files",
       transform=set_prop(TRAIL, "enableLogFileValidation", False))
mutant("aud-01-global-service-events-off", "AUD-01", "the trail skips IAM, STS and other global service events",
       transform=set_prop(TRAIL, "includeGlobalServiceEvents", False))

mutant("aud-02-trail-unencrypted", "AUD-02", "the trail's log files use S3's default encryption, not the audit-logs key",
       transform=drop_prop(TRAIL, "kmsKeyId"))
mutant("aud-02-trail-not-in-cloudwatch", "AUD-02", "the trail no longer delivers to its CloudWatch log group",
       transform=drop_prop(TRAIL, "cloudWatchLogsGroupArn"))
mutant("aud-02-trail-log-group-unencrypted", "AUD-02", "the trail's CloudWatch copy is not encrypted with the audit-logs key",
       transform=drop_prop(LOG_GROUP, "kmsKeyId", name=TRAIL_LOG_GROUP))

mutant("aud-03-no-data-events", "AUD-03", "the trail records management events only: document reads go unrecorded",
       transform=drop_prop(TRAIL, "eventSelectors"))
mutant("aud-03-write-only-data-events", "AUD-03", "the trail records document writes but not reads",
       transform=set_prop(TRAIL, "eventSelectors.0.readWriteType", "WriteOnly"))

mutant("aud-04-archive-without-object-lock", "AUD-04", "the archive bucket is created without object lock",
       transform=set_prop(BUCKET, "objectLockEnabled", False, name=ARCHIVE))
mutant("aud-04-governance-lock-in-prod", "AUD-04", "prod's archive lock is GOVERNANCE, which privileged users can bypass",
       transform=set_prop(BUCKET_OBJECT_LOCK, "rule.defaultRetention.mode", "GOVERNANCE", name=f"{ARCHIVE}-object-lock"))
mutant("aud-04-archive-versioning-suspended", "AUD-04", "the archive's versioning is suspended",
       transform=set_prop(BUCKET_VERSIONING, "versioningConfiguration.status", "Suspended", name=f"{ARCHIVE}-versioning"))
mutant("aud-04-evidence-deletion-allowed", "AUD-04", "the archive policy no longer denies deleting logs, versions or itself",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("DenyEvidenceDestruction"), name=f"{ARCHIVE}-policy"))

mutant("aud-05-documents-access-not-logged", "AUD-05", "the documents bucket's server access logging has no target",
       transform=drop_prop(BUCKET_LOGGING, "targetBucket", name="*documents-bucket-access-logging"))
mutant("aud-05-archive-access-not-logged", "AUD-05", "the archive's server access logging has no target",
       transform=drop_prop(BUCKET_LOGGING, "targetBucket", name=f"{ARCHIVE}-access-logging"))

mutant("aud-06-trail-log-retention-30-days", "AUD-06", "the trail's CloudWatch copy expires after 30 days in prod",
       transform=set_prop(LOG_GROUP, "retentionInDays", 30, name=TRAIL_LOG_GROUP))
mutant("aud-06-session-log-retention-30-days", "AUD-06", "admin session transcripts expire after 30 days in prod",
       transform=set_prop(LOG_GROUP, "retentionInDays", 30, name="*-ssm-sessions"))
def without_parameter(name: str) -> Any:
    def change(props: dict[str, Any]) -> None:
        props["parameters"] = [p for p in props["parameters"] if p["name"] != name]

    return change


def preloading(libraries: str) -> Any:
    def change(props: dict[str, Any]) -> None:
        for p in props["parameters"]:
            if p["name"] == "shared_preload_libraries":
                p["value"] = libraries

    return change


mutant("aud-06-pgaudit-not-preloaded", "AUD-06", "shared_preload_libraries loses pgaudit: every pgaudit setting stays and logs nothing",
       transform=edit(DB_PARAMETER_GROUP, preloading("pg_stat_statements")))
mutant("aud-06-connections-not-logged", "AUD-06", "the parameter group no longer sets log_connections (PostgreSQL's default: off)",
       transform=edit(DB_PARAMETER_GROUP, without_parameter("log_connections")))
mutant("aud-06-session-transcripts-unencrypted", "AUD-06", "Session Manager streams transcripts to CloudWatch unencrypted",
       transform=edit_document(SSM_DOCUMENT, "content", set_path("inputs.cloudWatchEncryptionEnabled", False)))
mutant("aud-06-session-transcripts-not-sent", "AUD-06", "Session Manager sends transcripts to no log group",
       transform=edit_document(SSM_DOCUMENT, "content", set_path("inputs.cloudWatchLogGroupName", "")))

# --- MON: detectors, Config, alarms and finding routes ------------------------------------------------------------

mutant("mon-01-ebs-malware-protection-off", "MON-01", "GuardDuty's EBS malware protection is disabled",
       transform=set_prop(DETECTOR_FEATURE, "status", "DISABLED", name="*-ebs-malware-protection"))
mutant("mon-01-detector-suspended", "MON-01", "the GuardDuty detector is suspended",
       transform=set_prop(DETECTOR, "enable", False))

mutant("mon-02-cis-standard-replaced", "MON-02", "Security Hub is subscribed to PCI DSS instead of CIS AWS Foundations",
       transform=set_prop(STANDARDS_SUBSCRIPTION, "standardsArn", "arn:aws:securityhub:us-east-1::standards/pci-dss/v/3.2.1",
                          name="*-standard-cis"))
mutant("mon-02-new-controls-left-off", "MON-02", "Security Hub no longer enables the controls AWS adds to the standards",
       transform=set_prop(SECURITY_HUB, "autoEnableControls", False))

mutant("mon-03-some-resource-types-only", "MON-03", "Config records only the listed resource types",
       transform=set_prop(RECORDER, "recordingGroup.allSupported", False))
mutant("mon-03-recorder-stopped", "MON-03", "the Config recorder is created but never started",
       transform=set_prop(RECORDER_STATUS, "isEnabled", False))
mutant("mon-03-config-delivers-nowhere", "MON-03", "the Config delivery channel names no bucket",
       transform=drop_prop(DELIVERY_CHANNEL, "s3BucketName"))
mutant("mon-03-cloudtrail-config-rule-replaced", "MON-03", "the cloudtrail-enabled Config rule checks something else",
       transform=set_prop(CONFIG_RULE, "source.sourceIdentifier", "DESIRED_INSTANCE_TYPE", name="*-rule-cloudtrail-enabled"))
mutant("mon-03-waf-logging-config-rule-replaced", "MON-03", "the wafv2-logging-enabled Config rule checks something else",
       transform=set_prop(CONFIG_RULE, "source.sourceIdentifier", "DESIRED_INSTANCE_TYPE", name="*-rule-wafv2-logging-enabled"))

mutant("mon-04-root-usage-alarm-silent", "MON-04", "the root-account-usage alarm notifies no one",
       transform=set_prop(METRIC_ALARM, "alarmActions", [], name="*-root-account-usage"))
mutant("mon-04-iam-policy-filter-narrowed", "MON-04", "the IAM policy-change filter matches CreatePolicy only",
       transform=set_prop(METRIC_FILTER, "pattern", "{ $.eventName = CreatePolicy }", name="*-iam-policy-changes-filter"))
mutant("mon-04-unauthorized-api-alarm-threshold-10", "MON-04", "the unauthorized-API-calls alarm waits for ten events",
       transform=set_prop(METRIC_ALARM, "threshold", 10, name="*-unauthorized-api-calls"))
mutant("mon-04-vpc-filter-off-the-trail", "MON-04", "the VPC-changes filter reads no log group",
       transform=drop_prop(METRIC_FILTER, "logGroupName", name="*-vpc-changes-filter"))

def drop_alarm_row(alarm_id: str) -> Any:
    """An edit of policies/alarms.yaml removing one row (the program then deploys neither its filter nor its alarm)."""

    def change(document: dict[str, Any]) -> None:
        document["alarms"] = [row for row in document["alarms"] if row["id"] != alarm_id]

    return change


def misspell_in_alarm_row(alarm_id: str, word: str, typo: str) -> Any:
    """An edit of policies/alarms.yaml misspelling one event name in a row's pattern (still valid, never matching)."""

    def change(document: dict[str, Any]) -> None:
        for row in document["alarms"]:
            if row["id"] == alarm_id:
                assert word in row["pattern"], f"{word} is not in the pattern of {alarm_id}"
                row["pattern"] = row["pattern"].replace(word, typo)

    return change


# Data mutants: the edit is made to policies/alarms.yaml itself, which the rules read too; only the CIS floors of
# policies/floors.yaml, stated apart from it, can catch them.
mutant("mon-04-cloudtrail-alarm-removed-from-alarms-yaml", "MON-04",
       "the cloudtrail-changes row (CIS 4.5) is deleted from policies/alarms.yaml",
       inputs={"policies/alarms.yaml": drop_alarm_row("cloudtrail-changes")})
mutant("mon-04-event-misspelled-in-alarms-yaml", "MON-04",
       "StopLogging is misspelled StopLoging in the cloudtrail-changes pattern of policies/alarms.yaml",
       inputs={"policies/alarms.yaml": misspell_in_alarm_row("cloudtrail-changes", "StopLogging", "StopLoging")})
mutant("mon-04-iam-alarm-removed-from-alarms-yaml-dev", "MON-04",
       "the iam-policy-changes row (CIS 4.4) is deleted from policies/alarms.yaml, seen on dev",
       inputs={"policies/alarms.yaml": drop_alarm_row("iam-policy-changes")}, stack="dev")

mutant("mon-05-break-glass-alarm-gone", "MON-05", "no alarm watches the break-glass metric",
       transform=set_prop(METRIC_ALARM, "metricName", "NothingToSeeHere", name="*-break-glass-use"))
mutant("mon-05-break-glass-filter-narrowed", "MON-05", "the break-glass filter only matches AssumeRole, not the session's calls",
       transform=set_prop(METRIC_FILTER, "pattern", '{ $.eventName = "AssumeRole" }',
                          name="*-break-glass-use-filter"))

# The IAM-guardrail alarms (issue 11): each removed from policies/alarms.yaml, and each pattern misspelled or narrowed
# there; only the guardrail floors of policies/floors.yaml, stated apart from it, catch these.
mutant("mon-05-boundary-alarm-removed-from-alarms-yaml", "MON-05",
       "the permissions-boundary-changes row is deleted from policies/alarms.yaml",
       inputs={"policies/alarms.yaml": drop_alarm_row("permissions-boundary-changes")})
mutant("mon-05-boundary-event-misspelled-in-alarms-yaml", "MON-05",
       "SetDefaultPolicyVersion is misspelled SetDefaultPolicyVersions in the permissions-boundary-changes pattern",
       inputs={"policies/alarms.yaml": misspell_in_alarm_row("permissions-boundary-changes", '"SetDefaultPolicyVersion"',
                                                             '"SetDefaultPolicyVersions"')})
mutant("mon-05-sod-alarm-removed-from-alarms-yaml", "MON-05",
       "the segregation-of-duties-changes row is deleted from policies/alarms.yaml (CIS 4.4 still pages on any inline policy)",
       inputs={"policies/alarms.yaml": drop_alarm_row("segregation-of-duties-changes")})
mutant("mon-05-sod-alarm-misses-deletion-in-alarms-yaml", "MON-05",
       "the segregation-of-duties-changes pattern watches PutRolePolicy only: deleting the deny policy goes unpaged",
       inputs={"policies/alarms.yaml": misspell_in_alarm_row("segregation-of-duties-changes", '"DeleteRolePolicy"',
                                                             '"PutRolePolicy"')})
mutant("mon-05-break-glass-trust-alarm-removed-from-alarms-yaml", "MON-05",
       "the break-glass-role-changes row is deleted from policies/alarms.yaml",
       inputs={"policies/alarms.yaml": drop_alarm_row("break-glass-role-changes")}, stack="dev")
mutant("mon-05-break-glass-trust-event-misspelled-in-alarms-yaml", "MON-05",
       "UpdateAssumeRolePolicy is misspelled UpdateAssumedRolePolicy in the break-glass-role-changes pattern",
       inputs={"policies/alarms.yaml": misspell_in_alarm_row("break-glass-role-changes", "UpdateAssumeRolePolicy",
                                                             "UpdateAssumedRolePolicy")})
mutant("mon-05-deployer-alarm-removed-from-alarms-yaml", "MON-05",
       "the deployer-outside-deployment row is deleted from policies/alarms.yaml",
       inputs={"policies/alarms.yaml": drop_alarm_row("deployer-outside-deployment")})
mutant("mon-05-deployer-alarm-spares-previews-in-alarms-yaml", "MON-05",
       "the deployer-outside-deployment pattern spares every caseshield-* session: a preview job's writes go unpaged",
       inputs={"policies/alarms.yaml": misspell_in_alarm_row("deployer-outside-deployment", "/caseshield-up-*",
                                                             "/caseshield-*")})
mutant("mon-05-deployer-filter-iam-only", "MON-05",
       "the deployed deployer-outside-deployment filter drops the key-policy, grant and key-state events",
       transform=set_prop(METRIC_FILTER, "pattern",
                          '{ ($.userIdentity.sessionContext.sessionIssuer.userName = "cs-prod-ci-deployer") '
                          '&& ($.eventSource = "iam.amazonaws.com") && ($.readOnly IS FALSE) }',
                          name="*-deployer-outside-deployment-filter"))

mutant("mon-06-guardduty-severity-9", "MON-06", "only critical GuardDuty findings (severity >= 9) page",
       transform=edit_document(EVENT_RULE, "eventPattern", set_path("detail.severity", [{"numeric": [">=", 9]}]),
                               name="*-guardduty-high-severity"))
mutant("mon-06-securityhub-critical-only", "MON-06", "HIGH Security Hub findings no longer page",
       transform=edit_document(EVENT_RULE, "eventPattern", set_path("detail.findings.Severity.Label", ["CRITICAL"]),
                               name="*-securityhub-critical-high"))
mutant("mon-06-macie-rule-disabled", "MON-06", "the Macie finding rule is disabled",
       transform=set_prop(EVENT_RULE, "state", "DISABLED", name="*-macie-sensitive-data"))
mutant("mon-06-securityhub-target-dropped", "MON-06", "the Security Hub finding rule targets nothing",
       transform=drop_prop(EVENT_TARGET, "arn", name="*-securityhub-critical-high-target"))

mutant("mon-07-enhanced-monitoring-off", "MON-07", "the case database sends no enhanced-monitoring metrics",
       transform=set_prop(RDS_INSTANCE, "monitoringInterval", 0))
mutant("mon-07-monitoring-role-trusts-ec2", "MON-07", "any EC2 instance may assume the database's monitoring role",
       transform=edit_document(IAM_ROLE, "assumeRolePolicy", set_path("Statement.0.Principal.Service", "ec2.amazonaws.com"),
                               name="*-database-monitoring-role"))
mutant("mon-07-monitoring-role-gets-admin", "MON-07", "the monitoring role holds AdministratorAccess instead of AWS's monitoring policy",
       transform=set_prop(ROLE_POLICY_ATTACHMENT, "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess",
                          name="*-database-monitoring-role-managed"))

# --- IR: the incident topic and runbooks --------------------------------------------------------------------------

mutant("ir-01-no-email-subscribers", "IR-01", "every incident-topic subscription is an SQS queue: no person is told",
       transform=set_prop(TOPIC_SUBSCRIPTION, "protocol", "sqs"))
mutant("ir-01-one-person-paged-in-prod", "IR-01", "IT operations' e-mail subscription becomes a queue: prod pages one person",
       transform=set_prop(TOPIC_SUBSCRIPTION, "protocol", "sqs", name="*-email-it-operations-*"))
mutant("ir-01-anyone-may-publish", "IR-01", "the incident topic policy lets any principal publish",
       transform=edit_document(TOPIC_POLICY, "policy", widen_to_everyone))

mutant("ir-02-alarm-without-runbook", "IR-02", "the console-auth-failures alarm names no runbook",
       transform=set_prop(METRIC_ALARM, "alarmDescription", "CIS 4.6: Console sign-in failed authentication.",
                          name="*-console-auth-failures"))
mutant("ir-02-config-rule-without-runbook", "IR-02", "a Config rule names no runbook",
       transform=set_prop(CONFIG_RULE, "description", "Customer-managed KMS keys rotate.", name="*-rule-cmk-backing-key-rotation-enabled"))
mutant("ir-02-finding-rule-without-runbook", "IR-02", "the GuardDuty finding rule names no runbook",
       transform=set_prop(EVENT_RULE, "description", "GuardDuty finding of high or critical severity.", name="*-guardduty-high-severity"))


# --- issue 14: the size of a setting, not only its presence (floors of policies/floors.yaml) ------------------------

def data_events_under_a_prefix(props: dict[str, Any]) -> None:
    """The trail's S3 data events narrowed from the whole documents bucket to one key prefix."""
    for selector in props["eventSelectors"]:
        for resource in selector["dataResources"]:
            resource["values"] = [f"{arn}matters/" for arn in resource["values"]]


def on_resource(arn: str) -> Any:
    """A statement edit pointing the statement at `arn` instead of its own resources."""

    def change(statement: dict[str, Any]) -> None:
        statement["Resource"] = arn

    return change


def without_log_deletion_deny(document: dict[str, Any]) -> None:
    """The access-log bucket's tamper Deny keeps PutObject only: principals may delete logs and their versions."""
    for statement in document["Statement"]:
        if statement.get("Sid") == "DenyLogTamperingByPrincipals":
            statement["Action"] = ["s3:PutObject"]


mutant("aud-04-archive-lock-one-day", "AUD-04", "the archive's default object-lock retention is one day",
       transform=set_prop(BUCKET_OBJECT_LOCK, "rule.defaultRetention.days", 1, name=f"{ARCHIVE}-object-lock"))
mutant("aud-04-archive-lock-30-days-dev", "AUD-04", "dev's archive default object-lock retention is 30 days",
       transform=set_prop(BUCKET_OBJECT_LOCK, "rule.defaultRetention.days", 30, name=f"{ARCHIVE}-object-lock"), stack="dev")
mutant("aud-04-archive-lock-mode-dropped-staging", "AUD-04", "staging's archive default retention has no mode",
       transform=drop_prop(BUCKET_OBJECT_LOCK, "rule.defaultRetention.mode", name=f"{ARCHIVE}-object-lock"), stack="staging")
mutant("aud-03-data-events-narrowed-to-prefix", "AUD-03", "the trail records document access under matters/ only",
       transform=edit(TRAIL, data_events_under_a_prefix))
mutant("aud-05-access-logs-deletable", "AUD-05", "principals may delete access logs (the tamper Deny keeps PutObject only)",
       transform=edit_document(BUCKET_POLICY, "policy", without_log_deletion_deny, name="*-access-logs-bucket-policy"))
mutant("aud-05-log-deny-on-another-bucket", "AUD-05", "the access-log bucket's tamper Deny names another bucket's objects",
       transform=edit_document(BUCKET_POLICY, "policy", each_statement(on_resource("arn:aws:s3:::cs-prod-retired-logs/*"),
                                                                      "DenyLogTamperingByPrincipals"),
                               name="*-access-logs-bucket-policy"))
mutant("aud-06-database-log-retention-7-days", "AUD-06", "the database's log groups keep logs for 7 days in prod",
       transform=set_prop(LOG_GROUP, "retentionInDays", 7, name="*-database-log-*"))
mutant("aud-06-waf-log-retention-1-day-staging", "AUD-06", "staging's WAF log group keeps logs for one day",
       transform=set_prop(LOG_GROUP, "retentionInDays", 1, name="*-edge-waf-logs"), stack="staging")

mutant("mon-01-guardduty-publishes-every-six-hours", "MON-01", "GuardDuty publishes updated findings every six hours",
       transform=set_prop(DETECTOR, "findingPublishingFrequency", "SIX_HOURS"))
mutant("aud-05-access-logs-expire-after-a-day", "AUD-05", "the access-log bucket's lifecycle expires request logs after one day",
       transform=set_prop("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "rules.0.expiration.days", 1,
                          name="*-access-logs-bucket-lifecycle"))


# --- issue 14, item 2: the services' roles and the buckets they deliver to, by effective access ---------------------
# (policies/rules/service_access.py and policies/service-access.yaml; the NET-06, PATCH-04 and EDGE-03 ones break the
# service access those controls' deliveries depend on, so they live with the other service-access mutants)

def _without_condition(statement: dict[str, Any]) -> None:
    statement.pop("Condition", None)


def _to_everyone(statement: dict[str, Any]) -> None:
    statement["Principal"] = "*"


mutant("aud-01-no-management-events", "AUD-01", "the trail stops recording management events: changes go unrecorded",
       transform=edit(TRAIL, set_path("eventSelectors.0.includeManagementEvents", False)))
mutant("aud-02-trail-cannot-write-archive", "AUD-02", "the archive policy no longer lets CloudTrail write: a blind audit trail",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("CloudTrailWrite"), name=f"{ARCHIVE}-policy"))
mutant("aud-02-trail-role-for-any-trail", "AUD-02", "CloudTrail may assume the log-delivery role for any trail of any account",
       transform=edit_document(IAM_ROLE, "assumeRolePolicy", each_statement(_without_condition), name="*-audit-cloudwatch-role"))
mutant("aud-04-anyone-reconfigures-archive", "AUD-04", "any principal of the account may change the archive's policy, lock and lifecycle",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("OnlyDeployersReconfigureArchive"), name=f"{ARCHIVE}-policy"))
mutant("aud-05-no-server-access-log-delivery", "AUD-05", "S3 log delivery may no longer write request logs into the log bucket",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("S3ServerAccessLogDelivery"), name="*-access-logs-bucket-policy"))
mutant("mon-03-config-role-for-any-account", "MON-03", "Config acting for any account may assume the recorder role",
       transform=edit_document(IAM_ROLE, "assumeRolePolicy", each_statement(_without_condition), name="*-detection-config-role"))
mutant("mon-03-config-cannot-deliver", "MON-03", "the recorder role's delivery policy no longer lets it write the archive",
       transform=edit_document("aws:iam/rolePolicy:RolePolicy", "policy", drop_statement("DeliverUnderConfigPrefix"),
                               name="*-detection-config-role-delivery"))
mutant("mon-07-monitoring-role-for-any-account", "MON-07", "RDS monitoring acting for any account may assume the monitoring role",
       transform=edit_document(IAM_ROLE, "assumeRolePolicy", each_statement(_without_condition), name="*-database-monitoring-role"))
mutant("net-06-flow-log-role-for-anyone", "NET-06", "any principal may assume the flow-log role",
       transform=edit_document(IAM_ROLE, "assumeRolePolicy", each_statement(_to_everyone), name="*-network-flow-logs"))
mutant("patch-04-instance-role-for-anyone", "PATCH-04", "any principal may assume the instances' role",
       transform=edit_document(IAM_ROLE, "assumeRolePolicy", each_statement(_to_everyone), name="*-app-instance-role"))
mutant("edge-03-no-load-balancer-log-delivery", "EDGE-03", "the log-delivery service may no longer write the load balancer's logs",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("AlbLogDeliveryService"), name="*-access-logs-bucket-policy"))
