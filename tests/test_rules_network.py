"""Edge cases of the network, edge and patching rules (NET-*, EDGE-*, PATCH-*) on hand-built policy resources.

`world()` is a small compliant stack: a VPC with public, app and data subnets and their route tables, the VPC
endpoints, the default group, an ACL, flow logs, the three tiers' security groups, the edge (load balancer, WAF,
listeners), the app launch template with its role, the database, and patching. Each case changes one thing and runs
one rule: the compliant world passes, the breakage fires, and values unknown at preview never fire on their own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from policies.rules import RULES, load_all
from policies.rules import edge as edg
from policies.rules import network as net
from policies.rules import patching as pat
from policies.rules._support import UNKNOWN
from tests.rule_worlds import Builder, World, check, policy, props

load_all()
# The service roles' and log deliveries' rules of these controls (policies/rules/service_access.py) have their own
# world in tests/test_rules_service_access.py.
MY_RULES = sorted(r for r, rule in RULES.items() if rule.control.split("-")[0] in ("NET", "EDGE", "PATCH")
                  and not rule.check.__module__.endswith("service_access"))
Change = Callable[[World], None]

ACCOUNT = "123456789012"
VPC_CIDR = "10.30.0.0/16"
PATCH_GROUP = "cs-prod-app"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
DB = "aws:rds/instance:Instance"
IAM_ROLE = "aws:iam/role:Role"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"


def account_only() -> str:
    return policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}})


def gateway_policy() -> str:
    """A gateway endpoint's policy: this account's principals, to this account's resources only."""
    return policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}}})


def s3_gateway_policy() -> str:
    """The S3 gateway endpoint's policy: the gateway policy, and reads of the AWS-owned package and agent buckets."""
    from policies.floors import reachability

    reads = reachability()["vpc_endpoints"]["public_reads"]
    return policy(json.loads(gateway_policy())["Statement"][0], {
        "Effect": "Allow", "Principal": "*", "Action": reads["actions"],
        "Resource": [f"arn:aws:s3:::{b.format(region='us-east-1')}/*" for b in reads["buckets"]]})


def acl_entry(number: int, action: str, protocol: str, ports: tuple[int, int], cidr: str) -> dict[str, Any]:
    return {"ruleNo": number, "action": action, "protocol": protocol, "fromPort": ports[0], "toPort": ports[1], "cidrBlock": cidr}


def network(b: Builder) -> None:
    b.add("vpc", net.VPC, {"cidrBlock": VPC_CIDR})
    b.add("igw", INTERNET_GATEWAY, {}, {"vpcId": ["vpc"]})
    for tier, cidr in (("public", "10.30.0.0/20"), ("app", "10.30.16.0/20"), ("data", "10.30.64.0/20")):
        b.add(f"{tier}-0", net.SUBNET, {"mapPublicIpOnLaunch": False, "cidrBlock": cidr, "tags": {"tier": tier}}, {"vpcId": ["vpc"]})
        b.add(f"{tier}-table", net.ROUTE_TABLE, {"routes": [], "tags": {"tier": tier}}, {"vpcId": ["vpc"]})
        b.add(f"{tier}-association", net.ROUTE_TABLE_ASSOCIATION, {"subnetId": UNKNOWN, "routeTableId": UNKNOWN},
              {"subnetId": [f"{tier}-0"], "routeTableId": [f"{tier}-table"]})
    b.add("public-internet", net.ROUTE, {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN},
          {"routeTableId": ["public-table"], "gatewayId": ["igw"]})
    for service, kind in net.REQUIRED_ENDPOINTS.items():
        b.add(f"endpoint-{service}", net.VPC_ENDPOINT, {
            "serviceName": f"com.amazonaws.us-east-1.{service}", "vpcEndpointType": kind,
            "policy": (s3_gateway_policy() if service == "s3" else gateway_policy()) if kind == "Gateway" else account_only(),
            "arn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc-endpoint/vpce-{service}",
            **({"privateDnsEnabled": True} if kind == "Interface" else {})}, {"vpcId": ["vpc"]})
    b.add("default-sg", net.DEFAULT_SECURITY_GROUP, {"ingress": [], "egress": []}, {"vpcId": ["vpc"]})
    b.add("default-acl", net.DEFAULT_NETWORK_ACL, {"defaultNetworkAclId": "acl-default"}, {"defaultNetworkAclId": ["vpc"]})
    b.add("app-acl", net.NETWORK_ACLS[0], {"ingress": [
        acl_entry(100, "deny", "tcp", (22, 22), "0.0.0.0/0"), acl_entry(110, "deny", "tcp", (3389, 3389), "0.0.0.0/0"),
        acl_entry(200, "allow", "-1", (0, 0), VPC_CIDR), acl_entry(210, "allow", "tcp", (1024, 65535), "0.0.0.0/0")], "egress": [
        acl_entry(100, "allow", "-1", (0, 0), VPC_CIDR), acl_entry(110, "allow", "tcp", (443, 443), "0.0.0.0/0")]},
        {"vpcId": ["vpc"], "subnetIds": ["app-0"]})
    b.add("flow-logs", LOG_GROUP, {"name": "/cs-prod/network/vpc-flow-logs", "retentionInDays": 365})
    b.add("flow-log", net.FLOW_LOG, {"trafficType": "ALL", "logDestinationType": "cloud-watch-logs", "logDestination": UNKNOWN},
          {"vpcId": ["vpc"], "logDestination": ["flow-logs"]})


def tiers(b: Builder) -> None:
    for group in ("alb-sg", "app-sg", "db-sg"):
        b.add(group, net.SECURITY_GROUP, {"vpcId": UNKNOWN}, {"vpcId": ["vpc"]})
    b.add("alb-in-443", net.INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
          {"securityGroupId": ["alb-sg"]})
    b.add("app-in-alb", net.INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443, "referencedSecurityGroupId": "sg-alb"},
          {"securityGroupId": ["app-sg"], "referencedSecurityGroupId": ["alb-sg"]})
    b.add("db-from-app", net.INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "referencedSecurityGroupId": "sg-app"},
          {"securityGroupId": ["db-sg"], "referencedSecurityGroupId": ["app-sg"]})
    b.add("instance-role", IAM_ROLE, {"name": "cs-prod-app-instance"})
    b.add("instance-policies", pat.ROLE_POLICY_ATTACHMENTS_EXCLUSIVE, {"roleName": "cs-prod-app-instance", "policyArns": [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]},
        {"roleName": ["instance-role"]})
    b.add("instance-profile", pat.INSTANCE_PROFILE, {"role": "cs-prod-app-instance"}, {"role": ["instance-role"]})
    b.add("launch-template", LAUNCH_TEMPLATE, {
        "iamInstanceProfile": {"arn": UNKNOWN},
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": "false", "securityGroups": [UNKNOWN]}],
        "tagSpecifications": [{"resourceType": "instance", "tags": {"Patch Group": PATCH_GROUP}},
                              {"resourceType": "volume", "tags": {"Patch Group": PATCH_GROUP}}],
    }, {"networkInterfaces": ["app-sg"], "iamInstanceProfile": ["instance-profile"]})
    b.add("database", DB, {"publiclyAccessible": False, "autoMinorVersionUpgrade": True, "maintenanceWindow": "sun:04:00-sun:05:00",
                           "vpcSecurityGroupIds": [UNKNOWN]}, {"vpcSecurityGroupIds": ["db-sg"]})


