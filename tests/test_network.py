"""ZeroTrustNetwork in isolation: evaluated once per stack with a bare KMS key and the mocked zone list."""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

import pulumi_aws as aws
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.settings import Settings, from_pulumi, load_settings
from components.network import INTERFACE_ENDPOINT_SERVICES, ZeroTrustNetwork, ZeroTrustNetworkArgs
from tests.conftest import policy, statement

COMPONENT = "caseshield:network:ZeroTrustNetwork"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ACL = "aws:ec2/networkAcl:NetworkAcl"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
REQUIRED_INTERFACE_SERVICES = {"ssm", "ssmmessages", "ec2messages", "kms", "logs", "secretsmanager", "sts", "monitoring"}
STACKS = ("dev", "prod")
ACCOUNT = DEFAULT_ACCOUNT_ID


def program() -> None:
    key = aws.kms.Key("flow-log-key")
    zones = aws.get_availability_zones(state="available")
    ZeroTrustNetwork("net", ZeroTrustNetworkArgs(settings=from_pulumi(), flow_log_key=key, availability_zones=zones.names))


@cache
def graph_of(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


@pytest.fixture(params=STACKS)
def graph(request: pytest.FixtureRequest) -> ResourceGraph:
    return graph_of(request.param)


def settings_of(graph: ResourceGraph) -> Settings:
    return load_settings(graph.config, graph.stack)


def named(graph: ResourceGraph, type_: str, name: str) -> RecordedResource:
    return graph.one(type_, name)


def subnets(graph: ResourceGraph, tier: str) -> list[RecordedResource]:
    return sorted((r for r in graph.of_type(SUBNET) if r.inputs["tags"]["tier"] == tier), key=lambda r: r.name)


def urns(resources: list[RecordedResource]) -> set[str]:
    return {r.urn for r in resources}


def deps(graph: ResourceGraph, resource: RecordedResource, prop: str) -> set[str]:
    return urns(graph.depends_on(resource, prop))


def interface_endpoints(graph: ResourceGraph) -> list[RecordedResource]:
    return [r for r in graph.of_type(ENDPOINT) if r.inputs["vpcEndpointType"] == "Interface"]


# -- VPC and subnets -------------------------------------------------------------------------------------------

def test_vpc_uses_settings_cidr_with_dns(graph: ResourceGraph) -> None:
    vpc = named(graph, "aws:ec2/vpc:Vpc", "net")
    assert vpc.inputs["cidrBlock"] == settings_of(graph).vpc_cidr
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


@pytest.mark.parametrize("tier", ["public", "app", "data"])
def test_subnets_match_settings_one_per_zone(graph: ResourceGraph, tier: str) -> None:
    s = settings_of(graph)
    found = subnets(graph, tier)
    assert [r.inputs["cidrBlock"] for r in found] == list(getattr(s, f"{tier}_subnet_cidrs"))
    zones = [r.inputs["availabilityZone"] for r in found]
    assert len(set(zones)) == s.availability_zone_count == len(found)
    assert all(z.startswith(s.region) for z in zones)
    vpc = named(graph, "aws:ec2/vpc:Vpc", "net")
    assert all(deps(graph, r, "vpcId") == {vpc.urn} for r in found)


def test_tiers_share_the_same_zones(graph: ResourceGraph) -> None:
    zones = {tier: [r.inputs["availabilityZone"] for r in subnets(graph, tier)] for tier in ("public", "app", "data")}
    assert zones["public"] == zones["app"] == zones["data"]


def test_no_subnet_maps_public_ips(graph: ResourceGraph) -> None:
    assert graph.of_type(SUBNET)
    assert all(r.inputs["mapPublicIpOnLaunch"] is False for r in graph.of_type(SUBNET))


def test_fewer_zones_than_settings_fail_the_deployment() -> None:
    def one_zone() -> None:
        ZeroTrustNetwork("net", ZeroTrustNetworkArgs(settings=from_pulumi(), flow_log_key=aws.kms.Key("k"),
                                                     availability_zones=["us-east-1a"]))

    with pytest.raises(Exception, match="only 1 zones"):
        evaluate("prod", program=one_zone)


# -- routing ---------------------------------------------------------------------------------------------------

def route_table(graph: ResourceGraph, tier: str) -> RecordedResource:
    return named(graph, ROUTE_TABLE, f"net-{tier}")


def test_only_route_is_public_default_route_via_internet_gateway(graph: ResourceGraph) -> None:
    routes = graph.of_type("aws:ec2/route:Route")
    assert len(routes) == 1
    route = routes[0]
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert deps(graph, route, "routeTableId") == {route_table(graph, "public").urn}
    assert deps(graph, route, "gatewayId") == urns(graph.of_type("aws:ec2/internetGateway:InternetGateway"))


@pytest.mark.parametrize("tier", ["app", "data"])
def test_private_route_tables_have_no_internet_route(graph: ResourceGraph, tier: str) -> None:
    table = route_table(graph, tier)
    assert table.inputs["routes"] == []
    assert not [r for r in graph.of_type("aws:ec2/route:Route") if table.urn in deps(graph, r, "routeTableId")]


def test_there_is_no_nat_gateway_or_egress_only_gateway(graph: ResourceGraph) -> None:
    assert graph.of_type("aws:ec2/natGateway:NatGateway") == []
    assert graph.of_type("aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway") == []


@pytest.mark.parametrize("tier", ["public", "app", "data"])
def test_each_subnet_uses_its_tiers_route_table(graph: ResourceGraph, tier: str) -> None:
    table = route_table(graph, tier)
    associations = [r for r in graph.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
                    if deps(graph, r, "routeTableId") == {table.urn}]
    associated = set().union(*(deps(graph, a, "subnetId") for a in associations))
    assert associated == urns(subnets(graph, tier))


# -- endpoints -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_gateway_endpoints_on_private_route_tables_only(graph: ResourceGraph, service: str) -> None:
    endpoint = named(graph, ENDPOINT, f"net-{service}")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == f"com.amazonaws.{settings_of(graph).region}.{service}"
    assert deps(graph, endpoint, "routeTableIds") == {route_table(graph, "app").urn, route_table(graph, "data").urn}


@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_gateway_endpoint_policy_limits_principals_and_resources_to_account(graph: ResourceGraph, service: str) -> None:
    document = policy(named(graph, ENDPOINT, f"net-{service}"))
    own = statement(document, "OnlyThisAccountsPrincipalsToThisAccountsResources")
    assert own["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}}
    others = [st for st in document["Statement"] if st is not own]
    assert all(st["Effect"] == "Allow" for st in document["Statement"])
    if service == "dynamodb":
        assert others == []


def test_s3_exception_is_read_only_on_aws_owned_buckets(graph: ResourceGraph) -> None:
    exception = statement(policy(named(graph, ENDPOINT, "net-s3")), "ReadAwsOwnedPackageAndAgentBuckets")
    assert exception["Action"] == "s3:GetObject"
    region = settings_of(graph).region
    assert all(arn.startswith("arn:aws:s3:::") and arn.endswith("/*") for arn in exception["Resource"])
    assert f"arn:aws:s3:::al2023-repos-{region}-de612dc2/*" in exception["Resource"]
    assert f"arn:aws:s3:::patch-baseline-snapshot-{region}/*" in exception["Resource"]
    assert not any("*" in arn.removesuffix("/*") for arn in exception["Resource"])


def test_interface_endpoint_list(graph: ResourceGraph) -> None:
    region = settings_of(graph).region
    names = {r.inputs["serviceName"] for r in interface_endpoints(graph)}
    assert names == {f"com.amazonaws.{region}.{service}" for service in INTERFACE_ENDPOINT_SERVICES}
    assert names >= {f"com.amazonaws.{region}.{service}" for service in REQUIRED_INTERFACE_SERVICES}


def test_interface_endpoints_private_dns_in_data_subnets_behind_endpoint_group(graph: ResourceGraph) -> None:
    group = named(graph, "aws:ec2/securityGroup:SecurityGroup", "net-endpoints")
    data = urns(subnets(graph, "data"))
    for endpoint in interface_endpoints(graph):
        assert endpoint.inputs["privateDnsEnabled"] is True, endpoint.name
        assert deps(graph, endpoint, "subnetIds") == data, endpoint.name
        assert deps(graph, endpoint, "securityGroupIds") == {group.urn}, endpoint.name


def test_interface_endpoint_policies_name_the_account(graph: ResourceGraph) -> None:
    for endpoint in interface_endpoints(graph):
        document = policy(endpoint)
        assert len(document["Statement"]) == 1
        only = statement(document, "OnlyThisAccountsPrincipals")
        assert only["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, endpoint.name


def test_endpoint_group_allows_only_https_from_the_vpc(graph: ResourceGraph) -> None:
    group = named(graph, "aws:ec2/securityGroup:SecurityGroup", "net-endpoints")
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    rules = graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [(r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in rules] == [
        ("tcp", 443, 443, settings_of(graph).vpc_cidr)]
    assert deps(graph, rules[0], "securityGroupId") == {group.urn}
    assert graph.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []


def test_default_security_group_and_acl_have_no_rules(graph: ResourceGraph) -> None:
    default_sg = named(graph, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "net-default-sg")
    assert default_sg.inputs["ingress"] == [] and default_sg.inputs["egress"] == []
    assert deps(graph, default_sg, "vpcId") == {named(graph, "aws:ec2/vpc:Vpc", "net").urn}
    default_acl = named(graph, "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "net-default-acl")
    assert not default_acl.inputs.get("ingress") and not default_acl.inputs.get("egress")
    assert not default_acl.inputs.get("subnetIds")


# -- network ACLs ----------------------------------------------------------------------------------------------

def entries(acl: RecordedResource, direction: str) -> list[dict[str, Any]]:
    return list(acl.inputs.get(direction, []))


@pytest.mark.parametrize("tier", ["public", "app", "data"])
def test_acls_deny_admin_ports_before_any_allow(graph: ResourceGraph, tier: str) -> None:
    acl = named(graph, ACL, f"net-{tier}")
    ingress = entries(acl, "ingress")
    first_allow = min(e["ruleNo"] for e in ingress if e["action"] == "allow")
    for port in (22, 3389):
        denies = [e for e in ingress if e["action"] == "deny" and e["protocol"] == "tcp"
                  and e["fromPort"] <= port <= e["toPort"] and e["cidrBlock"] == "0.0.0.0/0"]
        assert denies and min(e["ruleNo"] for e in denies) < first_allow, (tier, port)
    assert deps(graph, acl, "subnetIds") == urns(subnets(graph, tier))


def test_acl_rule_numbers_are_unique_per_direction(graph: ResourceGraph) -> None:
    for acl in graph.of_type(ACL):
        for direction in ("ingress", "egress"):
            numbers = [e["ruleNo"] for e in entries(acl, direction)]
            assert len(numbers) == len(set(numbers)), (acl.name, direction)


def allowed(acl: RecordedResource, direction: str, port: int, cidr: str) -> bool:
    """Whether the first matching entry (lowest number) for a TCP packet from/to `cidr` on `port` allows it."""
    for e in sorted(entries(acl, direction), key=lambda e: e["ruleNo"]):
        ports_match = e["protocol"] == "-1" or e["fromPort"] <= port <= e["toPort"]
        if ports_match and ipaddress.IPv4Network(cidr).subnet_of(ipaddress.IPv4Network(e["cidrBlock"])):
            return bool(e["action"] == "allow")
    return False


def test_public_acl_admits_web_traffic_and_replies(graph: ResourceGraph) -> None:
    acl = named(graph, ACL, "net-public")
    assert allowed(acl, "ingress", 443, "203.0.113.0/24")
    assert allowed(acl, "ingress", 80, "203.0.113.0/24")
    assert allowed(acl, "ingress", 50000, "203.0.113.0/24")
    assert allowed(acl, "egress", 50000, "203.0.113.0/24")
    assert not allowed(acl, "ingress", 22, "203.0.113.0/24")
    assert not allowed(acl, "ingress", 3389, "203.0.113.0/24")
    assert not allowed(acl, "ingress", 445, "203.0.113.0/24")


def test_private_acls_allow_the_vpc_but_not_admin_ports(graph: ResourceGraph) -> None:
    vpc_host = str(next(ipaddress.ip_network(settings_of(graph).vpc_cidr).hosts())) + "/32"
    for tier in ("app", "data"):
        acl = named(graph, ACL, f"net-{tier}")
        assert allowed(acl, "ingress", 5432, vpc_host), tier
        assert allowed(acl, "egress", 443, vpc_host), tier
        assert not allowed(acl, "ingress", 22, vpc_host), tier
        assert not allowed(acl, "ingress", 3389, vpc_host), tier


def test_data_acl_talks_to_the_vpc_only(graph: ResourceGraph) -> None:
    acl = named(graph, ACL, "net-data")
    vpc_cidr = settings_of(graph).vpc_cidr
    assert {e["cidrBlock"] for e in entries(acl, "ingress") if e["action"] == "allow"} == {vpc_cidr}
    assert {e["cidrBlock"] for e in entries(acl, "egress") if e["action"] == "allow"} == {vpc_cidr}


# -- flow logs -------------------------------------------------------------------------------------------------

def test_flow_log_records_all_traffic_of_the_vpc_to_the_log_group(graph: ResourceGraph) -> None:
    flow_log = named(graph, "aws:ec2/flowLog:FlowLog", "net-flow-log")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert deps(graph, flow_log, "logDestination") == {named(graph, LOG_GROUP, "net-flow-logs").urn}
    assert deps(graph, flow_log, "vpcId") == {named(graph, "aws:ec2/vpc:Vpc", "net").urn}
    assert deps(graph, flow_log, "iamRoleArn") == {named(graph, "aws:iam/role:Role", "net-flow-logs").urn}
    assert named(graph, "aws:iam/rolePolicy:RolePolicy", "net-flow-logs-write").urn in flow_log.dependencies


def test_flow_log_group_encrypted_with_the_given_key_and_retention(graph: ResourceGraph) -> None:
    group = named(graph, LOG_GROUP, "net-flow-logs")
    key = named(graph, "aws:kms/key:Key", "flow-log-key")
    assert deps(graph, group, "kmsKeyId") == {key.urn}
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert group.inputs["retentionInDays"] == settings_of(graph).operational_log_retention_days


def test_flow_log_group_protected_only_in_prod() -> None:
    prod, dev = (named(graph_of(stack), LOG_GROUP, "net-flow-logs") for stack in ("prod", "dev"))
    assert prod.protect and prod.retain_on_delete and prod.inputs["deletionProtectionEnabled"] is True
    assert not dev.protect and not dev.retain_on_delete and dev.inputs["deletionProtectionEnabled"] is False


def test_flow_log_role_trusts_only_the_flow_logs_service_of_this_account(graph: ResourceGraph) -> None:
    document = policy(named(graph, "aws:iam/role:Role", "net-flow-logs"), "assumeRolePolicy")
    [trust] = document["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].startswith(f"arn:aws:ec2:{settings_of(graph).region}:{ACCOUNT}:")


def test_flow_log_role_writes_only_to_its_group(graph: ResourceGraph) -> None:
    role_policy = named(graph, "aws:iam/rolePolicy:RolePolicy", "net-flow-logs-write")
    group = named(graph, LOG_GROUP, "net-flow-logs")
    assert deps(graph, role_policy, "policy") == {group.urn}
    group_arn = f"arn:aws:logs:{settings_of(graph).region}:{ACCOUNT}:log-group:{group.inputs['name']}"
    document = policy(role_policy)
    write = statement(document, "WriteOnlyTheFlowLogGroup")
    assert write["Resource"] == [group_arn, f"{group_arn}:log-stream:*"]
    assert set(write["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    for st in document["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert "*" not in "".join(actions) and "logs:CreateLogGroup" not in actions
        if st is not write:
            assert actions == ["logs:DescribeLogGroups"]


# -- structure -------------------------------------------------------------------------------------------------

def test_every_resource_is_a_child_of_the_component(graph: ResourceGraph) -> None:
    component = graph.one(COMPONENT, "net")
    owned = urns(list(graph.descendants(component.urn)))
    outside = [r.name for r in graph.resources if r.urn not in owned and r.type not in (COMPONENT, "aws:kms/key:Key")]
    assert outside == []


def test_component_registers_ids_as_outputs(graph: ResourceGraph) -> None:
    outputs = graph.one(COMPONENT, "net").outputs
    assert len(outputs["app_subnet_ids"]) == settings_of(graph).availability_zone_count
    assert set(outputs["interface_endpoint_ids"]) == set(INTERFACE_ENDPOINT_SERVICES)
    assert outputs["flow_log_group_name"] == named(graph, LOG_GROUP, "net-flow-logs").inputs["name"]
