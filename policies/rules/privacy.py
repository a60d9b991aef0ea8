"""Privacy rules (PRIV-*): the consent and data-subject-request ledger keeps its records, and sensitive-data
discovery classifies the case documents.

The ledger is the DynamoDB table classified `privacy-records`; the case-documents bucket is the bucket classified
`case-documents`, and a Macie job targets it when its `s3JobDefinition` came from that bucket.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    CLASSIFICATION_TAG,
    S3_BUCKET,
    as_list,
    classified_as,
    is_unknown,
    of_type,
    peek,
    resolve,
    sources,
    sources_of_type,
    tag,
    violation,
)
from policies.rules.data_protection import CASE_DOCUMENTS, DYNAMODB_TABLE, KMS_KEY, check_deletion_protection_in_prod, require

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
    """The ledger has point-in-time recovery on, so a consent or request record lost by mistake can be restored.
    Implemented by components/ledger.py (PrivacyLedger, point_in_time_recovery)."""
    if is_ledger(args):
        require(report, args, "pointInTimeRecovery.enabled", [True], expected="true",
                message="privacy ledger cannot be restored to a point in time")


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
