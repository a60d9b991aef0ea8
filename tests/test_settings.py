"""Settings validation: every bad input fails the whole program with a clear error and registers nothing.

Each end-to-end case below runs the real program (`caseshield.program.main`) offline through
`caseshield.offline.evaluate` with one stack's config plus a few overrides. A `SettingsError` must name the key,
show the bad value and give a fix, and the monitor the evaluation used must have seen no registration besides the
Pulumi stack itself. The monitor is observed by swapping `caseshield.offline.RecordingMonitor` for a subclass that
remembers itself. A few variants of inputs already run end to end are checked on `load_settings` alone
(SETTINGS_LEVEL_ONLY), with the same assertions on the error, to keep the file fast.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import FrozenInstanceError, dataclass
from typing import Any, ClassVar

import pulumi
import pytest

from caseshield import offline
from caseshield import settings as settings_module
from caseshield.offline import RecordingMonitor, evaluate
from caseshield.project import load_project
from caseshield.settings import (
    CLOUDWATCH_RETENTION_DAYS,
    RULES,
    Problem,
    Settings,
    SettingsError,
    config_fields,
    load_settings,
)

SHIPPED_STACKS = ("dev", "staging", "prod")
STACK_TYPE = "pulumi:pulumi:Stack"
# Floors per setting as the issue and Pulumi.yaml state them: (dev/staging, prod). Written out here rather than
# read from policies/floors.yaml (settings.FLOOR_PATHS) so that lowering a floor there fails these tests.
EXPECTED_FLOORS = {
    "auditLogRetentionDays": (90, 365),
    "operationalLogRetentionDays": (30, 90),
    "auditArchiveRetentionDays": (365, 2555),
    "documentVersionRetentionDays": (30, 365),
    "databaseBackupRetentionDays": (7, 30),
    "backupRetentionDays": (35, 365),
}
# Problems raised before any rule runs: type errors, unknown keys, required keys without a value.
PHASES = ("parse", "unknown-key", "required")


# ---------------------------------------------------------------------------------------------------------------
# Observing registrations
# ---------------------------------------------------------------------------------------------------------------

class CapturingMonitor(RecordingMonitor):
    """The offline monitor, plus a list of every registration request's type (the stack included)."""

    created: ClassVar[list[CapturingMonitor]] = []

    def __init__(self, *args: Any, **kwargs: Any):  # whatever RecordingMonitor takes (mocks, transforms, ...)
        super().__init__(*args, **kwargs)
        self.registered_types: list[str] = []
        CapturingMonitor.created.append(self)

    def RegisterResource(self, request: Any) -> Any:
        self.registered_types.append(request.type)
        return super().RegisterResource(request)


@pytest.fixture
def monitors(monkeypatch: pytest.MonkeyPatch) -> list[CapturingMonitor]:
    """Every monitor `evaluate` builds during the test, in creation order."""
    created: list[CapturingMonitor] = []
    monkeypatch.setattr(CapturingMonitor, "created", created)
    monkeypatch.setattr(offline, "RecordingMonitor", CapturingMonitor)
    return created


def assert_nothing_registered(monitors: list[CapturingMonitor]) -> None:
    assert len(monitors) == 1, f"expected one evaluation, saw {len(monitors)} monitors"
    monitor = monitors[0]
    assert monitor.recorded == {}, f"resources registered despite invalid settings: {sorted(monitor.recorded)}"
    others = [t for t in monitor.registered_types if t != STACK_TYPE]
    assert others == [], f"registrations besides the stack: {others}"


# ---------------------------------------------------------------------------------------------------------------
# Config helpers
# ---------------------------------------------------------------------------------------------------------------

