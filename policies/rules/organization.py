"""Organisation guardrail rules (ORG-*): where the optional organisation guardrail is deployed, its service control
policy (and resource control policy) keep case data to the role matrix and keep every permissions boundary.

The guardrail is off by default (`caseshield:orgGuardrailEnabled`); a stack without the
`caseshield:organization:DataPerimeterGuardrail` component gives these rules nothing to judge. With it, the rules
judge the documents as IAM evaluates them (`caseshield.iam_analysis.may`, conditions evaluated): every principal of
the target account is taken to hold `*` (an SCP or RCP caps, it never grants), and the question is whether the
guardrail's denies still stop it. Who should be stopped comes from `policies/role-matrix.yaml`, never from the
program: the matrix's holders of a class may read it, everyone else may not. The probes are the stack's own roles
(matrix and service roles), the account's root user, a user and a role outside the matrix in the account (named
like the blueprint's roles, so a `<prefix>-*` exemption shows), and a same-named role in another account.

One exception the rules accept, and only for the classes AWS Backup backs up: a role only AWS Backup can assume
(it copies documents and snapshots on the firm's behalf; the bucket and key policies admit it too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from caseshield.iam_analysis import Principal, may
from caseshield.role_matrix import RoleMatrix, load
from policies.rules import stack_rule
from policies.rules._support import (
    S3_BUCKET,
    ancestors,
    as_list,
    classified_as,
    document,
    get,
    is_unknown,
    judged_later,
    of_type,
    peek,
    plain,
    reveal,
    sources,
    statements,
    violation,
)
from policies.rules.identity import matrix_roles

GUARDRAIL = "caseshield:organization:DataPerimeterGuardrail"
ORG_POLICY = "aws:organizations/policy:Policy"
ORG_ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ROLE = "aws:iam/role:Role"
KMS_KEY = "aws:kms/key:Key"
RDS_INSTANCE = "aws:rds/instance:Instance"
SCP = "SERVICE_CONTROL_POLICY"  # also what Organizations creates when `type` is left out
RCP = "RESOURCE_CONTROL_POLICY"
# The classes whose content is a client's confidence, stated here rather than read from the program.
CASE_DATA_CLASSES = ("case-documents", "case-database", "application-secrets")
# Services whose resources an RCP governs (AWS Organizations user guide, "Resource control policies").
RCP_SERVICES = ("s3", "sts", "kms", "sqs", "secretsmanager")
# The one service identity that may read a class besides its matrix holders: a role only this service can assume.
SERVICE_READERS = {"case-documents": "backup.amazonaws.com", "case-database": "backup.amazonaws.com"}
BOUNDARY_REMOVAL = "iam:DeleteRolePermissionsBoundary"
BOUNDARY_REPLACEMENT = "iam:PutRolePermissionsBoundary"
BOUNDARY_EDITS = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy")
# Every principal is taken to hold everything: what an SCP or RCP leaves of `*` is what it fails to deny.
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
OTHER_ACCOUNTS = ("210987654321", "109876543210")


@dataclass(frozen=True)
class Probe:
    """One request the guardrail is asked about: who, what, on which resource, with which extra condition keys."""

    principal: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()

    def request(self) -> str:
        extra = "".join(f" [{k}={v}]" for k, v in self.context)
        return f"{self.action} on {self.resource}{extra}"


@dataclass(frozen=True)
class Stack:
    """What the probes are built from: the account, the matrix's roles, the other roles and the case data."""

    partition: str
    account: str
    region: str
    prefix: str
    matrix_roles: dict[str, str]  # matrix role -> ARN
    other_roles: dict[str, str | None]  # ARN of a role outside the matrix -> the one service that may assume it
    reads: dict[str, list[tuple[str, str]]]  # class -> (action, resource) that reads it
    boundaries: list[str]  # the permissions boundary policies the stack's roles carry


# --- finding the guardrail and what it is made of ------------------------------------------------------------------

def guardrails(args: StackValidationArgs) -> list[PolicyResource]:
    return of_type(args, GUARDRAIL)


def policies_of(args: StackValidationArgs, guardrail: PolicyResource) -> list[PolicyResource]:
    return [p for p in of_type(args, ORG_POLICY) if any(a.urn == guardrail.urn for a in ancestors(p))]


