"""Live checks of backup and patching: the locked vault and daily plan, patch baselines and maintenance windows.

moto 5.2.5 has no GetPatchBaseline; PATCH-01 is tested with botocore's Stubber (`stub_tested=True`).
"""

from __future__ import annotations

import re

from caseshield.audit import live_check
from caseshield.audit.account import Account

DAILY = re.compile(r"^cron\(\S+ \S+ \* \* \? \*\)$")
SECURITY_CLASSES = ("Security",)
URGENT_SEVERITIES = ("Critical", "Important")


@live_check("DATA-05", "backup:DescribeBackupVault", "backup:ListBackupPlans", "backup:GetBackupPlan", "kms:ListAliases")
def case_data_is_backed_up_daily_into_a_locked_vault(account: Account) -> list[str]:
    """The backup vault is encrypted with the backups key and locked, and a plan copies into it every day."""
    backup, found = account.client("backup"), []
    vault = backup.describe_backup_vault(BackupVaultName=account.name("vault"))
    if not account.same_key(vault.get("EncryptionKeyArn"), "backups"):
        found.append(f"vault {vault['BackupVaultName']} is encrypted with {vault.get('EncryptionKeyArn')}, not the backups key")
    if not vault.get("Locked") and vault.get("MinRetentionDays") is None:
        found.append(f"vault {vault['BackupVaultName']} has no vault lock")
    plans = [p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == account.name("daily")]
    if not plans:
        return [*found, f"no backup plan {account.name('daily')}"]
    rules = backup.get_backup_plan(BackupPlanId=plans[0]["BackupPlanId"])["BackupPlan"]["Rules"]
    if not any(DAILY.match(r.get("ScheduleExpression", "")) and r.get("TargetBackupVaultName") == vault["BackupVaultName"] for r in rules):
        found.append(f"plan {account.name('daily')} has no daily rule into {vault['BackupVaultName']}")
    return found


def own_baselines(account: Account) -> list[dict]:
    """The stack's patch baselines (`<prefix>-*`); filtered here, as moto's NAME_PREFIX filter matches whole names."""
    ssm = account.client("ssm")
    found = [b for page in ssm.get_paginator("describe_patch_baselines").paginate(Filters=[{"Key": "OWNER", "Values": ["Self"]}])
             for b in page["BaselineIdentities"]]
    return [b for b in found if b["BaselineName"].startswith(f"{account.prefix}-")]


@live_check("PATCH-01", "ssm:DescribePatchBaselines", "ssm:GetPatchBaseline", stub_tested=True)
def critical_fixes_are_approved_within_a_week(account: Account) -> list[str]:
    """Each of the stack's patch baselines approves Critical and Important security fixes within the declared delay
    (at most seven days in prod)."""
    ssm = account.client("ssm")
    baselines = own_baselines(account)
    if not baselines:
        return [f"no patch baseline {account.prefix}-*"]
    limit = min(account.settings.patch_approval_delay_days, 7) if account.is_prod else account.settings.patch_approval_delay_days
    found = []
    for identity in baselines:
        baseline = ssm.get_patch_baseline(BaselineId=identity["BaselineId"])
        prompt = False
        for rule in baseline.get("ApprovalRules", {}).get("PatchRules", []):
            filters = {f["Key"]: f["Values"] for f in rule["PatchFilterGroup"]["PatchFilters"]}
            if set(SECURITY_CLASSES) <= set(filters.get("CLASSIFICATION", [])) and \
                    set(URGENT_SEVERITIES) <= set(filters.get("SEVERITY", [])) and rule.get("ApproveAfterDays", 99) <= limit:
                prompt = True
        if not prompt:
            found.append(f"baseline {identity['BaselineName']} does not approve Critical/Important security fixes within {limit} days")
    return found


@live_check("PATCH-02", "ssm:DescribeMaintenanceWindows", "ssm:DescribeMaintenanceWindowTasks", "ssm:DescribePatchBaselines",
            "ssm:GetPatchBaselineForPatchGroup")
def instances_are_scanned_daily_and_patched_weekly(account: Account) -> list[str]:
    """A daily scan window and a weekly install window run AWS-RunPatchBaseline, and the instances' patch group has
    the stack's baseline."""
    ssm, found = account.client("ssm"), []
    windows = {w["Name"]: w for w in ssm.describe_maintenance_windows(
        Filters=[{"Key": "Name", "Values": [account.name("patch-scan"), account.name("patch-install")]}])["WindowIdentities"]}
    for name, operation in ((account.name("patch-scan"), "Scan"), (account.name("patch-install"), "Install")):
        window = windows.get(name)
        if window is None or not window.get("Enabled", True):
            found.append(f"no enabled maintenance window {name}")
            continue
        tasks = ssm.describe_maintenance_window_tasks(WindowId=window["WindowId"])["Tasks"]
        if not any(t.get("TaskArn") == "AWS-RunPatchBaseline" for t in tasks):
            found.append(f"window {name} does not run AWS-RunPatchBaseline ({operation})")
    ours = {b["BaselineId"] for b in own_baselines(account)}
    baseline = ssm.get_patch_baseline_for_patch_group(PatchGroup=account.name("app"), OperatingSystem="AMAZON_LINUX_2023")
    if baseline.get("BaselineId") not in ours:
        found.append(f"patch group {account.name('app')} gets baseline {baseline.get('BaselineId')}, not one of the stack's {sorted(ours)}")
    return found