def edge(b: Builder) -> None:
    b.add("edge", net.EDGE_COMPONENT, {})
    b.add("target-group", net.TARGET_GROUPS[0], {"port": 8443, "protocol": "HTTPS"}, {"vpcId": ["vpc"]}, parent="edge")
    b.add("alb", LB, {"internal": False, "loadBalancerType": "application", "dropInvalidHeaderFields": True,
                      "desyncMitigationMode": "strictest", "enableDeletionProtection": True,
                      "accessLogs": {"enabled": True, "bucket": UNKNOWN, "prefix": "alb"}},
          {"securityGroups": ["alb-sg"], "subnets": ["public-0"]}, parent="edge")
    managed = [{"name": g, "priority": 10 + i, "overrideAction": {"none": {}},
                "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": g}}}
               for i, g in enumerate(edg.REQUIRED_MANAGED_RULE_GROUPS)]
    rate = {"name": "rate-limit-per-ip", "priority": 1, "action": {"block": {}},
            "statement": {"rateBasedStatement": {"limit": 1000, "aggregateKeyType": "IP"}}}
    geo = {"name": "outside-allowed-countries", "priority": 0, "action": {"block": {}},
           "statement": {"notStatement": {"statement": {"geoMatchStatement": {"countryCodes": ["US"]}}}}}
    visible = {"cloudwatchMetricsEnabled": True, "sampledRequestsEnabled": True, "metricName": "m"}
    b.add("web-acl", edg.WEB_ACL, {"scope": "REGIONAL", "visibilityConfig": visible,
                                   "rules": [{**r, "visibilityConfig": visible} for r in (rate, *managed, geo)]}, parent="edge")
    b.add("waf-association", edg.WEB_ACL_ASSOCIATION, {"resourceArn": UNKNOWN, "webAclArn": UNKNOWN},
          {"resourceArn": ["alb"], "webAclArn": ["web-acl"]}, parent="edge")
    b.add("waf-logs", LOG_GROUP, {"name": "aws-waf-logs-cs-prod", "retentionInDays": 365}, parent="edge")
    b.add("waf-logging", edg.WEB_ACL_LOGGING, {"resourceArn": UNKNOWN, "logDestinationConfigs": [UNKNOWN], "redactedFields": [
        {"singleHeader": {"name": "authorization"}}, {"singleHeader": {"name": "cookie"}}]},
        {"resourceArn": ["web-acl"], "logDestinationConfigs": ["waf-logs"]}, parent="edge")
    authenticate = {"type": "authenticate-cognito", "order": 1, "authenticateCognito": {
        "userPoolArn": UNKNOWN, "userPoolClientId": UNKNOWN, "userPoolDomain": UNKNOWN, "onUnauthenticatedRequest": "authenticate"}}
    b.add("https", LISTENER, {"protocol": "HTTPS", "port": 443, "defaultActions": [
        authenticate, {"type": "forward", "order": 2, "targetGroupArn": UNKNOWN}]}, {"loadBalancerArn": ["alb"]}, parent="edge")
    b.add("http", LISTENER, {"protocol": "HTTP", "port": 80, "defaultActions": [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]},
        {"loadBalancerArn": ["alb"]}, parent="edge")


def patching(b: Builder) -> None:
    b.add("baseline", pat.PATCH_BASELINE, {"approvalRules": [{
        "approveAfterDays": 3, "complianceLevel": "CRITICAL", "patchFilters": [
            {"key": "CLASSIFICATION", "values": ["Security", "Bugfix"]}, {"key": "SEVERITY", "values": ["Critical", "Important"]}]}]})
    b.add("patch-group", pat.PATCH_GROUP, {"patchGroup": PATCH_GROUP, "baselineId": UNKNOWN}, {"baselineId": ["baseline"]})
    for purpose, schedule, operation in (("scan", "cron(0 2 * * ? *)", "Scan"), ("install", "cron(0 3 ? * SUN *)", "Install")):
        b.add(f"{purpose}-window", pat.MAINTENANCE_WINDOW, {"schedule": schedule, "duration": 3, "cutoff": 1})
        b.add(f"{purpose}-target", pat.WINDOW_TARGET, {"windowId": UNKNOWN, "resourceType": "INSTANCE", "targets": [
            {"key": "tag:Patch Group", "values": [PATCH_GROUP]}]}, {"windowId": [f"{purpose}-window"]})
        b.add(f"{purpose}-task", pat.WINDOW_TASK, {
            "windowId": UNKNOWN, "taskType": "RUN_COMMAND", "taskArn": "AWS-RunPatchBaseline",
            "targets": [{"key": "WindowTargetIds", "values": [UNKNOWN]}],
            "taskInvocationParameters": {"runCommandParameters": {"parameters": [{"name": "Operation", "values": [operation]}]}},
        }, {"windowId": [f"{purpose}-window"], "targets": [f"{purpose}-target"]})


def world(env: str = "prod") -> World:
    b = Builder(env, json_tags=True)
    network(b)
    tiers(b)
    edge(b)
    patching(b)
    return b.world


def setting(key: str, path: str, value: Any) -> Change:
    """Set (or, for `None`, remove) a dotted input path of world resource `key`."""

    def change(w: World) -> None:
        *parents, last = path.split(".")
        current: Any = props(w[key])
        for part in parents:
            current = current[int(part)] if isinstance(current, list) else current[part]
        if isinstance(current, list):
            current[int(last)] = value
        elif value is None:
            current.pop(last, None)
        else:
            current[last] = value

    return change


def adding(key: str, type_: str, values: dict[str, Any], deps: dict[str, list[str]] | None = None,
           parent: str | None = None) -> Change:
    """Add a resource to the world."""

    def change(w: World) -> None:
        b = Builder("prod", json_tags=True)
        b.world = w
        b.add(key, type_, values, deps, parent)

    return change


def depending(key: str, prop: str, *names: str) -> Change:
    """Make world resource `key`'s input `prop` come from `names` (none: a literal value)."""

    def change(w: World) -> None:
        w[key].property_dependencies[prop] = [w[n] for n in names]

    return change


def removing(*keys: str) -> Change:
    def change(w: World) -> None:
        for key in keys:
            del w[key]

    return change


def both(*changes: Change) -> Change:
    def change(w: World) -> None:
        for c in changes:
            c(w)

    return change


@pytest.mark.parametrize("rule_id", MY_RULES)
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_compliant_world_passes(rule_id: str, env: str) -> None:
    assert check(rule_id, world(env)) == []


def test_every_rule_of_these_domains_is_exercised() -> None:
    assert {rule for rule, *_ in CASES} == set(MY_RULES)


ADMIN_SG_RULE = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}
HTTPS_ACTION = {"type": "forward", "order": 1, "targetGroupArn": UNKNOWN}
WEEKLY_ON_MONDAY = "cron(0 2 ? * MON *)"
PUBLIC_RANGE = "198.51.100.0/24"

def acl_allows(key: str, number: int, protocol: str, ports: tuple[int, int], cidr: str) -> Change:
    """Append an allow entry to a network ACL's inline ingress."""

    def change(w: World) -> None:
        props(w[key])["ingress"] = [*props(w[key])["ingress"], acl_entry(number, "allow", protocol, ports, cidr)]

    return change


def endpoint_group(cidr: str) -> Change:
    """The kms interface endpoint gets a security group of its own admitting HTTPS from `cidr`."""
    return both(adding("endpoints-sg", net.SECURITY_GROUP, {"vpcId": UNKNOWN}, {"vpcId": ["vpc"]}),
                adding("endpoints-in", net.INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": cidr},
                       {"securityGroupId": ["endpoints-sg"]}),
                depending("endpoint-kms", "securityGroupIds", "endpoints-sg"))


def app_egress(**values: Any) -> Change:
    return adding("app-out", net.EGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, **values},
                  {"securityGroupId": ["app-sg"]})


APP_CLIENT = {"allowedOauthFlows": ["code"], "refreshTokenValidity": 12, "accessTokenValidity": 1, "idTokenValidity": 1,
              "enableTokenRevocation": True, "preventUserExistenceErrors": "ENABLED",
              "tokenValidityUnits": {"refreshToken": "hours", "accessToken": "hours", "idToken": "hours"}}


def app_client(**values: Any) -> Change:
    return adding("app-client", edg.USER_POOL_CLIENT, {k: v for k, v in {**APP_CLIENT, **values}.items() if v is not None})


PRIVATE_APP_ACL = depending("app-acl", "subnetIds", "app-0")


def acl_denies(key: str, number: int, protocol: str, ports: tuple[int, int], cidr: str) -> Change:
    def change(w: World) -> None:
        props(w[key])["ingress"] = [*props(w[key])["ingress"], acl_entry(number, "deny", protocol, ports, cidr)]

    return change


