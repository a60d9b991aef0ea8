"""PatchManagement: Critical/Important security and bug fixes, approved after the settings delay, scanned daily,
installed weekly on the patch group."""

from __future__ import annotations

from functools import cache

from caseshield import settings as settings_module
from caseshield.offline import ResourceGraph, evaluate
from components.patching import PatchManagement, PatchManagementArgs

BASELINE = "aws:ssm/patchBaseline:PatchBaseline"
WINDOW = "aws:ssm/maintenanceWindow:MaintenanceWindow"


def program() -> None:
    s = settings_module.from_pulumi()
    PatchManagement("patch", PatchManagementArgs(settings=s, patch_group=f"{s.name_prefix}-app"))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def test_baseline_approves_critical_security_and_bugfix_after_configured_delay() -> None:
    for stack, delay in (("prod", 3), ("dev", 7)):
        baseline = graph(stack).one(BASELINE)
        assert baseline.inputs["operatingSystem"] == "AMAZON_LINUX_2023"
        rule = baseline.inputs["approvalRules"][0]
        assert rule["approveAfterDays"] == delay
        assert rule["complianceLevel"] == "CRITICAL"
        filters = {f["key"]: f["values"] for f in rule["patchFilters"]}
        assert filters == {"CLASSIFICATION": ["Security", "Bugfix"], "SEVERITY": ["Critical", "Important"]}


def test_baseline_is_registered_for_the_patch_group() -> None:
    group = graph("prod").one("aws:ssm/patchGroup:PatchGroup")
    assert group.inputs["patchGroup"] == "cs-prod-app"
    baseline = graph("prod").one(BASELINE)
    assert [r.urn for r in graph("prod").depends_on(group, "baselineId")] == [baseline.urn]


def test_windows_scan_daily_and_install_on_the_settings_schedule() -> None:
    g = graph("prod")
    windows = {w.inputs["name"]: w for w in g.of_type(WINDOW)}
    assert windows["cs-prod-patch-scan"].inputs["schedule"] == "cron(0 2 * * ? *)"
    assert windows["cs-prod-patch-install"].inputs["schedule"] == "cron(0 3 ? * SUN *)"
    operations = {}
    for task in g.of_type("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"):
        window = g.depends_on(task, "windowId")[0]
        assert task.inputs["taskArn"] == "AWS-RunPatchBaseline"
        params = task.inputs["taskInvocationParameters"]["runCommandParameters"]["parameters"]
        operations[window.inputs["name"]] = params[0]["values"]
    assert operations == {"cs-prod-patch-scan": ["Scan"], "cs-prod-patch-install": ["Install"]}


def test_windows_target_only_the_patch_group_tag() -> None:
    targets = graph("prod").of_type("aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget")
    assert len(targets) == 2
    for target in targets:
        assert target.inputs["targets"] == [{"key": "tag:Patch Group", "values": ["cs-prod-app"]}]
