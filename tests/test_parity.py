"""Stack parity: prod at least as strict as staging, staging as dev, on every setting with a direction."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from caseshield.parity import DIRECTIONS, check_parity
from caseshield.project import load_project
from caseshield.settings import Settings, load_settings


def shipped() -> dict[str, Settings]:
    project = load_project()
    return {s: load_settings(project.stack_config(s), s) for s in project.stacks()}


def test_shipped_stacks_are_in_parity() -> None:
    assert check_parity(shipped()) == []


@pytest.mark.parametrize(("attribute", "looser"), [
    ("audit_log_retention_days", 90),
    ("audit_archive_retention_days", 365),
    ("backup_retention_days", 35),
    ("database_backup_retention_days", 7),
    ("deletion_protection", False),
    ("database_multi_az", False),
    ("patch_approval_delay_days", 14),
    ("availability_zone_count", 2),
])
def test_a_looser_prod_setting_is_reported(attribute: str, looser: Any) -> None:
    stacks = shipped()
    stacks["prod"] = dataclasses.replace(stacks["prod"], **{attribute: looser})
    findings = check_parity(stacks)
    key = next(d.key for d in DIRECTIONS if d.attribute == attribute)
    assert {(f.key, f.looser) for f in findings} >= {(key, "prod")}
    assert all(f.looser == "prod" for f in findings)


def test_staging_looser_than_dev_is_reported() -> None:
    stacks = shipped()
    stacks["staging"] = dataclasses.replace(stacks["staging"], operational_log_retention_days=30,
                                            document_version_retention_days=30)
    stacks["dev"] = dataclasses.replace(stacks["dev"], operational_log_retention_days=60)
    findings = {(f.key, f.looser, f.stricter) for f in check_parity(stacks)}
    assert ("operationalLogRetentionDays", "staging", "dev") in findings


def test_governance_lock_in_prod_is_looser_than_compliance_in_staging() -> None:
    stacks = shipped()
    stacks["staging"] = dataclasses.replace(stacks["staging"], object_lock_mode="COMPLIANCE")
    stacks["prod"] = dataclasses.replace(stacks["prod"], object_lock_mode="GOVERNANCE")
    assert [(f.key, f.looser, f.stricter) for f in check_parity(stacks)] == [("objectLockMode", "prod", "staging")]
