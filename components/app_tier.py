"""ApplicationTier: the case-management application on instances nobody can reach except through the load balancer.

Zero trust for the servers themselves: no public address, no SSH key and no SSH/RDP port; administrators reach an
instance only through SSM Session Manager, whose sessions are encrypted with a customer key and recorded to an
encrypted log group. Instances speak only to the load balancer (in), the VPC endpoints and the database (out).

What the caller must provide for `pulumi up` to succeed:
- the session-log key's policy must let the instance role (`<prefix>-app-instance`, a fixed name so the policy can
  name it before it exists) use `kms:Decrypt`, and CloudWatch Logs in this account encrypt with it;
- the volume key's policy must let the Auto Scaling service-linked role use it through EC2 (the case-documents key
  of `KeyHierarchy` does);
- interface endpoints for ssm, ssmmessages, ec2messages, logs, monitoring (and kms) behind `endpoint_security_group_id`,
  and the S3 gateway endpoint's prefix list, so instances can be managed and patched without internet access.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child, policy_document, role_name, stateful, static_policy_document

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023's root device.
ROOT_VOLUME_GB = 30
# Patch Manager assigns an instance to a patch baseline through this exact tag key.
PATCH_GROUP_TAG = "Patch Group"
# Session Manager reads its account-wide preferences from a Session document of exactly this name.
SESSION_PREFERENCES_DOCUMENT = "SSM-SessionManagerRunShell"
IDLE_SESSION_MINUTES = 20
MAX_SESSION_MINUTES = 60
# Only what the instances need: Session Manager / patching, and the CloudWatch agent. Nothing that reads data.
MANAGED_POLICIES = ("AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy")
HTTPS_PORT = 443
POSTGRES_PORT = 5432
CPU_TARGET_PERCENT = 60
HEALTH_CHECK_GRACE_SECONDS = 300


@dataclass
class ApplicationTierArgs:
    settings: Settings
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    app_subnet_ids: Sequence[pulumi.Input[str]]
    alb_security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    volume_key: aws.kms.Key
    """Encrypts the instances' volumes, which may cache case content (the case-documents key)."""
    session_log_key: aws.kms.Key
    """Encrypts Session Manager sessions and their log group."""
    endpoint_security_group_id: pulumi.Input[str] | None = None
    """Security group of the interface endpoints; without it HTTPS egress goes to the VPC CIDR (endpoints only)."""
    endpoint_prefix_list_ids: Sequence[pulumi.Input[str]] = ()
    """Prefix lists of gateway endpoints (S3: package repositories, patch baselines)."""
    database_security_group_id: pulumi.Input[str] | None = None
    patch_group: str | None = None
    # The service roles' permissions boundary (components/service_roles.py); None only outside an environment.
    service_boundary_arn: pulumi.Input[str] | None = None
    """Patch Manager group of the instances; defaults to `<prefix>-app`."""


@dataclass(frozen=True)
class Egress:
    label: str
    port: int
    description: str
    security_group_id: pulumi.Input[str] | None = None
    cidr_ipv4: pulumi.Input[str] | None = None
    prefix_list_id: pulumi.Input[str] | None = None


