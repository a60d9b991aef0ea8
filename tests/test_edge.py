"""EdgeProtection in isolation: TLS, Cognito before the application, HTTP only redirects, a logged and tuned WAF.

prod requests its certificate and has a country allow-list; dev uses an imported certificate, no allow-list and
a raised rate limit, so each setting is seen to flow through.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.settings import from_pulumi
from components.edge import EdgeProtection, EdgeProtectionArgs

USER_POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_CaSeShLd1"
USER_POOL_CLIENT_ID = "4f1lm0v3s7c3kqv9r0ts2n8e1a"
USER_POOL_DOMAIN = "cs-test-auth"
ACCESS_LOG_BUCKET = "cs-test-access-logs"
PUBLIC_SUBNETS = ["subnet-0pub0a", "subnet-0pub0b", "subnet-0pub0c"]
VPC_ID = "vpc-0edge"
IMPORTED_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
DEV_RATE_LIMIT = 2500
COMPONENT = "caseshield:edge:EdgeProtection"
MANAGED_GROUPS = {
    "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList",
}
TLS_POLICIES = {"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                "ELBSecurityPolicy-TLS13-1-3-2021-06"}
STACK: dict[str, dict[str, Any]] = {
    "prod": {"prefix": "cs-prod", "domain": "cases.lawfirm.example", "rate": 1000, "retention": 365,
             "app_subnets": {"10.30.16.0/20", "10.30.32.0/20", "10.30.48.0/20"}, "deletion_protection": True},
    "dev": {"prefix": "cs-dev", "domain": "cases.dev.lawfirm.example", "rate": DEV_RATE_LIMIT, "retention": 30,
            "app_subnets": {"10.10.16.0/20", "10.10.32.0/20"}, "deletion_protection": False},
}


def program() -> None:
    settings = from_pulumi()
    key = aws.kms.Key("operational-logs")
    edge = EdgeProtection("edge", EdgeProtectionArgs(
        settings=settings, vpc_id=VPC_ID, public_subnet_ids=PUBLIC_SUBNETS, access_log_bucket=ACCESS_LOG_BUCKET,
        user_pool_arn=USER_POOL_ARN, user_pool_client_id=USER_POOL_CLIENT_ID, user_pool_domain=USER_POOL_DOMAIN,
        waf_log_key=key, app_port=settings.app_port))
    pulumi.export("certificate_arn", edge.certificate_arn)
    pulumi.export("validation_records", edge.validation_records)


@cache
def edge_graph(stack: str) -> ResourceGraph:
    overrides = {"certificateArn": IMPORTED_CERTIFICATE, "wafRateLimit": DEV_RATE_LIMIT} if stack == "dev" else {}
    return evaluate(stack, program=program, overrides=overrides)


@pytest.fixture(params=["prod", "dev"])
def case(request: pytest.FixtureRequest) -> tuple[str, ResourceGraph]:
    return request.param, edge_graph(request.param)


def rules_of(graph: ResourceGraph, kind: str) -> list[RecordedResource]:
    return graph.of_type(f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule")


def waf_rules(graph: ResourceGraph) -> dict[str, dict]:
    return {r["name"]: r for r in graph.one("aws:wafv2/webAcl:WebAcl").inputs["rules"]}


def test_every_resource_belongs_to_the_component(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    component = graph.one(COMPONENT, "edge")
    inside = {r.urn for r in graph.descendants(component.urn)}
    outside = [r.name for r in graph.resources if r.custom and r.urn not in inside]
    assert outside == ["operational-logs"]


# -- certificate -----------------------------------------------------------------------------------------------

def test_prod_requests_a_dns_validated_certificate_and_exports_its_records() -> None:
    graph = edge_graph("prod")
    certificate = graph.one("aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == STACK["prod"]["domain"]
    assert certificate.inputs["validationMethod"] == "DNS"
    validation = graph.one("aws:acm/certificateValidation:CertificateValidation")
    assert graph.depends_on(validation, "certificateArn") == [certificate]
    listener = https_listener(graph)
    # The listener waits for the issued certificate, not merely the requested one.
    assert graph.depends_on(listener, "certificateArn") == [validation]
    records = graph.stack_outputs["validation_records"]
    assert records and all(r["type"] == "CNAME" and r["name"] and r["value"] for r in records)


def test_configured_certificate_is_used_instead_of_requesting_one() -> None:
    graph = edge_graph("dev")
    assert graph.of_type("aws:acm/certificate:Certificate") == []
    assert graph.of_type("aws:acm/certificateValidation:CertificateValidation") == []
    assert https_listener(graph).inputs["certificateArn"] == IMPORTED_CERTIFICATE
    assert graph.stack_outputs["certificate_arn"] == IMPORTED_CERTIFICATE
    assert graph.stack_outputs["validation_records"] == []


# -- load balancer ---------------------------------------------------------------------------------------------

def test_load_balancer_is_internet_facing_hardened_and_logged(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    alb = graph.one("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["loadBalancerType"] == "application"
    assert alb.inputs["internal"] is False
    assert alb.inputs["subnets"] == PUBLIC_SUBNETS
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["desyncMitigationMode"] == "strictest"
    assert alb.inputs["enableWafFailOpen"] is False
    logs = alb.inputs["accessLogs"]
    assert logs["enabled"] is True and logs["bucket"] == ACCESS_LOG_BUCKET and logs["prefix"]
    assert "AWSLogs" not in logs["prefix"]
    assert graph.depends_on(alb, "securityGroups") == [graph.one("aws:ec2/securityGroup:SecurityGroup")]
    assert alb.inputs["enableDeletionProtection"] is STACK[stack]["deletion_protection"]


def test_load_balancer_security_group_admits_web_ports_and_reaches_only_the_app(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    group = graph.one("aws:ec2/securityGroup:SecurityGroup")
    assert "ingress" not in group.inputs and "egress" not in group.inputs  # rules are separate resources only
    ingress = {(r.inputs["fromPort"], r.inputs["toPort"], r.inputs.get("cidrIpv4")) for r in rules_of(graph, "Ingress")}
    assert ingress == {(443, 443, "0.0.0.0/0"), (80, 80, "0.0.0.0/0")}
    egress = rules_of(graph, "Egress")
    to_app = {r.inputs["cidrIpv4"] for r in egress if r.inputs["fromPort"] == r.inputs["toPort"] == 8443}
    assert to_app == STACK[stack]["app_subnets"]
    others = [(r.inputs["fromPort"], r.inputs["toPort"], r.inputs.get("cidrIpv4")) for r in egress
              if r.inputs["cidrIpv4"] not in STACK[stack]["app_subnets"]]
    # The single exception: HTTPS to Cognito's token endpoint, which the load balancer calls during sign-in.
    assert others == [(443, 443, "0.0.0.0/0")]
    for rule in [*rules_of(graph, "Ingress"), *egress]:
        assert rule.inputs["ipProtocol"] == "tcp"
        assert graph.depends_on(rule, "securityGroupId") == [group]


def test_target_group_speaks_https_to_the_app_port(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    target_group = graph.one("aws:lb/targetGroup:TargetGroup")
    assert target_group.inputs["port"] == 8443
    assert target_group.inputs["protocol"] == "HTTPS"
    assert target_group.inputs["vpcId"] == VPC_ID
    assert target_group.inputs["healthCheck"]["protocol"] == "HTTPS"
    assert target_group.inputs["healthCheck"]["enabled"] is True


# -- listeners -------------------------------------------------------------------------------------------------

def listener_on(graph: ResourceGraph, port: int) -> RecordedResource:
    found = [r for r in graph.of_type("aws:lb/listener:Listener") if r.inputs["port"] == port]
    assert len(found) == 1
    return found[0]


def https_listener(graph: ResourceGraph) -> RecordedResource:
    return listener_on(graph, 443)


def test_https_listener_authenticates_with_cognito_before_forwarding(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    listener = https_listener(graph)
    assert listener.inputs["protocol"] == "HTTPS"
    assert listener.inputs["sslPolicy"] in TLS_POLICIES
    actions = sorted(listener.inputs["defaultActions"], key=lambda a: a["order"])
    assert [a["type"] for a in actions] == ["authenticate-cognito", "forward"]
    cognito = actions[0]["authenticateCognito"]
    assert cognito["userPoolArn"] == USER_POOL_ARN
    assert cognito["userPoolClientId"] == USER_POOL_CLIENT_ID
    assert cognito["userPoolDomain"] == USER_POOL_DOMAIN
    assert cognito["onUnauthenticatedRequest"] == "authenticate"
    assert 0 < cognito["sessionTimeout"] <= 8 * 3600
    assert graph.depends_on(listener, "defaultActions") == [graph.one("aws:lb/targetGroup:TargetGroup")]
    assert graph.depends_on(listener, "loadBalancerArn") == [graph.one("aws:lb/loadBalancer:LoadBalancer")]
    # No listener rule could route around the default action.
    assert graph.of_type("aws:lb/listenerRule:ListenerRule") == []
    assert listener.inputs["routingHttpResponseStrictTransportSecurityHeaderValue"].startswith("max-age=")


def test_http_listener_only_redirects_to_https(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    listener = listener_on(graph, 80)
    assert listener.inputs["protocol"] == "HTTP"
    (action,) = listener.inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"]["protocol"] == "HTTPS"
    assert action["redirect"]["port"] == "443"
    assert action["redirect"]["statusCode"] == "HTTP_301"
    assert len(graph.of_type("aws:lb/listener:Listener")) == 2


# -- WAF -------------------------------------------------------------------------------------------------------

def test_web_acl_is_regional_and_associated_with_the_load_balancer(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    acl = graph.one("aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "REGIONAL"
    assert "allow" in acl.inputs["defaultAction"]
    assert acl.inputs["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    association = graph.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert graph.depends_on(association, "resourceArn") == [graph.one("aws:lb/loadBalancer:LoadBalancer")]
    assert graph.depends_on(association, "webAclArn") == [acl]


def test_managed_rule_groups_block_with_their_own_actions(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    rules = waf_rules(graph)
    assert set(rules) >= MANAGED_GROUPS
    for name in MANAGED_GROUPS:
        statement = rules[name]["statement"]["managedRuleGroupStatement"]
        assert statement == {"name": name, "vendorName": "AWS"}
        assert rules[name]["overrideAction"] == {"none": {}}  # "count" would only observe
    priorities = [r["priority"] for r in rules.values()]
    assert len(priorities) == len(set(priorities))
    assert all(r["visibilityConfig"]["cloudwatchMetricsEnabled"] and r["visibilityConfig"]["sampledRequestsEnabled"]
               for r in rules.values())


def test_rate_limit_per_ip_comes_from_settings(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    rate = [r for r in waf_rules(graph).values() if "rateBasedStatement" in r["statement"]]
    assert len(rate) == 1
    assert rate[0]["statement"]["rateBasedStatement"]["limit"] == STACK[stack]["rate"]
    assert rate[0]["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert "block" in rate[0]["action"]


def test_prod_blocks_countries_outside_the_allow_list() -> None:
    geo = [r for r in waf_rules(edge_graph("prod")).values() if "notStatement" in r["statement"]]
    assert len(geo) == 1
    assert geo[0]["statement"]["notStatement"]["statement"]["geoMatchStatement"]["countryCodes"] == ["US", "CA", "GB"]
    assert "block" in geo[0]["action"]


def test_dev_without_allow_list_has_no_country_rule() -> None:
    rules = waf_rules(edge_graph("dev")).values()
    assert not [r for r in rules if "notStatement" in r["statement"] or "geoMatchStatement" in r["statement"]]


def test_waf_logs_are_encrypted_retained_and_free_of_credentials(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert group.inputs["name"] == f"aws-waf-logs-{STACK[stack]['prefix']}"
    assert graph.depends_on(group, "kmsKeyId") == [graph.one("aws:kms/key:Key", "operational-logs")]
    assert group.inputs["retentionInDays"] == STACK[stack]["retention"]
    assert group.protect is group.retain_on_delete is (stack == "prod")
    logging = graph.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert graph.depends_on(logging, "logDestinationConfigs") == [group]
    assert graph.depends_on(logging, "resourceArn") == [graph.one("aws:wafv2/webAcl:WebAcl")]
    redacted = {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}
    assert redacted == {"authorization", "cookie"}
