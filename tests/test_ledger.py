"""PrivacyLedger: keys and index for consent/request records, CMK encryption, recovery and protection."""

from __future__ import annotations

from functools import cache
from typing import Any

import pulumi_aws as aws
import pytest

from caseshield import settings as settings_module
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.project import load_project
from components.base import BACKUP_TAG
from components.ledger import PrivacyLedger, PrivacyLedgerArgs

TABLE = "aws:dynamodb/table:Table"


def program() -> None:
    s = settings_module.from_pulumi()
    PrivacyLedger("ledger", PrivacyLedgerArgs(settings=s, key=aws.kms.Key("ledger-key")))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def table(stack: str = "prod") -> RecordedResource:
    return graph(stack).one(TABLE)


def test_table_is_on_demand_keyed_by_subject_and_record() -> None:
    t = table().inputs
    assert t["billingMode"] == "PAY_PER_REQUEST"
    assert (t["hashKey"], t["rangeKey"]) == ("subject_id", "record_id")
    assert "readCapacity" not in t and "writeCapacity" not in t
    assert t["name"] == "cs-prod-privacy-ledger"


def test_request_status_index_orders_open_requests_by_deadline() -> None:
    (index,) = table().inputs["globalSecondaryIndexes"]
    assert index["name"] == "by-request-status"
    assert index["keySchemas"] == [{"attributeName": "request_status", "keyType": "HASH"},
                                   {"attributeName": "due_at", "keyType": "RANGE"}]
    assert index["projectionType"] == "KEYS_ONLY"
    assert "hashKey" not in index  # deprecated form


def test_attributes_are_exactly_the_key_attributes() -> None:
    # DynamoDB rejects attribute definitions that no key or index uses, and keys without a definition.
    t = table().inputs
    defined = {a["name"]: a["type"] for a in t["attributes"]}
    used = {t["hashKey"], t["rangeKey"]} | {k["attributeName"] for i in t["globalSecondaryIndexes"] for k in i["keySchemas"]}
    assert set(defined) == used
    assert set(defined.values()) == {"S"}


def test_table_is_encrypted_with_the_given_key() -> None:
    g = graph("prod")
    sse = table().inputs["serverSideEncryption"]
    assert sse["enabled"] is True
    assert sse["kmsKeyArn"].startswith("arn:aws:kms:")
    assert [r.name for r in g.depends_on(table(), "serverSideEncryption")] == ["ledger-key"]


def test_point_in_time_recovery_is_on_with_the_longest_window() -> None:
    assert table().inputs["pointInTimeRecovery"] == {"enabled": True, "recoveryPeriodInDays": 35}


def test_records_expire_only_when_the_application_marks_them() -> None:
    assert table().inputs["ttl"] == {"attributeName": "purge_after", "enabled": True}


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_deletion_protection_follows_the_setting(stack: str) -> None:
    expected = load_project().stack_config(stack)["caseshield:deletionProtection"] in (True, "true")
    assert table(stack).inputs["deletionProtectionEnabled"] is expected


def test_prod_and_dev_differ_in_protection() -> None:
    assert table("prod").inputs["deletionProtectionEnabled"] is True
    assert table("dev").inputs["deletionProtectionEnabled"] is False
    assert table("prod").protect and table("prod").retain_on_delete
    assert not table("dev").protect and not table("dev").retain_on_delete


def test_table_is_classified_and_selected_for_backup() -> None:
    tags = table().inputs["tags"]
    assert tags["data-classification"] == "privacy-records"
    assert tags[BACKUP_TAG[0]] == BACKUP_TAG[1]


def test_component_owns_the_table() -> None:
    g = graph("prod")
    ledger = g.one("caseshield:privacy:PrivacyLedger", "ledger")
    assert table().parent == ledger.urn
    assert ledger.outputs["table_name"] == "cs-prod-privacy-ledger"


def test_recovery_window_is_checked() -> None:
    s = settings_module.load_settings(load_project().stack_config("dev"), "dev")
    key: Any = object()  # never used: validation fails first
    with pytest.raises(ValueError, match="1-35 days"):
        PrivacyLedgerArgs(settings=s, key=key, recovery_period_days=36)
