"""Typed, validated stack settings.

Every value the program reads comes from Pulumi config and is checked here before a single resource is
registered: a bad CIDR or a too-short retention must fail the preview with a message that names the key and
the fix, not fail halfway through `pulumi up` with half an environment created.

The keys, their types and defaults are declared once, in `Pulumi.yaml`; `Settings` mirrors them as typed
fields (a test keeps the two in step).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from caseshield.project import ROOT
from caseshield.strict_yaml import InputError, Problem

__all__ = ["RULES", "Problem", "Settings", "SettingsError", "config_fields", "from_pulumi", "load_settings"]

NAMESPACE = "caseshield"
ENVIRONMENTS = ("dev", "staging", "prod")
OBJECT_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
# The values CloudWatch Logs accepts for retentionInDays.
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
# Where each retention setting's floor per environment tier lives: policies/floors.yaml, the file the rules judge the
# deployed values by, so a stack file is refused at the same floor the policy pack would fail it at.
FLOOR_PATHS = {
    "auditLogRetentionDays": "retention_days.audit_logs",
    "operationalLogRetentionDays": "retention_days.operational_logs",
    "auditArchiveRetentionDays": "retention_days.audit_archive_lock",
    "documentVersionRetentionDays": "retention_days.document_versions",
    "databaseBackupRetentionDays": "retention_days.database_backups",
    "backupRetentionDays": "retention_days.backups",
}
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
REGION_RE = re.compile(r"^(us|eu|ap|ca|sa|me|af|il|mx)-(gov-)?(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
DB_CLASS_RE = re.compile(r"^db\.(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")
EC2_TYPE_RE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")
# Families too old for encrypted Performance Insights / Graviton-era PostgreSQL versions, or burstable in prod.
RETIRED_DB_FAMILIES = ("m1", "m2", "m3", "m4", "r3", "r4", "t1", "t2")
IAM_PRINCIPAL_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$")
FQDN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ACM_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
SCHEDULE_RE = re.compile(r"^(cron\([^()]+\)|rate\(\d+ (minutes?|hours?|days?)\))$")
MAINTENANCE_WINDOW_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-"
                                   r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$")
OIDC_SUBJECT_RE = re.compile(r"^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:[A-Za-z0-9_./:-]+$")
# A prod deployment may only come from a protected GitHub environment (reviewers, branch rules), never a pull request.
PROD_OIDC_SUBJECT_RE = re.compile(r"repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:environment:[A-Za-z0-9_.-]+")
# Whole numbers as the engine passes them: ASCII digits only (no `1_000`, no full-width digits, no spaces).
INTEGER_TEXT_RE = re.compile(r"[-+]?[0-9]{1,12}")
CONTROL_CHARACTER_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")
# What an AWS Organizations policy attaches to: an account, an organizational unit or the organization's root.
ORGANIZATIONS_TARGET_RE = re.compile(r"[0-9]{12}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32}")
IAM_ROLE_ARN_RE = re.compile(r"arn:aws(-[a-z]+)*:iam::(?P<account>\d{12}):role/[A-Za-z0-9+=,.@_/-]+")
# Stack names end up in AWS names: `cs-<stack><suffix>`. Longest suffix the components append, per limited name
# (measured from an evaluated prod stack by tests/test_inputs_settings.py) and the limit AWS sets for that name.
NAME_PREFIX = "cs-"
DERIVED_NAME_LIMITS = {  # what: (AWS limit, longest suffix after the stack name)
    "EventBridge rule name": (64, 26),
    "IAM role name": (64, 19),
    "AWS Backup vault name": (50, 11),
    "AWS Backup selection name": (50, 10),
    "RDS instance identifier": (63, 8),
    "Cognito user-pool domain": (63, 13),
}
MAX_STACK_NAME = min(limit - len(NAME_PREFIX) - suffix for limit, suffix in DERIVED_NAME_LIMITS.values())
# RDS identifiers and Cognito domains: ASCII lower-case letters, digits, single hyphens, no trailing hyphen.
STACK_NAME_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")
RESIDENCY_FILE = ROOT / "policies" / "data-residency.yaml"
TRUST_FILE = ROOT / "policies" / "ci-trust.yaml"


def _key(name: str) -> Any:
    """Declare a dataclass field bound to the config key `name`."""
    return field(metadata={"key": name})


@dataclass(frozen=True)
class Settings:
    """One stack's settings, parsed and validated; built by `load_settings` and nothing else."""

    stack: str
    region: str
    environment: str = _key("environment")
    owner: str = _key("owner")
    allowed_regions: tuple[str, ...] = _key("allowedRegions")
    vpc_cidr: str = _key("vpcCidr")
    availability_zone_count: int = _key("availabilityZoneCount")
    public_subnet_cidrs: tuple[str, ...] = _key("publicSubnetCidrs")
    app_subnet_cidrs: tuple[str, ...] = _key("appSubnetCidrs")
    data_subnet_cidrs: tuple[str, ...] = _key("dataSubnetCidrs")
    audit_log_retention_days: int = _key("auditLogRetentionDays")
    operational_log_retention_days: int = _key("operationalLogRetentionDays")
    audit_archive_retention_days: int = _key("auditArchiveRetentionDays")
    object_lock_mode: str = _key("objectLockMode")
    document_version_retention_days: int = _key("documentVersionRetentionDays")
    database_backup_retention_days: int = _key("databaseBackupRetentionDays")
    database_instance_class: str = _key("databaseInstanceClass")
    database_allocated_storage_gb: int = _key("databaseAllocatedStorageGb")
    database_multi_az: bool = _key("databaseMultiAz")
    deletion_protection: bool = _key("deletionProtection")
    app_instance_type: str = _key("appInstanceType")
    alert_emails: tuple[str, ...] = _key("alertEmails")
    ci_oidc_provider_url: str = _key("ciOidcProviderUrl")
    ci_oidc_subject: str = _key("ciOidcSubject")
    ci_audit_oidc_subject: str = _key("ciAuditOidcSubject")
    key_administrator_arns: tuple[str, ...] = _key("keyAdministratorArns")
    vendor_session_hours: int = _key("vendorSessionHours")
    domain_name: str = _key("domainName")
    certificate_arn: str = _key("certificateArn")
    waf_country_allow_list: tuple[str, ...] = _key("wafCountryAllowList")
    waf_rate_limit: int = _key("wafRateLimit")
    app_port: int = _key("appPort")
    app_min_instances: int = _key("appMinInstances")
    app_max_instances: int = _key("appMaxInstances")
    patch_approval_delay_days: int = _key("patchApprovalDelayDays")
    patch_install_schedule: str = _key("patchInstallSchedule")
    database_maintenance_window: str = _key("databaseMaintenanceWindow")
    backup_retention_days: int = _key("backupRetentionDays")
    backup_copy_region: str = _key("backupCopyRegion")
    org_guardrail_enabled: bool = _key("orgGuardrailEnabled")
    org_guardrail_target_ids: tuple[str, ...] = _key("orgGuardrailTargetIds")
    org_guardrail_admin_role_arn: str = _key("orgGuardrailAdminRoleArn")
    allowed_account_ids: tuple[str, ...] = ()  # aws:allowedAccountIds: the one account this stack deploys into

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def name_prefix(self) -> str:
        """Prefix for physical names: short, lower-case, unique per project and stack."""
        return f"cs-{self.stack}".lower()


