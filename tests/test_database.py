"""CaseDatabase: encryption, IAM auth, TLS, network isolation, resilience settings, logging and protection."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pulumi_aws as aws
import pytest

from caseshield import settings as settings_module
from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.project import load_project
from components.database import (
    DAY_MINUTES,
    CaseDatabase,
    CaseDatabaseArgs,
    _minute_of_week,
    _overlap,
    _spans,
    backup_window_for,
)

INSTANCE = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
SUBNETS = "aws:rds/subnetGroup:SubnetGroup"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DATA_SUBNETS = ["subnet-data-a", "subnet-data-b", "subnet-data-c"]
APP_GROUP = "sg-app-tier"
MONITORING_ROLE = "arn:aws:iam::123456789012:role/cs-prod-rds-monitoring"


def program() -> None:
    s = settings_module.from_pulumi()
    monitoring: dict[str, Any] = {"monitoring_interval": 60, "monitoring_role_arn": MONITORING_ROLE} if s.is_prod else {}
    CaseDatabase("db", CaseDatabaseArgs(
        settings=s,
        key=aws.kms.Key("case-database-key"),
        secrets_key=aws.kms.Key("application-secrets-key"),
        subnet_ids=DATA_SUBNETS,
        vpc_id="vpc-0case",
        client_security_group_ids=[APP_GROUP],
        log_key_arn=aws.kms.Key("operational-logs-key").arn,
        **monitoring,
    ))


@cache
def graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


def config(stack: str, key: str) -> str:
    return load_project().stack_config(stack)[f"caseshield:{key}"]


def instance(stack: str = "prod") -> RecordedResource:
    return graph(stack).one(INSTANCE)


def key_names(g: ResourceGraph, resource: RecordedResource, prop: str) -> list[str]:
    return [r.name for r in g.depends_on(resource, prop)]


def test_engine_is_postgres_16_on_encrypted_gp3() -> None:
    db = instance().inputs
    assert (db["engine"], db["engineVersion"]) == ("postgres", "16")
    assert db["storageType"] == "gp3" and db["storageEncrypted"] is True
    assert key_names(graph("prod"), instance(), "kmsKeyId") == ["case-database-key"]
    assert db["instanceClass"] == config("prod", "databaseInstanceClass")
    assert db["allocatedStorage"] == int(config("prod", "databaseAllocatedStorageGb"))
    assert db["maxAllocatedStorage"] > db["allocatedStorage"]


def test_credentials_are_iam_tokens_and_an_rds_managed_secret_under_the_secrets_key() -> None:
    db = instance().inputs
    assert db["iamDatabaseAuthenticationEnabled"] is True
    assert db["manageMasterUserPassword"] is True
    assert "password" not in db and "passwordWo" not in db
    assert key_names(graph("prod"), instance(), "masterUserSecretKmsKeyId") == ["application-secrets-key"]


def test_database_user_arn_prefix_names_the_instance_resource_id() -> None:
    g = graph("prod")
    prefix = g.one("caseshield:database:CaseDatabase", "db").outputs["database_user_arn_prefix"]
    assert re.fullmatch(r"arn:aws:rds-db:us-east-1:\d{12}:dbuser:db-[A-Z0-9]{26}", prefix), prefix


def test_parameter_group_forces_tls_and_logs_connections() -> None:
    g = graph("prod")
    group = g.one(PARAMS)
    assert group.inputs["family"] == "postgres16"
    parameters = {p["name"]: p for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"]["value"] == "1"
    assert parameters["log_connections"]["value"] == "1"
    assert parameters["log_disconnections"]["value"] == "1"
    assert "pgaudit" in parameters["shared_preload_libraries"]["value"].split(",")
    assert parameters["shared_preload_libraries"]["applyMethod"] == "pending-reboot"  # static parameter
    assert parameters["pgaudit.log"]["value"] == "ddl,role"  # no read/write: statements would copy case data
    assert key_names(g, instance(), "parameterGroupName") == [group.name]


def test_database_is_private_in_the_data_subnets() -> None:
    g = graph("prod")
    assert instance().inputs["publiclyAccessible"] is False
    subnets = g.one(SUBNETS)
    assert subnets.inputs["subnetIds"] == DATA_SUBNETS
    assert key_names(g, instance(), "dbSubnetGroupName") == [subnets.name]


def test_security_group_admits_postgres_only_from_client_groups_and_allows_no_egress() -> None:
    g = graph("prod")
    group = g.one(GROUP)
    assert group.inputs["vpcId"] == "vpc-0case"
    assert not group.inputs.get("ingress") and not group.inputs.get("egress")
    rules = g.of_type(INGRESS)
    assert len(rules) == 1
    rule = rules[0].inputs
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
    assert rule["referencedSecurityGroupId"] == APP_GROUP
    assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule)
    assert g.depends_on(rules[0], "securityGroupId") == [group]
    assert not g.of_type(EGRESS)
    assert key_names(g, instance(), "vpcSecurityGroupIds") == [group.name]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_resilience_settings_follow_the_stack(stack: str) -> None:
    db = instance(stack).inputs
    assert db["multiAz"] is (config(stack, "databaseMultiAz") in (True, "true"))
    assert db["deletionProtection"] is (config(stack, "deletionProtection") in (True, "true"))
    assert db["backupRetentionPeriod"] == int(config(stack, "databaseBackupRetentionDays"))
    assert db["copyTagsToSnapshot"] is True and db["deleteAutomatedBackups"] is False
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"cs-{stack}-case-db-final"


def test_prod_and_dev_differ_in_multi_az_and_deletion_protection() -> None:
    assert instance("prod").inputs["multiAz"] is True and instance("dev").inputs["multiAz"] is False
    assert instance("prod").inputs["deletionProtection"] is True
    assert instance("dev").inputs["deletionProtection"] is False


def test_maintenance_window_is_the_setting_and_backups_never_overlap_it() -> None:
    db = instance().inputs
    maintenance = db["maintenanceWindow"]
    assert maintenance == config("prod", "databaseMaintenanceWindow") == "sun:04:00-sun:05:00"
    assert db["backupWindow"] == "02:30-03:30"
    assert db["autoMinorVersionUpgrade"] is True


@pytest.mark.parametrize("maintenance", ["sun:04:00-sun:05:00", "mon:00:15-mon:01:00", "sat:23:00-sun:01:00",
                                         "sun:01:00-sun:23:30", "wed:12:00-wed:12:30"])
def test_backup_window_is_an_hour_and_avoids_the_maintenance_window_every_day(maintenance: str) -> None:
    window = backup_window_for(maintenance)
    assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", window)
    start, end = window.split("-")
    begin = _minute_of_week(f"mon:{start}") % DAY_MINUTES
    assert (_minute_of_week(f"mon:{end}") - begin) % DAY_MINUTES == 60
    first, last = maintenance.split("-")
    weekly = _spans(_minute_of_week(first), _minute_of_week(last))
    daily = [s for day in range(7) for s in _spans(day * DAY_MINUTES + begin, day * DAY_MINUTES + begin + 60)]
    assert not _overlap(daily, weekly)


def test_backup_window_fails_loudly_when_none_fits() -> None:
    with pytest.raises(ValueError, match="no 60-minute daily backup window"):
        backup_window_for("sun:00:00-sun:23:45")


def test_logs_are_exported_to_pre_created_encrypted_groups_with_retention() -> None:
    g = graph("prod")
    db = instance()
    assert db.inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    groups = {r.inputs["name"]: r for r in g.of_type(LOG_GROUP)}
    assert set(groups) == {"/aws/rds/instance/cs-prod-case-db/postgresql", "/aws/rds/instance/cs-prod-case-db/upgrade"}
    for group in groups.values():
        assert group.inputs["retentionInDays"] == int(config("prod", "operationalLogRetentionDays"))
        assert key_names(g, group, "kmsKeyId") == ["operational-logs-key"]
        assert group.urn in db.dependencies  # created before RDS would create them unencrypted
        assert group.protect and group.retain_on_delete
        assert group.inputs["deletionProtectionEnabled"] is True


def test_performance_insights_are_encrypted_with_the_database_key() -> None:
    db = instance().inputs
    assert db["performanceInsightsEnabled"] is True
    assert key_names(graph("prod"), instance(), "performanceInsightsKmsKeyId") == ["case-database-key"]
    assert db["performanceInsightsRetentionPeriod"] == 7


def test_enhanced_monitoring_uses_a_given_role_or_its_own() -> None:
    assert instance("prod").inputs["monitoringInterval"] == 60
    assert instance("prod").inputs["monitoringRoleArn"] == MONITORING_ROLE  # given: no role of its own
    assert not graph("prod").of_type("aws:iam/role:Role")
    dev = graph("dev")
    role = dev.one("aws:iam/role:Role")
    assert instance("dev").inputs["monitoringInterval"] == 60
    assert [r.name for r in dev.depends_on(instance("dev"), "monitoringRoleArn")] == [role.name]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "monitoring.rds.amazonaws.com"}]
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    attached = dev.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attached.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert dev.depends_on(attached, "role") == [role]


def test_enhanced_monitoring_can_be_turned_off() -> None:
    def program() -> None:
        CaseDatabase("db", CaseDatabaseArgs(
            settings=settings_module.from_pulumi(), key=aws.kms.Key("k"), secrets_key=aws.kms.Key("s"),
            subnet_ids=DATA_SUBNETS, vpc_id="vpc-0case", monitoring_interval=0))

    g = evaluate("dev", program=program)
    db = g.one(INSTANCE)
    assert db.inputs["monitoringInterval"] == 0
    assert "monitoringRoleArn" not in db.inputs
    assert not g.of_type("aws:iam/role:Role")


def test_database_is_classified_and_stateful_in_prod_only() -> None:
    assert instance().inputs["tags"]["data-classification"] == "case-database"
    assert instance("prod").protect and instance("prod").retain_on_delete
    assert not instance("dev").protect and not instance("dev").retain_on_delete
    assert not any(r.protect or r.inputs["deletionProtectionEnabled"] for r in graph("dev").of_type(LOG_GROUP))


def test_component_owns_its_resources() -> None:
    g = graph("prod")
    component = g.one("caseshield:database:CaseDatabase", "db")
    owned = {r.type for r in g.children(component.urn)}
    assert {INSTANCE, PARAMS, SUBNETS, GROUP, INGRESS, LOG_GROUP} <= owned


def test_args_are_checked() -> None:
    s = settings_module.load_settings(load_project().stack_config("dev"), "dev")
    key: Any = object()  # never used: validation fails first
    with pytest.raises(ValueError, match="at least two availability zones"):
        CaseDatabaseArgs(settings=s, key=key, secrets_key=key, subnet_ids=["subnet-a"], vpc_id="vpc-1")
    with pytest.raises(ValueError, match="monitoring_interval must be one of"):
        CaseDatabaseArgs(settings=s, key=key, secrets_key=key, subnet_ids=DATA_SUBNETS, vpc_id="vpc-1",
                         monitoring_interval=7, monitoring_role_arn=MONITORING_ROLE)
