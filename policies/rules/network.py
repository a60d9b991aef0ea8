"""Zero-trust network rules (NET-*): nothing private is reachable from, or can reach, the internet; AWS APIs are reached
through VPC endpoints; nobody administers a host over SSH or RDP; each tier admits only its neighbour.

Relations are read from property dependencies, as the engine provides them at preview: a subnet's route tables are
those of the RouteTableAssociations whose `subnetId` came from it; the database's security groups are those its
`vpcSecurityGroupIds` came from; the app tier's groups are those its launch templates attach; the load balancer's
groups are those its `securityGroups` came from. Literal values are judged only once they are known.
"""

from __future__ import annotations

import ipaddress
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

# NET-03: the endpoints every VPC needs, by service, with their endpoint type.
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
INTERFACE_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages", "kms", "logs", "secretsmanager", "sts", "monitoring")
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
