"""PatchManagement: SSM patch baselines and maintenance windows for the application tier.

Why: unpatched servers are the usual way into a firm's network. Security and bug-fix updates of Critical and
Important severity are approved automatically after a short, settings-controlled delay, scanned for daily (so
compliance is visible) and installed weekly inside a declared window.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child

PATCH_GROUP_TAG = "Patch Group"  # the tag key SSM Patch Manager matches patch groups on
SCAN_SCHEDULE = "cron(0 2 * * ? *)"  # daily, 02:00 UTC
BASELINE_OPERATING_SYSTEMS = ("AMAZON_LINUX_2023",)
APPROVED_CLASSIFICATIONS = ["Security", "Bugfix"]
APPROVED_SEVERITIES = ["Critical", "Important"]


@dataclass
class PatchManagementArgs:
    settings: Settings
    patch_group: str


class PatchManagement(pulumi.ComponentResource):
    """Baselines registered for the patch group, a daily scan window and a weekly install window."""

    def __init__(self, name: str, args: PatchManagementArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:patching:PatchManagement", name, None, opts)
        s = args.settings
        self.baselines: dict[str, aws.ssm.PatchBaseline] = {}
        for operating_system in BASELINE_OPERATING_SYSTEMS:
            baseline = aws.ssm.PatchBaseline(
                f"{name}-{operating_system.lower().replace('_', '-')}",
                name=f"{s.name_prefix}-{operating_system.lower()}",
                description=f"CaseShield {s.stack}: Critical/Important security and bug fixes after "
                            f"{s.patch_approval_delay_days} days",
                operating_system=operating_system,
                approval_rules=[aws.ssm.PatchBaselineApprovalRuleArgs(
                    approve_after_days=s.patch_approval_delay_days,
                    compliance_level="CRITICAL",
                    enable_non_security=False,
                    patch_filters=[
                        aws.ssm.PatchBaselineApprovalRulePatchFilterArgs(key="CLASSIFICATION", values=APPROVED_CLASSIFICATIONS),
                        aws.ssm.PatchBaselineApprovalRulePatchFilterArgs(key="SEVERITY", values=APPROVED_SEVERITIES),
                    ],
                )],
                approved_patches_compliance_level="CRITICAL",
                opts=child(self),
            )
            aws.ssm.PatchGroup(f"{name}-{operating_system.lower().replace('_', '-')}-group",
                               baseline_id=baseline.id, patch_group=args.patch_group,
                               opts=pulumi.ResourceOptions(parent=baseline))
            self.baselines[operating_system] = baseline

        self.scan_window = self._window(name, "scan", SCAN_SCHEDULE, "Scan", args)
        self.install_window = self._window(name, "install", s.patch_install_schedule, "Install", args)
        self.register_outputs({
            "baseline_ids": {os_: b.id for os_, b in self.baselines.items()},
            "scan_window_id": self.scan_window.id,
            "install_window_id": self.install_window.id,
        })

    def _window(self, name: str, purpose: str, schedule: str, operation: str,
                args: PatchManagementArgs) -> aws.ssm.MaintenanceWindow:
        """A maintenance window that runs AWS-RunPatchBaseline (`operation` Scan or Install) on the patch group."""
        s = args.settings
        window = aws.ssm.MaintenanceWindow(
            f"{name}-{purpose}-window",
            name=f"{s.name_prefix}-patch-{purpose}",
            schedule=schedule,
            schedule_timezone="Etc/UTC",
            duration=3,
            cutoff=1,
            allow_unassociated_targets=False,
            opts=child(self),
        )
        target = aws.ssm.MaintenanceWindowTarget(
            f"{name}-{purpose}-target",
            window_id=window.id,
            resource_type="INSTANCE",
            targets=[aws.ssm.MaintenanceWindowTargetTargetArgs(key=f"tag:{PATCH_GROUP_TAG}", values=[args.patch_group])],
            opts=pulumi.ResourceOptions(parent=window),
        )
        aws.ssm.MaintenanceWindowTask(
            f"{name}-{purpose}-task",
            window_id=window.id,
            task_type="RUN_COMMAND",
            task_arn="AWS-RunPatchBaseline",
            priority=1,
            max_concurrency="25%",
            max_errors="10%",
            targets=[aws.ssm.MaintenanceWindowTaskTargetArgs(key="WindowTargetIds", values=[target.id])],
            task_invocation_parameters=aws.ssm.MaintenanceWindowTaskTaskInvocationParametersArgs(
                run_command_parameters=aws.ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersArgs(
                    parameters=[aws.ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersParameterArgs(
                        name="Operation", values=[operation])],
                    timeout_seconds=3600,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=window),
        )
        return window
