"""Mutants of the data-protection (DATA-*) and privacy (PRIV-*) controls: one deliberate breakage per rule."""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

import pulumi

from policies.mutants import Props, drop_prop, drop_statement, edit, edit_document, mutant, set_prop

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
DATABASE = "aws:rds/instance:Instance"
TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
PROVIDER = "pulumi:providers:aws"
MACIE_ACCOUNT = "aws:macie2/account:Account"
MACIE_JOB = "aws:macie2/classificationJob:ClassificationJob"

DOCUMENTS = "*-documents-bucket"
CLASS_TAG = "tags.data-classification"
WEEKLY = "cron(0 5 ? * SUN *)"


def unprotected(type_: str, name: str = "*") -> pulumi.ResourceTransform:
    """An option mutant: the matching resources lose `protect` (what forgetting components/base.py stateful() does)."""

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != type_ or not fnmatchcase(args.name, name):
            return None
        return pulumi.ResourceTransformResult(args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=False)))

    return transform


def drop_from_rules(key: str) -> Callable[[Props], None]:
    """A lifecycle edit: remove `key` (an action such as noncurrentVersionExpiration) from every rule."""

    def change(props: Props) -> None:
        for rule in props["rules"]:
            rule.pop(key, None)

    return change


def drop_rules_with(key: str) -> Callable[[Props], None]:
    """A lifecycle edit: remove every rule that has `key`."""

    def change(props: Props) -> None:
        props["rules"] = [rule for rule in props["rules"] if key not in rule]

    return change


def noncurrent_days(days: int) -> Callable[[Props], None]:
    """A lifecycle edit: noncurrent versions expire after `days`."""

    def change(props: Props) -> None:
        for rule in props["rules"]:
            if "noncurrentVersionExpiration" in rule:
                rule["noncurrentVersionExpiration"]["noncurrentDays"] = days

    return change


# --- DATA-01 ------------------------------------------------------------------------------------------------------
mutant("data-01-documents-bucket-unclassified", "DATA-01", "the case-documents bucket loses its data-classification tag",
       transform=drop_prop(BUCKET, CLASS_TAG, name=DOCUMENTS))
mutant("data-01-log-group-unknown-class", "DATA-01", "a database log group is tagged with a class the catalog does not know",
       transform=set_prop(LOG_GROUP, CLASS_TAG, "misc", name="*-database-log-postgresql"))

# --- DATA-02 ------------------------------------------------------------------------------------------------------
mutant("data-02-public-acls-allowed", "DATA-02", "the documents bucket's public-access block stops blocking public ACLs",
       transform=set_prop(PUBLIC_ACCESS_BLOCK, "blockPublicAcls", False, name=f"{DOCUMENTS}-public-access-block"))
mutant("data-02-acls-enabled", "DATA-02", "the documents bucket's ownership controls re-enable ACLs (BucketOwnerPreferred)",
       transform=set_prop(OWNERSHIP_CONTROLS, "rule.objectOwnership", "BucketOwnerPreferred", name=f"{DOCUMENTS}-ownership"))

# --- DATA-03 ------------------------------------------------------------------------------------------------------
mutant("data-03-access-logs-versioning-suspended", "DATA-03", "versioning of the access-log bucket is suspended",
       transform=set_prop(VERSIONING, "versioningConfiguration.status", "Suspended", name="*-access-logs-bucket-versioning"))
mutant("data-03-document-versions-never-expire", "DATA-03", "the documents lifecycle no longer expires noncurrent versions",
       transform=edit(LIFECYCLE, drop_from_rules("noncurrentVersionExpiration"), name=f"{DOCUMENTS}-lifecycle"))
mutant("data-03-incomplete-uploads-kept", "DATA-03", "the documents lifecycle no longer aborts incomplete multipart uploads",
       transform=edit(LIFECYCLE, drop_rules_with("abortIncompleteMultipartUpload"),
                      name=f"{DOCUMENTS}-lifecycle"))
mutant("data-03-document-versions-expire-early", "DATA-03", "superseded case documents expire after 30 days in prod (floor 365)",
       transform=edit(LIFECYCLE, noncurrent_days(30), name=f"{DOCUMENTS}-lifecycle"))

# --- DATA-04 ------------------------------------------------------------------------------------------------------
mutant("data-04-documents-object-lock-off", "DATA-04", "the documents bucket is created without object lock",
       transform=set_prop(BUCKET, "objectLockEnabled", False, name=DOCUMENTS))

# --- DATA-05 ------------------------------------------------------------------------------------------------------
mutant("data-05-vault-unencrypted", "DATA-05", "the backup vault loses its kmsKeyArn (AWS-managed encryption)",
       transform=drop_prop(VAULT, "kmsKeyArn", name="*-backup-vault"))
mutant("data-05-vault-lock-governance-in-prod", "DATA-05", "the prod vault lock has no changeableForDays (governance mode)",
       transform=drop_prop(VAULT_LOCK, "changeableForDays", name="*-backup-vault-lock"))
