"""KeyHierarchy: a rotated CMK per data class; administrators manage but never use; services held to their source."""

from __future__ import annotations

import pytest

from caseshield.offline import ResourceGraph
from components.base import DATA_CLASSES
from tests.conftest import graph_of, policy, statement

KEY = "aws:kms/key:Key"


def key(g: ResourceGraph, data_class: str):
    return g.one(KEY, f"caseshield-keys-{data_class}")


def test_one_rotated_key_per_data_class_with_thirty_day_window(graph: ResourceGraph) -> None:
    for data_class in DATA_CLASSES:
        k = key(graph, data_class)
        assert k.inputs["enableKeyRotation"] is True
        assert k.inputs["deletionWindowInDays"] == 30
        assert k.inputs["tags"]["data-classification"] == data_class


def test_every_key_has_an_alias_named_for_its_class(graph: ResourceGraph) -> None:
    aliases = {a.inputs["name"] for a in graph.of_type("aws:kms/alias:Alias")}
    assert aliases >= {f"alias/cs-{graph.stack}/{dc}" for dc in DATA_CLASSES}


def test_keys_are_protected_in_prod_only() -> None:
    assert all(key(graph_of("prod"), dc).protect and key(graph_of("prod"), dc).retain_on_delete for dc in DATA_CLASSES)
    assert not any(key(graph_of("dev"), dc).protect for dc in DATA_CLASSES)


@pytest.mark.parametrize("data_class", DATA_CLASSES)
def test_administrators_are_denied_cryptographic_use(data_class: str) -> None:
    doc = policy(key(graph_of("prod"), data_class))
    admins = statement(doc, "KeyAdministration")["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    deny = statement(doc, "AdministratorsNeverUseTheKey")
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) >= {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"}
    assert deny["Condition"]["ArnEquals"]["aws:PrincipalArn"] == admins
    assert "arn:aws:iam::123456789012:role/cs-prod-key-admin" in admins
    users = [s for s in doc["Statement"] if s.get("Sid") == "KeyUsersByRoleMatrix"]
    for s in users:
        assert not set(s["Condition"]["ArnEquals"]["aws:PrincipalArn"]) & set(admins)


def test_key_users_follow_the_role_matrix() -> None:
    doc = policy(key(graph_of("prod"), "case-documents"))
    users = statement(doc, "KeyUsersByRoleMatrix")["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    names = sorted(u.rsplit("/", 1)[1] for u in users)
    assert names == ["cs-prod-associate", "cs-prod-break-glass", "cs-prod-paralegal", "cs-prod-partner", "cs-prod-records-manager"]


def test_cloudtrail_may_encrypt_only_for_this_stacks_trail() -> None:
    doc = policy(key(graph_of("prod"), "audit-logs"))
    trail = statement(doc, "CloudTrailEncryptsOnlyOurTrail")
    assert trail["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trail["Condition"]["StringEquals"]["aws:SourceArn"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/cs-prod-audit-trail"
    logs = statement(doc, "CloudWatchLogsForThisAccountOnly")
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].startswith("arn:aws:logs:us-east-1:123456789012:")


def test_ebs_encryption_by_default_uses_a_customer_managed_key(graph: ResourceGraph) -> None:
    assert graph.one("aws:ebs/encryptionByDefault:EncryptionByDefault").inputs["enabled"] is True
    default_key = graph.one("aws:ebs/defaultKmsKey:DefaultKmsKey")
    assert [r.name for r in graph.depends_on(default_key, "keyArn")] == ["caseshield-keys-case-documents"]