def config_fields() -> dict[str, Any]:
    """Config key -> dataclass field, for every setting declared in Pulumi.yaml."""
    return {f.metadata["key"]: f for f in fields(Settings) if "key" in f.metadata}


class SettingsError(InputError):
    """Raised before any resource is registered when the stack's config is invalid."""

    def __init__(self, stack: str, problems: list[Problem], file: str | None = None):
        self.stack = stack
        where = f" in {file}" if file else ""
        super().__init__(file or f"stacks/Pulumi.{stack}.yaml", problems,
                         header=f"stack '{stack}' has {len(problems)} invalid setting(s){where}")


def _set_fix(key: str, example: str) -> str:
    return f"`pulumi config set {key} {example}` (or edit stacks/Pulumi.<stack>.yaml)."


# ---------------------------------------------------------------------------------------------------------------
# Parsing: raw config strings -> typed values
# ---------------------------------------------------------------------------------------------------------------

def _parse(key: str, raw: Any, annotation: str) -> tuple[Any, Problem | None]:
    """Parse one raw config value (a string, as the engine passes it) into the field's type."""
    try:
        if annotation == "int":
            if isinstance(raw, bool) or (not isinstance(raw, int) and not (
                    isinstance(raw, str) and INTEGER_TEXT_RE.fullmatch(raw))):
                raise ValueError
            value: Any = int(raw)
            return value, None
        if annotation == "bool":
            if isinstance(raw, bool):
                return raw, None
            text = str(raw).strip().lower()
            if text not in ("true", "false"):
                raise ValueError
            return text == "true", None
        if annotation.startswith("tuple"):
            items = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError
            if any(CONTROL_CHARACTER_RE.search(i) for i in items):
                return None, _control_character(key, raw)
            return tuple(items), None
        if not isinstance(raw, str):
            raise ValueError
        if CONTROL_CHARACTER_RE.search(raw):
            return None, _control_character(key, raw)
        return raw, None
    except (ValueError, TypeError, RecursionError):
        kind = {"int": "a whole number", "bool": "true or false"}.get(
            annotation, "a list of strings" if annotation.startswith("tuple") else "a string"
        )
        return None, Problem(f"{NAMESPACE}:{key}", raw, f"must be {kind}.", _set_fix(key, "<value>"))


def _control_character(key: str, raw: Any) -> Problem:
    return Problem(f"{NAMESPACE}:{key}", raw, "contains a newline or another control character, which would reach "
                   "resource names, tags and policies verbatim.", f"set it on one line: {_set_fix(key, '<value>')}")


