"""Service access (issue 14, item 2): the AWS services' roles and the buckets they deliver to, judged by effective access.

What each AWS service may do on the blueprint's behalf, who may act as it and who may touch the buckets it delivers
to is stated as data in `policies/service-access.yaml`; the rules here ask questions of the generated documents as
IAM evaluates them (`caseshield/iam_analysis.py` `may`: Deny wins, the boundary caps, conditions are evaluated
against the request), in both directions:

- must-allow: the service can still do its delivery job: assume its role with this stack's source, and, as that
  role (its inline policies within its boundary, the target bucket's policy applied) or through the bucket's own
  policy, write where it delivers. A dropped Allow is a blind audit, a Config recorder that cannot deliver, flow logs
  or backups that silently stop.
- must-deny: the same service on behalf of another account, or without each source key the intent requires;
  another AWS service presenting this service's own source (the principal, not the condition alone, names who
  delivers); a principal of another account; a request without each context key the delivery must carry; a
  principal not listed reconfiguring the audit archive or reaching the case documents from outside the VPC.

Each source key and each context key is probed on its own (its value from another account, or absent, the others
as the service sends them), so a condition that is dropped, negated, loosened to `*` or given IfExists fails even
where another condition happens to cover for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from caseshield import schemas
from policies.rules import stack_rule
from policies.rules._support import (
    S3_BUCKET,
    classified_as,
    consumers,
    document,
    is_unknown,
    judged_later,
    of_type,
    origin_buckets,
    peek,
    reveal,
    sources_of_type,
    statements,
    violation,
)
from policies.rules.identity import MANAGED_POLICY, ROLE, attachments, inline_documents, matrix_roles

INTENT_PATH = Path(__file__).resolve().parent.parent / "service-access.yaml"
INTENT_FILE = "policies/service-access.yaml"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ASSUME = "sts:AssumeRole"
# Every probe is made over TLS 1.2+ (so the buckets' transport denies are not what refuses it).
OVER_TLS = {"aws:securetransport": "true"}
# An ARN's partition, service, region and account.
ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):(?P<service>[a-z0-9-]*):(?P<region>[a-z0-9-]*):(?P<account>[0-9]{12})?:")
# A value the probes give a context key that the delivery sends with another value.
OTHER_VALUE = "probe-another-value"
EVERYTHING = ({"Effect": "Allow", "Action": "*", "Resource": "*"},)


def intent() -> dict[str, Any]:
    """`policies/service-access.yaml`, parsed strictly and checked against its schema (raises `InputError`)."""
    loaded: dict[str, Any] = schemas.load(INTENT_PATH, "service-access")
    return loaded


class Undecided(Exception):
    """A value the probes need is not known yet (preview) or not there: the entry cannot be judged from this graph."""

    def __init__(self, later: bool) -> None:
        super().__init__()
        self.later = later


def known(value: Any) -> str:
    """A string value the probes need; raises Undecided (later) while it is not known, (now) when absent."""
    value = reveal(value)
    if is_unknown(value):
        raise Undecided(later=True)
    if not isinstance(value, str) or not value:
        raise Undecided(later=False)
    return value


# --- the stack: where it lives, and the ARNs of what its resources name -------------------------------------------

@dataclass(frozen=True)
class Home:
    partition: str
    account: str
    region: str
    prefix: str


def home_of(args: StackValidationArgs, user: PolicyResource, *more: PolicyResource, prefix: bool = False) -> Home:
    """The stack's partition, account and region: the region from the provider, the account from the ARNs of the
    resources judged (else of the first role that has one), and, if asked, its name prefix (the matrix's role names
    less the role). Reads as few resources as it can: a rule runs again on a mutant only if it read what changed."""
    found: dict[str, str] = {}
    provider_region = peek(getattr(user.provider, "props", None) or {}, "region")
    if isinstance(provider_region, str) and provider_region and not is_unknown(provider_region):
        found["region"] = provider_region
    for resource in [user, *more, *of_type(args, ROLE)]:
        arn = peek(resource.props, "arn")
        match = ARN.match(arn) if isinstance(arn, str) else None
        if match and match["account"]:
            found.setdefault("partition", match["partition"])
            found.setdefault("account", match["account"])
            if match["region"]:
                found.setdefault("region", match["region"])
        if "account" in found and "region" in found:
            break
    if "account" not in found or "region" not in found:
        raise Undecided(later=True)
    name_prefix = ""
    for short, role in matrix_roles(args).items() if prefix else ():
        name = peek(role.props, "name")
        if isinstance(name, str) and name.endswith(f"-{short}"):
            name_prefix = name.removesuffix(f"-{short}")
            break
    return Home(found["partition"], found["account"], found["region"], name_prefix)


def arn_of(resource: PolicyResource) -> str:
    """A resource's ARN; a bucket's (or a bucket policy's: its bucket's) from its name when the output is absent."""
    buckets = [resource] if resource.resource_type == S3_BUCKET else origin_buckets(resource, "bucket", 1)
    if resource.resource_type in (S3_BUCKET, BUCKET_POLICY) and buckets:
        bucket = buckets[0]
        arn, name = peek(bucket.props, "arn"), peek(bucket.props, "bucket")
        if isinstance(arn, str) and arn and not is_unknown(arn):
            return arn
        return f"arn:aws:s3:::{known(name)}"
    return known(peek(resource.props, "arn"))


class InputValues(Mapping[str, str]):
    """`{value[path]}` in a template: the user's own input at a dotted path (or another resource's of `with`)."""

    def __init__(self, *resources: PolicyResource) -> None:
        self.resources = resources

    def __getitem__(self, path: str) -> str:
        for resource in self.resources:
            value = peek(resource.props, path)
            if value is not None:
                return known(value)
        raise Undecided(later=False)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class Variables(dict[str, Any]):
    """The template variables of one user, each resolved when a template asks for it (an input's ARN is read only when
    needed); one that is missing leaves the entry undecided (the rules of the user's control judge provenance)."""

    def __init__(self, home: Home, user: PolicyResource, *more: PolicyResource, **extra: str) -> None:
        super().__init__(account=home.account, partition=home.partition, region=home.region, prefix=home.prefix,
                         value=InputValues(user, *more), **extra)
        self.resources = (user, *more)

    def __missing__(self, key: str) -> Any:
        user = self.resources[0]
        if key == "user":
            self[key] = arn_of(user)
            return self[key]
        for resource in self.resources:
            deps = list(resource.property_dependencies.get(key, []) or [])
            if deps:
                self[key] = arn_of(deps[0])
                return self[key]
        raise Undecided(later=False)


def variables(home: Home, user: PolicyResource, *more: PolicyResource, **extra: str) -> Variables:
    return Variables(home, user, *more, **extra)


def filled(template: str, found: Variables) -> str:
    return template.format_map(found)


def bucket_statements(args: StackValidationArgs, arn: str) -> list[dict[str, Any]]:
    """The statements of the policies of the bucket an S3 ARN names (none for another service's ARN)."""
    if not arn.startswith("arn:") or ":s3:::" not in arn:
        return []
    name = arn.split(":::", 1)[1].split("/", 1)[0]
    for bucket in of_type(args, S3_BUCKET):
        if peek(bucket.props, "bucket") == name:
            return [s for policy in consumers(args, bucket, BUCKET_POLICY, "bucket")
                    for s in statements(document(known(peek(policy.props, "policy"))))]
    return []


# --- the probes ------------------------------------------------------------------------------------------------------

def as_principal(arn: str, identity: Any = (), boundary: Any = None) -> Any:
    return {"arn": arn, "identity": list(identity), "boundary": None if boundary is None else list(boundary)}


def principal_keys(principal: str) -> dict[str, str | None]:
    """What a request carries about who makes it: a service, or a principal of an account."""
    from caseshield.iam_analysis import is_service

    if is_service(principal):
        return {"aws:principalisawsservice": "true", "aws:principalaccount": None}
    match = re.match(r"^arn:[a-z-]+:iam::(?P<account>[0-9]{12}):", principal)
    return {"aws:principalisawsservice": "false", "aws:principalaccount": match["account"] if match else None}


def lower(context: Mapping[str, Any]) -> dict[str, str | None]:
    return {k.lower(): v for k, v in context.items()}


def foreign(value: str, home: Home, probe_account: str) -> str:
    """A source value as another account's resource would carry it."""
    return value.replace(home.account, probe_account) if home.account in value else f"{value}-of-another-account"


def source_findings(ask: Any, service: str, source: Mapping[str, str], home: Home, spec: Mapping[str, Any],
                    what: str) -> list[str]:
    """The must-deny probes of a service's source: each key from another account and absent; another service with
    this service's source; a principal of another account."""
    found = []
    for key, value in source.items():
        for label, probe in (("another account's", foreign(value, home, spec["probe_account"])), ("no", None)):
            if ask(service, {**source, key: probe}):
                found.append(f"{service} with {label} {key} may {what}")
    if ask(spec["other_service"], dict(source)):
        found.append(f"another service ({spec['other_service']}) presenting {service}'s own source may {what}")
    outsider = f"arn:{home.partition}:iam::{spec['probe_account']}:role/service-access-probe"
    if ask(outsider, {key: None for key in source}):
        found.append(f"a principal of another account ({outsider}) may {what}")
    return found


def trust_findings(role: PolicyResource, entry: Mapping[str, Any], found: Variables, home: Home,
                   spec: Mapping[str, Any]) -> list[str]:
    """Must-allow and must-deny probes of a service role's trust policy."""
    from caseshield.iam_analysis import may

    role_arn = known(peek(role.props, "arn"))
    trust = statements(document(known(peek(role.props, "assumeRolePolicy"))))
    source = {k.lower(): filled(v, found) for k, v in entry["source"].items()}
    service = entry["service"]

    def ask(principal: str, context: Mapping[str, str | None]) -> bool:
        return may(as_principal(principal), ASSUME, role_arn, {**principal_keys(principal), **context}, resource_policy=trust)

    findings = [] if ask(service, source) else [f"{service} cannot assume it with this stack's source {source}"]
    return findings + source_findings(ask, service, source, home, spec, "assume it")


def delivery_findings(args: StackValidationArgs, role: PolicyResource, entry: Mapping[str, Any], found: Variables,
                      home: Home) -> list[str]:
    """Must-allow probes of what the role must still do (its inline policies within its boundary)."""
    from caseshield.iam_analysis import may

    documents = inline_documents(args, role)
    if any(d.statements is None for d in documents):
        raise Undecided(later=True)
    boundaries = sources_of_type(role, "permissionsBoundary", MANAGED_POLICY)
    boundary = [s for b in boundaries for s in statements(document(known(peek(b.props, "policy"))))] if boundaries else None
    role_arn = known(peek(role.props, "arn"))
    principal = as_principal(role_arn, [s for d in documents for s in d.statements or []], boundary)
    findings = []
    for must, requests in ((True, entry.get("delivers", [])), (False, entry.get("refuses", []))):
        for request in requests:
            resource = filled(request["resource"], found)
            wanted = lower(request.get("context", {}))
            policy = bucket_statements(args, resource)
            for action in request["actions"]:
                def ask(context: Mapping[str, str | None], action: str = action, resource: str = resource,
                        policy: list[dict[str, Any]] = policy) -> bool:
                    return may(principal, action, resource, {**OVER_TLS, **principal_keys(role_arn), **context},
                               resource_policy=policy)

                if ask(wanted) != must:
                    findings.append(f"it may {'not ' if must else ''}{action} on {resource}")
                if must:
                    findings += [f"it may {action} on {resource} with {label} {key}" for key, value in wanted.items()
                                 for label, probe in (("another", OTHER_VALUE), ("no", None))
                                 if value is not None and ask({**wanted, key: probe})]
    return findings


def managed_findings(args: StackValidationArgs, role: PolicyResource, entry: Mapping[str, Any]) -> list[str]:
    held = {str(a.arn).split(":policy/", 1)[-1] for a in attachments(args, role) if isinstance(a.arn, str)}
    if any(is_unknown(a.arn) for a in attachments(args, role)):
        raise Undecided(later=True)
    return [f"it does not hold the AWS managed policy {name}" for name in entry.get("managed", []) if name not in held]


def check_service_roles(args: StackValidationArgs, report: ReportViolation, control: str) -> None:
    """The service roles of `control` in the intent: trust, delivery and managed policies, as the module note says."""
    spec = intent()
    later = False
    for entry in (e for e in spec["service_roles"] if e["control"] == control):
        for user in of_type(args, entry["used_by"]["type"]):
            named = peek(user.props, entry["used_by"]["input"])
            if named and not is_unknown(named) and not sources_of_type(user, entry["used_by"]["input"], ROLE):
                violation(report, f"{user.name} acts through a role that is not this stack's {entry['role']} service role, so "
                          "nothing here proves who may assume it or what it may do", path=entry["used_by"]["input"],
                          actual=named, expected=f"the ARN of a {ROLE} of this stack ({INTENT_FILE}: {entry['role']})",
                          urn=user.urn)
            for role in sources_of_type(user, entry["used_by"]["input"], ROLE):
                try:
                    more = of_type(args, entry["with"]) if "with" in entry else []
                    home = home_of(args, role, user)
                    found = variables(home, user, *more)
                    problems = [*trust_findings(role, entry, found, home, spec), *delivery_findings(args, role, entry, found, home),
                                *managed_findings(args, role, entry)]
                except Undecided as undecided:
                    later = later or undecided.later
                    continue
                if problems:
                    violation(report, f"{role.name} (the {entry['role']} service role) does not serve exactly "
                              f"{entry['service']} for this stack: {'; '.join(problems)}", path="assumeRolePolicy",
                              actual=problems, expected=f"the access {INTENT_FILE} intends for {entry['role']}", urn=role.urn)
    if later:
        judged_later("assumeRolePolicy")


@dataclass(frozen=True)
class Request:
    """One request on a resource under a resource policy; `ask` answers it for a principal in a context."""

    action: str
    resource: str
    policy: list[dict[str, Any]]
    identity: tuple[dict[str, Any], ...] = ()

    def ask(self, who: str, context: Mapping[str, str | None]) -> bool:
        from caseshield.iam_analysis import may

        return may(as_principal(who, self.identity), self.action, self.resource,
                   {**OVER_TLS, **principal_keys(who), **context}, resource_policy=self.policy)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


def delivery_request_findings(request: Request, principal: str, source: Mapping[str, str], wanted: Mapping[str, str | None],
                              home: Home, spec: Mapping[str, Any]) -> list[str]:
    """The delivery itself (must-allow), its source probed (must-deny) and each context key it must send."""
    from caseshield.iam_analysis import is_service

    found = [] if request.ask(principal, {**source, **wanted}) else [f"{principal} may not {request} (the delivery it exists for)"]
    if is_service(principal):
        found += source_findings(lambda who, context: request.ask(who, {**wanted, **context}), principal, source, home, spec,
                                 str(request))
    for key, value in wanted.items():
        for label, probe in (("another", OTHER_VALUE), ("no", None)):
            if value is not None and request.ask(principal, {**source, **wanted, key: probe}):
                found.append(f"{principal} with {label} {key} may {request}")
    return found


def check_bucket_deliveries(args: StackValidationArgs, report: ReportViolation, control: str) -> None:
    """The deliveries of `control` into buckets through the bucket's own policy, probed both ways."""
    spec = intent()
    later = False
    for entry in (e for e in spec["bucket_deliveries"] if e["control"] == control):
        for user in of_type(args, entry["used_by"]["type"]):
            buckets = origin_buckets(user, entry["used_by"]["input"])
            if not buckets:
                continue
            problems: list[str] = []
            try:
                home = home_of(args, user)
                found = variables(home, user, elb_account=spec["elb_log_accounts"].get(home.region, "000000000000"),
                                  probe_account=spec["probe_account"])
                principal = filled(entry["principal"], found)
                source = {k.lower(): filled(v, found) for k, v in entry["source"].items()}
                for wanted in entry["requests"]:
                    resource = filled(wanted["resource"], found)
                    policy = bucket_statements(args, resource)
                    problems += [finding for action in wanted["actions"] for finding in delivery_request_findings(
                        Request(action, resource, policy), principal, source, lower(wanted.get("context", {})), home, spec)]
                for refused in entry.get("refuses", []):
                    resource = filled(refused["resource"], found)
                    context = {**source, **lower(refused.get("context", {}))}
                    problems += [f"{principal} may {request}, beyond its delivery" for action in refused["actions"]
                                 if (request := Request(action, resource, bucket_statements(args, resource))).ask(principal, context)]
            except Undecided as undecided:
                later = later or undecided.later
                continue
            if problems:
                violation(report, f"the {entry['delivery']} delivery into {buckets[0].name} is not exactly what {INTENT_FILE} "
                          f"intends: {'; '.join(problems)}", path="policy.Statement", actual=problems,
                          expected=f"{entry['principal']} alone, for this stack, delivers", urn=buckets[0].urn)
    if later:
        judged_later("policy")


def guarded(args: StackValidationArgs, entry: Mapping[str, Any]) -> Iterator[tuple[PolicyResource, PolicyResource]]:
    """(user, bucket) pairs of a guarded bucket entry: the bucket a resource delivers to, or a classified bucket."""
    if "classified" in entry:
        for bucket in classified_as(args, entry["classified"], S3_BUCKET):
            yield bucket, bucket
        return
    for user in of_type(args, entry["used_by"]["type"]):
        for bucket in origin_buckets(user, entry["used_by"]["input"]):
            yield user, bucket


def guard_findings(request: Request, outsider: str, allowed: list[str], context: Mapping[str, Any]) -> list[str]:
    where = f" ({', '.join(f'{k} {v}' for k, v in context.items())})" if context else ""
    found = [f"a role not listed ({outsider}), granted everything, may {request}{where}"] if request.ask(outsider, lower(context)) else []
    return found + [f"{who} may not {request}{where}" for who in allowed if not request.ask(who, lower(context))]


def check_guarded_buckets(args: StackValidationArgs, report: ReportViolation, control: str) -> None:
    """Only the principals listed take the guarded actions (in the contexts listed), whatever their own policies grant."""
    spec = intent()
    later = False
    for entry in (e for e in spec["guarded_buckets"] if e["control"] == control):
        for user, bucket in guarded(args, entry):
            problems: list[str] = []
            try:
                home = home_of(args, user, bucket, prefix=True)
                if not home.prefix:
                    raise Undecided(later=True)
                found = variables(home, user, bucket=arn_of(bucket))
                resource = filled(entry["resource"], found)
                policy = bucket_statements(args, resource)
                allowed = [filled(a, found) for a in entry["allowed"]]
                outsider = f"arn:{home.partition}:iam::{home.account}:role/{home.prefix}-{entry['bucket']}-probe"
                problems = [finding for context in entry["refused_in"] for action in entry["actions"]
                            for finding in guard_findings(Request(action, resource, policy, EVERYTHING), outsider, allowed, context)]
            except Undecided as undecided:
                later = later or undecided.later
                continue
            if problems:
                violation(report, f"{bucket.name}: who may take the guarded actions is not what {INTENT_FILE} intends: "
                          f"{'; '.join(problems[:6])}", path="policy.Statement", actual=problems,
                          expected=f"only {entry['allowed']} there", urn=bucket.urn)
    if later:
        judged_later("policy")


def check(args: StackValidationArgs, report: ReportViolation, control: str) -> None:
    check_service_roles(args, report, control)
    check_bucket_deliveries(args, report, control)
    check_guarded_buckets(args, report, control)


# --- the rules, one per control whose delivery or guard the access serves ------------------------------------------

@stack_rule("AUD-02")
def cloudtrail_alone_delivers_this_trail(args: StackValidationArgs, report: ReportViolation) -> None:
    """CloudTrail, for this stack's trail only (aws:SourceArn), can assume the log-delivery role and write its log
    streams, and can check and write the archive under its prefix with bucket-owner-full-control; CloudTrail for
    another trail or without a source, another service, or another account cannot (policies/service-access.yaml).
    Implemented by components/audit.py (AuditTrail cloudwatch role, archive_policy_statements)."""
    check(args, report, "AUD-02")


@stack_rule("MON-03")
def config_alone_delivers_this_accounts_configuration(args: StackValidationArgs, report: ReportViolation) -> None:
    """AWS Config, for this account only, can assume the recorder role (holding AWS_ConfigRole) and deliver into the
    archive under its prefix, through the role and through the archive's policy; Config for another account or
    without a source, another service, or another account cannot (policies/service-access.yaml).
    Implemented by components/detection.py (config role and delivery policy) and components/audit.py
    (config_delivery_statements)."""
    check(args, report, "MON-03")


@stack_rule("NET-06")
def flow_log_role_serves_only_this_accounts_flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    """VPC flow logs of this account only (aws:SourceAccount and aws:SourceArn) can assume the flow-log role, and it can
    write the flow-log group; another account, a request without a source, or another service cannot assume it
    (policies/service-access.yaml). Implemented by components/network.py (flow_log_trust_policy, flow_log_write_policy)."""
    check(args, report, "NET-06")


@stack_rule("DATA-05")
def backup_role_serves_only_this_accounts_backups(args: StackValidationArgs, report: ReportViolation) -> None:
    """AWS Backup for this account only can assume the backup role, which holds the AWS managed backup and restore
    policies (RDS, DynamoDB and S3); another account, a request without a source, or another service cannot
    (policies/service-access.yaml). Implemented by components/backup.py (BackupProtection role)."""
    check(args, report, "DATA-05")


@stack_rule("MON-07")
def monitoring_role_serves_only_this_accounts_rds(args: StackValidationArgs, report: ReportViolation) -> None:
    """RDS enhanced monitoring for this account only can assume the monitoring role; another account, a request without
    a source, or another service cannot (policies/service-access.yaml).
    Implemented by components/database.py (CaseDatabase monitoring role)."""
    check(args, report, "MON-07")


@stack_rule("PATCH-04")
def instance_role_is_assumable_only_by_ec2(args: StackValidationArgs, report: ReportViolation) -> None:
    """The instances' role can be assumed by EC2 (so the instances are managed at all) and by no other service or
    principal (policies/service-access.yaml). Implemented by components/app_tier.py (ApplicationTier instance role)."""
    check(args, report, "PATCH-04")


@stack_rule("AUD-05")
def only_this_accounts_log_delivery_writes_request_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    """S3 log delivery, for this account only, can write request logs into the log bucket; for another account or
    without a source, another service, or another account's principal cannot (policies/service-access.yaml).
    Implemented by components/buckets.py (log_delivery_statements)."""
    check(args, report, "AUD-05")


@stack_rule("EDGE-03")
def only_this_accounts_load_balancer_logs_are_delivered(args: StackValidationArgs, report: ReportViolation) -> None:
    """The load balancer's access logs can be delivered (by the region's ELB account and by the log-delivery service for
    this account) under their prefix; the service for another account or without a source, or another service, cannot
    (policies/service-access.yaml). Implemented by components/buckets.py (log_delivery_statements, ELB statements)."""
    check(args, report, "EDGE-03")


@stack_rule("AUD-04")
def only_deployers_reconfigure_the_audit_archive(args: StackValidationArgs, report: ReportViolation) -> None:
    """No principal but the deployer and break-glass can change the audit archive's policy, lock, lifecycle, versioning,
    encryption, public-access block, ownership or logging, even granted everything by its own policies; those two
    still can. Nobody at all can delete a log object, a version, the bucket or its policy, or bypass governance
    retention (policies/service-access.yaml).
    Implemented by components/audit.py (OnlyDeployersReconfigureArchive, DenyEvidenceDestruction)."""
    check(args, report, "AUD-04")


@stack_rule("DATA-02")
def case_documents_are_reached_only_through_the_vpc_endpoints(args: StackValidationArgs, report: ReportViolation) -> None:
    """No principal, even granted everything by its own policies, reads, writes or deletes case documents from outside
    the VPC's endpoints or through another VPC's endpoint, but break-glass, AWS Backup's role and Macie, which still can
    (policies/service-access.yaml). Implemented by components/documents.py (vpc_endpoint_only_statement)."""
    check(args, report, "DATA-02")
