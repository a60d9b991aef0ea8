"""Mutants of the network, edge and patching controls (NET-*, EDGE-*, PATCH-*): one breakage per rule at least.

Most edit one resource's props. A few break a control by what they add (a NAT gateway, a second internet-facing load
balancer): `register_also` registers one extra resource each time the stack's VPC is registered, which is once per
evaluation, so the mutant is the program plus that resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from policies.mutants import Props, drop_prop, edit, edit_document, mutant, set_path, set_prop

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
DB_INSTANCE = "aws:rds/instance:Instance"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
PATCH_BASELINE = "aws:ssm/patchBaseline:PatchBaseline"
PATCH_GROUP = "aws:ssm/patchGroup:PatchGroup"
MAINTENANCE_WINDOW = "aws:ssm/maintenanceWindow:MaintenanceWindow"
WINDOW_TARGET = "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget"
WINDOW_TASK = "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"
ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"

ANYWHERE = "0.0.0.0/0"
VPC_CIDR = "10.30.0.0/16"  # prod's VPC
APP_TABLE, DATA_TABLE = "*-network-app", "*-network-data"
APP_INGRESS, DATABASE_INGRESS = "*-app-in-alb", "*-database-from-app"
MUTANT_SUBNETS = ["subnet-0mutant0a", "subnet-0mutant0b"]


def register_also(create: Callable[[], pulumi.Resource]) -> pulumi.ResourceTransform:
    """A transform that changes nothing but registers one more resource (`create()`) alongside the stack's VPC."""

    def transform(args: pulumi.ResourceTransformArgs) -> None:
        if args.type_ == VPC:
            create()

    return transform


def public_load_balancer() -> pulumi.Resource:
    return aws.lb.LoadBalancer("mutant-public-alb", load_balancer_type="application", internal=False, subnets=MUTANT_SUBNETS)


def nat_gateway() -> pulumi.Resource:
    return aws.ec2.NatGateway("mutant-nat", subnet_id=MUTANT_SUBNETS[0], allocation_id="eipalloc-0mutant")


def ingress_from(cidr: str, port: int | None = None) -> Callable[[Props], None]:
    """A separate ingress rule changed to admit `cidr` (on `port`, if given) instead of a security group."""

    def change(props: Props) -> None:
        props.pop("referencedSecurityGroupId", None)
        props["cidrIpv4"] = cidr
        if port is not None:
            props.update(fromPort=port, toPort=port)

    return change


def ssh_denied_last(props: Props) -> None:
    """The SSH deny renumbered after the ACL's allow of all traffic from the VPC."""
    for entry in props["ingress"]:
        if entry["action"] == "deny" and entry["fromPort"] == 22:
            entry["ruleNo"] = 300


def without_account_condition(document: dict[str, Any]) -> None:
    for statement in document["Statement"]:
        statement.pop("Condition", None)


def without_rule(name: str) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        props["rules"] = [r for r in props["rules"] if r["name"] != name]

    return change


def counting_only(name: str) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        for rule in props["rules"]:
            if rule["name"] == name:
                rule["overrideAction"] = {"count": {}}

    return change


def forward_only(props: Props) -> None:
    """The HTTPS listener's authentication removed: its forward becomes the first and only action."""
    props["defaultActions"] = [dict(a, order=1) for a in props["defaultActions"] if a["type"] == "forward"]


