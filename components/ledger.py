"""PrivacyLedger: the record of consents and data-subject requests the privacy obligations require.

GDPR Art. 7(1) makes the firm prove each consent it relies on, Art. 30 asks for records of processing, and
Art. 12(3) sets a one-month deadline on access, erasure and portability requests; CCPA (Cal. Civ. Code
1798.100-130) and its regulations add 45-day deadlines and keep records of consumer requests for 24 months.

One DynamoDB table holds both kinds of record for a data subject, so "everything we know about this person's
consents and requests" is a single query:
  * partition key `subject_id`: the data subject (a pseudonymous id, never a name or e-mail);
  * sort key `record_id`: `<kind>#<ISO-8601 timestamp>#<uuid>`, e.g. `consent#2025-03-01T09:00:00Z#...` or
    `request#...`, so records of one kind sort by time and are never overwritten (a withdrawal is a new record);
  * sparse index `by-request-status`: only request records carry `request_status` and `due_at`, so open requests
    ordered by deadline are one query for the privacy team, and consent records do not bloat the index;
  * TTL on `purge_after`: the application sets it when a record's retention ends (storage limitation,
    Art. 5(1)(e)); records without it are kept.
Encryption with a customer-managed key, point-in-time recovery and deletion protection keep the ledger
confidential and provable; in prod it is also protected and retained by Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import classified, stateful

SUBJECT_KEY = "subject_id"
RECORD_KEY = "record_id"
STATUS_INDEX = "by-request-status"
STATUS_ATTRIBUTE = "request_status"
DUE_ATTRIBUTE = "due_at"
PURGE_ATTRIBUTE = "purge_after"
MAX_RECOVERY_DAYS = 35


@dataclass
class PrivacyLedgerArgs:
    """`key`: the CMK the table is encrypted with; `data_class`: its classification tag (privacy-records, a backed-up
    class, so the backup plan selects the table too); `recovery_period_days`: point-in-time recovery window."""

    settings: Settings
    key: aws.kms.Key
    data_class: str = "privacy-records"
    recovery_period_days: int = MAX_RECOVERY_DAYS

    def __post_init__(self) -> None:
        if not 1 <= self.recovery_period_days <= MAX_RECOVERY_DAYS:
            raise ValueError(f"point-in-time recovery period must be 1-{MAX_RECOVERY_DAYS} days")


class PrivacyLedger(pulumi.ComponentResource):
    """The consent and data-subject-request ledger. Attributes: `table` (aws.dynamodb.Table)."""

    table: aws.dynamodb.Table

    def __init__(self, name: str, args: PrivacyLedgerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:privacy:PrivacyLedger", name, None, opts)
        s = args.settings
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=f"{s.name_prefix}-privacy-ledger",
            billing_mode="PAY_PER_REQUEST",
            hash_key=SUBJECT_KEY,
            range_key=RECORD_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=n, type="S")
                        for n in (SUBJECT_KEY, RECORD_KEY, STATUS_ATTRIBUTE, DUE_ATTRIBUTE)],
            global_secondary_indexes=[status_index()],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=PURGE_ATTRIBUTE, enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.key.arn),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
                enabled=True, recovery_period_in_days=args.recovery_period_days),
            deletion_protection_enabled=s.deletion_protection,
            tags=classified(args.data_class),
            opts=stateful(self, s),
        )
        self.register_outputs({"table_name": self.table.name, "table_arn": self.table.arn})


def status_index() -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    """Open requests by status, soonest deadline first; keys only, the record is fetched from the table."""
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=STATUS_INDEX,
        key_schemas=[
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=STATUS_ATTRIBUTE, key_type="HASH"),
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=DUE_ATTRIBUTE, key_type="RANGE"),
        ],
        projection_type="KEYS_ONLY",
    )