class ApplicationTier(pulumi.ComponentResource):
    """Launch template, Auto Scaling group, security group, instance role and Session Manager preferences."""

    def __init__(self, name: str, args: ApplicationTierArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:app:ApplicationTier", name, None, opts)
        s = args.settings
        self.patch_group = args.patch_group or f"{s.name_prefix}-app"
        self.security_group = self._security_group(name, s, args)
        self.instance_role, profile = self._instance_role(name, s, args)
        self.session_log_group = self._session_logging(name, s, args)
        self.launch_template = self._launch_template(name, s, args, profile)
        self.auto_scaling_group = self._auto_scaling_group(name, s, args)
        self.register_outputs({
            "auto_scaling_group_name": self.auto_scaling_group.name,
            "security_group_id": self.security_group.id,
            "instance_role_arn": self.instance_role.arn,
            "session_log_group": self.session_log_group.name,
            "patch_group": self.patch_group,
        })

    # -- network --------------------------------------------------------------------------------------------------
    def _security_group(self, name: str, s: Settings, args: ApplicationTierArgs) -> aws.ec2.SecurityGroup:
        """In: the load balancer on the app port, nothing else. Out: endpoints, gateway prefix lists, database."""
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id,
                                      description="CaseShield application instances: load balancer in; endpoints, database out",
                                      tags={"Name": f"{s.name_prefix}-app"}, opts=child(self))
        aws.vpc.SecurityGroupIngressRule(f"{name}-in-alb", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=s.app_port, to_port=s.app_port,
                                         referenced_security_group_id=args.alb_security_group_id,
                                         description="HTTPS from the load balancer only", opts=child(group))
        for rule in egress_rules(args):
            aws.vpc.SecurityGroupEgressRule(f"{name}-out-{rule.label}", security_group_id=group.id, ip_protocol="tcp",
                                            from_port=rule.port, to_port=rule.port, description=rule.description,
                                            referenced_security_group_id=rule.security_group_id,
                                            cidr_ipv4=rule.cidr_ipv4, prefix_list_id=rule.prefix_list_id,
                                            opts=child(group))
        return group

    # -- identity -------------------------------------------------------------------------------------------------
    def _instance_role(self, name: str, s: Settings,
                       args: ApplicationTierArgs) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
        """Exactly two managed policies (held exclusively, so drift is removed) and decrypt on the session key."""
        role = aws.iam.Role(
            f"{name}-instance-role",
            name=role_name(s, "app-instance"),
            description="CaseShield application instances: Session Manager, patching and CloudWatch agent only",
            assume_role_policy=static_policy_document([{
                "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
            }]),
            permissions_boundary=args.service_boundary_arn,
            opts=child(self),
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        aws.iam.RolePolicyAttachmentsExclusive(
            f"{name}-instance-managed-policies",
            role_name=role.name,
            policy_arns=[pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy) for policy in MANAGED_POLICIES],
            opts=child(role),
        )
        aws.iam.RolePolicy(
            f"{name}-instance-session-key",
            role=role.id,
            policy=policy_document([{
                "Sid": "DecryptSessionManagerSessions",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": args.session_log_key.arn,
            }]),
            opts=child(role),
        )
        profile = aws.iam.InstanceProfile(f"{name}-instance-profile", role=role.name, opts=child(self))
        return role, profile

    # -- Session Manager ------------------------------------------------------------------------------------------
    def _session_logging(self, name: str, s: Settings, args: ApplicationTierArgs) -> aws.cloudwatch.LogGroup:
        """Every administrative session is encrypted end to end and its transcript kept as audit evidence."""
        group = aws.cloudwatch.LogGroup(f"{name}-ssm-sessions", name=f"/caseshield/{s.stack}/ssm-sessions",
                                        kms_key_id=args.session_log_key.arn,
                                        retention_in_days=s.audit_log_retention_days,
                                        deletion_protection_enabled=s.is_prod,
                                        tags={"data-classification": "audit-logs"}, opts=stateful(self, s))
        aws.ssm.Document(
            f"{name}-session-preferences",
            name=SESSION_PREFERENCES_DOCUMENT,
            document_type="Session",
            document_format="JSON",
            content=pulumi.Output.all(group.name, args.session_log_key.key_id).apply(
                lambda values: session_preferences(values[0], values[1])),
            opts=child(self),
        )
        return group

    # -- compute --------------------------------------------------------------------------------------------------
    def _launch_template(self, name: str, s: Settings, args: ApplicationTierArgs,
                         profile: aws.iam.InstanceProfile) -> aws.ec2.LaunchTemplate:
        """IMDSv2 only and one hop (containers cannot steal the role), encrypted gp3, private address, no key pair."""
        ami = aws.ssm.get_parameter_output(name=AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self))
        tags = self._instance_tags(s)
        return aws.ec2.LaunchTemplate(
            f"{name}-launch-template",
            description=f"CaseShield {s.stack} application instances",
            image_id=ami.insecure_value,
            instance_type=s.app_instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
                instance_metadata_tags="disabled"),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_type="gp3", volume_size=ROOT_VOLUME_GB, encrypted="true", kms_key_id=args.volume_key.arn,
                    delete_on_termination="true"),
            )],
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0, associate_public_ip_address="false", delete_on_termination="true",
                security_groups=[self.security_group.id])],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                                for kind in ("instance", "volume")],
            update_default_version=True,
            opts=child(self),
        )

    def _auto_scaling_group(self, name: str, s: Settings, args: ApplicationTierArgs) -> aws.autoscaling.Group:
        """Spread over the app subnets, replaced when the load balancer finds them unhealthy, rolled on new templates."""
        group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=list(args.app_subnet_ids),
            min_size=s.app_min_instances,
            max_size=s.app_max_instances,
            desired_capacity=s.app_min_instances,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)),
            target_group_arns=[args.target_group_arn],
            health_check_type="ELB",
            health_check_grace_period=HEALTH_CHECK_GRACE_SECONDS,
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                # Launch replacements before terminating: capacity never drops during a refresh.
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(min_healthy_percentage=100,
                                                                                max_healthy_percentage=200),
            ),
            tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                  for k, v in self._instance_tags(s).items()],
            # The scaling policy owns the running size between min and max.
            opts=child(self, ignore_changes=["desiredCapacity"]),
        )
        aws.autoscaling.Policy(
            f"{name}-cpu-target",
            autoscaling_group_name=group.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=CPU_TARGET_PERCENT,
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"),
            ),
            opts=child(group),
        )
        return group

    def _instance_tags(self, s: Settings) -> dict[str, str]:
        """Provider default tags do not reach instances and volumes, so they are repeated here."""
        return {"Name": f"{s.name_prefix}-app", PATCH_GROUP_TAG: self.patch_group, "project": "caseshield",
                "environment": s.environment, "owner": s.owner, "stack": s.stack}