def forward_plain_http(props: Props) -> None:
    props["defaultActions"] = [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app"}]


def anonymous_allowed(props: Props) -> None:
    for action in props["defaultActions"]:
        if action["type"] == "authenticate-cognito":
            action["authenticateCognito"]["onUnauthenticatedRequest"] = "allow"


def operation(value: str) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        props["taskInvocationParameters"]["runCommandParameters"]["parameters"] = [{"name": "Operation", "values": [value]}]

    return change


def without_ssm_core(props: Props) -> None:
    props["policyArns"] = [arn for arn in props["policyArns"] if not arn.endswith("/AmazonSSMManagedInstanceCore")]


# --- NET: the network ---------------------------------------------------------------------------------------------

mutant("net-01-subnet-maps-public-ips", "NET-01", "an app subnet gives every instance launched in it a public IP",
       transform=set_prop(SUBNET, "mapPublicIpOnLaunch", True, name="*-app-0"))
mutant("net-01-launch-template-public-ip", "NET-01", "the app launch template asks for a public IP",
       transform=set_prop(LAUNCH_TEMPLATE, "networkInterfaces.0.associatePublicIpAddress", "true"))
mutant("net-01-database-publicly-accessible", "NET-01", "the case database gets a public endpoint",
       transform=set_prop(DB_INSTANCE, "publiclyAccessible", True))
mutant("net-01-second-internet-facing-load-balancer", "NET-01", "a second, internet-facing load balancer outside the edge",
       transform=register_also(public_load_balancer))

mutant("net-02-default-route-on-app-table", "NET-02", "the app route table sends 0.0.0.0/0 to an internet gateway",
       transform=set_prop(ROUTE_TABLE, "routes", [{"cidrBlock": ANYWHERE, "gatewayId": "igw-0mutant"}], name=APP_TABLE))
mutant("net-02-data-table-routes-to-nat", "NET-02", "the data route table sends a public range to a NAT gateway",
       transform=set_prop(ROUTE_TABLE, "routes", [{"cidrBlock": "203.0.113.0/24", "natGatewayId": "nat-0mutant"}], name=DATA_TABLE))
mutant("net-02-nat-gateway-added", "NET-02", "a NAT gateway is added to the VPC",
       transform=register_also(nat_gateway))

mutant("net-03-no-kms-endpoint", "NET-03", "the kms endpoint serves kms-fips: calls to kms.<region> leave the VPC",
       transform=set_prop(VPC_ENDPOINT, "serviceName", "com.amazonaws.us-east-1.kms-fips", name="*-network-kms"))
mutant("net-03-ssm-endpoint-without-private-dns", "NET-03", "the ssm endpoint has no private DNS name",
       transform=set_prop(VPC_ENDPOINT, "privateDnsEnabled", False, name="*-network-ssm"))
mutant("net-03-logs-endpoint-refuses-the-app-tier", "NET-03", "the logs endpoint policy denies everything: instance logs have no path",
       transform=edit_document(VPC_ENDPOINT, "policy", set_path("Statement.0.Effect", "Deny"), name="*-network-logs"))
mutant("net-03-sts-endpoint-open-to-any-account", "NET-03", "the sts endpoint policy admits principals of any account",
       transform=edit_document(VPC_ENDPOINT, "policy", without_account_condition, name="*-network-sts"))

mutant("net-04-default-sg-admits-its-members", "NET-04", "the default security group admits all traffic from its members",
       transform=set_prop(DEFAULT_SECURITY_GROUP, "ingress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]))
mutant("net-04-default-acl-admits-everything", "NET-04", "the default network ACL admits all inbound traffic, as AWS creates it",
       transform=set_prop(DEFAULT_NETWORK_ACL, "ingress", [{"protocol": "-1", "ruleNo": 100, "action": "allow",
                                                            "cidrBlock": "0.0.0.0/0", "fromPort": 0, "toPort": 0}]))

mutant("net-05-ssh-from-anywhere-on-app-sg", "NET-05", "the app security group admits SSH from 0.0.0.0/0",
       transform=edit(INGRESS_RULE, ingress_from(ANYWHERE, 22), name=APP_INGRESS))
mutant("net-05-app-acl-allows-ssh-before-denying", "NET-05", "the app ACL's SSH deny comes after its allow-all from the VPC",
       transform=edit(NETWORK_ACL, ssh_denied_last, name="*-network-app"))

mutant("net-06-flow-log-rejects-only", "NET-06", "the flow log records rejected traffic only",
       transform=set_prop(FLOW_LOG, "trafficType", "REJECT"))
mutant("net-06-flow-log-group-without-retention", "NET-06", "the flow-log group has no retention period",
       transform=drop_prop(LOG_GROUP, "retentionInDays", name="*-network-flow-logs"))

mutant("net-07-database-admits-the-vpc", "NET-07", "the database security group admits the whole VPC CIDR",
       transform=edit(INGRESS_RULE, ingress_from(VPC_CIDR), name=DATABASE_INGRESS))
mutant("net-07-app-admits-the-vpc", "NET-07", "the app security group admits the whole VPC CIDR, not just the load balancer",
       transform=edit(INGRESS_RULE, ingress_from(VPC_CIDR), name=APP_INGRESS))

# --- EDGE: the WAF, the load balancer and its listeners ------------------------------------------------------------

mutant("edge-01-sqli-rules-dropped", "EDGE-01", "the web ACL no longer runs the SQL injection rule group",
       transform=edit(WEB_ACL, without_rule("AWSManagedRulesSQLiRuleSet")))
mutant("edge-01-common-rules-count-only", "EDGE-01", "the common rule set only counts matches",
       transform=edit(WEB_ACL, counting_only("AWSManagedRulesCommonRuleSet")))
mutant("edge-01-rate-limit-dropped", "EDGE-01", "the web ACL has no per-IP rate limit",
       transform=edit(WEB_ACL, without_rule("rate-limit-per-ip")))
mutant("edge-01-unprotected-load-balancer", "EDGE-01", "an internet-facing load balancer without a web ACL",
       transform=register_also(public_load_balancer))

mutant("edge-02-credentials-logged", "EDGE-02", "WAF logs keep the authorization and cookie headers",
       transform=drop_prop(WEB_ACL_LOGGING, "redactedFields"))
mutant("edge-02-waf-log-group-renamed", "EDGE-02", "the WAF log group is not named aws-waf-logs-*",
       transform=set_prop(LOG_GROUP, "name", "/cs-prod/edge/waf", name="*-edge-waf-logs"))

mutant("edge-03-invalid-headers-forwarded", "EDGE-03", "the load balancer forwards invalid header fields",
       transform=set_prop(LOAD_BALANCER, "dropInvalidHeaderFields", False))
mutant("edge-03-defensive-desync-mitigation", "EDGE-03", "the load balancer tolerates ambiguous requests (defensive mode)",
       transform=set_prop(LOAD_BALANCER, "desyncMitigationMode", "defensive"))
mutant("edge-03-access-logs-off", "EDGE-03", "the load balancer writes no access logs",
       transform=set_prop(LOAD_BALANCER, "accessLogs.enabled", False))
mutant("edge-03-prod-load-balancer-deletable", "EDGE-03", "prod's load balancer has no deletion protection",
       transform=set_prop(LOAD_BALANCER, "enableDeletionProtection", False))

mutant("edge-04-https-forwards-without-authentication", "EDGE-04", "the HTTPS listener forwards without authenticating",
       transform=edit(LISTENER, forward_only, name="*-edge-https"))
mutant("edge-04-anonymous-requests-allowed", "EDGE-04", "Cognito authentication lets unauthenticated requests through",
       transform=edit(LISTENER, anonymous_allowed, name="*-edge-https"))
mutant("edge-04-http-listener-forwards", "EDGE-04", "the HTTP listener forwards to the application instead of redirecting",
       transform=edit(LISTENER, forward_plain_http, name="*-edge-http"))

# --- PATCH: baselines, maintenance windows, the database engine and the hosts --------------------------------------

mutant("patch-01-prod-approval-after-30-days", "PATCH-01", "prod approves critical patches only after 30 days",
       transform=set_prop(PATCH_BASELINE, "approvalRules.0.approveAfterDays", 30))
mutant("patch-01-staging-approval-after-20-days", "PATCH-01", "staging approves critical patches only after 20 days",
       transform=set_prop(PATCH_BASELINE, "approvalRules.0.approveAfterDays", 20), stack="staging")
mutant("patch-01-missing-patches-rated-low", "PATCH-01", "a missing critical patch is reported as LOW compliance",
       transform=set_prop(PATCH_BASELINE, "approvalRules.0.complianceLevel", "LOW"))
mutant("patch-01-important-updates-not-approved", "PATCH-01", "the baseline approves Critical updates only",
       transform=set_prop(PATCH_BASELINE, "approvalRules.0.patchFilters.1.values", ["Critical"]))

mutant("patch-02-install-monthly", "PATCH-02", "patches are installed on the first Sunday of the month only",
       transform=set_prop(MAINTENANCE_WINDOW, "schedule", "cron(0 3 ? * SUN#1 *)", name="*-install-window"))
mutant("patch-02-scan-weekly", "PATCH-02", "patch compliance is scanned weekly, not daily",
       transform=set_prop(MAINTENANCE_WINDOW, "schedule", "cron(0 2 ? * MON *)", name="*-scan-window"))
mutant("patch-02-no-scan", "PATCH-02", "the scan window installs instead of scanning",
       transform=edit(WINDOW_TASK, operation("Install"), name="*-scan-task"))
mutant("patch-02-install-targets-another-group", "PATCH-02", "the install window targets a patch group no instance is in",
       transform=set_prop(WINDOW_TARGET, "targets.0.values", ["cs-prod-retired"], name="*-install-target"))
mutant("patch-02-baseline-for-another-group", "PATCH-02", "the baseline is registered for a patch group no instance is in",
       transform=set_prop(PATCH_GROUP, "patchGroup", "cs-prod-retired"))

mutant("patch-03-minor-upgrades-off", "PATCH-03", "the database no longer takes minor-version upgrades",
       transform=set_prop(DB_INSTANCE, "autoMinorVersionUpgrade", False))
mutant("patch-03-no-maintenance-window", "PATCH-03", "the database lets AWS choose its maintenance window",
       transform=drop_prop(DB_INSTANCE, "maintenanceWindow"))

mutant("patch-04-imdsv1-allowed", "PATCH-04", "instances answer IMDSv1 requests without a session token",
       transform=set_prop(LAUNCH_TEMPLATE, "metadataOptions.httpTokens", "optional"))
mutant("patch-04-metadata-two-hops", "PATCH-04", "containers on an instance can reach its metadata (hop limit 2)",
       transform=set_prop(LAUNCH_TEMPLATE, "metadataOptions.httpPutResponseHopLimit", 2))
mutant("patch-04-key-pair-added", "PATCH-04", "instances launch with an SSH key pair",
       transform=set_prop(LAUNCH_TEMPLATE, "keyName", "ops-admin"))
mutant("patch-04-ssm-core-detached", "PATCH-04", "the instance role loses AmazonSSMManagedInstanceCore",
       transform=edit(ROLE_POLICY_ATTACHMENTS_EXCLUSIVE, without_ssm_core))


# --- issue 14: the size of a setting, not only its presence (floors of policies/floors.yaml) ------------------------

EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"


def admits_everything_from_anywhere(props: Props) -> None:
    """An allow of all traffic from 0.0.0.0/0, numbered after the admin-port denies (so NET-05 still holds)."""
    props["ingress"] = [*props["ingress"], {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlock": ANYWHERE,
                                            "ruleNo": 150, "action": "allow"}]


def any_resource_account(document: dict[str, Any]) -> None:
    """The S3 gateway endpoint's account statement no longer holds the buckets to this account (any bucket, anywhere)."""
    for statement in document["Statement"]:
        statement.get("Condition", {}).get("StringEquals", {}).pop("aws:ResourceAccount", None)


def egress_to(cidr: str) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        props.pop("referencedSecurityGroupId", None)
        props["cidrIpv4"] = cidr

    return change


def rate_limit(limit: int) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        for rule in props["rules"]:
            if "rateBasedStatement" in rule.get("statement", {}):
                rule["statement"]["rateBasedStatement"]["limit"] = limit

    return change


mutant("net-06-flow-log-retention-3-days", "NET-06", "the flow-log group keeps flow logs for 3 days",
       transform=set_prop(LOG_GROUP, "retentionInDays", 3, name="*-network-flow-logs"))
mutant("net-06-flow-log-retention-7-days-staging", "NET-06", "staging's flow-log group keeps flow logs for 7 days",
       transform=set_prop(LOG_GROUP, "retentionInDays", 7, name="*-network-flow-logs"), stack="staging")
mutant("net-01-app-acl-admits-all-inbound", "NET-01", "the app ACL allows all traffic from 0.0.0.0/0 (after the admin denies)",
       transform=edit(NETWORK_ACL, admits_everything_from_anywhere, name="*-network-app"))
mutant("net-01-data-acl-admits-all-inbound-dev", "NET-01", "dev's data ACL allows all traffic from 0.0.0.0/0",
       transform=edit(NETWORK_ACL, admits_everything_from_anywhere, name="*-network-data"), stack="dev")
mutant("net-03-s3-endpoint-any-bucket", "NET-03", "the S3 gateway endpoint policy no longer holds buckets to this account",
       transform=edit_document(VPC_ENDPOINT, "policy", any_resource_account, name="*-network-s3"))
mutant("net-07-endpoint-sg-open-to-anywhere", "NET-07", "the interface endpoints' security group admits HTTPS from 0.0.0.0/0",
       transform=edit(INGRESS_RULE, ingress_from(ANYWHERE), name="*-network-endpoints-https"))
mutant("net-02-app-egress-to-internet-443", "NET-02", "the app tier may send HTTPS to 0.0.0.0/0 (not only to the endpoints)",
       transform=edit(EGRESS_RULE, egress_to(ANYWHERE), name="*-app-out-endpoints"))

mutant("edge-01-waf-fails-open", "EDGE-01", "the load balancer forwards requests when WAF cannot inspect them (fail open)",
       transform=set_prop(LOAD_BALANCER, "enableWafFailOpen", True))
mutant("edge-01-rate-limit-thousandfold", "EDGE-01", "the per-IP rate limit is raised a thousandfold (1,000,000 per 5 min)",
       transform=edit(WEB_ACL, rate_limit(1_000_000)))
mutant("edge-01-rate-limit-raised-dev", "EDGE-01", "dev's per-IP rate limit is raised to 50,000 per 5 min",
       transform=edit(WEB_ACL, rate_limit(50_000)), stack="dev")
mutant("edge-04-refresh-tokens-30-days", "EDGE-04", "the app client's refresh tokens live 30 days (720 hours)",
       transform=set_prop(USER_POOL_CLIENT, "refreshTokenValidity", 720))
mutant("edge-04-implicit-oauth-flow", "EDGE-04", "the app client allows the implicit OAuth flow (tokens in the URL)",
       transform=set_prop(USER_POOL_CLIENT, "allowedOauthFlows", ["code", "implicit"]))


# --- issue 14: reachability per port and peer, judged against policies/network-reachability.yaml ---------------------

DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
ALL_FROM_ANYWHERE = {"ruleNo": 100, "action": "allow", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlock": ANYWHERE}


def sends_everything_anywhere(props: Props) -> None:
    """An ACL egress entry allowing all traffic to 0.0.0.0/0, after the ACL's own entries."""
    props["egress"] = [*props["egress"], {**ALL_FROM_ANYWHERE, "ruleNo": 150}]


def egress_entry_ports(number: int, ports: tuple[int, int]) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        for entry in props["egress"]:
            if entry["ruleNo"] == number:
                entry.update(fromPort=ports[0], toPort=ports[1])

    return change


def every_protocol(props: Props) -> None:
    """A separate security-group rule widened to all protocols and ports (its peer unchanged)."""
    props["ipProtocol"] = "-1"
    props.pop("fromPort", None)
    props.pop("toPort", None)


def port(number: int) -> Callable[[Props], None]:
    def change(props: Props) -> None:
        props.update(fromPort=number, toPort=number)

    return change


def over_ipv6_from_anywhere(props: Props) -> None:
    props.pop("cidrIpv4", None)
    props["cidrIpv6"] = "::/0"


def second_principal_account(document: dict[str, Any]) -> None:
    """The account condition of an endpoint policy lists another account beside this one."""
    for statement in document["Statement"]:
        tests = statement.get("Condition", {}).get("StringEquals", {})
        if "aws:PrincipalAccount" in tests:
            tests["aws:PrincipalAccount"] = [tests["aws:PrincipalAccount"], "444455556666"]


def resource_account(account: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            tests = statement.get("Condition", {}).get("StringEquals", {})
            if "aws:ResourceAccount" in tests:
                tests["aws:ResourceAccount"] = account

    return change


def reads_also(bucket_objects: str) -> Callable[[dict[str, Any]], None]:
    """The S3 endpoint's read-only statement for AWS-owned buckets also names another bucket."""

    def change(document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            if statement.get("Sid") == "ReadAwsOwnedPackageAndAgentBuckets":
                statement["Resource"] = [*statement["Resource"], bucket_objects]

    return change


mutant("net-01-public-acl-admits-every-port", "NET-01", "the public ACL allows all traffic from 0.0.0.0/0 (after the admin denies)",
       transform=edit(NETWORK_ACL, admits_everything_from_anywhere, name="*-network-public"))
mutant("net-01-default-acl-admits-everything-staging", "NET-01", "staging's default network ACL allows all traffic from 0.0.0.0/0",
       transform=set_prop(DEFAULT_NETWORK_ACL, "ingress", [ALL_FROM_ANYWHERE]), stack="staging")
mutant("net-02-data-acl-sends-anywhere", "NET-02", "the data ACL lets all traffic out to 0.0.0.0/0",
       transform=edit(NETWORK_ACL, sends_everything_anywhere, name="*-network-data"))
mutant("net-02-app-acl-sends-every-tcp-port-dev", "NET-02", "dev's app ACL lets TCP out to the internet on every port, not only 443",
       transform=edit(NETWORK_ACL, egress_entry_ports(110, (1, 65535)), name="*-network-app"), stack="dev")
mutant("net-03-sts-endpoint-admits-a-second-account", "NET-03", "the sts endpoint policy admits principals of a second account",
       transform=edit_document(VPC_ENDPOINT, "policy", second_principal_account, name="*-network-sts"))
mutant("net-03-s3-endpoint-reads-an-unlisted-bucket", "NET-03", "the S3 endpoint lets anyone read a bucket the intent does not list",
       transform=edit_document(VPC_ENDPOINT, "policy", reads_also("arn:aws:s3:::exfil-drop-zone/*"), name="*-network-s3"))
mutant("net-03-s3-endpoint-another-accounts-buckets-staging", "NET-03",
       "staging's S3 endpoint holds resources to another account than its own",
       transform=edit_document(VPC_ENDPOINT, "policy", resource_account("444455556666"), name="*-network-s3"), stack="staging")
mutant("net-07-database-admits-the-app-tier-on-every-port", "NET-07", "the database group admits the app tier on every protocol and port",
       transform=edit(INGRESS_RULE, every_protocol, name=DATABASE_INGRESS))
mutant("net-07-alb-admits-8080-from-anywhere", "NET-07", "the load balancer's group admits port 8080 from 0.0.0.0/0 instead of 80",
       transform=edit(INGRESS_RULE, port(8080), name="*-edge-alb-in-80"))
mutant("net-07-alb-admits-https-over-ipv6", "NET-07", "the load balancer's group admits HTTPS from ::/0 (the VPC has no IPv6)",
       transform=edit(INGRESS_RULE, over_ipv6_from_anywhere, name="*-edge-alb-in-443"))
mutant("net-07-app-sends-everything-to-the-endpoints-dev", "NET-07", "dev's app tier may send any protocol to the endpoints' group",
       transform=edit(EGRESS_RULE, every_protocol, name="*-app-out-endpoints"), stack="dev")
