"""Privacy rules (PRIV-*): the consent and data-subject-request ledger keeps its records, and sensitive-data
discovery classifies the case documents.

The ledger is the DynamoDB table classified `privacy-records`; the case-documents bucket is the bucket classified
`case-documents`, and a Macie job targets it when its `s3JobDefinition` came from that bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    CLASSIFICATION_TAG,
    S3_BUCKET,
    as_list,
    classified_as,
    environment,
    is_unknown,
    of_type,
    peek,
    resolve,
    sources,
    sources_of_type,
    tag,
    violation,
)
from policies.rules.data_protection import (
    CASE_DOCUMENTS,
    DYNAMODB_TABLE,
    KMS_KEY,
    check_deletion_protection_in_prod,
    is_number,
    require,
)
from policies.rules.monitoring import publishes_at_least_as_often

PRIVACY_RECORDS = "privacy-records"
MACIE_ACCOUNT = "aws:macie2/account:Account"
MACIE_JOB = "aws:macie2/classificationJob:ClassificationJob"
# Macie's account status and a job's status when the input is absent, and what keeps discovery running.
MACIE_ENABLED = "ENABLED"
JOB_RUNNING = "RUNNING"
RECURRING_JOB = "SCHEDULED"


def is_ledger(args: ResourceValidationArgs) -> bool:
    return tag(args, CLASSIFICATION_TAG) == PRIVACY_RECORDS


# --- PRIV-01 ------------------------------------------------------------------------------------------------------

@stack_rule("PRIV-01")
def privacy_ledger_is_kept(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stack keeps a consent and data-subject-request ledger: a DynamoDB table classified privacy-records.
    Implemented by components/ledger.py (PrivacyLedger)."""
    if not classified_as(args, PRIVACY_RECORDS, DYNAMODB_TABLE):
        tables = of_type(args, DYNAMODB_TABLE)
        violation(report, "the stack keeps no consent and data-subject-request ledger", path=f"tags.{CLASSIFICATION_TAG}",
                  actual=[tag(t, CLASSIFICATION_TAG) for t in tables],
                  expected=f"a DynamoDB table tagged {CLASSIFICATION_TAG}={PRIVACY_RECORDS}")


