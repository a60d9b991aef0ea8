"""The IAM a stack is meant to have, read from its offline evaluation, and a comparison with live documents.

Why the evaluation and not the role matrix: the matrix names the human and pipeline roles, but the stack also
creates service roles (instances, backup, Config, CloudTrail, flow logs), a boundary policy, inline policies and
attachments. A review that compares only some of it passes changes to the rest (an `iam:*` statement added to
vendor-support, the deployer's denies deleted, the boundary rewritten). The evaluation records every IAM resource
with the exact inputs `pulumi up` would send.

What cannot be known offline is what AWS computes at deploy time: generated names (`<logical>-<7 hex>`), KMS key
ids, the database resource id and its managed secret, the OIDC provider ARN, the account id and the vendor
ExternalId (a secret). The account is substituted, the OIDC ARN rebuilt the way IAM names it, the ExternalId
compared only for presence, and each other computed value becomes a slot: it matches one concrete identifier
(no wildcard), and the same slot must match the same value everywhere in one review.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from caseshield.offline import ResourceGraph

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in deserialized properties
SECRET_CONDITION_KEYS = frozenset({"sts:externalid"})
SLOT = re.compile("\u27e6(\\d+)\u27e7")  # a slot marker: a number in white square brackets
SLOT_VALUE = "[A-Za-z0-9][A-Za-z0-9!._-]*"  # one concrete identifier: no wildcard, no ARN separator


@dataclass
class IntendedRole:
    name: str
    trust: Any
    boundary: str | None
    max_session: int | None
    inline: dict[str, Any] = field(default_factory=dict)  # name (may hold slots) -> normalized document
    attached: set[str] = field(default_factory=set)


@dataclass
class Intent:
    """The stack's IAM with the offline account replaced by `account` and computed values turned into slots."""

    stack: str
    roles: dict[str, IntendedRole]
    policies: dict[str, Any]  # customer-managed policy ARN -> normalized document
    slots: list[str]  # slot number -> the offline stand-in it replaces (for messages)