def kind(policy: PolicyResource) -> Any:
    value = peek(policy.props, "type")
    return SCP if value is None else value


def attached_to(args: StackValidationArgs, policy: PolicyResource) -> list[Any]:
    """The targets `policy` is attached to (attachments whose policyId came from it)."""
    return [peek(a.props, "targetId") for a in of_type(args, ORG_ATTACHMENT)
            if any(s.urn == policy.urn for s in sources(a, "policyId"))]


def known_statements(policy: PolicyResource) -> list[dict[str, Any]] | None:
    content = reveal(peek(policy.props, "content"))
    if is_unknown(content):
        return None
    return statements(document(content))


def value(resource: PolicyResource, path: str) -> Any:
    """An output of another resource: None when absent, UNKNOWN (via `peek`) when not known yet."""
    return reveal(peek(resource.props, path))


class NotYetKnown(Exception):
    """A value a probe needs is not known before the update (the rule is judged then)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


def known(found: Any, path: str) -> Any:
    if is_unknown(found):
        raise NotYetKnown(path)
    return found


def trusted_service(role: PolicyResource) -> str | None:
    """The one AWS service that may assume `role`, when its trust policy admits nothing else."""
    trust = value(role, "assumeRolePolicy")
    if is_unknown(trust):
        return None
    services: set[str] = set()
    for statement in statements(document(trust)):
        if statement.get("Effect") != "Allow":
            continue
        principal = plain(statement.get("Principal"))
        if not isinstance(principal, Mapping) or set(principal) != {"Service"}:
            return None
        services.update(str(s) for s in as_list(principal["Service"]))
    return services.pop() if len(services) == 1 else None


def stack_facts(args: StackValidationArgs, matrix: RoleMatrix) -> Stack:
    """The stack's account, roles and case data, as known outputs (raises NotYetKnown otherwise)."""
    roles = {name: str(known(value(role, "arn"), f"{role.name}.arn"))
             for name, role in matrix_roles(args).items() if name in matrix.roles}
    if not roles:
        raise LookupError("the stack has no role of the role matrix")
    some_name, some_arn = sorted(roles.items())[0]
    partition, account = some_arn.split(":")[1], some_arn.split(":")[4]
    prefix = some_arn.rsplit("/", 1)[1].removesuffix(f"-{some_name}")
    matrix_urns = {r.urn for r in matrix_roles(args).values()}
    others = {str(known(value(r, "arn"), f"{r.name}.arn")): trusted_service(r)
              for r in of_type(args, ROLE) if r.urn not in matrix_urns}
    carried = {value(r, "permissionsBoundary") for r in of_type(args, ROLE)} - {None, ""}
    boundaries = sorted(str(known(b, "permissionsBoundary")) for b in carried)

    reads: dict[str, list[tuple[str, str]]] = {dc: [] for dc in CASE_DATA_CLASSES}
    for dc in CASE_DATA_CLASSES:
        for key in classified_as(args, dc, KMS_KEY):
            reads[dc].append(("kms:Decrypt", str(known(value(key, "arn"), f"{key.name}.arn"))))
    for bucket in classified_as(args, "case-documents", S3_BUCKET):
        objects = f"{known(value(bucket, 'arn'), f'{bucket.name}.arn')}/matters/privileged-brief.pdf"
        reads["case-documents"] += [("s3:GetObject", objects), ("s3:GetObjectVersion", objects)]
    region = ""
    for database in of_type(args, RDS_INSTANCE):
        region = str(known(value(database, "arn"), f"{database.name}.arn")).split(":")[3]
        for secret in as_list(known(value(database, "masterUserSecrets"), f"{database.name}.masterUserSecrets")):
            arn = reveal(get(secret, "secretArn"))
            if arn:
                reads["application-secrets"].append(("secretsmanager:GetSecretValue", str(known(arn, "secretArn"))))
        if get(database.props, "tags.data-classification") == "case-database":
            resource_id = known(value(database, "resourceId"), f"{database.name}.resourceId")
            reads["case-database"] += [
                ("rds-db:connect", f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}")
                for user in sorted(set(matrix.database_users.values()))]
    return Stack(partition, account, region, prefix, roles, others, reads, boundaries)


