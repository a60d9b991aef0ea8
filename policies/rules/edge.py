"""Edge rules (EDGE-*): the only way in from the internet is filtered by a logged WAF, refuses malformed requests and
admits nobody who has not signed in with Cognito.

The web ACL protecting a load balancer is the one whose association's `resourceArn` came from the load balancer; a
web ACL's logging is the configuration whose `resourceArn` came from the web ACL, delivering to the log group its
`logDestinationConfigs` came from. Actions of listeners and listener rules run in `order` (list position if absent).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    as_list,
    consumers,
    environment,
    expect,
    get,
    is_prod,
    is_unknown,
    of_type,
    peek,
    sources_of_type,
    violation,
    whole_number,
)
from policies.rules.encryption import LISTENER_RULES, LISTENERS, LOAD_BALANCERS, LOG_GROUP, redirects_to_https
from policies.rules.network import EDGE_LOAD_BALANCER_TYPES, faces_internet

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"

# EDGE-01: AWS managed rule groups every web ACL enforces (override action "none": "count" only observes).
MANAGED_VENDOR = "AWS"
REQUIRED_MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
                                "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList")
RATE_LIMIT_KEYS = (None, "IP", "FORWARDED_IP")  # absent means IP
DEFAULT_RATE_WINDOW = 300  # seconds: the evaluation window of a rate-based statement that names none

# EDGE-02: WAF delivers only to log groups named so; these headers carry credentials.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"
REDACTED_HEADERS = ("authorization", "cookie")

# EDGE-03: request handling of application load balancers.
DESYNC_MODE = "strictest"

# EDGE-04: how a listener authenticates, and the settings that never let an anonymous request through.
AUTHENTICATE = "authenticate-cognito"
UNAUTHENTICATED_REQUEST = "authenticateCognito.onUnauthenticatedRequest"
REFUSES_ANONYMOUS = (None, "authenticate", "deny")  # absent means authenticate; "allow" forwards anonymous requests
FORWARD = "forward"
HTTPS = "HTTPS"
HTTP = "HTTP"


def is_application(load_balancer: ResourceValidationArgs | PolicyResource) -> bool:
    return load_balancer.props.get("loadBalancerType") in EDGE_LOAD_BALANCER_TYPES


# --- EDGE-01 ------------------------------------------------------------------------------------------------------

def enforced_managed_groups(rules: list[Any]) -> set[str]:
    return {get(r, "statement.managedRuleGroupStatement.name") for r in rules
            if get(r, "statement.managedRuleGroupStatement.vendorName") == MANAGED_VENDOR and get(r, "overrideAction.count") is None}


def requests_per_5_minutes(statement: Any) -> float | None:
    """A rate-based statement's limit per client over 5 minutes (its window is 60 to 600 s, 300 when absent); None
    while the limit or the window is not yet known."""
    limit, window = get(statement, "limit"), get(statement, "evaluationWindowSec", DEFAULT_RATE_WINDOW)
    if is_unknown(limit) or is_unknown(window) or whole_number(limit) is None or not whole_number(window):
        return None
    return float(limit) * DEFAULT_RATE_WINDOW / float(window)


def is_ip_rate_limit(rule: Any) -> bool:
    return (get(rule, "statement.rateBasedStatement") is not None and get(rule, "action.block") is not None
            and get(rule, "statement.rateBasedStatement.aggregateKeyType") in RATE_LIMIT_KEYS)


@resource_rule("EDGE-01", WEB_ACL)
def web_acls_enforce_managed_rules_and_a_rate_limit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Web ACLs enforce the required AWS managed rule groups and block clients over a per-IP request rate.
    Implemented by components/edge.py (MANAGED_RULE_GROUPS, waf_rules)."""
    if is_unknown(args.props.get("rules")):
        return
    rules = as_list(args.props.get("rules"))
    enforced = enforced_managed_groups(rules)
    missing = [g for g in REQUIRED_MANAGED_RULE_GROUPS if g not in enforced]
    if missing:
        violation(report, f"{args.name} does not enforce {', '.join(missing)}", path="rules", actual=sorted(str(g) for g in enforced),
                  expected=f"AWS managed rule groups {', '.join(REQUIRED_MANAGED_RULE_GROUPS)} with overrideAction none")
    if not any(is_ip_rate_limit(r) for r in rules):
        violation(report, f"{args.name} has no per-IP rate limit", path="rules", actual=[get(r, "name") for r in rules],
                  expected="a rule with a rateBasedStatement aggregated by IP and action block")
        return
    ceiling = floor("waf_rate_limit_per_5_minutes", environment(args))
    limits = [requests_per_5_minutes(get(r, "statement.rateBasedStatement")) for r in rules if is_ip_rate_limit(r)]
    if all(limit is not None and limit > ceiling for limit in limits):
        violation(report, f"{args.name} lets one client make more requests than the rate ceiling",
                  path="rules[].statement.rateBasedStatement.limit", actual=limits,
                  expected=f"<= {ceiling} requests per IP in 5 minutes (the {environment(args) or 'unknown (prod)'} ceiling "
                           "of policies/floors.yaml)")


