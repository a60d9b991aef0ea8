"""EdgeProtection: the only way in from the internet, and it admits nobody who has not signed in.

Requests pass, in order: the WAF (reputation, anonymiser, country and rate filters, then AWS's managed rule sets
against common exploits), TLS 1.2+ termination at the load balancer, and Cognito authentication in the listener's
default action. Only then are they forwarded to the application over HTTPS. Plain HTTP only ever redirects.

Why authentication lives in the load balancer: the case-management application is a vendor product; whatever its
own login does, an unauthenticated request never reaches its code.

Access-log bucket (owned by another component) must, for `pulumi up` to succeed:
- live in the stack's region and use SSE-S3 (AES256) default encryption: ALB access logs do not support SSE-KMS;
- carry a bucket policy letting Elastic Load Balancing write `arn:aws:s3:::<bucket>/<access_log_prefix>/AWSLogs/<account>/*`
  (`s3:PutObject`): in regions opened before August 2022 (us-east-1, us-east-2, us-west-2, eu-west-1, eu-central-1...)
  the principal is the region's ELB account (`aws.elb.get_service_account()`), in newer regions the service principal
  `logdelivery.elasticloadbalancing.amazonaws.com`;
- have that policy in place before the load balancer is created: pass the bucket name as an output of the bucket
  policy resource (e.g. `bucket_policy.bucket`) so the dependency is explicit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield.settings import Settings
from components.base import child, stateful

# TLS 1.3 and 1.2 with forward-secret AEAD ciphers only; nothing older is negotiated.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
# The load balancer's session cookie; when it lapses the user re-authenticates against Cognito.
SESSION_TIMEOUT_SECONDS = 3600
HSTS = "max-age=31536000; includeSubDomains"
HTTPS_PORT = 443
HTTP_PORT = 80
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"  # WAF only delivers to log groups whose name starts with this.
# Headers that carry credentials: kept out of the WAF logs so log readers never see tokens or session cookies.
REDACTED_HEADERS = ("authorization", "cookie")


@dataclass(frozen=True)
class ManagedRuleGroup:
    name: str
    priority: int
    why: str


# AWS managed rule groups, cheapest and most decisive first. Custom rules take priorities below 10.
MANAGED_RULE_GROUPS = (
    ManagedRuleGroup("AWSManagedRulesAmazonIpReputationList", 10, "sources AWS threat intelligence has seen attacking"),
    ManagedRuleGroup("AWSManagedRulesAnonymousIpList", 20, "VPNs, proxies, Tor and hosting ranges that hide the client"),
    ManagedRuleGroup("AWSManagedRulesCommonRuleSet", 30, "OWASP top-ten style exploits (XSS, traversal, bad bots)"),
    ManagedRuleGroup("AWSManagedRulesKnownBadInputsRuleSet", 40, "request patterns of known exploits (Log4j, SSRF probes)"),
    ManagedRuleGroup("AWSManagedRulesSQLiRuleSet", 50, "SQL injection against the case database"),
)
GEO_RULE = "country-allow-list"
GEO_RULE_PRIORITY = 0
RATE_RULE = "rate-limit-per-ip"
RATE_RULE_PRIORITY = 1
RATE_WINDOW_SECONDS = 300


@dataclass
class EdgeProtectionArgs:
    settings: Settings
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    access_log_bucket: pulumi.Input[str]
    """Bucket for ALB access logs; see the module docstring for what it must allow."""
    user_pool_arn: pulumi.Input[str]
    user_pool_client_id: pulumi.Input[str]
    """An app client with a secret, the authorization-code grant and https://<domain>/oauth2/idpresponse as callback."""
    user_pool_domain: pulumi.Input[str]
    """The user pool domain prefix (or custom domain) Cognito serves its hosted sign-in from."""
    waf_log_key: aws.kms.Key
    """The operational-logs key: its policy already lets CloudWatch Logs in this account use it."""
    app_port: int | None = None
    """Port the application serves HTTPS on; defaults to settings.app_port."""
    health_check_path: str = "/health"
    access_log_prefix: str = "alb"


