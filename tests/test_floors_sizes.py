"""The per-environment floors of policies/floors.yaml (issue 14, stage 2): read by tier, strictest for an unknown tier,
and refused, naming the key and the fix, when the file is edited into something the rules could not judge by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from caseshield.strict_yaml import InputError
from policies import floors

SHIPPED = floors.FLOORS_PATH.read_text()


def written(tmp_path: Path, change: Any) -> Path:
    """A copy of the shipped floors file with `change` applied to its parsed document."""
    document = yaml.safe_load(SHIPPED)
    change(document)
    path = tmp_path / "floors.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize(("path", "environment", "value"), [
    ("retention_days.backups", "dev", 35), ("retention_days.backups", "prod", 365),
    ("retention_days.audit_archive_lock", "staging", 365), ("archive_lock_modes", "prod", ["COMPLIANCE"]),
    ("backup_cross_region_copy", "staging", False), ("detection.macie_schedule", "prod", "daily"),
    ("patch_approval_days", "prod", 7), ("patch_approval_days", "dev", 14), ("incident_recipients", "dev", 1),
    ("tls.minimum_version", "dev", "1.2"), ("user_sign_in.oauth_flows", None, ["code"]),
    ("tls.load_balancer_policy_prefixes", "prod", ["ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS13-1-3-",
                                                   "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-"]),
])
def test_floors_are_read_by_environment_tier(path: str, environment: str | None, value: Any) -> None:
    assert floors.floor(path, environment) == value


@pytest.mark.parametrize("environment", [None, "qa", "production", ""])
def test_an_unknown_tier_is_held_to_prods_floors(environment: str | None) -> None:
    assert floors.floor("retention_days.operational_logs", environment) == floors.floor("retention_days.operational_logs", "prod")
    assert floors.floor("backup_cross_region_copy", environment) is True


def test_a_floor_the_file_does_not_have_stops_the_rule() -> None:
    with pytest.raises(KeyError, match=r"no floor 'retention_days\.forever'"):
        floors.floor("retention_days.forever", "prod")


def test_the_shipped_floors_hold_every_stack_of_the_project() -> None:
    """Prod is never looser than staging, nor staging than dev, on a per-tier floor."""
    doc = floors.document()
    for name, floor in doc["retention_days"].items():
        assert floor["dev"] <= floor["staging"] <= floor["prod"], name
    ceilings = doc["waf_rate_limit_per_5_minutes"]
    assert ceilings["dev"] >= ceilings["staging"] >= ceilings["prod"]


def remove(*path: str) -> Any:
    def change(document: dict[str, Any]) -> None:
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]

    return change


def put(value: Any, *path: str) -> Any:
    def change(document: dict[str, Any]) -> None:
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value

    return change


@pytest.mark.parametrize(("change", "named"), [
    (remove("retention_days", "backups"), "retention_days"),
    (remove("retention_days", "operational_logs", "prod"), "retention_days.operational_logs"),
    (put(0, "retention_days", "audit_logs", "dev"), "retention_days.audit_logs.dev"),
    (put("365", "retention_days", "audit_archive_lock", "prod"), "retention_days.audit_archive_lock.prod"),
    (put(["GOVERNANCE"], "archive_lock_modes", "prod"), "archive_lock_modes.prod"),
    (put(False, "backup_cross_region_copy", "prod"), "backup_cross_region_copy.prod"),
    (put("1.0", "tls", "minimum_version"), "tls.minimum_version"),
    (put(["rds-ca-2019"], "tls", "rds_certificate_authorities"), "tls.rds_certificate_authorities"),
    (put(["ELBSecurityPolicy-"], "tls", "load_balancer_policy_prefixes"), "tls.load_balancer_policy_prefixes"),
    (put(["ELBSecurityPolicy-TLS13-1-"], "tls", "load_balancer_policy_prefixes"), "tls.load_balancer_policy_prefixes"),
    (put(["ELBSecurityPolicy-2016-08"], "tls", "load_balancer_policy_prefixes"), "tls.load_balancer_policy_prefixes"),
    (put([], "tls", "load_balancer_policy_prefixes"), "tls.load_balancer_policy_prefixes"),
    (remove("tls", "load_balancer_policy_prefixes"), "tls.load_balancer_policy_prefixes"),
    (put(1_000_000, "waf_rate_limit_per_5_minutes", "prod"), "waf_rate_limit_per_5_minutes.prod"),
    (put("TWELVE_HOURS", "detection", "guardduty_finding_publishing"), "detection.guardduty_finding_publishing"),
    (put(["code", "implicit"], "user_sign_in", "oauth_flows"), "user_sign_in.oauth_flows"),
    (put({"dev": 12, "prod": 12}, "user_sign_in", "refresh_token_hours"), "user_sign_in.refresh_token_hours"),
    (put(0, "network", "private_tier_ingress_from_outside", "from_port"), "network.private_tier_ingress_from_outside.from_port"),
    (put(7, "retention_days", "backups", "qa"), "retention_days.backups"),
    (remove("network"), "network"),
    (put(30, "patch_approval_days", "prod"), "patch_approval_days.prod"),
    (put(1, "incident_recipients", "prod"), "incident_recipients.prod"),
    (put(["AWS_CONFIG_*"], "managed_config_rules", "every_stack"), "managed_config_rules.every_stack"),
    (put(["s3:Get*"], "case_content_actions"), "case_content_actions"),
    (put(["everything"], "database_audit_logging", "pgaudit_log_classes"), "database_audit_logging.pgaudit_log_classes"),
])
def test_an_invalid_floors_file_is_refused_naming_the_key(tmp_path: Path, change: Any, named: str) -> None:
    path = written(tmp_path, change)
    with pytest.raises(InputError) as refused:
        floors.document(path)
    assert named in str(refused.value)
    assert "Fix:" in str(refused.value)


def test_a_floors_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "floors.yaml"
    path.write_text(SHIPPED + "\nretention_days: {}\n")  # a key given twice
    with pytest.raises(InputError):
        floors.document(path)


# --- policies/network-reachability.yaml: the intended reach the network rules hold each stack to ---------------------

REACHABILITY = floors.REACHABILITY_PATH.read_text()


def reachability_written(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load(REACHABILITY)
    change(document)
    path = tmp_path / "network-reachability.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_shipped_reachability_intent_is_valid_and_intends_nothing_of_the_default_group() -> None:
    intent = floors.reachability()
    assert intent["security_groups"]["default"] == {"ingress": [], "egress": []}
    assert intent["vpc_endpoints"]["resources_of_any_account"]["Gateway"] is False
    assert {"protocol": "tcp", "ports": 5432, "peer": "group:app"} in intent["security_groups"]["database"]["ingress"]


@pytest.mark.parametrize(("change", "named"), [
    (put([{"protocol": "all", "ports": "all", "peer": "vpc"}], "security_groups", "default", "ingress"), "security_groups.default.ingress"),
    (put(True, "vpc_endpoints", "resources_of_any_account", "Gateway"), "vpc_endpoints.resources_of_any_account.Gateway"),
    (put([{"protocol": "icmp", "ports": 8, "peer": "vpc"}], "network_acls", "data", "ingress"), "network_acls.data.ingress[0].ports"),
    (put([{"protocol": "tcp", "ports": 443, "peer": "anywhere"}], "network_acls", "data", "ingress"), "network_acls.data.ingress[0].peer"),
    (put([{"protocol": "tcp", "ports": [1, 2, 3], "peer": "vpc"}], "network_acls", "data", "egress"), "network_acls.data.egress[0].ports"),
    (put(["al2023-*"], "vpc_endpoints", "public_reads", "buckets"), "vpc_endpoints.public_reads.buckets[0]"),
    (put(["s3:PutObject"], "vpc_endpoints", "public_reads", "actions"), "vpc_endpoints.public_reads.actions[0]"),
    (remove("network_acls", "app"), "network_acls.app"),
    (remove("security_groups", "database", "egress"), "security_groups.database.egress"),
])
def test_an_invalid_reachability_intent_is_refused_naming_the_key(tmp_path: Path, change: Any, named: str) -> None:
    path = reachability_written(tmp_path, change)
    with pytest.raises(InputError) as refused:
        floors.reachability(path)
    assert named in str(refused.value)
    assert "Fix:" in str(refused.value)
