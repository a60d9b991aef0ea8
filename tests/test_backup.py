"""BackupProtection: encrypted, locked vault; daily plan; optional cross-region copy; tag-based selection."""

from __future__ import annotations

from functools import cache

import pulumi_aws as aws

from caseshield import settings as settings_module
from caseshield.offline import ResourceGraph, evaluate
from components.backup import BackupProtection, BackupProtectionArgs

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"


def program() -> None:
    s = settings_module.from_pulumi()
    key = aws.kms.Key("backup-key")
    BackupProtection("backup", BackupProtectionArgs(settings=s, key=key, partition="aws", account_id="123456789012"))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def test_vault_is_encrypted_with_the_backup_key_and_protected_in_prod() -> None:
    g = graph("prod")
    vault = g.one(VAULT, "backup-vault")
    assert [r.name for r in g.depends_on(vault, "kmsKeyArn")] == ["backup-key"]
    assert vault.protect and vault.retain_on_delete
    assert not graph("dev").one(VAULT, "backup-vault").protect


def test_prod_lock_is_compliance_mode_with_floor_and_plan_retention() -> None:
    lock = graph("prod").one(LOCK, "backup-vault-lock")
    assert lock.inputs["changeableForDays"] == 3  # compliance mode: immutable after the grace period
    assert lock.inputs["minRetentionDays"] == 365
    assert lock.inputs["maxRetentionDays"] == 2557


def test_dev_lock_is_governance_mode() -> None:
    lock = graph("dev").one(LOCK, "backup-vault-lock")
    assert "changeableForDays" not in lock.inputs
    assert lock.inputs["minRetentionDays"] == 35


def test_daily_plan_keeps_recovery_points_for_the_settings_retention() -> None:
    for stack, days in (("prod", 2557), ("dev", 35)):
        rule = graph(stack).one("aws:backup/plan:Plan").inputs["rules"][0]
        assert rule["schedule"] == "cron(0 5 * * ? *)"
        assert rule["lifecycle"]["deleteAfter"] == days


def test_prod_copies_to_a_locked_vault_in_the_copy_region_dev_does_not() -> None:
    g = graph("prod")
    copy_vault = g.one(VAULT, "backup-copy-vault")
    assert copy_vault.inputs["region"] == "us-west-2"
    copy_key = g.one("aws:kms/key:Key", "backup-copy-key")
    assert copy_key.inputs["region"] == "us-west-2" and copy_key.inputs["enableKeyRotation"] is True
    rule = g.one("aws:backup/plan:Plan").inputs["rules"][0]
    assert len(rule["copyActions"]) == 1
    assert [r.name for r in g.depends_on(g.one(LOCK, "backup-copy-vault-lock"), "backupVaultName")] == ["backup-copy-vault"]
    assert graph("dev").one("aws:backup/plan:Plan").inputs["rules"][0]["copyActions"] == []
    assert [v.name for v in graph("dev").of_type(VAULT)] == ["backup-vault"]


def test_selection_is_tag_based_over_database_tables_and_buckets() -> None:
    selection = graph("prod").one("aws:backup/selection:Selection")
    assert selection.inputs["selectionTags"] == [{"type": "STRINGEQUALS", "key": "backup-plan", "value": "daily"}]
    assert selection.inputs["resources"] == ["arn:aws:rds:*:*:db:*", "arn:aws:dynamodb:*:*:table/*", "arn:aws:s3:::*"]


def test_service_role_trusts_only_backup_in_this_account() -> None:
    import json

    role = graph("prod").one("aws:iam/role:Role", "backup-role")
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