@stack_rule("EDGE-01")
def internet_facing_load_balancers_are_behind_a_web_acl(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every internet-facing load balancer is associated with a web ACL of this stack.
    Implemented by components/edge.py (EdgeProtection: waf-association)."""
    for lb in of_type(args, *LOAD_BALANCERS):
        if not faces_internet(lb):
            continue
        associations = consumers(args, lb, WEB_ACL_ASSOCIATION, "resourceArn")
        if not any(sources_of_type(a, "webAclArn", WEB_ACL) for a in associations):
            violation(report, f"{lb.name} faces the internet without a web ACL", path="webAclAssociation",
                      actual=[a.name for a in associations],
                      expected=f"an {WEB_ACL_ASSOCIATION} whose resourceArn came from the load balancer and webAclArn from an {WEB_ACL}",
                      urn=lb.urn)


# --- EDGE-02 ------------------------------------------------------------------------------------------------------

@stack_rule("EDGE-02")
def web_acls_log_to_a_waf_log_group(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every web ACL logs its decisions to a CloudWatch log group named aws-waf-logs-*.
    Implemented by components/edge.py (EdgeProtection._waf_logging)."""
    for acl in of_type(args, WEB_ACL):
        configurations = consumers(args, acl, WEB_ACL_LOGGING, "resourceArn")
        if not configurations:
            violation(report, f"{acl.name} logs nothing", path="loggingConfiguration", actual=None,
                      expected=f"an {WEB_ACL_LOGGING} whose resourceArn came from the web ACL", urn=acl.urn)
        for configuration in configurations:
            groups = sources_of_type(configuration, "logDestinationConfigs", LOG_GROUP)
            if not groups:
                violation(report, f"{configuration.name} delivers to no log group of this stack", path="logDestinationConfigs",
                          actual=peek(configuration.props, "logDestinationConfigs"), expected=f"the ARN of an {LOG_GROUP}",
                          urn=configuration.urn)
            for group in groups:
                expect(report, group, "name", lambda name: isinstance(name, str) and name.startswith(WAF_LOG_GROUP_PREFIX),
                       expected=f'a name starting "{WAF_LOG_GROUP_PREFIX}" (WAF delivers to no other log group)')


@resource_rule("EDGE-02", WEB_ACL_LOGGING)
def waf_logs_redact_credentials(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """WAF logging redacts the authorization and cookie headers, so log readers never see tokens or sessions.
    Implemented by components/edge.py (REDACTED_HEADERS)."""
    names = [get(f, "singleHeader.name") for f in as_list(args.props.get("redactedFields"))]
    if is_unknown(args.props.get("redactedFields")) or any(is_unknown(n) for n in names):
        return
    redacted = {n.lower() for n in names if isinstance(n, str)}
    missing = [h for h in REDACTED_HEADERS if h not in redacted]
    if missing:
        violation(report, f"{args.name} writes the {', '.join(missing)} header to the WAF logs", path="redactedFields",
                  actual=sorted(redacted), expected=f"singleHeader redactions of {', '.join(REDACTED_HEADERS)}")


# --- EDGE-03 ------------------------------------------------------------------------------------------------------

@resource_rule("EDGE-03", *LOAD_BALANCERS)
def load_balancers_refuse_malformed_requests(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Application load balancers drop invalid header fields and use the strictest HTTP desync mitigation.
    Implemented by components/edge.py (EdgeProtection._load_balancer)."""
    if is_application(args):
        expect(report, args, "dropInvalidHeaderFields", (True,), expected="true (absent means false)")
        expect(report, args, "desyncMitigationMode", (DESYNC_MODE,), expected=f'"{DESYNC_MODE}" (absent means defensive)')


@resource_rule("EDGE-03", *LOAD_BALANCERS)
def load_balancers_write_access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Load balancers write access logs to a bucket.
    Implemented by components/edge.py (EdgeProtection._load_balancer) with components/buckets.py (AccessLogBucket)."""
    expect(report, args, "accessLogs.enabled", (True,), expected="true")
    expect(report, args, "accessLogs.bucket", bool, expected="a bucket name")


@resource_rule("EDGE-03", *LOAD_BALANCERS)
def load_balancers_are_deletion_protected_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod, load balancers cannot be deleted until deletion protection is turned off.
    Implemented by components/edge.py (EdgeProtection._load_balancer, settings deletionProtection)."""
    if is_prod(args):
        expect(report, args, "enableDeletionProtection", (True,), expected="true in prod")


# --- EDGE-04 ------------------------------------------------------------------------------------------------------

def in_order(actions: Any) -> list[tuple[int, Any]]:
    """(position, action) pairs in the order the load balancer performs them: by `order`, else by position."""
    def key(item: tuple[int, Any]) -> float:
        order = get(item[1], "order")
        return float(order) if isinstance(order, (int, float)) else float(item[0] + 1)

    return sorted(enumerate(as_list(actions)), key=key)


def authenticates(action: Any) -> bool:
    """A Cognito authentication that never lets an anonymous request through (unknown settings are not judged)."""
    setting = get(action, UNAUTHENTICATED_REQUEST)
    return get(action, "type") == AUTHENTICATE and (is_unknown(setting) or setting in REFUSES_ANONYMOUS)


@resource_rule("EDGE-04", *LISTENERS)
def https_listeners_authenticate_with_cognito_first(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The first default action of every HTTPS listener authenticates with Cognito and refuses anonymous requests.
    Implemented by components/edge.py (EdgeProtection._https_listener)."""
    actions = args.props.get("defaultActions")
    if args.props.get("protocol") != HTTPS or is_unknown(actions):
        return
    position, first = (in_order(actions) or [(0, None)])[0]
    if not is_unknown(first) and not authenticates(first):
        violation(report, f"{args.name} does not authenticate with Cognito before anything else", path=f"defaultActions.{position}",
                  actual=first, expected=f'type "{AUTHENTICATE}" first, onUnauthenticatedRequest "authenticate" (or "deny")')


def unauthenticated_forwards(resource: PolicyResource, prop: str, plain_http: bool) -> list[tuple[str, Any, str]]:
    """(path, action, expected) of each action that could bring an unauthenticated request to the application."""
    found, authenticated = [], False
    for position, action in in_order(resource.props.get(prop)):
        if is_unknown(action) or is_unknown(get(action, "type")):
            continue
        if plain_http:
            if not redirects_to_https(action):
                found.append((f"{prop}.{position}", action, "a redirect to HTTPS (plain HTTP never reaches the application)"))
        elif authenticates(action):
            authenticated = True
        elif get(action, "type") == FORWARD and not authenticated:
            found.append((f"{prop}.{position}", action, f'a "{AUTHENTICATE}" action before the forward'))
    return found


def listener_protocols(rule: PolicyResource) -> set[Any]:
    return {listener.props.get("protocol") for listener in sources_of_type(rule, "listenerArn", *LISTENERS)}


@stack_rule("EDGE-04")
def no_listener_forwards_unauthenticated(args: StackValidationArgs, report: ReportViolation) -> None:
    """No listener or listener rule forwards a request that has not been authenticated; plain HTTP only redirects.
    Implemented by components/edge.py (EdgeProtection._https_listener, _http_listener)."""
    routed: list[tuple[PolicyResource, str, bool]] = [(listener, "defaultActions", listener.props.get("protocol") == HTTP)
                                                      for listener in of_type(args, *LISTENERS)]
    routed += [(rule, "actions", HTTP in listener_protocols(rule)) for rule in of_type(args, *LISTENER_RULES)]
    for resource, prop, plain_http in routed:
        for path, action, expected in unauthenticated_forwards(resource, prop, plain_http):
            violation(report, f"{resource.name} lets unauthenticated requests reach the application", path=path,
                      actual=action, expected=expected, urn=resource.urn)



# --- issue 14: the size of a setting (floors of policies/floors.yaml) ----------------------------------------------

USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
# Cognito's token lifetimes when the client names none, and the unit each is counted in when tokenValidityUnits names none.
TOKENS = {"refreshToken": ("refreshTokenValidity", 30.0, "days", "refresh_token_hours"),
          "accessToken": ("accessTokenValidity", 1.0, "hours", "access_token_hours"),
          "idToken": ("idTokenValidity", 1.0, "hours", "id_token_hours")}
UNIT_HOURS = {"seconds": 1 / 3600, "minutes": 1 / 60, "hours": 1.0, "days": 24.0}


@resource_rule("EDGE-01", *LOAD_BALANCERS)
def load_balancers_never_bypass_the_web_acl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A load balancer never forwards a request its web ACL could not inspect (enableWafFailOpen off: WAF fails closed).
    Implemented by components/edge.py (EdgeProtection._load_balancer)."""
    expect(report, args, "enableWafFailOpen", lambda value: value in (None, False),
           expected="false or absent (a request WAF cannot inspect is refused, not forwarded)")


@resource_rule("EDGE-04", USER_POOL_CLIENT)
def sign_in_tokens_are_short_lived(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The application's Cognito client issues refresh, access and ID tokens that live no longer than the ceilings of
    policies/floors.yaml (hours, per environment). Implemented by components/user_directory.py (app client)."""
    for token, (prop, default, default_unit, ceiling_key) in TOKENS.items():
        ceiling = floor(f"user_sign_in.{ceiling_key}", environment(args))
        value, unit = peek(args.props, prop), peek(args.props, f"tokenValidityUnits.{token}")
        if is_unknown(value) or is_unknown(unit):
            continue
        amount = default if value is None else value
        hours = amount * UNIT_HOURS.get(str(unit or default_unit), float("inf")) if isinstance(amount, (int, float)) else None
        if hours is None or hours > ceiling:
            violation(report, f"{args.name} issues {token} tokens that live too long", path=prop,
                      actual={"validity": value, "unit": unit or default_unit},
                      expected=f"<= {ceiling} hours (absent: Cognito's default {default:g} {default_unit})")


@resource_rule("EDGE-04", USER_POOL_CLIENT)
def sign_in_uses_the_authorization_code_flow_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The application's Cognito client allows only the OAuth flows of policies/floors.yaml (the authorization-code
    flow), never the implicit flow that hands tokens over in the URL. Implemented by components/user_directory.py."""
    allowed = floor("user_sign_in.oauth_flows", environment(args))
    flows = peek(args.props, "allowedOauthFlows")
    if is_unknown(flows):
        return
    extra = [f for f in as_list(flows) if not is_unknown(f) and f not in allowed]
    if extra:
        violation(report, f"{args.name} allows OAuth flows beyond {allowed}", path="allowedOauthFlows", actual=flows,
                  expected=f"only {allowed}")


@resource_rule("EDGE-02", WEB_ACL)
def web_acl_decisions_are_measured_and_sampled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The web ACL and each of its rules publish CloudWatch metrics and keep sampled requests, so a blocked attack (or
    a rule that stopped matching) is visible. Implemented by components/edge.py (EdgeProtection web ACL visibility)."""
    paths = ["visibilityConfig"]
    rules = peek(args.props, "rules")
    if not is_unknown(rules):
        paths += [f"rules.{i}.visibilityConfig" for i, _ in enumerate(as_list(rules))]
    for path in paths:
        for flag in ("cloudwatchMetricsEnabled", "sampledRequestsEnabled"):
            expect(report, args, f"{path}.{flag}", (True,), expected="true")


@resource_rule("EDGE-04", USER_POOL_CLIENT)
def sign_in_client_revokes_tokens_and_hides_users(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The application's Cognito client can revoke refresh tokens (sign-out ends the session) and does not tell a
    stranger which user names exist. Implemented by components/user_directory.py (app client)."""
    expect(report, args, "enableTokenRevocation", (True,), expected="true")
    expect(report, args, "preventUserExistenceErrors", ("ENABLED",), expected='"ENABLED"')


def blocks_outside_countries(rule: Any) -> bool:
    """A rule that blocks every request whose source country is not on its (non-empty) allow-list."""
    countries = get(rule, "statement.notStatement.statement.geoMatchStatement.countryCodes")
    return get(rule, "action.block") is not None and bool(as_list(countries))


@resource_rule("EDGE-01", WEB_ACL)
def web_acls_block_countries_outside_the_allow_list(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod, the web ACL blocks every request from a country outside its allow-list (a geo-match rule under a NOT,
    action block), so the firm's application is not offered to the whole world (dev and staging may leave it open to
    test from anywhere). Implemented by components/edge.py (waf_rules)."""
    rules = peek(args.props, "rules")
    if is_unknown(rules) or not is_prod(args):
        return
    if not any(blocks_outside_countries(r) for r in as_list(rules)):
        violation(report, f"{args.name} admits requests from every country", path="rules", actual=None,
                  expected="a rule blocking requests whose country is not on the allow-list (notStatement of geoMatchStatement)")