mutant("data-05-plan-weekly", "DATA-05", "the backup plan runs weekly",
       transform=set_prop(PLAN, "rules.0.schedule", WEEKLY))
mutant("data-05-database-not-selected", "DATA-05", "the case database loses the tag the backup selection selects on",
       transform=drop_prop(DATABASE, "tags.backup-plan"))

# --- DATA-06 ------------------------------------------------------------------------------------------------------
mutant("data-06-database-unprotected", "DATA-06", "the prod case database is registered without protect",
       transform=unprotected(DATABASE))
mutant("data-06-database-deletable", "DATA-06", "the prod case database has deletion protection off",
       transform=set_prop(DATABASE, "deletionProtection", False))
mutant("data-06-database-skips-final-snapshot", "DATA-06", "the case database is deleted without a final snapshot",
       transform=set_prop(DATABASE, "skipFinalSnapshot", True))

# --- DATA-07 ------------------------------------------------------------------------------------------------------
mutant("data-07-provider-outside-allow-list", "DATA-07", "the AWS provider deploys to eu-north-1 (not in the allow-list)",
       transform=set_prop(PROVIDER, "region", "eu-north-1"))
mutant("data-07-backup-copy-outside-allow-list", "DATA-07", "the cross-region backup copy vault is placed in ap-south-1",
       transform=set_prop(VAULT, "region", "ap-south-1", name="*-backup-copy-vault"))

# --- DATA-08 ------------------------------------------------------------------------------------------------------
mutant("data-08-database-single-az", "DATA-08", "the prod case database runs in one availability zone",
       transform=set_prop(DATABASE, "multiAz", False))
mutant("data-08-database-backups-one-day", "DATA-08", "the case database keeps automated backups for one day",
       transform=set_prop(DATABASE, "backupRetentionPeriod", 1))
mutant("data-08-snapshots-untagged", "DATA-08", "case database snapshots no longer copy its tags",
       transform=set_prop(DATABASE, "copyTagsToSnapshot", False))

# --- PRIV-01 ------------------------------------------------------------------------------------------------------
mutant("priv-01-no-ledger", "PRIV-01", "no table is classified privacy-records (the ledger is relabelled case-database)",
       transform=set_prop(TABLE, CLASS_TAG, "case-database"))
mutant("priv-01-ledger-without-point-in-time-recovery", "PRIV-01", "the ledger's point-in-time recovery is disabled",
       transform=set_prop(TABLE, "pointInTimeRecovery.enabled", False))
mutant("priv-01-ledger-aws-owned-key", "PRIV-01", "the ledger drops its customer-managed key",
       transform=drop_prop(TABLE, "serverSideEncryption.kmsKeyArn"))
mutant("priv-01-ledger-deletable-in-prod", "PRIV-01", "the prod ledger has deletion protection off",
       transform=set_prop(TABLE, "deletionProtectionEnabled", False))

# --- PRIV-02 ------------------------------------------------------------------------------------------------------
mutant("priv-02-macie-paused", "PRIV-02", "Macie is paused", transform=set_prop(MACIE_ACCOUNT, "status", "PAUSED"))
mutant("priv-02-job-targets-no-bucket", "PRIV-02", "the Macie job's bucket definitions are emptied",
       transform=set_prop(MACIE_JOB, "s3JobDefinition.bucketDefinitions", []))


# --- issue 14: the size of a setting, not only its presence (floors of policies/floors.yaml) ------------------------

def without_copy(props: Props) -> None:
    for rule in props["rules"]:
        rule["copyActions"] = []


mutant("data-05-backups-kept-one-day", "DATA-05", "the backup plan deletes recovery points after one day",
       transform=set_prop(PLAN, "rules.0.lifecycle.deleteAfter", 1))
mutant("data-05-backups-kept-7-days-dev", "DATA-05", "dev's backup plan deletes recovery points after 7 days",
       transform=set_prop(PLAN, "rules.0.lifecycle.deleteAfter", 7), stack="dev")
mutant("data-05-prod-cross-region-copy-removed", "DATA-05", "prod's backup plan no longer copies to the other region",
       transform=edit(PLAN, without_copy))
mutant("data-06-documents-bucket-force-destroy", "DATA-06", "the documents bucket may be destroyed with its objects (forceDestroy)",
       transform=set_prop(BUCKET, "forceDestroy", True, name=DOCUMENTS))
mutant("data-06-archive-force-destroy-dev", "DATA-06", "dev's audit archive may be destroyed with its objects (forceDestroy)",
       transform=set_prop(BUCKET, "forceDestroy", True, name="*-audit-archive"), stack="dev")

mutant("priv-01-ledger-records-expire-at-their-deadline", "PRIV-01", "the ledger's TTL reads due_at: requests expire at their deadline",
       transform=set_prop(TABLE, "ttl.attributeName", "due_at"))
mutant("priv-01-ledger-recovery-one-day", "PRIV-01", "the ledger can be restored only to the last day",
       transform=set_prop(TABLE, "pointInTimeRecovery.recoveryPeriodInDays", 1))
mutant("priv-02-macie-samples-10-percent", "PRIV-02", "the Macie job samples 10% of the case documents",
       transform=set_prop(MACIE_JOB, "samplingPercentage", 10))