def outsiders(stack: Stack) -> list[str]:
    """Principals no role matrix names: the root user, a user and a role of the account, a look-alike elsewhere."""
    iam = f"arn:{stack.partition}:iam::{stack.account}"
    other = next(a for a in OTHER_ACCOUNTS if a != stack.account)
    return [f"{iam}:root", f"{iam}:user/{stack.prefix}-administrator", f"{iam}:role/{stack.prefix}-outside-the-role-matrix",
            f"arn:{stack.partition}:iam::{other}:role/{stack.prefix}-partner"]


def denied(guardrail_statements: list[dict[str, Any]], probe: Probe, *, rcp: bool) -> bool:
    """Whether the guardrail stops `probe` for a principal that otherwise holds everything."""
    context: dict[str, str | None] = {"aws:principalaccount": probe.principal.split(":")[4],
                                      "aws:principalisawsservice": "false", **dict(probe.context)}
    if rcp:
        principal: Principal = {"arn": probe.principal, "identity": [EVERYTHING], "boundary": None}
        return not may(principal, probe.action, probe.resource, context, resource_policy=guardrail_statements)
    principal = {"arn": probe.principal, "identity": [EVERYTHING, *guardrail_statements], "boundary": None}
    return not may(principal, probe.action, probe.resource, context)


@dataclass(frozen=True)
class Judged:
    """The guardrail's attached SCP and RCP statements (None: a document not known yet), or why there is nothing."""

    scp: list[dict[str, Any]] | None
    rcp: list[dict[str, Any]] | None
    scp_policies: list[PolicyResource]
    rcp_policies: list[PolicyResource]


def attached_documents(args: StackValidationArgs, guardrail: PolicyResource, report: ReportViolation) -> Judged:
    """The statements of the guardrail's attached policies of each kind; reports a kind missing or unattached."""
    found: dict[str, list[PolicyResource]] = {SCP: [], RCP: []}
    for policy in policies_of(args, guardrail):
        if kind(policy) in found:
            found[kind(policy)].append(policy)
    combined: dict[str, list[dict[str, Any]] | None] = {}
    for type_, what in ((SCP, "service control policy"), (RCP, "resource control policy")):
        attached = [p for p in found[type_] if [t for t in attached_to(args, p) if t]]
        for policy in found[type_]:
            if policy not in attached:
                violation(report, f"{policy.name}: the guardrail's {what} is attached to no target, so it denies "
                          "nothing", path="policyId", actual=[], expected="a PolicyAttachment to the account or its OU",
                          urn=policy.urn)
        if not found[type_]:
            violation(report, f"{guardrail.name}: the organisation guardrail has no {what}", path="type",
                      actual=sorted({str(kind(p)) for p in policies_of(args, guardrail)}), expected=type_,
                      urn=guardrail.urn)
        documents = [known_statements(p) for p in attached]
        combined[type_] = None if any(d is None for d in documents) else [s for d in documents for s in d or []]
    return Judged(combined[SCP], combined[RCP], found[SCP], found[RCP])


# Evidence lists at most this many principals (and how many more there are).
SHOWN = 20


def shown(found: list[str]) -> list[str]:
    return found if len(found) <= SHOWN else [*found[:SHOWN], f"... and {len(found) - SHOWN} more"]


def leaks(statements_: list[dict[str, Any]], probes: Iterable[Probe], *, rcp: bool, expect_denied: bool = True) -> list[str]:
    """Per principal, the requests the guardrail fails to deny (or, with `expect_denied` False, denies)."""
    found: dict[str, list[str]] = {}
    for probe in probes:
        if denied(statements_, probe, rcp=rcp) != expect_denied:
            found.setdefault(probe.principal, []).append(probe.request())
    return [f"{who}: {'; '.join(requests)}" for who, requests in found.items()]


# --- rules ----------------------------------------------------------------------------------------------------------