class EdgeProtection(pulumi.ComponentResource):
    """Certificate, internet-facing ALB with Cognito authentication, HTTP->HTTPS redirect and a logged WAF."""

    certificate_arn: pulumi.Output[str]
    validation_records: pulumi.Output[list[dict[str, str]]]

    def __init__(self, name: str, args: EdgeProtectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:edge:EdgeProtection", name, None, opts)
        s = args.settings
        self.app_port = args.app_port or s.app_port
        self.access_log_prefix = args.access_log_prefix
        self._certificate(name, s)
        self.alb_security_group = self._security_group(name, s, args)
        self.load_balancer = self._load_balancer(name, s, args)
        self.target_group = self._target_group(name, args)
        self.https_listener = self._https_listener(name, args)
        self.http_listener = self._http_listener(name)
        self.web_acl = self._web_acl(name, s)
        aws.wafv2.WebAclAssociation(f"{name}-waf-association", resource_arn=self.load_balancer.arn,
                                    web_acl_arn=self.web_acl.arn, opts=child(self))
        self.waf_log_group = self._waf_logging(name, s, args)
        self.register_outputs({
            "load_balancer_dns_name": self.load_balancer.dns_name,
            "certificate_arn": self.certificate_arn,
            "validation_records": self.validation_records,
            "web_acl_arn": self.web_acl.arn,
        })

    # -- certificate ----------------------------------------------------------------------------------------------
    def _certificate(self, name: str, s: Settings) -> None:
        """Use the configured certificate, or request one validated by DNS.

        No Route53 zone is assumed: the validation CNAMEs are exported (`validation_records`) for whoever runs the
        domain's DNS. `CertificateValidation` makes the first `pulumi up` wait (up to 75 minutes) until ACM has
        issued the certificate, because a listener cannot use a pending one; the records can be read meanwhile
        with `aws acm describe-certificate`.
        """
        if s.certificate_arn:
            self.certificate = None
            self.certificate_arn = pulumi.Output.from_input(s.certificate_arn)
            self.validation_records = pulumi.Output.from_input([])
            return
        self.certificate = aws.acm.Certificate(f"{name}-certificate", domain_name=s.domain_name, validation_method="DNS",
                                               key_algorithm="RSA_2048", opts=child(self))
        validation = aws.acm.CertificateValidation(f"{name}-certificate-validation",
                                                   certificate_arn=self.certificate.arn, opts=child(self))
        self.certificate_arn = validation.certificate_arn
        self.validation_records = self.certificate.domain_validation_options.apply(_records)

    # -- network --------------------------------------------------------------------------------------------------
    def _security_group(self, name: str, s: Settings, args: EdgeProtectionArgs) -> aws.ec2.SecurityGroup:
        """Web ports in from anywhere; out to the application port in the application subnets, and to Cognito.

        The one egress that leaves the VPC: the load balancer itself redeems the sign-in code at the Cognito token
        and user-info endpoints over HTTPS. Cognito publishes no fixed addresses or prefix list, so without 443 to
        the internet every sign-in fails with HTTP 500. Only the load balancer uses this group; it originates no
        other outbound traffic.
        """
        group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg", vpc_id=args.vpc_id, tags={"Name": f"{s.name_prefix}-alb"}, opts=child(self),
            description="CaseShield load balancer: HTTPS/HTTP in; app port to app subnets and HTTPS to Cognito out")
        aws.vpc.SecurityGroupEgressRule(f"{name}-alb-out-cognito", security_group_id=group.id, ip_protocol="tcp",
                                        from_port=HTTPS_PORT, to_port=HTTPS_PORT, cidr_ipv4="0.0.0.0/0",
                                        description="HTTPS to the Cognito token and user-info endpoints", opts=child(group))
        for port, why in ((HTTPS_PORT, "HTTPS from the internet"), (HTTP_PORT, "HTTP from the internet, redirected only")):
            aws.vpc.SecurityGroupIngressRule(f"{name}-alb-in-{port}", security_group_id=group.id, ip_protocol="tcp",
                                             from_port=port, to_port=port, cidr_ipv4="0.0.0.0/0", description=why,
                                             opts=child(group))
        for index, cidr in enumerate(s.app_subnet_cidrs):
            aws.vpc.SecurityGroupEgressRule(f"{name}-alb-out-app-{index}", security_group_id=group.id, ip_protocol="tcp",
                                            from_port=self.app_port, to_port=self.app_port, cidr_ipv4=cidr,
                                            description="HTTPS to the application tier", opts=child(group))
        return group

    def _load_balancer(self, name: str, s: Settings, args: EdgeProtectionArgs) -> aws.lb.LoadBalancer:
        return aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=list(args.public_subnet_ids),
            security_groups=[self.alb_security_group.id],
            ip_address_type="ipv4",
            # Malformed headers and request smuggling are refused before they reach the application.
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_waf_fail_open=False,
            enable_http2=True,
            enable_deletion_protection=s.deletion_protection,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=args.access_log_bucket, prefix=args.access_log_prefix,
                                                          enabled=True),
            opts=child(self),
        )

    def _target_group(self, name: str, args: EdgeProtectionArgs) -> aws.lb.TargetGroup:
        """Instances behind the load balancer; traffic stays encrypted on the way to them too."""
        return aws.lb.TargetGroup(
            f"{name}-tg",
            vpc_id=args.vpc_id,
            target_type="instance",
            port=self.app_port,
            protocol="HTTPS",
            protocol_version="HTTP1",
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(enabled=True, protocol="HTTPS", port="traffic-port",
                                                           path=args.health_check_path, matcher="200",
                                                           healthy_threshold=3, unhealthy_threshold=3,
                                                           interval=30, timeout=5),
            opts=child(self),
        )

    # -- listeners ------------------------------------------------------------------------------------------------
    def _https_listener(self, name: str, args: EdgeProtectionArgs) -> aws.lb.Listener:
        """Authenticate with Cognito, then forward: the default action is the only action, so no path skips login."""
        authenticate = aws.lb.ListenerDefaultActionArgs(
            type="authenticate-cognito",
            order=1,
            authenticate_cognito=aws.lb.ListenerDefaultActionAuthenticateCognitoArgs(
                user_pool_arn=args.user_pool_arn,
                user_pool_client_id=args.user_pool_client_id,
                user_pool_domain=args.user_pool_domain,
                on_unauthenticated_request="authenticate",
                scope="openid",
                session_timeout=SESSION_TIMEOUT_SECONDS,
            ),
        )
        forward = aws.lb.ListenerDefaultActionArgs(type="forward", order=2, target_group_arn=self.target_group.arn)
        return aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.load_balancer.arn,
            port=HTTPS_PORT,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=self.certificate_arn,
            default_actions=[authenticate, forward],
            # Browsers must never fall back to plain HTTP, nor sniff content types of case documents.
            routing_http_response_strict_transport_security_header_value=HSTS,
            routing_http_response_x_content_type_options_header_value="nosniff",
            routing_http_response_server_enabled=False,
            opts=child(self),
        )

    def _http_listener(self, name: str) -> aws.lb.Listener:
        """Port 80 exists only to send users to HTTPS."""
        redirect = aws.lb.ListenerDefaultActionArgs(
            type="redirect",
            redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port=str(HTTPS_PORT),
                                                              status_code="HTTP_301"),
        )
        return aws.lb.Listener(f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=HTTP_PORT,
                               protocol="HTTP", default_actions=[redirect], opts=child(self))

    # -- WAF ------------------------------------------------------------------------------------------------------
    def _web_acl(self, name: str, s: Settings) -> aws.wafv2.WebAcl:
        return aws.wafv2.WebAcl(
            f"{name}-web-acl",
            name=f"{s.name_prefix}-edge",
            description=f"CaseShield {s.stack}: filters every request before the load balancer authenticates it",
            scope="REGIONAL",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=waf_rules(s),
            visibility_config=_visibility(f"{s.name_prefix}-edge"),
            opts=child(self),
        )

    def _waf_logging(self, name: str, s: Settings, args: EdgeProtectionArgs) -> aws.cloudwatch.LogGroup:
        """Every WAF decision is evidence: keep it encrypted, for the operational retention, without credentials."""
        group = aws.cloudwatch.LogGroup(f"{name}-waf-logs", name=f"{WAF_LOG_GROUP_PREFIX}{s.name_prefix}",
                                        kms_key_id=args.waf_log_key.arn,
                                        retention_in_days=s.operational_log_retention_days,
                                        deletion_protection_enabled=s.is_prod,
                                        tags={"data-classification": "operational-logs"}, opts=stateful(self, s))
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[group.arn],
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header))
                for header in REDACTED_HEADERS
            ],
            opts=child(self),
        )
        return group


