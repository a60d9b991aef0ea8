"""Live checks of the application tier's launch template, EBS defaults and the case database.

moto 5.2.5 has no GetEbsDefaultKmsKeyId; that half of ENC-05 is tested with botocore's Stubber (`stub_tested=True`).
"""

from __future__ import annotations

from caseshield.audit import live_check
from caseshield.audit.account import Account


@live_check("ENC-05", "ec2:GetEbsDefaultKmsKeyId", "kms:ListAliases", stub_tested=True)
def ebs_default_key_is_a_cmk(account: Account) -> list[str]:
    """The region's default EBS key is a customer-managed key of the stack, not alias/aws/ebs."""
    default_key = account.client("ec2").get_ebs_default_kms_key_id().get("KmsKeyId", "")
    if not any(account.same_key(default_key, c) for c in account.key_aliases):
        return [f"the EBS default key is {default_key or 'alias/aws/ebs'}, not a customer-managed key of the stack"]
    return []


@live_check("ENC-05", "ec2:GetEbsEncryptionByDefault", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
            "kms:ListAliases")
def ebs_volumes_are_encrypted_by_default(account: Account) -> list[str]:
    """EBS encrypts new volumes by default, and the launch template's volumes are encrypted with a customer-managed key."""
    ec2, found = account.client("ec2"), []
    if not ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"]:
        found.append("EBS encryption by default is off in the region")
    for bdm in account.launch_template.get("BlockDeviceMappings", []):
        ebs = bdm.get("Ebs", {})
        if not ebs.get("Encrypted") or not any(account.same_key(ebs.get("KmsKeyId"), c) for c in account.key_aliases):
            found.append(f"launch template volume {bdm.get('DeviceName')} is not encrypted with a customer-managed key")
    return found


@live_check("PATCH-04", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions")
def instances_are_imdsv2_only_ssm_managed_and_keyless(account: Account) -> list[str]:
    """Instances launch with IMDSv2 required and one hop, an instance profile (for SSM) and no SSH key pair."""
    data, found = account.launch_template, []
    metadata = data.get("MetadataOptions", {})
    if metadata.get("HttpTokens") != "required" or metadata.get("HttpPutResponseHopLimit", 1) > 1:
        found.append(f"instance metadata is {metadata or 'default (IMDSv1 allowed)'}, not IMDSv2 with one hop")
    if not data.get("IamInstanceProfile"):
        found.append("the launch template gives instances no instance profile: SSM cannot manage them")
    if data.get("KeyName"):
        found.append(f"the launch template installs SSH key pair {data['KeyName']}")
    return found


@live_check("ENC-02", "rds:DescribeDBInstances", "kms:ListAliases")
def case_database_is_encrypted_with_its_key(account: Account) -> list[str]:
    """The case database's storage and Performance Insights are encrypted with the case-database key."""
    db, found = account.database, []
    if not db.get("StorageEncrypted") or not account.same_key(db.get("KmsKeyId"), "case-database"):
        found.append(f"{db['DBInstanceIdentifier']}: storage is not encrypted with the case-database key ({db.get('KmsKeyId')})")
    insights_key = db.get("PerformanceInsightsKMSKeyId")
    if (db.get("PerformanceInsightsEnabled") or insights_key) and not account.same_key(insights_key, "case-database"):
        found.append(f"{db['DBInstanceIdentifier']}: Performance Insights is not encrypted with the case-database key")
    return found


@live_check("SEC-01", "rds:DescribeDBInstances")
def database_master_password_is_managed_by_rds(account: Account) -> list[str]:
    """RDS keeps the master password in Secrets Manager (nobody typed it, nobody knows it)."""
    db = account.database
    if not db.get("MasterUserSecret", {}).get("SecretArn"):
        return [f"{db['DBInstanceIdentifier']}: the master password is not managed by RDS in Secrets Manager"]
    return []


@live_check("DATA-06", "rds:DescribeDBInstances", "dynamodb:DescribeTable")
def stateful_stores_are_deletion_protected_in_prod(account: Account) -> list[str]:
    """In prod the case database and the privacy ledger cannot be deleted (deletion protection on)."""
    if not account.is_prod:
        return []
    found = []
    if not account.database.get("DeletionProtection"):
        found.append(f"{account.database['DBInstanceIdentifier']}: deletion protection is off")
    if not account.ledger.get("DeletionProtectionEnabled"):
        found.append(f"{account.ledger['TableName']}: deletion protection is off")
    return found


@live_check("DATA-08", "rds:DescribeDBInstances")
def case_database_is_resilient(account: Account) -> list[str]:
    """The case database is Multi-AZ in prod, keeps backups for the retention floor and copies tags to snapshots."""
    db, found = account.database, []
    if account.is_prod and not db.get("MultiAZ"):
        found.append(f"{db['DBInstanceIdentifier']}: not Multi-AZ in prod")
    floor = account.settings.database_backup_retention_days
    if db.get("BackupRetentionPeriod", 0) < floor:
        found.append(f"{db['DBInstanceIdentifier']}: keeps backups {db.get('BackupRetentionPeriod')} days, below {floor}")
    if not db.get("CopyTagsToSnapshot"):
        found.append(f"{db['DBInstanceIdentifier']}: does not copy tags to snapshots")
    return found


@live_check("PATCH-03", "rds:DescribeDBInstances")
def database_takes_minor_upgrades_in_the_declared_window(account: Account) -> list[str]:
    """The case database takes minor-version upgrades automatically, in the maintenance window the stack declares."""
    db, found = account.database, []
    if not db.get("AutoMinorVersionUpgrade"):
        found.append(f"{db['DBInstanceIdentifier']}: automatic minor-version upgrades are off")
    window = account.settings.database_maintenance_window
    if str(db.get("PreferredMaintenanceWindow", "")).lower() != window.lower():
        found.append(f"{db['DBInstanceIdentifier']}: maintenance window {db.get('PreferredMaintenanceWindow')}, declared {window}")
    return found