@resource_rule("PRIV-01", DYNAMODB_TABLE)
def privacy_ledger_is_recoverable_to_any_point(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The ledger has point-in-time recovery on, over at least the window of policies/floors.yaml (35 days), so a
    consent or request record lost by mistake can be restored. Implemented by components/ledger.py (point_in_time_recovery)."""
    if is_ledger(args):
        require(report, args, "pointInTimeRecovery.enabled", [True], expected="true",
                message="privacy ledger cannot be restored to a point in time")
        days = floor("retention_days.ledger_point_in_time_recovery", environment(args))
        require(report, args, "pointInTimeRecovery.recoveryPeriodInDays", lambda v: v is None or (is_number(v) and v >= days),
                expected=f">= {days} days (absent: DynamoDB's 35)", message="privacy ledger can be restored over too short a window")


@resource_rule("PRIV-01", DYNAMODB_TABLE)
def privacy_ledger_records_expire_only_when_marked(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The ledger's TTL, if on, reads only an attribute of policies/floors.yaml (purge_after, set when a record's
    retention ends), so no record the firm must keep expires. Implemented by components/ledger.py (PURGE_ATTRIBUTE)."""
    if is_ledger(args) and resolve(args.props, "ttl.enabled") is True:
        allowed = floor("ledger_ttl_attributes", environment(args))
        require(report, args, "ttl.attributeName", lambda v: v in allowed, expected=f"one of {allowed}",
                message="privacy ledger records expire on an attribute that is not their end of retention")


@stack_rule("PRIV-01")
def privacy_ledger_is_encrypted_with_a_customer_managed_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """The ledger is encrypted with a customer-managed KMS key of this stack (not DynamoDB's AWS-owned key).
    Implemented by components/ledger.py (PrivacyLedger, server_side_encryption) with a key of components/keys.py."""
    for table in classified_as(args, PRIVACY_RECORDS, DYNAMODB_TABLE):
        encryption = table.props.get("serverSideEncryption")
        if is_unknown(encryption):
            continue
        enabled = resolve(table.props, "serverSideEncryption.enabled")
        with_cmk = peek(table.props, "serverSideEncryption.kmsKeyArn") and sources_of_type(table, "serverSideEncryption", KMS_KEY)
        if not (enabled is True or is_unknown(enabled)) or not with_cmk:
            violation(report, "privacy ledger is not encrypted with a customer-managed key", path="serverSideEncryption",
                      actual=encryption, expected="enabled true and kmsKeyArn from a KMS key of this stack", urn=table.urn)


@resource_rule("PRIV-01", DYNAMODB_TABLE)
def privacy_ledger_cannot_be_deleted_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod the ledger has deletion protection on: the records are the firm's proof of consent and of answers.
    Implemented by components/ledger.py (PrivacyLedger, deletion_protection_enabled)."""
    if is_ledger(args):
        check_deletion_protection_in_prod(args, report, "privacy ledger")


# --- PRIV-02 ------------------------------------------------------------------------------------------------------

@stack_rule("PRIV-02")
def macie_is_enabled(args: StackValidationArgs, report: ReportViolation) -> None:
    """Amazon Macie is enabled in the account of this stack (and not paused).
    Implemented by components/detection.py (ThreatDetection._macie)."""
    accounts = of_type(args, MACIE_ACCOUNT)
    if not accounts:
        violation(report, "Macie is not enabled by this stack", path="macie2.Account", actual=[], expected="one Macie account resource")
    for account in accounts:
        require(report, account, "status", lambda v: v in (None, MACIE_ENABLED), expected=f'"{MACIE_ENABLED}"',
                message="Macie is paused: sensitive-data discovery does not run")


def names_buckets(definitions: object) -> bool:
    """A job's bucketDefinitions name at least one bucket (values not yet known count)."""
    return is_unknown(definitions) or any(is_unknown(d) or as_list(resolve(d, "buckets")) for d in as_list(definitions))


@stack_rule("PRIV-02")
def macie_classifies_case_documents(args: StackValidationArgs, report: ReportViolation) -> None:
    """A recurring, running Macie classification job's bucket definitions came from the case-documents bucket.
    Implemented by components/detection.py (ThreatDetection._macie) for the bucket of components/documents.py."""
    jobs = of_type(args, MACIE_JOB)
    for bucket in classified_as(args, CASE_DOCUMENTS, S3_BUCKET):
        targeting = [j for j in jobs if any(s.urn == bucket.urn for s in sources(j, "s3JobDefinition"))]
        if not targeting:
            violation(report, "no Macie classification job targets the case-documents bucket", path="s3JobDefinition",
                      actual=[], expected="a ClassificationJob whose s3JobDefinition came from this bucket", urn=bucket.urn)
        for job in targeting:
            definitions = resolve(job.props, "s3JobDefinition.bucketDefinitions")
            if not names_buckets(definitions):
                violation(report, "Macie job names no bucket to classify", path="s3JobDefinition.bucketDefinitions",
                          actual=definitions, expected="a bucket definition listing the case-documents bucket", urn=job.urn)
            require(report, job, "jobType", [RECURRING_JOB], expected=f'"{RECURRING_JOB}"',
                    message="Macie job does not classify new documents (not a scheduled job)")
            require(report, job, "jobStatus", lambda v: v in (None, JOB_RUNNING), expected=f'"{JOB_RUNNING}" (or unset)',
                    message="Macie job is paused or cancelled")


# Macie job schedules, most frequent first, and what a scheduleFrequency input says.
SCHEDULES = ("daily", "weekly", "monthly")
SCHEDULE_KEYS = {"dailySchedule": "daily", "weeklySchedule": "weekly", "monthlySchedule": "monthly"}


def schedule_of(frequency: Any) -> str | None:
    """"daily", "weekly" or "monthly" from a job's scheduleFrequency; None when it names none."""
    if not isinstance(frequency, Mapping):
        return None
    named = [SCHEDULE_KEYS[k] for k in SCHEDULE_KEYS if frequency.get(k) not in (None, False, "")]
    return max(named, key=SCHEDULES.index, default=None)


@stack_rule("PRIV-02")
def macie_covers_every_case_document_promptly(args: StackValidationArgs, report: ReportViolation) -> None:
    """Macie publishes findings at least as often, and its case-document jobs sample at least the share of documents,
    as often, as policies/floors.yaml requires (15 minutes; 100%; daily in prod, weekly elsewhere).
    Implemented by components/detection.py (ThreatDetection._macie)."""
    for account in of_type(args, MACIE_ACCOUNT):
        slowest = floor("detection.macie_finding_publishing", environment(account))
        frequency = peek(account.props, "findingPublishingFrequency")
        if not publishes_at_least_as_often(frequency, slowest):
            violation(report, "Macie publishes updated findings too seldom", path="findingPublishingFrequency", actual=frequency,
                      expected=f"{slowest} or more often (absent means SIX_HOURS)", urn=account.urn)
    documents = {b.urn for b in classified_as(args, CASE_DOCUMENTS, S3_BUCKET)}
    for job in of_type(args, MACIE_JOB):
        if not any(s.urn in documents for s in sources(job, "s3JobDefinition")):
            continue
        env = environment(job)
        share, every = floor("detection.macie_sampling_percentage", env), floor("detection.macie_schedule", env)
        require(report, job, "samplingPercentage", lambda v, share=share: v is None or (is_number(v) and v >= share),
                expected=f">= {share} (absent: 100)", message="Macie job samples too few of the case documents")
        frequency = peek(job.props, "scheduleFrequency")
        schedule = None if is_unknown(frequency) else schedule_of(frequency)
        if not is_unknown(frequency) and (schedule is None or SCHEDULES.index(schedule) > SCHEDULES.index(every)):
            violation(report, "Macie job classifies the case documents too seldom", path="scheduleFrequency", actual=frequency,
                      expected=f"{every} or more often (the {env or 'unknown (prod)'} floor of policies/floors.yaml)", urn=job.urn)