def waf_rules(s: Settings) -> list[aws.wafv2.WebAclRuleArgs]:
    """The web ACL's rules: country filter (when configured), per-IP rate limit, then the managed groups."""
    rules: list[aws.wafv2.WebAclRuleArgs] = []
    if s.waf_country_allow_list:
        rules.append(aws.wafv2.WebAclRuleArgs(
            name=GEO_RULE,
            priority=GEO_RULE_PRIORITY,
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(not_statement=aws.wafv2.WebAclRuleStatementNotStatementArgs(
                statement=aws.wafv2.WebAclRuleStatementArgs(geo_match_statement=aws.wafv2.WebAclRuleStatementGeoMatchStatementArgs(
                    country_codes=list(s.waf_country_allow_list))))),
            visibility_config=_rule_visibility(f"{s.name_prefix}-{GEO_RULE}"),
        ))
    rules.append(aws.wafv2.WebAclRuleArgs(
        name=RATE_RULE,
        priority=RATE_RULE_PRIORITY,
        action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
        statement=aws.wafv2.WebAclRuleStatementArgs(rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
            aggregate_key_type="IP", limit=s.waf_rate_limit, evaluation_window_sec=RATE_WINDOW_SECONDS)),
        visibility_config=_rule_visibility(f"{s.name_prefix}-{RATE_RULE}"),
    ))
    for group in MANAGED_RULE_GROUPS:
        rules.append(aws.wafv2.WebAclRuleArgs(
            name=group.name,
            priority=group.priority,
            # "none" keeps the group's own BLOCK actions; "count" would only observe.
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=group.name, vendor_name="AWS")),
            visibility_config=_rule_visibility(f"{s.name_prefix}-{group.name}"),
        ))
    return rules


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric,
                                                sampled_requests_enabled=True)


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric,
                                                    sampled_requests_enabled=True)


def _records(options: Any) -> list[dict[str, str]]:
    """ACM's DNS validation options as plain CNAME records for the DNS operator."""
    return [{"domain": o.domain_name, "name": o.resource_record_name, "type": o.resource_record_type,
             "value": o.resource_record_value} for o in options or []]
