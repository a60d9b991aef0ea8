"""BackupProtection: an AWS Backup vault, locked, with a daily plan over every store of case data.

Why: ransomware and operator error are recovered from backups, so the backups themselves must be out of reach —
encrypted with their own key, held by a vault lock that (in prod, compliance mode) not even an administrator can
lift, and optionally copied to a second allowed region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield import role_matrix
from caseshield.settings import Settings, retention_floor
from components.base import BACKUP_TAG, child, classified, role_name, stateful, static_policy_document
from components.keys import DELETION_WINDOW_DAYS, USE_ACTIONS, administration_statements, key_administrators

DAILY_SCHEDULE = "cron(0 5 * * ? *)"  # 05:00 UTC, after the database's nightly window
# What the selection may cover: the case database, the ledger table(s) and the documents bucket, by tag.
SELECTABLE_RESOURCE_PATTERNS = ("arn:{p}:rds:*:*:db:*", "arn:{p}:dynamodb:*:*:table/*", "arn:{p}:s3:::*")
SERVICE_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)
# Days during which a compliance-mode lock can still be removed; after that it is immutable.
COMPLIANCE_GRACE_DAYS = 3


@dataclass
class BackupProtectionArgs:
    settings: Settings
    key: aws.kms.Key
    partition: str
    account_id: str
    # The service roles' permissions boundary (components/service_roles.py); None only outside an environment.
    service_boundary_arn: pulumi.Input[str] | None = None


class BackupProtection(pulumi.ComponentResource):
    """Vault + lock, daily plan with retention from settings, optional cross-region copy, tag-based selection."""

    def __init__(self, name: str, args: BackupProtectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:backup:BackupProtection", name, None, opts)
        s = args.settings
        self.vault = self._locked_vault(f"{name}-vault", f"{s.name_prefix}-vault", args.key.arn, s, region=None)
        copy_actions = []
        self.copy_vault: aws.backup.Vault | None = None
        if s.backup_copy_region:
            copy_key = aws.kms.Key(
                f"{name}-copy-key",
                region=s.backup_copy_region,
                description=f"CaseShield {s.stack}: backups (copy in {s.backup_copy_region})",
                enable_key_rotation=True,
                deletion_window_in_days=DELETION_WINDOW_DAYS,
                policy=copy_key_policy(args),
                tags=classified("backups"),
                opts=stateful(self, s),
            )
            self.copy_vault = self._locked_vault(f"{name}-copy-vault", f"{s.name_prefix}-vault-copy", copy_key.arn, s,
                                                 region=s.backup_copy_region)
            copy_actions.append(aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn=self.copy_vault.arn,
                lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=s.backup_retention_days),
            ))

        self.plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{s.name_prefix}-daily",
            rules=[aws.backup.PlanRuleArgs(
                rule_name="daily",
                target_vault_name=self.vault.name,
                schedule=DAILY_SCHEDULE,
                start_window=60,
                completion_window=240,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=s.backup_retention_days),
                copy_actions=copy_actions,
                recovery_point_tags=classified("backups"),
            )],
            opts=child(self),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name(s, "backup"),
            assume_role_policy=static_policy_document([{
                "Effect": "Allow",
                "Principal": {"Service": "backup.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
            }]),
            permissions_boundary=args.service_boundary_arn,
            opts=child(self),
        )
        for i, policy in enumerate(SERVICE_ROLE_POLICIES):
            aws.iam.RolePolicyAttachment(f"{name}-role-policy-{i}", role=self.role.name,
                                         policy_arn=f"arn:{args.partition}:iam::aws:policy/{policy}",
                                         opts=pulumi.ResourceOptions(parent=self.role))
        self.selection = aws.backup.Selection(
            f"{name}-selection",
            name=f"{s.name_prefix}-case-data",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=[p.format(p=args.partition) for p in SELECTABLE_RESOURCE_PATTERNS],
            selection_tags=[aws.backup.SelectionSelectionTagArgs(type="STRINGEQUALS", key=BACKUP_TAG[0], value=BACKUP_TAG[1])],
            opts=child(self),
        )
        self.register_outputs({"vault_arn": self.vault.arn, "plan_id": self.plan.id,
                               "copy_vault_arn": self.copy_vault.arn if self.copy_vault else None})

    def _locked_vault(self, resource_name: str, vault_name: str, key_arn: pulumi.Input[str], s: Settings,
                      region: str | None) -> aws.backup.Vault:
        """A vault encrypted with `key_arn` and locked: compliance mode (immutable after a grace period) in prod,
        governance mode elsewhere; recovery points live between the environment's floor and the plan's retention."""
        vault = aws.backup.Vault(resource_name, name=vault_name, kms_key_arn=key_arn, region=region,
                                 force_destroy=False, tags=classified("backups"), opts=stateful(self, s))
        aws.backup.VaultLockConfiguration(
            f"{resource_name}-lock",
            backup_vault_name=vault.name,
            region=region,
            min_retention_days=retention_floor("backupRetentionDays", s.environment),
            max_retention_days=s.backup_retention_days,
            changeable_for_days=COMPLIANCE_GRACE_DAYS if s.is_prod else None,
            opts=stateful(vault, s),
        )
        return vault


def copy_key_policy(args: BackupProtectionArgs) -> str:
    """The copy region's backup key: administered by the key administrators (who may never use it), used only
    through AWS Backup."""
    p, acct = args.partition, args.account_id
    region = args.settings.backup_copy_region
    administrators = key_administrators(args.settings, role_matrix.load(), p, acct)
    return static_policy_document([
        *administration_statements(administrators, f"arn:{p}:iam::{acct}:root"),
        {
            "Sid": "BackupServiceUseOnly",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
            "Action": [*USE_ACTIONS, "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"backup.{region}.amazonaws.com", "kms:CallerAccount": acct}},
        },
    ])