def acl_sends(key: str, number: int, protocol: str, ports: tuple[int, int], cidr: str) -> Change:
    def change(w: World) -> None:
        props(w[key])["egress"] = [*props(w[key]).get("egress", []), acl_entry(number, "allow", protocol, ports, cidr)]

    return change


def tier_acl(key: str, tier: str, ingress: list[dict[str, Any]], egress: list[dict[str, Any]] | None = None) -> Change:
    """A network ACL of `tier`'s subnet."""
    return adding(key, net.NETWORK_ACLS[0], {"ingress": ingress, "egress": egress or []}, {"vpcId": ["vpc"], "subnetIds": [f"{tier}-0"]})


def sg_rule(key: str, group: str, direction: str, deps: dict[str, list[str]] | None = None, **values: Any) -> Change:
    """A separate security-group rule (aws:vpc/...) on `group`; `deps` say where its referenced values came from."""
    type_ = net.INGRESS_RULE if direction == "ingress" else net.EGRESS_RULE
    return adding(key, type_, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, **values},
                  {"securityGroupId": [group], **(deps or {})})


def endpoint_statement(**values: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*", **values}


def endpoint_policy(key: str, *statements: dict[str, Any]) -> Change:
    return setting(key, "policy", policy(*statements))


# The reachability rules (issue 14), by id.
SG_IN = "security-groups-admit-only-the-intended-sources"
SG_OUT = "security-groups-send-only-to-the-intended-destinations"
ACL_IN = "network-acls-admit-only-the-intended-traffic"
ACL_OUT = "network-acls-send-only-the-intended-traffic"
ENDPOINT_POLICIES = "vpc-endpoint-policies-grant-only-the-intended-access"
ALL_FROM_ANYWHERE = acl_entry(100, "allow", "-1", (0, 0), "0.0.0.0/0")
OTHER_ACCOUNT = "444455556666"
OWN_PRINCIPALS = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
OWN_PRINCIPALS_AND_RESOURCES = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}}
AWS_PACKAGES = "arn:aws:s3:::al2023-repos-us-east-1-de612dc2/*"


def first_preview(w: World) -> None:
    """No ARN is known yet."""
    for key in w:
        if key.startswith("endpoint-"):
            props(w[key])["arn"] = UNKNOWN


FIRST_PREVIEW: Change = first_preview