def egress_rules(args: ApplicationTierArgs) -> list[Egress]:
    """Where instances may connect: HTTPS to the endpoints and gateway prefix lists, PostgreSQL to the database."""
    endpoints = (Egress("endpoints", HTTPS_PORT, "HTTPS to the VPC interface endpoints",
                        security_group_id=args.endpoint_security_group_id)
                 if args.endpoint_security_group_id is not None
                 else Egress("endpoints", HTTPS_PORT, "HTTPS to the VPC interface endpoints", cidr_ipv4=args.vpc_cidr))
    rules = [endpoints]
    rules += [Egress(f"gateway-{i}", HTTPS_PORT, "HTTPS to a gateway endpoint (S3)", prefix_list_id=pl)
              for i, pl in enumerate(args.endpoint_prefix_list_ids)]
    if args.database_security_group_id is not None:
        rules.append(Egress("database", POSTGRES_PORT, "PostgreSQL to the case database",
                            security_group_id=args.database_security_group_id))
    return rules


def session_preferences(log_group_name: str, key_id: str) -> str:
    """Session Manager preferences: encrypted sessions, streamed to the encrypted log group, no run-as, short idle."""
    return json.dumps({
        "schemaVersion": "1.0",
        "description": "CaseShield Session Manager preferences: encrypted and recorded sessions",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": "",
            "s3KeyPrefix": "",
            "s3EncryptionEnabled": True,
            "cloudWatchLogGroupName": log_group_name,
            "cloudWatchEncryptionEnabled": True,
            "cloudWatchStreamingEnabled": True,
            "kmsKeyId": key_id,
            "runAsEnabled": False,
            "runAsDefaultUser": "",
            "idleSessionTimeout": str(IDLE_SESSION_MINUTES),
            "maxSessionDuration": str(MAX_SESSION_MINUTES),
            "shellProfile": {"windows": "", "linux": ""},
        },
    }, sort_keys=True)
