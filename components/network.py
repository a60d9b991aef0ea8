"""ZeroTrustNetwork: a VPC in which nothing private can reach the internet and AWS APIs are reached privately.

Why this shape:
- Three tiers per availability zone. Only the load balancer lives in the public tier; the app and data tiers have
  route tables with no route to the internet and there is no NAT gateway, so a compromised instance cannot call out
  (exfiltration, command-and-control) and nothing can be reached from the internet except through the load balancer.
- AWS APIs are reached through VPC endpoints: gateway endpoints for S3/DynamoDB, interface endpoints (private DNS)
  for the rest. Every endpoint policy admits only principals of this account, so stolen or personal credentials
  from another account cannot move case data out through our network.
- Network ACLs are a second, stateless layer under the security groups: administration ports (SSH, RDP) are denied
  before anything is allowed, because administrators use Session Manager, never a direct shell.
- VPC flow logs record ALL traffic into a KMS-encrypted log group kept as evidence.

Zones: the component takes `availability_zones` (zone names, plain or an Output, e.g. the `names` of
`aws.get_availability_zones(state="available")`) and uses the first `settings.availability_zone_count` of them, so
the caller decides which zones are eligible and the network stays testable with any zone list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child, classified, policy_document, stateful, static_policy_document

TIERS = ("public", "app", "data")
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")
# What instances in the app tier call with no internet: Session Manager and patching (ssm, ssmmessages, ec2messages,
# ec2), encryption and secrets (kms, secretsmanager, sts), telemetry (logs, monitoring) and notifications (events,
# sns). AWS Backup is not listed: it works service-side and nothing in the VPC calls its API.
INTERFACE_ENDPOINT_SERVICES = (
    "ssm", "ssmmessages", "ec2messages", "kms", "logs", "secretsmanager", "sts", "monitoring", "ec2", "events", "sns",
)
# AWS-owned buckets the instances read packages and agent documents from (Amazon Linux repositories, SSM Agent and
# Patch Manager, CloudWatch agent). dnf fetches repositories unsigned, so these reads carry no principal account and
# are allowed read-only by bucket name; nothing can be written to a bucket AWS owns.
AWS_OWNED_READ_ONLY_BUCKETS = (
    "al2023-repos-{region}-de612dc2", "al2023-{region}", "amazonlinux-2-repos-{region}", "amazonlinux.{region}.amazonaws.com",
    "packages.{region}.amazonaws.com", "repo.{region}.amazonaws.com",
    "aws-ssm-{region}", "amazon-ssm-{region}", "amazon-ssm-packages-{region}", "{region}-birdwatcher-prod",
    "aws-ssm-distributor-file-{region}", "aws-ssm-document-attachments-{region}", "patch-baseline-snapshot-{region}",
    "amazoncloudwatch-agent-{region}", "amazoncloudwatch-agent",
)
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
FLOW_LOG_AGGREGATION_SECONDS = 60  # one-minute records: finer timelines for incident response
HTTPS = 443

ANYWHERE = "0.0.0.0/0"
VPC_CIDR = "<vpc>"  # placeholder in the ACL table, replaced by the settings' VPC CIDR
EPHEMERAL = (1024, 65535)
ALL_PORTS = (0, 0)


@dataclass(frozen=True)
class AclRule:
    """One network ACL entry; `cidr` may be `VPC_CIDR`."""

    number: int
    action: str
    protocol: str
    ports: tuple[int, int]
    cidr: str
    egress: bool = False


# Denied first (lowest numbers) in every tier: nobody administers a host over SSH or RDP, not even from inside.
DENY_ADMIN_PORTS = (
    AclRule(100, "deny", "tcp", (22, 22), ANYWHERE),
    AclRule(110, "deny", "tcp", (3389, 3389), ANYWHERE),
)
NETWORK_ACL_RULES: dict[str, tuple[AclRule, ...]] = {
    # The load balancer: HTTPS (and HTTP, redirected to HTTPS) from clients; replies to clients and from the
    # identity provider on ephemeral ports; out to targets in the VPC and to the identity provider on 443.
    "public": (
        *DENY_ADMIN_PORTS,
        AclRule(200, "allow", "tcp", (HTTPS, HTTPS), ANYWHERE),
        AclRule(210, "allow", "tcp", (80, 80), ANYWHERE),
        AclRule(220, "allow", "tcp", EPHEMERAL, ANYWHERE),
        AclRule(100, "allow", "-1", ALL_PORTS, VPC_CIDR, egress=True),
        AclRule(110, "allow", "tcp", (HTTPS, HTTPS), ANYWHERE, egress=True),
        AclRule(120, "allow", "tcp", EPHEMERAL, ANYWHERE, egress=True),
    ),
    # The application: anything inside the VPC; S3 and DynamoDB answer from public addresses through the gateway
    # endpoints, so HTTPS out and replies in are allowed for any address — the route tables reach no other.
    "app": (
        *DENY_ADMIN_PORTS,
        AclRule(200, "allow", "-1", ALL_PORTS, VPC_CIDR),
        AclRule(210, "allow", "tcp", EPHEMERAL, ANYWHERE),
        AclRule(100, "allow", "-1", ALL_PORTS, VPC_CIDR, egress=True),
        AclRule(110, "allow", "tcp", (HTTPS, HTTPS), ANYWHERE, egress=True),
    ),
    # The database and the interface endpoints: talk to the VPC only.
    "data": (
        *DENY_ADMIN_PORTS,
        AclRule(200, "allow", "-1", ALL_PORTS, VPC_CIDR),
        AclRule(100, "allow", "-1", ALL_PORTS, VPC_CIDR, egress=True),
    ),
}


@dataclass
class ZeroTrustNetworkArgs:
    settings: Settings
    flow_log_key: aws.kms.Key
    availability_zones: pulumi.Input[Sequence[str]]
    # The service roles' permissions boundary (components/service_roles.py); None only outside an environment.
    service_boundary_arn: pulumi.Input[str] | None = None


class ZeroTrustNetwork(pulumi.ComponentResource):
    """VPC, three subnet tiers, private route tables, VPC endpoints, network ACLs and flow logs."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    app_subnets: list[aws.ec2.Subnet]
    data_subnets: list[aws.ec2.Subnet]
    public_route_table: aws.ec2.RouteTable
    app_route_table: aws.ec2.RouteTable
    data_route_table: aws.ec2.RouteTable
    s3_endpoint: aws.ec2.VpcEndpoint
    dynamodb_endpoint: aws.ec2.VpcEndpoint
    interface_endpoints: dict[str, aws.ec2.VpcEndpoint]
    endpoint_security_group: aws.ec2.SecurityGroup
    network_acls: dict[str, aws.ec2.NetworkAcl]
    flow_log_group: aws.cloudwatch.LogGroup
    flow_log: aws.ec2.FlowLog

    def __init__(self, name: str, args: ZeroTrustNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:network:ZeroTrustNetwork", name, None, opts)
        self._name, self._settings = name, args.settings
        invoke = pulumi.InvokeOptions(parent=self)
        self._account = aws.get_caller_identity(opts=invoke).account_id
        self._partition = aws.get_partition(opts=invoke).partition
        s = args.settings

        self.vpc = aws.ec2.Vpc(name, cidr_block=s.vpc_cidr, enable_dns_support=True, enable_dns_hostnames=True,
                               tags={"Name": s.name_prefix}, opts=child(self))
        self._lock_down_defaults()
        zones = first_zones(args.availability_zones, s.availability_zone_count)
        self.public_subnets = self._subnets("public", s.public_subnet_cidrs, zones)
        self.app_subnets = self._subnets("app", s.app_subnet_cidrs, zones)
        self.data_subnets = self._subnets("data", s.data_subnet_cidrs, zones)
        self._route_tables()
        self._gateway_endpoints()
        self._interface_endpoints()
        self._network_acls()
        self._flow_logs(args.flow_log_key, args.service_boundary_arn)
        self.register_outputs(self._outputs())

    # -- subnets and routing -----------------------------------------------------------------------------------
    def _subnets(self, tier: str, cidrs: Sequence[str], zones: Sequence[pulumi.Input[str]]) -> list[aws.ec2.Subnet]:
        """One subnet per zone. No tier assigns public IPs: even the load balancer's subnets only host the ALB."""
        return [
            aws.ec2.Subnet(
                f"{self._name}-{tier}-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{self._settings.name_prefix}-{tier}-{index}", "tier": tier},
                opts=child(self),
            )
            for index, (cidr, zone) in enumerate(zip(cidrs, zones, strict=True))
        ]

    def _route_tables(self) -> None:
        """Only the public tier routes to the internet. The private tables declare `routes=[]`: Pulumi then removes
        any route added outside this code (a NAT or internet route added by hand shows up as drift and is undone);
        the gateway endpoints' prefix-list routes are managed by the endpoints and left alone."""
        igw = aws.ec2.InternetGateway(self._name, vpc_id=self.vpc.id, tags={"Name": self._settings.name_prefix},
                                      opts=child(self))
        self.public_route_table = self._route_table("public", self.public_subnets)
        aws.ec2.Route(f"{self._name}-public-internet", route_table_id=self.public_route_table.id,
                      destination_cidr_block=ANYWHERE, gateway_id=igw.id, opts=child(self))
        self.app_route_table = self._route_table("app", self.app_subnets, routes=[])
        self.data_route_table = self._route_table("data", self.data_subnets, routes=[])

    def _route_table(self, tier: str, subnets: list[aws.ec2.Subnet], **kwargs: Any) -> aws.ec2.RouteTable:
        table = aws.ec2.RouteTable(f"{self._name}-{tier}", vpc_id=self.vpc.id,
                                   tags={"Name": f"{self._settings.name_prefix}-{tier}", "tier": tier},
                                   opts=child(self), **kwargs)
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(f"{self._name}-{tier}-{index}", route_table_id=table.id,
                                          subnet_id=subnet.id, opts=child(self))
        return table

    def _lock_down_defaults(self) -> None:
        """Adopt the VPC's default security group and network ACL with no rules at all: anything attached to them by
        mistake (an instance launched without a group, a subnet created outside this component) gets no traffic."""
        aws.ec2.DefaultSecurityGroup(f"{self._name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
                                     tags={"Name": f"{self._settings.name_prefix}-default-deny-all"}, opts=child(self))
        aws.ec2.DefaultNetworkAcl(f"{self._name}-default-acl", default_network_acl_id=self.vpc.default_network_acl_id,
                                  tags={"Name": f"{self._settings.name_prefix}-default-deny-all"}, opts=child(self))

    # -- VPC endpoints -----------------------------------------------------------------------------------------
    def _gateway_endpoints(self) -> None:
        """S3 and DynamoDB through gateway endpoints on the private route tables (free, and no internet path)."""
        endpoints = {
            service: aws.ec2.VpcEndpoint(
                f"{self._name}-{service}",
                vpc_id=self.vpc.id,
                service_name=service_name(self._settings.region, service),
                vpc_endpoint_type="Gateway",
                route_table_ids=[self.app_route_table.id, self.data_route_table.id],
                policy=gateway_endpoint_policy(service, self._account, self._partition, self._settings.region),
                tags={"Name": f"{self._settings.name_prefix}-{service}"},
                opts=child(self),
            )
            for service in GATEWAY_ENDPOINT_SERVICES
        }
        self.s3_endpoint, self.dynamodb_endpoint = endpoints["s3"], endpoints["dynamodb"]

    def _interface_endpoints(self) -> None:
        """Interface endpoints in the data subnets behind one security group that admits HTTPS from the VPC only."""
        s = self._settings
        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints", vpc_id=self.vpc.id, description="CaseShield VPC interface endpoints: HTTPS from the VPC",
            tags={"Name": f"{s.name_prefix}-endpoints"}, opts=child(self))
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-endpoints-https", security_group_id=self.endpoint_security_group.id, ip_protocol="tcp",
            from_port=HTTPS, to_port=HTTPS, cidr_ipv4=s.vpc_cidr, description="HTTPS to AWS APIs from inside the VPC",
            opts=child(self))
        self.interface_endpoints = {
            service: aws.ec2.VpcEndpoint(
                f"{self._name}-{service}",
                vpc_id=self.vpc.id,
                service_name=service_name(s.region, service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in self.data_subnets],
                security_group_ids=[self.endpoint_security_group.id],
                policy=interface_endpoint_policy(self._account),
                tags={"Name": f"{s.name_prefix}-{service}"},
                opts=child(self),
            )
            for service in INTERFACE_ENDPOINT_SERVICES
        }

    # -- network ACLs ------------------------------------------------------------------------------------------
    def _network_acls(self) -> None:
        subnets = {"public": self.public_subnets, "app": self.app_subnets, "data": self.data_subnets}
        self.network_acls = {}
        for tier in TIERS:
            rules = NETWORK_ACL_RULES[tier]
            self.network_acls[tier] = aws.ec2.NetworkAcl(
                f"{self._name}-{tier}",
                vpc_id=self.vpc.id,
                subnet_ids=[subnet.id for subnet in subnets[tier]],
                ingress=[aws.ec2.NetworkAclIngressArgs(**self._acl_entry(r)) for r in rules if not r.egress],
                egress=[aws.ec2.NetworkAclEgressArgs(**self._acl_entry(r)) for r in rules if r.egress],
                tags={"Name": f"{self._settings.name_prefix}-{tier}", "tier": tier},
                opts=child(self),
            )

    def _acl_entry(self, rule: AclRule) -> dict[str, Any]:
        cidr = self._settings.vpc_cidr if rule.cidr == VPC_CIDR else rule.cidr
        return {"rule_no": rule.number, "action": rule.action, "protocol": rule.protocol,
                "from_port": rule.ports[0], "to_port": rule.ports[1], "cidr_block": cidr}

    # -- flow logs ---------------------------------------------------------------------------------------------
    def _flow_logs(self, key: aws.kms.Key, boundary: pulumi.Input[str] | None) -> None:
        """ALL traffic (accepted and rejected) to an encrypted log group that is evidence: protected in prod."""
        s = self._settings
        self.flow_log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            name=f"/{s.name_prefix}/network/vpc-flow-logs",
            kms_key_id=key.arn,
            retention_in_days=s.operational_log_retention_days,
            deletion_protection_enabled=s.is_prod,
            tags=classified("operational-logs"),
            opts=stateful(self, s),
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs",
            name=f"{s.name_prefix}-vpc-flow-logs",
            description="VPC flow logs delivery: writes only to the network's flow-log group",
            assume_role_policy=flow_log_trust_policy(self._account, self._partition, s.region),
            permissions_boundary=boundary,
            opts=child(self),
        )
        write = aws.iam.RolePolicy(f"{self._name}-flow-logs-write", role=role.id,
                                   policy=flow_log_write_policy(self.flow_log_group.arn, self._account, self._partition, s.region),
                                   opts=child(self))
        self.flow_log = aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=FLOW_LOG_AGGREGATION_SECONDS,
            tags={"Name": f"{s.name_prefix}-vpc"},
            opts=child(self, depends_on=[write]),
        )

    def _outputs(self) -> dict[str, Any]:
        return {
            "vpc_id": self.vpc.id,
            "public_subnet_ids": [subnet.id for subnet in self.public_subnets],
            "app_subnet_ids": [subnet.id for subnet in self.app_subnets],
            "data_subnet_ids": [subnet.id for subnet in self.data_subnets],
            "s3_endpoint_id": self.s3_endpoint.id,
            "dynamodb_endpoint_id": self.dynamodb_endpoint.id,
            "interface_endpoint_ids": {service: endpoint.id for service, endpoint in self.interface_endpoints.items()},
            "endpoint_security_group_id": self.endpoint_security_group.id,
            "flow_log_group_name": self.flow_log_group.name,
        }


