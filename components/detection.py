"""ThreatDetection: GuardDuty, Security Hub, AWS Config and Macie, wired to the incident topic.

Why: zero trust assumes some control will eventually fail or be bypassed, so the environment must notice. GuardDuty
watches behaviour (CloudTrail, VPC flow and DNS logs, S3 data events, EBS malware, RDS logins); AWS Config records
every resource's configuration as evidence and judges it against managed rules; Security Hub scores the account
against FSBP, CIS v3.0.0 and NIST 800-53; Macie's scheduled sensitive-data discovery over the case-documents bucket is
the data-classification control. What is urgent reaches a person through `IncidentAlerting` (components/alerting.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.alerting import IncidentAlerting, IncidentAlertingArgs
from components.base import child, policy_document, role_name, static_policy_document

GUARDDUTY_FEATURES = ("S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS")
FINDING_FREQUENCY = "FIFTEEN_MINUTES"
# Regional standards ARNs (`arn:<partition>:securityhub:<region>::standards/<path>`).
SECURITY_HUB_STANDARDS = {
    "fsbp": "aws-foundational-security-best-practices/v/1.0.0",
    "cis": "cis-aws-foundations-benchmark/v/3.0.0",
    "nist": "nist-800-53/v/5.0.0",
}
CONFIG_PREFIX = "config"
CONFIG_MANAGED_POLICY = "service-role/AWS_ConfigRole"
MACIE_SAMPLING_PERCENTAGE = 100
GENERIC_RUNBOOK = "runbooks/incident-response.md"


@dataclass(frozen=True)
class ConfigRuleSpec:
    """An AWS managed Config rule: `id` is AWS's rule name, `identifier` its source identifier."""

    id: str
    identifier: str
    description: str
    runbook: str = GENERIC_RUNBOOK
    prod_only: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)


_CLOUDTRAIL = "runbooks/alarms/cloudtrail-changes.md"
_S3 = "runbooks/alarms/s3-bucket-policy-changes.md"
_NETWORK = "runbooks/alarms/network-changes.md"
_ROOT = "runbooks/alarms/root-account-usage.md"
# CIS v3.0.0 1.8/1.9: at least 14 characters, no reuse of the last 24.
PASSWORD_POLICY = {
    "RequireUppercaseCharacters": "true", "RequireLowercaseCharacters": "true", "RequireSymbols": "true",
    "RequireNumbers": "true", "MinimumPasswordLength": "14", "PasswordReusePrevention": "24", "MaxPasswordAge": "90",
}
CONFIG_RULES = (
    ConfigRuleSpec("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED", "CloudTrail records API activity.", _CLOUDTRAIL),
    ConfigRuleSpec("cloud-trail-log-file-validation-enabled", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
                   "CloudTrail log files carry signed digests.", _CLOUDTRAIL),
    ConfigRuleSpec("cloud-trail-encryption-enabled", "CLOUD_TRAIL_ENCRYPTION_ENABLED",
                   "CloudTrail logs are encrypted with a KMS key.", _CLOUDTRAIL),
    ConfigRuleSpec("cmk-backing-key-rotation-enabled", "CMK_BACKING_KEY_ROTATION_ENABLED",
                   "Customer-managed KMS keys rotate.", "runbooks/alarms/kms-key-disable-or-deletion.md"),
    ConfigRuleSpec("s3-bucket-public-read-prohibited", "S3_BUCKET_PUBLIC_READ_PROHIBITED",
                   "No bucket allows public read.", _S3),
    ConfigRuleSpec("s3-bucket-ssl-requests-only", "S3_BUCKET_SSL_REQUESTS_ONLY", "Buckets refuse requests without TLS.", _S3),
    ConfigRuleSpec("s3-bucket-server-side-encryption-enabled", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
                   "Buckets encrypt objects at rest.", _S3),
    ConfigRuleSpec("s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS", "Buckets default to SSE-KMS.", _S3),
    ConfigRuleSpec("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED", "Database storage is encrypted."),
    ConfigRuleSpec("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", "No database is publicly accessible."),
    ConfigRuleSpec("rds-multi-az-support", "RDS_MULTI_AZ_SUPPORT", "Production databases run Multi-AZ.", prod_only=True),
    ConfigRuleSpec("iam-password-policy", "IAM_PASSWORD_POLICY", "The IAM password policy meets CIS 1.8/1.9.",
                   parameters=PASSWORD_POLICY),
    ConfigRuleSpec("mfa-enabled-for-iam-console-access", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
                   "IAM users with a console password have MFA.", "runbooks/alarms/console-signin-without-mfa.md"),
    ConfigRuleSpec("root-account-mfa-enabled", "ROOT_ACCOUNT_MFA_ENABLED", "The root user has MFA.", _ROOT),
    ConfigRuleSpec("iam-root-access-key-check", "IAM_ROOT_ACCESS_KEY_CHECK", "The root user has no access keys.", _ROOT),
    ConfigRuleSpec("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", "Every VPC has flow logs.", _NETWORK),
    ConfigRuleSpec("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
                   "Default security groups allow no traffic.", _NETWORK),
    ConfigRuleSpec("restricted-common-ports", "RESTRICTED_INCOMING_TRAFFIC",
                   "No security group opens common admin/database ports to the internet.", _NETWORK),
    ConfigRuleSpec("restricted-ssh", "INCOMING_SSH_DISABLED", "No security group opens SSH to the internet.", _NETWORK),
    ConfigRuleSpec("ec2-imdsv2-check", "EC2_IMDSV2_CHECK", "Instances require IMDSv2."),
    ConfigRuleSpec("encrypted-volumes", "ENCRYPTED_VOLUMES", "Attached EBS volumes are encrypted."),
    ConfigRuleSpec("ec2-ebs-encryption-by-default", "EC2_EBS_ENCRYPTION_BY_DEFAULT", "EBS encryption by default is on."),
    ConfigRuleSpec("dynamodb-pitr-enabled", "DYNAMODB_PITR_ENABLED", "DynamoDB tables have point-in-time recovery."),
    ConfigRuleSpec("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", "GuardDuty is enabled.",
                   "runbooks/findings/guardduty-high-severity.md"),
    ConfigRuleSpec("securityhub-enabled", "SECURITYHUB_ENABLED", "Security Hub is enabled.",
                   "runbooks/findings/securityhub-critical-high.md"),
    ConfigRuleSpec("wafv2-logging-enabled", "WAFV2_LOGGING_ENABLED", "WAF web ACLs log requests."),
)


