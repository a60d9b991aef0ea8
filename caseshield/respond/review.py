"""`access-review`: the whole live IAM of an account compared with what the stack's program generates.

Why the generated intent: every role the stack creates (people, pipeline and service roles), its trust policy,
inline and attached policies, permissions boundary and session length come from one offline evaluation
(`caseshield.respond.intent`), so any change made outside the pipeline is a difference: an `iam:*` statement
slipped into a policy, a trust opened to `*` or to a foreign account, a deleted deny, a second OIDC statement,
a boundary rewritten or detached. Roles outside the stack are looked at too: one that can escalate privileges
(an administrator created by hand, say) is a finding wherever it is named. Service-linked roles are AWS's own.

Escalation uses cloudsplaining through `caseshield.iam_analysis` on each role's effective policy (identity
policies within the boundary). A path the generated intent itself has is listed as a note, not a finding: the
review reports drift; whether the design should allow it is the static check's business.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from caseshield import iam_analysis, offline
from caseshield.respond.core import Check, Context, InputError, add_action
from caseshield.respond.intent import IntendedRole, Intent, Matcher, intent_from_graph, normalize

SERVICE_LINKED_PATH = "/aws-service-role/"


def register(actions: Any) -> None:
    parser = add_action(actions, "access-review", access_review,
                        "compare the account's live IAM with the stack's generated IAM; exit 1 on any difference", [], changes=False)
    parser.add_argument("--stack", help="stack whose generated IAM is the intent, e.g. prod (default: from --prefix cs-<stack>)")
    parser.add_argument("--prefix", help="role name prefix of the stack (default: cs-<stack>)")
    parser.add_argument("--json", type=Path, help="also write the review as JSON to this path")
    parser.set_defaults(target_args=("prefix",))


@lru_cache(maxsize=4)
def recorded_graph(stack: str) -> offline.ResourceGraph:
    """The stack's offline evaluation, once per process (it takes seconds and depends only on the stack files)."""
    return offline.evaluate(stack)


@dataclass
class LiveRole:
    name: str
    path: str
    trust: Any
    boundary: str | None
    max_session: int | None
    inline: dict[str, Any] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)


