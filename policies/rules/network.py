"""Zero-trust network rules (NET-*): nothing private is reachable from, or can reach, the internet; AWS APIs are reached
through VPC endpoints; nobody administers a host over SSH or RDP; each tier admits only its neighbour.

Relations are read from property dependencies, as the engine provides them at preview: a subnet's route tables are
those of the RouteTableAssociations whose `subnetId` came from it; the database's security groups are those its
`vpcSecurityGroupIds` came from; the app tier's groups are those its launch templates attach; the load balancer's
groups are those its `securityGroups` came from. Literal values are judged only once they are known.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    ancestors,
    as_list,
    conditions,
    consumers,
    document,
    environment,
    expect,
    is_list,
    is_unknown,
    of_type,
    peek,
    reveal,
    sources_of_type,
    statements,
    tag,
    unique,
    violation,
)
from policies.rules.encryption import DB_INSTANCE, LAUNCH_TEMPLATE, LOAD_BALANCERS, LOG_GROUP, is_true

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
INSTANCE = "aws:ec2/instance:Instance"
COMPUTE = (LAUNCH_TEMPLATE, INSTANCE)
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
INTERNET_GATEWAYS = ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
                     NAT_GATEWAY)
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
NETWORK_ACLS = ("aws:ec2/networkAcl:NetworkAcl", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EDGE_COMPONENT = "caseshield:edge:EdgeProtection"

# NET-01: the load balancer type that may face the internet (absent means application).
EDGE_LOAD_BALANCER_TYPES = (None, "application")

# NET-02: subnets are tiered by their `tier` tag; these tiers must have no path to the internet.
TIER_TAG = "tier"
PRIVATE_TIERS = ("app", "data")
EVERYWHERE = {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}
INLINE_ROUTE_DESTINATIONS = ("cidrBlock", "ipv6CidrBlock")
ROUTE_DESTINATIONS = ("destinationCidrBlock", "destinationIpv6CidrBlock")
ROUTE_TARGETS = ("gatewayId", "egressOnlyGatewayId", "natGatewayId")
# A route target named by a literal id: internet, egress-only internet and NAT gateways.
INTERNET_GATEWAY_ID_PREFIXES = ("igw-", "eigw-", "nat-")

# NET-03: the endpoints every VPC needs, by service, with their endpoint type: every AWS API the app tier calls, which
# has no route to the internet (Session Manager and patching, keys and secrets, telemetry, notifications). A missing
# one breaks the private path and invites the NAT gateway that would make the tier reach the internet.
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
INTERFACE_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages", "ec2", "kms", "logs", "secretsmanager", "sts", "monitoring",
                       "events", "sns")
REQUIRED_ENDPOINTS = {**dict.fromkeys(GATEWAY_ENDPOINTS, "Gateway"), **dict.fromkeys(INTERFACE_ENDPOINTS, "Interface")}
DEFAULT_ENDPOINT_TYPE = "Gateway"
SERVICE_NAME = re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.(?P<service>[a-z0-9.-]+)$")
ACCOUNT_CONDITION = ("StringEquals", "aws:principalaccount")
# What an endpoint may allow without the account condition: reading objects of named (AWS-owned) buckets.
READ_ONLY_ACTIONS = ("s3:GetObject",)
NAMED_OBJECTS = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]*/.*$")

# NET-05: remote administration ports, and the protocols that carry them.
ADMIN_PORTS = (22, 3389)
ALL_PROTOCOLS = ("-1", "all")
PORT_PROTOCOLS = ("tcp", "udp", "6", "17")
ALL_PORTS = (0, 65535)

# NET-06: flow logs record accepted and rejected traffic, to CloudWatch Logs.
FLOW_LOG_TRAFFIC = "ALL"
FLOW_LOG_DESTINATIONS = (None, "cloud-watch-logs")


def is_off(value: Any) -> bool:
    return not is_true(value)


def family(cidr: Any) -> str:
    return "ipv6" if isinstance(cidr, str) and ":" in cidr else "ipv4"


def is_everywhere(cidr: Any) -> bool:
    return cidr in EVERYWHERE.values()


def protocol_name(protocol: Any) -> str:
    """An IP protocol as AWS spells it in rules ("tcp", "6", "-1"); numbers arrive as floats."""
    if isinstance(protocol, (int, float)) and not isinstance(protocol, bool):
        return str(int(protocol))
    return str(protocol).lower()


def admits_port(protocol: Any, from_port: Any, to_port: Any, port: int) -> bool | None:
    """Whether an entry (protocol, port range) admits TCP or UDP `port`; None while any part is unknown."""
    if any(is_unknown(v) for v in (protocol, from_port, to_port)):
        return None
    name = protocol_name(protocol)
    if name in ALL_PROTOCOLS:
        return True
    if name not in PORT_PROTOCOLS:
        return False
    low = ALL_PORTS[0] if from_port is None else from_port
    high = ALL_PORTS[1] if to_port is None else to_port
    return bool(low <= port <= high)


# --- addresses inside and outside the VPC (issue 14: reachability, not the presence of a rule) ---------------------

# A managed prefix list id: AWS's address ranges of a service reached through a gateway endpoint (S3, DynamoDB).
PREFIX_LIST = "pl-"


def is_count(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def vpc_networks(resource: PolicyResource, prop: str = "vpcId") -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The address ranges of the VPC `resource`'s `prop` came from; None while one is not yet known."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for vpc in sources_of_type(resource, prop, VPC):
        for key in ("cidrBlock", "ipv6CidrBlock"):
            value = peek(vpc.props, key)
            if is_unknown(value):
                return None
            if isinstance(value, str) and value:
                found.append(ipaddress.ip_network(value, strict=False))
    return found


def outside(cidr: Any, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None) -> bool:
    """Whether an address range reaches beyond the VPC's ranges; a value (or a VPC range) not yet known is not judged,
    except that 0.0.0.0/0 and ::/0 are outside every VPC."""
    if is_everywhere(cidr):
        return True
    if not isinstance(cidr, str) or is_unknown(cidr) or cidr.startswith(PREFIX_LIST) or networks is None:
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return True
    return not any(network.version == n.version and network.subnet_of(n) for n in networks)  # type: ignore[arg-type]


# --- NET-01 -------------------------------------------------------------------------------------------------------

@resource_rule("NET-01", SUBNET)
def subnets_never_assign_public_ips(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No subnet gives what is launched in it a public IP address.
    Implemented by components/network.py (ZeroTrustNetwork._subnets)."""
    expect(report, args, "mapPublicIpOnLaunch", is_off, expected="false or absent")


@resource_rule("NET-01", *COMPUTE)
def instances_get_no_public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Launch templates and instances never ask for a public IP address.
    Implemented by components/app_tier.py (ApplicationTier._launch_template)."""
    if args.resource_type == INSTANCE:
        expect(report, args, "associatePublicIpAddress", is_off, expected="false or absent")
    for i, _ in enumerate(as_list(args.props.get("networkInterfaces"))):
        expect(report, args, f"networkInterfaces.{i}.associatePublicIpAddress", is_off, expected='"false" or absent')


@resource_rule("NET-01", DB_INSTANCE, CLUSTER_INSTANCE)
def databases_are_not_publicly_accessible(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No database instance has a publicly resolvable, internet-reachable endpoint.
    Implemented by components/database.py (CaseDatabase._instance)."""
    expect(report, args, "publiclyAccessible", is_off, expected="false or absent")


def faces_internet(load_balancer: PolicyResource) -> bool:
    """Internet-facing: `internal` is not true (absent means internet-facing); unknown is not judged."""
    internal = load_balancer.props.get("internal")
    return not is_unknown(internal) and not is_true(internal)


def is_edge_load_balancer(load_balancer: PolicyResource) -> bool:
    """An application load balancer of the edge component (WAF, TLS and Cognito in front of it)."""
    return (load_balancer.props.get("loadBalancerType") in EDGE_LOAD_BALANCER_TYPES
            and any(a.resource_type == EDGE_COMPONENT for a in ancestors(load_balancer)))


@stack_rule("NET-01")
def only_the_edge_load_balancer_faces_the_internet(args: StackValidationArgs, report: ReportViolation) -> None:
    """The one internet-facing resource is the edge's application load balancer; any other load balancer is internal.
    Implemented by components/edge.py (EdgeProtection._load_balancer)."""
    facing = [lb for lb in of_type(args, *LOAD_BALANCERS) if faces_internet(lb)]
    edge = [lb for lb in facing if is_edge_load_balancer(lb)][:1]
    for lb in facing:
        if lb not in edge:
            violation(report, f"{lb.name} faces the internet", path="internal", actual=peek(lb.props, "internal"),
                      expected=f"true: only one application load balancer of {EDGE_COMPONENT} may be internet-facing",
                      urn=lb.urn)


