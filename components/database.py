"""CaseDatabase: the PostgreSQL 16 case database, private, encrypted, TLS-only, with IAM authentication.

Why each control:
  * private subnets, `publicly_accessible=False` and a security group that admits 5432 only from the application
    tier's security groups (never a CIDR) and allows no egress: the database is reached from one place and can
    reach nothing, so a compromised database cannot exfiltrate over the network;
  * storage and Performance Insights encrypted with the case-database key; the RDS-managed master password lives
    in Secrets Manager under the application-secrets key, so nobody ever types or stores it;
  * IAM database authentication: people and the application connect with short-lived tokens tied to roles
    (`database_user_arn_prefix` names the users for rds-db:connect), not shared passwords;
  * `rds.force_ssl`, connection logging and pgaudit DDL/role auditing, exported to CloudWatch log groups that are
    created here first so they get a retention and a key instead of RDS's unencrypted never-expiring defaults.
    pgaudit does not log reads and writes: statement text would copy client confidences into the logs. The
    extension itself is enabled in the database (`CREATE EXTENSION pgaudit`) by the schema migrations;
  * automated backups, deletion protection, Multi-AZ and a final snapshot: losing casework is not an option;
  * enhanced monitoring every 60 s through a role of its own that only RDS monitoring, for this account, can assume,
    holding nothing but AWS's AmazonRDSEnhancedMonitoringRole: OS-level metrics (CPU steal, memory, processes) show a
    runaway query or a crypto-miner that CloudWatch's hypervisor metrics miss (AWS FSBP RDS.6, checkov CKV_AWS_118).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child, classified, policy_document, role_name, stateful

DATA_CLASS = "case-database"
ENGINE = "postgres"
# Major version only: with auto minor upgrades RDS picks and advances the minor version.
ENGINE_VERSION = "16"
PARAMETER_FAMILY = "postgres16"
PORT = 5432
MASTER_USERNAME = "case_admin"
DATABASE_NAME = "casemanagement"
LOG_EXPORTS = ["postgresql", "upgrade"]
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
MONITORING_SERVICE = "monitoring.rds.amazonaws.com"
MONITORING_MANAGED_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"
# (name, value, apply method); static parameters can only be applied at reboot.
PARAMETERS = [
    ("rds.force_ssl", "1", "immediate"),
    ("log_connections", "1", "immediate"),
    ("log_disconnections", "1", "immediate"),
    ("shared_preload_libraries", "pg_stat_statements,pgaudit", "pending-reboot"),
    ("pgaudit.log", "ddl,role", "immediate"),
    ("pgaudit.log_parameter", "0", "immediate"),
]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES


@dataclass
class CaseDatabaseArgs:
    """`subnet_ids`: the data subnets; `client_security_group_ids`: the only sources admitted on 5432.

    Not settings (yet), so fields with defaults: `performance_insights_retention_days` (7, or 731, or a multiple of
    31), `storage_autoscaling_factor` (storage may grow to this multiple of the initial size),
    `monitoring_interval` (enhanced monitoring, seconds; 0 turns it off) with `monitoring_role_arn` (None: the
    component creates its own monitoring role), `log_key_arn` (a key whose policy lets CloudWatch Logs use it, e.g.
    operational-logs; None = CloudWatch's own encryption).
    """

    settings: Settings
    key: aws.kms.Key
    secrets_key: aws.kms.Key
    subnet_ids: Sequence[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    client_security_group_ids: Sequence[pulumi.Input[str]] = ()
    performance_insights_retention_days: int = 7
    storage_autoscaling_factor: int = 2
    monitoring_interval: int = 60
    monitoring_role_arn: pulumi.Input[str] | None = None
    log_key_arn: pulumi.Input[str] | None = None
    # The service roles' permissions boundary (components/service_roles.py); None only outside an environment.
    service_boundary_arn: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if len(self.subnet_ids) < 2:
            raise ValueError("an RDS subnet group needs subnets in at least two availability zones")
        if self.monitoring_interval not in MONITORING_INTERVALS:
            raise ValueError(f"monitoring_interval must be one of {MONITORING_INTERVALS}")


class CaseDatabase(pulumi.ComponentResource):
    """Attributes: `instance`, `security_group`, `parameter_group`, `subnet_group`, `log_groups`, `monitoring_role`
    (None when monitoring is off or the role was given), `database_user_arn_prefix`
    (arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>)."""

    instance: aws.rds.Instance
    security_group: aws.ec2.SecurityGroup
    parameter_group: aws.rds.ParameterGroup
    subnet_group: aws.rds.SubnetGroup
    log_groups: list[aws.cloudwatch.LogGroup]
    monitoring_role: aws.iam.Role | None
    database_user_arn_prefix: pulumi.Output[str]

    def __init__(self, name: str, args: CaseDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:database:CaseDatabase", name, None, opts)
        self._prefix, self._args = name, args
        self.identifier = f"{args.settings.name_prefix}-case-db"
        self.security_group = self._security_group()
        self.subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"CaseShield {args.settings.stack}: case database, data subnets only",
            subnet_ids=list(args.subnet_ids),
            opts=child(self),
        )
        self.parameter_group = self._parameter_group()
        self.log_groups = self._log_groups()
        self.monitoring_role = self._monitoring_role()
        self.instance = self._instance()
        self.database_user_arn_prefix = self._database_user_arn_prefix()
        self.register_outputs({
            "endpoint": self.instance.endpoint,
            "database_user_arn_prefix": self.database_user_arn_prefix,
            "security_group_id": self.security_group.id,
        })

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """No inline rules: the provider removes AWS's default allow-all egress, so the group allows no egress."""
        group = aws.ec2.SecurityGroup(
            f"{self._prefix}-sg",
            description="CaseShield case database: PostgreSQL from the application tier only, no egress",
            vpc_id=self._args.vpc_id,
            opts=child(self),
        )
        for index, client in enumerate(self._args.client_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{self._prefix}-from-client-{index}",
                security_group_id=group.id,
                referenced_security_group_id=client,
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                description="PostgreSQL from an application security group",
                opts=child(self),
            )
        return group

    def _parameter_group(self) -> aws.rds.ParameterGroup:
        return aws.rds.ParameterGroup(
            f"{self._prefix}-params",
            family=PARAMETER_FAMILY,
            description="CaseShield case database: TLS only, connection and DDL/role audit logging",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=m) for n, v, m in PARAMETERS],
            opts=child(self),
        )

    def _log_groups(self) -> list[aws.cloudwatch.LogGroup]:
        s = self._args.settings
        return [
            aws.cloudwatch.LogGroup(
                f"{self._prefix}-log-{export}",
                name=f"/aws/rds/instance/{self.identifier}/{export}",
                retention_in_days=s.operational_log_retention_days,
                kms_key_id=self._args.log_key_arn,
                deletion_protection_enabled=s.deletion_protection,
                tags=classified("operational-logs"),
                opts=stateful(self, s),
            )
            for export in LOG_EXPORTS
        ]

    def _monitoring_role(self) -> aws.iam.Role | None:
        """The role RDS uses to publish enhanced-monitoring metrics: trusted by RDS monitoring for this account only
        (the confused-deputy condition), holding AWS's managed policy and nothing else."""
        args = self._args
        if not args.monitoring_interval or args.monitoring_role_arn is not None:
            return None
        invoke = pulumi.InvokeOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        role = aws.iam.Role(
            f"{self._prefix}-monitoring-role",
            name=role_name(args.settings, "rds-monitoring"),
            description="CaseShield case database: RDS enhanced monitoring publishes OS metrics",
            assume_role_policy=policy_document([{
                "Effect": "Allow",
                "Principal": {"Service": MONITORING_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }]),
            permissions_boundary=args.service_boundary_arn,
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{self._prefix}-monitoring-role-managed", role=role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, f":iam::aws:policy/{MONITORING_MANAGED_POLICY}"),
            opts=pulumi.ResourceOptions(parent=role))
        return role

    def _instance(self) -> aws.rds.Instance:
        args, s = self._args, self._args.settings
        monitoring_role_arn = self.monitoring_role.arn if self.monitoring_role else args.monitoring_role_arn
        return aws.rds.Instance(
            f"{self._prefix}-instance",
            identifier=self.identifier,
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            instance_class=s.database_instance_class,
            db_name=DATABASE_NAME,
            port=PORT,
            allocated_storage=s.database_allocated_storage_gb,
            max_allocated_storage=min(s.database_allocated_storage_gb * args.storage_autoscaling_factor, 65536),
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.key.arn,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.secrets_key.arn,
            iam_database_authentication_enabled=True,
            publicly_accessible=False,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name,
            ca_cert_identifier=CA_CERTIFICATE,
            multi_az=s.database_multi_az,
            deletion_protection=s.deletion_protection,
            backup_retention_period=s.database_backup_retention_days,
            backup_window=backup_window_for(s.database_maintenance_window),
            maintenance_window=s.database_maintenance_window,
            auto_minor_version_upgrade=True,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{self.identifier}-final",
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            monitoring_interval=args.monitoring_interval,
            monitoring_role_arn=monitoring_role_arn if args.monitoring_interval else None,
            tags=classified(DATA_CLASS),
            # The log groups first, or RDS creates them itself, unencrypted and never expiring.
            opts=stateful(self, s, depends_on=self.log_groups),
        )

    def _database_user_arn_prefix(self) -> pulumi.Output[str]:
        """rds-db:connect ARNs name the instance by its resource id, which exists only after creation."""
        invoke = pulumi.InvokeOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        region = self._args.settings.region
        return pulumi.Output.all(partition, account, self.instance.resource_id).apply(
            lambda v: f"arn:{v[0]}:rds-db:{region}:{v[1]}:dbuser:{v[2]}")


def _minute_of_week(moment: str) -> int:
    """'sun:04:00' -> minutes since Monday 00:00 UTC."""
    day, hours, minutes = moment.split(":")
    return DAYS.index(day) * DAY_MINUTES + int(hours) * 60 + int(minutes)


def _spans(start: int, end: int) -> list[tuple[int, int]]:
    """A weekly interval as half-open spans of minutes-of-week, split where it wraps past Sunday midnight."""
    start, end = start % WEEK_MINUTES, end % WEEK_MINUTES
    return [(start, end)] if start < end else [(start, WEEK_MINUTES), (0, end)]


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(a0 < b1 and b0 < a1 for a0, a1 in a for b0, b1 in b)


def backup_window_for(maintenance_window: str, length_minutes: int = 60, gap_minutes: int = 30) -> str:
    """A daily backup window (hh:mm-hh:mm UTC) that never overlaps the weekly maintenance window.

    RDS rejects overlapping windows. The preferred window ends `gap_minutes` before maintenance starts, so the day's
    backup is fresh when maintenance begins; if a long maintenance window still overlaps, it moves earlier.
    """
    first, last = maintenance_window.split("-")
    maintenance = _spans(_minute_of_week(first), _minute_of_week(last))
    preferred = _minute_of_week(first) % DAY_MINUTES - gap_minutes - length_minutes
    for step in range(DAY_MINUTES // 30):
        begin = (preferred - 30 * step) % DAY_MINUTES
        daily = [span for day in range(7)
                 for span in _spans(day * DAY_MINUTES + begin, day * DAY_MINUTES + begin + length_minutes)]
        if not _overlap(daily, maintenance):
            end = (begin + length_minutes) % DAY_MINUTES
            return f"{begin // 60:02d}:{begin % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    raise ValueError(f"no {length_minutes}-minute daily backup window avoids the maintenance window {maintenance_window}")