def _raw_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Split the engine's flat config into this project's keys, flagging unknown ones."""
    known = config_fields()
    ours: dict[str, Any] = {}
    problems: list[Problem] = []
    for full_key, raw in sorted(config.items()):
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key not in known:
            problems.append(Problem(full_key, raw, "is not a CaseShield setting (a typo?).",
                                    f"remove it (`pulumi config rm {key}`); the settings are listed in Pulumi.yaml."))
            continue
        ours[key] = raw
    return ours, problems


# ---------------------------------------------------------------------------------------------------------------
# Rules: one function per rule, each returns the problems it finds
# ---------------------------------------------------------------------------------------------------------------

Rule = Callable[[Settings], Iterable[Problem]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _network(cidr: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError):
        return None


@rule
def environment_is_a_known_tier(s: Settings) -> Iterable[Problem]:
    if s.environment not in ENVIRONMENTS:
        yield Problem("caseshield:environment", s.environment, f"must be one of {', '.join(ENVIRONMENTS)}.",
                      _set_fix("environment", "prod"))


@rule
def owner_is_named(s: Settings) -> Iterable[Problem]:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._@+-]{1,62}", s.owner):
        yield Problem("caseshield:owner", s.owner, "must name the accountable team (2-63 letters, digits, ._@+- or space).",
                      _set_fix("owner", "platform-team"))


@cache
def region_partitions() -> dict[str, str]:
    """Every region botocore's endpoint data knows -> its partition (aws, aws-cn, aws-us-gov, ...)."""
    import botocore.session

    session = botocore.session.get_session()
    return {region: partition for partition in session.get_available_partitions()
            for region in session.get_available_regions("ec2", partition_name=partition)}


@cache
def residency_regions() -> tuple[str, ...]:
    """The firm's data-residency list (policies/data-residency.yaml), validated against its schema."""
    from caseshield import schemas

    return tuple(schemas.load(RESIDENCY_FILE, "data-residency")["allowed_regions"])


@cache
def declared_oidc_providers() -> tuple[str, ...]:
    """The CI identity providers the firm trusts to deploy (policies/ci-trust.yaml)."""
    from caseshield import schemas

    return tuple(schemas.load(TRUST_FILE, "ci-trust")["oidc_providers"])