# --- NET-02 -------------------------------------------------------------------------------------------------------

def private_route_tables(args: StackValidationArgs) -> list[PolicyResource]:
    """Route tables associated with subnets tagged as an app or data tier."""
    subnets = [s for s in of_type(args, SUBNET) if tag(s, TIER_TAG) in PRIVATE_TIERS]
    associations = [a for s in subnets for a in consumers(args, s, ROUTE_TABLE_ASSOCIATION, "subnetId")]
    return unique(t for a in associations for t in sources_of_type(a, "routeTableId", ROUTE_TABLE))


def internet_route(route: Mapping[str, Any], destinations: tuple[str, ...]) -> str | None:
    """The input that makes a route lead to the internet: a default destination, or a literal gateway id."""
    for prop in destinations:
        if is_everywhere(peek(route, prop)):
            return prop
    for prop in ROUTE_TARGETS:
        target = peek(route, prop)  # unknown: the gateway it came from decides (internet_routes)
        if isinstance(target, str) and target.startswith(INTERNET_GATEWAY_ID_PREFIXES):
            return prop
    return None


def internet_routes(args: StackValidationArgs, table: PolicyResource) -> Iterator[tuple[PolicyResource, str, Any]]:
    """(resource, path, value) of every route of the table that leads to the internet, inline or separate."""
    for i, route in enumerate(as_list(table.props.get("routes"))):
        prop = internet_route(route, INLINE_ROUTE_DESTINATIONS)
        if prop:
            yield table, f"routes.{i}.{prop}", route.get(prop)
    gateways = sources_of_type(table, "routes", *INTERNET_GATEWAYS)
    if gateways:
        yield table, "routes", [g.name for g in gateways]
    for route in consumers(args, table, ROUTE, "routeTableId"):
        prop = internet_route(route.props, ROUTE_DESTINATIONS)
        prop = prop or next((p for p in ROUTE_TARGETS if sources_of_type(route, p, *INTERNET_GATEWAYS)), None)
        if prop:
            yield route, prop, peek(route.props, prop)


@stack_rule("NET-02")
def private_subnets_have_no_internet_route(args: StackValidationArgs, report: ReportViolation) -> None:
    """Route tables of app and data subnets have no default route and no route to an internet or NAT gateway.
    Implemented by components/network.py (ZeroTrustNetwork._route_tables)."""
    for table in private_route_tables(args):
        for resource, path, value in internet_routes(args, table):
            violation(report, f"{resource.name} gives the private subnets of {table.name} a route to the internet", path=path,
                      actual=value, expected="no 0.0.0.0/0 or ::/0 route and no internet, egress-only or NAT gateway target",
                      urn=resource.urn)


