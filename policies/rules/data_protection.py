"""Data-protection rules (DATA-*): classification, no public buckets, retention and disposal, legal holds, backups,
protection of stateful resources, data residency and the resilience of the case database.

A bucket's controls are the resources whose `bucket` input came from it (public-access block, ownership controls,
versioning, lifecycle); a vault's lock is the lock whose `backupVaultName` came from it; the case-documents bucket is
the bucket classified `case-documents`. Expected values (data classes, floors, the region allow-list of
`policies/data-residency.yaml`) belong to the controls, not to the program, so a change to the program cannot
quietly lower what the rules expect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeGuard

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from caseshield import schemas
from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    CLASSIFICATION_TAG,
    S3_BUCKET,
    as_list,
    classified_as,
    conditions,
    consumers,
    document,
    environment,
    expect,
    is_anyone,
    is_prod,
    is_unknown,
    of_type,
    peek,
    resolve,
    sources,
    sources_of_type,
    statements,
    tag,
    violation,
)

AWS_PROVIDER = "pulumi:providers:aws"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TRAIL = "aws:cloudtrail/trail:Trail"
RDS_INSTANCE = "aws:rds/instance:Instance"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BACKUP_VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"

CASE_DOCUMENTS = "case-documents"
BACKUPS = "backups"
# Every data class of the case-management system (each with its own key) and the privacy ledger's records.
DATA_CLASSES = ("case-documents", "case-database", "audit-logs", "backups", "application-secrets", "operational-logs",
                "privacy-records")
# Resources that hold data of a class, and so must say which.
CLASSIFIED_STORES = (S3_BUCKET, RDS_INSTANCE, DYNAMODB_TABLE, LOG_GROUP, KMS_KEY, BACKUP_VAULT)
USER_POOL = "aws:cognito/userPool:UserPool"
# Resources whose deletion loses data or evidence (the user pool: every account and its MFA enrolment).
STATEFUL_TYPES = (KMS_KEY, S3_BUCKET, RDS_INSTANCE, DYNAMODB_TABLE, LOG_GROUP, TRAIL, BACKUP_VAULT, USER_POOL)

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
VERSIONING_ENABLED = "Enabled"
LIFECYCLE_ENABLED = "Enabled"
# Superseded case-document versions are kept at least this long (days): prod, every other tier.
PROD_DOCUMENT_VERSION_FLOOR_DAYS = 365
DOCUMENT_VERSION_FLOOR_DAYS = 30

# AWS Backup's schedule for a plan rule that names none: daily at 05:00 UTC.
DEFAULT_BACKUP_SCHEDULE = "cron(0 5 ? * * *)"
CRON_RE = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
RATE_RE = re.compile(r"^rate\((?P<count>\d+) (?P<unit>minute|hour|day)s?\)$")
UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}
DAY_MINUTES = 24 * 60
# A compliance-mode vault lock needs a grace period (changeableForDays) of at least three days (AWS minimum).
COMPLIANCE_GRACE_MIN_DAYS = 3
# Stores that must be backed up by type (the case database, the ledger); buckets by class.
BACKED_UP_TYPES = (RDS_INSTANCE, DYNAMODB_TABLE)
BACKED_UP_BUCKET_CLASSES = (CASE_DOCUMENTS,)
# An ARN of each backed-up type, to test a selection's `resources` patterns with (`{p}`: the pattern's partition).
SAMPLE_ARNS = {RDS_INSTANCE: "arn:{p}:rds:region:111122223333:db:name",
               DYNAMODB_TABLE: "arn:{p}:dynamodb:region:111122223333:table/name",
               S3_BUCKET: "arn:{p}:s3:::name"}
STRING_EQUALS = "STRINGEQUALS"

# The input that turns deletion protection on, per type.
DELETION_PROTECTION = {RDS_INSTANCE: "deletionProtection", DYNAMODB_TABLE: "deletionProtectionEnabled"}

RESIDENCY_FILE = Path(__file__).resolve().parent.parent / "data-residency.yaml"
ALLOWED_REGIONS: tuple[str, ...] = tuple(schemas.load(RESIDENCY_FILE, "data-residency")["allowed_regions"])


# --- shared checks ------------------------------------------------------------------------------------------------

def is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require(report: ReportViolation, resource: ResourceValidationArgs | PolicyResource, path: str, accepted: Any, *,
            expected: str, message: str) -> None:
    """`expect` the value at `path`, unless it lies under a value not yet known (it is judged once known)."""
    if not is_unknown(resolve(resource.props, path)):
        expect(report, resource, path, accepted, expected=expected, message=message)


def at_least(floor: float) -> Any:
    """An `expect` test: a number of at least `floor`."""
    return lambda value: is_number(value) and value >= floor


def bucket_configurations(args: StackValidationArgs, bucket: PolicyResource, type_: str, report: ReportViolation) -> list[PolicyResource]:
    """The `type_` resources configuring `bucket` (their `bucket` input came from it); reports the bucket if none does."""
    found = consumers(args, bucket, type_, "bucket")
    if not found:
        violation(report, f"bucket has no {type_.rsplit(':', 1)[-1]} of its own", path=type_.rsplit(":", 1)[-1], actual=[],
                  expected="one whose `bucket` input came from this bucket", urn=bucket.urn)
    return found


def report_unversioned(args: StackValidationArgs, bucket: PolicyResource, report: ReportViolation, message: str) -> None:
    """Report the bucket unless a BucketVersioning of its own has status Enabled (or one not yet known)."""
    statuses = [resolve(v.props, "versioningConfiguration.status") for v in consumers(args, bucket, BUCKET_VERSIONING, "bucket")]
    if not any(s == VERSIONING_ENABLED or is_unknown(s) for s in statuses):
        violation(report, message, path="BucketVersioning.versioningConfiguration.status", actual=statuses,
                  expected=f'"{VERSIONING_ENABLED}" on a BucketVersioning whose `bucket` input came from this bucket', urn=bucket.urn)


def applies_to_whole_bucket(rule: Mapping[str, Any]) -> bool:
    """A lifecycle rule without a prefix, tag or size filter (an unknown filter value is given the benefit)."""
    filter_ = rule.get("filter")
    if is_unknown(filter_):
        return True
    narrowing = [rule.get("prefix"), *(filter_ or {}).values()]
    return all(v in (None, "", {}, []) or is_unknown(v) for v in narrowing)


def lifecycle_rules(args: StackValidationArgs, bucket: PolicyResource) -> list[Mapping[str, Any]] | None:
    """The enabled rules of the bucket's lifecycle configurations; None while some are not yet known."""
    rules: list[Mapping[str, Any]] = []
    for lifecycle in consumers(args, bucket, BUCKET_LIFECYCLE, "bucket"):
        value = lifecycle.props.get("rules")
        if is_unknown(value) or any(is_unknown(r) for r in as_list(value)):
            return None
        rules += [r for r in as_list(value) if isinstance(r, Mapping) and r.get("status") in (LIFECYCLE_ENABLED, None)]
    return rules


