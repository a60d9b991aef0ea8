"""Audit-trail rules (AUD-*): what CloudTrail records, where it delivers, how the evidence is protected and kept.

The trail is the anchor: its archive bucket is the bucket its `s3BucketName` came from, its CloudWatch copy the log
group its `cloudWatchLogsGroupArn` came from. The case-documents bucket is the bucket classified `case-documents`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    CLASSIFICATION_TAG,
    S3_BUCKET,
    as_list,
    classified_as,
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
    sources_of_type,
    statements,
    tag,
    unique,
    violation,
)

TRAIL = "aws:cloudtrail/trail:Trail"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
IAM_ROLE = "aws:iam/role:Role"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
SSM_DOCUMENT = "aws:ssm/document:Document"
COMPUTE = ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance")

AUDIT_LOGS = "audit-logs"
CASE_DOCUMENTS = "case-documents"

# Trail settings that must hold, with AWS's default when the input is absent.
TRAIL_COVERAGE = {"isMultiRegionTrail": False, "includeGlobalServiceEvents": True, "enableLogFileValidation": False,
                  "enableLogging": True}
S3_OBJECT_EVENTS = "AWS::S3::Object"
# Object lock default-retention modes accepted, and the days it holds each object: policies/floors.yaml per tier
# (`archive_lock_modes`, `retention_days.audit_archive_lock`).
DAYS_PER_YEAR = 365
# Never allowed on the archive, to anyone (an unconditional Deny for Principal "*").
EVIDENCE_DESTRUCTION_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucketPolicy")
# Minimum CloudWatch retention of audit and operational logs: policies/floors.yaml per tier (`retention_days`).
# 0 or absent means never expire.
OPERATIONAL_LOGS = "operational-logs"
# Session Manager reads its account-wide preferences from the Session document of this name.
SESSION_PREFERENCES = "SSM-SessionManagerRunShell"


# --- what the rules look at ---------------------------------------------------------------------------------------

def trails(args: StackValidationArgs) -> list[PolicyResource]:
    return of_type(args, TRAIL)


def archive_buckets(args: StackValidationArgs) -> list[PolicyResource]:
    """The buckets the trails deliver to (their `s3BucketName` came from them)."""
    return unique(b for t in trails(args) for b in sources_of_type(t, "s3BucketName", S3_BUCKET))


def trail_log_groups(args: StackValidationArgs) -> list[PolicyResource]:
    """The log groups the trails deliver to (their `cloudWatchLogsGroupArn` came from them)."""
    return unique(g for t in trails(args) for g in sources_of_type(t, "cloudWatchLogsGroupArn", LOG_GROUP))


def documents_buckets(args: StackValidationArgs) -> list[PolicyResource]:
    return classified_as(args, CASE_DOCUMENTS, S3_BUCKET)


def session_preferences(args: StackValidationArgs) -> list[PolicyResource]:
    return [d for d in of_type(args, SSM_DOCUMENT)
            if d.props.get("documentType") == "Session" and d.props.get("name") == SESSION_PREFERENCES]


def is_audit_key(resource: PolicyResource) -> bool:
    return resource.resource_type == KMS_KEY and tag(resource, CLASSIFICATION_TAG) == AUDIT_LOGS


def came_from_audit_key(resource: PolicyResource, prop: str) -> bool:
    return bool(peek(resource.props, prop)) and any(is_audit_key(k) for k in sources(resource, prop))


# --- AUD-01 -------------------------------------------------------------------------------------------------------

@resource_rule("AUD-01", TRAIL)
def trail_covers_all_regions_with_validation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every trail is logging, records all regions and global service events, and signs digests of its log files.
    Implemented by components/audit.py (AuditTrail)."""
    for prop, default in TRAIL_COVERAGE.items():
        value = args.props.get(prop, default)
        if value is not True and not is_unknown(value):
            violation(report, f"trail does not have {prop} on", path=prop, actual=value, expected="true")


def selector_records_management_events(selector: Any) -> bool:
    """A basic event selector that records management events: includeManagementEvents on (the default), reads and
    writes (readWriteType All, the default)."""
    if is_unknown(selector):
        return True
    flag, kind = peek(selector, "includeManagementEvents", True), peek(selector, "readWriteType", "All")
    return (flag is True or is_unknown(flag)) and (kind == "All" or is_unknown(kind))