def unsecret(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) and SECRET_SIG in value else value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _scalar(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def normalize_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """IAM's meaning of a statement, in one spelling: no Sid, actions lower-case, every list sorted and deduplicated,
    a bare `*` principal as {"AWS": ["*"]}, condition keys lower-case (IAM compares them case-insensitively),
    condition values as strings, a secret condition value replaced by its presence."""
    out: dict[str, Any] = {"Effect": statement.get("Effect")}
    for key in ("Action", "NotAction"):
        if key in statement:
            out[key] = sorted({str(a).lower() for a in as_list(statement[key])})
    for key in ("Resource", "NotResource"):
        if key in statement:
            out[key] = sorted({str(r) for r in as_list(statement[key])})
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            principal = statement[key]
            principal = {"AWS": "*"} if principal == "*" else principal
            out[key] = {kind: sorted({str(p) for p in as_list(values)}) for kind, values in principal.items()}
    if statement.get("Condition"):
        out["Condition"] = {operator: {key.lower(): ["<secret>"] if key.lower() in SECRET_CONDITION_KEYS else
                                       sorted({_scalar(v) for v in as_list(values)}) for key, values in block.items()}
                            for operator, block in statement["Condition"].items()}
    return out


def normalize(document: Any) -> dict[str, Any]:
    """A policy document (JSON text or parsed, possibly a Pulumi secret) in the spelling of `normalize_statement`."""
    document = unsecret(document)
    if isinstance(document, str):
        document = json.loads(document)
    found = [normalize_statement(s) for s in as_list((document or {}).get("Statement", []))]
    return {"Statement": sorted(found, key=lambda s: json.dumps(s, sort_keys=True))}


class Slots:
    """Offline stand-ins of deploy-time values, each replaced by a numbered slot marker."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, value: str) -> None:
        if value and value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value)

    def mark(self, text: str) -> str:
        # Longest first, so a name that contains another is replaced whole.
        for value in sorted(self._index, key=len, reverse=True):
            text = text.replace(value, f"\u27e6{self._index[value]}\u27e7")
        return text


def computed_values(graph: ResourceGraph) -> Slots:
    """Names AWS or Pulumi generate at deploy time: autonamed physical names (logical name + 7 hex), the database's
    resource id and managed secret name."""
    slots = Slots()
    for resource in graph.resources:
        if resource.custom and resource.id and re.fullmatch(re.escape(resource.name) + "-[0-9a-f]{7}", resource.id):
            slots.add(resource.id)
        if resource.type == "aws:rds/instance:Instance":
            slots.add(str(resource.outputs.get("resourceId", "")))
            for secret in resource.outputs.get("masterUserSecrets") or []:
                slots.add(str(secret.get("secretArn", "")).rpartition(":secret:")[2])
    return slots


def offline_account(graph: ResourceGraph) -> str:
    arns = [str(r.outputs.get("arn", "")) for r in graph.of_type("aws:iam/role:Role")]
    return next((arn.split(":")[4] for arn in arns if arn.count(":") >= 5), "")


def oidc_arns(graph: ResourceGraph) -> dict[str, str]:
    """Offline OIDC provider ARN -> the ARN IAM gives it: oidc-provider/<issuer host and path>."""
    found = {}
    for provider in graph.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
        offline_arn = str(provider.outputs.get("arn", ""))
        issuer = urlparse(str(provider.inputs.get("url", "")))
        found[offline_arn] = offline_arn.replace(f"openIdConnectProvider/{provider.id}", f"oidc-provider/{issuer.netloc}{issuer.path}")
    return found


def intent_from_graph(graph: ResourceGraph, account: str) -> Intent:
    """The stack's IAM as `pulumi up` would create it in `account`."""
    slots, offline, oidc = computed_values(graph), offline_account(graph), oidc_arns(graph)

    def text(value: Any) -> str:
        value = json.dumps(unsecret(value)) if not isinstance(unsecret(value), str) else unsecret(value)
        for offline_arn, arn in oidc.items():
            value = value.replace(offline_arn, arn)
        value = value.replace(f":{offline}:", f":{account}:") if offline and account else value
        return slots.mark(value)

    def document(value: Any) -> Any:
        return normalize(text(value))

    roles: dict[str, IntendedRole] = {}
    for role in graph.of_type("aws:iam/role:Role"):
        inputs = role.inputs
        name = str(inputs.get("name") or role.id)
        roles[name] = IntendedRole(
            name=name, trust=document(inputs["assumeRolePolicy"]),
            boundary=text(inputs["permissionsBoundary"]) if inputs.get("permissionsBoundary") else None,
            max_session=int(inputs["maxSessionDuration"]) if inputs.get("maxSessionDuration") else None)
        for policy_arn in inputs.get("managedPolicyArns") or []:
            roles[name].attached.add(text(policy_arn))
        for inline in inputs.get("inlinePolicies") or []:
            roles[name].inline[text(inline["name"])] = document(inline["policy"])
    for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        roles[str(policy.inputs["role"])].inline[text(policy.inputs.get("name") or policy.id)] = document(policy.inputs["policy"])
    for attachment in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        roles[str(attachment.inputs["role"])].attached.add(text(attachment.inputs["policyArn"]))
    for exclusive in graph.of_type("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"):
        roles[str(exclusive.inputs["roleName"])].attached.update(text(arn) for arn in exclusive.inputs.get("policyArns") or [])
    policies = {text(p.outputs.get("arn", "")): document(p.inputs["policy"]) for p in graph.of_type("aws:iam/policy:Policy")}
    return Intent(stack=graph.stack, roles=roles, policies=policies, slots=slots.values)


class Matcher:
    """Compares intended values (which may hold slots) with live ones, binding each slot to one live value for the
    whole review, so a key or bucket swapped in one policy but not the others is a difference."""

    def __init__(self, slots: list[str]):
        self.slots = slots
        self.bindings: dict[int, str] = {}

    def same(self, intended: Any, live: Any) -> bool:
        trial = dict(self.bindings)
        if self._same(intended, live, trial):
            self.bindings = trial
            return True
        return False

    def _same(self, intended: Any, live: Any, bound: dict[int, str]) -> bool:
        if isinstance(intended, dict):
            return isinstance(live, dict) and intended.keys() == live.keys() and all(
                self._same(intended[k], live[k], bound) for k in intended)
        if isinstance(intended, list):
            return isinstance(live, list) and len(intended) == len(live) and self._same_items(intended, live, bound)
        if isinstance(intended, str) and SLOT.search(intended):
            return isinstance(live, str) and self._same_text(intended, live, bound)
        return bool(intended == live)

    def _same_items(self, intended: list[Any], live: list[Any], bound: dict[int, str]) -> bool:
        """Order-free: each intended item takes an unused live item it matches, backtracking when a first choice
        binds a slot (a key of several in one list) that a later item needed."""
        if not intended:
            return True
        item, rest = intended[0], intended[1:]
        for index, candidate in enumerate(live):
            trial = dict(bound)
            if self._same(item, candidate, trial) and self._same_items(rest, live[:index] + live[index + 1:], trial):
                bound.update(trial)
                return True
        return False

    def _same_text(self, intended: str, live: str, bound: dict[int, str]) -> bool:
        pattern, seen = [], set()
        for index, part in enumerate(SLOT.split(intended)):
            if index % 2 == 0:
                pattern.append(re.escape(part))
            elif int(part) in bound:
                pattern.append(re.escape(bound[int(part)]))
            else:
                pattern.append(f"(?P=s{part})" if part in seen else f"(?P<s{part}>{SLOT_VALUE})")
                seen.add(part)
        found = re.fullmatch("".join(pattern), live)
        if not found:
            return False
        bound.update({int(name[1:]): value for name, value in found.groupdict().items()})
        return True

    def statement_diff(self, intended: Any, live: Any) -> tuple[list[Any], list[Any]]:
        """(intended statements with no live match, live statements with no intended match)."""
        missing, unmatched = [], list(live["Statement"])
        for statement in intended["Statement"]:
            match = next((candidate for candidate in unmatched if self.same(statement, candidate)), None)
            if match is None:
                missing.append(statement)
            else:
                unmatched.remove(match)
        return missing, unmatched

    def shown(self, value: Any) -> str:
        """An intended value for a message: slots as <generated: offline stand-in>."""
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
        return SLOT.sub(lambda m: self.bindings.get(int(m[1]), f"<generated {self.slots[int(m[1])]}>"), text)
