"""Patching and host-hardening rules (PATCH-*): security fixes are approved promptly, scanned for daily and installed
weekly on the instances' patch group; the database takes minor upgrades in a declared window; instances are
SSM-managed, IMDSv2-only and have no SSH key.

A maintenance window task runs on the window its `windowId` came from and on the window targets its `targets` came
from. An instance profile's role is the role its `role` came from; the role's managed policies are its own
`managedPolicyArns` and those of the attachments whose role input came from it. Patch groups are names chosen in
settings (the instances' `Patch Group` tag), so they are compared as values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    as_list,
    consumers,
    environment,
    expect,
    get,
    is_unknown,
    of_type,
    peek,
    sources_of_type,
    tag,
    violation,
)
from policies.rules.encryption import DB_INSTANCE, IAM_ROLE, LAUNCH_TEMPLATE
from policies.rules.network import COMPUTE

PATCH_BASELINE = "aws:ssm/patchBaseline:PatchBaseline"
PATCH_GROUP = "aws:ssm/patchGroup:PatchGroup"
MAINTENANCE_WINDOW = "aws:ssm/maintenanceWindow:MaintenanceWindow"
WINDOW_TARGET = "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget"
WINDOW_TASK = "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"

# PATCH-01: what a baseline must approve, how soon (days; prod, every other tier) and how a missing patch is rated.
REQUIRED_PATCH_FILTERS = {"CLASSIFICATION": ("Security", "Bugfix"), "SEVERITY": ("Critical", "Important")}
COMPLIANCE_LEVEL = "CRITICAL"

# PATCH-02: the patching document, the longest gap between runs of each of its operations (days), the patch-group tag.
PATCH_DOCUMENT = "AWS-RunPatchBaseline"
OPERATION_INTERVAL_DAYS = {"Scan": 1, "Install": 7}
PATCH_GROUP_TAG = "Patch Group"
PATCH_GROUP_TARGET_KEY = f"tag:{PATCH_GROUP_TAG}"
RATE = re.compile(r"^rate\((?P<count>\d+) (?P<unit>minute|hour|day)s?\)$")
CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1}
ANY = ("*", "?")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # cron day-of-week 1-7

# PATCH-03: an RDS maintenance window, ddd:hh24:mi-ddd:hh24:mi (UTC).
DAY_TIME = r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d"
MAINTENANCE_WINDOW_RE = re.compile(f"^{DAY_TIME}-{DAY_TIME}$", re.IGNORECASE)

# PATCH-04: instance metadata, and the managed policy that lets Session Manager and Patch Manager reach an instance.
HOP_LIMIT = 1
SSM_CORE_POLICY = ":policy/AmazonSSMManagedInstanceCore"


# --- PATCH-01 -----------------------------------------------------------------------------------------------------

def filter_values(rule: Any, key: str) -> list[Any]:
    return [v for f in as_list(get(rule, "patchFilters")) if get(f, "key") == key for v in as_list(get(f, "values"))]


def approves_required_patches(rule: Any) -> bool:
    """Whether an approval rule's filters include every required classification and severity (absent means all)."""
    return all(not filter_values(rule, key) or set(wanted) <= set(filter_values(rule, key))
               for key, wanted in REQUIRED_PATCH_FILTERS.items())