@stack_rule("ORG-01")
def organization_guardrail_keeps_case_data_to_the_matrix(args: StackValidationArgs, report: ReportViolation) -> None:
    """Where the organisation guardrail is deployed (caseshield:orgGuardrailEnabled), its attached SCP denies reading
    case documents, decrypting with the case-data keys, the database's secret and database login to every principal
    but the matrix roles holding that class (and AWS Backup's role for what it backs up), and its RCP does the same
    for the S3, KMS and Secrets Manager reads; neither denies a holder. Judged with conditions evaluated."""
    found = guardrails(args)
    if not found:
        return
    matrix = load()
    later: str | None = None
    for guardrail in found:
        judged = attached_documents(args, guardrail, report)
        try:
            stack = stack_facts(args, matrix)
        except NotYetKnown as unknown:
            later = unknown.path
            continue
        for type_, documents, policies in ((SCP, judged.scp, judged.scp_policies), (RCP, judged.rcp, judged.rcp_policies)):
            if not policies:
                continue
            if documents is None:
                later = "content"
                continue
            rcp = type_ == RCP
            for dc in CASE_DATA_CLASSES:
                reads = [(a, r) for a, r in stack.reads[dc] if not rcp or a.split(":", 1)[0] in RCP_SERVICES]
                if not reads:
                    continue
                holders = sorted(arn for name, arn in stack.matrix_roles.items() if matrix.roles[name].can(dc, "read"))
                strangers = [arn for name, arn in sorted(stack.matrix_roles.items()) if arn not in holders]
                strangers += [arn for arn, service in sorted(stack.other_roles.items())
                              if service is None or service != SERVICE_READERS.get(dc)]
                strangers += outsiders(stack)
                open_to = leaks(documents, (Probe(who, a, r) for who in strangers for a, r in reads), rcp=rcp)
                if open_to:
                    violation(report, f"{policies[0].name}: the guardrail lets principals the role matrix does not grant "
                              f"{dc} read it", path="content", actual=shown(open_to),
                              expected=f"a Deny for every principal but {holders}", urn=policies[0].urn)
                shut_out = leaks(documents, (Probe(who, a, r) for who in holders for a, r in reads), rcp=rcp,
                                 expect_denied=False)
                if shut_out:
                    violation(report, f"{policies[0].name}: the guardrail denies {dc} to matrix roles that hold it",
                              path="content", actual=shown(shut_out), expected="no Deny for the class's holders",
                              urn=policies[0].urn)
    if later is not None:
        judged_later(later)


@stack_rule("ORG-01")
def organization_guardrail_keeps_every_boundary(args: StackValidationArgs, report: ReportViolation) -> None:
    """Where the organisation guardrail is deployed, its attached SCP denies every principal but the matrix's
    administrator (break-glass) removing a matrix role's permissions boundary, replacing it with a policy that is
    no boundary of the stack, and editing or deleting any boundary the stack's roles carry (new or default version,
    deletion). Judged with conditions evaluated."""
    found = guardrails(args)
    if not found:
        return
    matrix = load()
    later: str | None = None
    for guardrail in found:
        scps = [p for p in policies_of(args, guardrail) if kind(p) == SCP]
        attached = [p for p in scps if [t for t in attached_to(args, p) if t]]
        if not attached:
            continue  # the other rule reports a guardrail without an attached SCP
        documents = [known_statements(p) for p in attached]
        try:
            stack = stack_facts(args, matrix)
        except NotYetKnown as unknown:
            later = unknown.path
            continue
        if any(d is None for d in documents):
            later = "content"
            continue
        combined = [s for d in documents for s in d or []]
        administrators = {arn for name, arn in stack.matrix_roles.items() if matrix.roles[name].administrator}
        who = [arn for _, arn in sorted(stack.matrix_roles.items()) if arn not in administrators]
        who += [*sorted(stack.other_roles), *outsiders(stack)[:3]]
        iam = f"arn:{stack.partition}:iam::{stack.account}"
        another = f"{iam}:policy/{stack.prefix}-another-boundary"
        targets = [arn for _, arn in sorted(stack.matrix_roles.items())]
        requests: list[tuple[str, str, tuple[tuple[str, str], ...]]] = [(BOUNDARY_REMOVAL, role, ()) for role in targets]
        requests += [(BOUNDARY_REPLACEMENT, role, (("iam:permissionsboundary", another),)) for role in targets]
        requests += [(edit, boundary, ()) for boundary in stack.boundaries for edit in BOUNDARY_EDITS]
        open_to = leaks(combined, (Probe(p, a, r, c) for p in who for a, r, c in requests), rcp=False)
        if open_to:
            violation(report, f"{attached[0].name}: the guardrail lets principals other than the matrix's administrator "
                      "remove, replace or edit a permissions boundary", path="content", actual=shown(open_to),
                      expected=f"a Deny for every principal but {sorted(administrators)}", urn=attached[0].urn)
    if later is not None:
        judged_later(later)

