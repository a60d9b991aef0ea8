"""Identity and access rules (IAM-*): the generated IAM equals the role matrix, people assume roles only with recent
MFA, one boundary caps every matrix role, segregation of duties holds in IAM itself, only break-glass administers
the account, and the account's and the application's sign-in settings are strict.

What the rules expect comes from `policies/role-matrix.yaml` (through `caseshield.role_matrix.load()`), never from
the program. A matrix role is found under the RoleMatrix component by its logical name: the component's own name, a
dash and the matrix role (`caseshield-roles-partner`), which is the component's naming, not an id shared between
resources. Inline policies, attachments and boundaries belong to a role through property dependencies or their
parent; values not known until the update (policies built from other resources' ARNs) are judged once known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from caseshield.iam_actions import takes_only_star
from caseshield.role_matrix import OTHER_ACCOUNT, Constraint, RoleMatrix, load
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    CLASSIFICATION_TAG,
    ancestors,
    as_list,
    belonging_to,
    classified_as,
    conditions,
    covers,
    document,
    expect,
    is_anyone,
    is_prod,
    is_unknown,
    judged_later,
    of_type,
    peek,
    plain,
    reveal,
    sources_of_type,
    statements,
    tag,
    unique,
    unknown_along,
    violation,
)

ROLE_MATRIX = "caseshield:identity:RoleMatrix"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY_ATTACHMENTS = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"
RDS_INSTANCE = "aws:rds/instance:Instance"
PASSWORD_POLICY = "aws:iam/accountPasswordPolicy:AccountPasswordPolicy"
ACCESS_ANALYZER = "aws:accessanalyzer/analyzer:Analyzer"
USER_POOL = "aws:cognito/userPool:UserPool"
# Standing credentials of IAM users: none may exist, people and pipelines use roles with short sessions.
LONG_LIVED_CREDENTIALS = ("aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/userLoginProfile:UserLoginProfile",
                          "aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
                          "aws:iam/signingCertificate:SigningCertificate", "aws:iam/sshKey:SshKey")

# What holding a data class implies besides the matrix's actions: using the class's key (writers also encrypt) and,
# for a class stored in a database, logging in as the level's database user.
KEY_READ_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
KEY_WRITE_USE = (*KEY_READ_USE, "kms:Encrypt")
DATABASE_LOGIN = "rds-db:connect"
# What a role without data access (key administrators, the deployer) must be denied on every key.
KEY_CRYPTO = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
# Reading a class's content needs its key: roles kept from a class are also denied decrypting with it.
CONTENT_KEY_ACTION = "kms:Decrypt"
# Actions that read a resource's configuration, not the content of its data class (deploy tooling reads them back).
CONFIGURATION_VERBS = ("Describe", "List")
# Actions that change nothing: what an auditor may hold. Decrypting and generating a data key return key material
# and change no resource (readers of encrypted evidence need them).
READ_VERBS = ("Get", "List", "Describe", "Lookup", "Filter", "Search")
READ_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
# AWS managed policies that only read (job-function and security-audit policies).
READ_ONLY_MANAGED_POLICIES = ("SecurityAudit", "ViewOnlyAccess", "ReadOnlyAccess")
ADMINISTRATOR_POLICY = "AdministratorAccess"
AWS_MANAGED_MARK = ":iam::aws:policy/"
WILDCARD = re.compile(r"[*?]")

# Condition keys (IAM compares keys case-insensitively; `conditions()` lower-cases them).
MFA_PRESENT = "aws:multifactorauthpresent"
MFA_AGE = "aws:multifactorauthage"
EXTERNAL_ID = "sts:externalid"
AGE_OPERATORS = ("NumericLessThan", "NumericLessThanEquals")
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
OIDC_AUDIENCE = "sts.amazonaws.com"

BOUNDARY_REMOVAL = ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary")
# Role actions that must be denied unless the request names the blueprint's boundary (creating a role, replacing
# its boundary), and the operators and key that pin it.
BOUNDARY_PINNED = ("iam:PutRolePermissionsBoundary", "iam:CreateRole")
BOUNDARY_PIN_OPERATORS = ("StringNotEquals", "ArnNotEquals")
PERMISSIONS_BOUNDARY = "iam:permissionsboundary"
PRINCIPAL_ARN = "aws:principalarn"
# Editing a managed policy in place: a new version, a new default, or deleting it.
BOUNDARY_EDIT = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy")
# IAM's default session is one hour; vendor sessions may last at most four.
DEFAULT_SESSION_SECONDS = 3600
VENDOR_MAX_SESSION_SECONDS = 4 * 3600
PASSWORD_MIN_LENGTH = 14
PASSWORD_REUSE_PREVENTION = 24
PASSWORD_MAX_AGE_DAYS = 90
PASSWORD_CHARACTER_CLASSES = ("requireUppercaseCharacters", "requireLowercaseCharacters", "requireNumbers", "requireSymbols")
# Analyzers that report resource policies granting access from outside the zone of trust (the unused-access kinds do not).
EXTERNAL_ACCESS_ANALYZERS = ("ACCOUNT", "ORGANIZATION")
USER_POOL_CHARACTER_CLASSES = ("requireUppercase", "requireLowercase", "requireNumbers", "requireSymbols")
# An invitation's temporary password is a credential nobody chose: it lapses after a day.
TEMPORARY_PASSWORD_MAX_DAYS = 1


# --- the matrix's roles and what belongs to them --------------------------------------------------------------------

def matrix_roles(args: StackValidationArgs) -> dict[str, PolicyResource]:
    """The roles under the RoleMatrix component, by the matrix role their logical name ends with."""
    found: dict[str, PolicyResource] = {}
    for component in of_type(args, ROLE_MATRIX):
        for role in of_type(args, ROLE):
            if any(a.urn == component.urn for a in ancestors(role)):
                found[role.name.removeprefix(f"{component.name}-")] = role
    return found


def roles_trusted_as(args: StackValidationArgs, matrix: RoleMatrix, trust: str) -> list[PolicyResource]:
    """The matrix's roles of one trust kind (human, oidc, vendor), as the stack has them."""
    return [role for name, role in sorted(matrix_roles(args).items())
            if name in matrix.roles and matrix.roles[name].trust == trust]


def parsed(value: Any) -> list[dict[str, Any]] | None:
    """The statements of a JSON policy value; None while it is not known."""
    value = reveal(value)
    return None if is_unknown(value) else statements(document(value))


@dataclass(frozen=True)
class Document:
    """One identity policy of a role: the resource and input holding it, and its statements (None while unknown)."""

    holder: PolicyResource
    prop: str
    path: str
    statements: list[dict[str, Any]] | None

    @property
    def name(self) -> Any:
        return self.holder.props.get("name") if self.holder.resource_type == ROLE_POLICY else None


def inline_documents(args: StackValidationArgs, role: PolicyResource) -> list[Document]:
    """The role's inline policies: its RolePolicy resources and its own `inlinePolicies`."""
    found = [Document(p, "policy", "policy", parsed(p.props.get("policy"))) for p in belonging_to(args, role, ROLE_POLICY, "role")]
    inline = reveal(role.props.get("inlinePolicies"))
    if is_unknown(inline):
        return [*found, Document(role, "inlinePolicies", "inlinePolicies", None)]
    return found + [Document(role, "inlinePolicies", f"inlinePolicies.{i}.policy", parsed(entry.get("policy")))
                    for i, entry in enumerate(as_list(inline)) if isinstance(entry, Mapping)]


@dataclass(frozen=True)
class Attachment:
    """One managed policy attached to a role: the resource and input naming it, and its ARN."""

    holder: PolicyResource
    prop: str
    arn: Any

    @property
    def aws_managed_name(self) -> str | None:
        """`AdministratorAccess` for `arn:aws:iam::aws:policy/AdministratorAccess`; None for other policies."""
        if isinstance(self.arn, str) and AWS_MANAGED_MARK in self.arn:
            return self.arn.rsplit("/", 1)[-1]
        return None

    def customer_documents(self) -> list[Document]:
        """The policies of this stack the ARN came from (customer-managed policies)."""
        return [Document(p, "policy", "policy", parsed(p.props.get("policy")))
                for p in sources_of_type(self.holder, self.prop, MANAGED_POLICY)]


def attachments(args: StackValidationArgs, role: PolicyResource) -> list[Attachment]:
    """Every managed policy attached to the role, by any of the ways IAM resources attach one."""
    found = [Attachment(a, "policyArn", peek(a.props, "policyArn")) for a in belonging_to(args, role, ROLE_POLICY_ATTACHMENT, "role")]
    found += [Attachment(a, "policyArn", peek(a.props, "policyArn")) for a in belonging_to(args, role, POLICY_ATTACHMENT, "roles")]
    listed = [(a, "policyArns") for a in belonging_to(args, role, ROLE_POLICY_ATTACHMENTS, "roleName")]
    for holder, prop in [*listed, (role, "managedPolicyArns")]:
        found += [Attachment(holder, prop, arn) for arn in as_list(reveal(holder.props.get(prop)))]
    return found


def boundary_policies(args: StackValidationArgs) -> list[PolicyResource]:
    """The policies the matrix roles' permissions boundaries came from."""
    return unique(p for role in matrix_roles(args).values() for p in sources_of_type(role, "permissionsBoundary", MANAGED_POLICY))


def constraints(matrix: RoleMatrix, rule: str) -> list[Constraint]:
    return [c for c in matrix.constraints if c.rule == rule]


# --- statements ------------------------------------------------------------------------------------------------------