class LiveIam:
    """The account's roles (service-linked ones left out) and, on demand, any managed policy's default version."""

    def __init__(self, ctx: Context):
        self.iam = ctx.client("iam")
        self._documents: dict[str, Any] = {}
        self.roles = {role.name: role for role in map(self._role, self._listed()) if not role.path.startswith(SERVICE_LINKED_PATH)}

    def _listed(self) -> list[dict[str, Any]]:
        return [role for page in self.iam.get_paginator("list_roles").paginate() for role in page["Roles"]]

    def _role(self, listed: dict[str, Any]) -> LiveRole:
        name = listed["RoleName"]
        if listed.get("Path", "/").startswith(SERVICE_LINKED_PATH):
            return LiveRole(name=name, path=listed["Path"], trust=None, boundary=None, max_session=None)
        role = self.iam.get_role(RoleName=name)["Role"]
        found = LiveRole(name=name, path=role.get("Path", "/"), trust=normalize(role["AssumeRolePolicyDocument"]),
                         boundary=role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                         max_session=role.get("MaxSessionDuration"))
        for page in self.iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page["PolicyNames"]:
                found.inline[policy] = normalize(self.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
        for page in self.iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            found.attached.update(p["PolicyArn"] for p in page["AttachedPolicies"])
        return found

    def document(self, arn: str) -> Any:
        """A managed policy's default version, normalized; None when it does not exist."""
        if arn not in self._documents:
            try:
                version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                self._documents[arn] = normalize(self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NoSuchEntity":
                    raise
                self._documents[arn] = None
        return self._documents[arn]


class Review:
    """One comparison: the findings (differences and new escalation paths) and notes (intended escalation paths)."""

    def __init__(self, intent: Intent, live: LiveIam, prefix: str):
        self.intent, self.live, self.prefix = intent, live, prefix
        self.match = Matcher(intent.slots)
        self.findings: list[dict[str, str]] = []
        self.notes: list[dict[str, str]] = []

    def flag(self, role: str, kind: str, detail: str) -> None:
        self.findings.append({"role": role, "kind": kind, "detail": detail})

    def run(self) -> None:
        for arn, document in sorted(self.intent.policies.items()):
            self.policy(arn, document)
        for name, intended in sorted(self.intent.roles.items()):
            live = self.live.roles.get(name)
            if live is None:
                self.flag(name, "missing-role", "generated by the stack but not in IAM")
            else:
                self.role(intended, live)
        for name, live in sorted(self.live.roles.items()):
            if name not in self.intent.roles:
                self.unexpected(live)

    # --- one function per comparison ------------------------------------------------------------------------------

    def policy(self, arn: str, intended: Any) -> None:
        live = self.live.document(arn)
        if live is None:
            self.flag(arn, "policy-missing", "customer-managed policy generated by the stack is not in IAM")
        else:
            self.document_diff(arn, "policy-changed", intended, live)

    def role(self, intended: IntendedRole, live: LiveRole) -> None:
        name = intended.name
        self.document_diff(name, "trust-changed", intended.trust, live.trust)
        if intended.boundary and not live.boundary:
            self.flag(name, "boundary-missing", f"no permissions boundary; the stack sets {intended.boundary}")
        elif (intended.boundary or live.boundary) and not self.match.same(intended.boundary, live.boundary):
            self.flag(name, "boundary-changed", f"boundary {live.boundary}, the stack sets {intended.boundary or 'none'}")
        if intended.max_session and live.max_session != intended.max_session:
            self.flag(name, "session-duration-changed", f"maximum session {live.max_session} s, the stack sets {intended.max_session} s")
        self.inline(intended, live)
        self.attachments(intended, live)
        self.escalation(name, self.paths(live), self.intended_paths(intended))

    def inline(self, intended: IntendedRole, live: LiveRole) -> None:
        unmatched = dict(live.inline)
        for policy, document in sorted(intended.inline.items()):
            found = next((n for n in unmatched if self.match.same(policy, n)), None)
            if found is None:
                self.flag(intended.name, "inline-policy-missing", f"inline policy {self.match.shown(policy)} is gone")
                continue
            self.document_diff(intended.name, "inline-policy-changed", document, unmatched.pop(found), f"inline policy {found}: ")
        for policy, document in sorted(unmatched.items()):
            self.flag(intended.name, "inline-policy-extra", f"inline policy {policy} is not generated by the stack: {json.dumps(document)}")

    def attachments(self, intended: IntendedRole, live: LiveRole) -> None:
        unmatched = set(live.attached)
        for arn in sorted(intended.attached):
            found = next((a for a in sorted(unmatched) if self.match.same(arn, a)), None)
            if found is None:
                self.flag(intended.name, "attached-policy-missing", f"{self.match.shown(arn)} is not attached")
            else:
                unmatched.discard(found)
        for arn in sorted(unmatched):
            self.flag(intended.name, "attached-policy-extra", f"{arn} is attached but not generated by the stack")

    def unexpected(self, live: LiveRole) -> None:
        paths = self.paths(live)
        if live.name.startswith(f"{self.prefix}-"):
            self.flag(live.name, "extra-role", "named like the stack's roles but not generated by it")
            if not live.boundary:
                self.flag(live.name, "boundary-missing", "no permissions boundary")
            self.escalation(live.name, paths, [])
        elif paths:
            self.flag(live.name, "privileged-role-outside-stack",
                      f"not generated by the stack, and can escalate privileges: {describe(paths)}")

    def escalation(self, role: str, live: list[iam_analysis.EscalationPath], intended: list[iam_analysis.EscalationPath]) -> None:
        known = {p["type"] for p in intended}
        new = [p for p in live if p["type"] not in known]
        if new:
            self.flag(role, "escalation-path", f"can escalate privileges in ways the stack does not grant: {describe(new)}")
        if intended:
            self.notes.append({"role": role, "kind": "intended-escalation-path", "detail": ", ".join(p["type"] for p in intended)})

    def document_diff(self, where: str, kind: str, intended: Any, live: Any, label: str = "") -> None:
        missing, extra = self.match.statement_diff(intended, live)
        parts = [f"missing {self.match.shown(s)}" for s in missing] + [f"added {json.dumps(s, sort_keys=True)}" for s in extra]
        if parts:
            self.flag(where, kind, label + "; ".join(parts))

    # --- effective permissions ----------------------------------------------------------------------------------

    def paths(self, live: LiveRole) -> list[iam_analysis.EscalationPath]:
        documents = [*live.inline.values(), *(self.live.document(arn) for arn in sorted(live.attached))]
        boundary = self.live.document(live.boundary) if live.boundary else None
        return iam_analysis.effective_escalation_paths(documents, boundary)

    def intended_paths(self, intended: IntendedRole) -> list[iam_analysis.EscalationPath]:
        documents = [*intended.inline.values(), *map(self.intended_document, sorted(intended.attached))]
        boundary = self.intended_document(intended.boundary) if intended.boundary else None
        return iam_analysis.effective_escalation_paths(documents, boundary)

    def intended_document(self, arn: str) -> Any:
        """A customer-managed policy as generated; an AWS-managed one as AWS publishes it (read from the account)."""
        return self.intent.policies.get(arn) or self.live.document(arn)


def describe(paths: list[iam_analysis.EscalationPath]) -> str:
    return "; ".join(f"{p['type']} ({', '.join(p['actions'])})" for p in paths)


def stack_and_prefix(args: argparse.Namespace) -> tuple[str, str]:
    if not args.stack and not (args.prefix or "").startswith("cs-"):
        raise InputError("name the stack with --stack (or a prefix cs-<stack> with --prefix)")
    stack = args.stack or args.prefix.removeprefix("cs-")
    return stack, args.prefix or f"cs-{stack}"


def intent_for(stack: str, account: str) -> Intent:
    try:
        graph = recorded_graph(stack)
    except Exception as error:  # invalid settings, unknown stack: the review cannot start
        raise InputError(f"cannot evaluate stack {stack!r} for its generated IAM: {error}") from error
    return intent_from_graph(graph, account)


def render(stack: str, prefix: str, when: str, live: LiveIam, review: Review) -> str:
    lines = [f"# Access review: {prefix} ({when})", "",
             f"Every role in the account compared with the IAM that stack `{stack}` generates (offline evaluation).", "",
             "| Role | Generated by the stack | Boundary | Inline | Attached |", "|---|---|---|---|---|"]
    for name, role in sorted(live.roles.items()):
        lines.append(f"| {name} | {'yes' if name in review.intent.roles else '**no**'} | {role.boundary or '-'} | "
                     f"{', '.join(sorted(role.inline)) or '-'} | {', '.join(sorted(role.attached)) or '-'} |")
    lines += ["", f"## Differences ({len(review.findings)})", ""]
    lines += [f"- **{f['role']}** `{f['kind']}`: {f['detail']}" for f in review.findings] or ["None: live IAM matches the generated IAM."]
    if review.notes:
        lines += ["", "## Escalation paths the generated IAM itself allows (not drift; see the static check)", ""]
        lines += [f"- **{n['role']}**: {n['detail']}" for n in review.notes]
    return "\n".join(lines)


def access_review(ctx: Context, args: argparse.Namespace) -> Check:
    stack, prefix = stack_and_prefix(args)
    args.prefix = prefix
    intent = intent_for(stack, ctx.client("sts").get_caller_identity()["Account"])
    live = LiveIam(ctx)
    review = Review(intent, live, prefix)
    review.run()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        roles = {name: {"path": r.path, "trust": r.trust, "boundary": r.boundary, "max_session": r.max_session,
                        "inline": r.inline, "attached": sorted(r.attached), "generated": name in intent.roles}
                 for name, r in live.roles.items()}
        args.json.write_text(json.dumps({"stack": stack, "prefix": prefix, "when": ctx.stamp, "roles": roles,
                                         "differences": review.findings, "notes": review.notes},
                                        indent=2, sort_keys=True, default=str) + "\n")
    return Check(target=prefix, observed={"stack": stack, "roles": sorted(live.roles)},
                 findings=[f"{f['role']}: {f['kind']}" for f in review.findings], text=render(stack, prefix, ctx.stamp, live, review))
