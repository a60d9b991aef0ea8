"""`revoke-role-sessions` and `disable-access-key`: cut off stolen credentials without deleting anything.

Both are reversible and keep the identity in place, so CloudTrail history still resolves to it and the
investigation can see what the credentials did. Deleting a role or key is a later, deliberate eradication step.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from botocore.exceptions import ClientError

from caseshield.respond.core import Context, InputError, Plan, add_action, error_code, missing, not_found

# The name the IAM console's "Revoke active sessions" uses, so either path replaces the other's policy.
REVOKE_POLICY = "AWSRevokeOlderSessions"


def register(actions: Any) -> None:
    add_action(actions, "revoke-role-sessions", revoke_role_sessions,
               "deny every session of a role issued before now (inline AWSRevokeOlderSessions policy)",
               [("role", "IAM role name, e.g. cs-prod-vendor-support")])
    add_action(actions, "disable-access-key", disable_access_key, "set an IAM user's access key Inactive",
               [("user", "IAM user name"), ("key", "access key id, e.g. AKIA...")])


def revoke_policy(cutoff: str) -> dict[str, Any]:
    """AWS's documented revocation policy: deny everything to credentials issued before the cut-off. Sessions
    assumed after it (by people who still pass the trust policy and MFA) keep working."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
    }]}


def inline_policy(ctx: Context, role: str, name: str) -> Any:
    try:
        return ctx.client("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    except ctx.client("iam").exceptions.NoSuchEntityException:
        return None


def revoke_role_sessions(ctx: Context, args: argparse.Namespace) -> Plan:
    iam = ctx.client("iam")
    with missing("role", args.role, "NoSuchEntity"):
        role = iam.get_role(RoleName=args.role)["Role"]
    if role.get("Path", "").startswith("/aws-service-role/"):
        raise InputError(f"role {args.role} is service-linked; AWS does not allow revoking its sessions")
    document = revoke_policy(ctx.stamp)

    def apply() -> None:
        iam.put_role_policy(RoleName=args.role, PolicyName=REVOKE_POLICY, PolicyDocument=json.dumps(document))

    def observe() -> dict[str, Any]:
        return {REVOKE_POLICY: inline_policy(ctx, args.role, REVOKE_POLICY)}

    before = observe()
    verb = "replace the earlier" if before[REVOKE_POLICY] else "put"
    def verify(after: dict[str, Any]) -> list[str]:
        return [] if after[REVOKE_POLICY] == document else [f"inline policy {REVOKE_POLICY} is not the revocation just written"]

    return Plan(target=args.role, before=before, apply=apply, observe=observe, verify=verify,
                changes=[f"{verb} inline policy {REVOKE_POLICY} on role {args.role}: deny * to sessions issued before {ctx.stamp}"])


def access_key(ctx: Context, user: str, key_id: str) -> dict[str, Any]:
    """The key's metadata and last use (the last use is evidence: where and when the key was last seen)."""
    iam = ctx.client("iam")
    with missing("user", user, "NoSuchEntity"):
        keys = [k for page in iam.get_paginator("list_access_keys").paginate(UserName=user) for k in page["AccessKeyMetadata"]]
    found = [k for k in keys if k["AccessKeyId"] == key_id]
    if not found:
        raise not_found("access key", key_id, f"for user {user}")
    try:
        last_used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    except ClientError as error:  # evidence is best effort; the containment must not depend on it
        last_used = {"error": error_code(error)}
    return {"status": found[0]["Status"], "created": found[0].get("CreateDate"), "last_used": last_used}


def disable_access_key(ctx: Context, args: argparse.Namespace) -> Plan:
    before = access_key(ctx, args.user, args.key)
    changes = [] if before["status"] == "Inactive" else [f"set access key {args.key} of user {args.user} Inactive"]

    def apply() -> None:
        ctx.client("iam").update_access_key(UserName=args.user, AccessKeyId=args.key, Status="Inactive")

    return Plan(target=f"{args.user} {args.key}", before=before, changes=changes, apply=apply,
                observe=lambda: access_key(ctx, args.user, args.key),
                verify=lambda after: [] if after["status"] == "Inactive" else [f"access key {args.key} is {after['status']}"])