def grants(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement grants `action` (through Action, or through a NotAction that leaves it out)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not covers(statement["NotAction"], action)
    return covers(statement.get("Action"), action)


def denies(statement: Mapping[str, Any], action: str) -> bool:
    """Whether a statement is an unconditional Deny of `action`."""
    if statement.get("Effect") != "Deny" or statement.get("Condition"):
        return False
    if "NotAction" in statement:
        return not covers(statement["NotAction"], action)
    return covers(statement.get("Action"), action)


def on_every_resource(statement: Mapping[str, Any]) -> bool:
    return "*" in as_list(statement.get("Resource")) or "NotResource" in statement


def allowed_patterns(found: Iterable[Mapping[str, Any]]) -> list[str]:
    """The action patterns Allow statements name; a NotAction Allow counts as `*` (all but what it lists)."""
    patterns: list[str] = []
    for s in found:
        if s.get("Effect") == "Allow":
            patterns += ["*"] if "NotAction" in s else [str(p) for p in as_list(s.get("Action"))]
    return patterns


# The inline policy a `runs_live_audit` role holds: exactly the live audit's read-only actions (caseshield/audit).
LIVE_AUDIT_POLICY = "live-audit"


def beyond_live_audit(d: Document) -> list[str]:
    """What a `live-audit` policy allows beyond the actions the live checks declare (empty: exactly the audit's)."""
    from caseshield.audit.policy import actions

    declared = {a.lower() for a in actions()}
    return [p for p in allowed_patterns(d.statements or []) if p.lower() not in declared]


def denied_sids(found: Iterable[Mapping[str, Any]]) -> list[Any]:
    return [s.get("Sid") for s in found if s.get("Effect") == "Deny"]


def is_service_wide(pattern: str) -> bool:
    return pattern == "*" or pattern.endswith(":*")


def verb(action: str) -> str:
    return action.split(":", 1)[-1]


def data_actions(matrix: RoleMatrix) -> list[str]:
    """Every action the matrix grants on some data class, at some level."""
    return sorted({a for dc in matrix.actions for a in matrix.actions_for(dc, "manage")})


def data_grants(found: Iterable[Mapping[str, Any]], matrix: RoleMatrix, *, service_admin: bool = False) -> list[str]:
    """The matrix's data-class actions that Allow statements grant, literally or through a wildcard.

    With `service_admin` (a role the matrix says deploys infrastructure), whole-service wildcards (`s3:*`) are its
    deploy grant, not a data permission: what keeps a deployer from content is IAM-04's explicit denies."""
    universe = data_actions(matrix)
    granted: set[str] = set()
    for s in found:
        if s.get("Effect") != "Allow":
            continue
        if "NotAction" in s:
            granted.update(a for a in universe if grants(s, a))
            continue
        for pattern in as_list(s.get("Action")):
            if not (service_admin and is_service_wide(str(pattern))):
                granted.update(a for a in universe if covers(pattern, a))
    return sorted(granted)


def trust_kinds(found: Iterable[Mapping[str, Any]]) -> set[str]:
    """Who a trust policy lets in, in the matrix's terms: `oidc` (a federated web identity), `vendor` (an account
    that must present an ExternalId), `human` (an account's principals), or `service`/`anyone`."""
    kinds: set[str] = set()
    for s in found:
        if s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal")
        if isinstance(principal, Mapping) and principal.get("Federated"):
            kinds.add("oidc")
        elif isinstance(principal, Mapping) and principal.get("Service"):
            kinds.add("service")
        elif is_anyone(principal):
            kinds.add("anyone")
        elif any(key == EXTERNAL_ID for _, key, _ in conditions(s)):
            kinds.add("vendor")
        else:
            kinds.add("human")
    return kinds


def number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def at_least(minimum: float) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and v >= minimum


def between(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and low <= v <= high


def require(report: ReportViolation, resource: ResourceValidationArgs | PolicyResource, path: str, accepted: Any, *,
            expected: str) -> None:
    """`expect`, also waiting when an object on the way to the value is not known yet."""
    if not unknown_along(resource.props, path):
        expect(report, resource, path, accepted, expected=expected)


def tested(statement: Mapping[str, Any], operators: Iterable[str], key_matches: Callable[[str], bool],
           values_ok: Callable[[list[Any]], bool]) -> bool:
    """Whether the statement's Condition has a test with one of `operators` on a matching key whose values pass."""
    return any(op in operators and key_matches(key) and values and values_ok(values) for op, key, values in conditions(statement))


# --- IAM-01 ----------------------------------------------------------------------------------------------------------

@stack_rule("IAM-01")
def stack_has_exactly_the_matrix_roles(args: StackValidationArgs, report: ReportViolation) -> None:
    """The RoleMatrix component creates exactly the role matrix's roles: none missing, none added by hand.
    Implemented by components/identity.py (RoleMatrixRoles)."""
    matrix = load()
    components = of_type(args, ROLE_MATRIX)
    if not components:
        violation(report, "no RoleMatrix component: the stack's IAM roles are not generated from the role matrix",
                  path="type", actual=None, expected=ROLE_MATRIX)
        return
    found = matrix_roles(args)
    for name in sorted(set(matrix.roles) - set(found)):
        violation(report, f"matrix role {name} has no IAM role", path="name", actual=None,
                  expected=f"a role {components[0].name}-{name} under the RoleMatrix component", urn=components[0].urn)
    for name in sorted(set(found) - set(matrix.roles)):
        violation(report, f"{found[name].name} is not a role of the matrix", path="name", actual=name,
                  expected=f"one of {', '.join(sorted(matrix.roles))}", urn=found[name].urn)


@stack_rule("IAM-01")
def roles_are_trusted_as_the_matrix_says(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each matrix role's trust policy lets in only the kind of principal the matrix names (human, oidc or vendor).
    Implemented by components/identity.py (RoleMatrixRoles._trust_policy)."""
    matrix = load()
    for name, role in sorted(matrix_roles(args).items()):
        found = parsed(role.props.get("assumeRolePolicy"))
        if name not in matrix.roles or found is None:
            continue
        kinds = sorted(trust_kinds(found))
        if kinds != [matrix.roles[name].trust]:
            violation(report, f"{role.name}: trust policy does not admit what the matrix says", path="assumeRolePolicy",
                      actual=kinds, expected=f"only {matrix.roles[name].trust} principals", urn=role.urn)


@stack_rule("IAM-01")
def role_data_permissions_equal_the_matrix(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each matrix role's inline policies grant exactly the matrix's actions for the data classes it holds, and none for others.
    Implemented by components/identity.py (RoleMatrixRoles._permissions, data_class_statements)."""
    matrix = load()
    for name, role in sorted(matrix_roles(args).items()):
        spec = matrix.roles.get(name)
        if spec is None:
            continue
        documents = inline_documents(args, role)
        for data_class in sorted(set(spec.data) - {d.name for d in documents}):
            violation(report, f"{role.name}: no inline policy grants {data_class}, which the matrix gives it at "
                      f"{spec.data[data_class]} level", path="name", actual=sorted(str(d.name) for d in documents),
                      expected=f"a RolePolicy named {data_class}", urn=role.urn)
        for d in documents:
            if d.statements is None:
                continue
            if d.name in matrix.actions:
                check_data_class_policy(report, matrix, d, spec.data.get(d.name))
                continue
            if d.name == LIVE_AUDIT_POLICY and spec.runs_live_audit:  # configuration reads, e.g. rds:DescribeDBInstances
                if extra := beyond_live_audit(d):
                    violation(report, f"{role.name}: {d.name} allows more than the live audit reads", path=d.path,
                              actual=extra, expected="only the actions of `caseshield audit --print-policy`", urn=d.holder.urn)
                continue
            extra = data_grants(d.statements, matrix, service_admin=spec.deploys_infrastructure)
            if extra:
                violation(report, f"{role.name}: {d.name or d.path} grants data-class actions outside the role's data-class "
                          "policies", path=d.path, actual=extra, expected="no data-class action", urn=d.holder.urn)


def check_data_class_policy(report: ReportViolation, matrix: RoleMatrix, d: Document, level: str | None) -> None:
    """A data-class policy grants the level's actions, its key and (for a database) its login; nothing else."""
    if level is None:
        violation(report, f"{d.holder.name}: grants {d.name}, which the matrix does not give the role", path="name",
                  actual=d.name, expected="a data class the role holds", urn=d.holder.urn)
        return
    assert d.statements is not None
    expected = matrix.actions_for(d.name, level)
    login = [DATABASE_LOGIN] if sources_of_type(d.holder, d.prop, RDS_INSTANCE) else []
    allowed = {a.lower() for a in [*expected, *(KEY_READ_USE if level == "read" else KEY_WRITE_USE), *login]}
    extra = [p for p in allowed_patterns(d.statements) if p.lower() not in allowed]
    if extra:
        violation(report, f"{d.holder.name}: grants actions the matrix does not give {level} on {d.name}", path=d.path,
                  actual=extra, expected=f"only {', '.join(expected)} (and the class's key use)", urn=d.holder.urn)
    missing = [a for a in expected if not any(grants(s, a) for s in d.statements)]
    if missing:
        violation(report, f"{d.holder.name}: lacks actions the matrix gives {level} on {d.name}", path=d.path,
                  actual=missing, expected="every action of the level granted", urn=d.holder.urn)


# --- effective access of the matrix's grants (issue 14): probes, both ways ------------------------------------------
#
# A data-class policy proves what it grants by answering requests (caseshield.iam_analysis.may), not by the
# statements it holds: the role may use its class's key and log in as its level's database user (the purpose of the
# grant, from the matrix), and it may do nothing of its class on anything else (another class's key, a key of
# another account, another database user, another resource of the service). The resources come from the stack (its
# classified keys and databases), never from the document judged.

# "Somewhere else" for the must-deny probes: a resource of another account (the role matrix's OTHER_ACCOUNT, AWS's
# documentation example), under a name no policy of the blueprint uses.
ELSEWHERE = "caseshield-probe-elsewhere"
KEY_ARN = re.compile(r"arn:([a-z-]+):kms:([a-z0-9-]+):(\d{12}):key/")
# A policy that allows everything: a segregation-of-duties policy is judged on what it denies whatever is granted.
ALLOW_EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def known_arns(resources: Iterable[PolicyResource]) -> list[str]:
    return [arn for r in resources if isinstance(arn := peek(r.props, "arn"), str) and not is_unknown(arn)]


def class_keys(args: StackValidationArgs, data_class: str) -> list[str]:
    """The known ARNs of the stack's keys classified as `data_class`."""
    return known_arns(classified_as(args, data_class, KMS_KEY))


def key_elsewhere(args: StackValidationArgs) -> str:
    """A key of another account, in the partition and region of the stack's keys: a key policy there may grant our
    roles, so only our policies' own scope (and denies) keep them from it."""
    found = next((m for arn in known_arns(of_type(args, KMS_KEY)) if (m := KEY_ARN.match(arn))), None)
    partition, region = (found.group(1), found.group(2)) if found else ("aws", "us-east-1")
    return f"arn:{partition}:kms:{region}:{OTHER_ACCOUNT}:key/{ELSEWHERE}"


def database_user_prefixes(args: StackValidationArgs, data_class: str) -> list[str]:
    """`arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>` of each known database classified as the class."""
    found = []
    for db in classified_as(args, data_class, RDS_INSTANCE):
        arn, resource_id = peek(db.props, "arn"), peek(db.props, "resourceId")
        if isinstance(arn, str) and isinstance(resource_id, str) and not is_unknown(arn) and not is_unknown(resource_id):
            partition, region, account = arn.split(":")[1], arn.split(":")[3], arn.split(":")[4]
            found.append(f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}")
    return found


def elsewhere_resource(action: str, key: str) -> str:
    """A resource of the action's service that belongs to no data class of the stack (another account's)."""
    partition, region = key.split(":")[1], key.split(":")[3]
    service = action.split(":", 1)[0].lower()
    if service == "s3":
        return f"arn:{partition}:s3:::{ELSEWHERE}/{ELSEWHERE}"
    return f"arn:{partition}:{service}:{region}:{OTHER_ACCOUNT}:{ELSEWHERE}"


def asks(statements: Iterable[Mapping[str, Any]], role: PolicyResource) -> Callable[[str, str], bool]:
    """`may(action, resource)` for a principal holding exactly `statements` (no boundary: the document's own answer)."""
    from caseshield.iam_analysis import may

    arn = peek(role.props, "arn")  # (only a condition on aws:PrincipalArn would read it; data-class grants have none)
    principal = {"arn": arn if isinstance(arn, str) and not is_unknown(arn) else f"arn:aws:iam::000000000000:role/{role.name}",
                 "identity": list(statements), "boundary": None}
    return lambda action, resource: may(principal, action, resource)  # type: ignore[arg-type]


def class_documents(args: StackValidationArgs, matrix: RoleMatrix) -> Iterator[tuple[PolicyResource, str, str, Document]]:
    """(role, data class, level, its data-class policy) for every class a matrix role holds and whose policy is known;
    when some is not known yet, the rule stops after judging the others (judged once known, never a pass)."""
    unknown = False
    for name, role in sorted(matrix_roles(args).items()):
        held = matrix.roles[name].data if name in matrix.roles else {}
        for d in inline_documents(args, role):
            if isinstance(d.name, str) and d.name in held:
                unknown |= d.statements is None
                if d.statements is not None:
                    yield role, d.name, held[d.name], d
    if unknown:
        judged_later("policy")


def key_use(level: str) -> tuple[str, ...]:
    return KEY_READ_USE if level == "read" else KEY_WRITE_USE


@stack_rule("IAM-01")
def data_class_policies_let_the_role_use_its_key_and_database_user(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data-class policy lets its role use the class's key as its level needs (decrypt, generate data keys,
    describe; writers also encrypt) and, for a class kept in a database, log in as the level's database user
    (the matrix's `database_users`), judged by asking the policy: a grant the matrix gives and the policy refuses is
    a matrix the stack does not implement (a reader who cannot decrypt reads nothing).
    Implemented by components/identity.py (data_class_statements)."""
    matrix = load()
    for role, data_class, level, d in class_documents(args, matrix):
        ask = asks(d.statements or [], role)
        keys = class_keys(args, data_class)
        missing = [a for a in key_use(level) if keys and not any(ask(a, k) for k in keys)]
        missing += [f"{DATABASE_LOGIN} as {prefix}/{matrix.database_users[level]}"
                    for prefix in database_user_prefixes(args, data_class)
                    if not ask(DATABASE_LOGIN, f"{prefix}/{matrix.database_users[level]}")]
        if missing:
            violation(report, f"{role.name}: {data_class} policy refuses what the matrix's {level} access needs", path=d.path,
                      actual=missing, expected=f"the {data_class} key's use and the {level} database user allowed", urn=d.holder.urn)


@stack_rule("IAM-01")
def live_auditors_may_run_the_live_audit(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each role the matrix marks `runs_live_audit` may call every action the live audit's checks declare
    (`caseshield audit --print-policy`), judged by asking its inline policies: an auditor that cannot read what
    the audit checks runs a blind audit (SecurityAudit lacks some of them, e.g. macie2:GetMacieSession).
    Implemented by components/identity.py (RoleMatrixRoles._permissions, live_audit_document)."""
    from caseshield.audit.policy import actions

    matrix = load()
    for name, role in sorted(matrix_roles(args).items()):
        if name not in matrix.roles or not matrix.roles[name].runs_live_audit:
            continue
        documents = inline_documents(args, role)
        if any(d.statements is None for d in documents):
            judged_later("policy")
        ask = asks([s for d in documents for s in d.statements or []], role)
        missing = [a for a in actions() if not ask(a, "*")]
        if missing:
            violation(report, f"{role.name}: may not run the live audit", path="policy", actual=missing,
                      expected=f"an inline policy {LIVE_AUDIT_POLICY} allowing every action of `caseshield audit --print-policy`",
                      urn=role.urn)


def expected_managed_policies(spec: Any) -> set[str]:
    """The AWS managed policies the matrix names for a role, and AdministratorAccess for its administrator."""
    return {*spec.managed_policies, *([ADMINISTRATOR_POLICY] if spec.administrator else [])}


@stack_rule("IAM-01")
def roles_carry_the_managed_policies_the_matrix_names(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each matrix role has exactly the AWS managed policies the matrix names for it attached (SecurityAudit for the
    auditors, AmazonSSMReadOnlyAccess for IT operations) and AdministratorAccess if it is the matrix's administrator:
    a missing one is a duty the role cannot do (a break-glass role that cannot administer is no emergency path),
    an extra one is access nobody approved.
    Implemented by components/identity.py (managed_policy_names)."""
    matrix = load()
    for name, role in sorted(matrix_roles(args).items()):
        spec = matrix.roles.get(name)
        if spec is None:
            continue
        found = attachments(args, role)
        if any(is_unknown(a.arn) for a in found):
            judged_later("policyArn")
        held = {n for a in found if (n := a.aws_managed_name) is not None}
        expected = expected_managed_policies(spec)
        if held != expected:
            violation(report, f"{role.name}: managed policies differ from the matrix", path="policyArn",
                      actual={"missing": sorted(expected - held), "extra": sorted(held - expected)},
                      expected=f"exactly {sorted(expected)}", urn=role.urn)


@stack_rule("IAM-01")
def role_sessions_last_no_longer_than_the_matrix_allows(args: StackValidationArgs, report: ReportViolation) -> None:
    """People's and the pipeline's role sessions (maxSessionDuration) last at most the matrix's ceiling for their
    trust kind (`sessions.max_seconds`): a twelve-hour session lets a one-hour-old MFA sign-in, or a stolen CI
    session token, keep working for a day. (Vendor sessions are IAM-07's.)
    Implemented by components/identity.py (RoleMatrixRoles._role)."""
    matrix = load()
    for name, role in sorted(matrix_roles(args).items()):
        ceiling = matrix.session_max_seconds.get(matrix.roles[name].trust) if name in matrix.roles else None
        if ceiling is not None:
            require(report, role, "maxSessionDuration", lambda v, c=ceiling: v is None or between(900, c)(v),
                    expected=f"<= {ceiling} seconds (role matrix sessions.max_seconds.{matrix.roles[name].trust})")


# --- IAM-02 ----------------------------------------------------------------------------------------------------------

@stack_rule("IAM-02")
def human_roles_require_recent_mfa(args: StackValidationArgs, report: ReportViolation) -> None:
    """People assume a human role only with MFA that is present and no older than the matrix's maximum age.
    Implemented by components/identity.py (human_trust)."""
    matrix = load()
    max_age = matrix.mfa_max_age_seconds
    for role in roles_trusted_as(args, matrix, "human"):
        for index, s in enumerate(parsed(role.props.get("assumeRolePolicy")) or []):
            if s.get("Effect") != "Allow":
                continue
            path = f"assumeRolePolicy.Statement.{index}.Condition"
            if not tested(s, ("Bool",), MFA_PRESENT.__eq__, lambda vs: all(str(v).lower() == "true" for v in vs)):
                violation(report, f"{role.name}: may be assumed without MFA", path=path, actual=s.get("Condition"),
                          expected='Bool aws:MultiFactorAuthPresent "true"', urn=role.urn)
            if not tested(s, AGE_OPERATORS, MFA_AGE.__eq__, lambda vs: all((n := number(v)) is not None and n <= max_age for v in vs)):
                violation(report, f"{role.name}: accepts MFA of any age", path=path, actual=s.get("Condition"),
                          expected=f"NumericLessThanEquals aws:MultiFactorAuthAge <= {max_age}", urn=role.urn)


@stack_rule("IAM-02")
def human_roles_admit_only_the_people_the_matrix_names(args: StackValidationArgs, report: ReportViolation) -> None:
    """Nobody but the people the matrix names for a human role (`assumed_by`) may assume it, judged on the trust
    policy with its conditions evaluated: each principal it must refuse (`RoleMatrix.refused_principals`) asks to assume
    the role with a fresh MFA sign-in and must be refused. An account principal with sts:AssumeRole, another matrix
    role (the pipeline, the vendor) or a person named for another role would otherwise hold this role's access.
    Implemented by components/identity.py (human_trust, named_principal_arns)."""
    from caseshield.iam_analysis import admitted_outsiders

    matrix, roles = load(), matrix_roles(args)
    names = {n: v for n, r in roles.items() if isinstance(v := peek(r.props, "name"), str) and not is_unknown(v)}
    for name, role in sorted(roles.items()):
        trust, arn = parsed(role.props.get("assumeRolePolicy")), peek(role.props, "arn")
        if name not in matrix.roles or matrix.roles[name].trust != "human":
            continue
        if trust is None or not isinstance(arn, str) or is_unknown(arn):
            judged_later("assumeRolePolicy")
            continue
        admitted = admitted_outsiders(trust, arn, matrix.refused_principals(name, arn, names))
        if admitted:
            violation(report, f"{role.name}: admits principals the matrix does not name", path="assumeRolePolicy",
                      actual=admitted, expected=f"only {list(matrix.roles[name].assumed_by)} (ArnLike aws:PrincipalArn)",
                      urn=role.urn)


# --- IAM-03 ----------------------------------------------------------------------------------------------------------

@stack_rule("IAM-03")
def matrix_roles_carry_the_permissions_boundary(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every matrix role has a permissions boundary, and it is the one boundary policy of this stack.
    Implemented by components/identity.py (RoleMatrixRoles.boundary, boundary_document)."""
    for role in matrix_roles(args).values():
        if not peek(role.props, "permissionsBoundary"):
            violation(report, f"{role.name}: has no permissions boundary", path="permissionsBoundary", actual=None,
                      expected="the boundary policy's ARN", urn=role.urn)
        elif not sources_of_type(role, "permissionsBoundary", MANAGED_POLICY):
            violation(report, f"{role.name}: its boundary is not a policy of this stack", path="permissionsBoundary",
                      actual=peek(role.props, "permissionsBoundary"), expected="the ARN of the stack's boundary policy", urn=role.urn)
    found = boundary_policies(args)
    if len(found) > 1:
        violation(report, "matrix roles are capped by different boundaries", path="permissionsBoundary",
                  actual=sorted(p.name for p in found), expected="one boundary policy for every matrix role")


def pins_boundary(statement: Mapping[str, Any], boundary_arn: str, others: Iterable[str] = ()) -> bool:
    """Whether a Deny holds unless the request names this boundary: unconditional, or conditioned only on a
    StringNotEquals/ArnNotEquals test of `iam:PermissionsBoundary` whose values are `boundary_arn` and, at most,
    `others` (the service roles' boundaries, which IAM-12 proves contain whatever they cap)."""
    tests = conditions(statement)
    if not tests:
        return True
    accepted = {boundary_arn, *others}
    return all(op in BOUNDARY_PIN_OPERATORS and key == PERMISSIONS_BOUNDARY and boundary_arn in (named := {str(v) for v in values})
               and named <= accepted for op, key, values in tests)


def service_boundaries(args: StackValidationArgs) -> list[PolicyResource]:
    """The policies the boundaries of roles outside the matrix (the service roles) came from."""
    matrix = {r.urn for r in matrix_roles(args).values()}
    return unique(p for role in of_type(args, ROLE) if role.urn not in matrix
                  for p in sources_of_type(role, "permissionsBoundary", MANAGED_POLICY))


def denied_unless(found: Iterable[Mapping[str, Any]], action: str, accepts: Callable[[Mapping[str, Any]], bool]) -> bool:
    """Whether some Deny of `action` on every resource holds under conditions `accepts` allows."""
    return any(s.get("Effect") == "Deny" and on_every_resource(s) and
               (not covers(s["NotAction"], action) if "NotAction" in s else covers(s.get("Action"), action)) and accepts(s)
               for s in found)


def own_arn(policy: PolicyResource) -> str | None:
    """The end of the ARN a customer-managed policy gets from its name (`:policy/<name>`), as its document names
    it; None for a name not given (or not known)."""
    name = peek(policy.props, "name")
    return None if not isinstance(name, str) or is_unknown(name) else f":policy/{name}"


@stack_rule("IAM-03")
def permissions_boundary_denies_its_own_removal(args: StackValidationArgs, report: ReportViolation) -> None:
    """The boundary denies removing a role's boundary outright, and denies creating a role, or putting a boundary
    on one, unless the boundary named is this one: no capped role sheds it, and none the deployer creates lacks it.
    Implemented by components/identity.py (guardrail_statements: NoBoundaryIsEverRemoved, RolesOnlyUnderThisBoundary).

    A conditional Deny counts only when its one condition is StringNotEquals/ArnNotEquals `iam:PermissionsBoundary`
    = this policy's own ARN (any other condition can be sidestepped)."""
    for boundary in boundary_policies(args):
        found = parsed(boundary.props.get("policy"))
        suffix = own_arn(boundary) or ":policy/"  # a generated name: any policy ARN the document pins
        if found is None:
            continue
        arns = sorted({str(v) for s in found for op, key, values in conditions(s) if key == PERMISSIONS_BOUNDARY
                       for v in values if str(v).endswith(suffix) or (suffix == ":policy/" and suffix in str(v))})
        missing = [] if denied_unless(found, BOUNDARY_REMOVAL[0], lambda s: not s.get("Condition")) else [BOUNDARY_REMOVAL[0]]
        others = [str(v) for s in found for _, key, values in conditions(s) if key == PERMISSIONS_BOUNDARY for v in values
                  if any(str(v).endswith(o) for b in service_boundaries(args) if (o := own_arn(b)))]
        missing += [a for a in BOUNDARY_PINNED if not any(denied_unless(found, a, partial(pins_boundary, boundary_arn=arn, others=others))
                                                          for arn in arns or [""])]
        if missing:
            violation(report, f"{boundary.name}: roles it caps may remove or replace it, or create roles without it",
                      path="policy", actual=denied_sids(found),
                      expected=f"a Deny of {', '.join(missing)} (unconditional, or unless iam:PermissionsBoundary is this "
                               "boundary)", urn=boundary.urn)


@stack_rule("IAM-03")
def permissions_boundary_is_immutable_but_for_break_glass(args: StackValidationArgs, report: ReportViolation) -> None:
    """The boundary denies editing itself (a new or default version, deleting it) to every role but the matrix's
    administrator: the deployer can no longer rewrite the guardrails that bind it.
    Implemented by components/identity.py (guardrail_statements, BoundaryIsImmutable).

    The Deny must name this policy (or "*") and may be conditioned only on ArnNotEquals `aws:PrincipalArn` of the
    matrix's administrator roles."""
    matrix = load()
    roles = matrix_roles(args)
    exempt = {str(peek(roles[r.name].props, "name")) for r in matrix.roles.values() if r.administrator and r.name in roles}
    for boundary in boundary_policies(args):
        found = parsed(boundary.props.get("policy"))
        suffix = own_arn(boundary) or ":policy/"
        if found is None:
            continue
        missing = [a for a in BOUNDARY_EDIT if not any(s.get("Effect") == "Deny" and covers(s.get("Action"), a)
                                                      and guards_policy(s, suffix, exempt) for s in found)]
        if missing:
            violation(report, f"{boundary.name}: roles it caps may edit the boundary itself", path="policy",
                      actual=denied_sids(found), expected=f"a Deny of {', '.join(missing)} on this policy for every "
                      "role but break-glass", urn=boundary.urn)


def guards_policy(statement: Mapping[str, Any], suffix: str, exempt: set[str]) -> bool:
    """Whether a Deny names the policy ending in `suffix` (or "*") and exempts at most the roles named `exempt`
    (ArnNotEquals aws:PrincipalArn)."""
    names_it = any(r == "*" or str(r).endswith(suffix) or (suffix == ":policy/" and suffix in str(r))
                   for r in as_list(statement.get("Resource")))
    return names_it and all(op == "ArnNotEquals" and key == PRINCIPAL_ARN and all(str(v).rsplit("/", 1)[-1] in exempt for v in values)
                            for op, key, values in conditions(statement))


@stack_rule("IAM-03")
def permissions_boundary_allows_everything_only_to_break_glass(args: StackValidationArgs, report: ReportViolation) -> None:
    """No Allow of the boundary reaches every action (`*`, `*:*`, a NotAction) unless it names only the matrix's
    administrator (`ArnEquals aws:PrincipalArn`): the deployer's ceiling is its deploy grant, never everything.
    Implemented by components/identity.py (boundary_document, BreakGlassCeiling)."""
    matrix = load()
    roles = matrix_roles(args)
    exempt = {str(peek(roles[r.name].props, "name")) for r in matrix.roles.values() if r.administrator and r.name in roles}
    for boundary in boundary_policies(args):
        for index, s in enumerate(parsed(boundary.props.get("policy")) or []):
            every = "NotAction" in s or any(p in ("*", "*:*") for p in as_list(s.get("Action")))
            named = [str(v).rsplit("/", 1)[-1] for op, key, values in conditions(s) if op == "ArnEquals" and key == PRINCIPAL_ARN
                     for v in values]
            if s.get("Effect") == "Allow" and every and not (named and set(named) <= exempt and len(conditions(s)) == 1):
                violation(report, f"{boundary.name}: allows every action to more than break-glass",
                          path=f"policy.Statement.{index}", actual=s.get("Condition"),
                          expected="ArnEquals aws:PrincipalArn naming only the administrator role", urn=boundary.urn)


# --- IAM-04 ----------------------------------------------------------------------------------------------------------

# The inline policy each constrained role holds its segregation-of-duties denies in (components/identity.py writes it
# from the matrix's constraints; nobody under the boundary may change it, and MON-05 pages on any write to it). The
# constraints are judged on it alone: a deny that only another policy holds (the key-administration grant's) is not
# watched as the constraint's, and goes when that grant is rewritten.
SOD_POLICY = "segregation-of-duties"


def sod_document(args: StackValidationArgs, role: PolicyResource) -> Document | None:
    return next((d for d in inline_documents(args, role) if d.name == SOD_POLICY), None)


def sod_refusals(args: StackValidationArgs, role: PolicyResource, c: Constraint,
                 probes: Callable[[], list[tuple[str, str]]], report: ReportViolation) -> list[str] | None:
    """The probes (action, resource) the role's segregation-of-duties policy, over a grant of everything, fails to
    refuse; None (after reporting) when the role has no such policy."""
    d = sod_document(args, role)
    if d is None:
        violation(report, f"{role.name}: {c.id}: has no {SOD_POLICY} policy", path="name",
                  actual=sorted(str(x.name) for x in inline_documents(args, role)),
                  expected=f"a RolePolicy named {SOD_POLICY} holding the constraint's denies", urn=role.urn)
        return None
    if d.statements is None:
        judged_later("policy")
    ask = asks([ALLOW_EVERYTHING, *(d.statements or [])], role)
    return [f"{a} on {r}" for a, r in probes() if ask(a, r)]


@stack_rule("IAM-04")
def roles_without_data_are_denied_key_use(args: StackValidationArgs, report: ReportViolation) -> None:
    """Roles the matrix keeps from all data (key administrators, the deployer) are refused encrypting, decrypting and
    generating data keys with every key (each key of the stack, and another account's) by their own
    segregation-of-duties policy, whatever they are granted: key policies can grant a role directly, so only an
    explicit Deny in the role's own policy holds. Judged by asking that policy.
    Implemented by components/identity.py (segregation_statements)."""
    matrix = load()
    roles = matrix_roles(args)
    keys = [*known_arns(of_type(args, KMS_KEY)), key_elsewhere(args)]
    for c in constraints(matrix, "no_data_access"):
        for role in (roles[n] for n in c.roles if n in roles):
            missing = sod_refusals(args, role, c, lambda: [(a, k) for a in KEY_CRYPTO for k in keys], report)
            if missing:
                violation(report, f"{role.name}: {c.id}: its {SOD_POLICY} policy does not refuse key use",
                          path="policy", actual=missing, expected=f'an unconditional Deny of {", ".join(KEY_CRYPTO)} on "*"',
                          urn=role.urn)


def content_actions(matrix: RoleMatrix, data_class: str) -> list[str]:
    """The class's matrix actions that touch content (not Describe*/List* configuration reads), and decrypting."""
    return [*(a for a in matrix.actions_for(data_class, "manage") if not verb(a).startswith(CONFIGURATION_VERBS)), CONTENT_KEY_ACTION]


# An object name no policy names: a request for some object of a class's bucket.
PROBE_OBJECT = "caseshield-probe-object"


def class_resources(args: StackValidationArgs, data_class: str) -> list[str]:
    """The known ARNs of the class's resources (its keys aside): resources classified as the class (a bucket also as
    some object in it), and the database master-user secrets RDS keeps under a key of the class."""
    found = []
    for r in classified_as(args, data_class, *{r.resource_type for r in args.resources} - {KMS_KEY}):
        arn = peek(r.props, "arn")
        if isinstance(arn, str) and not is_unknown(arn):
            found += [arn, f"{arn}/{PROBE_OBJECT}"] if r.resource_type == S3_BUCKET else [arn]
    for db in of_type(args, RDS_INSTANCE):
        if any(tag(k, CLASSIFICATION_TAG) == data_class for k in sources_of_type(db, "masterUserSecretKmsKeyId", KMS_KEY)):
            found += [peek(s, "secretArn") for s in as_list(peek(db.props, "masterUserSecrets")) if isinstance(s, Mapping)]
    return [a for a in found if isinstance(a, str) and a.startswith("arn:") and not is_unknown(a)]


def content_probes(args: StackValidationArgs, matrix: RoleMatrix, data_class: str) -> list[tuple[str, str]]:
    """Touching the class's content: each content action on each of the class's resources of its service,
    decrypting with each of its keys, and logging in to each of its databases as each of the matrix's database
    users (or anyone else)."""
    users = sorted({*matrix.database_users.values(), "caseshield_probe"})
    resources = class_resources(args, data_class)
    return [*((a, r) for a in content_actions(matrix, data_class)[:-1] for r in resources
              if r.split(":")[2] == a.split(":", 1)[0].lower()),
            *((CONTENT_KEY_ACTION, k) for k in class_keys(args, data_class)),
            *((DATABASE_LOGIN, f"{p}/{u}") for p in database_user_prefixes(args, data_class) for u in users)]


@stack_rule("IAM-04")
def excluded_roles_are_denied_case_content(args: StackValidationArgs, report: ReportViolation) -> None:
    """Roles a constraint keeps from data classes (CI, vendor, IT operations) are refused their content by their own
    segregation-of-duties policy, whatever they are granted: every content action on each of the class's resources
    (its classified resources, the database secrets kept under its key), decrypting with each of its keys, and
    logging in to its database as any user, judged by asking that policy over a grant of everything.
    Implemented by components/identity.py (segregation_statements, content_denies)."""
    matrix = load()
    roles = matrix_roles(args)
    for c in constraints(matrix, "no_access_to"):
        for role in (roles[n] for n in c.roles if n in roles):
            for data_class in c.data_classes:
                missing = sod_refusals(args, role, c, partial(content_probes, args, matrix, data_class), report)
                if missing is None:
                    break
                if missing:
                    violation(report, f"{role.name}: {c.id}: {data_class} content is not refused by its {SOD_POLICY} policy",
                              path="policy", actual=missing, expected=f"an unconditional Deny on the {data_class} resources, "
                              "its keys and its database users", urn=role.urn)


def case_data_classes(matrix: RoleMatrix) -> list[str]:
    """The classes the matrix's no_access_to constraints protect: case data."""
    return sorted({d for c in constraints(matrix, "no_access_to") for d in c.data_classes})


def case_content_probes(args: StackValidationArgs, data_class: str) -> list[tuple[str, str]]:
    """Each case-content action of policies/floors.yaml on each of the class's resources of its service (decrypting
    on its keys, logging in as any database user of its databases)."""
    from policies.floors import floor

    actions = [str(a) for a in floor("case_content_actions")]
    resources = class_resources(args, data_class)
    found = [(a, r) for a in actions for r in resources if r.split(":")[2] == a.split(":", 1)[0].lower()]
    found += [(a, k) for a in actions if a.lower() == CONTENT_KEY_ACTION.lower() for k in class_keys(args, data_class)]
    found += [(a, f"{p}/caseshield_probe") for a in actions if a.lower() == DATABASE_LOGIN.lower()
              for p in database_user_prefixes(args, data_class)]
    return found


@stack_rule("IAM-01")
def managed_policies_reach_no_case_data_the_matrix_withholds(args: StackValidationArgs, report: ReportViolation) -> None:
    """No AWS managed policy of a matrix role grants the content of a case-data class the matrix does not give the
    role (the classes its no_access_to constraints protect): each case-content action of policies/floors.yaml on each
    of the class's resources, decrypting with its keys and logging in to its database, asked of the managed policy's
    own document (the dated copy of caseshield/aws_managed.py). Judged on the managed policy, since it is chosen for
    what it grants: ReadOnlyAccess on the security auditor reads every case document (s3:GetObject on *), whatever a
    bucket or key policy refuses later. Administrator roles are IAM-05's.
    Implemented by components/identity.py (RoleMatrixRoles._permissions, the matrix's managed_policies)."""
    from caseshield import aws_managed
    from caseshield.iam_analysis import applies

    matrix = load()
    probes = {c: case_content_probes(args, c) for c in case_data_classes(matrix)}  # the same for every role
    for name, role in sorted(matrix_roles(args).items()):
        spec = matrix.roles.get(name)
        if spec is None or spec.administrator:
            continue
        for a in attachments(args, role):
            managed = a.aws_managed_name
            if managed is None or is_unknown(a.arn):
                continue
            doc = aws_managed.document(managed)
            if doc is None:
                violation(report, f"{role.name}: {managed} is not in the dated copy of AWS managed policies, so what it "
                          "grants cannot be judged", path=a.prop, actual=a.arn,
                          expected="an AWS managed policy caseshield/aws_managed.py knows", urn=a.holder.urn)
                continue
            found = statements(doc)
            for data_class in [c for c in probes if c not in spec.data]:
                reached = [f"{action} on {resource}" for action, resource in probes[data_class]
                           if any(applies(s, "Allow", action, resource, {}) for s in found)
                           and not any(applies(s, "Deny", action, resource, {}) for s in found)]
                if reached:
                    violation(report, f"{role.name}: {managed} reaches {data_class} content, which the matrix does not "
                              "give the role", path=a.prop, actual=reached[:5],
                              expected=f"managed policies that touch no {data_class} content "
                              f"(AWS's document as of {aws_managed.updated(managed)})", urn=a.holder.urn)


@stack_rule("IAM-04")
def segregation_of_duties_policies_only_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    """A constrained role's segregation-of-duties policy holds only Deny statements: an Allow there grants what the
    constraint exists to refuse, in the one policy nobody but break-glass may change (and MON-05 watches as a deny).
    Implemented by components/identity.py (segregation_statements)."""
    matrix = load()
    roles = matrix_roles(args)
    named = sorted({n for c in matrix.constraints if c.rule in ("no_data_access", "no_access_to") for n in c.roles})
    unknown = False
    for role in (roles[n] for n in named if n in roles):
        d = sod_document(args, role)
        unknown |= d is not None and d.statements is None
        allows = [s.get("Sid", index) for index, s in enumerate(d.statements or []) if s.get("Effect") != "Deny"] if d else []
        if allows:
            violation(report, f"{role.name}: its {SOD_POLICY} policy allows", path=d.path if d else "policy", actual=allows,
                      expected="only Deny statements", urn=d.holder.urn if d else role.urn)
    if unknown:
        judged_later("policy")


def is_read_action(pattern: str) -> bool:
    """Whether an action pattern can only name actions that change nothing (`s3:Get*` yes, `s3:*` no)."""
    return pattern in READ_KEY_USE or verb(pattern).startswith(READ_VERBS)


@stack_rule("IAM-04")
def auditors_hold_only_read_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """Read-only roles (the security auditor) hold no action that changes anything, inline or through managed policies.
    Implemented by components/identity.py (RoleMatrixRoles._permissions) and the matrix's managed_policies."""
    matrix = load()
    roles = matrix_roles(args)
    for c in constraints(matrix, "read_only"):
        for role in (roles[n] for n in c.roles if n in roles):
            for a in attachments(args, role):
                documents = a.customer_documents()
                if not documents and not is_unknown(a.arn) and a.aws_managed_name not in READ_ONLY_MANAGED_POLICIES:
                    violation(report, f"{role.name}: {c.id}: holds a managed policy not known to be read-only", path=a.prop,
                              actual=a.arn, expected=f"one of {', '.join(READ_ONLY_MANAGED_POLICIES)}", urn=a.holder.urn)
                for d in documents:
                    report_writes(report, role, c, d)
            for d in inline_documents(args, role):
                report_writes(report, role, c, d)


def report_writes(report: ReportViolation, role: PolicyResource, c: Constraint, d: Document) -> None:
    writes = [p for p in allowed_patterns(d.statements or []) if not is_read_action(p)]
    if writes:
        violation(report, f"{role.name}: {c.id}: {d.name or d.holder.name} allows actions that change things", path=d.path,
                  actual=writes, expected=f"only {', '.join(READ_VERBS)} actions", urn=d.holder.urn)


# --- IAM-05 ----------------------------------------------------------------------------------------------------------

def grants_everything(statement: Mapping[str, Any]) -> bool:
    """An Allow of every action (`*`, `*:*`, or all but a NotAction list) on every resource."""
    every = "NotAction" in statement or any(p in ("*", "*:*") for p in as_list(statement.get("Action")))
    return statement.get("Effect") == "Allow" and every and on_every_resource(statement)


@stack_rule("IAM-05")
def only_break_glass_holds_administrator_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """No role but the matrix's administrator (break-glass) holds AdministratorAccess or an Allow of * on *.
    Implemented by components/identity.py (managed_policy_names) and every component that creates a role."""
    matrix = load()
    roles = matrix_roles(args)
    allowed = {roles[r.name].urn for r in matrix.roles.values() if r.administrator and r.name in roles}
    for role in of_type(args, ROLE):
        if role.urn in allowed:
            continue
        documents = inline_documents(args, role)
        for a in attachments(args, role):
            if a.aws_managed_name == ADMINISTRATOR_POLICY:
                violation(report, f"{role.name}: has AdministratorAccess attached", path=a.prop, actual=a.arn,
                          expected="no administrator policy outside break-glass", urn=a.holder.urn)
            documents += a.customer_documents()
        for d in documents:
            for index, s in enumerate(d.statements or []):
                if grants_everything(s):
                    violation(report, f"{role.name}: {d.holder.name} allows every action on every resource",
                              path=f"{d.path}.Statement.{index}", actual=s.get("Action", s.get("NotAction")),
                              expected="no administrator statement outside break-glass", urn=d.holder.urn)


# --- IAM-06 ----------------------------------------------------------------------------------------------------------

@stack_rule("IAM-06")
def account_password_policy_is_strict(args: StackValidationArgs, report: ReportViolation) -> None:
    """The account has a password policy of 14+ characters of every class, no reuse of 24, and a 90-day maximum age.
    Implemented by components/identity.py (AccountGuardrails.password_policy)."""
    found = of_type(args, PASSWORD_POLICY)
    if not found:
        violation(report, "no account password policy: IAM users would get AWS's weak default", path="type", actual=None,
                  expected=PASSWORD_POLICY)
    for policy in found:
        require(report, policy, "minimumPasswordLength", at_least(PASSWORD_MIN_LENGTH), expected=f">= {PASSWORD_MIN_LENGTH}")
        for flag in PASSWORD_CHARACTER_CLASSES:
            require(report, policy, flag, (True,), expected="true")
        require(report, policy, "passwordReusePrevention", at_least(PASSWORD_REUSE_PREVENTION),
               expected=f">= {PASSWORD_REUSE_PREVENTION}")
        require(report, policy, "maxPasswordAge", between(1, PASSWORD_MAX_AGE_DAYS), expected=f"1-{PASSWORD_MAX_AGE_DAYS} days")


# --- IAM-07 ----------------------------------------------------------------------------------------------------------

@stack_rule("IAM-07")
def vendor_sessions_are_short(args: StackValidationArgs, report: ReportViolation) -> None:
    """Vendor roles' sessions last at most four hours.
    Implemented by components/identity.py (RoleMatrixRoles._role, vendorSessionHours)."""
    for role in roles_trusted_as(args, load(), "vendor"):
        require(report, role, "maxSessionDuration", lambda v: v is None or between(DEFAULT_SESSION_SECONDS, VENDOR_MAX_SESSION_SECONDS)(v),
               expected=f"<= {VENDOR_MAX_SESSION_SECONDS} seconds")


@stack_rule("IAM-07")
def vendor_trust_requires_an_external_id(args: StackValidationArgs, report: ReportViolation) -> None:
    """Vendor roles admit the vendor only with an exact sts:ExternalId (StringEquals, no wildcard).
    Implemented by components/identity.py (vendor_trust); SEC-01 proves the ExternalId is generated."""
    for role in roles_trusted_as(args, load(), "vendor"):
        for index, s in enumerate(parsed(role.props.get("assumeRolePolicy")) or []):
            exact = tested(s, ("StringEquals",), EXTERNAL_ID.__eq__,
                           lambda vs: all(isinstance(v, str) and v and not WILDCARD.search(v) for v in vs))
            if s.get("Effect") == "Allow" and not exact:
                # The ExternalId is a secret: the evidence names the tests, never their values.
                violation(report, f"{role.name}: the vendor may assume it without our exact ExternalId",
                          path=f"assumeRolePolicy.Statement.{index}.Condition", actual=[f"{o} {k}" for o, k, _ in conditions(s)],
                          expected="StringEquals sts:ExternalId <generated value>", urn=role.urn)


# --- IAM-08 ----------------------------------------------------------------------------------------------------------

@resource_rule("IAM-08", ROLE)
def ci_trust_pins_one_oidc_subject(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Web-identity trust names one exact OIDC subject (StringEquals `:sub`, no wildcard) and the STS audience.
    Implemented by components/identity.py (oidc_trust, ciOidcSubject)."""
    for index, s in enumerate(parsed(args.props.get("assumeRolePolicy")) or []):
        principal = s.get("Principal")
        if not (isinstance(principal, Mapping) and principal.get("Federated") and grants(s, WEB_IDENTITY)):
            continue
        path = f"assumeRolePolicy.Statement.{index}.Condition"
        if not tested(s, ("StringEquals",), lambda k: k.endswith(":sub"),
                      lambda vs: all(isinstance(v, str) and v and not WILDCARD.search(v) for v in vs)):
            violation(report, "CI trust admits more than one exact OIDC subject", path=path, actual=s.get("Condition"),
                      expected="StringEquals <issuer>:sub <one repository and environment>")
        if not tested(s, ("StringEquals",), lambda k: k.endswith(":aud"), lambda vs: [str(v) for v in vs] == [OIDC_AUDIENCE]):
            violation(report, "CI trust does not require the STS audience", path=path, actual=s.get("Condition"),
                      expected=f"StringEquals <issuer>:aud {OIDC_AUDIENCE}")


@stack_rule("IAM-08")
def no_long_lived_iam_credentials(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stack creates no IAM user, access key, login profile or other standing credential.
    Implemented by components/identity.py (roles only; the boundary also denies creating them)."""
    for resource in of_type(args, *LONG_LIVED_CREDENTIALS):
        violation(report, f"{resource.name}: a standing IAM credential", path="type", actual=resource.resource_type,
                  expected="roles assumed with MFA, OIDC or an ExternalId", urn=resource.urn)


# --- IAM-09 ----------------------------------------------------------------------------------------------------------

@stack_rule("IAM-09")
def access_analyzer_watches_the_account(args: StackValidationArgs, report: ReportViolation) -> None:
    """An IAM Access Analyzer reports resource policies that grant access from outside the account.
    Implemented by components/identity.py (AccountGuardrails.access_analyzer)."""
    analyzers = of_type(args, ACCESS_ANALYZER)
    kinds = [a.props.get("type", "ACCOUNT") for a in analyzers]
    if not any(k in EXTERNAL_ACCESS_ANALYZERS or is_unknown(k) for k in kinds):
        violation(report, "no IAM Access Analyzer watches for external access", path="type", actual=kinds,
                  expected=f"an analyzer of type {' or '.join(EXTERNAL_ACCESS_ANALYZERS)}")


# --- IAM-10 ----------------------------------------------------------------------------------------------------------

@resource_rule("IAM-10", USER_POOL)
def user_pool_requires_totp_mfa(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every application sign-in needs a TOTP second factor (MFA ON, software tokens enabled).
    Implemented by components/user_directory.py (UserDirectory._user_pool)."""
    require(report, args, "mfaConfiguration", ("ON",), expected="ON")
    require(report, args, "softwareTokenMfaConfiguration.enabled", (True,), expected="true")


@resource_rule("IAM-10", USER_POOL)
def user_pool_enforces_threat_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Threat protection blocks risky sign-ins and compromised credentials (advanced security ENFORCED).
    Implemented by components/user_directory.py (UserDirectory._user_pool)."""
    require(report, args, "userPoolAddOns.advancedSecurityMode", ("ENFORCED",), expected="ENFORCED")


@resource_rule("IAM-10", USER_POOL)
def user_pool_admits_only_invited_users(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Only administrators create accounts: nobody signs themselves up to the case-management system.
    Implemented by components/user_directory.py (UserDirectory._user_pool)."""
    require(report, args, "adminCreateUserConfig.allowAdminCreateUserOnly", (True,), expected="true")


@resource_rule("IAM-10", USER_POOL)
def user_pool_passwords_are_strong(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Application passwords have 14+ characters of every class, no reuse of 24, and invitations lapse in a day.
    Implemented by components/user_directory.py (UserDirectory._user_pool, PASSWORD_*)."""
    require(report, args, "passwordPolicy.minimumLength", at_least(PASSWORD_MIN_LENGTH), expected=f">= {PASSWORD_MIN_LENGTH}")
    for flag in USER_POOL_CHARACTER_CLASSES:
        require(report, args, f"passwordPolicy.{flag}", (True,), expected="true")
    require(report, args, "passwordPolicy.passwordHistorySize", at_least(PASSWORD_REUSE_PREVENTION),
           expected=f">= {PASSWORD_REUSE_PREVENTION}")
    require(report, args, "passwordPolicy.temporaryPasswordValidityDays", between(1, TEMPORARY_PASSWORD_MAX_DAYS),
           expected=f"<= {TEMPORARY_PASSWORD_MAX_DAYS} day")


@resource_rule("IAM-10", USER_POOL)
def user_pool_is_deletion_protected_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod the user pool (every account and its MFA enrolment) refuses deletion.
    Implemented by components/user_directory.py (UserDirectory._user_pool, deletionProtection setting)."""
    if is_prod(args):
        require(report, args, "deletionProtection", ("ACTIVE",), expected="ACTIVE")


# --- IAM-11 ----------------------------------------------------------------------------------------------------------


@stack_rule("IAM-11")
def data_permissions_name_their_resources(args: StackValidationArgs, report: ReportViolation) -> None:
    """No role's inline policy allows a data-class action of the matrix on Resource "*", except the actions AWS
    authorizes only on "*" (IAM's definition lists no resource type for them: cloudtrail:LookupEvents).
    Implemented by components/identity.py (data_class_statements, DataClassScope.resource_arns).

    A literal action, a partial wildcard (`s3:Get*`) and a whole-service wildcard (`s3:*`) all count, except the
    service wildcards of the deployer's deploy grant: this rule proves only that grants name resources; whether the
    deployer can reach content through them is proven on its effective permissions by IAM-12 (escalation, destructive
    actions) and IAM-04 (content denies that bind it)."""
    matrix = load()
    roles = matrix_roles(args)
    deployers = {roles[r.name].urn for r in matrix.roles.values() if r.deploys_infrastructure and r.name in roles}
    auditors = {roles[r.name].urn for r in matrix.roles.values() if r.runs_live_audit and r.name in roles}
    for role in of_type(args, ROLE):
        for d in inline_documents(args, role):
            if role.urn in auditors and d.name == LIVE_AUDIT_POLICY and not beyond_live_audit(d):
                continue  # the audit's configuration reads on "*" (anything more is IAM-01's finding and this one's)
            for index, s in enumerate(d.statements or []):
                granted = data_grants([s], matrix, service_admin=role.urn in deployers) if on_every_resource(s) else []
                granted = [a for a in granted if not takes_only_star(a)]
                if granted:
                    violation(report, f"{role.name}: {d.name or d.holder.name} allows data-class actions on every resource",
                              path=f"{d.path}.Statement.{index}.Resource", actual=granted,
                              expected="the data class's own resource ARNs", urn=d.holder.urn)


@stack_rule("IAM-11")
def data_class_policies_reach_nothing_outside_their_class(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data-class policy, asked as IAM would, refuses its grants on anything outside its class: every action of
    the level (but those AWS authorizes only on "*") on another account's resource of the service, the key use on
    the other classes' keys and on another account's key, and the database login as any other database user (the
    other levels' users, someone else) or on another database. A key grant or a login widened to "*" would let the
    role decrypt every class or connect as the records manager.
    Implemented by components/identity.py (data_class_statements, DataClassScope)."""
    matrix = load()
    elsewhere_key = key_elsewhere(args)
    all_classes = sorted(matrix.actions)
    for role, data_class, level, d in class_documents(args, matrix):
        ask = asks(d.statements or [], role)
        keys = [*(k for other in all_classes if other != data_class for k in class_keys(args, other)), elsewhere_key]
        reached = [f"{a} on {k}" for a in key_use(level) for k in keys if ask(a, k)]
        reached += [f"{a} on {r}" for a in matrix.actions_for(data_class, level) if not takes_only_star(a)
                    and ask(a, r := elsewhere_resource(a, elsewhere_key))]
        prefixes = database_user_prefixes(args, data_class)
        others = sorted({u for u in matrix.database_users.values() if u != matrix.database_users.get(level)} | {"caseshield_probe"})
        users = [f"{p}/{u}" for p in prefixes for u in others]
        users += [f"{p.rsplit(':', 1)[0]}:db-{ELSEWHERE.upper().replace('-', '')}/{matrix.database_users.get(level)}" for p in prefixes]
        reached += [f"{DATABASE_LOGIN} as {u}" for u in users if ask(DATABASE_LOGIN, u)]
        if reached:
            violation(report, f"{role.name}: {data_class} policy reaches beyond its class", path=d.path, actual=reached,
                      expected=f"only the {data_class} resources, its key and the {level} database user", urn=d.holder.urn)


# --- IAM-12 ----------------------------------------------------------------------------------------------------------

KMS_KEY = "aws:kms/key:Key"
S3_BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACCOUNT_ARN = re.compile(r"arn:([a-z-]+):iam::(\d{12}):")
# AWS managed policies that grant no write (their content is AWS's; the analysis treats them as granting nothing it
# looks for). Any other AWS managed policy on a role makes its paths unknown, reported as such; AdministratorAccess
# is an Allow of everything.
NO_WRITE_MANAGED_POLICIES = (*READ_ONLY_MANAGED_POLICIES, "AmazonSSMReadOnlyAccess")
# The managed policy an attacker would attach, and the service a role would be passed to, in each question.
ATTACKER_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
# Actions whose `iam:PermissionsBoundary` is the boundary being set, not the one the role has: the attacker's own.
SETS_BOUNDARY = ("iam:putrolepermissionsboundary", "iam:createrole")
ATTACKER_BOUNDARY = "arn:aws:iam::123456789012:policy/attacker-boundary"
PASSED_TO = {"ec2": "ec2.amazonaws.com", "lambda": "lambda.amazonaws.com", "glue": "glue.amazonaws.com",
             "cloudformation": "cloudformation.amazonaws.com", "datapipeline": "datapipeline.amazonaws.com",
             "apprunner": "apprunner.amazonaws.com", "codebuild": "codebuild.amazonaws.com",
             "ecs": "ecs-tasks.amazonaws.com", "sagemaker": "sagemaker.amazonaws.com",
             "bedrock-agentcore": "bedrock-agentcore.amazonaws.com"}


@dataclass(frozen=True)
class Target:
    """One resource an action is tried on, the request context the attacker would choose, and its resource policy."""

    resource: str
    context: Mapping[str, str | None]
    policy: tuple[Mapping[str, Any], ...] = ()
    kms: bool = False


def statements_of(args: StackValidationArgs, role: PolicyResource) -> list[dict[str, Any]] | str:
    """Every identity-policy statement of a role (inline, customer managed, AWS managed by name); a reason string
    when some document is not known yet or an AWS managed policy's content is not known to this analysis."""
    found: list[dict[str, Any]] = []
    documents = inline_documents(args, role)
    for a in attachments(args, role):
        documents += a.customer_documents()
        name = a.aws_managed_name
        if name == ADMINISTRATOR_POLICY:
            found.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        elif name is not None and name not in NO_WRITE_MANAGED_POLICIES:
            return f"AWS managed policy {name}, whose content this analysis does not know"
    if any(d.statements is None for d in documents):
        return "a policy document not known until the update"
    return found + [s for d in documents for s in d.statements or []]


def data_resources(args: StackValidationArgs, type_: str, policy_type: str, prop: str) -> list[tuple[str, tuple[dict[str, Any], ...]]]:
    """(ARN, resource-policy statements) of each classified key or bucket of the stack whose ARN is known."""
    found = []
    for r in of_type(args, type_):
        arn = peek(r.props, "arn")
        if tag(r, CLASSIFICATION_TAG) is None or not isinstance(arn, str) or is_unknown(arn):
            continue
        if type_ == KMS_KEY:
            policy = tuple(parsed(r.props.get("policy")) or [])
        else:
            policy = tuple(s for p in belonging_to(args, r, policy_type, prop) for s in parsed(p.props.get("policy")) or [])
        found.append((arn, policy))
    return found


def protected_roles(matrix: RoleMatrix) -> list[str]:
    """The roles whose own IAM nobody but break-glass may change (the control's promise, from the matrix)."""
    named = {r for c in matrix.constraints if c.rule in ("no_data_access", "no_access_to") for r in c.roles}
    return sorted(named | {r.name for r in matrix.roles.values() if r.administrator or r.deploys_infrastructure})


@dataclass(frozen=True)
class Attack:
    """What an attacker holding one role aims each action at, in one stack (see IAM-12)."""

    partition: str
    account: str
    prefix: str
    roles: Mapping[str, PolicyResource]
    role_arns: Mapping[str, str]
    protected: list[str]
    targets_of: Mapping[str, tuple[str, ...]]
    boundaries: list[PolicyResource]
    keys: list[tuple[str, tuple[dict[str, Any], ...]]]
    buckets: list[tuple[str, tuple[dict[str, Any], ...]]]

    def iam_arn(self, kind: str, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:{kind}/{name}"

    def boundary_of(self, role: str) -> str | None:
        value = peek(self.roles[role].props, "permissionsBoundary")
        return str(value) if value and not is_unknown(value) else None

    def targets(self, role: str, action: str, service: str | None) -> list[Target]:
        """Every resource `action` is tried on for `role`, with the context the attacker would choose."""
        base: dict[str, str | None] = {"iam:passedtoservice": service, "kms:grantisforawsresource": "false",
                                       "iam:policyarn": ATTACKER_POLICY}
        found: list[Target] = []
        for kind in self.targets_of.get(action, ("anything",)):
            if kind in ("self", "protected", "matrix"):
                chosen = [role] if kind == "self" else self.protected if kind == "protected" else sorted(self.roles)
                found += [Target(self.role_arns[r], {**base, "iam:permissionsboundary": ATTACKER_BOUNDARY if action in SETS_BOUNDARY
                                                     else self.boundary_of(r)}) for r in chosen if r in self.role_arns]
            elif kind == "new-role":
                found.append(Target(self.iam_arn("role", f"{self.prefix}-escalation-probe"), {**base, "iam:permissionsboundary": None}))
            elif kind in ("new-user", "new-group"):
                found.append(Target(self.iam_arn(kind.removeprefix("new-"), f"{self.prefix}-escalation-probe"), base))
            elif kind == "boundary":
                found += [Target(self.iam_arn("policy", str(peek(b.props, "name"))), base) for b in self.boundaries]
            elif kind == "data-keys":
                found += [Target(arn, base, policy, kms=True) for arn, policy in self.keys]
            elif kind == "data-buckets":
                found += [Target(arn, base, policy) for arn, policy in self.buckets]
            else:
                found.append(Target("*", base))
        return found

    def reaches(self, principal: Any, role: str, action: str, service: str | None = None) -> bool:
        from caseshield.iam_analysis import may

        return any(may(principal, action, t.resource, t.context, resource_policy=t.policy, resource_policy_required=t.kms)
                   for t in self.targets(role, action.lower(), service))


def attack(args: StackValidationArgs, matrix: RoleMatrix, targets_of: Mapping[str, tuple[str, ...]]) -> Attack | None:
    """The stack's attack surface; None while the boundary or a role name is not known."""
    roles = matrix_roles(args)
    boundaries = boundary_policies(args)
    found = next((m for b in boundaries for m in ACCOUNT_ARN.finditer(str(b.props.get("policy")))), None)
    names = {n: peek(r.props, "name") for n, r in roles.items()}
    if found is None or not names or any(not isinstance(v, str) or is_unknown(v) for v in names.values()):
        return None
    partition, account = found.groups()
    return Attack(partition, account, str(next(iter(names.values()))).rsplit("-", 1)[0], roles,
                  {n: f"arn:{partition}:iam::{account}:role/{v}" for n, v in names.items()}, protected_roles(matrix),
                  targets_of, boundaries, data_resources(args, KMS_KEY, "", ""),
                  data_resources(args, S3_BUCKET, BUCKET_POLICY, "bucket"))


@stack_rule("IAM-12")
def no_role_but_break_glass_can_escalate(args: StackValidationArgs, report: ReportViolation) -> None:
    """No matrix role but break-glass has a privilege-escalation path or a destructive or blinding action, judged on
    its effective permissions: identity policies within the permissions boundary, less every explicit deny, with
    the data-class keys' and buckets' resource policies applied and conditions evaluated.
    Implemented by components/identity.py (boundary_document, guardrail_statements, deploy_statements) and
    components/keys.py (key policies).

    The paths are cloudsplaining's privilege-escalation methods plus the primitives and destructive actions of
    policies/escalation.yaml, each action tried where an attacker would aim it (`targets` there: the role itself,
    the protected roles, a new role without the boundary, the boundary policy, the data keys and buckets, ...) with
    the request context the attacker would choose (no boundary on a new role, AdministratorAccess to attach, a
    grant not for an AWS resource, the method's compute service as the passed-to service). A condition that pins
    the boundary, the passed-to service or AWS-resource grants therefore counts; a region or other condition does
    not. The roles escalation.yaml's `allowed` names keep those actions, each under the review and alarm stated
    there; a method is accepted when one of its actions is. Service roles outside the matrix carry AWS managed
    policies this offline analysis cannot read: they are judged granted everything, under their own boundary
    (`service_roles_cannot_be_turned_on_case_data`)."""
    from caseshield import escalation
    from caseshield.iam_analysis import Principal, escalation_methods

    matrix, limits = load(), escalation.load()
    surface = attack(args, matrix, limits.targets)
    if surface is None:
        judged_later("policy")
        return
    methods = {**escalation_methods(), **limits.primitives}
    pending = []
    for name, role in sorted(surface.roles.items()):
        spec = matrix.roles.get(name)
        identity = statements_of(args, role)
        if isinstance(identity, str) and "not known" in identity:
            pending.append(role.name)
        if spec is None or spec.administrator or (isinstance(identity, str) and "not known" in identity):
            continue
        if isinstance(identity, str):
            violation(report, f"{role.name}: its escalation paths cannot be judged: {identity}", path="policyArn",
                      actual=identity, expected="inline, customer managed or known read-only policies", urn=role.urn)
            continue
        boundary = [s for b in sources_of_type(role, "permissionsBoundary", MANAGED_POLICY) for s in parsed(b.props.get("policy")) or []]
        principal: Principal = {"arn": surface.role_arns[name], "identity": identity,
                                "boundary": boundary if peek(role.props, "permissionsBoundary") else None}
        kept = {a.lower() for a, holders in limits.allowed.items() if name in holders}
        for method, actions in sorted(methods.items()):
            service = next((PASSED_TO[a.split(":")[0]] for a in actions if a.split(":")[0] in PASSED_TO), None)
            if not kept & set(actions) and all(surface.reaches(principal, name, a, service) for a in actions):
                violation(report, f"{role.name}: can escalate by {method}", path="policy", actual=list(actions),
                          expected="an action of it denied, or pinned by a condition (boundary, passed-to service, "
                          "AWS-resource grant)", urn=role.urn)
        for action in limits.destructive():
            if action.lower() not in kept and surface.reaches(principal, name, action):
                violation(report, f"{role.name}: can {action} on case data, monitoring or keys", path="policy", actual=action,
                          expected="denied, or allowed to the role in policies/escalation.yaml", urn=role.urn)
    if pending:
        judged_later("policy")  # what is known is reported; the roles whose policies are not are judged at the update


# What a service role must never reach, granted everything under its boundary: content that only IAM guards (the
# data keys and classified buckets are asked with their own policies applied), and key administration.
CONTENT_BEHIND_IAM_ONLY = ("rds-db:connect", "secretsmanager:GetSecretValue", "dynamodb:GetItem", "dynamodb:Query",
                           "dynamodb:Scan", "dynamodb:ExportTableToPointInTime")
KEY_TAKEOVER = ("kms:PutKeyPolicy", "kms:CreateGrant", "kms:DisableKey", "kms:ScheduleKeyDeletion")
# AWS Backup's role backs up and expires case data by design; its trust admits only the Backup service.
BACKUP_SERVICE_ROLE = "backup"
EVERYTHING = ({"Effect": "Allow", "Action": "*", "Resource": "*"},)
# kms:ViaService of a call made to KMS itself (no service sets it).
DIRECT_CALL = "direct call to kms.amazonaws.com"


def service_role_reach(surface: Attack, principal: Any, short_name: str, content_classes: set[str],
                       classes: Mapping[str, str | None], destructive: Iterable[str]) -> list[str]:
    """What a service role granted everything still reaches under its boundary (see the IAM-12 rule below)."""
    from caseshield.iam_analysis import escalation_methods

    reached = [f"escalation by {m}" for m, actions in sorted(escalation_methods().items())
               if all(surface.reaches(principal, short_name, a) for a in actions)]
    reached += [f"{a} on {arn}" for arn, policy in surface.keys for a in KEY_TAKEOVER
                if surface_may(principal, a, arn, policy, kms=True)]
    if short_name == BACKUP_SERVICE_ROLE:
        return reached
    reached += [a for a in (*CONTENT_BEHIND_IAM_ONLY, *destructive) if surface_may(principal, a, "*", ())]
    # A direct decrypt (kms:ViaService is set by a service, never by the caller); what a service decrypts on the
    # caller's behalf is reached through that service's own actions, asked above (database login, secret values).
    reached += [f"kms:Decrypt with {arn}" for arn, policy in surface.keys if classes.get(arn) in content_classes
                and surface_may(principal, "kms:Decrypt", arn, policy, kms=True, via=DIRECT_CALL)]
    # An object of a class's bucket is encrypted with the class's key (DATA controls): reading it takes both, the
    # key through S3.
    readable_keys = {classes.get(arn) for arn, policy in surface.keys
                     if surface_may(principal, "kms:Decrypt", arn, policy, kms=True, via=f"s3.{arn.split(':')[3]}.amazonaws.com")}
    reached += [f"s3:GetObject in {arn}" for arn, policy in surface.buckets if classes.get(arn) in content_classes
                and classes.get(arn) in readable_keys and surface_may(principal, "s3:GetObject", f"{arn}/escalation-probe", policy)]
    return reached


def surface_may(principal: Any, action: str, resource: str, policy: Iterable[Mapping[str, Any]], kms: bool = False,
                via: str | None = None) -> bool:
    """`may`, with a grant not for an AWS resource and, for a key, the service the call comes through (`via`)."""
    from caseshield.iam_analysis import may

    context = {"kms:grantisforawsresource": "false", **({"kms:viaservice": via} if via else {})}
    return may(principal, action, resource, context, resource_policy=policy, resource_policy_required=kms)


@stack_rule("IAM-12")
def service_roles_cannot_be_turned_on_case_data(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every role outside the matrix (the service roles: instance profile, flow logs, RDS monitoring, Config,
    Backup, CloudTrail delivery) carries a permissions boundary under which a grant of everything ("*" on "*", the
    worst the deployer could put on it) reaches no privilege-escalation method, no key administration of a data key,
    no case content (database login, secret values, ledger items; the content classes' keys and buckets asked with
    their own policies applied) and none of policies/escalation.yaml's destructive actions. AWS Backup's role keeps
    content and the destructive actions: backing up and expiring recovery points is its work, and its trust admits
    only the Backup service. Implemented by components/service_roles.py (the service boundary) and
    components/identity.py (deploy_allows: the deployer changes service roles only under it)."""
    from caseshield import escalation

    matrix, limits = load(), escalation.load()
    surface = attack(args, matrix, limits.targets)
    if surface is None:
        judged_later("permissionsBoundary")
        return
    in_matrix = {r.urn for r in matrix_roles(args).values()}
    content = {dc for c in matrix.constraints if c.rule == "no_access_to" for dc in c.data_classes}
    classes = {str(peek(r.props, "arn")): tag(r, CLASSIFICATION_TAG) for t in (KMS_KEY, S3_BUCKET) for r in of_type(args, t)}
    for role in of_type(args, ROLE):
        name, arn = peek(role.props, "name"), peek(role.props, "arn")
        if role.urn in in_matrix:
            continue
        if not peek(role.props, "permissionsBoundary"):
            violation(report, f"{role.name}: a service role without a permissions boundary", path="permissionsBoundary",
                      actual=None, expected="the service boundary (components/service_roles.py)", urn=role.urn)
            continue
        boundary = [s for b in sources_of_type(role, "permissionsBoundary", MANAGED_POLICY) for s in parsed(b.props.get("policy")) or []]
        if not boundary or not isinstance(name, str) or is_unknown(name) or not isinstance(arn, str) or is_unknown(arn):
            judged_later("permissionsBoundary")
            continue
        principal = {"arn": arn, "identity": list(EVERYTHING), "boundary": boundary}
        reached = service_role_reach(surface, principal, name.removeprefix(f"{surface.prefix}-"), content, classes,
                                     limits.destructive())
        if reached:
            violation(report, f"{role.name}: granted everything, it could still reach {len(reached)} forbidden things",
                      path="permissionsBoundary", actual=reached[:20],
                      expected="a boundary that leaves a service role no IAM, key administration, case content or destruction",
                      urn=role.urn)


# --- IAM-13 ----------------------------------------------------------------------------------------------------------

# The policy documents the stack generates, by kind: where each lives and what parliament should read it as.
LINTED = ((ROLE_POLICY, "policy", "identity"), (ROLE, "assumeRolePolicy", "trust"), (MANAGED_POLICY, "policy", "identity"),
          (KMS_KEY, "policy", "key"), (BUCKET_POLICY, "policy", "bucket"))
# parliament's severities that fail (above low).
FAILING_SEVERITIES = ("MEDIUM", "HIGH", "CRITICAL")


def linted_documents(args: StackValidationArgs) -> tuple[dict[str, tuple[PolicyResource, str, str]], dict[str, str], list[str]]:
    """(key -> (resource, property, kind), key -> document text, resources whose document is not known yet)."""
    holders: dict[str, tuple[PolicyResource, str, str]] = {}
    texts: dict[str, str] = {}
    pending = []
    boundaries = {b.urn for b in boundary_policies(args)}
    for type_, prop, kind in LINTED:
        for r in of_type(args, type_):
            value = reveal(peek(r.props, prop))
            if value is None:
                continue
            if is_unknown(value) or document(value) is None:
                pending.append(r.name)
                continue
            key = f"{r.urn}#{prop}"
            holders[key] = (r, prop, "boundary" if r.urn in boundaries else kind)
            texts[key] = value if isinstance(value, str) else json.dumps(plain(value))
    return holders, texts, pending


@stack_rule("IAM-13")
def generated_policies_pass_parliament(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every identity, trust, boundary, key and bucket policy the stack generates passes parliament with no finding
    above low, nor one policies/escalation.yaml raises (an unknown action or condition key: a Deny naming a
    misspelled action denies nothing). parliament runs in its own tool environment (caseshield/iam_lint.py).
    Implemented by components/identity.py, components/keys.py and every component that writes a bucket policy.

    parliament's own limits on one kind of document (a trust policy has no Resource, ...) are listed, with the
    reason, under `lint.ignored` there; any other accepted finding is a waiver of this control."""
    from caseshield import escalation, iam_lint

    limits = escalation.load()
    holders, texts, pending = linted_documents(args)
    for key, found in sorted(iam_lint.lint(texts).items()):
        resource, prop, kind = holders[key]
        failing = sorted({f"{f['issue']}: {f['detail'][:160]}" for f in found
                          if (f["severity"].upper() in FAILING_SEVERITIES or f["issue"] in limits.raised)
                          and not any(i["issue"] == f["issue"] and kind in i["kinds"] and i["detail"] in f["detail"]
                                      for i in limits.ignored)})
        if failing:
            violation(report, f"{resource.name}: parliament finds {len(failing)} issue(s) in its {kind} policy", path=prop,
                      actual=failing, expected="no parliament finding above low", urn=resource.urn)
    if pending:
        judged_later("policy")
