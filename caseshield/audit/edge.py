"""Live checks of the edge: the web ACL and its association and logging, the load balancer and its listeners."""

from __future__ import annotations

from typing import Any

from caseshield.audit import live_check
from caseshield.audit.account import Account, absent
from policies.rules.edge import REDACTED_HEADERS, REQUIRED_MANAGED_RULE_GROUPS, WAF_LOG_GROUP_PREFIX


def lb_attributes(account: Account) -> dict[str, str]:
    found = account.client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=account.load_balancer["LoadBalancerArn"])
    return {a["Key"]: a["Value"] for a in found["Attributes"]}


@live_check("EDGE-01", "wafv2:ListWebACLs", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags")
def web_acl_with_managed_rules_and_rate_limit_guards_the_load_balancer(account: Account) -> list[str]:
    """The web ACL enforces the AWS managed rule groups and a per-IP rate limit, and is associated with the load balancer."""
    acl, found = account.web_acl, []
    enforced = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl.get("Rules", [])
                if "ManagedRuleGroupStatement" in r.get("Statement", {}) and "None" in r.get("OverrideAction", {})
                and r["Statement"]["ManagedRuleGroupStatement"].get("VendorName") == "AWS"}
    if missing := [g for g in REQUIRED_MANAGED_RULE_GROUPS if g not in enforced]:
        found.append(f"web ACL {acl['Name']} does not enforce {missing}")
    if not any(r.get("Statement", {}).get("RateBasedStatement", {}).get("AggregateKeyType", "IP") in ("IP", "FORWARDED_IP")
               and "Block" in r.get("Action", {}) for r in acl.get("Rules", []) if "RateBasedStatement" in r.get("Statement", {})):
        found.append(f"web ACL {acl['Name']} has no blocking per-IP rate limit")
    lb_arn = account.load_balancer["LoadBalancerArn"]
    associated = absent(account.client("wafv2").get_web_acl_for_resource, "WAFNonexistentItemException", ResourceArn=lb_arn)
    if not (associated or {}).get("WebACL") or associated["WebACL"]["ARN"] != acl["ARN"]:
        found.append(f"load balancer {account.load_balancer['LoadBalancerName']} is not behind web ACL {acl['Name']}")
    return found


@live_check("EDGE-02", "wafv2:ListWebACLs", "wafv2:GetWebACL", "wafv2:GetLoggingConfiguration")
def waf_decisions_are_logged_without_credentials(account: Account) -> list[str]:
    """The web ACL logs to an aws-waf-logs- log group and redacts the authorization and cookie headers."""
    config = absent(account.client("wafv2").get_logging_configuration, "WAFNonexistentItemException",
                    ResourceArn=account.web_acl["ARN"])
    if not config:
        return [f"web ACL {account.web_acl['Name']} does not log"]
    logging: dict[str, Any] = config["LoggingConfiguration"]
    found = [f"WAF logs go to {d}, not an {WAF_LOG_GROUP_PREFIX}* log group" for d in logging.get("LogDestinationConfigs", [])
             if f":log-group:{WAF_LOG_GROUP_PREFIX}" not in d]
    redacted = {f.get("SingleHeader", {}).get("Name", "").lower() for f in logging.get("RedactedFields", [])}
    found += [f"WAF logs keep the {h} header" for h in REDACTED_HEADERS if h not in redacted]
    return found


@live_check("EDGE-03", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeLoadBalancerAttributes")
def load_balancer_refuses_malformed_requests_and_logs(account: Account) -> list[str]:
    """The load balancer drops invalid header fields, writes access logs and, in prod, is deletion-protected."""
    attributes, found = lb_attributes(account), []
    if attributes.get("routing.http.drop_invalid_header_fields.enabled") != "true":
        found.append("the load balancer forwards requests with invalid header fields")
    if attributes.get("access_logs.s3.enabled") != "true":
        found.append("the load balancer writes no access logs")
    if account.is_prod and attributes.get("deletion_protection.enabled") != "true":
        found.append("the load balancer is not deletion-protected in prod")
    return found


@live_check("EDGE-04", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules")
def nobody_reaches_the_application_without_signing_in(account: Account) -> list[str]:
    """Every HTTPS listener and rule authenticates with Cognito before forwarding; no listener forwards anonymously."""
    elb, found = account.client("elbv2"), []
    for listener in elb.describe_listeners(LoadBalancerArn=account.load_balancer["LoadBalancerArn"])["Listeners"]:
        rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        action_sets = [("default", listener["DefaultActions"])] + [(r["RuleArn"], r["Actions"]) for r in rules if not r.get("IsDefault")]
        for where, actions in action_sets:
            ordered = sorted(actions, key=lambda a: a.get("Order", 0))
            if any(a["Type"] == "forward" for a in ordered):
                first = ordered[0]
                anonymous = first.get("AuthenticateCognitoConfig", {}).get("OnUnauthenticatedRequest", "authenticate") == "allow"
                if first["Type"] != "authenticate-cognito" or anonymous:
                    found.append(f"listener {listener['Port']} ({where}) forwards without a Cognito sign-in first")
    return found
