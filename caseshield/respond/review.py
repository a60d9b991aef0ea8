"""`access-review`: the quarterly comparison of live IAM roles with `policies/role-matrix.yaml`.

Why compare with the matrix and not just list roles: drift is what a review must catch, e.g. a role added by
hand during an incident, an MFA condition dropped from a trust policy, a vendor trust without ExternalId, or
administrator rights granted to anything but the audited break-glass path. The Markdown goes in the review
record; the exit code lets a scheduled job fail loudly.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caseshield import role_matrix
from caseshield.respond.core import Check, Context, add_action

AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(.*/)?(?P<name>[^/]+)$")
ADMIN_POLICY = "AdministratorAccess"
Flag = Callable[[str, str, str], None]  # (role, kind, detail)


def register(actions: Any) -> None:
    parser = add_action(actions, "access-review", access_review,
                        "compare live IAM roles of a stack with the role matrix; exit 1 on any difference", [], changes=False)
    parser.add_argument("--prefix", required=True, help="role name prefix of the stack, e.g. cs-prod")
    parser.add_argument("--json", type=Path, help="also write the review as JSON to this path")
    parser.add_argument("--matrix", type=Path, default=role_matrix.MATRIX_PATH, help="role matrix to compare with")
    parser.set_defaults(target_args=("prefix",))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allow_statements(document: Any) -> list[dict[str, Any]]:
    return [s for s in as_list((document or {}).get("Statement", [])) if s.get("Effect") == "Allow"]


def condition(statement: dict[str, Any], operators: tuple[str, ...], key: str) -> list[str]:
    """Values of condition `key` under any of `operators`; IAM compares both case-insensitively."""
    values: list[str] = []
    for operator, block in (statement.get("Condition") or {}).items():
        if operator.lower() in operators:
            values += [str(v) for k, v_ in block.items() if k.lower() == key for v in as_list(v_)]
    return values


def mfa(trust: Any) -> dict[str, Any]:
    """Weakest MFA requirement over the trust's Allow statements: present (Bool, not BoolIfExists) and max age."""
    present, ages = True, []
    for statement in allow_statements(trust):
        present &= "true" in [v.lower() for v in condition(statement, ("bool",), "aws:multifactorauthpresent")]
        bounds = condition(statement, ("numericlessthan", "numericlessthanequals"), "aws:multifactorauthage")
        ages.append(min((int(v) for v in bounds), default=None))
    bounded = [a for a in ages if a is not None]
    return {"present": present and bool(ages), "max_age": max(bounded) if ages and len(bounded) == len(ages) else None}


def external_id(trust: Any) -> bool:
    statements = allow_statements(trust)
    return bool(statements) and all(condition(s, ("stringequals",), "sts:externalid") for s in statements)


def federated(trust: Any) -> bool:
    return any("Federated" in (s.get("Principal") or {}) for s in allow_statements(trust))


def oidc_subject(trust: Any) -> bool:
    """Every web-identity statement pins the token subject (StringEquals on <provider>:sub, no wildcards)."""
    statements = allow_statements(trust)
    return bool(statements) and all(
        any(k.lower().endswith(":sub") for k in (s.get("Condition") or {}).get("StringEquals", {})) for s in statements)


def redacted(trust: Any) -> Any:
    """The trust policy as the report shows it: the vendor ExternalId is a shared secret, so only its presence shows."""
    statements = []
    for statement in as_list((trust or {}).get("Statement", [])):
        conditions = {operator: {k: ("<redacted>" if k.lower() == "sts:externalid" else v) for k, v in block.items()}
                      for operator, block in (statement.get("Condition") or {}).items()}
        statements.append({**statement, **({"Condition": conditions} if conditions else {})})
    return {**(trust or {}), "Statement": statements}


def grants_everything(document: Any) -> bool:
    return any("*" in as_list(s.get("Action", [])) and "*" in as_list(s.get("Resource", [])) for s in allow_statements(document))


def live_roles(ctx: Context, prefix: str) -> dict[str, dict[str, Any]]:
    """Each role named `<prefix>-...`: trust, boundary, AWS-managed and other attached policies, inline policies."""
    iam = ctx.client("iam")
    roles = {}
    for page in iam.get_paginator("list_roles").paginate():
        for listed in page["Roles"]:
            name = listed["RoleName"]
            if not name.startswith(f"{prefix}-"):
                continue
            role = iam.get_role(RoleName=name)["Role"]
            attached = [p["PolicyArn"] for pg in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                        for p in pg["AttachedPolicies"]]
            inline = {n: iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"]
                      for pg in iam.get_paginator("list_role_policies").paginate(RoleName=name) for n in pg["PolicyNames"]}
            aws_managed = sorted(m["name"] for arn in attached if (m := AWS_MANAGED.match(arn)))
            customer = {arn: policy_document(ctx, arn) for arn in attached if not AWS_MANAGED.match(arn)}
            roles[name] = {
                "trust": role["AssumeRolePolicyDocument"], "boundary": role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                "aws_managed": aws_managed, "customer_managed": sorted(customer), "inline": inline,
                "administrator": ADMIN_POLICY in aws_managed or any(map(grants_everything, [*customer.values(), *inline.values()])),
            }
    return roles