def config_for(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """The flat engine config `evaluate(stack, overrides=...)` hands the program (same override rules)."""
    project = load_project()
    flat = project.stack_config(stack)
    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        if value is None:
            flat.pop(full_key, None)
        elif isinstance(value, bool):
            flat[full_key] = "true" if value else "false"
        elif isinstance(value, str):
            flat[full_key] = value
        else:
            flat[full_key] = json.dumps(value)
    return flat


def layout(base: str, zones: int) -> dict[str, list[str]]:
    """A valid, non-overlapping three-tier subnet layout for `zones` zones inside the /16 `base`.0.0."""
    return {
        "publicSubnetCidrs": [f"{base}.{i}.0/24" for i in range(zones)],
        "appSubnetCidrs": [f"{base}.{16 * (i + 1)}.0/20" for i in range(zones)],
        "dataSubnetCidrs": [f"{base}.{128 + 4 * i}.0/22" for i in range(zones)],
    }


# ---------------------------------------------------------------------------------------------------------------
# The table of bad inputs
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    stack: str
    overrides: dict[str, Any]
    key: str           # Problem.key the case must produce
    value: Any         # Problem.value: the bad value, as the error shows it
    fragment: str      # part of Problem.message
    fix: str           # part of Problem.fix
    rule: str          # the rule function that finds it, or one of PHASES
    count: int = 1     # problems the whole config has (1: this input alone is wrong)


def bad(case_id: str, stack: str, overrides: dict[str, Any], key: str, value: Any, fragment: str, fix: str,
        rule: str, count: int = 1) -> Any:
    return pytest.param(Case(stack, overrides, key, value, fragment, fix, rule, count), id=case_id)


ACM_ID = "12345678-1234-1234-1234-123456789012"
CASES = [
    # environment, owner
    bad("environment-unknown-tier", "dev", {"environment": "production"}, "caseshield:environment", "production",
        "must be one of dev, staging, prod", "config set environment prod", "environment_is_a_known_tier"),
    bad("owner-too-short", "dev", {"owner": "x"}, "caseshield:owner", "x",
        "must name the accountable team", "config set owner platform-team", "owner_is_named"),
    bad("owner-bad-characters", "staging", {"owner": "platform/eng;drop"}, "caseshield:owner", "platform/eng;drop",
        "must name the accountable team", "config set owner platform-team", "owner_is_named"),
    # data residency
    bad("region-outside-allow-list", "prod", {"aws:region": "ap-southeast-2"}, "aws:region", "ap-southeast-2",
        "outside the data-residency allow-list", "choose an allowed region", "region_is_allowed"),
    bad("region-not-set", "dev", {"aws:region": None}, "aws:region", "",
        "is not set", "config set aws:region us-east-1", "region_is_allowed"),
    bad("allowed-regions-not-regions", "dev", {"allowedRegions": ["us-east-1", "mars-north-1"]},
        "caseshield:allowedRegions", ["us-east-1", "mars-north-1"], "not regions: ['mars-north-1']",
        "list regions such as us-east-1", "region_is_allowed"),
    # empty allow-list: the list itself and, consequently, the stack's region are both reported
    bad("allowed-regions-empty", "dev", {"allowedRegions": []}, "caseshield:allowedRegions", [],
        "must be a non-empty list of AWS region names", "list regions such as us-east-1", "region_is_allowed", 2),
    # VPC CIDR: syntax and size
    bad("vpc-cidr-bad-prefix", "dev", {"vpcCidr": "10.10.0.0/33"}, "caseshield:vpcCidr", "10.10.0.0/33",
        "is not an IPv4 CIDR", "config set vpcCidr 10.40.0.0/16", "vpc_cidr_is_private_and_sized"),
    bad("vpc-cidr-host-bits", "dev", {"vpcCidr": "10.10.0.1/16"}, "caseshield:vpcCidr", "10.10.0.1/16",
        "host bits zero", "config set vpcCidr 10.40.0.0/16", "vpc_cidr_is_private_and_sized"),
    bad("vpc-cidr-not-an-address", "dev", {"vpcCidr": "ten.ten.0.0/16"}, "caseshield:vpcCidr", "ten.ten.0.0/16",
        "is not an IPv4 CIDR", "config set vpcCidr 10.40.0.0/16", "vpc_cidr_is_private_and_sized"),
    bad("vpc-cidr-public-range", "dev", {"vpcCidr": "52.10.0.0/16", **layout("52.10", 2)}, "caseshield:vpcCidr",
        "52.10.0.0/16", "must be a private (RFC 1918) range", "config set vpcCidr 10.40.0.0/16",
        "vpc_cidr_is_private_and_sized"),
    bad("vpc-cidr-loopback", "dev", {"vpcCidr": "127.10.0.0/16", **layout("127.10", 2)}, "caseshield:vpcCidr",
        "127.10.0.0/16", "must be a private (RFC 1918) range", "config set vpcCidr 10.40.0.0/16",
        "vpc_cidr_is_private_and_sized"),
    bad("vpc-cidr-too-large", "dev", {"vpcCidr": "10.0.0.0/8"}, "caseshield:vpcCidr", "10.0.0.0/8",
        "must be between /16 and /22", "config set vpcCidr 10.40.0.0/16", "vpc_cidr_is_private_and_sized"),
    bad("vpc-cidr-too-small", "dev", {
        "vpcCidr": "10.10.0.0/23",
        "publicSubnetCidrs": ["10.10.0.0/28", "10.10.0.16/28"],
        "appSubnetCidrs": ["10.10.0.32/28", "10.10.0.48/28"],
        "dataSubnetCidrs": ["10.10.0.64/28", "10.10.0.80/28"],
    }, "caseshield:vpcCidr", "10.10.0.0/23", "must be between /16 and /22", "config set vpcCidr 10.40.0.0/16",
        "vpc_cidr_is_private_and_sized"),
    # availability zones (each with a matching layout, so only the zone count is wrong)
    bad("az-count-one", "dev", {"availabilityZoneCount": 1, **layout("10.10", 1)},
        "caseshield:availabilityZoneCount", 1, "must be 2 or 3", "config set availabilityZoneCount 3",
        "availability_zone_count_is_two_or_three"),
    bad("az-count-four", "prod", {"availabilityZoneCount": 4, **layout("10.30", 4)},
        "caseshield:availabilityZoneCount", 4, "must be 2 or 3", "config set availabilityZoneCount 3",
        "availability_zone_count_is_two_or_three"),
    # subnet layout
    bad("subnets-count-differs-from-zones", "dev", {"publicSubnetCidrs": ["10.10.0.0/24"]},
        "caseshield:publicSubnetCidrs", ["10.10.0.0/24"], "exactly one CIDR per availability zone (2)",
        "give 2 CIDRs under caseshield:publicSubnetCidrs", "subnets_fit_the_vpc_without_overlap"),
    bad("subnet-syntax", "dev", {"appSubnetCidrs": ["10.10.16.0/20", "10.10.32.0/40"]},
        "caseshield:appSubnetCidrs", "10.10.32.0/40", "is not an IPv4 CIDR",
        "use a CIDR such as 10.40.0.0/24 under caseshield:appSubnetCidrs", "subnets_fit_the_vpc_without_overlap"),
    bad("subnet-too-small", "dev", {"dataSubnetCidrs": ["10.10.64.0/22", "10.10.68.0/29"]},
        "caseshield:dataSubnetCidrs", "10.10.68.0/29", "must be between /16 and /28",
        "resize it under caseshield:dataSubnetCidrs", "subnets_fit_the_vpc_without_overlap"),
    bad("subnet-outside-vpc", "dev", {"dataSubnetCidrs": ["10.10.64.0/22", "10.99.68.0/22"]},
        "caseshield:dataSubnetCidrs", "10.99.68.0/22", "lies outside the VPC 10.10.0.0/16",
        "pick a CIDR inside vpcCidr", "subnets_fit_the_vpc_without_overlap"),
    bad("subnet-overlap-across-tiers", "dev", {"dataSubnetCidrs": ["10.10.64.0/22", "10.10.16.0/22"]},
        "caseshield:dataSubnetCidrs", "10.10.16.0/22", "overlaps 10.10.16.0/20 from appSubnetCidrs",
        "non-overlapping range", "subnets_fit_the_vpc_without_overlap"),
    bad("subnet-overlap-within-tier", "staging",
        {"publicSubnetCidrs": ["10.20.0.0/24", "10.20.1.0/24", "10.20.1.0/24"]},
        "caseshield:publicSubnetCidrs", "10.20.1.0/24", "overlaps 10.20.1.0/24 from publicSubnetCidrs",
        "non-overlapping range", "subnets_fit_the_vpc_without_overlap"),
    # CloudWatch log retention: accepted values and floors (fix suggests the nearest value at or above the floor)
    bad("audit-log-retention-not-cloudwatch-value", "dev", {"auditLogRetentionDays": 100},
        "caseshield:auditLogRetentionDays", 100, "is not a retention CloudWatch Logs accepts",
        "config set auditLogRetentionDays 90", "log_retention_meets_floor"),
    bad("audit-log-retention-not-cloudwatch-value-prod", "prod", {"auditLogRetentionDays": 500},
        "caseshield:auditLogRetentionDays", 500, "is not a retention CloudWatch Logs accepts",
        "config set auditLogRetentionDays 545", "log_retention_meets_floor"),
    bad("operational-log-retention-not-cloudwatch-value", "staging", {"operationalLogRetentionDays": 45},
        "caseshield:operationalLogRetentionDays", 45, "is not a retention CloudWatch Logs accepts",
        "config set operationalLogRetentionDays 30", "log_retention_meets_floor"),
    bad("audit-log-retention-below-dev-floor", "dev", {"auditLogRetentionDays": 30},
        "caseshield:auditLogRetentionDays", 30, "is below the dev floor of 90 days",
        "config set auditLogRetentionDays 90", "log_retention_meets_floor"),
    bad("audit-log-retention-below-prod-floor", "prod", {"auditLogRetentionDays": 180},
        "caseshield:auditLogRetentionDays", 180, "is below the prod floor of 365 days",
        "config set auditLogRetentionDays 365", "log_retention_meets_floor"),
    bad("operational-log-retention-below-staging-floor", "staging", {"operationalLogRetentionDays": 14},
        "caseshield:operationalLogRetentionDays", 14, "is below the staging floor of 30 days",
        "config set operationalLogRetentionDays 30", "log_retention_meets_floor"),
    bad("operational-log-retention-below-prod-floor", "prod", {"operationalLogRetentionDays": 60},
        "caseshield:operationalLogRetentionDays", 60, "is below the prod floor of 90 days",
        "config set operationalLogRetentionDays 90", "log_retention_meets_floor"),
    # audit archive (object lock) and document versions
    bad("audit-archive-below-dev-floor", "dev", {"auditArchiveRetentionDays": 180},
        "caseshield:auditArchiveRetentionDays", 180, "is below the dev floor of 365 days",
        "config set auditArchiveRetentionDays 365", "archive_and_version_retention_meet_floor"),
    bad("audit-archive-below-prod-floor", "prod", {"auditArchiveRetentionDays": 1825},
        "caseshield:auditArchiveRetentionDays", 1825, "is below the prod floor of 2555 days",
        "config set auditArchiveRetentionDays 2555", "archive_and_version_retention_meet_floor"),
    bad("audit-archive-over-100-years", "dev", {"auditArchiveRetentionDays": 40000},
        "caseshield:auditArchiveRetentionDays", 40000, "exceeds 100 years",
        "config set auditArchiveRetentionDays 365", "archive_and_version_retention_meet_floor"),
    bad("document-versions-below-prod-floor", "prod", {"documentVersionRetentionDays": 90},
        "caseshield:documentVersionRetentionDays", 90, "is below the prod floor of 365 days",
        "config set documentVersionRetentionDays 365", "archive_and_version_retention_meet_floor"),
    bad("document-versions-over-100-years", "staging", {"documentVersionRetentionDays": 36501},
        "caseshield:documentVersionRetentionDays", 36501, "exceeds 100 years",
        "config set documentVersionRetentionDays 30", "archive_and_version_retention_meet_floor"),
    # RDS automated backups
    bad("db-backup-over-rds-maximum", "prod", {"databaseBackupRetentionDays": 36},
        "caseshield:databaseBackupRetentionDays", 36, "exceeds the RDS maximum of 35 days",
        "config set databaseBackupRetentionDays 35", "database_backup_retention_is_valid"),
    bad("db-backup-below-dev-floor", "dev", {"databaseBackupRetentionDays": 1},
        "caseshield:databaseBackupRetentionDays", 1, "is below the dev floor of 7 days",
        "config set databaseBackupRetentionDays 7", "database_backup_retention_is_valid"),
    bad("db-backup-below-prod-floor", "prod", {"databaseBackupRetentionDays": 14},
        "caseshield:databaseBackupRetentionDays", 14, "is below the prod floor of 30 days",
        "config set databaseBackupRetentionDays 30", "database_backup_retention_is_valid"),
    # object lock
    bad("object-lock-mode-unknown", "dev", {"objectLockMode": "compliance"}, "caseshield:objectLockMode",
        "compliance", "must be GOVERNANCE or COMPLIANCE", "config set objectLockMode COMPLIANCE",
        "object_lock_mode_is_valid"),
    bad("object-lock-governance-in-prod", "prod", {"objectLockMode": "GOVERNANCE"}, "caseshield:objectLockMode",
        "GOVERNANCE", "must be COMPLIANCE in prod", "config set objectLockMode COMPLIANCE",
        "object_lock_mode_is_valid"),
    # prod resilience switches
    bad("prod-database-single-az", "prod", {"databaseMultiAz": False}, "caseshield:databaseMultiAz", False,
        "must be true in prod", "config set databaseMultiAz true", "prod_keeps_resilience_switches_on"),
    bad("prod-without-deletion-protection", "prod", {"deletionProtection": False}, "caseshield:deletionProtection",
        False, "must be true in prod", "config set deletionProtection true", "prod_keeps_resilience_switches_on"),
    # instance classes and storage
    bad("db-class-syntax", "dev", {"databaseInstanceClass": "r6g.large"}, "caseshield:databaseInstanceClass",
        "r6g.large", "is not an RDS instance class", "config set databaseInstanceClass db.r6g.large",
        "instance_classes_are_valid"),
    bad("db-class-retired-family", "staging", {"databaseInstanceClass": "db.m4.large"},
        "caseshield:databaseInstanceClass", "db.m4.large", "uses the retired family m4",
        "config set databaseInstanceClass db.r6g.large", "instance_classes_are_valid"),
    bad("db-class-burstable-in-prod", "prod", {"databaseInstanceClass": "db.t4g.large"},
        "caseshield:databaseInstanceClass", "db.t4g.large", "is burstable",
        "config set databaseInstanceClass db.r6g.large", "instance_classes_are_valid"),
    bad("db-storage-too-small", "dev", {"databaseAllocatedStorageGb": 10}, "caseshield:databaseAllocatedStorageGb",
        10, "must be between 20 and 65536 GiB", "config set databaseAllocatedStorageGb 100",
        "instance_classes_are_valid"),
    bad("db-storage-too-large", "prod", {"databaseAllocatedStorageGb": 70000},
        "caseshield:databaseAllocatedStorageGb", 70000, "must be between 20 and 65536 GiB",
        "config set databaseAllocatedStorageGb 100", "instance_classes_are_valid"),
    bad("app-instance-type-syntax", "dev", {"appInstanceType": "m6i"}, "caseshield:appInstanceType", "m6i",
        "is not an EC2 instance type", "config set appInstanceType m6i.large", "instance_classes_are_valid"),
    bad("app-instance-type-is-rds-class", "staging", {"appInstanceType": "db.large"}, "caseshield:appInstanceType",
        "db.large", "is not an EC2 instance type", "config set appInstanceType m6i.large",
        "instance_classes_are_valid"),
    # alert e-mails
    bad("alert-emails-empty", "dev", {"alertEmails": []}, "caseshield:alertEmails", [],
        "needs at least one address", "security on-call address", "alert_emails_are_valid"),
    bad("alert-email-syntax", "prod", {"alertEmails": ["security-oncall@lawfirm", "it-operations@lawfirm.example"]},
        "caseshield:alertEmails", "security-oncall@lawfirm", "is not an e-mail address",
        "e.g. security-oncall@lawfirm.example", "alert_emails_are_valid"),
    bad("alert-emails-one-person-in-prod", "prod", {"alertEmails": ["security-oncall@lawfirm.example"]},
        "caseshield:alertEmails", ["security-oncall@lawfirm.example"], "fewer than the 2 a prod incident must reach",
        "add a second address", "alert_emails_are_valid"),
    bad("alert-email-duplicate", "staging", {"alertEmails": ["ops@lawfirm.example", "ops@lawfirm.example"]},
        "caseshield:alertEmails", ["ops@lawfirm.example", "ops@lawfirm.example"], "lists an address twice",
        "remove the duplicate", "alert_emails_are_valid"),
    # CI trust
    bad("ci-oidc-url-not-https", "dev", {"ciOidcProviderUrl": "http://token.actions.githubusercontent.com"},
        "caseshield:ciOidcProviderUrl", "http://token.actions.githubusercontent.com", "must be an https:// issuer URL",
        "config set ciOidcProviderUrl https://token.actions.githubusercontent.com", "ci_trust_is_narrow"),
    bad("ci-oidc-subject-wildcard", "prod", {"ciOidcSubject": "repo:lawfirm/caseshield:*"},
        "caseshield:ciOidcSubject", "repo:lawfirm/caseshield:*", "wildcards let any branch deploy",
        "config set ciOidcSubject repo:lawfirm/caseshield:ref:refs/heads/main", "ci_trust_is_narrow"),
    bad("ci-oidc-subject-not-a-repo-subject", "dev", {"ciOidcSubject": "lawfirm/caseshield"},
        "caseshield:ciOidcSubject", "lawfirm/caseshield", "must be one exact subject",
        "config set ciOidcSubject repo:lawfirm/caseshield:ref:refs/heads/main", "ci_trust_is_narrow"),
    bad("ci-audit-subject-wildcard", "dev", {"ciAuditOidcSubject": "repo:lawfirm/caseshield:environment:*"},
        "caseshield:ciAuditOidcSubject", "repo:lawfirm/caseshield:environment:*", "wildcards let any branch audit",
        "config set ciAuditOidcSubject repo:lawfirm/caseshield:ref:refs/heads/main", "ci_trust_is_narrow"),
    bad("ci-audit-subject-is-the-deploy-subject", "staging", {"ciAuditOidcSubject": "repo:lawfirm/caseshield:environment:staging"},
        "caseshield:ciAuditOidcSubject", "repo:lawfirm/caseshield:environment:staging", "is the deploy subject",
        "config set ciAuditOidcSubject repo:lawfirm/caseshield:environment:audit-staging", "ci_trust_is_narrow"),
    bad("ci-audit-prod-subject-is-a-branch", "prod", {"ciAuditOidcSubject": "repo:lawfirm/caseshield:ref:refs/heads/main"},
        "caseshield:ciAuditOidcSubject", "repo:lawfirm/caseshield:ref:refs/heads/main",
        "must name a protected GitHub environment in prod", "config set ciAuditOidcSubject repo:lawfirm/caseshield:environment:audit-prod",
        "ci_trust_is_narrow"),
    # KMS key administrators
    bad("key-admin-wildcard-arn", "dev", {"keyAdministratorArns": ["arn:aws:iam::123456789012:role/*"]},
        "caseshield:keyAdministratorArns", "arn:aws:iam::123456789012:role/*", "is not an IAM role or user ARN",
        "list exact role ARNs", "key_administrators_are_iam_principals"),
    bad("key-admin-session-arn", "prod",
        {"keyAdministratorArns": ["arn:aws:sts::123456789012:assumed-role/admin/alice"]},
        "caseshield:keyAdministratorArns", "arn:aws:sts::123456789012:assumed-role/admin/alice",
        "is not an IAM role or user ARN", "list exact role ARNs", "key_administrators_are_iam_principals"),
    # vendor access
    bad("vendor-session-zero-hours", "dev", {"vendorSessionHours": 0}, "caseshield:vendorSessionHours", 0,
        "must be between 1 and 4 hours", "config set vendorSessionHours 1", "vendor_sessions_are_short"),
    bad("vendor-session-twelve-hours", "prod", {"vendorSessionHours": 12}, "caseshield:vendorSessionHours", 12,
        "must be between 1 and 4 hours", "config set vendorSessionHours 1", "vendor_sessions_are_short"),
    # domain and certificate
    bad("domain-not-fqdn", "dev", {"domainName": "localhost"}, "caseshield:domainName", "localhost",
        "is not a fully qualified domain name", "config set domainName cases.lawfirm.example",
        "domain_and_certificate_are_valid"),
    bad("certificate-arn-syntax", "dev", {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
        "caseshield:certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        "is not an ACM certificate ARN", 'or "" to request one', "domain_and_certificate_are_valid"),
    bad("certificate-in-other-region", "prod",
        {"certificateArn": f"arn:aws:acm:eu-west-1:123456789012:certificate/{ACM_ID}"},
        "caseshield:certificateArn", f"arn:aws:acm:eu-west-1:123456789012:certificate/{ACM_ID}",
        "is in another region; the load balancer needs a certificate in us-east-1",
        "import the certificate into the stack's region", "domain_and_certificate_are_valid"),
    # WAF
    bad("waf-country-not-alpha-2", "prod", {"wafCountryAllowList": ["US", "gb", "USA"]},
        "caseshield:wafCountryAllowList", ["gb", "USA"], "are not ISO 3166 alpha-2 codes",
        "codes such as US or GB", "waf_settings_are_valid"),
    bad("waf-rate-limit-too-low", "dev", {"wafRateLimit": 50}, "caseshield:wafRateLimit", 50,
        "must be between 100 and 20000000", "config set wafRateLimit 1000", "waf_settings_are_valid"),
    # application tier
    bad("app-port-privileged", "dev", {"appPort": 443}, "caseshield:appPort", 443,
        "must be an unprivileged port", "config set appPort 8443", "app_tier_is_sized_sanely"),
    bad("app-min-instances-zero", "dev", {"appMinInstances": 0}, "caseshield:appMinInstances", 0,
        "must be at least 1", "config set appMinInstances 2", "app_tier_is_sized_sanely"),
    bad("app-min-instances-one-in-prod", "prod", {"appMinInstances": 1}, "caseshield:appMinInstances", 1,
        "must be at least 2 in prod", "config set appMinInstances 2", "app_tier_is_sized_sanely"),
    bad("app-max-below-min", "staging", {"appMaxInstances": 1}, "caseshield:appMaxInstances", 1,
        "must be between appMinInstances (2) and 100", "config set appMaxInstances 6", "app_tier_is_sized_sanely"),
    bad("app-min-over-100", "prod", {"appMinInstances": 150, "appMaxInstances": 150}, "caseshield:appMinInstances", 150,
        "must be at most 100", "config set appMinInstances 2", "app_tier_is_sized_sanely"),
    bad("app-max-over-100", "prod", {"appMaxInstances": 101}, "caseshield:appMaxInstances", 101,
        "must be between appMinInstances (3) and 100", "config set appMaxInstances 6", "app_tier_is_sized_sanely"),
    # patching
    bad("patch-delay-over-dev-ceiling", "dev", {"patchApprovalDelayDays": 15}, "caseshield:patchApprovalDelayDays",
        15, "must be between 0 and 14 days in dev", "config set patchApprovalDelayDays 7", "patching_is_timely"),
    bad("patch-delay-over-prod-ceiling", "prod", {"patchApprovalDelayDays": 10}, "caseshield:patchApprovalDelayDays",
        10, "must be between 0 and 7 days in prod", "config set patchApprovalDelayDays 7", "patching_is_timely"),
    bad("patch-delay-negative", "staging", {"patchApprovalDelayDays": -1}, "caseshield:patchApprovalDelayDays",
        -1, "must be between 0 and 14 days in staging", "config set patchApprovalDelayDays 7", "patching_is_timely"),
    bad("patch-schedule-plain-cron", "dev", {"patchInstallSchedule": "0 3 * * SUN"},
        "caseshield:patchInstallSchedule", "0 3 * * SUN", "is not an SSM cron(...) or rate(...) expression",
        "config set patchInstallSchedule 'cron(0 3 ? * SUN *)'", "patching_is_timely"),
    bad("maintenance-window-syntax", "prod", {"databaseMaintenanceWindow": "sunday:04:00-sunday:05:00"},
        "caseshield:databaseMaintenanceWindow", "sunday:04:00-sunday:05:00", "is not an RDS window",
        "config set databaseMaintenanceWindow sun:04:00-sun:05:00", "patching_is_timely"),
    bad("maintenance-window-too-short", "prod", {"databaseMaintenanceWindow": "sun:04:00-sun:04:10"},
        "caseshield:databaseMaintenanceWindow", "sun:04:00-sun:04:10", "must last between 30 minutes and 24 hours",
        "config set databaseMaintenanceWindow sun:04:00-sun:05:00", "patching_is_timely"),
    # AWS Backup
    bad("backup-retention-below-dev-floor", "dev", {"backupRetentionDays": 7}, "caseshield:backupRetentionDays", 7,
        "must be between the dev floor of 35 days and 36500", "config set backupRetentionDays 35",
        "backup_plan_is_valid"),
    bad("backup-retention-below-prod-floor", "prod", {"backupRetentionDays": 90}, "caseshield:backupRetentionDays",
        90, "must be between the prod floor of 365 days and 36500", "config set backupRetentionDays 365",
        "backup_plan_is_valid"),
    bad("backup-retention-over-maximum", "staging", {"backupRetentionDays": 40000}, "caseshield:backupRetentionDays",
        40000, "must be between the staging floor of 35 days and 36500", "config set backupRetentionDays 35",
        "backup_plan_is_valid"),
    bad("backup-copy-to-own-region", "prod", {"backupCopyRegion": "us-east-1"}, "caseshield:backupCopyRegion",
        "us-east-1", "is the stack's own region", "choose another allowed region", "backup_plan_is_valid"),
    bad("backup-copy-outside-allow-list", "prod", {"backupCopyRegion": "ap-southeast-2"},
        "caseshield:backupCopyRegion", "ap-southeast-2", "is outside the data-residency allow-list",
        "choose a region from allowedRegions", "backup_plan_is_valid"),
    # types (raw engine strings that do not parse)
    bad("type-integer-abc", "dev", {"auditLogRetentionDays": "abc"}, "caseshield:auditLogRetentionDays", "abc",
        "must be a whole number", "config set auditLogRetentionDays <value>", "parse"),
    bad("type-integer-decimal", "prod", {"appPort": "8443.5"}, "caseshield:appPort", "8443.5",
        "must be a whole number", "config set appPort <value>", "parse"),
    bad("type-boolean-maybe", "prod", {"databaseMultiAz": "maybe"}, "caseshield:databaseMultiAz", "maybe",
        "must be true or false", "config set databaseMultiAz <value>", "parse"),
    bad("type-array-not-a-list", "dev", {"alertEmails": "platform-alerts@lawfirm.example"},
        "caseshield:alertEmails", "platform-alerts@lawfirm.example", "must be a list of strings",
        "config set alertEmails <value>", "parse"),
    bad("type-array-json-object", "staging", {"publicSubnetCidrs": '{"a": "10.20.0.0/24"}'},
        "caseshield:publicSubnetCidrs", '{"a": "10.20.0.0/24"}', "must be a list of strings",
        "config set publicSubnetCidrs <value>", "parse"),
    bad("type-array-of-numbers", "dev", {"wafCountryAllowList": [1, 2]}, "caseshield:wafCountryAllowList",
        "[1, 2]", "must be a list of strings", "config set wafCountryAllowList <value>", "parse"),
    # issue 15: regions that do not exist or lie outside the firm's residency list, trust inputs, coerced values
    bad("allowed-regions-fake-region", "dev", {"allowedRegions": ["us-east-1", "us-north-9"]},
        "caseshield:allowedRegions", ["us-east-1", "us-north-9"], "not regions: ['us-north-9']",
        "list regions such as us-east-1", "region_is_allowed"),
    bad("allowed-regions-wider-than-residency", "staging", {"allowedRegions": ["us-east-2", "ap-south-1"]},
        "caseshield:allowedRegions", ["us-east-2", "ap-south-1"], "wider than the firm's data-residency list",
        "policies/data-residency.yaml", "region_is_allowed"),
    bad("ci-oidc-provider-undeclared", "prod", {"ciOidcProviderUrl": "https://ci.attacker.example"},
        "caseshield:ciOidcProviderUrl", "https://ci.attacker.example", "is not a CI identity provider the firm declares",
        "config set ciOidcProviderUrl https://token.actions.githubusercontent.com", "ci_trust_is_narrow"),
    bad("ci-oidc-subject-pull-request", "dev", {"ciOidcSubject": "repo:lawfirm/caseshield:pull_request"},
        "caseshield:ciOidcSubject", "repo:lawfirm/caseshield:pull_request", "trusts pull_request tokens",
        "config set ciOidcSubject repo:lawfirm/caseshield:environment:dev", "ci_trust_is_narrow"),
    bad("ci-oidc-prod-subject-is-a-branch", "prod", {"ciOidcSubject": "repo:lawfirm/caseshield:ref:refs/heads/main"},
        "caseshield:ciOidcSubject", "repo:lawfirm/caseshield:ref:refs/heads/main",
        "must name a protected GitHub environment in prod", "config set ciOidcSubject repo:lawfirm/caseshield:environment:prod",
        "ci_trust_is_narrow"),
    bad("key-admin-without-stack-account", "dev", {"keyAdministratorArns": ["arn:aws:iam::123456789012:role/deployer"]},
        "caseshield:keyAdministratorArns", "arn:aws:iam::123456789012:role/deployer", "does not declare its account",
        "aws:allowedAccountIds[0]", "key_administrators_are_iam_principals"),
    bad("key-admin-foreign-account", "prod", {"keyAdministratorArns": ["arn:aws:iam::999988887777:role/deployer"],
                                              "aws:allowedAccountIds": ["123456789012"]},
        "caseshield:keyAdministratorArns", "arn:aws:iam::999988887777:role/deployer", "not the stack's account",
        "a role of the stack's own account", "key_administrators_are_iam_principals"),
    bad("domain-trailing-newline", "dev", {"domainName": "cases.dev.lawfirm.example\n"}, "caseshield:domainName",
        "cases.dev.lawfirm.example\n", "contains a newline", "config set domainName <value>", "parse"),
    bad("type-integer-full-width-digits", "dev", {"appPort": "\uff18\uff14\uff14\uff13"}, "caseshield:appPort",
        "\uff18\uff14\uff14\uff13", "must be a whole number", "config set appPort <value>", "parse"),
    bad("type-integer-underscore", "staging", {"wafRateLimit": "1_000"}, "caseshield:wafRateLimit", "1_000",
        "must be a whole number", "config set wafRateLimit <value>", "parse"),
    bad("account-ids-not-one-account", "dev", {"aws:allowedAccountIds": ["1234"]}, "aws:allowedAccountIds",
        '["1234"]', "must list the one 12-digit AWS account", "aws:allowedAccountIds[0]", "parse"),
    # organisation guardrail: off by default; switched on it needs its targets (more in tests/test_org_guardrail.py)
    bad("org-guardrail-without-targets", "prod", {
        "orgGuardrailEnabled": True, "orgGuardrailAdminRoleArn": "arn:aws:iam::111122223333:role/org-policy-admin",
        "aws:allowedAccountIds": ["123456789012"]}, "caseshield:orgGuardrailTargetIds", [],
        "is required when orgGuardrailEnabled is true", "orgGuardrailTargetIds[0]", "org_guardrail_is_deployable"),
    # required keys and unknown keys
    bad("missing-domain-name", "dev", {"domainName": None}, "caseshield:domainName", None,
        "is required and has no default", "config set domainName <value>", "required"),
    bad("missing-ci-subject", "prod", {"ciOidcSubject": None}, "caseshield:ciOidcSubject", None,
        "is required and has no default", "config set ciOidcSubject <value>", "required"),
    bad("unknown-key-typo", "dev", {"caseshield:vpcCidrr": "10.10.0.0/16"}, "caseshield:vpcCidrr", "10.10.0.0/16",
        "is not a CaseShield setting (a typo?)", "pulumi config rm vpcCidrr", "unknown-key"),
]
CASE_VALUES: list[Case] = [p.values[0] for p in CASES]
# Variants of an input the end-to-end table already runs (other bound, other shape of the same mistake): checked
# on `load_settings` alone to keep the file fast, with the same assertions on the error.
SETTINGS_LEVEL_ONLY = {
    "owner-bad-characters", "allowed-regions-empty", "vpc-cidr-host-bits", "vpc-cidr-not-an-address",
    "vpc-cidr-too-small", "audit-log-retention-not-cloudwatch-value-prod", "operational-log-retention-below-staging-floor",
    "document-versions-over-100-years", "db-storage-too-large", "app-instance-type-is-rds-class",
    "ci-oidc-subject-not-a-repo-subject", "key-admin-session-arn", "vendor-session-twelve-hours", "app-max-over-100",
    "patch-delay-negative", "backup-retention-over-maximum", "type-integer-decimal", "type-array-json-object",
    "missing-ci-subject", "allowed-regions-fake-region", "ci-oidc-prod-subject-is-a-branch", "type-integer-underscore",
}
END_TO_END = [p for p in CASES if p.id not in SETTINGS_LEVEL_ONLY]
SETTINGS_LEVEL = [p for p in CASES if p.id in SETTINGS_LEVEL_ONLY]


def assert_clear_error(case: Case, error: SettingsError) -> None:
    """The error names the key, shows the bad value, says what is wrong and how to fix it, and nothing else."""
    assert error.stack == case.stack
    assert case.key in [p.key for p in error.problems]
    matching = [p for p in error.problems if p.key == case.key and case.fragment in p.message]
    assert len(matching) == 1, f"expected one {case.key} problem saying {case.fragment!r}, got {error.problems}"
    problem = matching[0]
    assert problem.value == case.value
    assert case.fix in problem.fix
    assert len(error.problems) == case.count, f"unrelated problems reported: {error.problems}"

    rendered = str(error)
    assert case.key in rendered
    assert repr(case.value) in rendered
    assert "Fix:" in rendered
    assert f"{case.key} = {case.value!r}: {problem.message} Fix: {problem.fix}" in rendered
    for each in error.problems:  # every reported problem, not only the expected one, reads as key, value, fix
        assert each.key.startswith(("caseshield:", "aws:")) and each.message.strip() and each.fix.strip()
        assert str(each) in rendered


@pytest.mark.parametrize("case", END_TO_END)
def test_bad_input_fails_with_a_clear_error_and_registers_nothing(case: Case, monitors: list[CapturingMonitor]) -> None:
    with pytest.raises(SettingsError) as raised:
        evaluate(case.stack, overrides=case.overrides)
    assert_nothing_registered(monitors)
    assert_clear_error(case, raised.value)


@pytest.mark.parametrize("case", SETTINGS_LEVEL)
def test_bad_input_variant_fails_validation_with_a_clear_error(case: Case) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(config_for(case.stack, case.overrides), case.stack)
    assert_clear_error(case, raised.value)


@pytest.mark.parametrize("case", [p for p in CASES if p.values[0].rule not in PHASES])
def test_each_case_is_found_by_the_rule_it_names(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `rule` column is true: that rule alone reports the problem, and every other rule together does not."""
    rule = next(fn for fn in RULES if fn.__name__ == case.rule)
    config = config_for(case.stack, case.overrides)

    def found_with(rules: list[Any]) -> bool:
        monkeypatch.setattr(settings_module, "RULES", rules)
        try:
            load_settings(config, case.stack)
        except SettingsError as error:
            return any(p.key == case.key and case.fragment in p.message for p in error.problems)
        return False

    assert found_with([rule])
    assert not found_with([fn for fn in RULES if fn is not rule])


@pytest.mark.parametrize("case", [p for p in CASES if p.values[0].rule in PHASES])
def test_type_unknown_and_missing_keys_fail_before_any_rule(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "RULES", [])
    with pytest.raises(SettingsError) as raised:
        load_settings(config_for(case.stack, case.overrides), case.stack)
    assert [(p.key, p.value) for p in raised.value.problems] == [(case.key, case.value)]


def test_the_table_covers_every_rule_with_distinct_inputs() -> None:
    assert len(CASE_VALUES) >= 40
    assert len(SETTINGS_LEVEL) == len(SETTINGS_LEVEL_ONLY), "SETTINGS_LEVEL_ONLY names a case that does not exist"
    assert len(END_TO_END) >= 40
    end_to_end_rules = {p.values[0].rule for p in END_TO_END}
    assert {fn.__name__ for fn in RULES} | set(PHASES) <= end_to_end_rules, "every rule needs an end-to-end case"
    rule_names = {fn.__name__ for fn in RULES}
    assert len(rule_names) == len(RULES) >= 20
    assert rule_names <= {c.rule for c in CASE_VALUES}, f"rules without a bad input: {rule_names - {c.rule for c in CASE_VALUES}}"
    assert {c.rule for c in CASE_VALUES} <= rule_names | set(PHASES)
    ids = [p.id for p in CASES]
    assert len(set(ids)) == len(ids)
    inputs = [(c.stack, json.dumps(c.overrides, sort_keys=True)) for c in CASE_VALUES]
    assert len(set(inputs)) == len(inputs), "two cases test the same input"
    # each required area of the issue has at least two bad inputs
    for key in ("caseshield:vpcCidr", "caseshield:availabilityZoneCount", "aws:region", "caseshield:objectLockMode",
                "caseshield:alertEmails", "caseshield:databaseInstanceClass", "caseshield:auditLogRetentionDays",
                "caseshield:auditArchiveRetentionDays", "caseshield:databaseBackupRetentionDays",
                "caseshield:backupRetentionDays"):
        assert sum(c.key == key for c in CASE_VALUES) >= 2, key


# ---------------------------------------------------------------------------------------------------------------
# The observation is real: a valid config does register resources through the same monitor
# ---------------------------------------------------------------------------------------------------------------

def test_a_valid_config_lets_a_registration_through_to_the_observed_monitor(monitors: list[CapturingMonitor]) -> None:
    """Control for `assert_nothing_registered`: the same evaluation path does see a registration made after the
    settings pass (a one-component probe, so the control stays cheap as the environment grows)."""
    loaded: list[Settings] = []

    def probe() -> None:
        loaded.append(settings_module.from_pulumi())
        pulumi.ComponentResource("caseshield:test:Probe", "probe")

    graph = evaluate("dev", program=probe)
    assert [s.stack for s in loaded] == ["dev"]
    assert [r.type for r in graph.resources] == ["caseshield:test:Probe"]
    assert len(monitors) == 1
    assert [r.type for r in monitors[0].recorded.values()] == ["caseshield:test:Probe"]
    assert monitors[0].registered_types == [STACK_TYPE, "caseshield:test:Probe"]
    with pytest.raises(AssertionError):
        assert_nothing_registered(monitors)


# ---------------------------------------------------------------------------------------------------------------
# Shipped stacks, several problems at once, dev versus prod floors
# ---------------------------------------------------------------------------------------------------------------

def test_the_shipped_stacks_are_dev_staging_and_prod() -> None:
    assert load_project().stacks() == sorted(SHIPPED_STACKS)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_shipped_stack_loads_without_problems(stack: str) -> None:
    settings = load_settings(load_project().stack_config(stack), stack)
    assert settings.stack == stack
    assert settings.environment == stack
    assert settings.is_prod == (stack == "prod")
    assert settings.region in settings.allowed_regions


def test_several_problems_are_reported_in_one_error(monitors: list[CapturingMonitor]) -> None:
    overrides = {
        "vpcCidr": "10.30.0.0/33",
        "objectLockMode": "GOVERNANCE",
        "auditLogRetentionDays": 180,
        "alertEmails": [],
        "vendorSessionHours": 8,
        "deletionProtection": False,
    }
    with pytest.raises(SettingsError) as raised:
        evaluate("prod", overrides=overrides)
    assert_nothing_registered(monitors)
    keys = [p.key for p in raised.value.problems]
    assert sorted(keys) == sorted(f"caseshield:{k}" for k in overrides)
    rendered = str(raised.value)
    assert "stack 'prod' has 6 invalid setting(s)" in rendered
    assert rendered.count("Fix:") == 6
    for problem in raised.value.problems:
        assert str(problem) in rendered


def test_several_type_and_key_problems_are_reported_in_one_error(monitors: list[CapturingMonitor]) -> None:
    overrides: dict[str, Any] = {
        "appPort": "abc",
        "databaseMultiAz": "maybe",
        "alertEmails": "not-a-list",
        "domainName": None,
        "caseshield:vpcCidrr": "10.10.0.0/16",
    }
    with pytest.raises(SettingsError) as raised:
        evaluate("dev", overrides=overrides)
    assert_nothing_registered(monitors)
    assert sorted(p.key for p in raised.value.problems) == sorted(
        ["caseshield:appPort", "caseshield:databaseMultiAz", "caseshield:alertEmails", "caseshield:domainName",
         "caseshield:vpcCidrr"])
    assert "has 5 invalid setting(s)" in str(raised.value)


# Values that dev accepts and prod refuses: prod's floors and switches are stricter.
STRICTER_IN_PROD = [
    ("auditLogRetentionDays", 180),
    ("operationalLogRetentionDays", 60),
    ("auditArchiveRetentionDays", 730),
    ("documentVersionRetentionDays", 90),
    ("databaseBackupRetentionDays", 14),
    ("backupRetentionDays", 90),
    ("objectLockMode", "GOVERNANCE"),
    ("patchApprovalDelayDays", 10),
    ("databaseInstanceClass", "db.t4g.large"),
    ("databaseMultiAz", False),
    ("deletionProtection", False),
    ("appMinInstances", 1),
]


@pytest.mark.parametrize(("key", "value"), STRICTER_IN_PROD, ids=[k for k, _ in STRICTER_IN_PROD])
def test_the_same_value_passes_in_dev_and_fails_in_prod(key: str, value: Any) -> None:
    # Validation only: the table above already runs prod failures through the whole program.
    dev = load_settings(config_for("dev", {key: value}), "dev")
    assert getattr(dev, config_fields()[key].name) == value

    with pytest.raises(SettingsError) as raised:
        load_settings(config_for("prod", {key: value}), "prod")
    assert [p.key for p in raised.value.problems] == [f"caseshield:{key}"]
    assert "prod" in raised.value.problems[0].message


def _just_below(key: str, floor: int) -> int:
    if key in ("auditLogRetentionDays", "operationalLogRetentionDays"):
        return max(d for d in CLOUDWATCH_RETENTION_DAYS if d < floor)
    return floor - 1


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("key", sorted(EXPECTED_FLOORS))
def test_retention_floors_hold_exactly_at_the_boundary(key: str, stack: str) -> None:
    floor = EXPECTED_FLOORS[key][1 if stack == "prod" else 0]
    at_floor = load_settings(config_for(stack, {key: floor}), stack)
    assert getattr(at_floor, config_fields()[key].name) == floor
    with pytest.raises(SettingsError) as raised:
        load_settings(config_for(stack, {key: _just_below(key, floor)}), stack)
    assert [p.key for p in raised.value.problems] == [f"caseshield:{key}"]
    assert f"{stack} floor of {floor} days" in raised.value.problems[0].message
    assert str(floor) in raised.value.problems[0].fix


@pytest.mark.parametrize("key", sorted(EXPECTED_FLOORS))
def test_floors_in_pulumi_yaml_descriptions_match_the_code(key: str) -> None:
    nonprod, prod = EXPECTED_FLOORS[key]
    description = load_project().declared[key]["description"]
    assert f"floor {nonprod}" in description
    assert f"prod {prod}" in description


# ---------------------------------------------------------------------------------------------------------------
# load_settings on parsed values
# ---------------------------------------------------------------------------------------------------------------

def test_load_settings_parses_engine_strings_into_typed_values() -> None:
    s = load_settings(load_project().stack_config("dev"), "dev")
    assert s.region == "us-east-1"
    assert s.availability_zone_count == 2 and type(s.availability_zone_count) is int
    assert s.audit_log_retention_days == 90 and type(s.audit_log_retention_days) is int
    assert s.public_subnet_cidrs == ("10.10.0.0/24", "10.10.1.0/24")
    assert type(s.public_subnet_cidrs) is tuple
    assert s.alert_emails == ("platform-alerts@lawfirm.example",)
    assert s.database_multi_az is False
    assert s.deletion_protection is False
    # project defaults fill what the stack file leaves out
    assert s.allowed_regions == ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
    assert s.key_administrator_arns == ()
    assert s.waf_country_allow_list == ()
    assert s.certificate_arn == ""
    assert s.app_port == 8443
    assert s.patch_install_schedule == "cron(0 3 ? * SUN *)"
    assert s.is_prod is False
    assert s.name_prefix == "cs-dev"


def test_load_settings_reads_prod_values() -> None:
    s = load_settings(load_project().stack_config("prod"), "prod")
    assert s.is_prod is True
    assert s.waf_country_allow_list == ("US", "CA", "GB")
    assert s.database_multi_az is True and s.deletion_protection is True
    assert s.object_lock_mode == "COMPLIANCE"
    assert s.backup_copy_region == "us-west-2"
    assert s.name_prefix == "cs-prod"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_field_has_its_declared_python_type(stack: str) -> None:
    s = load_settings(load_project().stack_config(stack), stack)
    hints = typing.get_type_hints(Settings)
    for key, f in config_fields().items():
        value = getattr(s, f.name)
        hint = hints[f.name]
        if hint == tuple[str, ...]:
            assert type(value) is tuple and all(type(v) is str for v in value), key
        else:
            assert type(value) is hint, f"{key}: {value!r} is not {hint}"


def test_load_settings_accepts_native_values_as_well_as_strings() -> None:
    config: dict[str, Any] = dict(load_project().stack_config("dev"))
    config.update({
        "caseshield:availabilityZoneCount": 2,
        "caseshield:databaseMultiAz": True,
        "caseshield:alertEmails": ["a@lawfirm.example", "b@lawfirm.example"],
    })
    s = load_settings(config, "dev")
    assert s.availability_zone_count == 2
    assert s.database_multi_az is True
    assert s.alert_emails == ("a@lawfirm.example", "b@lawfirm.example")


@pytest.mark.parametrize(("raw", "parsed"), [("true", True), ("false", False), (" TRUE ", True), ("False", False)])
def test_booleans_parse_case_insensitively(raw: str, parsed: bool) -> None:
    s = load_settings(config_for("dev", {"databaseMultiAz": raw}), "dev")
    assert s.database_multi_az is parsed


def test_a_boolean_is_not_accepted_for_an_integer() -> None:
    config: dict[str, Any] = dict(load_project().stack_config("dev"))
    config["caseshield:availabilityZoneCount"] = True
    with pytest.raises(SettingsError) as raised:
        load_settings(config, "dev")
    assert [(p.key, p.message) for p in raised.value.problems] == [
        ("caseshield:availabilityZoneCount", "must be a whole number.")]


def test_a_list_with_non_strings_is_refused() -> None:
    config: dict[str, Any] = dict(load_project().stack_config("dev"))
    config["caseshield:alertEmails"] = ["ok@lawfirm.example", 7]
    with pytest.raises(SettingsError) as raised:
        load_settings(config, "dev")
    assert [p.key for p in raised.value.problems] == ["caseshield:alertEmails"]


def test_other_namespaces_are_left_alone() -> None:
    config = config_for("dev", {"aws:profile": "legal", "otherproject:vpcCidrr": "x"})
    assert load_settings(config, "dev").stack == "dev"


def test_settings_are_immutable() -> None:
    s = load_settings(load_project().stack_config("dev"), "dev")
    with pytest.raises(FrozenInstanceError):
        s.environment = "prod"  # type: ignore[misc]


def test_problem_renders_key_value_message_and_fix() -> None:
    problem = Problem("caseshield:appPort", 80, "must be an unprivileged port, 1024-65535.", "use 8443.")
    assert str(problem) == "caseshield:appPort = 80: must be an unprivileged port, 1024-65535. Fix: use 8443."
    error = SettingsError("dev", [problem])
    assert error.problems == [problem]
    assert str(error) == f"stack 'dev' has 1 invalid setting(s):\n  - {problem}"
    assert re.search(r"Fix: \S", str(error))