@resource_rule("PATCH-01", PATCH_BASELINE)
def patch_baselines_approve_critical_fixes_promptly(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Baselines approve Critical/Important security and bug fixes within the ceiling of policies/floors.yaml
    (patch_approval_days: 7 days in prod, 14 elsewhere), rated CRITICAL.
    Implemented by components/patching.py (PatchManagement baselines, settings patchApprovalDelayDays)."""
    rules = args.props.get("approvalRules")
    if is_unknown(rules):
        return
    tier = environment(args)
    ceiling = floor("patch_approval_days", tier)
    covering = [i for i, rule in enumerate(as_list(rules)) if approves_required_patches(rule)]
    if not covering:
        violation(report, f"{args.name} approves no Critical/Important security and bug-fix updates", path="approvalRules",
                  actual=rules, expected=f"an approval rule whose patch filters include {REQUIRED_PATCH_FILTERS}")
    for i in covering:
        expect(report, args, f"approvalRules.{i}.approveAfterDays",
               lambda days: isinstance(days, (int, float)) and not isinstance(days, bool) and days <= ceiling,
               expected=f"at most {ceiling} days ({tier or 'unknown tier, held to prod'}: policies/floors.yaml)")
        expect(report, args, f"approvalRules.{i}.complianceLevel", (COMPLIANCE_LEVEL,), expected=f'"{COMPLIANCE_LEVEL}"')


# --- PATCH-02 -----------------------------------------------------------------------------------------------------

def weekday(name: str) -> int | None:
    """A cron day of the week as a number, 1 (Sunday) to 7."""
    if name in WEEKDAYS:
        return WEEKDAYS.index(name) + 1
    return int(name) if name.isdigit() and 1 <= int(name) <= len(WEEKDAYS) else None


def weekday_numbers(field: str) -> set[int] | None:
    """Days a cron day-of-week field names (lists and ranges); None for what this does not read (#, L)."""
    days: set[int] = set()
    for part in field.upper().split(","):
        bounds = [weekday(b) for b in part.split("-")]
        low, high = bounds[0], bounds[-1]
        if low is None or high is None or len(bounds) > 2:
            return None
        days.update(range(low, high + 1) if low <= high else [*range(low, 8), *range(1, high + 1)])
    return days


def interval_days(schedule: str) -> float:
    """The longest gap between runs of an SSM schedule expression, in days; infinite when not read as recurring."""
    rate = RATE.match(schedule)
    if rate:
        return int(rate["count"]) * UNIT_DAYS[rate["unit"]]
    cron = CRON.match(schedule)
    fields = cron["fields"].split() if cron else []
    if len(fields) < 5 or fields[3] not in ANY:
        return math.inf
    day_of_month, day_of_week = fields[2], fields[4]
    if day_of_week in ANY:
        if day_of_month in ANY:
            return 1
        step = day_of_month.removeprefix("*/")
        return int(step) if day_of_month.startswith("*/") and step.isdigit() else math.inf
    days = weekday_numbers(day_of_week) if day_of_month in ANY else None
    if not days:
        return math.inf
    ordered = sorted(days)
    return max(((b - a) % 7 or 7) for a, b in zip(ordered, [*ordered[1:], ordered[0]], strict=True))


def operation(task: PolicyResource) -> list[Any]:
    """The `Operation` values a maintenance-window task passes to AWS-RunPatchBaseline (none for other tasks)."""
    document = str(task.props.get("taskArn") or "")
    if document.rsplit("/", 1)[-1] != PATCH_DOCUMENT:
        return []
    parameters = as_list(get(task.props, "taskInvocationParameters.runCommandParameters.parameters"))
    return [v for p in parameters if get(p, "name") == "Operation" for v in as_list(get(p, "values"))]


def targeted_patch_groups(task: PolicyResource) -> list[Any]:
    return [v for target in sources_of_type(task, "targets", WINDOW_TARGET) for t in as_list(target.props.get("targets"))
            if get(t, "key") == PATCH_GROUP_TARGET_KEY for v in as_list(get(t, "values"))]


def instance_patch_groups(args: StackValidationArgs) -> Iterator[tuple[PolicyResource, str, Any]]:
    """(launch template or instance, path, patch group) for the instances each launches; the group None when untagged."""
    for compute in of_type(args, *COMPUTE):
        if compute.resource_type != LAUNCH_TEMPLATE:
            yield compute, f"tags.{PATCH_GROUP_TAG}", tag(compute, PATCH_GROUP_TAG)
            continue
        specs = [i for i, spec in enumerate(as_list(compute.props.get("tagSpecifications"))) if get(spec, "resourceType") == "instance"]
        for i in specs:
            path = f"tagSpecifications.{i}.tags.{PATCH_GROUP_TAG}"
            yield compute, path, get(compute.props, path)
        if not specs:
            yield compute, "tagSpecifications", None


def run_problems(task: PolicyResource, max_days: int, groups: set[Any]) -> list[tuple[PolicyResource, str, Any, str]]:
    """(resource, path, actual, expected) of what keeps a patching task from running often enough on the patch groups."""
    problems = []
    windows = sources_of_type(task, "windowId", MAINTENANCE_WINDOW)
    if not windows:
        problems.append((task, "windowId", task.props.get("windowId"), f"the id of an {MAINTENANCE_WINDOW}"))
    for window in windows:
        schedule = window.props.get("schedule")
        if not is_unknown(schedule) and interval_days(str(schedule)) > max_days:
            problems.append((window, "schedule", schedule, f"a schedule that runs at least every {max_days} day(s)"))
        if window.props.get("enabled") is False:
            problems.append((window, "enabled", False, "true (the default)"))
    targeted = targeted_patch_groups(task)
    missing = sorted(str(g) for g in groups - set(targeted))
    if missing and not any(is_unknown(v) for v in targeted):
        problems.append((task, "targets", targeted, f"window targets selecting {PATCH_GROUP_TARGET_KEY} {missing}"))
    return problems


@stack_rule("PATCH-02")
def patching_scans_daily_and_installs_weekly(args: StackValidationArgs, report: ReportViolation) -> None:
    """AWS-RunPatchBaseline scans daily and installs at least weekly, on every patch group the instances carry.
    Implemented by components/patching.py (PatchManagement._window, SCAN_SCHEDULE, settings patchInstallSchedule)."""
    groups = {group for _, _, group in instance_patch_groups(args) if group is not None and not is_unknown(group)}
    tasks = of_type(args, WINDOW_TASK)
    for name, max_days in OPERATION_INTERVAL_DAYS.items():
        runs = [task for task in tasks if name in operation(task)]
        if not runs:
            violation(report, f"no maintenance window runs {PATCH_DOCUMENT} {name}", path="taskInvocationParameters",
                      actual=sorted({str(v) for t in tasks for v in operation(t)}),
                      expected=f'a {PATCH_DOCUMENT} task with Operation "{name}"')
        problems = [run_problems(task, max_days, groups) for task in runs]
        if all(problems):
            for resource, path, actual, expected in (p for found in problems for p in found):
                violation(report, f"{resource.name} does not run {PATCH_DOCUMENT} {name} often enough on the patch groups", path=path,
                          actual=actual, expected=expected, urn=resource.urn)


@stack_rule("PATCH-02")
def instance_patch_groups_have_a_baseline(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every instance carries a Patch Group tag, and a patch baseline of this stack is registered for that group.
    Implemented by components/app_tier.py (PATCH_GROUP_TAG) and components/patching.py (PatchGroup)."""
    groups = of_type(args, PATCH_GROUP)
    if any(is_unknown(g.props.get("patchGroup")) for g in groups):
        return
    registered = {g.props.get("patchGroup") for g in groups if sources_of_type(g, "baselineId", PATCH_BASELINE)}
    for compute, path, group in instance_patch_groups(args):
        if not is_unknown(group) and group not in registered:
            what = f"in patch group {group!r}, which has no baseline of this stack" if group else f"without a {PATCH_GROUP_TAG} tag"
            violation(report, f"{compute.name} launches instances {what}", path=path, actual=group,
                      expected=f"one of {sorted(str(g) for g in registered)} (an {PATCH_GROUP} with a baselineId from an {PATCH_BASELINE})",
                      urn=compute.urn)


# --- PATCH-03 -----------------------------------------------------------------------------------------------------

@resource_rule("PATCH-03", DB_INSTANCE)
def database_takes_minor_upgrades_in_a_declared_window(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The database applies minor engine upgrades automatically, inside a declared weekly maintenance window.
    Implemented by components/database.py (CaseDatabase._instance, settings databaseMaintenanceWindow)."""
    expect(report, args, "autoMinorVersionUpgrade", (True, None), expected="true (the default)")
    expect(report, args, "maintenanceWindow", lambda window: isinstance(window, str) and bool(MAINTENANCE_WINDOW_RE.match(window)),
           expected="a declared window ddd:hh24:mi-ddd:hh24:mi (absent lets AWS pick one)")


# --- PATCH-04 -----------------------------------------------------------------------------------------------------

@resource_rule("PATCH-04", *COMPUTE)
def instance_metadata_requires_imdsv2_with_one_hop(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Instance metadata answers IMDSv2 (session token) requests only, and only one network hop away.
    Implemented by components/app_tier.py (ApplicationTier._launch_template metadata_options)."""
    if get(args.props, "metadataOptions.httpEndpoint") == "disabled":
        return
    expect(report, args, "metadataOptions.httpTokens", ("required",), expected='"required" (IMDSv2 only)')
    expect(report, args, "metadataOptions.httpPutResponseHopLimit", lambda hops: hops == HOP_LIMIT and not isinstance(hops, bool),
           expected=f"{HOP_LIMIT} (a container on the host cannot reach the instance role's credentials)")


def has_ssm_core(args: StackValidationArgs, role: PolicyResource) -> bool:
    """Whether the role holds AmazonSSMManagedInstanceCore (an unknown policy ARN is not judged)."""
    arns = as_list(role.props.get("managedPolicyArns"))
    arns += [a.props.get("policyArn") for a in consumers(args, role, ROLE_POLICY_ATTACHMENT, "role")]
    arns += [arn for a in consumers(args, role, ROLE_POLICY_ATTACHMENTS_EXCLUSIVE, "roleName")
             for arn in as_list(a.props.get("policyArns"))]
    return any(is_unknown(arn) or (isinstance(arn, str) and arn.endswith(SSM_CORE_POLICY)) for arn in arns)


@stack_rule("PATCH-04")
def instances_are_managed_by_ssm(args: StackValidationArgs, report: ReportViolation) -> None:
    """Launch templates and instances have an instance profile whose role holds AmazonSSMManagedInstanceCore.
    Implemented by components/app_tier.py (ApplicationTier._instance_role, MANAGED_POLICIES)."""
    for compute in of_type(args, *COMPUTE):
        profiles = sources_of_type(compute, "iamInstanceProfile", INSTANCE_PROFILE)
        if not profiles:
            violation(report, f"{compute.name} has no instance profile of this stack: Session Manager and Patch Manager cannot manage it",
                      path="iamInstanceProfile", actual=peek(compute.props, "iamInstanceProfile"),
                      expected=f"the ARN or name of an {INSTANCE_PROFILE}", urn=compute.urn)
        for profile in profiles:
            roles = sources_of_type(profile, "role", IAM_ROLE)
            if not any(has_ssm_core(args, role) for role in roles):
                violation(report, f"{profile.name}'s role does not hold AmazonSSMManagedInstanceCore", path="role",
                          actual=[r.name for r in roles], expected=f"a role with arn:aws:iam::aws{SSM_CORE_POLICY} attached",
                          urn=profile.urn)


@resource_rule("PATCH-04", *COMPUTE)
def instances_have_no_key_pair(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No launch template or instance names an SSH key pair: administrators use Session Manager.
    Implemented by components/app_tier.py (ApplicationTier._launch_template)."""
    expect(report, args, "keyName", lambda key: not key, expected="absent")