@resource_rule("AUD-01", TRAIL)
def trail_records_management_events(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every trail records management events (every change to the environment, reads included): with basic event
    selectors, one of them includes management events for reads and writes; without selectors CloudTrail records
    them by default. Implemented by components/audit.py (AuditTrail event selector, include_management_events)."""
    selectors = peek(args.props, "eventSelectors")
    if is_unknown(selectors) or not as_list(selectors) or peek(args.props, "advancedEventSelectors"):
        return
    if not any(selector_records_management_events(peek(args.props, f"eventSelectors.{i}")) for i in range(len(as_list(selectors)))):
        violation(report, "trail records no management events (changes to the environment go unrecorded)",
                  path="eventSelectors", actual=[{k: get(s, k) for k in ("includeManagementEvents", "readWriteType")}
                                                 for s in as_list(selectors) if not is_unknown(s)],
                  expected='a selector with includeManagementEvents true and readWriteType "All"')


# --- AUD-02 -------------------------------------------------------------------------------------------------------

@stack_rule("AUD-02")
def trail_is_encrypted_with_the_audit_logs_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every trail encrypts its log files with the audit-logs customer-managed key of this stack.
    Implemented by components/audit.py (AuditTrail) with the key of components/keys.py (KeyHierarchy)."""
    for trail in trails(args):
        if not came_from_audit_key(trail, "kmsKeyId"):
            violation(report, "trail log files are not encrypted with the audit-logs key", path="kmsKeyId",
                      actual=peek(trail.props, "kmsKeyId"), expected=f"the ARN of the KMS key tagged {CLASSIFICATION_TAG}={AUDIT_LOGS}",
                      urn=trail.urn)


@stack_rule("AUD-02")
def trail_delivers_to_a_log_group_of_this_stack(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every trail also delivers to a CloudWatch log group of this stack, through a delivery role of this stack.
    Implemented by components/audit.py (AuditTrail log group and cloudwatch role)."""
    for trail in trails(args):
        for prop, type_ in (("cloudWatchLogsGroupArn", LOG_GROUP), ("cloudWatchLogsRoleArn", IAM_ROLE)):
            if not peek(trail.props, prop) or not sources_of_type(trail, prop, type_):
                violation(report, "trail does not deliver to CloudWatch Logs through resources of this stack", path=prop,
                          actual=peek(trail.props, prop), expected=f"a value that came from a {type_} of this stack", urn=trail.urn)


@stack_rule("AUD-02")
def trail_log_group_is_encrypted_with_the_audit_logs_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """The log group holding the trail's CloudWatch copy is encrypted with the audit-logs key, like the archive.
    Implemented by components/audit.py (AuditTrail log group)."""
    for group in trail_log_groups(args):
        if not came_from_audit_key(group, "kmsKeyId"):
            violation(report, "trail log group is not encrypted with the audit-logs key", path="kmsKeyId",
                      actual=peek(group.props, "kmsKeyId"), expected=f"the ARN of the KMS key tagged {CLASSIFICATION_TAG}={AUDIT_LOGS}",
                      urn=group.urn)


# --- AUD-03 -------------------------------------------------------------------------------------------------------

def covers_whole_bucket(value: Any) -> bool:
    """A data-resource value that covers every object of its bucket(s): `arn:aws:s3:::bucket/` or all buckets
    (`arn:aws:s3`), not a key prefix (`arn:aws:s3:::bucket/matters/` records only the matters/ documents)."""
    return is_unknown(value) or (isinstance(value, str) and not value.partition("/")[2])


def known_values(data_resource: Any) -> list[Any]:
    """A data resource's `values`, each one read without stopping the policy (unknown at preview: UNKNOWN)."""
    values = peek(data_resource, "values")
    if is_unknown(values) or not is_list(values):
        return [values]
    return [peek(data_resource, f"values.{i}") for i in range(len(values))]


def records_object_reads_and_writes(selectors: Any) -> bool:
    """A basic event selector records reads and writes (readWriteType All, the default) of every object of a bucket."""
    if is_unknown(selectors):
        return True
    for selector in as_list(selectors):
        objects = [r for r in as_list(get(selector, "dataResources")) if get(r, "type") == S3_OBJECT_EVENTS
                   and any(covers_whole_bucket(v) for v in known_values(r))]
        if get(selector, "readWriteType", "All") == "All" and objects:
            return True
    return False


@stack_rule("AUD-03")
def case_document_access_is_recorded(args: StackValidationArgs, report: ReportViolation) -> None:
    """A trail records every read and write of every object in the case-documents bucket (S3 data events, readWriteType
    All, the whole bucket: no key prefix).
    Implemented by components/audit.py (AuditTrail event selector) for the bucket of components/documents.py."""
    for bucket in documents_buckets(args):
        recording = [t for t in trails(args) if any(s.urn == bucket.urn for s in sources(t, "eventSelectors"))]
        if not any(records_object_reads_and_writes(t.props.get("eventSelectors")) for t in recording):
            violation(report, "no trail records object reads and writes on the case-documents bucket", path="eventSelectors",
                      actual=[peek(t.props, "eventSelectors") for t in recording],
                      expected=f'a selector with readWriteType "All" and an {S3_OBJECT_EVENTS} data resource that came from this bucket '
                               'and covers all of it (no key prefix)',
                      urn=bucket.urn)


# --- AUD-04 -------------------------------------------------------------------------------------------------------

def lock_days(retention: Mapping[str, Any]) -> float | None:
    """The days a default retention holds each object (`days`, or `years` x 365); None while not yet known."""
    days, years = retention.get("days"), retention.get("years")
    if is_unknown(days) or is_unknown(years):
        return None
    held = [float(v) * factor for v, factor in ((days, 1), (years, DAYS_PER_YEAR))
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return max(held, default=0.0)


def locks_by_default(retention: Any, modes: list[str], floor_days: int) -> bool:
    if is_unknown(retention):
        return True
    if not isinstance(retention, Mapping) or retention.get("mode") not in modes:
        return False
    days = lock_days(retention)
    return days is None or days >= floor_days


@stack_rule("AUD-04")
def audit_archive_locks_objects_by_default(args: StackValidationArgs, report: ReportViolation) -> None:
    """The audit archive has object lock on, with a default retention of at least the floor of policies/floors.yaml
    (2555 days in prod) in an allowed mode (COMPLIANCE only in prod).
    Implemented by components/audit.py (AuditTrail) through components/buckets.py (SecureBucket object lock)."""
    for bucket in archive_buckets(args):
        enabled = bucket.props.get("objectLockEnabled")
        if enabled is not True and not is_unknown(enabled):
            violation(report, "audit archive was created without object lock", path="objectLockEnabled", actual=enabled,
                      expected="true", urn=bucket.urn)
        env = environment(bucket)
        modes, floor_days = floor("archive_lock_modes", env), floor("retention_days.audit_archive_lock", env)
        retentions = [get(c.props, "rule.defaultRetention") for c in consumers(args, bucket, BUCKET_OBJECT_LOCK, "bucket")]
        if not any(locks_by_default(r, modes, floor_days) for r in retentions):
            violation(report, "audit archive has no default object-lock retention of the required mode and length",
                      path="rule.defaultRetention", actual=retentions,
                      expected=f"mode in {modes} with days (or years x {DAYS_PER_YEAR}) >= {floor_days}, the "
                               f"{env or 'unknown (prod)'} floor of policies/floors.yaml", urn=bucket.urn)


@stack_rule("AUD-04")
def audit_archive_keeps_every_version(args: StackValidationArgs, report: ReportViolation) -> None:
    """The audit archive is versioned, so an overwritten or deleted log file survives as a locked version.
    Implemented by components/buckets.py (SecureBucket versioning) for components/audit.py (AuditTrail)."""
    for bucket in archive_buckets(args):
        statuses = [get(v.props, "versioningConfiguration.status") for v in consumers(args, bucket, BUCKET_VERSIONING, "bucket")]
        if not any(s == "Enabled" or is_unknown(s) for s in statuses):
            violation(report, "audit archive is not versioned", path="versioningConfiguration.status", actual=statuses,
                      expected='"Enabled"', urn=bucket.urn)


def denied_to_everyone(doc: dict[str, Any]) -> list[str]:
    """Actions of the unconditional Deny statements for every principal."""
    return [str(action) for s in statements(doc)
            if s.get("Effect") == "Deny" and is_anyone(s.get("Principal")) and not s.get("Condition")
            for action in as_list(s.get("Action"))]


@stack_rule("AUD-04")
def audit_archive_policy_denies_evidence_destruction(args: StackValidationArgs, report: ReportViolation) -> None:
    """The audit archive's bucket policy denies everyone deleting log objects, their versions and the policy itself.
    Implemented by components/audit.py (archive_policy_statements, DenyEvidenceDestruction)."""
    for bucket in archive_buckets(args):
        policies = consumers(args, bucket, BUCKET_POLICY, "bucket")
        if any(is_unknown(p.props.get("policy")) for p in policies):
            continue
        denied = [a for p in policies for a in denied_to_everyone(document(p.props.get("policy")) or {})]
        missing = [a for a in EVIDENCE_DESTRUCTION_ACTIONS if not covers(denied, a)]
        if missing:
            violation(report, "audit archive policy does not deny evidence destruction to everyone", path="policy.Statement",
                      actual=sorted(set(denied)), expected=f'an unconditional Deny for Principal "*" of {missing}', urn=bucket.urn)


# --- AUD-05 -------------------------------------------------------------------------------------------------------

def logs_to_another_bucket(logging: PolicyResource, bucket: PolicyResource) -> bool:
    targets = origin_buckets(logging, "targetBucket")
    return bool(peek(logging.props, "targetBucket")) and bool(targets) and all(t.urn != bucket.urn for t in targets)


@stack_rule("AUD-05")
def evidence_buckets_log_requests_to_a_separate_bucket(args: StackValidationArgs, report: ReportViolation) -> None:
    """The case-documents bucket and the audit archive log every request (S3 server access logs) into another bucket.
    Implemented by components/buckets.py (SecureBucket access logging into the AccessLogBucket)."""
    for bucket in unique([*documents_buckets(args), *archive_buckets(args)]):
        loggings = consumers(args, bucket, BUCKET_LOGGING, "bucket")
        if not any(logs_to_another_bucket(logging, bucket) for logging in loggings):
            violation(report, "bucket does not log requests into a separate bucket of this stack", path="targetBucket",
                      actual=[peek(logging.props, "targetBucket") for logging in loggings],
                      expected="a BucketLogging whose targetBucket came from another bucket of this stack", urn=bucket.urn)


# --- AUD-06 -------------------------------------------------------------------------------------------------------

def audit_log_groups(args: StackValidationArgs) -> list[PolicyResource]:
    """The trail's log groups, the groups session transcripts go to, and every group classified audit-logs."""
    session_groups = [g for d in session_preferences(args) for g in sources_of_type(d, "content", LOG_GROUP)]
    return unique([*trail_log_groups(args), *session_groups, *classified_as(args, AUDIT_LOGS, LOG_GROUP)])


@stack_rule("AUD-06")
def audit_log_groups_meet_the_retention_floor(args: StackValidationArgs, report: ReportViolation) -> None:
    """Audit log groups keep events at least the floor of policies/floors.yaml (365 days in prod, 90 elsewhere) or
    never expire them.
    Implemented by components/audit.py (AuditTrail log group) and components/app_tier.py (session log group)."""
    for group in audit_log_groups(args):
        check_log_retention(report, group, floor("retention_days.audit_logs", environment(group)), "audit")


def check_log_retention(report: ReportViolation, group: PolicyResource, floor_days: int, what: str) -> None:
    days = peek(group.props, "retentionInDays")
    if not is_unknown(days) and days and days < floor_days:
        violation(report, f"{what} log group expires events before the retention floor", path="retentionInDays",
                  actual=days, expected=f">= {floor_days} (or 0: never expire), the {environment(group) or 'unknown (prod)'} "
                                        "floor of policies/floors.yaml", urn=group.urn)


@stack_rule("AUD-06")
def operational_log_groups_meet_the_retention_floor(args: StackValidationArgs, report: ReportViolation) -> None:
    """Operational log groups (VPC flow logs, WAF and database logs) keep events at least the floor of
    policies/floors.yaml (90 days in prod, 30 elsewhere) or never expire them.
    Implemented by components/network.py, edge.py and database.py (operationalLogRetentionDays)."""
    for group in classified_as(args, OPERATIONAL_LOGS, LOG_GROUP):
        check_log_retention(report, group, floor("retention_days.operational_logs", environment(group)), "operational")


def session_encryption(inputs: Mapping[str, Any]) -> dict[str, bool]:
    """Which parts of a session are encrypted: the session itself (kmsKeyId), its CloudWatch and its S3 transcript."""
    return {"kmsKeyId": bool(inputs.get("kmsKeyId")), "cloudWatchEncryptionEnabled": inputs.get("cloudWatchEncryptionEnabled") is True,
            "s3EncryptionEnabled": inputs.get("s3EncryptionEnabled") is True or not inputs.get("s3BucketName")}


@stack_rule("AUD-06")
def admin_sessions_are_encrypted_and_recorded(args: StackValidationArgs, report: ReportViolation) -> None:
    """Session Manager preferences encrypt every admin session and stream its transcript to a log group of this stack.
    Implemented by components/app_tier.py (ApplicationTier Session Manager preferences)."""
    documents = session_preferences(args)
    if not documents and of_type(args, *COMPUTE):
        violation(report, "instances are managed without Session Manager preferences", path="name", actual=None,
                  expected=f'a Session document named "{SESSION_PREFERENCES}"')
    for doc in documents:
        content = peek(doc.props, "content")  # unknown at a first preview: the log group it came from is still judged
        inputs = get(document(content) or {}, "inputs")
        encryption = session_encryption(inputs) if isinstance(inputs, Mapping) else {}
        if not all(encryption.values()):
            violation(report, "admin sessions or their transcripts are not encrypted", path="content.inputs", actual=encryption,
                      expected="every one true", urn=doc.urn)
        group_name = get(inputs or {}, "cloudWatchLogGroupName")
        if not sources_of_type(doc, "content", LOG_GROUP) or (inputs is not None and not group_name):
            violation(report, "admin session transcripts are not sent to a log group of this stack",
                      path="content.inputs.cloudWatchLogGroupName", actual=group_name, expected=f"the name of a {LOG_GROUP} of this stack",
                      urn=doc.urn)
        if is_unknown(content):
            judged_later("content")


# --- AUD-05 (issue 14): the log bucket keeps what it is given --------------------------------------------------------

# Conditions a Deny of log deletion may carry: exemptions of the AWS services and the ELB account that deliver logs.
DELIVERY_EXEMPTION_KEYS = ("aws:principalisawsservice", "aws:principalaccount")
LOG_DELETION_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")


def access_log_buckets(args: StackValidationArgs) -> list[PolicyResource]:
    """The buckets server access logs are written to (a BucketLogging's `targetBucket` came from them)."""
    return unique(b for logging in of_type(args, BUCKET_LOGGING) for b in origin_buckets(logging, "targetBucket"))


def denies_log_deletion(statement: Mapping[str, Any]) -> list[str]:
    """The log-deletion actions a statement denies to every principal, at most exempting the log-delivery services."""
    if statement.get("Effect") != "Deny" or not is_anyone(statement.get("Principal")):
        return []
    if any(key not in DELIVERY_EXEMPTION_KEYS for _, key, _ in conditions(statement)):
        return []
    return [a for a in LOG_DELETION_ACTIONS if covers(statement.get("Action"), a)]


# A principal that asks to delete a log object: a role of `account` whose own policies allow everything, so only a Deny
# of the bucket policy stands between it and the logs. An account the stack's ARNs do not name stands for any other.
PROBE_ACCOUNT = "111122223333"
PROBE_LOG_OBJECT = "AWSLogs/access-log-probe"
ACCOUNT_IN_ARN = re.compile(r"^arn:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9-]*:(?P<account>[0-9]{12}):")


def stack_accounts(args: StackValidationArgs) -> list[str]:
    """The AWS accounts the stack's known resource ARNs name (none at a first preview), and PROBE_ACCOUNT."""
    found = {match["account"] for r in args.resources
             if isinstance(arn := peek(r.props, "arn"), str) and (match := ACCOUNT_IN_ARN.match(arn))}
    return sorted(found | {PROBE_ACCOUNT})


def bucket_arn(bucket: PolicyResource) -> str | None:
    """The bucket's ARN (its `arn` output, or built from its name); None while neither is known."""
    arn, name = peek(bucket.props, "arn"), peek(bucket.props, "bucket")
    if isinstance(arn, str) and arn and not is_unknown(arn):
        return arn
    if isinstance(name, str) and name and not is_unknown(name):
        return f"arn:aws:s3:::{name}"
    return None


def deletable_logs(denies: list[dict[str, Any]], arn: str, accounts: list[str]) -> list[str]:
    """The log-deletion actions some principal of `accounts` may still take on an object of the bucket `arn`, under
    the Denies that qualify (`denies_log_deletion`), as IAM evaluates the request (caseshield/iam_analysis.py `may`)."""
    from caseshield.iam_analysis import Principal, may

    found = []
    for action in LOG_DELETION_ACTIONS:
        for account in accounts:
            principal: Principal = {"arn": f"arn:aws:iam::{account}:role/access-log-probe",
                                    "identity": [{"Effect": "Allow", "Action": "*", "Resource": "*"}], "boundary": None}
            context = {"aws:principalaccount": account, "aws:principalisawsservice": "false"}
            if may(principal, action, f"{arn}/{PROBE_LOG_OBJECT}", context, resource_policy=denies):
                found.append(action)
                break
    return found


@stack_rule("AUD-05")
def access_log_buckets_deny_deleting_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    """The bucket request logs go to denies every principal deleting log objects or their versions (only the lifecycle
    disposes of them): a Deny whose Resource covers that bucket's objects, for principals of this account and any other.
    Implemented by components/buckets.py (AccessLogBucket, DenyLogTamperingByPrincipals)."""
    undecided = False
    accounts = stack_accounts(args)
    for bucket in access_log_buckets(args):
        policies = consumers(args, bucket, BUCKET_POLICY, "bucket")
        arn = bucket_arn(bucket)
        if arn is None or any(is_unknown(peek(p.props, "policy")) for p in policies):
            undecided = True
            continue
        denies = [s for p in policies for s in statements(document(p.props.get("policy"))) if denies_log_deletion(s)]
        missing = deletable_logs(denies, arn, accounts)
        if missing:
            violation(report, "access-log bucket lets principals delete request logs", path="policy.Statement",
                      actual=[{k: s.get(k) for k in ("Sid", "Action", "Resource", "Condition")} for s in denies],
                      expected=f'a Deny for Principal "*" of {missing} on {arn}/* (conditions only exempting the '
                      "log-delivery services)", urn=bucket.urn)
    if undecided:
        judged_later("policy")


BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


@stack_rule("AUD-05")
def access_logs_are_kept_for_the_floor(args: StackValidationArgs, report: ReportViolation) -> None:
    """No enabled lifecycle rule of the bucket request logs go to expires them before the floor of policies/floors.yaml
    (365 days in prod, 90 elsewhere). Implemented by components/buckets.py (AccessLogBucket, expire-access-logs)."""
    for bucket in access_log_buckets(args):
        floor_days = floor("retention_days.access_logs", environment(bucket))
        for lifecycle in consumers(args, bucket, BUCKET_LIFECYCLE, "bucket"):
            rules = peek(lifecycle.props, "rules")
            if is_unknown(rules) or not is_list(rules):
                continue
            for i in range(len(rules)):
                status, days = peek(lifecycle.props, f"rules.{i}.status"), peek(lifecycle.props, f"rules.{i}.expiration.days")
                if status in ("Enabled", None) and isinstance(days, (int, float)) and not isinstance(days, bool) and days < floor_days:
                    violation(report, "access-log bucket expires request logs before the retention floor",
                              path=f"rules.{i}.expiration.days", actual=days,
                              expected=f">= {floor_days} days, the {environment(bucket) or 'unknown (prod)'} floor of "
                                       "policies/floors.yaml", urn=lifecycle.urn)