# (rule, change, fires, why)
CASES: list[tuple[str, Change, bool, str]] = [
    # issue 14: security groups judged per port and peer against policies/network-reachability.yaml (NET-07)
    (SG_IN, setting("db-from-app", "ipProtocol", "-1"), True,
     "every protocol and port from the app tier"),
    (SG_IN, setting("db-from-app", "toPort", 5433), True, "5432-5433"),
    (SG_IN, setting("app-in-alb", "fromPort", UNKNOWN), False, "unknown port"),
    (SG_IN, setting("alb-in-443", "cidrIpv4", PUBLIC_RANGE), False,
     "part of the internet"),
    (SG_IN, both(setting("alb-in-443", "fromPort", 8080), setting("alb-in-443", "toPort", 8080)),
     True, "8080 from anywhere"),
    (SG_IN, both(setting("alb-in-443", "cidrIpv4", None), setting("alb-in-443", "cidrIpv6", "::/0")),
     True, "HTTPS over IPv6 (the VPC has none)"),
    (SG_IN, sg_rule("alb-in-udp", "alb-sg", "ingress", ipProtocol="udp", cidrIpv4="0.0.0.0/0"),
     True, "UDP 443"),
    (SG_IN, depending("app-in-alb", "referencedSecurityGroupId", "db-sg"), True,
     "the app port from the database"),
    (SG_IN, depending("app-in-alb", "referencedSecurityGroupId"), True,
     "a group not of this stack"),
    (SG_IN, endpoint_group(VPC_CIDR), False, "HTTPS from the VPC to the endpoints"),
    (SG_IN, endpoint_group("0.0.0.0/0"), True, "endpoints open to anywhere"),
    (SG_IN, endpoint_group(UNKNOWN), False, "unknown range"),
    (SG_IN, adding("stray-sg", net.SECURITY_GROUP, {"ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": [VPC_CIDR]}]}, {"vpcId": ["vpc"]}), True,
     "a group nothing attaches (no role)"),
    (SG_IN, adding("db-self", net.SECURITY_GROUP_RULE, {
        "type": "ingress", "self": True, "protocol": "tcp", "fromPort": 5432, "toPort": 5432}, {"securityGroupId": ["db-sg"]}),
     True, "the database from itself"),
    (SG_IN, setting("db-sg", "ingress", [
        {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "securityGroups": [UNKNOWN]}]), False, "unknown inline group"),
    (SG_IN, setting("default-sg", "ingress", [
        {"protocol": "icmp", "fromPort": -1, "toPort": -1, "cidrBlocks": [VPC_CIDR]}]), True, "ICMP into the default group"),
    (SG_OUT, app_egress(cidrIpv4="0.0.0.0/0"), True, "HTTPS to the internet"),
    (SG_OUT, app_egress(cidrIpv4=VPC_CIDR), True,
     "HTTPS to VPC addresses, not to the endpoints' group"),
    (SG_OUT, sg_rule("app-out", "app-sg", "egress", {"prefixListId": ["endpoint-s3"]},
                                                                      prefixListId=UNKNOWN), False, "the S3 gateway prefix list"),
    (SG_OUT, app_egress(prefixListId="pl-0123456789abcdef0"), True,
     "a prefix list not of this stack's endpoints"),
    (SG_OUT, sg_rule("app-out", "app-sg", "egress", {"referencedSecurityGroupId": ["db-sg"]},
                                                                      fromPort=5432, toPort=5432, referencedSecurityGroupId=UNKNOWN),
     False, "PostgreSQL to the database"),
    (SG_OUT, sg_rule("app-out", "app-sg", "egress", {"referencedSecurityGroupId": ["db-sg"]},
                                                                      ipProtocol="-1", referencedSecurityGroupId=UNKNOWN),
     True, "everything to the database"),
    (SG_OUT, setting("db-sg", "egress", [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]), True, "the database sends anything"),
    (SG_OUT, sg_rule("alb-out", "alb-sg", "egress", cidrIpv4="0.0.0.0/0"), False,
     "the load balancer reaches Cognito"),
    (SG_OUT, sg_rule("alb-out", "alb-sg", "egress", fromPort=8443, toPort=8443,
                                                                      cidrIpv4="10.30.16.0/20"), False, "the app port to the app subnets"),
    (SG_OUT, sg_rule("alb-out", "alb-sg", "egress", fromPort=8443, toPort=8443,
                                                                      cidrIpv4="10.30.64.0/20"), True, "the app port to the data subnets"),
    (SG_OUT, sg_rule("alb-out", "alb-sg", "egress", ipProtocol="-1", cidrIpv4="0.0.0.0/0"),
     True, "the load balancer sends anything anywhere"),
    # issue 14: network ACLs evaluated in rule-number order (NET-01 in, NET-02 out)
    (ACL_IN, acl_allows("app-acl", 150, "-1", (0, 0), "0.0.0.0/0"), True, "all inbound"),
    (ACL_IN, acl_allows("app-acl", 150, "udp", (1024, 65535), "0.0.0.0/0"), True,
     "UDP replies are not intended"),
    (ACL_IN, acl_allows("app-acl", 150, "tcp", (443, 443), "10.30.64.0/22"), False, "the VPC"),
    (ACL_IN, setting("app-acl", "ingress.3.ipv6CidrBlock", "::/0"), False,
     "the entry's IPv4 range decides"),
    (ACL_IN, both(setting("app-acl", "ingress.3.cidrBlock", None),
                                                          setting("app-acl", "ingress.3.ipv6CidrBlock", "::/0")), True, "IPv6 replies"),
    (ACL_IN, both(acl_denies("app-acl", 140, "-1", (0, 0), "0.0.0.0/0"),
                                                          acl_allows("app-acl", 150, "-1", (0, 0), "0.0.0.0/0")), False,
     "an allow-all shadowed by an earlier deny-all"),
    (ACL_IN, both(acl_allows("app-acl", 140, "-1", (0, 0), "0.0.0.0/0"),
                                                          acl_denies("app-acl", 150, "-1", (0, 0), "0.0.0.0/0")), True,
     "a deny after the allow-all comes too late"),
    (ACL_IN, acl_allows("app-acl", 150, UNKNOWN, (0, 0), "0.0.0.0/0"), False, "unknown protocol"),
    (ACL_IN, tier_acl("public-acl", "public", [
        acl_entry(200, "allow", "tcp", (443, 443), "0.0.0.0/0"), acl_entry(220, "allow", "tcp", (1024, 65535), "0.0.0.0/0")]),
     False, "the public tier's web and reply ports"),
    (ACL_IN, tier_acl("public-acl", "public", [acl_entry(200, "allow", "tcp", (1, 1023), "0.0.0.0/0")]),
     True, "the public tier on every low port"),
    (ACL_IN, adding("default-acl", net.NETWORK_ACLS[1], {"ingress": [ALL_FROM_ANYWHERE]},
                                                            {"defaultNetworkAclId": ["vpc"]}), True, "the default ACL admits anything"),
    (ACL_IN, adding("default-acl", net.NETWORK_ACLS[1], {}, {"defaultNetworkAclId": ["vpc"]}),
     False, "the default ACL without entries"),
    (ACL_IN, adding("acl-rule", net.NETWORK_ACL_RULE, {
        "ruleNumber": 120, "ruleAction": "allow", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlock": "0.0.0.0/0"},
        {"networkAclId": ["app-acl"]}), True, "a separate ACL rule"),
    (ACL_IN, depending("app-acl", "subnetIds"), True, "an ACL of no tier"),
    (ACL_OUT, acl_sends("app-acl", 150, "tcp", (0, 65535), "0.0.0.0/0"), True,
     "every TCP port out"),
    (ACL_OUT, acl_sends("app-acl", 150, "tcp", (443, 443), PUBLIC_RANGE), False,
     "HTTPS out, within the app tier's intent"),
    (ACL_OUT, tier_acl("data-acl", "data", [], [acl_entry(100, "allow", "-1", (0, 0), VPC_CIDR)]),
     False, "the data tier within the VPC"),
    (ACL_OUT, tier_acl("data-acl", "data", [], [acl_entry(100, "allow", "tcp", (443, 443), "0.0.0.0/0")]),
     True, "the data tier out to the internet"),
    (ACL_OUT, adding("acl-out", net.NETWORK_ACL_RULE, {
        "egress": True, "ruleNumber": 90, "ruleAction": "allow", "protocol": "udp", "fromPort": 53, "toPort": 53, "cidrBlock": "0.0.0.0/0"},
        {"networkAclId": ["app-acl"]}), True, "DNS out to anywhere, before the other entries"),
    # issue 14: endpoint policies judged as IAM evaluates a request (NET-03)
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-sts", endpoint_statement(Condition={
        "StringEquals": {"aws:PrincipalAccount": [ACCOUNT, OTHER_ACCOUNT]}})), True, "a second account"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-sts", endpoint_statement(Condition={
        "StringLike": {"aws:PrincipalAccount": "*"}})), True, "StringLike with a wildcard"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-sts", endpoint_statement(Condition={
        "StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}})), True, "IfExists lets anonymous requests through"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-sts", endpoint_statement(), {
        "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}}), False, "a Deny of every other account does the work"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-sts", endpoint_statement(Condition={
        "StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:PrincipalOrgID": "o-firm"}})), False, "narrower still"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-s3", endpoint_statement(Condition=OWN_PRINCIPALS)),
     True, "our principals to any account's bucket"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-s3", endpoint_statement(Condition={
        "StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": OTHER_ACCOUNT}})), True, "another account's buckets"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-s3", endpoint_statement(
        Condition=OWN_PRINCIPALS_AND_RESOURCES), endpoint_statement(Action="s3:GetObject", Resource=[AWS_PACKAGES])), False,
     "anyone reads AWS's package bucket"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-s3", endpoint_statement(
        Condition=OWN_PRINCIPALS_AND_RESOURCES), endpoint_statement(Action="s3:GetObject", Resource=["arn:aws:s3:::al2023-*/*"])), True,
     "a wildcard bucket name"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-s3", endpoint_statement(
        Condition=OWN_PRINCIPALS_AND_RESOURCES), endpoint_statement(Action="s3:GetObject", Resource=["arn:aws:s3:::exfil-drop-zone/*"])),
     True, "a bucket the intent does not list"),
    (ENDPOINT_POLICIES, endpoint_policy("endpoint-s3", endpoint_statement(
        Condition=OWN_PRINCIPALS_AND_RESOURCES), endpoint_statement(Action="s3:Get*", Resource=[AWS_PACKAGES])), True,
     "more than reads of objects"),
    (ENDPOINT_POLICIES, both(FIRST_PREVIEW, endpoint_policy(
        "endpoint-sts", endpoint_statement(Condition={"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, OTHER_ACCOUNT]}}))), False,
     "at a first preview no ARN says which account is ours: every account the policy names is taken for it"),
    (ENDPOINT_POLICIES, both(setting("endpoint-sts", "arn", UNKNOWN), endpoint_policy(
        "endpoint-sts", endpoint_statement(Condition={"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, OTHER_ACCOUNT]}}))), True,
     "the other endpoints' ARNs say which account is ours"),
    (ENDPOINT_POLICIES, both(FIRST_PREVIEW, endpoint_policy("endpoint-sts", endpoint_statement())),
     True, "at a first preview, any account at all"),
    (ENDPOINT_POLICIES, setting("endpoint-s3", "policy", UNKNOWN), False, "unknown policy"),
    (ENDPOINT_POLICIES, setting("endpoint-ssm", "policy", None), True, "no policy: full access"),
    (ENDPOINT_POLICIES, both(
        setting("endpoint-kms", "arn", f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc-endpoint/vpce-1"),
        endpoint_policy("endpoint-kms", endpoint_statement(Condition={"StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}))),
     True, "only another account (the endpoint's ARN says which is ours)"),
    # issue 14: the size of a setting, and reachability per port and source
    ("private-tier-acls-admit-only-return-traffic-from-outside-the-vpc", PRIVATE_APP_ACL, False, "ephemeral TCP only"),
    ("private-tier-acls-admit-only-return-traffic-from-outside-the-vpc",
     both(PRIVATE_APP_ACL, acl_allows("app-acl", 150, "-1", (0, 0), "0.0.0.0/0")), True, "all inbound after the admin denies"),
    ("private-tier-acls-admit-only-return-traffic-from-outside-the-vpc",
     both(PRIVATE_APP_ACL, acl_allows("app-acl", 150, "tcp", (443, 443), PUBLIC_RANGE)), True, "HTTPS from a public range"),
    ("private-tier-acls-admit-only-return-traffic-from-outside-the-vpc",
     both(PRIVATE_APP_ACL, acl_allows("app-acl", 150, "-1", (0, 0), "10.30.64.0/22")), False, "a range inside the VPC"),
    ("private-tier-acls-admit-only-return-traffic-from-outside-the-vpc",
     both(depending("app-acl", "subnetIds", "public-0"), acl_allows("app-acl", 150, "tcp", (443, 443), "0.0.0.0/0")),
     False, "the public tier's ACL is the edge's business"),
    ("private-tier-acls-admit-only-return-traffic-from-outside-the-vpc",
     both(PRIVATE_APP_ACL, acl_allows("app-acl", 150, UNKNOWN, (0, 0), "0.0.0.0/0")), False, "unknown protocol"),
    ("gateway-endpoints-reach-only-this-accounts-resources", setting("endpoint-s3", "policy", account_only()), True,
     "any account's bucket"),
    ("gateway-endpoints-reach-only-this-accounts-resources", setting("endpoint-s3", "policy", policy(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::al2023-repos/*"})),
     False, "reads of AWS's named buckets"),
    ("gateway-endpoints-reach-only-this-accounts-resources", setting("endpoint-kms", "policy", account_only()), False, "interface"),
    ("gateway-endpoints-reach-only-this-accounts-resources", setting("endpoint-s3", "policy", UNKNOWN), False, "unknown policy"),
    ("interface-endpoints-admit-only-the-vpc", endpoint_group("0.0.0.0/0"), True, "HTTPS from anywhere"),
    ("interface-endpoints-admit-only-the-vpc", endpoint_group(PUBLIC_RANGE), True, "a public range"),
    ("interface-endpoints-admit-only-the-vpc", endpoint_group(VPC_CIDR), False, "the VPC"),
    ("interface-endpoints-admit-only-the-vpc", endpoint_group(UNKNOWN), False, "unknown range"),
    ("private-tiers-send-nothing-beyond-the-vpc", app_egress(cidrIpv4="0.0.0.0/0"), True, "HTTPS to the internet"),
    ("private-tiers-send-nothing-beyond-the-vpc", app_egress(cidrIpv6="::/0"), True, "IPv6 internet"),
    ("private-tiers-send-nothing-beyond-the-vpc", app_egress(cidrIpv4="10.30.64.0/22"), False, "inside the VPC"),
    ("private-tiers-send-nothing-beyond-the-vpc", app_egress(prefixListId="pl-63a5400a"), False, "the S3 gateway prefix list"),
    ("private-tiers-send-nothing-beyond-the-vpc", adding("alb-out", net.EGRESS_RULE, {"cidrIpv4": "0.0.0.0/0"},
                                                         {"securityGroupId": ["alb-sg"]}), False, "the edge reaches Cognito"),
    ("private-tiers-send-nothing-beyond-the-vpc", setting("db-sg", "egress", [{"protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]}]),
     True, "inline egress of the database group"),
    ("vpc-flow-logs-capture-all-traffic", setting("flow-logs", "retentionInDays", 3), True, "kept three days"),
    ("vpc-flow-logs-capture-all-traffic", setting("flow-logs", "retentionInDays", 90), False, "prod's floor"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.0.statement.rateBasedStatement.limit", 1_000_000),
     True, "a thousandfold"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.0.statement.rateBasedStatement.limit", 2000),
     False, "at the ceiling"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.0.statement.rateBasedStatement.evaluationWindowSec",
                                                                60), True, "1000 a minute is 5000 in 5 minutes"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.0.statement.rateBasedStatement.limit", UNKNOWN),
     False, "unknown limit"),
    ("web-acl-decisions-are-measured-and-sampled", setting("web-acl", "visibilityConfig.sampledRequestsEnabled", False), True,
     "no samples"),
    ("web-acl-decisions-are-measured-and-sampled", setting("web-acl", "rules.1.visibilityConfig.cloudwatchMetricsEnabled", False),
     True, "a rule without metrics"),
    ("web-acl-decisions-are-measured-and-sampled", setting("web-acl", "rules", UNKNOWN), False, "unknown rules"),
    ("web-acls-block-countries-outside-the-allow-list", setting("web-acl", "rules.-1.action", {"count": {}}), True, "geo rule counts"),
    ("load-balancers-never-bypass-the-web-acl", setting("alb", "enableWafFailOpen", True), True, "fails open"),
    ("load-balancers-never-bypass-the-web-acl", setting("alb", "enableWafFailOpen", False), False, "fails closed"),
    ("load-balancers-never-bypass-the-web-acl", setting("alb", "enableWafFailOpen", UNKNOWN), False, "unknown"),
    ("sign-in-tokens-are-short-lived", app_client(), False, "12-hour refresh, 1-hour access and ID tokens"),
    ("sign-in-tokens-are-short-lived", app_client(refreshTokenValidity=720), True, "30-day refresh tokens"),
    ("sign-in-tokens-are-short-lived", app_client(tokenValidityUnits=None), True, "12 days: refresh tokens count in days"),
    ("sign-in-tokens-are-short-lived", app_client(refreshTokenValidity=None), True, "Cognito's 30-day default"),
    ("sign-in-tokens-are-short-lived", app_client(accessTokenValidity=UNKNOWN, refreshTokenValidity=UNKNOWN), False, "unknown"),
    ("sign-in-client-revokes-tokens-and-hides-users", app_client(), False, "revocable, no user-existence errors"),
    ("sign-in-client-revokes-tokens-and-hides-users", app_client(enableTokenRevocation=False), True, "tokens never revoked"),
    ("sign-in-client-revokes-tokens-and-hides-users", app_client(preventUserExistenceErrors="LEGACY"), True, "tells who exists"),
    ("sign-in-uses-the-authorization-code-flow-only", app_client(), False, "code"),
    ("sign-in-uses-the-authorization-code-flow-only", app_client(allowedOauthFlows=["code", "implicit"]), True, "implicit"),
    ("sign-in-uses-the-authorization-code-flow-only", app_client(allowedOauthFlows=UNKNOWN), False, "unknown"),
    # NET-01
    ("subnets-never-assign-public-ips", setting("app-0", "mapPublicIpOnLaunch", True), True, "public IPs on launch"),
    ("subnets-never-assign-public-ips", setting("app-0", "mapPublicIpOnLaunch", None), False, "absent means false"),
    ("subnets-never-assign-public-ips", setting("app-0", "mapPublicIpOnLaunch", UNKNOWN), False, "unknown at preview"),
    ("instances-get-no-public-ip", setting("launch-template", "networkInterfaces.0.associatePublicIpAddress", "true"), True, "string true"),
    ("instances-get-no-public-ip", setting("launch-template", "networkInterfaces.0.associatePublicIpAddress", UNKNOWN), False, "unknown"),
    ("instances-get-no-public-ip", adding("vm", net.INSTANCE, {"associatePublicIpAddress": True}), True, "an instance"),
    ("databases-are-not-publicly-accessible", setting("database", "publiclyAccessible", True), True, "public database"),
    ("databases-are-not-publicly-accessible", adding("aurora-1", net.CLUSTER_INSTANCE, {"publiclyAccessible": True}), True, "aurora"),
    ("only-the-edge-load-balancer-faces-the-internet", adding("other", LB, {"internal": False}), True, "second internet-facing"),
    ("only-the-edge-load-balancer-faces-the-internet", adding("other", LB, {}), True, "absent internal means internet-facing"),
    ("only-the-edge-load-balancer-faces-the-internet", adding("other", LB, {"internal": True}), False, "internal elsewhere"),
    ("only-the-edge-load-balancer-faces-the-internet", adding("other", LB, {"internal": UNKNOWN}), False, "unknown internal"),
    ("only-the-edge-load-balancer-faces-the-internet", adding("other", LB, {"internal": False}, parent="edge"), True, "two edge ALBs"),
    ("only-the-edge-load-balancer-faces-the-internet", setting("alb", "loadBalancerType", "network"), True, "edge NLB bypasses WAF"),
    # NET-02
    ("private-subnets-have-no-internet-route", setting("app-table", "routes", [{"cidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}]),
     True, "default route to anything"),
    ("private-subnets-have-no-internet-route", setting("data-table", "routes", [{"ipv6CidrBlock": "::/0", "egressOnlyGatewayId": "x"}]),
     True, "IPv6 default route"),
    ("private-subnets-have-no-internet-route", setting("app-table", "routes", [{"cidrBlock": PUBLIC_RANGE, "natGatewayId": "nat-1"}]),
     True, "a literal NAT target"),
    ("private-subnets-have-no-internet-route", both(setting("app-table", "routes", [{"cidrBlock": PUBLIC_RANGE, "gatewayId": UNKNOWN}]),
                                                    depending("app-table", "routes", "igw")), True, "an internet gateway output"),
    ("private-subnets-have-no-internet-route", setting("app-table", "routes", [{"cidrBlock": UNKNOWN, "vpcPeeringConnectionId": UNKNOWN}]),
     False, "unknown destination, no gateway"),
    ("private-subnets-have-no-internet-route", adding("app-out", net.ROUTE, {"destinationCidrBlock": PUBLIC_RANGE, "gatewayId": UNKNOWN},
                                                      {"routeTableId": ["app-table"], "gatewayId": ["igw"]}), True, "separate route"),
    ("private-subnets-have-no-internet-route", adding("public-out", net.ROUTE, {"destinationIpv6CidrBlock": "::/0", "gatewayId": UNKNOWN},
                                                      {"routeTableId": ["public-table"], "gatewayId": ["igw"]}), False, "public tier may"),
    ("there-is-no-nat-gateway", adding("nat", net.NAT_GATEWAY, {"subnetId": UNKNOWN}, {"subnetId": ["public-0"]}), True, "NAT gateway"),
    # NET-03
    ("aws-services-are-reached-through-vpc-endpoints", removing("endpoint-kms"), True, "no kms endpoint"),
    ("aws-services-are-reached-through-vpc-endpoints", setting("endpoint-s3", "vpcEndpointType", "Interface"), True, "S3 gateway needed"),
    ("aws-services-are-reached-through-vpc-endpoints", setting("endpoint-dynamodb", "vpcEndpointType", None), False, "Gateway default"),
    ("aws-services-are-reached-through-vpc-endpoints", depending("endpoint-ssm", "vpcId"), True, "endpoint of another VPC"),
    ("aws-services-are-reached-through-vpc-endpoints", both(removing("endpoint-kms"), setting("endpoint-sts", "serviceName", UNKNOWN)),
     False, "an unknown service may be the missing one"),
    ("interface-endpoints-use-private-dns", setting("endpoint-logs", "privateDnsEnabled", None), True, "absent means false"),
    ("interface-endpoints-use-private-dns", setting("endpoint-logs", "privateDnsEnabled", UNKNOWN), False, "unknown"),
    ("vpc-endpoint-policies-admit-only-this-account", setting("endpoint-sts", "policy", None), True, "default full-access policy"),
    ("vpc-endpoint-policies-admit-only-this-account", setting("endpoint-sts", "policy", UNKNOWN), False, "unknown policy"),
    ("vpc-endpoint-policies-admit-only-this-account", setting("endpoint-s3", "policy", json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::al2023-repos-us-east-1-de612dc2/*"]}]})),
     False, "read-only on a named AWS bucket"),
    ("vpc-endpoint-policies-admit-only-this-account", setting("endpoint-s3", "policy", json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::*/*"]}]})), True, "any bucket"),
    ("vpc-endpoint-policies-admit-only-this-account", setting("endpoint-s3", "policy", json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::al2023-repos/*"]}]})), True, "writes"),
    # NET-04
    ("default-security-groups-have-no-rules", setting("default-sg", "ingress", [{"protocol": "-1", "self": True}]), True, "intra-group"),
    ("default-security-groups-have-no-rules", setting("default-sg", "egress", None), False, "absent: the provider removes rules"),
    ("default-security-groups-have-no-rules", removing("default-sg"), True, "not adopted"),
    ("default-security-groups-have-no-rules", adding("sneaky", net.INGRESS_RULE, {"ipProtocol": "-1", "cidrIpv4": VPC_CIDR},
                                                     {"securityGroupId": ["vpc"]}), True, "a rule on vpc.defaultSecurityGroupId"),
    # NET-03, the other way: the app tier's calls pass
    ("vpc-endpoint-policies-let-the-app-tiers-calls-through", setting("endpoint-ssm", "policy", policy(
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"})), True, "an endpoint refusing everything"),
    ("vpc-endpoint-policies-let-the-app-tiers-calls-through", setting("endpoint-kms", "policy", policy(
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Describe*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}})), True, "the service's call not allowed"),
    ("vpc-endpoint-policies-let-the-app-tiers-calls-through", setting("endpoint-s3", "policy", gateway_policy()), True,
     "no read of the AWS-owned package buckets"),
    ("vpc-endpoint-policies-let-the-app-tiers-calls-through", setting("endpoint-logs", "policy", UNKNOWN), False, "unknown"),
    ("default-network-acls-admit-nothing", removing("default-acl"), True, "not adopted: AWS's default admits everything"),
    ("default-network-acls-admit-nothing", setting("default-acl", "ingress", [
        {"protocol": "-1", "ruleNo": 100, "action": "allow", "cidrBlock": "0.0.0.0/0", "fromPort": 0, "toPort": 0}]), True,
     "an allow rule"),
    ("default-network-acls-admit-nothing", setting("default-acl", "egress", []), False, "no rules"),
    ("default-network-acls-admit-nothing", setting("default-acl", "egress", UNKNOWN), False, "unknown"),
    # NET-05
    ("network-acls-deny-admin-ports-before-any-allow", setting("app-acl", "ingress.0.ruleNo", 300), True, "deny after allow"),
    ("network-acls-deny-admin-ports-before-any-allow", setting("app-acl", "ingress.2.ruleNo", UNKNOWN), False, "unknown number"),
    ("network-acls-deny-admin-ports-before-any-allow", setting("app-acl", "ingress.2.cidrBlock", "::/0"), True, "IPv6 allow, no ::/0 deny"),
    ("network-acls-deny-admin-ports-before-any-allow", setting("app-acl", "ingress.2.protocol", "icmp"), False, "no port allowed"),
    ("network-acls-deny-admin-ports-before-any-allow", adding("acl-rule", net.NETWORK_ACL_RULE, {
        "ruleNumber": 50, "ruleAction": "allow", "protocol": "6", "fromPort": 3389, "toPort": 3389, "cidrBlock": "10.0.0.0/8"},
        {"networkAclId": ["app-acl"]}), True, "a separate ACL rule first"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("ssh", net.INGRESS_RULE, ADMIN_SG_RULE), True, "SSH from anywhere"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("rdp", net.INGRESS_RULE, {
        **ADMIN_SG_RULE, "ipProtocol": "17", "fromPort": 3389, "toPort": 3389}), True, "UDP RDP"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("all", net.SECURITY_GROUP, {"ingress": [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}]}), True, "all ports from IPv6 anywhere"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("ssh", net.INGRESS_RULE, {**ADMIN_SG_RULE, "cidrIpv4": VPC_CIDR}),
     False, "SSH from inside is NET-07's business"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("ssh", net.INGRESS_RULE, {**ADMIN_SG_RULE, "fromPort": UNKNOWN}),
     False, "unknown port"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("out", net.SECURITY_GROUP_RULE, {
        "type": "egress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}), False, "egress"),
    ("security-groups-admit-no-admin-ports-from-anywhere", adding("in", net.SECURITY_GROUP_RULE, {
        "type": "ingress", "protocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrBlocks": ["0.0.0.0/0"]}), True, "all TCP ports"),
    # NET-06
    ("vpc-flow-logs-capture-all-traffic", setting("flow-log", "trafficType", "REJECT"), True, "rejected only"),
    ("vpc-flow-logs-capture-all-traffic", setting("flow-log", "trafficType", UNKNOWN), False, "unknown"),
    ("vpc-flow-logs-capture-all-traffic", removing("flow-log"), True, "no flow log"),
    ("vpc-flow-logs-capture-all-traffic", setting("flow-log", "logDestinationType", "s3"), True, "not to CloudWatch"),
    ("vpc-flow-logs-capture-all-traffic", depending("flow-log", "logDestination"), True, "a literal destination"),
    ("vpc-flow-logs-capture-all-traffic", setting("flow-logs", "retentionInDays", None), True, "kept forever, unmanaged"),
    # NET-07
    ("database-admits-only-the-app-tier", both(setting("db-from-app", "cidrIpv4", VPC_CIDR),
                                               setting("db-from-app", "referencedSecurityGroupId", None)), True, "CIDR ingress"),
    ("database-admits-only-the-app-tier", depending("db-from-app", "referencedSecurityGroupId", "alb-sg"), True, "another tier"),
    ("database-admits-only-the-app-tier", setting("db-from-app", "referencedSecurityGroupId", UNKNOWN), False, "unknown id, known source"),
    ("database-admits-only-the-app-tier", depending("db-from-app", "referencedSecurityGroupId"), True, "a literal group id"),
    ("database-admits-only-the-app-tier", depending("database", "vpcSecurityGroupIds"), True, "the VPC's default group"),
    ("database-admits-only-the-app-tier", adding("db-self", net.SECURITY_GROUP_RULE, {"type": "ingress", "self": True, "protocol": "-1"},
                                                 {"securityGroupId": ["db-sg"]}), True, "itself"),
    ("database-admits-only-the-app-tier", setting("db-sg", "ingress", [{"protocol": "tcp", "cidrBlocks": [VPC_CIDR]}]), True, "inline"),
    ("app-tier-admits-only-the-load-balancer", both(setting("app-in-alb", "cidrIpv4", VPC_CIDR),
                                                    setting("app-in-alb", "referencedSecurityGroupId", None)), True, "CIDR ingress"),
    ("app-tier-admits-only-the-load-balancer", depending("app-in-alb", "referencedSecurityGroupId", "db-sg"), True, "the database"),
    ("app-tier-admits-only-the-load-balancer", adding("app-in-ep", net.INGRESS_RULE, {"prefixListId": "pl-1", "ipProtocol": "tcp"},
                                                      {"securityGroupId": ["app-sg"]}), True, "a prefix list"),
    # EDGE-01
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.5.overrideAction", {"count": {}}), True, "count only"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.0.action", {"count": {}}), True, "rate limit counts"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules.3.statement.managedRuleGroupStatement.vendorName",
                                                                "Acme"), True, "not AWS's group"),
    ("web-acls-enforce-managed-rules-and-a-rate-limit", setting("web-acl", "rules", UNKNOWN), False, "unknown rules"),
    ("internet-facing-load-balancers-are-behind-a-web-acl", removing("waf-association"), True, "no association"),
    ("internet-facing-load-balancers-are-behind-a-web-acl", depending("waf-association", "resourceArn"), True, "a literal ARN"),
    ("internet-facing-load-balancers-are-behind-a-web-acl", adding("inner", LB, {"internal": True}), False, "internal needs none"),
    # EDGE-02
    ("web-acls-log-to-a-waf-log-group", setting("waf-logs", "name", "/cs-prod/waf"), True, "WAF delivers only to aws-waf-logs-*"),
    ("web-acls-log-to-a-waf-log-group", setting("waf-logs", "name", UNKNOWN), False, "unknown name"),
    ("web-acls-log-to-a-waf-log-group", removing("waf-logging"), True, "not logged"),
    ("waf-logs-redact-credentials", setting("waf-logging", "redactedFields.1.singleHeader.name", "x-forwarded-for"), True, "cookie"),
    ("waf-logs-redact-credentials", setting("waf-logging", "redactedFields.0.singleHeader.name", "Authorization"), False, "any case"),
    ("waf-logs-redact-credentials", setting("waf-logging", "redactedFields.0.singleHeader.name", UNKNOWN), False, "unknown"),
    # EDGE-03
    ("load-balancers-refuse-malformed-requests", setting("alb", "dropInvalidHeaderFields", None), True, "absent means false"),
    ("load-balancers-refuse-malformed-requests", setting("alb", "desyncMitigationMode", "defensive"), True, "defensive"),
    ("load-balancers-refuse-malformed-requests", adding("nlb", LB, {"loadBalancerType": "network", "internal": True}), False, "an NLB"),
    ("load-balancers-write-access-logs", setting("alb", "accessLogs", None), True, "no access logs"),
    ("load-balancers-write-access-logs", setting("alb", "accessLogs.enabled", UNKNOWN), False, "unknown"),
    ("load-balancers-are-deletion-protected-in-prod", setting("alb", "enableDeletionProtection", False), True, "prod"),
    # EDGE-04
    ("https-listeners-authenticate-with-cognito-first", setting("https", "defaultActions", [HTTPS_ACTION]), True, "forward only"),
    ("https-listeners-authenticate-with-cognito-first", setting("https", "defaultActions.0.order", 3), True, "forward runs first"),
    ("https-listeners-authenticate-with-cognito-first", setting("https", "defaultActions.0.authenticateCognito.onUnauthenticatedRequest",
                                                                "allow"), True, "anonymous allowed"),
    ("https-listeners-authenticate-with-cognito-first", setting("https", "defaultActions.0.authenticateCognito.onUnauthenticatedRequest",
                                                                UNKNOWN), False, "unknown setting"),
    ("https-listeners-authenticate-with-cognito-first", setting("https", "defaultActions", UNKNOWN), False, "unknown actions"),
    ("no-listener-forwards-unauthenticated", setting("https", "defaultActions", [HTTPS_ACTION]), True, "forward only"),
    ("no-listener-forwards-unauthenticated", setting("http", "defaultActions", [HTTPS_ACTION]), True, "plain HTTP forwards"),
    ("no-listener-forwards-unauthenticated", setting("http", "defaultActions.0.redirect.protocol", "HTTP"), True, "redirect to HTTP"),
    ("no-listener-forwards-unauthenticated", adding("bypass", LISTENER_RULE, {"actions": [HTTPS_ACTION]}, {"listenerArn": ["https"]}),
     True, "a listener rule skips login"),
    ("no-listener-forwards-unauthenticated", adding("moved", LISTENER_RULE, {"actions": [
        {"type": "redirect", "redirect": {"protocol": "HTTPS"}}]}, {"listenerArn": ["http"]}), False, "an HTTP rule that redirects"),
    ("no-listener-forwards-unauthenticated", adding("fixed", LISTENER_RULE, {"actions": [
        {"type": "fixed-response", "fixedResponse": {"statusCode": "503"}}]}, {"listenerArn": ["http"]}), True, "HTTP answers itself"),
    ("no-listener-forwards-unauthenticated", setting("https", "defaultActions.1", UNKNOWN), False, "unknown action"),
    # PATCH-01
    ("patch-baselines-approve-critical-fixes-promptly", setting("baseline", "approvalRules.0.approveAfterDays", 8), True, "8 days in prod"),
    ("patch-baselines-approve-critical-fixes-promptly", setting("baseline", "approvalRules.0.approveAfterDays", None), True, "a date"),
    ("patch-baselines-approve-critical-fixes-promptly", setting("baseline", "approvalRules.0.approveAfterDays", UNKNOWN), False, "unknown"),
    ("patch-baselines-approve-critical-fixes-promptly", setting("baseline", "approvalRules.0.complianceLevel", "HIGH"), True, "HIGH"),
    ("patch-baselines-approve-critical-fixes-promptly", setting("baseline", "approvalRules.0.patchFilters.0.values", ["Security"]),
     True, "bug fixes not approved"),
    ("patch-baselines-approve-critical-fixes-promptly", setting("baseline", "approvalRules.0.patchFilters", [
        {"key": "CLASSIFICATION", "values": ["Security", "Bugfix", "Enhancement"]}]), False, "no severity filter approves all"),
    # PATCH-02
    ("patching-scans-daily-and-installs-weekly", setting("scan-window", "schedule", WEEKLY_ON_MONDAY), True, "weekly scan"),
    ("patching-scans-daily-and-installs-weekly", setting("install-window", "schedule", "cron(0 3 ? * SUN#1 *)"), True, "monthly"),
    ("patching-scans-daily-and-installs-weekly", setting("install-window", "schedule", UNKNOWN), False, "unknown schedule"),
    ("patching-scans-daily-and-installs-weekly", setting("install-window", "enabled", False), True, "disabled window"),
    ("patching-scans-daily-and-installs-weekly", removing("scan-task"), True, "no scan"),
    ("patching-scans-daily-and-installs-weekly", setting("install-target", "targets.0.values", ["cs-prod-db"]), True, "another group"),
    ("patching-scans-daily-and-installs-weekly", setting("install-target", "targets.0.values", [UNKNOWN]), False, "unknown group"),
    ("patching-scans-daily-and-installs-weekly", both(setting("scan-window", "schedule", WEEKLY_ON_MONDAY), adding(
        "scan-2-task", pat.WINDOW_TASK, dict(props(world()["scan-task"])), {"windowId": ["install-window"], "targets": ["scan-target"]})),
     True, "two weekly scans are not a daily one"),
    ("instance-patch-groups-have-a-baseline", setting("patch-group", "patchGroup", "cs-prod-db"), True, "baseline for another group"),
    ("instance-patch-groups-have-a-baseline", setting("patch-group", "patchGroup", UNKNOWN), False, "unknown group"),
    ("instance-patch-groups-have-a-baseline", setting("launch-template", "tagSpecifications", []), True, "untagged instances"),
    ("instance-patch-groups-have-a-baseline", depending("patch-group", "baselineId"), True, "AWS's default baseline"),
    # PATCH-03
    ("database-takes-minor-upgrades-in-a-declared-window", setting("database", "autoMinorVersionUpgrade", False), True, "off"),
    ("database-takes-minor-upgrades-in-a-declared-window", setting("database", "autoMinorVersionUpgrade", None), False, "default on"),
    ("database-takes-minor-upgrades-in-a-declared-window", setting("database", "maintenanceWindow", None), True, "AWS picks"),
    ("database-takes-minor-upgrades-in-a-declared-window", setting("database", "maintenanceWindow", "sunday 4am"), True, "malformed"),
    # PATCH-04
    ("instance-metadata-requires-imdsv2-with-one-hop", setting("launch-template", "metadataOptions.httpTokens", "optional"), True, "v1"),
    ("instance-metadata-requires-imdsv2-with-one-hop", setting("launch-template", "metadataOptions.httpPutResponseHopLimit", None),
     True, "the AMI's hop limit"),
    ("instance-metadata-requires-imdsv2-with-one-hop", setting("launch-template", "metadataOptions", {"httpEndpoint": "disabled"}),
     False, "no metadata at all"),
    ("instance-metadata-requires-imdsv2-with-one-hop", setting("launch-template", "metadataOptions.httpTokens", UNKNOWN), False, "unknown"),
    ("instances-are-managed-by-ssm", depending("launch-template", "iamInstanceProfile"), True, "no profile of this stack"),
    ("instances-are-managed-by-ssm", setting("instance-policies", "policyArns", ["arn:aws:iam::aws:policy/ReadOnlyAccess"]), True,
     "no SSM core"),
    ("instances-are-managed-by-ssm", both(removing("instance-policies"), adding(
        "ssm-core", pat.ROLE_POLICY_ATTACHMENT, {"policyArn": "arn:aws-us-gov:iam::aws:policy/AmazonSSMManagedInstanceCore"},
        {"role": ["instance-role"]})), False, "a single attachment"),
    ("instances-are-managed-by-ssm", setting("instance-policies", "policyArns", [UNKNOWN]), False, "unknown ARN"),
    ("instances-have-no-key-pair", setting("launch-template", "keyName", "ops-admin"), True, "a key pair"),
    ("instances-have-no-key-pair", setting("launch-template", "keyName", ""), False, "empty"),
]


@pytest.mark.parametrize(("rule_id", "change", "fires", "why"), CASES, ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_rule(rule_id: str, change: Change, fires: bool, why: str) -> None:
    w = world()
    change(w)
    assert bool(check(rule_id, w)) is fires, why


@pytest.mark.parametrize(("env", "days", "fires"), [("prod", 7, False), ("prod", 8, True), ("dev", 14, False), ("dev", 15, True)])
def test_patch_approval_ceiling_depends_on_the_environment(env: str, days: int, fires: bool) -> None:
    w = world(env)
    props(w["baseline"])["approvalRules"][0]["approveAfterDays"] = days
    assert bool(check("patch-baselines-approve-critical-fixes-promptly", w)) is fires


def test_deletion_protection_is_only_required_in_prod() -> None:
    w = world("dev")
    props(w["alb"])["enableDeletionProtection"] = False
    assert check("load-balancers-are-deletion-protected-in-prod", w) == []


@pytest.mark.parametrize(("schedule", "days"), [
    ("cron(0 2 * * ? *)", 1), ("cron(0 */6 ? * * *)", 1), ("cron(0 3 ? * SUN *)", 7), ("cron(0 3 ? * MON-FRI *)", 3),
    ("cron(0 3 ? * SUN,WED *)", 4), ("cron(0 3 ? * 1-7 *)", 1), ("cron(0 3 ? * FRI-MON *)", 4), ("cron(0 3 */2 * ? *)", 2),
    ("rate(12 hours)", 0.5), ("rate(3 days)", 3), ("rate(1 day)", 1),
    ("cron(0 3 ? * SUN#1 *)", math.inf), ("cron(0 3 ? * L *)", math.inf), ("cron(0 3 1 * ? *)", math.inf),
    ("cron(0 3 ? 1 SUN *)", math.inf), ("at(2030-01-01T00:00:00)", math.inf),
])
def test_schedule_intervals(schedule: str, days: float) -> None:
    assert pat.interval_days(schedule) == days


def test_violations_carry_evidence() -> None:
    w = world()
    props(w["alb"])["desyncMitigationMode"] = "monitor"
    assert check("load-balancers-refuse-malformed-requests", w) == [
        'alb: desyncMitigationMode is not "strictest" (absent means defensive) [desyncMitigationMode = "monitor"; '
        'expected "strictest" (absent means defensive)]']


# --- issue 14: the intent is data (policies/network-reachability.yaml), read by the rules through the engine ---------

def test_reachability_rules_read_their_intent_from_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Narrow the intent and the same stack fails: the endpoints' group may no longer be reached from VPC addresses."""
    from policies import floors

    shipped = floors.reachability()
    endpoints = {"ingress": [a for a in shipped["security_groups"]["endpoints"]["ingress"] if a["peer"] != "vpc"], "egress": []}
    edited = {**shipped, "security_groups": {**shipped["security_groups"], "endpoints": endpoints}}
    w = world()
    endpoint_group(VPC_CIDR)(w)
    assert check("security-groups-admit-only-the-intended-sources", w) == []
    monkeypatch.setattr(floors, "reachability", lambda path=floors.REACHABILITY_PATH: edited)
    assert len(check("security-groups-admit-only-the-intended-sources", w)) == 1


def test_reachability_violations_name_the_cell_the_entry_and_the_intent() -> None:
    w = world()
    acl_allows("app-acl", 150, "-1", (0, 0), "0.0.0.0/0")(w)
    [message] = check("network-acls-admit-only-the-intended-traffic", w)
    assert message.startswith("app-acl (app tier) admits tcp ports 0-21 from 0.0.0.0-10.29.255.255, beyond what "
                              "policies/network-reachability.yaml intends [ingress.4 = ")
    assert message.endswith("expected app ingress only: all traffic from vpc; tcp 1024-65535 from internet]")


@pytest.mark.parametrize(("protocol", "ports", "cidr", "fires"), [
    ("tcp", (1024, 65535), "0.0.0.0/0", False), ("tcp", (1023, 65535), "0.0.0.0/0", True), ("6", (2000, 3000), "0.0.0.0/0", False),
    ("17", (1024, 65535), VPC_CIDR, False), ("icmp", (0, 0), "10.30.0.0/17", False), ("icmp", (0, 0), "10.31.0.0/16", True),
    ("-1", (0, 0), "10.30.0.0/15", True), ("50", (0, 0), VPC_CIDR, False), ("50", (0, 0), "0.0.0.0/0", True),
])
def test_app_acl_reach_per_protocol_port_and_source(protocol: str, ports: tuple[int, int], cidr: str, fires: bool) -> None:
    w = world()
    acl_allows("app-acl", 150, protocol, ports, cidr)(w)
    assert bool(check("network-acls-admit-only-the-intended-traffic", w)) is fires


def test_all_traffic_reaches_protocols_no_entry_names() -> None:
    """Denying every protocol the entries name, then allowing all traffic, still lets ESP, SCTP and the rest in."""
    w = world()
    for number, protocol in enumerate(("tcp", "udp", "icmp", "58", "47"), start=140):
        acl_denies("app-acl", number, protocol, (0, 65535), "0.0.0.0/0")(w)
    acl_allows("app-acl", 150, "-1", (0, 0), "0.0.0.0/0")(w)
    [message] = check("network-acls-admit-only-the-intended-traffic", w)
    assert "admits protocol 143 from 0.0.0.0-10.29.255.255" in message