def first_zones(zones: pulumi.Input[Sequence[str]], count: int) -> list[pulumi.Output[str]]:
    """The first `count` zone names; fails the deployment, naming the shortfall, if the region offers fewer."""

    def enough(names: Sequence[str]) -> list[str]:
        if len(names) < count:
            raise ValueError(f"availabilityZoneCount is {count} but only {len(names)} zones are available: {list(names)}")
        return list(names[:count])

    chosen = pulumi.Output.from_input(zones).apply(enough)
    return [chosen.apply(itemgetter(index)) for index in range(count)]


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def own_account_only(account: str) -> dict[str, Any]:
    """Any action, but only by principals of this account: the identity perimeter every endpoint enforces."""
    return {
        "Sid": "OnlyThisAccountsPrincipals",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
    }


def interface_endpoint_policy(account: str) -> str:
    """Principals of this account only; resources are not limited, because agents read AWS-owned SSM documents and
    public parameters (AWS-RunPatchBaseline, /aws/service/...) through these endpoints."""
    return static_policy_document([own_account_only(account)])


def gateway_endpoint_policy(service: str, account: str, partition: str, region: str) -> str:
    """This account's principals to this account's resources (both perimeters), plus, for S3, read-only access to
    the AWS-owned package and agent buckets patching needs."""
    statement = own_account_only(account)
    statement["Sid"] = "OnlyThisAccountsPrincipalsToThisAccountsResources"
    statement["Condition"] = {"StringEquals": {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}}
    statements = [statement]
    if service == "s3":
        statements.append({
            "Sid": "ReadAwsOwnedPackageAndAgentBuckets",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
            "Resource": [f"arn:{partition}:s3:::{bucket.format(region=region)}/*" for bucket in AWS_OWNED_READ_ONLY_BUCKETS],
        })
    return static_policy_document(statements)


def flow_log_trust_policy(account: str, partition: str, region: str) -> str:
    """Only the flow-logs service may assume the role, and only for flow logs of this account (no confused deputy)."""
    return static_policy_document([{
        "Sid": "FlowLogsServiceForThisAccountOnly",
        "Effect": "Allow",
        "Principal": {"Service": FLOW_LOGS_SERVICE},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*"},
        },
    }])


def flow_log_write_policy(group_arn: pulumi.Input[str], account: str, partition: str, region: str) -> pulumi.Output[str]:
    """Create streams in and write to the one flow-log group; nothing else (no CreateLogGroup, no other group).
    Delivery also lists the account's log groups to find its own, which reads names only."""
    group = pulumi.Output.from_input(group_arn)
    return policy_document([
        {
            "Sid": "WriteOnlyTheFlowLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group, pulumi.Output.concat(group, ":log-stream:*")],
        },
        {
            # IAM authorizes DescribeLogGroups only on "*" (its definition lists no resource type): a log-group ARN
            # here matched nothing (parliament: RESOURCE_MISMATCH). It returns names and settings, never events.
            "Sid": "FindTheFlowLogGroup",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",
        },
    ])