def zones_in(region: str) -> int | None:
    """How many availability zones `region` has, from the zone table the offline evaluation answers with (moto's)."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    zones = RegionsAndZonesBackend.zones.get(region)
    return len(zones) if zones else None


def stack_name_problems(stack: str) -> list[Problem]:
    """The stack name is checked before any setting: it is part of every physical name the components derive."""
    words = [w for w in COGNITO_RESERVED_WORDS if w in stack]
    if STACK_NAME_RE.fullmatch(stack) and len(stack) <= MAX_STACK_NAME and not words:
        return []
    why = (f"contains {words[0]!r}, which Cognito refuses in a user-pool domain" if words else
           f"must be 1-{MAX_STACK_NAME} ASCII lower-case letters, digits and single hyphens: it becomes part of "
           f"the {', '.join(DERIVED_NAME_LIMITS)} (the tightest leaves {MAX_STACK_NAME} characters for the stack, "
           "and RDS refuses '_' and '--')")
    return [Problem("stack", stack, f"is not a usable stack name: {why}.",
                    "rename the stack (`pulumi stack rename <name>`, and its file under stacks/), e.g. prod-eu.")]


@rule
def region_is_allowed(s: Settings) -> Iterable[Problem]:
    known = region_partitions()
    bad = [r for r in s.allowed_regions if not REGION_RE.fullmatch(r) or r not in known]
    if bad or not s.allowed_regions:
        yield Problem("caseshield:allowedRegions", list(s.allowed_regions),
                      f"must be a non-empty list of AWS region names; not regions: {bad}.",
                      "list regions such as us-east-1 under caseshield:allowedRegions in the stack file.")
    wider = [r for r in s.allowed_regions if r not in bad and r not in residency_regions()]
    if wider:
        yield Problem("caseshield:allowedRegions", list(s.allowed_regions),
                      f"is wider than the firm's data-residency list {list(residency_regions())}: {wider}.",
                      "remove those regions, or have the data-protection officer add them to "
                      "policies/data-residency.yaml first.")
    if not s.region:
        yield Problem("aws:region", s.region, "is not set; the program needs an explicit region.",
                      "`pulumi config set aws:region us-east-1`.")
    elif s.region not in s.allowed_regions:
        yield Problem("aws:region", s.region,
                      f"is outside the data-residency allow-list {list(s.allowed_regions)}.",
                      "choose an allowed region, or have the data-protection officer approve adding it to allowedRegions.")


@rule
def vpc_cidr_is_private_and_sized(s: Settings) -> Iterable[Problem]:
    net = _network(s.vpc_cidr)
    if net is None:
        yield Problem("caseshield:vpcCidr", s.vpc_cidr, "is not an IPv4 CIDR with its host bits zero.",
                      _set_fix("vpcCidr", "10.40.0.0/16"))
    elif not any(net.subnet_of(private) for private in RFC1918):
        yield Problem("caseshield:vpcCidr", s.vpc_cidr, "must be a private (RFC 1918) range: 10/8, 172.16/12 or 192.168/16.",
                      _set_fix("vpcCidr", "10.40.0.0/16"))
    elif not 16 <= net.prefixlen <= 22:
        yield Problem("caseshield:vpcCidr", s.vpc_cidr, "must be between /16 and /22 to hold three subnet tiers.",
                      _set_fix("vpcCidr", "10.40.0.0/16"))


@rule
def availability_zone_count_is_two_or_three(s: Settings) -> Iterable[Problem]:
    if s.availability_zone_count not in (2, 3):
        yield Problem("caseshield:availabilityZoneCount", s.availability_zone_count,
                      "must be 2 or 3 (high availability without paying for zones the app cannot use).",
                      _set_fix("availabilityZoneCount", "3"))
        return
    zones = zones_in(s.region) if s.region in region_partitions() else None
    if zones is not None and s.availability_zone_count > zones:
        yield Problem("caseshield:availabilityZoneCount", s.availability_zone_count,
                      f"is more than the {zones} availability zones {s.region} has.",
                      _set_fix("availabilityZoneCount", str(zones)))


SUBNET_TIERS = (("publicSubnetCidrs", "public_subnet_cidrs"), ("appSubnetCidrs", "app_subnet_cidrs"),
                ("dataSubnetCidrs", "data_subnet_cidrs"))


@rule
def subnets_fit_the_vpc_without_overlap(s: Settings) -> Iterable[Problem]:
    vpc = _network(s.vpc_cidr)
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, attr in SUBNET_TIERS:
        cidrs: tuple[str, ...] = getattr(s, attr)
        if len(cidrs) != s.availability_zone_count:
            yield Problem(f"caseshield:{key}", list(cidrs),
                          f"must list exactly one CIDR per availability zone ({s.availability_zone_count}).",
                          f"give {s.availability_zone_count} CIDRs under caseshield:{key}, or change availabilityZoneCount.")
        for cidr in cidrs:
            net = _network(cidr)
            if net is None:
                yield Problem(f"caseshield:{key}", cidr, "is not an IPv4 CIDR with its host bits zero.",
                              f"use a CIDR such as 10.40.0.0/24 under caseshield:{key}.")
                continue
            if not 16 <= net.prefixlen <= 28:
                yield Problem(f"caseshield:{key}", cidr, "must be between /16 and /28 (AWS subnet limits).",
                              f"resize it under caseshield:{key}.")
            if vpc is not None and not net.subnet_of(vpc):
                yield Problem(f"caseshield:{key}", cidr, f"lies outside the VPC {s.vpc_cidr}.",
                              f"pick a CIDR inside vpcCidr under caseshield:{key}.")
            for other_key, other in seen:
                if net.overlaps(other):
                    yield Problem(f"caseshield:{key}", cidr, f"overlaps {other} from {other_key}.",
                                  "give every subnet its own, non-overlapping range.")
            seen.append((key, net))


def retention_floor(key: str, environment: str) -> int:
    """The floor of retention setting `key` (a name of FLOOR_PATHS) for an environment tier, from policies/floors.yaml."""
    from policies import floors  # the catalog's file; imported here so that loading settings needs it only to judge

    return int(floors.floor(FLOOR_PATHS[key], environment))


def _floor(s: Settings, key: str) -> int:
    # An unknown tier is refused on its own (environment_is_a_known_tier); judged as dev meanwhile, so that one mistake
    # gives one error rather than a list of prod floors the stack never meant to meet.
    return retention_floor(key, s.environment if s.environment in ENVIRONMENTS else "dev")


@rule
def log_retention_meets_floor(s: Settings) -> Iterable[Problem]:
    for key, value in (("auditLogRetentionDays", s.audit_log_retention_days),
                       ("operationalLogRetentionDays", s.operational_log_retention_days)):
        floor = _floor(s, key)
        if value not in CLOUDWATCH_RETENTION_DAYS:
            allowed = [d for d in CLOUDWATCH_RETENTION_DAYS if d >= floor]
            yield Problem(f"caseshield:{key}", value, "is not a retention CloudWatch Logs accepts.",
                          _set_fix(key, str(min(allowed, key=lambda d: abs(d - value)))))
        elif value < floor:
            yield Problem(f"caseshield:{key}", value, f"is below the {s.environment} floor of {floor} days.",
                          _set_fix(key, str(floor)))


@rule
def archive_and_version_retention_meet_floor(s: Settings) -> Iterable[Problem]:
    for key, value in (("auditArchiveRetentionDays", s.audit_archive_retention_days),
                       ("documentVersionRetentionDays", s.document_version_retention_days)):
        floor = _floor(s, key)
        if value < floor:
            yield Problem(f"caseshield:{key}", value, f"is below the {s.environment} floor of {floor} days.",
                          _set_fix(key, str(floor)))
        elif value > 36500:
            yield Problem(f"caseshield:{key}", value, "exceeds 100 years, the longest S3 retention AWS accepts.",
                          _set_fix(key, str(floor)))


@rule
def database_backup_retention_is_valid(s: Settings) -> Iterable[Problem]:
    floor = _floor(s, "databaseBackupRetentionDays")
    value = s.database_backup_retention_days
    if value > 35:
        yield Problem("caseshield:databaseBackupRetentionDays", value, "exceeds the RDS maximum of 35 days.",
                      _set_fix("databaseBackupRetentionDays", "35"))
    elif value < floor:
        yield Problem("caseshield:databaseBackupRetentionDays", value,
                      f"is below the {s.environment} floor of {floor} days.",
                      _set_fix("databaseBackupRetentionDays", str(floor)))


@rule
def object_lock_mode_is_valid(s: Settings) -> Iterable[Problem]:
    if s.object_lock_mode not in OBJECT_LOCK_MODES:
        yield Problem("caseshield:objectLockMode", s.object_lock_mode, "must be GOVERNANCE or COMPLIANCE.",
                      _set_fix("objectLockMode", "COMPLIANCE"))
    elif s.is_prod and s.object_lock_mode != "COMPLIANCE":
        yield Problem("caseshield:objectLockMode", s.object_lock_mode,
                      "must be COMPLIANCE in prod: GOVERNANCE lets a privileged user delete audit evidence.",
                      _set_fix("objectLockMode", "COMPLIANCE"))


@rule
def prod_keeps_resilience_switches_on(s: Settings) -> Iterable[Problem]:
    if not s.is_prod:
        return
    if not s.database_multi_az:
        yield Problem("caseshield:databaseMultiAz", False, "must be true in prod (a zone outage must not stop casework).",
                      _set_fix("databaseMultiAz", "true"))
    if not s.deletion_protection:
        yield Problem("caseshield:deletionProtection", False, "must be true in prod (no stateful resource may be lost).",
                      _set_fix("deletionProtection", "true"))


@rule
def instance_classes_are_valid(s: Settings) -> Iterable[Problem]:
    match = DB_CLASS_RE.fullmatch(s.database_instance_class)
    if match is None:
        yield Problem("caseshield:databaseInstanceClass", s.database_instance_class,
                      "is not an RDS instance class (db.<family>.<size>).",
                      _set_fix("databaseInstanceClass", "db.r6g.large"))
    elif match["family"] in RETIRED_DB_FAMILIES:
        yield Problem("caseshield:databaseInstanceClass", s.database_instance_class,
                      f"uses the retired family {match['family']}, which lacks current PostgreSQL and encrypted insights.",
                      _set_fix("databaseInstanceClass", "db.r6g.large"))
    elif s.is_prod and match["family"].startswith("t"):
        yield Problem("caseshield:databaseInstanceClass", s.database_instance_class,
                      "is burstable; prod needs steady capacity for the case database.",
                      _set_fix("databaseInstanceClass", "db.r6g.large"))
    if not 20 <= s.database_allocated_storage_gb <= 65536:
        yield Problem("caseshield:databaseAllocatedStorageGb", s.database_allocated_storage_gb,
                      "must be between 20 and 65536 GiB.", _set_fix("databaseAllocatedStorageGb", "100"))
    if EC2_TYPE_RE.fullmatch(s.app_instance_type) is None or s.app_instance_type.startswith("db."):
        yield Problem("caseshield:appInstanceType", s.app_instance_type,
                      "is not an EC2 instance type (<family>.<size>).", _set_fix("appInstanceType", "m6i.large"))


@rule
def alert_emails_are_valid(s: Settings) -> Iterable[Problem]:
    if not s.alert_emails:
        yield Problem("caseshield:alertEmails", [], "needs at least one address: alerts nobody reads are no control.",
                      "list the security on-call address under caseshield:alertEmails.")
    for email in s.alert_emails:
        if not EMAIL_RE.fullmatch(email):
            yield Problem("caseshield:alertEmails", email, "is not an e-mail address.",
                          "correct it under caseshield:alertEmails, e.g. security-oncall@lawfirm.example.")
    if len({e.lower() for e in s.alert_emails}) != len(s.alert_emails):
        yield Problem("caseshield:alertEmails", list(s.alert_emails), "lists an address twice.",
                      "remove the duplicate under caseshield:alertEmails.")
    from policies import floors  # IR-01's floor: how many people an incident pages in this tier

    needed = int(floors.floor("incident_recipients", s.environment if s.environment in ENVIRONMENTS else "dev"))
    if s.alert_emails and len(s.alert_emails) < needed:
        yield Problem("caseshield:alertEmails", list(s.alert_emails),
                      f"pages {len(s.alert_emails)} person, fewer than the {needed} a {s.environment} incident must reach "
                      "(policies/floors.yaml incident_recipients).",
                      "add a second address (e.g. the IT operations on-call) under caseshield:alertEmails.")


@rule
def ci_trust_is_narrow(s: Settings) -> Iterable[Problem]:
    if not re.fullmatch(r"https://[a-z0-9.-]+(/[A-Za-z0-9._/-]*)?", s.ci_oidc_provider_url):
        yield Problem("caseshield:ciOidcProviderUrl", s.ci_oidc_provider_url, "must be an https:// issuer URL.",
                      _set_fix("ciOidcProviderUrl", "https://token.actions.githubusercontent.com"))
    elif s.ci_oidc_provider_url not in declared_oidc_providers():
        yield Problem("caseshield:ciOidcProviderUrl", s.ci_oidc_provider_url,
                      f"is not a CI identity provider the firm declares {list(declared_oidc_providers())}: the "
                      "ci-deployer role would trust tokens that provider's owner can mint.",
                      _set_fix("ciOidcProviderUrl", declared_oidc_providers()[0])
                      + " A new provider is added to policies/ci-trust.yaml by security review.")
    for key, subject, who, example in (("ciOidcSubject", s.ci_oidc_subject, "deploy", s.environment),
                                       ("ciAuditOidcSubject", s.ci_audit_oidc_subject, "audit", f"audit-{s.stack}")):
        if "*" in subject or not OIDC_SUBJECT_RE.fullmatch(subject):
            yield Problem(f"caseshield:{key}", subject,
                          f"must be one exact subject like repo:OWNER/REPO:ref:refs/heads/main; wildcards let any branch {who}.",
                          _set_fix(key, "repo:lawfirm/caseshield:ref:refs/heads/main"))
        elif subject.endswith(":pull_request"):
            yield Problem(f"caseshield:{key}", subject,
                          f"trusts pull_request tokens: anyone who can open a pull request could {who}.",
                          _set_fix(key, f"repo:lawfirm/caseshield:environment:{example}"))
        elif s.is_prod and not PROD_OIDC_SUBJECT_RE.fullmatch(subject):
            yield Problem(f"caseshield:{key}", subject,
                          "must name a protected GitHub environment in prod (repo:OWNER/REPO:environment:NAME): only an "
                          f"environment's required reviewers and branch rules stand between a push and a prod {who}.",
                          _set_fix(key, f"repo:lawfirm/caseshield:environment:{example}"))
    if s.ci_audit_oidc_subject == s.ci_oidc_subject:
        yield Problem("caseshield:ciAuditOidcSubject", s.ci_audit_oidc_subject,
                      "is the deploy subject: the nightly audit's token would also assume the ci-deployer role.",
                      _set_fix("ciAuditOidcSubject", f"repo:lawfirm/caseshield:environment:audit-{s.stack}"))


@rule
def key_administrators_are_iam_principals(s: Settings) -> Iterable[Problem]:
    for arn in s.key_administrator_arns:
        if not IAM_PRINCIPAL_ARN_RE.fullmatch(arn) or "*" in arn:
            yield Problem("caseshield:keyAdministratorArns", arn,
                          "is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>, no wildcards).",
                          "list exact role ARNs under caseshield:keyAdministratorArns.")
        elif not s.allowed_account_ids:
            yield Problem("caseshield:keyAdministratorArns", arn,
                          "names a key administrator, but the stack does not declare its account, so nothing shows "
                          "the principal is in it.",
                          "declare the account: `pulumi config set --path 'aws:allowedAccountIds[0]' <account-id>`.")
        elif arn.split(":")[4] not in s.allowed_account_ids:
            yield Problem("caseshield:keyAdministratorArns", arn,
                          f"is in account {arn.split(':')[4]}, not the stack's account {list(s.allowed_account_ids)}: "
                          "a foreign principal would administer the keys of client data.",
                          "list a role of the stack's own account under caseshield:keyAdministratorArns.")
        elif arn.split(":")[1] != _partition(s.region):
            yield Problem("caseshield:keyAdministratorArns", arn,
                          f"is in partition {arn.split(':')[1]}, but {s.region} is in {_partition(s.region)}.",
                          "use an ARN of the stack's own partition under caseshield:keyAdministratorArns.")


def _partition(region: str) -> str:
    return region_partitions().get(region, "aws")


@rule
def vendor_sessions_are_short(s: Settings) -> Iterable[Problem]:
    if not 1 <= s.vendor_session_hours <= 4:
        yield Problem("caseshield:vendorSessionHours", s.vendor_session_hours,
                      "must be between 1 and 4 hours: vendor access is short-lived by policy.",
                      _set_fix("vendorSessionHours", "1"))


@rule
def domain_and_certificate_are_valid(s: Settings) -> Iterable[Problem]:
    if not FQDN_RE.fullmatch(s.domain_name):
        yield Problem("caseshield:domainName", s.domain_name, "is not a fully qualified domain name.",
                      _set_fix("domainName", "cases.lawfirm.example"))
    if s.certificate_arn and not ACM_ARN_RE.fullmatch(s.certificate_arn):
        yield Problem("caseshield:certificateArn", s.certificate_arn,
                      "is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>).",
                      "set the ARN of the imported certificate, or \"\" to request one for domainName.")
    elif s.certificate_arn and f":acm:{s.region}:" not in s.certificate_arn:
        yield Problem("caseshield:certificateArn", s.certificate_arn,
                      f"is in another region; the load balancer needs a certificate in {s.region}.",
                      "import the certificate into the stack's region and use that ARN.")


@rule
def waf_settings_are_valid(s: Settings) -> Iterable[Problem]:
    bad = [c for c in s.waf_country_allow_list if not re.fullmatch(r"[A-Z]{2}", c)]
    if bad:
        yield Problem("caseshield:wafCountryAllowList", bad, "are not ISO 3166 alpha-2 codes (two capitals).",
                      "list codes such as US or GB under caseshield:wafCountryAllowList.")
    if not 100 <= s.waf_rate_limit <= 20_000_000:
        yield Problem("caseshield:wafRateLimit", s.waf_rate_limit, "must be between 100 and 20000000 per 5 minutes.",
                      _set_fix("wafRateLimit", "1000"))


@rule
def app_tier_is_sized_sanely(s: Settings) -> Iterable[Problem]:
    if not 1024 <= s.app_port <= 65535:
        yield Problem("caseshield:appPort", s.app_port, "must be an unprivileged port, 1024-65535.",
                      _set_fix("appPort", "8443"))
    if s.app_min_instances < (2 if s.is_prod else 1):
        yield Problem("caseshield:appMinInstances", s.app_min_instances,
                      f"must be at least {2 if s.is_prod else 1}{' in prod (one per zone survives a zone loss)' if s.is_prod else ''}.",
                      _set_fix("appMinInstances", "2"))
    if s.app_min_instances > 100:
        yield Problem("caseshield:appMinInstances", s.app_min_instances, "must be at most 100.",
                      _set_fix("appMinInstances", "2"))
    elif s.app_max_instances < s.app_min_instances or s.app_max_instances > 100:
        yield Problem("caseshield:appMaxInstances", s.app_max_instances,
                      f"must be between appMinInstances ({s.app_min_instances}) and 100.",
                      _set_fix("appMaxInstances", str(max(s.app_min_instances, 6))))


@rule
def patching_is_timely(s: Settings) -> Iterable[Problem]:
    from policies import floors  # PATCH-01's ceiling for the tier (an unknown tier is refused on its own; dev meanwhile)

    ceiling = int(floors.floor("patch_approval_days", s.environment if s.environment in ENVIRONMENTS else "dev"))
    if not 0 <= s.patch_approval_delay_days <= ceiling:
        yield Problem("caseshield:patchApprovalDelayDays", s.patch_approval_delay_days,
                      f"must be between 0 and {ceiling} days in {s.environment}: critical fixes may not wait longer.",
                      _set_fix("patchApprovalDelayDays", str(min(7, ceiling))))
    if not SCHEDULE_RE.fullmatch(s.patch_install_schedule):
        yield Problem("caseshield:patchInstallSchedule", s.patch_install_schedule,
                      "is not an SSM cron(...) or rate(...) expression.",
                      _set_fix("patchInstallSchedule", "'cron(0 3 ? * SUN *)'"))
    if not MAINTENANCE_WINDOW_RE.fullmatch(s.database_maintenance_window):
        yield Problem("caseshield:databaseMaintenanceWindow", s.database_maintenance_window,
                      "is not an RDS window ddd:hh24:mi-ddd:hh24:mi.",
                      _set_fix("databaseMaintenanceWindow", "sun:04:00-sun:05:00"))
    elif not 30 <= _window_minutes(s.database_maintenance_window) <= 24 * 60:
        yield Problem("caseshield:databaseMaintenanceWindow", s.database_maintenance_window,
                      "must last between 30 minutes and 24 hours (RDS limits).",
                      _set_fix("databaseMaintenanceWindow", "sun:04:00-sun:05:00"))


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _window_minutes(window: str) -> int:
    """Length of a weekly ddd:hh:mi-ddd:hh:mi window in minutes (it may wrap around the week's end)."""

    def minute_of_week(point: str) -> int:
        day, hour, minute = point.split(":")
        return WEEKDAYS.index(day) * 1440 + int(hour) * 60 + int(minute)

    start, end = (minute_of_week(p) for p in window.split("-"))
    return (end - start) % (7 * 1440)


@rule
def backup_plan_is_valid(s: Settings) -> Iterable[Problem]:
    floor = _floor(s, "backupRetentionDays")
    if not floor <= s.backup_retention_days <= 36500:
        yield Problem("caseshield:backupRetentionDays", s.backup_retention_days,
                      f"must be between the {s.environment} floor of {floor} days and 36500.",
                      _set_fix("backupRetentionDays", str(floor)))
    if s.backup_copy_region:
        if s.backup_copy_region == s.region:
            yield Problem("caseshield:backupCopyRegion", s.backup_copy_region,
                          "is the stack's own region; a copy there does not survive a regional outage.",
                          "choose another allowed region, or \"\" for no copy.")
        elif s.backup_copy_region not in s.allowed_regions:
            yield Problem("caseshield:backupCopyRegion", s.backup_copy_region,
                          f"is outside the data-residency allow-list {list(s.allowed_regions)}.",
                          "choose a region from allowedRegions.")


@rule
def org_guardrail_is_deployable(s: Settings) -> Iterable[Problem]:
    """The organisation guardrail (components/org_guardrail.py) is off by default; switched on it needs where to attach
    its policies and who may, and both must be places where an SCP and an RCP actually bind this stack's account."""
    bad = [t for t in s.org_guardrail_target_ids if not ORGANIZATIONS_TARGET_RE.fullmatch(t)]
    if bad:
        yield Problem("caseshield:orgGuardrailTargetIds", bad, "are not AWS Organizations targets: a 12-digit account "
                      "id, an organizational unit (ou-xxxx-xxxxxxxx) or the root (r-xxxx).",
                      "list the stack's account or the OU that holds it under caseshield:orgGuardrailTargetIds.")
    admin = IAM_ROLE_ARN_RE.fullmatch(s.org_guardrail_admin_role_arn)
    if s.org_guardrail_admin_role_arn and (admin is None or "*" in s.org_guardrail_admin_role_arn):
        yield Problem("caseshield:orgGuardrailAdminRoleArn", s.org_guardrail_admin_role_arn,
                      "is not an IAM role ARN (arn:aws:iam::<management account>:role/<name>, no wildcards).",
                      _set_fix("orgGuardrailAdminRoleArn", "arn:aws:iam::<management-account>:role/<policy-admin>"))
        admin = None
    elif admin is not None and s.org_guardrail_admin_role_arn.split(":")[1] != _partition(s.region):
        yield Problem("caseshield:orgGuardrailAdminRoleArn", s.org_guardrail_admin_role_arn,
                      f"is in partition {s.org_guardrail_admin_role_arn.split(':')[1]}, but {s.region} is in "
                      f"{_partition(s.region)}.", "name the policy administrator's role in the stack's partition.")
        admin = None
    if not s.org_guardrail_enabled:
        return
    if not s.org_guardrail_target_ids:
        yield Problem("caseshield:orgGuardrailTargetIds", [], "is required when orgGuardrailEnabled is true: without a "
                      "target the guardrail's policies would be created and attached to nothing.",
                      "`pulumi config set --path 'orgGuardrailTargetIds[0]' <the stack's account id or its OU id>`, "
                      "or set orgGuardrailEnabled to false.")
    if not s.org_guardrail_admin_role_arn:
        yield Problem("caseshield:orgGuardrailAdminRoleArn", "", "is required when orgGuardrailEnabled is true: "
                      "Organizations policies are managed from the management account (or a delegated policy "
                      "administrator), never with the stack's own credentials.",
                      _set_fix("orgGuardrailAdminRoleArn", "arn:aws:iam::<management-account>:role/<policy-admin>")
                      + " Or set orgGuardrailEnabled to false.")
    if not s.allowed_account_ids:
        yield Problem("caseshield:orgGuardrailEnabled", True, "needs the stack's account declared: the guardrail names "
                      "that account's roles and resources, and nothing else shows its targets cover that account.",
                      "declare the account: `pulumi config set --path 'aws:allowedAccountIds[0]' <account-id>`.")
        return
    account = s.allowed_account_ids[0]
    if admin is not None and admin["account"] == account:
        yield Problem("caseshield:orgGuardrailAdminRoleArn", s.org_guardrail_admin_role_arn,
                      f"is in the stack's own account {account}: a workload account that administers its own "
                      "guardrail can detach it, and in the management account SCPs and RCPs bind nothing.",
                      "name the role in the management account (or the delegated policy administrator account) "
                      "that the management-account team gives you.")
    if admin is not None and admin["account"] in s.org_guardrail_target_ids:
        yield Problem("caseshield:orgGuardrailTargetIds", list(s.org_guardrail_target_ids),
                      f"lists {admin['account']}, the policy administrator's account: SCPs and RCPs never bind the "
                      "management account, so that attachment would protect nothing.",
                      "list the stack's account, or the OU that holds it, instead.")
    targets = [t for t in s.org_guardrail_target_ids if t not in bad]
    if targets and all(ACCOUNT_ID_RE.fullmatch(t) for t in targets) and account not in targets:
        yield Problem("caseshield:orgGuardrailTargetIds", list(s.org_guardrail_target_ids),
                      f"names only other accounts, not the stack's account {account}: the guardrail would not bind "
                      "this stack's principals or resources.",
                      f"add {account} (or the OU that holds it) under caseshield:orgGuardrailTargetIds.")


# ---------------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------------

def _account_ids(raw: Any) -> tuple[tuple[str, ...], list[Problem]]:
    """aws:allowedAccountIds as the engine passes it (a JSON list of strings), or absent."""
    if raw is None or raw == "":
        return (), []
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        items = None
    if (not isinstance(items, list) or len(items) != 1
            or not all(isinstance(i, str) and ACCOUNT_ID_RE.fullmatch(i) for i in items)):
        return (), [Problem("aws:allowedAccountIds", raw, "must list the one 12-digit AWS account this stack deploys "
                            "into, as a quoted string.",
                            "`pulumi config set --path 'aws:allowedAccountIds[0]' 111122223333`.")]
    return tuple(items), []


def load_settings(config: Mapping[str, Any], stack: str, file: str | None = None) -> Settings:
    """Build validated settings from the engine's flat config map ("namespace:key" -> raw value).

    Raises `SettingsError` listing every problem at once, so one preview shows all that needs fixing.
    """
    raw, problems = _raw_config(config)
    problems[:0] = stack_name_problems(stack)
    values: dict[str, Any] = {}
    for key, f in config_fields().items():
        if key not in raw:
            problems.append(Problem(f"{NAMESPACE}:{key}", None, "is required and has no default.",
                                    _set_fix(key, "<value>")))
            continue
        value, problem = _parse(key, raw[key], str(f.type))
        if problem:
            problems.append(problem)
        else:
            values[f.name] = value
    accounts, account_problems = _account_ids(config.get("aws:allowedAccountIds"))
    problems.extend(account_problems)
    if problems:
        raise SettingsError(stack, problems, file)
    region = config.get("aws:region", "")
    settings = Settings(stack=stack, region=str(region), allowed_account_ids=accounts, **values)
    for check in RULES:
        problems.extend(check(settings))
    if problems:
        raise SettingsError(stack, problems, file)
    return settings


def from_stack_file(stack: str, project: Any = None) -> Settings:
    """Settings of `stack` read from its file (strictly, against the stack schema), with project defaults merged.

    Raises `StackFileError` for a malformed file and `SettingsError` for invalid values, both naming the file."""
    from caseshield.project import load_project
    from caseshield.strict_yaml import display_path

    project = project or load_project()
    return load_settings(project.stack_config(stack), stack, display_path(project.stack_file(stack)))


def from_pulumi() -> Settings:
    """Settings of the running Pulumi program (real engine or offline mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    stack = pulumi.get_stack()
    return load_settings(config, stack, f"stacks/Pulumi.{stack}.yaml")  # Pulumi.yaml: stackConfigDir: stacks
