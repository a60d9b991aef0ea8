"""Edge cases of the data-protection (DATA-*) and privacy (PRIV-*) rules on hand-built engine arguments: each rule
passes when compliant, fires when violated, and does not fire on values that are unknown at preview."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import PolicyResource

from policies.rules import data_protection as dp
from policies.rules import privacy
from policies.rules._support import S3_BUCKET, UNKNOWN, environment, resolve
from tests.rule_worlds import check, options, provider

KEY = dp.KMS_KEY
TABLE = dp.DYNAMODB_TABLE
DB = dp.RDS_INSTANCE


def res(type_: str, props: dict[str, Any], name: str = "r", env: str = "prod", protect: bool = False,
        deps: dict[str, list[PolicyResource]] | None = None) -> PolicyResource:
    # The provider as the engine hands it: object-valued provider inputs JSON-encoded.
    aws = provider(env, json_tags=True, region="us-east-1")
    return PolicyResource(type_, props, f"urn:pulumi:s::p::{type_}::{name}", name, options(protect), aws, None, [], deps or {})


def classified(data_class: str, **extra: str) -> dict[str, str]:
    return {"data-classification": data_class, **extra}


# --- the environment tier ------------------------------------------------------------------------------------------

def test_environment_reads_json_encoded_default_tags() -> None:
    assert environment(res(DB, {}, env="prod")) == "prod"
    assert environment(res(DB, {}, env="dev")) == "dev"


# --- DATA-01 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tags", "fires"), [
    ({"data-classification": "case-documents"}, False),
    ({"data-classification": "privacy-records"}, False),
    ({}, True),
    ({"data-classification": "secret"}, True),
    (UNKNOWN, False),
    ({"data-classification": UNKNOWN}, False),
])
def test_data_stores_carry_a_known_classification(tags: Any, fires: bool) -> None:
    assert bool(check(dp.data_stores_carry_a_known_classification, [res(S3_BUCKET, {"tags": tags})])) is fires


# --- DATA-02 ------------------------------------------------------------------------------------------------------

def bucket_with(type_: str, props: dict[str, Any], bucket_props: dict[str, Any] | None = None) -> list[PolicyResource]:
    bucket = res(S3_BUCKET, bucket_props or {"tags": classified("case-documents")}, name="bucket")
    return [bucket, res(type_, {"bucket": UNKNOWN, **props}, name="config", deps={"bucket": [bucket]})]


FULL_BLOCK = {flag: True for flag in dp.PUBLIC_ACCESS_FLAGS}


def test_public_access_block_with_every_flag_passes() -> None:
    assert check(dp.every_bucket_blocks_all_public_access, bucket_with(dp.PUBLIC_ACCESS_BLOCK, FULL_BLOCK)) == []


def test_public_access_block_with_a_flag_off_fires() -> None:
    found = check(dp.every_bucket_blocks_all_public_access, bucket_with(dp.PUBLIC_ACCESS_BLOCK, {**FULL_BLOCK, "blockPublicAcls": False}))
    assert len(found) == 1 and "blockPublicAcls" in found[0]


def test_public_access_block_flag_unknown_at_preview_does_not_fire() -> None:
    blurred = bucket_with(dp.PUBLIC_ACCESS_BLOCK, {**FULL_BLOCK, "ignorePublicAcls": UNKNOWN})
    assert check(dp.every_bucket_blocks_all_public_access, blurred) == []


def test_bucket_without_a_public_access_block_of_its_own_fires() -> None:
    bucket = res(S3_BUCKET, {}, name="bucket")
    other = res(S3_BUCKET, {}, name="other")
    block = res(dp.PUBLIC_ACCESS_BLOCK, {"bucket": "name-of-bucket", **FULL_BLOCK}, name="b", deps={"bucket": [other]})
    assert len(check(dp.every_bucket_blocks_all_public_access, [bucket, other, block])) == 1


@pytest.mark.parametrize(("ownership", "fires"), [("BucketOwnerEnforced", False), ("BucketOwnerPreferred", True),
                                                   ("ObjectWriter", True), (UNKNOWN, False)])
def test_every_bucket_enforces_bucket_owner(ownership: str, fires: bool) -> None:
    resources = bucket_with(dp.OWNERSHIP_CONTROLS, {"rule": {"objectOwnership": ownership}})
    assert bool(check(dp.every_bucket_enforces_bucket_owner, resources)) is fires


def test_values_under_an_unknown_object_are_unknown() -> None:
    assert resolve({"rule": UNKNOWN}, "rule.objectOwnership") == UNKNOWN
    assert resolve({"rules": [{"a": 1}]}, "rules.0.a") == 1 and resolve({}, "rule.x", "d") == "d"
    assert check(dp.every_bucket_enforces_bucket_owner, bucket_with(dp.OWNERSHIP_CONTROLS, {"rule": UNKNOWN})) == []
    assert check(dp.every_bucket_is_versioned, bucket_with(dp.BUCKET_VERSIONING, {"versioningConfiguration": UNKNOWN})) == []


# --- DATA-03 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "fires"), [("Enabled", False), ("Suspended", True), (UNKNOWN, False)])
def test_every_bucket_is_versioned(status: str, fires: bool) -> None:
    resources = bucket_with(dp.BUCKET_VERSIONING, {"versioningConfiguration": {"status": status}})
    assert bool(check(dp.every_bucket_is_versioned, resources)) is fires


NONCURRENT = {"id": "n", "status": "Enabled", "filter": {}, "noncurrentVersionExpiration": {"noncurrentDays": 400}}
ABORT = {"id": "a", "status": "Enabled", "filter": {}, "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}


@pytest.mark.parametrize(("rules", "fires"), [
    ([NONCURRENT, ABORT], False),
    ([ABORT], True),
    ([{**NONCURRENT, "status": "Disabled"}, ABORT], True),
    ([{**NONCURRENT, "filter": {"prefix": "drafts/"}}, ABORT], True),  # covers only part of the bucket
    ([{**NONCURRENT, "noncurrentVersionExpiration": {"noncurrentDays": UNKNOWN}}], False),
    (UNKNOWN, False),
    ([UNKNOWN], False),
    ([{**NONCURRENT, "noncurrentVersionExpiration": UNKNOWN}], False),
])
def test_every_bucket_expires_noncurrent_versions(rules: Any, fires: bool) -> None:
    resources = bucket_with(dp.BUCKET_LIFECYCLE, {"rules": rules})
    assert bool(check(dp.every_bucket_expires_noncurrent_versions, resources)) is fires


def test_bucket_without_lifecycle_fires_for_expiry_and_aborts() -> None:
    bucket = [res(S3_BUCKET, {}, name="bucket")]
    assert check(dp.every_bucket_expires_noncurrent_versions, bucket) and check(dp.every_bucket_aborts_incomplete_uploads, bucket)


@pytest.mark.parametrize(("rules", "fires"), [([NONCURRENT, ABORT], False), ([NONCURRENT], True)])
def test_every_bucket_aborts_incomplete_uploads(rules: list[dict[str, Any]], fires: bool) -> None:
    resources = bucket_with(dp.BUCKET_LIFECYCLE, {"rules": rules})
    assert bool(check(dp.every_bucket_aborts_incomplete_uploads, resources)) is fires


@pytest.mark.parametrize(("env", "days", "fires"), [("prod", 365, False), ("prod", 90, True), ("dev", 30, False),
                                                    ("dev", 7, True), ("prod", UNKNOWN, False)])
def test_case_document_versions_are_kept_for_the_retention_floor(env: str, days: Any, fires: bool) -> None:
    bucket = res(S3_BUCKET, {"tags": classified("case-documents")}, name="bucket", env=env)
    rule = {**NONCURRENT, "filter": {"prefix": "drafts/"}, "noncurrentVersionExpiration": {"noncurrentDays": days}}
    lifecycle = res(dp.BUCKET_LIFECYCLE, {"rules": [rule]}, name="lc", env=env, deps={"bucket": [bucket]})
    assert bool(check(dp.case_document_versions_are_kept_for_the_retention_floor, [bucket, lifecycle])) is fires


# --- DATA-04 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lock", "fires"), [(True, False), (False, True), (None, True), (UNKNOWN, False)])
def test_case_documents_bucket_allows_legal_holds(lock: Any, fires: bool) -> None:
    props = {"tags": classified("case-documents"), **({} if lock is None else {"objectLockEnabled": lock})}
    resources = bucket_with(dp.BUCKET_VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}, bucket_props=props)
    assert bool(check(dp.case_documents_bucket_allows_legal_holds, resources)) is fires


def test_other_buckets_need_no_object_lock() -> None:
    assert check(dp.case_documents_bucket_allows_legal_holds, [res(S3_BUCKET, {"tags": classified("audit-logs")})]) == []


# --- DATA-05 ------------------------------------------------------------------------------------------------------

def key(data_class: str) -> PolicyResource:
    return res(KEY, {"tags": classified(data_class)}, name=f"key-{data_class}")


@pytest.mark.parametrize(("vault_props", "key_class", "fires"), [
    ({"kmsKeyArn": UNKNOWN}, "backups", False),
    ({"kmsKeyArn": UNKNOWN}, "case-documents", True),
    ({}, "backups", True),
])
def test_backup_vaults_are_encrypted_with_the_backups_key(vault_props: dict[str, Any], key_class: str, fires: bool) -> None:
    source = key(key_class)
    vault = res(dp.BACKUP_VAULT, vault_props, name="vault", deps={"kmsKeyArn": [source]})
    assert bool(check(dp.backup_vaults_are_encrypted_with_the_backups_key, [vault, source])) is fires


LOCK = {"backupVaultName": UNKNOWN, "minRetentionDays": 365, "maxRetentionDays": 2557, "changeableForDays": 3}


@pytest.mark.parametrize(("env", "lock", "fires"), [
    ("prod", LOCK, False),
    ("prod", {k: v for k, v in LOCK.items() if k != "changeableForDays"}, True),
    ("dev", {k: v for k, v in LOCK.items() if k != "changeableForDays"}, False),
    ("dev", {k: v for k, v in LOCK.items() if k != "maxRetentionDays"}, True),
    ("dev", {**LOCK, "minRetentionDays": None}, True),
    ("prod", {**LOCK, "changeableForDays": UNKNOWN, "minRetentionDays": UNKNOWN}, False),
])
def test_backup_vaults_are_locked(env: str, lock: dict[str, Any], fires: bool) -> None:
    vault = res(dp.BACKUP_VAULT, {}, name="vault", env=env)
    config = res(dp.VAULT_LOCK, lock, name="lock", env=env, deps={"backupVaultName": [vault]})
    assert bool(check(dp.backup_vaults_are_locked, [vault, config])) is fires


def test_vault_without_lock_fires() -> None:
    assert check(dp.backup_vaults_are_locked, [res(dp.BACKUP_VAULT, {})])


@pytest.mark.parametrize(("schedule", "daily"), [
    ("cron(0 5 * * ? *)", True), ("cron(0 5 ? * * *)", True), ("cron(0 */4 * * ? *)", True), (None, True),
    ("rate(1 day)", True), ("rate(12 hours)", True), (UNKNOWN, True),
    ("cron(0 5 ? * SUN *)", False), ("cron(0 5 1 * ? *)", False), ("cron(0 5 * 1 ? *)", False), ("rate(2 days)", False),
    ("daily", False),
])
def test_runs_at_least_daily(schedule: Any, daily: bool) -> None:
    assert dp.runs_at_least_daily(schedule) is daily


def test_backup_plans_run_daily_points_at_the_weekly_rule() -> None:
    rules = [{"ruleName": "daily", "schedule": "cron(0 5 * * ? *)"}, {"ruleName": "weekly", "schedule": "cron(0 5 ? * SUN *)"}]
    found = check(dp.backup_plans_run_daily, [res(dp.BACKUP_PLAN, {"rules": rules})])
    assert len(found) == 1 and "rules.1.schedule" in found[0]


def backup_topology(store: PolicyResource, **selection_props: Any) -> list[PolicyResource]:
    vault = res(dp.BACKUP_VAULT, {}, name="vault")
    plan = res(dp.BACKUP_PLAN, {"rules": UNKNOWN}, name="plan", deps={"rules": [vault]})
    props = {"planId": UNKNOWN, "resources": ["arn:aws:rds:*:*:db:*", "arn:aws:dynamodb:*:*:table/*", "arn:aws:s3:::*"],
             "selectionTags": [{"type": "STRINGEQUALS", "key": "backup-plan", "value": "daily"}], **selection_props}
    selection = res(dp.BACKUP_SELECTION, props, name="selection", deps={"planId": [plan]})
    return [vault, plan, selection, store]


TAGGED_DB = {"tags": classified("case-database", **{"backup-plan": "daily"})}


def test_tagged_stores_are_selected() -> None:
    for store in (res(DB, TAGGED_DB), res(TABLE, TAGGED_DB),
                  res(S3_BUCKET, {"tags": classified("case-documents", **{"backup-plan": "daily"})})):
        assert check(dp.case_data_stores_are_selected_for_backup, backup_topology(store)) == []


@pytest.mark.parametrize("selection_props", [
    {"selectionTags": [{"type": "STRINGEQUALS", "key": "backup-plan", "value": "weekly"}]},
    {"resources": ["arn:aws:s3:::*"]},
    {"notResources": ["arn:aws:rds:*:*:db:*"]},
    {"selectionTags": [{"type": "STRINGLIKE", "key": "backup-plan", "value": "daily"}]},
])
def test_store_outside_every_selection_fires(selection_props: dict[str, Any]) -> None:
    assert check(dp.case_data_stores_are_selected_for_backup, backup_topology(res(DB, TAGGED_DB), **selection_props))


@pytest.mark.parametrize("selection_props", [
    {"selectionTags": UNKNOWN}, {"selectionTags": [UNKNOWN]},
    {"selectionTags": [{"type": "STRINGEQUALS", "key": "backup-plan", "value": UNKNOWN}]},
    {"resources": UNKNOWN}, {"resources": ["arn:aws:*"]}, {"resources": ["*"]}, {"resources": []},
])
def test_selection_unknown_or_broad_at_preview_selects(selection_props: dict[str, Any]) -> None:
    assert check(dp.case_data_stores_are_selected_for_backup, backup_topology(res(DB, TAGGED_DB), **selection_props)) == []


def test_untagged_store_fires_and_unknown_tags_do_not() -> None:
    assert check(dp.case_data_stores_are_selected_for_backup, backup_topology(res(DB, {"tags": classified("case-database")})))
    assert check(dp.case_data_stores_are_selected_for_backup, backup_topology(res(DB, {"tags": UNKNOWN}))) == []


def test_selection_of_a_plan_outside_the_stack_does_not_count() -> None:
    selection = res(dp.BACKUP_SELECTION, {"planId": "some-other-plan",
                                          "selectionTags": [{"type": "STRINGEQUALS", "key": "backup-plan", "value": "daily"}]})
    assert check(dp.case_data_stores_are_selected_for_backup, [selection, res(DB, TAGGED_DB)])


def test_a_bucket_of_another_class_need_not_be_backed_up() -> None:
    assert check(dp.case_data_stores_are_selected_for_backup, [res(S3_BUCKET, {"tags": classified("audit-logs")})]) == []


# --- DATA-06 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "protect", "fires"), [("prod", True, False), ("prod", False, True), ("dev", False, False)])
def test_stateful_resources_are_protected_in_prod(env: str, protect: bool, fires: bool) -> None:
    found = check(dp.stateful_resources_are_protected_in_prod, [res(KEY, {}, env=env, protect=protect)])
    assert bool(found) is fires


@pytest.mark.parametrize(("type_", "props", "env", "fires"), [
    (DB, {"deletionProtection": True}, "prod", False),
    (DB, {"deletionProtection": False}, "prod", True),
    (DB, {}, "prod", True),
    (DB, {"deletionProtection": False}, "dev", False),
    (DB, {"deletionProtection": UNKNOWN}, "prod", False),
    (TABLE, {"deletionProtectionEnabled": False}, "prod", True),
    (TABLE, {"deletionProtectionEnabled": True}, "prod", False),
])
def test_databases_have_deletion_protection_in_prod(type_: str, props: dict[str, Any], env: str, fires: bool) -> None:
    assert bool(check(dp.databases_have_deletion_protection_in_prod, [res(type_, props, env=env)])) is fires


@pytest.mark.parametrize(("props", "fires"), [
    ({"skipFinalSnapshot": False, "deleteAutomatedBackups": False}, False),
    ({"deleteAutomatedBackups": False}, False),  # skipFinalSnapshot defaults to false
    ({"skipFinalSnapshot": True, "deleteAutomatedBackups": False}, True),
    ({"skipFinalSnapshot": False}, True),  # deleteAutomatedBackups defaults to true
    ({"skipFinalSnapshot": UNKNOWN, "deleteAutomatedBackups": UNKNOWN}, False),
])
def test_case_database_keeps_its_backups_when_deleted(props: dict[str, Any], fires: bool) -> None:
    assert bool(check(dp.case_database_keeps_its_backups_when_deleted, [res(DB, props, env="dev")])) is fires


# --- DATA-07 ------------------------------------------------------------------------------------------------------

def test_allow_list_is_read_from_the_catalog_data() -> None:
    assert "us-east-1" in dp.ALLOWED_REGIONS and "eu-north-1" not in dp.ALLOWED_REGIONS


@pytest.mark.parametrize(("region", "fires"), [("us-east-1", False), ("eu-north-1", True), (None, True), (UNKNOWN, False)])
def test_provider_region_is_allowed(region: Any, fires: bool) -> None:
    props = {} if region is None else {"region": region}
    assert bool(check(dp.provider_region_is_allowed, [res(dp.AWS_PROVIDER, props)])) is fires


@pytest.mark.parametrize(("region", "fires"), [("us-west-2", False), ("ap-south-1", True), (UNKNOWN, False), (None, False)])
def test_resource_regions_are_allowed(region: Any, fires: bool) -> None:
    vault = res(dp.BACKUP_VAULT, {} if region is None else {"region": region})
    assert bool(check(dp.resource_regions_are_allowed, [vault])) is fires


# --- DATA-08 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "multi_az", "fires"), [("prod", True, False), ("prod", False, True), ("dev", False, False),
                                                        ("prod", UNKNOWN, False)])
def test_case_database_is_multi_az_in_prod(env: str, multi_az: Any, fires: bool) -> None:
    assert bool(check(dp.case_database_is_multi_az_in_prod, [res(DB, {"multiAz": multi_az}, env=env)])) is fires


@pytest.mark.parametrize(("env", "days", "fires"), [("prod", 35, False), ("prod", 14, True), ("dev", 7, False), ("dev", 1, True),
                                                    ("dev", None, True), ("prod", UNKNOWN, False)])
def test_case_database_keeps_backups_for_the_retention_floor(env: str, days: Any, fires: bool) -> None:
    props = {} if days is None else {"backupRetentionPeriod": days}
    assert bool(check(dp.case_database_keeps_backups_for_the_retention_floor, [res(DB, props, env=env)])) is fires


@pytest.mark.parametrize(("copy", "fires"), [(True, False), (False, True), (None, True)])
def test_case_database_copies_tags_to_snapshots(copy: Any, fires: bool) -> None:
    props = {} if copy is None else {"copyTagsToSnapshot": copy}
    assert bool(check(dp.case_database_copies_tags_to_snapshots, [res(DB, props)])) is fires


# --- PRIV-01 ------------------------------------------------------------------------------------------------------

LEDGER_TAGS = {"tags": classified("privacy-records")}


def test_privacy_ledger_is_kept() -> None:
    assert check(privacy.privacy_ledger_is_kept, [res(TABLE, LEDGER_TAGS)]) == []
    assert check(privacy.privacy_ledger_is_kept, [res(TABLE, {"tags": classified("case-database")})])


@pytest.mark.parametrize(("pitr", "fires"), [({"enabled": True}, False), ({"enabled": False}, True), (None, True),
                                             (UNKNOWN, False), ({"enabled": UNKNOWN}, False)])
def test_privacy_ledger_is_recoverable_to_any_point(pitr: Any, fires: bool) -> None:
    props = {**LEDGER_TAGS, **({} if pitr is None else {"pointInTimeRecovery": pitr})}
    assert bool(check(privacy.privacy_ledger_is_recoverable_to_any_point, [res(TABLE, props)])) is fires


def test_other_tables_are_not_the_ledger() -> None:
    other = [res(TABLE, {"tags": classified("case-database"), "deletionProtectionEnabled": False})]
    assert check(privacy.privacy_ledger_is_recoverable_to_any_point, other) == []
    assert check(privacy.privacy_ledger_cannot_be_deleted_in_prod, other) == []


@pytest.mark.parametrize(("encryption", "from_key", "fires"), [
    ({"enabled": True, "kmsKeyArn": UNKNOWN}, True, False),
    ({"enabled": True, "kmsKeyArn": UNKNOWN}, False, True),
    ({"enabled": True}, True, True),
    ({"enabled": False, "kmsKeyArn": UNKNOWN}, True, True),
    ({"enabled": UNKNOWN, "kmsKeyArn": UNKNOWN}, True, False),
    (None, False, True),
    (UNKNOWN, False, False),
])
def test_privacy_ledger_is_encrypted_with_a_customer_managed_key(encryption: Any, from_key: bool, fires: bool) -> None:
    props = {**LEDGER_TAGS, **({} if encryption is None else {"serverSideEncryption": encryption})}
    sources = [key("case-database")] if from_key else []
    table = res(TABLE, props, deps={"serverSideEncryption": sources})
    assert bool(check(privacy.privacy_ledger_is_encrypted_with_a_customer_managed_key, [table, *sources])) is fires


@pytest.mark.parametrize(("env", "protection", "fires"), [("prod", True, False), ("prod", False, True), ("dev", False, False)])
def test_privacy_ledger_cannot_be_deleted_in_prod(env: str, protection: bool, fires: bool) -> None:
    props = {**LEDGER_TAGS, "deletionProtectionEnabled": protection}
    assert bool(check(privacy.privacy_ledger_cannot_be_deleted_in_prod, [res(TABLE, props, env=env)])) is fires


# --- PRIV-02 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("accounts", "fires"), [
    ([{"status": "ENABLED"}], False), ([{}], False), ([{"status": UNKNOWN}], False), ([{"status": "PAUSED"}], True), ([], True),
])
def test_macie_is_enabled(accounts: list[dict[str, Any]], fires: bool) -> None:
    assert bool(check(privacy.macie_is_enabled, [res(privacy.MACIE_ACCOUNT, a, name=f"m{i}") for i, a in enumerate(accounts)])) is fires


def documents_and_job(job_props: dict[str, Any], linked: bool = True) -> list[PolicyResource]:
    bucket = res(S3_BUCKET, {"tags": classified("case-documents")}, name="documents")
    props = {"jobType": "SCHEDULED", **job_props}
    job = res(privacy.MACIE_JOB, props, name="job", deps={"s3JobDefinition": [bucket] if linked else []})
    return [bucket, job]


@pytest.mark.parametrize(("job_props", "fires"), [
    ({"s3JobDefinition": {"bucketDefinitions": [{"accountId": "1", "buckets": [UNKNOWN]}]}}, False),
    ({"s3JobDefinition": {"bucketDefinitions": UNKNOWN}}, False),
    ({"s3JobDefinition": UNKNOWN}, False),
    ({"s3JobDefinition": {"bucketDefinitions": []}}, True),
    ({"s3JobDefinition": {"bucketDefinitions": [{"accountId": "1", "buckets": []}]}}, True),
    ({"s3JobDefinition": {"bucketDefinitions": [{"accountId": "1", "buckets": ["b"]}]}, "jobType": "ONE_TIME"}, True),
    ({"s3JobDefinition": {"bucketDefinitions": [{"accountId": "1", "buckets": ["b"]}]}, "jobStatus": "USER_PAUSED"}, True),
])
def test_macie_classifies_case_documents(job_props: dict[str, Any], fires: bool) -> None:
    assert bool(check(privacy.macie_classifies_case_documents, documents_and_job(job_props))) is fires


def test_macie_job_not_linked_to_the_documents_bucket_fires() -> None:
    job_props = {"s3JobDefinition": {"bucketDefinitions": [{"accountId": "1", "buckets": ["documents-by-name"]}]}}
    assert check(privacy.macie_classifies_case_documents, documents_and_job(job_props, linked=False))


# --- issue 14: the size of a setting (floors of policies/floors.yaml) ----------------------------------------------

def plan(env: str, deleted_after: Any, copies: list[dict[str, Any]] | None = None,
         vaults: list[PolicyResource] | None = None) -> PolicyResource:
    rule = {"ruleName": "daily", "schedule": "cron(0 5 * * ? *)", "targetVaultName": "v", "copyActions": copies or [],
            **({} if deleted_after is None else {"lifecycle": {"deleteAfter": deleted_after}})}
    return res(dp.BACKUP_PLAN, {"rules": [rule]}, name="plan", env=env, deps={"rules": vaults or []})


@pytest.mark.parametrize(("env", "days", "copy_days", "fires"), [
    ("prod", 1, None, True), ("prod", 365, None, False), ("prod", 2557, 30, True), ("prod", None, None, False),
    ("dev", 7, None, True), ("dev", 35, None, False), ("staging", 34, None, True), ("prod", UNKNOWN, None, False),
])
def test_backup_plans_keep_recovery_points_for_the_floor(env: str, days: Any, copy_days: Any, fires: bool) -> None:
    copies = [] if copy_days is None else [{"destinationVaultArn": "arn:copy", "lifecycle": {"deleteAfter": copy_days}}]
    assert bool(check(dp.backup_plans_keep_recovery_points_for_the_floor, [plan(env, days, copies)])) is fires


def test_prod_backups_are_copied_to_another_region() -> None:
    home = res(dp.BACKUP_VAULT, {"name": "v"}, name="vault")
    away = res(dp.BACKUP_VAULT, {"name": "v-copy", "region": "us-west-2"}, name="copy-vault")
    copy = [{"destinationVaultArn": UNKNOWN, "lifecycle": {"deleteAfter": 2557}}]
    rule = dp.backups_are_copied_to_another_region_where_required
    assert check(rule, [home, away, plan("prod", 2557, copy, [home, away])]) == []
    assert check(rule, [home, away, plan("prod", 2557, [], [home, away])]), "the copy removed"
    assert check(rule, [home, plan("prod", 2557, copy, [home])]), "copied to a vault in the same region"
    assert check(rule, [home, plan("dev", 35, [], [home])]) == [], "dev needs no copy"
    assert check(rule, [home, plan("qa", 35, [], [home])]), "an unknown tier is held to prod's floor"


@pytest.mark.parametrize(("type_", "value", "fires"), [
    (S3_BUCKET, True, True), (S3_BUCKET, False, False), (S3_BUCKET, None, False), (dp.BACKUP_VAULT, True, True),
    (S3_BUCKET, UNKNOWN, False),
])
def test_stateful_stores_are_never_force_destroyed(type_: str, value: Any, fires: bool) -> None:
    props = {} if value is None else {"forceDestroy": value}
    for env in ("prod", "dev"):
        assert bool(check(dp.stateful_stores_are_never_force_destroyed, [res(type_, props, env=env)])) is fires


@pytest.mark.parametrize(("ttl", "fires"), [
    ({"enabled": True, "attributeName": "purge_after"}, False), ({"enabled": True, "attributeName": "due_at"}, True),
    ({"enabled": False, "attributeName": "due_at"}, False), (None, False), ({"enabled": True, "attributeName": UNKNOWN}, False),
])
def test_privacy_ledger_records_expire_only_when_marked(ttl: Any, fires: bool) -> None:
    props = {**LEDGER_TAGS, **({} if ttl is None else {"ttl": ttl})}
    assert bool(check(privacy.privacy_ledger_records_expire_only_when_marked, [res(TABLE, props)])) is fires


@pytest.mark.parametrize(("days", "fires"), [(35, False), (None, False), (1, True), (UNKNOWN, False)])
def test_privacy_ledger_recovery_window_meets_the_floor(days: Any, fires: bool) -> None:
    pitr = {"enabled": True, **({} if days is None else {"recoveryPeriodInDays": days})}
    table = res(TABLE, {**LEDGER_TAGS, "pointInTimeRecovery": pitr})
    assert bool(check(privacy.privacy_ledger_is_recoverable_to_any_point, [table])) is fires


@pytest.mark.parametrize(("env", "job_props", "account", "fires"), [
    ("prod", {"samplingPercentage": 100, "scheduleFrequency": {"dailySchedule": True}}, "FIFTEEN_MINUTES", False),
    ("prod", {"samplingPercentage": 10, "scheduleFrequency": {"dailySchedule": True}}, "FIFTEEN_MINUTES", True),
    ("prod", {"scheduleFrequency": {"dailySchedule": True}}, "FIFTEEN_MINUTES", False),
    ("prod", {"scheduleFrequency": {"weeklySchedule": "MONDAY"}}, "FIFTEEN_MINUTES", True),
    ("dev", {"scheduleFrequency": {"weeklySchedule": "MONDAY"}}, "FIFTEEN_MINUTES", False),
    ("dev", {"scheduleFrequency": {"monthlySchedule": 1}}, "FIFTEEN_MINUTES", True),
    ("prod", {"scheduleFrequency": {"dailySchedule": True}}, "SIX_HOURS", True),
    ("prod", {"scheduleFrequency": {"dailySchedule": True}}, None, True),
    ("prod", {"samplingPercentage": UNKNOWN, "scheduleFrequency": UNKNOWN}, UNKNOWN, False),
])
def test_macie_covers_every_case_document_promptly(env: str, job_props: dict[str, Any], account: Any, fires: bool) -> None:
    bucket = res(S3_BUCKET, {"tags": classified("case-documents")}, name="documents", env=env)
    job = res(privacy.MACIE_JOB, {"jobType": "SCHEDULED", **job_props}, name="job", env=env, deps={"s3JobDefinition": [bucket]})
    macie = res(privacy.MACIE_ACCOUNT, {} if account is None else {"findingPublishingFrequency": account}, name="macie", env=env)
    assert bool(check(privacy.macie_covers_every_case_document_promptly, [bucket, job, macie])) is fires


# --- DATA-06 (issue 14): every log group refuses deletion in prod ----------------------------------------------------

@pytest.mark.parametrize(("env", "value", "fires"), [
    ("prod", True, False), ("prod", False, True), ("prod", None, True), ("prod", UNKNOWN, False), ("dev", False, False)])
def test_log_groups_refuse_deletion_in_prod(env: str, value: Any, fires: bool) -> None:
    group_props = {} if value is None else {"deletionProtectionEnabled": value}
    waf_group = res(dp.LOG_GROUP, group_props, "waf-logs", env)
    trail_group = res(dp.LOG_GROUP, {"deletionProtectionEnabled": True}, "trail-logs", env)
    found = check(dp.log_groups_refuse_deletion_in_prod, [waf_group, trail_group])
    assert bool(found) is fires, found
    assert all("waf-logs" in f for f in found)