def check_bucket_lifecycle(args: StackValidationArgs, report: ReportViolation, path: str, what: str) -> None:
    """Every bucket has an enabled whole-bucket lifecycle rule with a positive `path` (e.g. noncurrent expiration)."""
    for bucket in of_type(args, S3_BUCKET):
        rules = lifecycle_rules(args, bucket)
        if rules is None:
            continue
        values = [resolve(r, path) for r in rules if applies_to_whole_bucket(r)]
        if not any(is_unknown(v) or (is_number(v) and v > 0) for v in values):
            violation(report, f"bucket lifecycle does not {what}", path=f"rules[].{path}", actual=values,
                      expected="a positive number of days on an enabled rule that covers the whole bucket", urn=bucket.urn)


def check_deletion_protection_in_prod(args: ResourceValidationArgs, report: ReportViolation, what: str) -> None:
    if is_prod(args):
        prop = DELETION_PROTECTION[args.resource_type]
        require(report, args, prop, [True], expected="true in prod", message=f"{what} can be deleted in prod")


def region_is_allowed(region: Any) -> bool:
    return region in ALLOWED_REGIONS


# --- DATA-01 ------------------------------------------------------------------------------------------------------

@resource_rule("DATA-01", *CLASSIFIED_STORES)
def data_stores_carry_a_known_classification(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every data store (bucket, database, table, log group, key, backup vault) is tagged with a known data class.
    Implemented by components/base.py (classified()), used by every component that creates a store."""
    require(report, args, f"tags.{CLASSIFICATION_TAG}", DATA_CLASSES, expected=f"one of {list(DATA_CLASSES)}",
            message="data store does not carry a known data-classification tag")


# --- DATA-02 ------------------------------------------------------------------------------------------------------

@stack_rule("DATA-02")
def every_bucket_blocks_all_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket has its own public-access block with all four settings on.
    Implemented by components/buckets.py (SecureBucket._block_public_access)."""
    for bucket in of_type(args, S3_BUCKET):
        for block in bucket_configurations(args, bucket, PUBLIC_ACCESS_BLOCK, report):
            for flag in PUBLIC_ACCESS_FLAGS:
                require(report, block, flag, [True], expected="true", message=f"bucket public-access block leaves {flag} off")


@stack_rule("DATA-02")
def every_bucket_enforces_bucket_owner(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket has ownership controls set to BucketOwnerEnforced, so ACLs are off and only policies grant access.
    Implemented by components/buckets.py (SecureBucket._enforce_bucket_owner)."""
    for bucket in of_type(args, S3_BUCKET):
        for controls in bucket_configurations(args, bucket, OWNERSHIP_CONTROLS, report):
            require(report, controls, "rule.objectOwnership", [BUCKET_OWNER_ENFORCED], expected=f'"{BUCKET_OWNER_ENFORCED}"',
                    message="bucket ownership controls leave ACLs on")


# --- DATA-03 ------------------------------------------------------------------------------------------------------

@stack_rule("DATA-03")
def every_bucket_is_versioned(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket is versioned, so an overwrite or delete keeps the previous version until the lifecycle disposes of it.
    Implemented by components/buckets.py (SecureBucket._enable_versioning)."""
    for bucket in of_type(args, S3_BUCKET):
        report_unversioned(args, bucket, report, "bucket is not versioned")


@stack_rule("DATA-03")
def every_bucket_expires_noncurrent_versions(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket's lifecycle expires noncurrent versions, so superseded and deleted data is disposed of in time.
    Implemented by components/documents.py, components/audit.py and components/buckets.py (lifecycle rules)."""
    check_bucket_lifecycle(args, report, "noncurrentVersionExpiration.noncurrentDays", "expire noncurrent versions")


@stack_rule("DATA-03")
def every_bucket_aborts_incomplete_uploads(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket's lifecycle aborts incomplete multipart uploads (invisible, billed partial documents).
    Implemented by components/buckets.py (abort_incomplete_uploads_rule)."""
    check_bucket_lifecycle(args, report, "abortIncompleteMultipartUpload.daysAfterInitiation", "abort incomplete multipart uploads")


@stack_rule("DATA-03")
def case_document_versions_are_kept_for_the_retention_floor(args: StackValidationArgs, report: ReportViolation) -> None:
    """No lifecycle rule expires superseded case-document versions before 365 days in prod (30 elsewhere).
    Implemented by components/documents.py (expire_superseded_versions_rule, documentVersionRetentionDays)."""
    for bucket in classified_as(args, CASE_DOCUMENTS, S3_BUCKET):
        floor = PROD_DOCUMENT_VERSION_FLOOR_DAYS if is_prod(bucket) else DOCUMENT_VERSION_FLOOR_DAYS
        days = [resolve(r, "noncurrentVersionExpiration.noncurrentDays") for r in lifecycle_rules(args, bucket) or []]
        early = [d for d in days if d is not None and not is_unknown(d) and not at_least(floor)(d)]
        if early:
            violation(report, "case-document versions expire before the retention floor",
                      path="rules[].noncurrentVersionExpiration.noncurrentDays", actual=early, expected=f">= {floor}", urn=bucket.urn)


# --- DATA-04 ------------------------------------------------------------------------------------------------------

@stack_rule("DATA-04")
def case_documents_bucket_allows_legal_holds(args: StackValidationArgs, report: ReportViolation) -> None:
    """The case-documents bucket was created with object lock (and is versioned), so a matter's documents can be held.
    Implemented by components/documents.py (DocumentStore, object_lock=True) through components/buckets.py."""
    for bucket in classified_as(args, CASE_DOCUMENTS, S3_BUCKET):
        require(report, bucket, "objectLockEnabled", [True], expected="true (S3 enables object lock only at creation)",
                message="case-documents bucket cannot place legal holds")
        report_unversioned(args, bucket, report, "case-documents bucket is not versioned, so object lock cannot hold versions")


# --- DATA-05 ------------------------------------------------------------------------------------------------------

@stack_rule("DATA-05")
def backup_vaults_are_encrypted_with_the_backups_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every backup vault encrypts recovery points with a customer-managed key classified `backups`, of this stack.
    Implemented by components/backup.py (BackupProtection._locked_vault) with the key of components/keys.py."""
    for vault in of_type(args, BACKUP_VAULT):
        keys = sources_of_type(vault, "kmsKeyArn", KMS_KEY)
        if not peek(vault.props, "kmsKeyArn") or not any(tag(k, CLASSIFICATION_TAG) == BACKUPS for k in keys):
            violation(report, "backup vault is not encrypted with the backups key", path="kmsKeyArn",
                      actual=peek(vault.props, "kmsKeyArn"), expected=f"the ARN of a KMS key tagged {CLASSIFICATION_TAG}={BACKUPS}",
                      urn=vault.urn)


@stack_rule("DATA-05")
def backup_vaults_are_locked(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every backup vault has a vault lock with minimum and maximum retention, in compliance mode in prod.
    Implemented by components/backup.py (BackupProtection._locked_vault)."""
    for vault in of_type(args, BACKUP_VAULT):
        locks = consumers(args, vault, VAULT_LOCK, "backupVaultName")
        if not locks:
            violation(report, "backup vault has no vault lock", path="VaultLockConfiguration", actual=[],
                      expected="one whose `backupVaultName` came from this vault", urn=vault.urn)
        for lock in locks:
            minimum = lock.props.get("minRetentionDays")
            # The lock's minimum is what nobody (root included) can shorten: below the backup floor, a recovery point
            # the plan keeps for the floor could still be deleted early by whoever can delete recovery points.
            lock_floor = floor("retention_days.backups", environment(lock))
            require(report, lock, "minRetentionDays", at_least(lock_floor), expected=f"at least {lock_floor} days (policies/floors.yaml)",
                    message="vault lock does not hold recovery points for the backup retention floor")
            require(report, lock, "maxRetentionDays", at_least(minimum if is_number(minimum) else 1),
                    expected="set, and not below minRetentionDays", message="vault lock has no maximum retention")
            if is_prod(lock):
                require(report, lock, "changeableForDays", at_least(COMPLIANCE_GRACE_MIN_DAYS),
                        expected=f">= {COMPLIANCE_GRACE_MIN_DAYS} (compliance mode)",
                        message="prod vault lock is in governance mode: an administrator can lift it")


def runs_at_least_daily(schedule: Any) -> bool:
    """Whether a backup schedule expression (cron or rate; AWS's daily default when absent) runs every day."""
    if is_unknown(schedule):
        return True
    expression = str(schedule if schedule is not None else DEFAULT_BACKUP_SCHEDULE).strip()
    rate = RATE_RE.match(expression)
    if rate:
        return int(rate["count"]) * UNIT_MINUTES[rate["unit"]] <= DAY_MINUTES
    cron = CRON_RE.match(expression)
    fields = cron["fields"].split() if cron else []
    if len(fields) != 6:
        return False
    _, _, day_of_month, month, day_of_week, _ = fields
    return day_of_month in ("*", "?") and month == "*" and day_of_week in ("*", "?")


@resource_rule("DATA-05", BACKUP_PLAN)
def backup_plans_run_daily(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every rule of a backup plan runs at least once a day.
    Implemented by components/backup.py (BackupProtection plan, DAILY_SCHEDULE)."""
    rules = args.props.get("rules")
    if is_unknown(rules):
        return
    if not as_list(rules):
        violation(report, "backup plan has no rule", path="rules", actual=rules, expected="at least one daily rule")
    for index, rule in enumerate(as_list(rules)):
        schedule = resolve(rule, "schedule")
        if not runs_at_least_daily(schedule):
            violation(report, "backup plan rule does not run every day", path=f"rules.{index}.schedule", actual=schedule,
                      expected="a cron expression for every day (day-of-month and day-of-week * or ?) or a rate of at most 1 day")


def retention_gaps(rule: Any, index: int, floor_days: int) -> list[tuple[str, Any]]:
    """(path, days) of the rule's lifecycle and each copy's lifecycle that delete recovery points before `floor_days`
    (absent: kept until deleted by hand, which meets any floor)."""
    found = []
    lifecycles = [(f"rules.{index}.lifecycle", resolve(rule, "lifecycle"))]
    lifecycles += [(f"rules.{index}.copyActions.{i}.lifecycle", resolve(copy, "lifecycle"))
                   for i, copy in enumerate(as_list(resolve(rule, "copyActions")))]
    for path, lifecycle in lifecycles:
        days = resolve(lifecycle, "deleteAfter") if isinstance(lifecycle, Mapping) else lifecycle
        if days is not None and not is_unknown(days) and not at_least(floor_days)(days):
            found.append((f"{path}.deleteAfter", days))
    return found


@resource_rule("DATA-05", BACKUP_PLAN)
def backup_plans_keep_recovery_points_for_the_floor(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every backup plan rule, and every copy it makes, keeps recovery points at least the floor of policies/floors.yaml
    (365 days in prod, 35 elsewhere). Implemented by components/backup.py (plan lifecycle, backupRetentionDays)."""
    rules = peek(args.props, "rules")
    if is_unknown(rules):
        return
    floor_days = floor("retention_days.backups", environment(args))
    for index, rule in enumerate(as_list(rules)):
        for path, days in retention_gaps(rule, index, floor_days):
            violation(report, "backup plan deletes recovery points before the retention floor", path=path, actual=days,
                      expected=f">= {floor_days} days, the {environment(args) or 'unknown (prod)'} floor of policies/floors.yaml")


def copy_vaults(plan: PolicyResource) -> list[PolicyResource]:
    """The vaults of this stack a plan's rules came from that lie in another region than the plan's provider."""
    home = peek(getattr(plan.provider, "props", None) or {}, "region")
    return [v for v in sources_of_type(plan, "rules", BACKUP_VAULT)
            if not is_unknown(peek(v.props, "region")) and peek(v.props, "region") not in (None, home)]


@stack_rule("DATA-05")
def backups_are_copied_to_another_region_where_required(args: StackValidationArgs, report: ReportViolation) -> None:
    """Where policies/floors.yaml requires it (prod), every backup plan rule copies its recovery points into a locked
    vault of this stack in another region. Implemented by components/backup.py (backupCopyRegion, copy vault)."""
    for plan in of_type(args, BACKUP_PLAN):
        if not floor("backup_cross_region_copy", environment(plan)):
            continue
        rules = peek(plan.props, "rules")
        if is_unknown(rules):
            continue
        uncopied = [i for i, rule in enumerate(as_list(rules)) if not is_unknown(rule)
                    and not is_unknown(resolve(rule, "copyActions")) and not as_list(resolve(rule, "copyActions"))]
        if uncopied or not copy_vaults(plan):
            violation(report, "backups are not copied to another region", path="rules[].copyActions",
                      actual={"rules without a copy": uncopied, "vaults in another region": [v.name for v in copy_vaults(plan)]},
                      expected=f"every rule copies to an {BACKUP_VAULT} of this stack in another region "
                               f"({environment(plan) or 'unknown (prod)'}: required by policies/floors.yaml)", urn=plan.urn)


def backed_up_stores(args: StackValidationArgs) -> list[PolicyResource]:
    """The case database, the ledger table(s) and the case-documents bucket."""
    buckets = [b for data_class in BACKED_UP_BUCKET_CLASSES for b in classified_as(args, data_class, S3_BUCKET)]
    return [*of_type(args, *BACKED_UP_TYPES), *buckets]


def sample_arn(store: PolicyResource, pattern: str) -> str:
    """An ARN of the store's type in the partition the pattern names (`arn:<partition>:...`)."""
    parts = pattern.split(":")
    return SAMPLE_ARNS[store.resource_type].format(p=parts[1] if len(parts) > 1 else "aws")


def patterns_cover(patterns: Any, store: PolicyResource) -> bool:
    """Whether ARN patterns (a selection's `resources`/`notResources`) match an ARN of the store's type."""
    return any(is_unknown(p) or (isinstance(p, str) and fnmatchcase(sample_arn(store, p), p)) for p in as_list(patterns))


def picks_by_tag(condition: Any, store: PolicyResource) -> bool:
    """Whether a selection tag condition (type STRINGEQUALS, key, value) picks the store; unknown parts do."""
    kind, key, value = (resolve(condition, field) for field in ("type", "key", "value"))
    if any(is_unknown(v) for v in (condition, kind, key, value)):
        return True
    return kind == STRING_EQUALS and tag(store, str(key)) == value


def selects(selection: PolicyResource, store: PolicyResource) -> bool:
    """Whether a backup selection picks the store: by a selection tag the store carries, within the selection's
    resource patterns (if any) and outside its exclusions; or by an ARN that came from the store itself."""
    if any(s.urn == store.urn for s in sources(selection, "resources")):
        return True
    tags = selection.props.get("selectionTags")
    tagged = is_unknown(tags) or any(picks_by_tag(condition, store) for condition in as_list(tags))
    resources = selection.props.get("resources")
    within = not as_list(resources) or patterns_cover(resources, store)
    excluded = [p for p in as_list(selection.props.get("notResources")) if not is_unknown(p)]
    return tagged and within and not patterns_cover(excluded, store)


def belongs_to_a_plan_of_this_stack(selection: PolicyResource) -> bool:
    """The selection's plan is a plan of this stack that backs up into a vault of this stack."""
    return any(sources_of_type(plan, "rules", BACKUP_VAULT) for plan in sources_of_type(selection, "planId", BACKUP_PLAN))


@stack_rule("DATA-05")
def case_data_stores_are_selected_for_backup(args: StackValidationArgs, report: ReportViolation) -> None:
    """The case database, the ledger and the case-documents bucket are picked by a backup selection of a plan of this
    stack (a tag selection whose tag they carry). Implemented by components/backup.py (BackupProtection selection)
    and components/base.py (classified() adds the backup tag to every backed-up class)."""
    selections = [s for s in of_type(args, BACKUP_SELECTION) if belongs_to_a_plan_of_this_stack(s)]
    for store in backed_up_stores(args):
        if not is_unknown(store.props.get("tags")) and not any(selects(s, store) for s in selections):
            violation(report, "no backup selection of a plan of this stack picks this store", path="tags",
                      actual=peek(store.props, "tags"),
                      expected=f"a tag a selection selects on: {[s.props.get('selectionTags') for s in selections]}", urn=store.urn)


# --- DATA-06 ------------------------------------------------------------------------------------------------------

@resource_rule("DATA-06", *STATEFUL_TYPES)
def stateful_resources_are_protected_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod every stateful resource (key, bucket, database, table, log group, trail, vault, user pool) has `protect` set.
    Implemented by components/base.py (stateful()), used by every component that creates one."""
    if is_prod(args) and not args.opts.protect:
        violation(report, "stateful resource is not protected in prod: a config change or destroy would delete it",
                  path="opts.protect", actual=args.opts.protect, expected="true (components/base.py stateful())")


@resource_rule("DATA-06", *DELETION_PROTECTION)
def databases_have_deletion_protection_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod the case database and the ledger table refuse deletion (deletion protection on).
    Implemented by components/database.py (CaseDatabase) and components/ledger.py (PrivacyLedger), deletionProtection."""
    check_deletion_protection_in_prod(args, report, "database")


@resource_rule("DATA-06", RDS_INSTANCE)
def case_database_keeps_its_backups_when_deleted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Deleting the case database takes a final snapshot and keeps its automated backups.
    Implemented by components/database.py (CaseDatabase._instance)."""
    require(report, args, "skipFinalSnapshot", lambda v: v in (False, None), expected="false",
            message="case database would be deleted without a final snapshot")
    require(report, args, "deleteAutomatedBackups", [False], expected="false (the provider's default deletes them)",
            message="case database would delete its automated backups with it")


@resource_rule("DATA-06", S3_BUCKET, BACKUP_VAULT)
def stateful_stores_are_never_force_destroyed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No bucket or backup vault is created with forceDestroy: deleting it never silently deletes the documents, logs or
    recovery points in it. Implemented by components/buckets.py (SecureBucket) and components/backup.py (vaults)."""
    require(report, args, "forceDestroy", lambda v: v in (None, False), expected="false or absent",
            message="store may be destroyed together with everything in it (forceDestroy)")


@stack_rule("DATA-06")
def log_groups_refuse_deletion_in_prod(args: StackValidationArgs, report: ReportViolation) -> None:
    """In prod every log group of the stack (the trail's, the flow logs', the database's, the WAF's, the admin
    session transcripts') refuses deletion (deletionProtectionEnabled), so deleting one through the API (not only
    through this program) cannot destroy the evidence in it.
    Implemented by components/audit.py, network.py, database.py, edge.py and app_tier.py (their log groups)."""
    for group in of_type(args, LOG_GROUP):
        if is_prod(group):
            require(report, group, "deletionProtectionEnabled", [True], expected="true in prod",
                    message=f"{group.name}: the log group can be deleted in prod")


# --- DATA-07 ------------------------------------------------------------------------------------------------------

@resource_rule("DATA-07", AWS_PROVIDER)
def provider_region_is_allowed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The AWS provider deploys into a region of the data-residency allow-list (policies/data-residency.yaml).
    Implemented by components/environment.py (the explicit provider) with the region validated by caseshield/settings.py."""
    require(report, args, "region", region_is_allowed, expected=f"one of {list(ALLOWED_REGIONS)}",
            message="AWS provider deploys outside the data-residency allow-list")


@stack_rule("DATA-07")
def resource_regions_are_allowed(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every resource placed in a region of its own (`region` input, e.g. the cross-region backup copy) stays in the
    allow-list. Implemented by components/backup.py (copy vault, key and lock in backupCopyRegion)."""
    for resource in args.resources:
        if resource.resource_type.startswith("aws:") and resource.props.get("region") is not None:
            require(report, resource, "region", region_is_allowed, expected=f"one of {list(ALLOWED_REGIONS)}",
                    message="resource is placed outside the data-residency allow-list")


# --- DATA-08 ------------------------------------------------------------------------------------------------------

@resource_rule("DATA-08", RDS_INSTANCE)
def case_database_is_multi_az_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod the case database runs Multi-AZ, so losing a zone loses neither data nor service.
    Implemented by components/database.py (CaseDatabase, databaseMultiAz)."""
    if is_prod(args):
        require(report, args, "multiAz", [True], expected="true in prod", message="prod case database is single-AZ")


@resource_rule("DATA-08", RDS_INSTANCE)
def case_database_keeps_backups_for_the_retention_floor(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The case database keeps automated backups (point-in-time recovery) at least as long as policies/floors.yaml
    retention_days.database_backups (30 days in prod, 7 elsewhere).
    Implemented by components/database.py (CaseDatabase, databaseBackupRetentionDays)."""
    days = floor("retention_days.database_backups", environment(args))
    require(report, args, "backupRetentionPeriod", at_least(days), expected=f">= {days} days (policies/floors.yaml)",
            message="case database keeps automated backups for less than the retention floor")


@resource_rule("DATA-08", RDS_INSTANCE)
def case_database_copies_tags_to_snapshots(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Snapshots of the case database carry its tags (classification, backup selection), so they are governed like it.
    Implemented by components/database.py (CaseDatabase, copy_tags_to_snapshot)."""
    require(report, args, "copyTagsToSnapshot", [True], expected="true",
            message="case database snapshots lose its classification tags")


# --- issue 14, item 3: bucket policies hold every outside principal to this account ---------------------------------

BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
# Positive, exact tests that tie an AWS service (or anyone) writing into a bucket to this account or its resources.
BUCKET_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:principalaccount")


def _source_held(statement: Mapping[str, Any]) -> bool:
    return any(key in BUCKET_SOURCE_KEYS and not operator.rpartition(":")[2].startswith(("StringNot", "ArnNot"))
               and not operator.endswith("IfExists") and values and all(v != "*" for v in values)
               for operator, key, values in conditions(statement))


def _loose_tests(statement: Mapping[str, Any]) -> list[str]:
    return [f"{operator} {key}" for operator, key, values in conditions(statement)
            if operator.rpartition(":")[2].startswith(("StringNot", "ArnNot")) or operator.endswith("IfExists")
            or any(v == "*" for v in values)]


@resource_rule("DATA-02", BUCKET_POLICY_TYPE)
def bucket_policies_hold_services_to_this_account(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every Allow of a bucket policy to an AWS service or to anyone is held to this account by a positive, exact
    aws:SourceAccount / aws:SourceArn test, and no Allow tests a condition negated, with IfExists or against a bare
    "*": otherwise another account's load balancer, trail or bucket can write into ours (the confused deputy), or
    anyone can. An account principal (the ELB log-delivery account) is named, never "*".
    Implemented by components/buckets.py and components/audit.py (bucket policies)."""
    policy = args.props.get("policy")
    if is_unknown(policy):
        return
    for index, s in enumerate(statements(document(policy))):
        if s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal")
        service = isinstance(principal, Mapping) and bool(principal.get("Service"))
        if (service or is_anyone(principal)) and not _source_held(s):
            violation(report, f"{args.name}: statement {s.get('Sid', index)} lets {principal} in on anyone's behalf",
                      path=f"policy.Statement.{index}.Condition", actual=s.get("Condition"),
                      expected="a positive, exact aws:SourceAccount or aws:SourceArn test naming this account")
        if loose := _loose_tests(s):
            violation(report, f"{args.name}: statement {s.get('Sid', index)} admits more than it names",
                      path=f"policy.Statement.{index}.Condition", actual=loose,
                      expected="positive, exact condition tests (no negated operator, IfExists or bare *)")