mutant("priv-02-macie-weekly-in-prod", "PRIV-02", "prod's Macie job runs weekly, not daily",
       transform=set_prop(MACIE_JOB, "scheduleFrequency", {"weeklySchedule": "MONDAY"}))
mutant("priv-02-macie-publishes-every-six-hours", "PRIV-02", "Macie publishes updated findings every six hours",
       transform=set_prop(MACIE_ACCOUNT, "findingPublishingFrequency", "SIX_HOURS"))
mutant("data-06-access-logs-bucket-unprotected", "DATA-06", "the prod access-log bucket is registered without protect (deletable)",
       transform=unprotected(BUCKET, "*-access-logs-bucket"))

# --- issue 14, item 3: the generated mutants that survived these rules, written down once each ------------------------

mutant("data-05-vault-lock-minimum-below-the-floor", "DATA-05", "the vault lock's minimum retention is a day short of the backup floor",
       transform=set_prop(VAULT_LOCK, "minRetentionDays", 364))


def _negate_key_users(document: dict) -> None:
    for statement in document["Statement"]:
        if statement.get("Sid") == "KeyUsersByRoleMatrix":
            statement["Condition"] = {"ArnNotEquals": statement["Condition"]["ArnEquals"]}


mutant("key-03-key-users-negated", "KEY-03", "the case-documents key admits every principal but its intended users (ArnNotEquals)",
       transform=edit_document("aws:kms/key:Key", "policy", _negate_key_users, name="*-case-documents"))
mutant("edge-02-waf-metrics-off", "EDGE-02", "the web ACL stops publishing CloudWatch metrics",
       transform=set_prop("aws:wafv2/webAcl:WebAcl", "visibilityConfig.cloudwatchMetricsEnabled", False))
mutant("edge-04-tokens-cannot-be-revoked", "EDGE-04", "the app client's refresh tokens can no longer be revoked",
       transform=set_prop("aws:cognito/userPoolClient:UserPoolClient", "enableTokenRevocation", False))
mutant("ir-01-alarms-cannot-publish", "IR-01", "the incident topic's policy no longer lets CloudWatch and EventBridge publish",
       transform=edit_document("aws:sns/topicPolicy:TopicPolicy", "policy", drop_statement("AlarmsAndEventsOfThisAccountPublish")))


def _drop_log_delivery_source(document: dict) -> None:
    for statement in document["Statement"]:
        if statement.get("Sid") == "S3ServerAccessLogDelivery":
            statement.pop("Condition", None)


mutant("data-02-log-delivery-for-any-account", "DATA-02", "S3 log delivery may write into the access-log bucket for any account",
       transform=edit_document("aws:s3/bucketPolicy:BucketPolicy", "policy", _drop_log_delivery_source, name="*-access-logs-bucket-policy"))


def _administrators_grant_to_anyone(document: dict) -> None:
    for statement in document["Statement"]:
        if statement.get("Sid") == "AdministratorsGrantOnlyToAwsResources":
            statement["Condition"].pop("Bool", None)


mutant("key-02-administrators-grant-to-anyone", "KEY-02", "key administrators may create grants for any grantee, themselves included",
       transform=edit_document("aws:kms/key:Key", "policy", _administrators_grant_to_anyone, name="*-case-documents"))


def _drop_country_allow_list(props: Props) -> None:
    props["rules"] = [r for r in props["rules"] if r.get("name") != "country-allow-list"]


mutant("edge-01-country-allow-list-removed", "EDGE-01", "the web ACL's country allow-list rule is removed",
       transform=edit("aws:wafv2/webAcl:WebAcl", _drop_country_allow_list))


# --- issue 14, item 2: service roles and guarded buckets, by effective access (policies/service-access.yaml) --------

def _backup_trusted_by_any_account(document: dict) -> None:
    for statement in document["Statement"]:
        statement.pop("Condition", None)


mutant("data-02-documents-reachable-from-anywhere", "DATA-02",
       "the documents bucket no longer denies object access from outside the VPC endpoints",
       transform=edit_document("aws:s3/bucketPolicy:BucketPolicy", "policy", drop_statement("DenyDataAccessOutsideVpcEndpoints"),
                               name=f"{DOCUMENTS}-policy"))
mutant("data-05-backup-role-for-any-account", "DATA-05", "AWS Backup acting for any account may assume the backup role",
       transform=edit_document("aws:iam/role:Role", "assumeRolePolicy", _backup_trusted_by_any_account, name="*-backup-role"))
mutant("data-05-backup-role-cannot-restore", "DATA-05", "the backup role holds read-only access instead of AWS Backup's restore policy",
       transform=set_prop("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn",
                          "arn:aws:iam::aws:policy/ReadOnlyAccess", name="*-backup-role-policy-1"))
mutant("data-06-trail-log-group-deletable", "DATA-06", "the trail's log group can be deleted in prod",
       transform=set_prop(LOG_GROUP, "deletionProtectionEnabled", False, name="*-audit-log-group"))