def config_rules_for(settings: Settings) -> tuple[ConfigRuleSpec, ...]:
    return tuple(r for r in CONFIG_RULES if settings.is_prod or not r.prod_only)


@dataclass
class ThreatDetectionArgs:
    settings: Settings
    alerts_key: aws.kms.Key  # operational-logs key: encrypts the incident topic
    trail_log_group_name: pulumi.Input[str]
    audit_archive_bucket: pulumi.Input[str]  # Config delivery target (bucket name)
    documents_bucket_name: pulumi.Input[str]  # Macie discovery target
    account_id: str
    partition: str
    # The archive bucket's KMS key, if it is SSE-KMS: Config then encrypts its deliveries with it. Its key policy must
    # let the role `role_name(settings, "config-recorder")` use it.
    audit_archive_key_arn: pulumi.Input[str] | None = None
    # The service roles' permissions boundary (components/service_roles.py); None only outside an environment.
    service_boundary_arn: pulumi.Input[str] | None = None


class ThreatDetection(pulumi.ComponentResource):
    """`detector`, `config_recorder`, `macie_job`, and from the alerting child: `topic`, `alarms`, `event_rules`."""

    def __init__(self, name: str, args: ThreatDetectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:detection:ThreatDetection", name, None, opts)
        s = args.settings
        self.alerting = IncidentAlerting(f"{name}-alerting", IncidentAlertingArgs(
            settings=s, key=args.alerts_key, trail_log_group_name=args.trail_log_group_name,
            account_id=args.account_id, partition=args.partition,
        ), opts=child(self))
        self.topic = self.alerting.topic
        self.alarms = self.alerting.alarms
        self.event_rules = self.alerting.event_rules
        self.detector = self._guardduty(name)
        self.security_hub = self._security_hub(name, args)
        self.config_recorder = self._config(name, args)
        self.macie_job = self._macie(name, args)
        self.register_outputs({
            "topic_arn": self.topic.arn,
            "detector_id": self.detector.id,
            "config_recorder_name": self.config_recorder.name,
            "macie_job_id": self.macie_job.job_id,
        })

    def _guardduty(self, name: str) -> aws.guardduty.Detector:
        """The detector plus each protection plan as its own feature (the detector's `datasources` is deprecated)."""
        detector = aws.guardduty.Detector(f"{name}-guardduty", enable=True,
                                          finding_publishing_frequency=FINDING_FREQUENCY, opts=child(self))
        for feature in GUARDDUTY_FEATURES:
            aws.guardduty.DetectorFeature(f"{name}-guardduty-{feature.lower().replace('_', '-')}",
                                          detector_id=detector.id, name=feature, status="ENABLED",
                                          opts=pulumi.ResourceOptions(parent=detector))
        return detector

    def _security_hub(self, name: str, args: ThreatDetectionArgs) -> aws.securityhub.Account:
        """Security Hub with exactly our three standards (not AWS's default set) and consolidated control findings."""
        account = aws.securityhub.Account(f"{name}-securityhub", enable_default_standards=False,
                                          control_finding_generator="SECURITY_CONTROL", auto_enable_controls=True,
                                          opts=child(self))
        for key, path in SECURITY_HUB_STANDARDS.items():
            aws.securityhub.StandardsSubscription(
                f"{name}-standard-{key}",
                standards_arn=f"arn:{args.partition}:securityhub:{args.settings.region}::standards/{path}",
                opts=pulumi.ResourceOptions(parent=account, depends_on=[account]),
            )
        return account

    def _config(self, name: str, args: ThreatDetectionArgs) -> aws.cfg.Recorder:
        """Record every supported resource, IAM included, continuously into the audit archive; then judge it by rule."""
        s = args.settings
        role = self._config_role(name, args)
        recorder = aws.cfg.Recorder(
            f"{name}-config-recorder",
            name=f"{s.name_prefix}-recorder",
            role_arn=role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(all_supported=True, include_global_resource_types=True),
            recording_mode=aws.cfg.RecorderRecordingModeArgs(recording_frequency="CONTINUOUS"),
            opts=child(self),
        )
        channel = aws.cfg.DeliveryChannel(
            f"{name}-config-delivery",
            name=f"{s.name_prefix}-delivery",
            s3_bucket_name=args.audit_archive_bucket,
            s3_key_prefix=CONFIG_PREFIX,
            s3_kms_key_arn=args.audit_archive_key_arn,
            snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(
                delivery_frequency="TwentyFour_Hours"),
            opts=child(self, depends_on=[recorder]),
        )
        aws.cfg.RecorderStatus(f"{name}-config-recorder-status", name=recorder.name, is_enabled=True,
                               opts=child(self, depends_on=[channel]))
        for spec in config_rules_for(s):
            aws.cfg.Rule(
                f"{name}-rule-{spec.id}",
                name=f"{s.name_prefix}-{spec.id}",
                description=f"{spec.description} Runbook: {spec.runbook}",
                source=aws.cfg.RuleSourceArgs(owner="AWS", source_identifier=spec.identifier),
                input_parameters=json.dumps(dict(spec.parameters), sort_keys=True) if spec.parameters else None,
                opts=child(self, depends_on=[recorder]),
            )
        return recorder

    def _config_role(self, name: str, args: ThreatDetectionArgs) -> aws.iam.Role:
        """The recorder's role: AWS's read-only AWS_ConfigRole, plus writing under `config/` in the archive bucket.

        The role name is fixed (`<prefix>-config-recorder`) so the archive key and bucket policies can name it first.
        """
        s, p = args.settings, args.partition
        role = aws.iam.Role(
            f"{name}-config-role",
            name=role_name(s, "config-recorder"),
            assume_role_policy=static_policy_document([{
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
            }]),
            permissions_boundary=args.service_boundary_arn,
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(f"{name}-config-role-managed", role=role.name,
                                     policy_arn=f"arn:{p}:iam::aws:policy/{CONFIG_MANAGED_POLICY}",
                                     opts=pulumi.ResourceOptions(parent=role))
        bucket_arn = pulumi.Output.concat(f"arn:{p}:s3:::", args.audit_archive_bucket)
        statements: list[dict[str, object]] = [
            {
                "Sid": "DeliverUnderConfigPrefix",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": pulumi.Output.concat(bucket_arn, f"/{CONFIG_PREFIX}/AWSLogs/{args.account_id}/*"),
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            },
            {"Sid": "CheckBucketAcl", "Effect": "Allow", "Action": "s3:GetBucketAcl", "Resource": bucket_arn},
        ]
        if args.audit_archive_key_arn is not None:
            statements.append({"Sid": "EncryptDeliveries", "Effect": "Allow",
                               "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": args.audit_archive_key_arn})
        aws.iam.RolePolicy(f"{name}-config-role-delivery", role=role.id, policy=policy_document(statements),
                           opts=pulumi.ResourceOptions(parent=role))
        return role

    def _macie(self, name: str, args: ThreatDetectionArgs) -> aws.macie2.ClassificationJob:
        """Macie on, and a recurring discovery job over every object of the documents bucket (no sampling).

        Daily in prod; weekly elsewhere, where the data is synthetic and the scan cost buys little. The job uses
        Macie's recommended managed data identifiers: the API default when no selector is given (pulumi-aws 7.51.1
        does not expose `managedDataIdentifierSelector`).
        """
        s = args.settings
        account = aws.macie2.Account(f"{name}-macie", status="ENABLED",
                                     finding_publishing_frequency=FINDING_FREQUENCY, opts=child(self))
        schedule = (aws.macie2.ClassificationJobScheduleFrequencyArgs(daily_schedule=True) if s.is_prod
                    else aws.macie2.ClassificationJobScheduleFrequencyArgs(weekly_schedule="MONDAY"))
        return aws.macie2.ClassificationJob(
            f"{name}-macie-documents",
            name=f"{s.name_prefix}-case-documents-discovery",
            description="Sensitive-data discovery over case documents. Runbook: runbooks/findings/macie-sensitive-data.md",
            job_type="SCHEDULED",
            schedule_frequency=schedule,
            initial_run=True,
            sampling_percentage=MACIE_SAMPLING_PERCENTAGE,
            s3_job_definition=aws.macie2.ClassificationJobS3JobDefinitionArgs(
                bucket_definitions=[aws.macie2.ClassificationJobS3JobDefinitionBucketDefinitionArgs(
                    account_id=args.account_id, buckets=[args.documents_bucket_name])],
            ),
            opts=child(self, depends_on=[account]),
        )
