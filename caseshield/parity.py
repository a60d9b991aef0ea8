"""Stack parity: prod is at least as strict as staging, and staging as dev, on every setting with a direction.

Environments drift apart one small exception at a time; this check makes any loosening towards prod visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from caseshield.settings import ENVIRONMENTS, Settings

LOCK_STRENGTH = {"GOVERNANCE": 0, "COMPLIANCE": 1}


@dataclass(frozen=True)
class Direction:
    attribute: str
    key: str
    stricter: str  # what "stricter" means, for the report
    strength: Callable[[Any], float]  # larger is stricter


DIRECTIONS = (
    Direction("audit_log_retention_days", "auditLogRetentionDays", "longer", float),
    Direction("operational_log_retention_days", "operationalLogRetentionDays", "longer", float),
    Direction("audit_archive_retention_days", "auditArchiveRetentionDays", "longer", float),
    Direction("document_version_retention_days", "documentVersionRetentionDays", "longer", float),
    Direction("database_backup_retention_days", "databaseBackupRetentionDays", "longer", float),
    Direction("backup_retention_days", "backupRetentionDays", "longer", float),
    Direction("deletion_protection", "deletionProtection", "on", float),
    Direction("database_multi_az", "databaseMultiAz", "on", float),
    Direction("object_lock_mode", "objectLockMode", "COMPLIANCE over GOVERNANCE", LOCK_STRENGTH.__getitem__),
    Direction("patch_approval_delay_days", "patchApprovalDelayDays", "shorter", lambda days: -float(days)),
    Direction("availability_zone_count", "availabilityZoneCount", "more zones", float),
)


@dataclass(frozen=True)
class ParityFinding:
    key: str
    looser: str  # the stack of the higher tier that is looser
    stricter: str  # the stack of the lower tier it is compared with
    looser_value: Any
    stricter_value: Any
    meaning: str

    def __str__(self) -> str:
        return (f"{self.key}: {self.looser} ({self.looser_value!r}) is looser than {self.stricter} "
                f"({self.stricter_value!r}); a higher tier must be at least as strict ({self.meaning})")


def check_parity(stacks: dict[str, Settings]) -> list[ParityFinding]:
    """Compare each stack with every stack of a lower tier (dev < staging < prod)."""
    tier = {name: ENVIRONMENTS.index(s.environment) for name, s in stacks.items()}
    findings = []
    for high, hs in sorted(stacks.items()):
        for low, ls in sorted(stacks.items()):
            if tier[high] <= tier[low]:
                continue
            for d in DIRECTIONS:
                hv, lv = getattr(hs, d.attribute), getattr(ls, d.attribute)
                if d.strength(hv) < d.strength(lv):
                    findings.append(ParityFinding(d.key, high, low, hv, lv, d.stricter))
    return findings