def policy_document(ctx: Context, arn: str) -> Any:
    iam = ctx.client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def differences(matrix: role_matrix.RoleMatrix, prefix: str, live: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []

    def flag(role: str, kind: str, detail: str) -> None:
        found.append({"role": role, "kind": kind, "detail": detail})

    expected = {f"{prefix}-{name}": spec for name, spec in matrix.roles.items()}
    for name in sorted(set(expected) - set(live)):
        flag(name, "missing-role", "in the role matrix but not in IAM")
    for name, role in sorted(live.items()):
        spec = expected.get(name)
        if spec is None:
            flag(name, "extra-role", "in IAM but not in the role matrix")
        if role["administrator"] and not (spec and spec.administrator):
            flag(name, "administrator-access", "holds administrator access; only the break-glass role may")
        if not role["boundary"]:
            flag(name, "boundary-missing", "no permissions boundary")
        if spec is not None:
            check_trust(spec, name, role, matrix.mfa_max_age_seconds, flag)
            check_policies(spec, name, role, flag)
    return found


def check_trust(spec: role_matrix.Role, name: str, role: dict[str, Any], max_age: int, flag: Flag) -> None:
    trust = role["trust"]
    if spec.trust == "oidc":
        if not federated(trust):
            flag(name, "trust-mismatch", "oidc role without a federated (web identity) principal")
        elif not oidc_subject(trust):
            flag(name, "oidc-subject-missing", "web identity trust does not pin the token subject with StringEquals")
        return
    if federated(trust):
        flag(name, "trust-mismatch", f"{spec.trust} role trusts a federated principal")
    if spec.trust == "vendor" and not external_id(trust):
        flag(name, "external-id-missing", "vendor trust without a StringEquals sts:ExternalId condition")
    if spec.trust == "human":
        required = mfa(trust)
        if not required["present"]:
            flag(name, "mfa-missing", "human role assumable without aws:MultiFactorAuthPresent = true")
        elif required["max_age"] is None or required["max_age"] > max_age:
            flag(name, "mfa-age", f"MFA age bound {required['max_age']} s, matrix requires at most {max_age} s")


def check_policies(spec: role_matrix.Role, name: str, role: dict[str, Any], flag: Flag) -> None:
    if spec.administrator and not role["administrator"]:
        flag(name, "administrator-missing", "the matrix makes this the administrator role but it lacks administrator access")
    wanted, held = set(spec.managed_policies), set(role["aws_managed"]) - {ADMIN_POLICY}
    for policy in sorted(wanted - held):
        flag(name, "managed-policy-missing", f"{policy} is in the matrix but not attached")
    for policy in sorted(held - wanted):
        flag(name, "managed-policy-unexpected", f"{policy} is attached but not in the matrix")


def render(prefix: str, when: str, matrix_path: Path, live: dict[str, dict[str, Any]], found: list[dict[str, str]],
           max_age: int) -> str:
    lines = [f"# Access review: {prefix} ({when})", "",
             f"Live IAM roles named `{prefix}-*` compared with `{matrix_path.name}` (MFA max age {max_age} s).", "",
             "| Role | Trust | MFA present / max age | ExternalId | Boundary | AWS managed | Customer managed | Inline | Admin |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, role in sorted(live.items()):
        required = mfa(role["trust"])
        trust = "federated" if federated(role["trust"]) else "AWS principal"
        lines.append(f"| {name} | {trust} | {'yes' if required['present'] else 'no'} / {required['max_age'] or '-'} | "
                     f"{'yes' if external_id(role['trust']) else 'no'} | {role['boundary'] or '**none**'} | "
                     f"{', '.join(role['aws_managed']) or '-'} | {', '.join(role['customer_managed']) or '-'} | "
                     f"{', '.join(role['inline']) or '-'} | {'**yes**' if role['administrator'] else 'no'} |")
    lines += ["", f"## Differences ({len(found)})", ""]
    lines += [f"- **{f['role']}** `{f['kind']}`: {f['detail']}" for f in found] or ["None: live IAM matches the role matrix."]
    return "\n".join(lines)


def access_review(ctx: Context, args: argparse.Namespace) -> Check:
    matrix = role_matrix.load(args.matrix)
    live = live_roles(ctx, args.prefix)
    found = differences(matrix, args.prefix, live)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        shown = {name: {**role, "trust": redacted(role["trust"])} for name, role in live.items()}
        args.json.write_text(json.dumps({"prefix": args.prefix, "when": ctx.stamp, "roles": shown, "differences": found},
                                        indent=2, sort_keys=True, default=str) + "\n")
    return Check(target=args.prefix, observed={"roles": sorted(live)}, findings=[f"{f['role']}: {f['kind']}" for f in found],
                 text=render(args.prefix, ctx.stamp, args.matrix, live, found, matrix.mfa_max_age_seconds))