@stack_rule("NET-02")
def there_is_no_nat_gateway(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stack creates no NAT gateway: private instances have no way out, not even one nobody routes to yet.
    Implemented by components/network.py (ZeroTrustNetwork: VPC endpoints instead of NAT)."""
    for gateway in of_type(args, NAT_GATEWAY):
        violation(report, f"{gateway.name} is a NAT gateway", path="subnetId", actual=peek(gateway.props, "subnetId"),
                  expected="no NAT gateway: AWS APIs are reached through VPC endpoints", urn=gateway.urn)


# --- NET-03 -------------------------------------------------------------------------------------------------------

def endpoint_service(endpoint: PolicyResource) -> tuple[str, str] | None:
    """(service, endpoint type) of an endpoint, e.g. ("kms", "Interface"); None while the service name is unknown."""
    name, kind = endpoint.props.get("serviceName"), endpoint.props.get("vpcEndpointType") or DEFAULT_ENDPOINT_TYPE
    if is_unknown(name) or is_unknown(kind):
        return None
    match = SERVICE_NAME.match(str(name))
    return (match["service"] if match else str(name)), kind


@stack_rule("NET-03")
def aws_services_are_reached_through_vpc_endpoints(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every VPC has S3 and DynamoDB gateway endpoints and interface endpoints for SSM, KMS, logs, metrics, secrets and STS.
    Implemented by components/network.py (ZeroTrustNetwork._gateway_endpoints, _interface_endpoints)."""
    for vpc in of_type(args, VPC):
        services = [endpoint_service(e) for e in consumers(args, vpc, VPC_ENDPOINT, "vpcId")]
        present = {s for s in services if s is not None}
        missing = [f"{service} ({kind})" for service, kind in REQUIRED_ENDPOINTS.items() if (service, kind) not in present]
        if missing and None not in services:
            violation(report, f"{vpc.name} has no endpoint for {', '.join(missing)}", path="vpcEndpoints",
                      actual=sorted(f"{s} ({k})" for s, k in present),
                      expected=f"endpoints for {', '.join(f'{s} ({k})' for s, k in REQUIRED_ENDPOINTS.items())}", urn=vpc.urn)


@resource_rule("NET-03", VPC_ENDPOINT)
def interface_endpoints_use_private_dns(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Interface endpoints enable private DNS, so the SDKs' default service names resolve inside the VPC.
    Implemented by components/network.py (ZeroTrustNetwork._interface_endpoints)."""
    if args.props.get("vpcEndpointType") == "Interface":
        expect(report, args, "privateDnsEnabled", (True,), expected="true (absent means false)")


def limited_to_the_account(statement: Mapping[str, Any]) -> bool:
    operator, key = ACCOUNT_CONDITION
    return any(o == operator and k == key and values for o, k, values in conditions(statement))


def reads_named_objects(statement: Mapping[str, Any]) -> bool:
    """Only reads objects of buckets named in full (no wildcard in a bucket name), e.g. AWS's package repositories."""
    actions, resources = as_list(statement.get("Action")), as_list(statement.get("Resource"))
    return (bool(actions) and all(a in READ_ONLY_ACTIONS for a in actions) and bool(resources)
            and all(isinstance(r, str) and NAMED_OBJECTS.match(r) and "*" not in r.split("/")[0] for r in resources))


@resource_rule("NET-03", VPC_ENDPOINT)
def vpc_endpoint_policies_admit_only_this_account(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every endpoint policy allows only principals of this account (aws:PrincipalAccount), or reads of named buckets.
    Implemented by components/network.py (own_account_only, gateway_endpoint_policy, interface_endpoint_policy)."""
    policy = reveal(args.props.get("policy"))
    if is_unknown(policy):
        return
    doc = document(policy)
    if doc is None:
        violation(report, f"{args.name} has no endpoint policy: the default lets any principal of any account through",
                  path="policy", actual=policy, expected="a policy whose Allow statements require aws:PrincipalAccount")
        return
    for i, statement in enumerate(statements(doc)):
        if statement.get("Effect") == "Allow" and not (limited_to_the_account(statement) or reads_named_objects(statement)):
            violation(report, f"{args.name} lets principals of other accounts through", path=f"policy.Statement.{i}",
                      actual=statement, expected="a StringEquals aws:PrincipalAccount condition, or s3:GetObject on named buckets")


# --- NET-04 -------------------------------------------------------------------------------------------------------

@stack_rule("NET-04")
def default_security_groups_have_no_rules(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every VPC's default security group is adopted with no ingress and no egress rule, inline or separate.
    Implemented by components/network.py (ZeroTrustNetwork._lock_down_defaults)."""
    for vpc in of_type(args, VPC):
        if not consumers(args, vpc, DEFAULT_SECURITY_GROUP, "vpcId"):
            violation(report, f"{vpc.name}'s default security group is not adopted: AWS's allows all traffic within the group",
                      path="defaultSecurityGroup", actual=None, expected=f"an {DEFAULT_SECURITY_GROUP} with ingress [] and egress []",
                      urn=vpc.urn)
    for group in of_type(args, DEFAULT_SECURITY_GROUP):
        for direction in ("ingress", "egress"):
            expect(report, group, direction, lambda rules: not rules, expected="[] or absent (no rules)")
    # A VPC's only security-group output is its default group's id.
    for rule in of_type(args, INGRESS_RULE, EGRESS_RULE, SECURITY_GROUP_RULE):
        groups = sources_of_type(rule, "securityGroupId", DEFAULT_SECURITY_GROUP, VPC)
        if groups:
            violation(report, f"{rule.name} adds a rule to the default security group", path="securityGroupId",
                      actual=[g.name for g in groups], expected="no rule on a default security group", urn=rule.urn)


DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"


@stack_rule("NET-04")
def default_network_acls_admit_nothing(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every VPC's default network ACL is adopted with no ingress and no egress rule: a subnet created outside the
    blueprint (or left without its tier's ACL) is associated with it and must get no traffic, where AWS's own default
    ACL admits everything in and out. Implemented by components/network.py (ZeroTrustNetwork._lock_down_defaults)."""
    for vpc in of_type(args, VPC):
        if not consumers(args, vpc, DEFAULT_NETWORK_ACL, "defaultNetworkAclId"):
            violation(report, f"{vpc.name}'s default network ACL is not adopted: AWS's admits all traffic in and out",
                      path="defaultNetworkAclId", actual=None,
                      expected=f"a {DEFAULT_NETWORK_ACL} of this VPC with ingress [] and egress []", urn=vpc.urn)
    for acl in of_type(args, DEFAULT_NETWORK_ACL):
        for direction in ("ingress", "egress"):
            expect(report, acl, direction, lambda rules: not rules, expected="[] or absent (no rules)")


# --- NET-05 -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AclEntry:
    """One inbound network ACL entry, inline (`ingress.<i>`) or a separate NetworkAclRule."""

    resource: PolicyResource
    path: str
    number: Any
    action: Any
    protocol: Any
    from_port: Any
    to_port: Any
    cidr: Any

    def admits(self, port: int) -> bool:
        known = isinstance(self.number, (int, float)) and not isinstance(self.number, bool)
        return known and bool(admits_port(self.protocol, self.from_port, self.to_port, port))

    @property
    def evidence(self) -> dict[str, Any]:
        return {"ruleNo": self.number, "action": self.action, "protocol": self.protocol, "ports": [self.from_port, self.to_port],
                "cidr": self.cidr}


def acl_ingress(args: StackValidationArgs, acl: PolicyResource) -> list[AclEntry]:
    entries = [AclEntry(acl, f"ingress.{i}", e.get("ruleNo"), e.get("action"), e.get("protocol"), e.get("fromPort"),
                        e.get("toPort"), e.get("cidrBlock") or e.get("ipv6CidrBlock"))
               for i, e in enumerate(as_list(acl.props.get("ingress")))]
    for rule in consumers(args, acl, NETWORK_ACL_RULE, "networkAclId"):
        p = rule.props
        if not is_true(p.get("egress")):
            entries.append(AclEntry(rule, "ruleNumber", p.get("ruleNumber"), p.get("ruleAction"), p.get("protocol"), p.get("fromPort"),
                                    p.get("toPort"), p.get("cidrBlock") or p.get("ipv6CidrBlock")))
    return entries


@stack_rule("NET-05")
def network_acls_deny_admin_ports_before_any_allow(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every network ACL entry that allows SSH or RDP in comes after a deny of that port from everywhere.
    Implemented by components/network.py (NETWORK_ACL_RULES, DENY_ADMIN_PORTS)."""
    for acl in of_type(args, *NETWORK_ACLS):
        entries = acl_ingress(args, acl)
        for port in ADMIN_PORTS:
            admitting = [e for e in entries if e.admits(port)]
            for allow in (e for e in admitting if e.action == "allow"):
                everywhere = EVERYWHERE[family(allow.cidr)]
                if not any(e.action == "deny" and e.cidr == everywhere and e.number < allow.number for e in admitting):
                    violation(report, f"{acl.name} allows port {port} in before denying it from everywhere", path=allow.path,
                              actual=allow.evidence, expected=f"a lower-numbered deny of port {port} from {everywhere}",
                              urn=allow.resource.urn)


def security_group_ingress(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Any, Any, Any, list[Any]]]:
    """(path, protocol, from port, to port, source CIDRs) of each inbound rule a resource declares."""
    if resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return [(f"ingress.{i}", e.get("protocol"), e.get("fromPort"), e.get("toPort"),
                 as_list(e.get("cidrBlocks")) + as_list(e.get("ipv6CidrBlocks"))) for i, e in enumerate(as_list(props.get("ingress")))]
    if resource_type == INGRESS_RULE:
        return [("cidrIpv4", props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"),
                 as_list(props.get("cidrIpv4")) + as_list(props.get("cidrIpv6")))]
    if props.get("type") == "ingress":
        return [("cidrBlocks", props.get("protocol"), props.get("fromPort"), props.get("toPort"),
                 as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks")))]
    return []


@resource_rule("NET-05", SECURITY_GROUP, DEFAULT_SECURITY_GROUP, INGRESS_RULE, SECURITY_GROUP_RULE)
def security_groups_admit_no_admin_ports_from_anywhere(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No security group rule admits SSH (22) or RDP (3389), or all ports, from 0.0.0.0/0 or ::/0.
    Implemented by components/edge.py, app_tier.py, database.py and network.py (no rule opens an admin port)."""
    for path, protocol, from_port, to_port, cidrs in security_group_ingress(args.resource_type, args.props):
        open_to = [c for c in cidrs if is_everywhere(c)]
        ports = [p for p in ADMIN_PORTS if admits_port(protocol, from_port, to_port, p)]
        if open_to and ports:
            violation(report, f"{args.name} admits port {', '.join(map(str, ports))} from {', '.join(open_to)}", path=path,
                      actual={"protocol": protocol, "ports": [from_port, to_port], "from": cidrs},
                      expected="no SSH, RDP or all-port ingress from anywhere (administrators use Session Manager)")


# --- NET-06 -------------------------------------------------------------------------------------------------------

@stack_rule("NET-06")
def vpc_flow_logs_capture_all_traffic(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every VPC has a flow log of ALL traffic, delivered to a CloudWatch log group with a retention period.
    Implemented by components/network.py (ZeroTrustNetwork._flow_logs)."""
    for vpc in of_type(args, VPC):
        flow_logs = consumers(args, vpc, FLOW_LOG, "vpcId")
        if not flow_logs:
            violation(report, f"{vpc.name} has no flow log", path="flowLogs", actual=None,
                      expected=f"an {FLOW_LOG} whose vpcId came from the VPC", urn=vpc.urn)
        for flow_log in flow_logs:
            expect(report, flow_log, "trafficType", (FLOW_LOG_TRAFFIC,), expected='"ALL" (ACCEPT or REJECT alone leaves gaps)')
            expect(report, flow_log, "logDestinationType", FLOW_LOG_DESTINATIONS, expected='"cloud-watch-logs" (the default)')
            groups = sources_of_type(flow_log, "logDestination", LOG_GROUP) + sources_of_type(flow_log, "logGroupName", LOG_GROUP)
            if not groups:
                violation(report, f"{flow_log.name} delivers to no log group of this stack", path="logDestination",
                          actual=peek(flow_log.props, "logDestination"), expected=f"the ARN of an {LOG_GROUP}", urn=flow_log.urn)
            for group in groups:
                days = floor("retention_days.operational_logs", environment(group))
                expect(report, group, "retentionInDays", lambda value, days=days: is_count(value) and value >= days,
                       expected=f">= {days} days, the {environment(group) or 'unknown (prod)'} floor of policies/floors.yaml "
                                "(absent or 0 keeps flow logs forever, unmanaged)")


# --- NET-07 -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ingress:
    """One way into a security group: the address ranges it admits and the groups it admits (by where their ids came from)."""

    resource: PolicyResource
    addresses_path: str
    addresses: list[Any]
    peers_path: str
    peers: list[PolicyResource]
    peer: Any


def ingress_of(args: StackValidationArgs, group: PolicyResource) -> list[Ingress]:
    """Inline ingress of the group and every separate ingress rule whose securityGroupId came from it."""
    found = []
    for i, e in enumerate(as_list(group.props.get("ingress"))):
        addresses = as_list(e.get("cidrBlocks")) + as_list(e.get("ipv6CidrBlocks")) + as_list(e.get("prefixListIds"))
        peers = ([group] if is_true(e.get("self")) else []) + sources_of_type(group, "ingress", SECURITY_GROUP)
        found.append(Ingress(group, f"ingress.{i}", addresses, f"ingress.{i}", peers, e.get("securityGroups")))
    for rule in consumers(args, group, INGRESS_RULE, "securityGroupId"):
        p = rule.props
        addresses = [v for v in (p.get("cidrIpv4"), p.get("cidrIpv6"), p.get("prefixListId")) if v]
        found.append(Ingress(rule, "cidrIpv4", addresses, "referencedSecurityGroupId",
                             sources_of_type(rule, "referencedSecurityGroupId", SECURITY_GROUP), peek(p, "referencedSecurityGroupId")))
    for rule in consumers(args, group, SECURITY_GROUP_RULE, "securityGroupId"):
        p = rule.props
        if p.get("type") == "ingress":
            addresses = as_list(p.get("cidrBlocks")) + as_list(p.get("ipv6CidrBlocks")) + as_list(p.get("prefixListIds"))
            peers = [group] if is_true(p.get("self")) else sources_of_type(rule, "sourceSecurityGroupId", SECURITY_GROUP)
            found.append(Ingress(rule, "cidrBlocks", addresses, "sourceSecurityGroupId", peers, p.get("sourceSecurityGroupId")))
    return found


def admits_only(args: StackValidationArgs, report: ReportViolation, group: PolicyResource, allowed: list[PolicyResource],
                who: str) -> None:
    """Report every way into `group` that is not a security group of `allowed`."""
    names = [g.name for g in allowed] or ["(none in this stack)"]
    expected = f"only a referenced security group whose id came from {who} ({', '.join(names)}), no address ranges"
    for ingress in ingress_of(args, group):
        if ingress.addresses:
            violation(report, f"{group.name} admits address ranges, not only {who}", path=ingress.addresses_path,
                      actual=ingress.addresses, expected=expected, urn=ingress.resource.urn)
        elif not ingress.peers or any(p.urn not in {g.urn for g in allowed} for p in ingress.peers):
            violation(report, f"{group.name} admits a security group other than {who}", path=ingress.peers_path,
                      actual=[p.name for p in ingress.peers] or ingress.peer, expected=expected, urn=ingress.resource.urn)


def app_tier_groups(args: StackValidationArgs) -> list[PolicyResource]:
    """The security groups the app tier's instances get: those its launch templates (or instances) attach."""
    return unique(g for compute in of_type(args, *COMPUTE) for prop in ("networkInterfaces", "vpcSecurityGroupIds")
                  for g in sources_of_type(compute, prop, SECURITY_GROUP))


@stack_rule("NET-07")
def database_admits_only_the_app_tier(args: StackValidationArgs, report: ReportViolation) -> None:
    """The database's security groups admit only the app tier's security group: no address range, no other group.
    Implemented by components/database.py (CaseDatabase._security_group) and components/environment.py (database-from-app)."""
    app = app_tier_groups(args)
    for db in of_type(args, DB_INSTANCE):
        groups = sources_of_type(db, "vpcSecurityGroupIds", SECURITY_GROUP)
        if not groups:
            violation(report, f"{db.name} has no security group of this stack (the VPC's default group would apply)",
                      path="vpcSecurityGroupIds", actual=peek(db.props, "vpcSecurityGroupIds"),
                      expected=f"the id of an {SECURITY_GROUP} that admits only the app tier", urn=db.urn)
        for group in groups:
            admits_only(args, report, group, app, "the app tier")


@stack_rule("NET-07")
def app_tier_admits_only_the_load_balancer(args: StackValidationArgs, report: ReportViolation) -> None:
    """The app tier's security groups admit only the load balancer's security group.
    Implemented by components/app_tier.py (ApplicationTier._security_group)."""
    balancers = unique(g for lb in of_type(args, *LOAD_BALANCERS) for g in sources_of_type(lb, "securityGroups", SECURITY_GROUP))
    for group in app_tier_groups(args):
        admits_only(args, report, group, balancers, "the load balancer")



# --- issue 14: reachability per port and source, not only the presence of a rule -----------------------------------

def private_tier_acls(args: StackValidationArgs) -> list[PolicyResource]:
    """Network ACLs associated with subnets tagged as an app or data tier (their `subnetIds` came from them)."""
    return [acl for acl in of_type(args, *NETWORK_ACLS)
            if any(tag(s, TIER_TAG) in PRIVATE_TIERS for s in sources_of_type(acl, "subnetIds", SUBNET))]


def only_return_traffic(entry: AclEntry, allowed: Mapping[str, Any]) -> bool:
    """Whether an inbound entry admits no more than return traffic: a protocol and a port range within `allowed`."""
    if any(is_unknown(v) for v in (entry.protocol, entry.from_port, entry.to_port)):
        return True
    return (protocol_name(entry.protocol) in allowed["protocols"] and is_count(entry.from_port) and is_count(entry.to_port)
            and allowed["from_port"] <= entry.from_port <= entry.to_port <= allowed["to_port"])


@stack_rule("NET-01")
def private_tier_acls_admit_only_return_traffic_from_outside_the_vpc(args: StackValidationArgs, report: ReportViolation) -> None:
    """App- and data-tier network ACLs allow nothing in from outside the VPC but return traffic (TCP to ephemeral ports,
    the range of policies/floors.yaml). Implemented by components/network.py (NETWORK_ACL_RULES)."""
    for acl in private_tier_acls(args):
        allowed = floor("network.private_tier_ingress_from_outside", environment(acl))
        networks = vpc_networks(acl)
        for entry in acl_ingress(args, acl):
            if entry.action == "allow" and outside(entry.cidr, networks) and not only_return_traffic(entry, allowed):
                violation(report, f"{acl.name} lets traffic from outside the VPC into a private tier", path=entry.path,
                          actual=entry.evidence,
                          expected=f"from outside the VPC only protocol {allowed['protocols']} to ports "
                                   f"{allowed['from_port']}-{allowed['to_port']} (return traffic)", urn=entry.resource.urn)


@resource_rule("NET-03", VPC_ENDPOINT)
def gateway_endpoints_reach_only_this_accounts_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every Allow of a gateway endpoint's (S3, DynamoDB) policy holds principals and resources to this account with the
    StringEquals conditions of policies/floors.yaml (aws:PrincipalAccount, aws:ResourceAccount), except reads of AWS's
    named buckets. Implemented by components/network.py (gateway_endpoint_policy)."""
    kind = peek(args.props, "vpcEndpointType") or DEFAULT_ENDPOINT_TYPE
    policy = reveal(peek(args.props, "policy"))
    if kind != "Gateway" or is_unknown(policy):
        return
    required = [str(k) for k in floor("network.gateway_endpoint_conditions", environment(args))]
    for i, statement in enumerate(statements(document(policy))):
        if statement.get("Effect") != "Allow" or reads_named_objects(statement):
            continue
        held = {key for operator, key, values in conditions(statement) if operator == "StringEquals" and values}
        absent = [k for k in required if k.lower() not in held]
        if absent:
            violation(report, f"{args.name} lets requests reach resources of any account", path=f"policy.Statement.{i}",
                      actual=statement, expected=f"StringEquals conditions on {', '.join(required)} (missing {', '.join(absent)})")


@stack_rule("NET-07")
def interface_endpoints_admit_only_the_vpc(args: StackValidationArgs, report: ReportViolation) -> None:
    """The security groups of interface endpoints admit only addresses inside their VPC (or security groups), never the
    internet. Implemented by components/network.py (ZeroTrustNetwork._interface_endpoints, endpoint security group)."""
    groups: dict[str, tuple[PolicyResource, Any]] = {}
    for endpoint in of_type(args, VPC_ENDPOINT):
        if peek(endpoint.props, "vpcEndpointType") == "Interface":
            for group in sources_of_type(endpoint, "securityGroupIds", SECURITY_GROUP):
                groups.setdefault(group.urn, (group, vpc_networks(endpoint)))
    for group, networks in groups.values():
        for ingress in ingress_of(args, group):
            beyond = [a for a in ingress.addresses if outside(a, networks)]
            if beyond:
                violation(report, f"{group.name} admits addresses outside the VPC to the interface endpoints",
                          path=ingress.addresses_path, actual=ingress.addresses,
                          expected="only address ranges inside the VPC's CIDR, or security groups", urn=ingress.resource.urn)


def egress_of(args: StackValidationArgs, group: PolicyResource) -> list[tuple[PolicyResource, str, list[Any]]]:
    """(resource, path, destination address ranges) of the group's inline egress and of every separate egress rule."""
    found = [(group, f"egress.{i}", as_list(e.get("cidrBlocks")) + as_list(e.get("ipv6CidrBlocks")))
             for i, e in enumerate(as_list(group.props.get("egress")))]
    for rule in consumers(args, group, EGRESS_RULE, "securityGroupId"):
        found.append((rule, "cidrIpv4", [v for v in (peek(rule.props, "cidrIpv4"), peek(rule.props, "cidrIpv6")) if v]))
    for rule in consumers(args, group, SECURITY_GROUP_RULE, "securityGroupId"):
        if peek(rule.props, "type") == "egress":
            found.append((rule, "cidrBlocks", as_list(peek(rule.props, "cidrBlocks")) + as_list(peek(rule.props, "ipv6CidrBlocks"))))
    return found


def private_tier_groups(args: StackValidationArgs) -> list[PolicyResource]:
    """The security groups of the app tier, of the database and of the interface endpoints."""
    database = [g for db in of_type(args, DB_INSTANCE) for g in sources_of_type(db, "vpcSecurityGroupIds", SECURITY_GROUP)]
    endpoints = [g for e in of_type(args, VPC_ENDPOINT) for g in sources_of_type(e, "securityGroupIds", SECURITY_GROUP)]
    return unique([*app_tier_groups(args), *database, *endpoints])


@stack_rule("NET-02")
def private_tiers_send_nothing_beyond_the_vpc(args: StackValidationArgs, report: ReportViolation) -> None:
    """The app tier's, the database's and the endpoints' security groups send traffic only within their VPC (security
    groups, VPC addresses, gateway-endpoint prefix lists), never to an address on the internet.
    Implemented by components/app_tier.py (ApplicationTier egress rules), database.py and network.py."""
    for group in private_tier_groups(args):
        networks = vpc_networks(group)
        for resource, path, addresses in egress_of(args, group):
            beyond = [a for a in addresses if outside(a, networks)]
            if beyond:
                violation(report, f"{group.name} lets a private tier send traffic beyond the VPC", path=path, actual=addresses,
                          expected="destinations inside the VPC's CIDR, security groups or gateway-endpoint prefix lists",
                          urn=resource.urn)


# --- issue 14: effective reachability against the intent of policies/network-reachability.yaml ----------------------
#
# What a security group or a network ACL lets through is computed, not read off one rule: every rule and entry becomes
# a flow (protocol, port range, peer), the space of protocols x ports x peer addresses is cut into cells at every
# boundary any flow or intended allowance has (so each cell is judged by one representative point), and each cell a
# flow lets through must lie inside an allowance of the intent for the group's role or the ACL's tier. Security groups
# are allow-only (the union of their rules); network ACL entries are taken lowest number first, the first match
# decides, anything unmatched is denied. A value not known at preview is judged when it is known (the flow is skipped).

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
ALL_TRAFFIC = -1
PROTOCOL_NUMBERS = {"tcp": TCP, "udp": UDP, "icmp": ICMP, "icmpv6": ICMPV6, "58": ICMPV6, "-1": ALL_TRAFFIC, "all": ALL_TRAFFIC}
PORTED = (TCP, UDP)
# Where to look for a protocol number no rule and no allowance names, to stand for all such protocols (GRE, ESP, ...)
# that "all traffic" reaches too: IANA's unassigned numbers.
UNASSIGNED_PROTOCOLS = range(143, 253)
WHOLE_RANGE = (0, 65535)
ADDRESS_SPACES = {4: 2**32 - 1, 6: 2**128 - 1}
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
DB_CLUSTER = "aws:rds/cluster:Cluster"
GROUP_RESOURCES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
INTENT_FILE = "policies/network-reachability.yaml"

Interval = tuple[int, int]
Address = tuple[int, int, int]  # (IP version, first, last)


@dataclass(frozen=True)
class Peer:
    """The other end of a flow: an address range, security groups of some roles, or a gateway endpoint's prefix list."""

    text: str
    addresses: Address | None = None
    roles: frozenset[str] | None = None
    service: str | None = None


@dataclass(frozen=True)
class Flow:
    """Traffic one security-group rule or network-ACL entry matches (ACL entries also carry their number and action)."""

    resource: PolicyResource
    path: str
    protocol: int
    ports: Interval
    peer: Peer
    evidence: Any
    number: float = 0
    allow: bool = True

    def matches(self, protocol: int, port: int | None, peer: Peer) -> bool:
        if self.protocol not in (ALL_TRAFFIC, protocol):
            return False
        if port is not None and self.protocol != ALL_TRAFFIC and not self.ports[0] <= port <= self.ports[1]:
            return False
        return same_peer(self.peer, peer)


@dataclass(frozen=True)
class Allowance:
    """One line of the intent, resolved against the stack: the ports `app` and the peers' addresses made concrete."""

    text: str
    protocol: int
    ports: tuple[Interval, ...]
    peer: str
    addresses: tuple[Address, ...] = ()

    def covers(self, protocol: int, port: int | None, peer: Peer) -> bool:
        if self.protocol not in (ALL_TRAFFIC, protocol):
            return False
        if port is not None and not any(low <= port <= high for low, high in self.ports):
            return False
        if peer.addresses is not None:
            version, first, _ = peer.addresses
            return any(v == version and low <= first <= high for v, low, high in self.addresses)
        if peer.roles is not None:
            return any(self.peer == f"group:{role}" for role in peer.roles)
        return peer.service is not None and self.peer == f"prefix-list:{peer.service}"


def same_peer(flow_peer: Peer, point: Peer) -> bool:
    if flow_peer.addresses is not None and point.addresses is not None:
        version, low, high = flow_peer.addresses
        return point.addresses[0] == version and low <= point.addresses[1] <= high
    return flow_peer == point


def protocol_number(value: Any) -> int | None:
    """A rule's protocol as a number (-1: all traffic); None while unknown or unreadable."""
    if value is None or is_unknown(value):
        return None
    name = protocol_name(value)
    if name in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[name]
    return int(name) if name.isdigit() else None


def port_range(protocol: int, from_port: Any, to_port: Any) -> Interval | None:
    """The ports a rule matches: all of them for a protocol without ports (ICMP's are its type and code)."""
    if protocol not in PORTED:
        return WHOLE_RANGE
    if is_unknown(from_port) or is_unknown(to_port):
        return None
    low = int(from_port) if is_count(from_port) else WHOLE_RANGE[0]
    high = int(to_port) if is_count(to_port) else WHOLE_RANGE[1]
    return (max(low, 0), min(high, WHOLE_RANGE[1]))


def address_peer(cidr: Any) -> Peer | None:
    if not isinstance(cidr, str) or is_unknown(cidr) or not cidr:
        return None
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return Peer(cidr, (4, 0, ADDRESS_SPACES[4]))  # unreadable: taken as everywhere, never as nowhere
    return Peer(cidr, (network.version, int(network.network_address), int(network.broadcast_address)))


def cidr_addresses(cidrs: list[Any]) -> tuple[Address, ...]:
    return tuple(p.addresses for p in map(address_peer, cidrs) if p is not None and p.addresses is not None)


def values_at(props: Mapping[str, Any], path: str) -> list[Any]:
    """The items of a list-valued (or single) property, each read without stopping at an unknown one."""
    value = peek(props, path)
    if is_unknown(value) or not is_list(value):
        return [] if value is None else [value]
    return [peek(props, f"{path}.{i}") for i in range(len(value))]


# --- what the stack says about roles, tiers and addresses ----------------------------------------------------------

def group_roles(args: StackValidationArgs) -> dict[str, set[str]]:
    """Security-group URN -> its roles, by what attaches it; VPCs stand for their default group."""
    roles: dict[str, set[str]] = {g.urn: set() for g in of_type(args, SECURITY_GROUP)}

    def add(groups: list[PolicyResource], role: str) -> None:
        for g in groups:
            roles.setdefault(g.urn, set()).add(role)

    add([g for lb in of_type(args, *LOAD_BALANCERS) for g in sources_of_type(lb, "securityGroups", SECURITY_GROUP)],
        "load-balancer")
    add(app_tier_groups(args), "app")
    add([g for db in of_type(args, DB_INSTANCE, DB_CLUSTER, CLUSTER_INSTANCE)
         for g in sources_of_type(db, "vpcSecurityGroupIds", SECURITY_GROUP)], "database")
    add([g for e in of_type(args, VPC_ENDPOINT) for g in sources_of_type(e, "securityGroupIds", SECURITY_GROUP)], "endpoints")
    add(of_type(args, DEFAULT_SECURITY_GROUP, VPC), "default")
    return {urn: found or {"unassigned"} for urn, found in roles.items()}


def roles_of(roles: Mapping[str, set[str]], groups: list[PolicyResource]) -> frozenset[str]:
    return frozenset(r for g in groups for r in roles.get(g.urn, {"unassigned"}))


def acl_tiers(args: StackValidationArgs, acl: PolicyResource) -> set[str]:
    """The tiers of the subnets a network ACL is associated with; `default` for the VPC's default ACL."""
    if acl.resource_type == NETWORK_ACLS[1]:
        return {"default"}
    subnets = sources_of_type(acl, "subnetIds", SUBNET) + [
        s for a in consumers(args, acl, NETWORK_ACL_ASSOCIATION, "networkAclId") for s in sources_of_type(a, "subnetId", SUBNET)]
    return {str(tag(s, TIER_TAG)) if isinstance(tag(s, TIER_TAG), str) else "unassigned" for s in subnets} or {"unassigned"}


def vpc_of(resource: PolicyResource) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The address ranges of the VPC a group or ACL belongs to (a default ACL names it by its defaultNetworkAclId)."""
    for prop in ("vpcId", "defaultNetworkAclId"):
        if sources_of_type(resource, prop, VPC):
            return vpc_networks(resource, prop)
    return [] if resource.resource_type != VPC else vpc_networks_of_vpc(resource)


def vpc_networks_of_vpc(vpc: PolicyResource) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    values = [peek(vpc.props, key) for key in ("cidrBlock", "ipv6CidrBlock")]
    if any(is_unknown(v) for v in values):
        return None
    return [ipaddress.ip_network(v, strict=False) for v in values if isinstance(v, str) and v]


def app_ports(args: StackValidationArgs) -> tuple[Interval, ...]:
    """The port `app` stands for: the load balancer's target groups' ports."""
    ports = [peek(g.props, "port") for g in of_type(args, *TARGET_GROUPS)]
    return tuple((int(p), int(p)) for p in ports if is_count(p))


def subnet_addresses(args: StackValidationArgs, tier: str) -> tuple[Address, ...]:
    return cidr_addresses([peek(s.props, key) for s in of_type(args, SUBNET) if tag(s, TIER_TAG) == tier
                           for key in ("cidrBlock", "ipv6CidrBlock")])


def intended(args: StackValidationArgs, family: str, role: str, direction: str,
             networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[Allowance]:
    """The allowances of policies/network-reachability.yaml for a role or tier and direction, resolved in this stack."""
    found = []
    for line in reachability()[family].get(role, reachability()[family]["unassigned"])[direction]:
        protocol = PROTOCOL_NUMBERS[line["protocol"]]
        ports: Any = line["ports"]
        resolved = (app_ports(args) if ports == "app" else (WHOLE_RANGE,) if ports == "all"
                    else ((ports[0], ports[1]),) if isinstance(ports, list) else ((ports, ports),))
        peer = line["peer"]
        addresses: tuple[Address, ...] = ()
        if peer == "internet":
            addresses = ((4, 0, ADDRESS_SPACES[4]),)
        elif peer == "vpc":
            addresses = cidr_addresses([str(n) for n in networks])
        elif peer.startswith("subnets:"):
            addresses = subnet_addresses(args, peer.split(":", 1)[1])
        found.append(Allowance(allowance_text(line["protocol"], ports, resolved, peer, direction), protocol, resolved, peer, addresses))
    return found


def allowance_text(protocol: str, ports: Any, resolved: tuple[Interval, ...], peer: str, direction: str) -> str:
    """`tcp 443 from internet`, `all traffic to vpc`, `tcp app port (8443) from group:load-balancer`."""
    where = f"{'from' if direction == 'ingress' else 'to'} {peer}"
    if protocol == "all":
        return f"all traffic {where}"
    numbers = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in resolved) or "none known"
    shown = f"app port ({numbers})" if ports == "app" else "all ports" if ports == "all" else numbers
    return f"{protocol} {shown} {where}"


def reachability() -> dict[str, Any]:
    from policies.floors import reachability as load

    return load()


# --- flows of security groups and network ACLs ---------------------------------------------------------------------

def rule_flows(resource: PolicyResource, path: str, protocol: Any, from_port: Any, to_port: Any,
               peers: list[Peer | None], evidence: Any, **acl: Any) -> list[Flow]:
    number = protocol_number(protocol)
    ports = None if number is None else port_range(number, from_port, to_port)
    if number is None or ports is None:
        return []
    return [Flow(resource, path, number, ports, p, evidence, **acl) for p in peers if p is not None]


def group_peers(roles: Mapping[str, set[str]], resource: PolicyResource, prop: str, value: Any) -> list[Peer | None]:
    """The peer of a referenced group: its roles when it came from a group of the stack, none (foreign) when named by a
    literal id, not judged while unknown."""
    if value is None or value == []:
        return []
    groups = sources_of_type(resource, prop, *GROUP_RESOURCES, VPC)
    if groups:
        return [Peer(", ".join(g.name for g in groups), roles=roles_of(roles, groups))]
    known = [str(v) for v in as_list(value) if not is_unknown(v)]
    return [Peer(", ".join(known), roles=frozenset())] if known else []


def prefix_list_peers(resource: PolicyResource, prop: str, value: Any) -> list[Peer | None]:
    if value is None or value == []:
        return []
    endpoints = sources_of_type(resource, prop, VPC_ENDPOINT)
    if endpoints:
        return [Peer(e.name, service=(endpoint_service(e) or ("", ""))[0]) for e in endpoints]
    # A prefix list not of this stack's gateway endpoints may hold any addresses at all.
    known = [str(v) for v in as_list(value) if not is_unknown(v)]
    return [Peer(", ".join(known), service="")] if known else []


def inline_flows(roles: Mapping[str, set[str]], group: PolicyResource, direction: str) -> list[Flow]:
    found = []
    props = group.props
    for i, _ in enumerate(values_at(props, direction)):
        e = f"{direction}.{i}"
        peers: list[Peer | None] = [address_peer(c) for key in ("cidrBlocks", "ipv6CidrBlocks") for c in values_at(props, f"{e}.{key}")]
        peers += [p for pl in values_at(props, f"{e}.prefixListIds") for p in prefix_list_peers(group, direction, pl)]
        named = values_at(props, f"{e}.securityGroups")
        peers += group_peers(roles, group, direction, named) if named else []
        if is_true(peek(props, f"{e}.self")):
            peers.append(Peer(group.name, roles=roles_of(roles, [group])))
        entry = {k: peek(props, f"{e}.{k}") for k in ("protocol", "fromPort", "toPort")}
        found += rule_flows(group, e, entry["protocol"], entry["fromPort"], entry["toPort"], peers, entry)
    return found


def separate_flows(args: StackValidationArgs, roles: Mapping[str, set[str]], group: PolicyResource, direction: str) -> list[Flow]:
    found = []
    for rule in consumers(args, group, INGRESS_RULE if direction == "ingress" else EGRESS_RULE, "securityGroupId"):
        p = rule.props
        peers = [address_peer(peek(p, "cidrIpv4")), address_peer(peek(p, "cidrIpv6")),
                 *prefix_list_peers(rule, "prefixListId", peek(p, "prefixListId")),
                 *group_peers(roles, rule, "referencedSecurityGroupId", peek(p, "referencedSecurityGroupId"))]
        found += rule_flows(rule, "ipProtocol", peek(p, "ipProtocol"), peek(p, "fromPort"), peek(p, "toPort"), peers,
                            {k: peek(p, k) for k in ("ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "prefixListId")})
    for rule in consumers(args, group, SECURITY_GROUP_RULE, "securityGroupId"):
        p = rule.props
        if peek(p, "type") != direction:
            continue
        peers = [address_peer(c) for key in ("cidrBlocks", "ipv6CidrBlocks") for c in values_at(p, key)]
        peers += [x for pl in values_at(p, "prefixListIds") for x in prefix_list_peers(rule, "prefixListIds", pl)]
        peers += group_peers(roles, rule, "sourceSecurityGroupId", peek(p, "sourceSecurityGroupId"))
        if is_true(peek(p, "self")):
            peers.append(Peer(group.name, roles=roles_of(roles, [group])))
        found += rule_flows(rule, "protocol", peek(p, "protocol"), peek(p, "fromPort"), peek(p, "toPort"), peers,
                            {k: peek(p, k) for k in ("protocol", "fromPort", "toPort", "cidrBlocks", "ipv6CidrBlocks")})
    return found


def acl_flows(args: StackValidationArgs, acl: PolicyResource, direction: str) -> list[Flow] | None:
    """The ACL's entries of one direction, lowest number first; None while any entry is not yet known."""
    entries: list[tuple[PolicyResource, str, Mapping[str, Any], str, str]] = [
        (acl, f"{direction}.{i}", {k: peek(acl.props, f"{direction}.{i}.{k}") for k in (
            "ruleNo", "action", "protocol", "fromPort", "toPort", "cidrBlock", "ipv6CidrBlock")}, "ruleNo", "action")
        for i, _ in enumerate(values_at(acl.props, direction))]
    for rule in consumers(args, acl, NETWORK_ACL_RULE, "networkAclId"):
        if is_true(peek(rule.props, "egress")) == (direction == "egress"):
            entries.append((rule, "ruleNumber", {k: peek(rule.props, k) for k in (
                "ruleNumber", "ruleAction", "protocol", "fromPort", "toPort", "cidrBlock", "ipv6CidrBlock")}, "ruleNumber", "ruleAction"))
    flows = []
    for resource, path, e, number, action in entries:
        peer = address_peer(e["cidrBlock"]) or address_peer(e["ipv6CidrBlock"])
        found = rule_flows(resource, path, e["protocol"], e["fromPort"], e["toPort"], [peer], dict(e),
                           number=e[number] if is_count(e[number]) else None, allow=e[action] == "allow")
        if len(found) != 1 or found[0].number is None or e[action] not in ("allow", "deny"):
            return None
        flows += found
    return sorted(flows, key=lambda f: f.number)


# --- cells: one representative point per piece of the space no boundary crosses ------------------------------------

def pieces(interval: Interval, cuts: list[int]) -> list[Interval]:
    """`interval` cut before every cut point inside it."""
    low, high = interval
    starts = [low, *(c for c in cuts if low < c <= high)]
    return [(s, (starts[i + 1] - 1) if i + 1 < len(starts) else high) for i, s in enumerate(starts)]


@dataclass(frozen=True)
class Cuts:
    protocols: tuple[int, ...]
    ports: list[int]
    addresses: dict[int, list[int]]


def cuts_of(flows: list[Flow], allowances: list[Allowance]) -> Cuts:
    protocols = {ICMP, ICMPV6, TCP, UDP} | {f.protocol for f in flows} | {a.protocol for a in allowances}
    protocols.add(next(p for p in UNASSIGNED_PROTOCOLS if p not in protocols))
    ports = {b for f in flows for b in (f.ports[0], f.ports[1] + 1)} | {b for a in allowances for lo, hi in a.ports for b in (lo, hi + 1)}
    addresses: dict[int, set[int]] = {4: set(), 6: set()}
    spans = [f.peer.addresses for f in flows if f.peer.addresses] + [x for a in allowances for x in a.addresses]
    for version, first, last in spans:
        addresses[version] |= {first, last + 1}
    # TCP and UDP first: the first cell beyond intent is the one reported, and ports are what people read first.
    ordered = sorted(protocols - {ALL_TRAFFIC}, key=lambda p: (p not in PORTED, p))
    return Cuts(tuple(ordered), sorted(ports), {v: sorted(c) for v, c in addresses.items()})


def cells(flow: Flow, cuts: Cuts) -> Iterator[tuple[int, Interval | None, Peer]]:
    """(protocol, port piece or None, peer piece) covering everything the flow matches."""
    peers = [flow.peer]
    if flow.peer.addresses is not None:
        version, first, last = flow.peer.addresses
        peers = [Peer(flow.peer.text, (version, lo, hi)) for lo, hi in pieces((first, last), cuts.addresses[version])]
    for protocol in (cuts.protocols if flow.protocol == ALL_TRAFFIC else (flow.protocol,)):
        ports: list[Interval | None] = list(pieces(flow.ports if flow.protocol != ALL_TRAFFIC else WHOLE_RANGE, cuts.ports)) \
            if protocol in PORTED else [None]
        for port in ports:
            for peer in peers:
                yield protocol, port, peer


def describe(protocol: int, port: Interval | None, peer: Peer, preposition: str) -> str:
    """A cell in words: `tcp port 443 from 0.0.0.0-10.29.255.255`, `udp ports 1024-65535 to security group x (app)`."""
    name = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}.get(protocol, f"protocol {protocol}")
    ports = "" if port is None else f" port {port[0]}" if port[0] == port[1] else f" ports {port[0]}-{port[1]}"
    where = peer.text
    if peer.addresses is not None:
        version, first, last = peer.addresses
        kind = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        networks = list(ipaddress.summarize_address_range(kind(first), kind(last)))
        where = str(networks[0]) if len(networks) == 1 else f"{kind(first)}-{kind(last)}"
    elif peer.roles is not None:
        where = f"security group {peer.text} ({', '.join(sorted(peer.roles)) or 'not of this stack'})"
    elif peer.service is not None:
        where = f"prefix list {peer.text} ({peer.service or 'not a gateway endpoint of this stack'})"
    return f"{name}{ports} {preposition} {where}"


def beyond_intent(flows: list[Flow], allowances: list[Allowance], ordered: bool, preposition: str) -> Iterator[tuple[Flow, str]]:
    """Each flow that lets through something no allowance covers, with the first such cell. With `ordered` (network
    ACLs) a flow decides only what no earlier flow matched, and only allow entries let anything through."""
    cuts = cuts_of(flows, allowances)
    for i, flow in enumerate(flows):
        if not flow.allow:
            continue
        for protocol, port, peer in cells(flow, cuts):
            point = None if port is None else port[0]
            if ordered and any(earlier.matches(protocol, point, peer) for earlier in flows[:i]):
                continue
            if not any(a.covers(protocol, point, peer) for a in allowances):
                yield flow, describe(protocol, port, peer, preposition)
                break


def intent_text(allowances: list[Allowance]) -> str:
    return "; ".join(a.text for a in allowances) or "nothing"


# --- NET-07, NET-02, NET-01: security groups and network ACLs ------------------------------------------------------

def judge_groups(args: StackValidationArgs, report: ReportViolation, direction: str) -> None:
    roles = group_roles(args)
    groups = of_type(args, *GROUP_RESOURCES) + [v for v in of_type(args, VPC) if any(
        consumers(args, v, t, "securityGroupId") for t in (INGRESS_RULE, EGRESS_RULE, SECURITY_GROUP_RULE))]
    verb, preposition = ("admits", "from") if direction == "ingress" else ("sends", "to")
    for group in groups:
        networks = vpc_of(group)
        if networks is None:
            continue
        flows = inline_flows(roles, group, direction) + separate_flows(args, roles, group, direction)
        for role in sorted(roles.get(group.urn, {"unassigned"})):
            allowances = intended(args, "security_groups", role, direction, networks)
            for flow, cell in beyond_intent(flows, allowances, ordered=False, preposition=preposition):
                violation(report, f"{group.name} ({role}) {verb} {cell}, beyond what {INTENT_FILE} intends", path=flow.path,
                          actual=flow.evidence, expected=f"{role} {direction} only: {intent_text(allowances)}", urn=flow.resource.urn)


def judge_acls(args: StackValidationArgs, report: ReportViolation, direction: str) -> None:
    verb, preposition = ("admits", "from") if direction == "ingress" else ("sends", "to")
    for acl in of_type(args, *NETWORK_ACLS):
        networks, flows = vpc_of(acl), acl_flows(args, acl, direction)
        if networks is None or flows is None:
            continue
        for tier in sorted(acl_tiers(args, acl)):
            allowances = intended(args, "network_acls", tier, direction, networks)
            for flow, cell in beyond_intent(flows, allowances, ordered=True, preposition=preposition):
                violation(report, f"{acl.name} ({tier} tier) {verb} {cell}, beyond what {INTENT_FILE} intends", path=flow.path,
                          actual=flow.evidence, expected=f"{tier} {direction} only: {intent_text(allowances)}", urn=flow.resource.urn)


@stack_rule("NET-07")
def security_groups_admit_only_the_intended_sources(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every security group admits, per port and source, nothing beyond what policies/network-reachability.yaml intends
    for its role (load balancer, app, database, endpoints, default). Implemented by components/edge.py, app_tier.py,
    database.py, environment.py and network.py (security groups and their ingress rules)."""
    judge_groups(args, report, "ingress")


@stack_rule("NET-07")
def security_groups_send_only_to_the_intended_destinations(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every security group sends, per port and destination, nothing beyond what policies/network-reachability.yaml
    intends for its role. Implemented by components/edge.py, app_tier.py and network.py (egress rules)."""
    judge_groups(args, report, "egress")


@stack_rule("NET-01")
def network_acls_admit_only_the_intended_traffic(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every network ACL, its entries taken in rule-number order, admits nothing beyond what
    policies/network-reachability.yaml intends for its subnets' tier. Implemented by components/network.py
    (NETWORK_ACL_RULES, _lock_down_defaults)."""
    judge_acls(args, report, "ingress")


@stack_rule("NET-02")
def network_acls_send_only_the_intended_traffic(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every network ACL, its entries taken in rule-number order, lets nothing out beyond what
    policies/network-reachability.yaml intends for its subnets' tier. Implemented by components/network.py
    (NETWORK_ACL_RULES, _lock_down_defaults)."""
    judge_acls(args, report, "egress")


# --- NET-03 (issue 14): what an endpoint policy lets through, judged as IAM evaluates a request ----------------------

# Accounts a request may come from or go to besides the stack's own: one nobody names, and every account the policy
# itself names (an account added to a condition is another account, not ours, unless the stack's ARNs say so).
ENDPOINT_PROBE_ACCOUNT = "999988887777"
ACCOUNT_LITERAL = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
PROBE_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket", "dynamodb:PutItem", "dynamodb:GetItem",
                 "kms:Decrypt", "ssm:GetParameter", "secretsmanager:GetSecretValue", "sts:AssumeRole", "logs:PutLogEvents")
ENDPOINT_ARN = re.compile(r"^arn:(?P<partition>[a-z0-9-]+):ec2:[a-z0-9-]*:(?P<account>[0-9]{12}):")


def concrete(pattern: Any) -> str:
    """A request value that an IAM pattern matches (`s3:Get*` -> `s3:GetProbe`)."""
    return str(pattern).replace("*", "Probe").replace("?", "x")


@dataclass(frozen=True)
class EndpointRequest:
    principal_account: str | None  # None: an anonymous (unsigned) request
    resource_account: str
    action: str
    resource: str

    def context(self) -> dict[str, str | None]:
        principal = f"arn:aws:iam::{self.principal_account}:role/endpoint-probe" if self.principal_account else None
        return {"aws:principalaccount": self.principal_account, "aws:resourceaccount": self.resource_account,
                "aws:principalarn": principal}


def endpoint_requests(doc: Mapping[str, Any], own: set[str], region: str, partition: str) -> Iterator[EndpointRequest]:
    """The requests to try: principals of this account, of other accounts and anonymous; resources of this account and
    of others; every action and resource the policy names (made concrete) and a sample of each service's."""
    named = set(ACCOUNT_LITERAL.findall(json_text(doc)))
    foreign = {ENDPOINT_PROBE_ACCOUNT} | (named - own)
    allows = [s for s in statements(doc) if s.get("Effect") == "Allow"]
    samples = [f"arn:{partition}:s3:::endpoint-probe-bucket/probe", f"arn:{partition}:s3:::endpoint-probe-bucket",
               f"arn:{partition}:dynamodb:{region}:{ENDPOINT_PROBE_ACCOUNT}:table/probe"]
    actions = [*PROBE_ACTIONS, *sorted({concrete(a) for s in allows for a in as_list(s.get("Action"))} - set(PROBE_ACTIONS))]
    resources = [*samples, *sorted({concrete(r) for s in allows for r in as_list(s.get("Resource"))} - set(samples))]
    for principal in [*sorted(own), *sorted(foreign), None]:
        for account in [*sorted(own), *sorted(foreign)]:
            for action in actions:
                for resource in resources:
                    yield EndpointRequest(principal, account, action, resource)


def json_text(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True)


def public_read(request: EndpointRequest, region: str, partition: str) -> bool:
    """Whether the request only reads an object of an AWS-owned bucket the intent lists (whoever asks)."""
    from fnmatch import fnmatchcase

    intent = reachability()["vpc_endpoints"]["public_reads"]
    objects = [f"arn:{partition}:s3:::{bucket.format(region=region)}/*" for bucket in intent["buckets"]]
    return (request.action.lower() in {a.lower() for a in intent["actions"]}
            and any(fnmatchcase(request.resource, o) for o in objects))


def endpoint_own_accounts(args: StackValidationArgs, endpoint: PolicyResource, doc: Mapping[str, Any]) -> set[str]:
    """This account: the endpoint's ARN's, else the stack's ARNs'; at a first preview (no ARN known) every account the
    policy names is taken for this one, so only a principal or resource of an unnamed account is foreign there."""
    from policies.rules.audit import PROBE_ACCOUNT, stack_accounts

    arn = peek(endpoint.props, "arn")
    match = ENDPOINT_ARN.match(arn) if isinstance(arn, str) and not is_unknown(arn) else None
    if match:
        return {match["account"]}
    known = set(stack_accounts(args)) - {PROBE_ACCOUNT}
    return known or set(ACCOUNT_LITERAL.findall(json_text(doc))) or {PROBE_ACCOUNT}


def endpoint_place(endpoint: PolicyResource) -> tuple[str, str, str]:
    """(service, region, partition) of an endpoint: `ssm`, `eu-west-1` from its service name (empty when it is not
    com.amazonaws.<region>.<service>), the partition from its ARN (`aws` while unknown)."""
    name = str(peek(endpoint.props, "serviceName"))
    match = SERVICE_NAME.match(name)
    arn = peek(endpoint.props, "arn")
    partition = arn.split(":")[1] if isinstance(arn, str) and arn.startswith("arn:") else "aws"
    return (match["service"], name.split(".")[2], partition) if match else ("", "", partition)


def unintended_grants(args: StackValidationArgs, endpoint: PolicyResource, doc: Mapping[str, Any]) -> Iterator[tuple[int, EndpointRequest]]:
    """(index of the Allow that grants it, request) for each statement that lets through a request the intent does
    not: a principal of another account, or (gateway endpoints) a resource of another account, beyond the public reads."""
    from caseshield.iam_analysis import applies

    kind = peek(endpoint.props, "vpcEndpointType") or DEFAULT_ENDPOINT_TYPE
    _, region, partition = endpoint_place(endpoint)
    any_resource = bool(reachability()["vpc_endpoints"]["resources_of_any_account"].get(kind, False))
    own = endpoint_own_accounts(args, endpoint, doc)
    found = statements(doc)
    reported: set[int] = set()
    for request in endpoint_requests(doc, own, region, partition):
        context = request.context()
        granting = [i for i, s in enumerate(found) if i not in reported and applies(s, "Allow", request.action, request.resource, context)]
        if not granting or any(applies(s, "Deny", request.action, request.resource, context) for s in found):
            continue
        ours = request.principal_account in own and (any_resource or request.resource_account in own)
        if ours or public_read(request, region, partition):
            continue
        reported.add(granting[0])
        yield granting[0], request


def required_requests(endpoint: PolicyResource, own: str) -> list[EndpointRequest]:
    """The calls policies/network-reachability.yaml says must pass the endpoint: its service's `must_pass` call by a
    principal of this account on a resource of this account, and (S3 gateway) every public read of the listed buckets."""
    service, region, partition = endpoint_place(endpoint)
    if not service:
        return []
    intent = reachability()["vpc_endpoints"]
    action = intent["must_pass"].get(service)
    if action is None:
        return []
    prefix = action.split(":", 1)[0]
    resource = {"s3": f"arn:{partition}:s3:::endpoint-probe-bucket/probe",
                "dynamodb": f"arn:{partition}:dynamodb:{region}:{own}:table/probe",
                "sts": f"arn:{partition}:iam::{own}:role/probe"}.get(prefix, f"arn:{partition}:{prefix}:{region}:{own}:probe")
    found = [EndpointRequest(own, own, action, resource)]
    if service == "s3":
        found += [EndpointRequest(None, "", read, f"arn:{partition}:s3:::{bucket.format(region=region)}/probe")
                  for read in intent["public_reads"]["actions"] for bucket in intent["public_reads"]["buckets"]]
    return found


@stack_rule("NET-03")
def vpc_endpoint_policies_let_the_app_tiers_calls_through(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every VPC endpoint policy, evaluated as IAM evaluates a request, lets through the call the app tier makes to its
    service (policies/network-reachability.yaml must_pass: this account's principal, this account's resource) and,
    through the S3 gateway endpoint, the reads of the AWS-owned package and agent buckets. The app tier has no route
    to the internet: an endpoint that refuses them leaves patching, Session Manager, log and metric delivery or key use
    with no path, and invites the NAT gateway that would open one. Implemented by components/network.py
    (own_account_only, gateway_endpoint_policy, interface_endpoint_policy)."""
    from caseshield.iam_analysis import applies

    for endpoint in of_type(args, VPC_ENDPOINT):
        policy = reveal(peek(endpoint.props, "policy"))
        if is_unknown(policy) or is_unknown(peek(endpoint.props, "serviceName")):
            continue
        doc = document(policy)
        if doc is None:
            continue  # no policy: AWS's default lets everything through (the rule above reports it)
        found = statements(doc)
        own = sorted(endpoint_own_accounts(args, endpoint, doc))[0]
        refused = [r for r in required_requests(endpoint, own)
                   if not any(applies(s, "Allow", r.action, r.resource, r.context()) for s in found)
                   or any(applies(s, "Deny", r.action, r.resource, r.context()) for s in found)]
        if refused:
            violation(report, f"{endpoint.name} refuses calls the app tier must make through it", path="policy",
                      actual=[f"{r.action} on {r.resource}" + ("" if r.principal_account else " (unsigned)") for r in refused[:5]],
                      expected=f"every call of {INTENT_FILE} vpc_endpoints.must_pass (and the public reads) let through",
                      urn=endpoint.urn)


@stack_rule("NET-03")
def vpc_endpoint_policies_grant_only_the_intended_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every VPC endpoint policy, evaluated as IAM evaluates a request, lets through only this account's principals
    (and, through a gateway endpoint, to this account's resources), besides reads of the AWS-owned buckets of
    policies/network-reachability.yaml. Implemented by components/network.py (own_account_only, gateway_endpoint_policy,
    interface_endpoint_policy)."""
    for endpoint in of_type(args, VPC_ENDPOINT):
        policy = reveal(peek(endpoint.props, "policy"))
        if is_unknown(policy) or is_unknown(peek(endpoint.props, "vpcEndpointType")) or is_unknown(peek(endpoint.props, "serviceName")):
            continue
        doc = document(policy)
        if doc is None:
            violation(report, f"{endpoint.name} has no endpoint policy: the default lets anyone through to anything",
                      path="policy", actual=policy, expected=f"a policy granting no more than {INTENT_FILE} intends", urn=endpoint.urn)
            continue
        for index, request in unintended_grants(args, endpoint, doc):
            who = f"account {request.principal_account}" if request.principal_account else "anonymous requests"
            violation(report, f"{endpoint.name} lets {who} call {request.action} on {request.resource} of account "
                      f"{request.resource_account}, beyond what {INTENT_FILE} intends", path=f"policy.Statement.{index}",
                      actual=statements(doc)[index], expected="principals of this account only (and, through a gateway endpoint, "
                      "resources of this account only), besides reads of the listed AWS-owned buckets", urn=endpoint.urn)
