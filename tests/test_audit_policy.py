"""The security-auditor role holds exactly what `caseshield audit` needs, computed from a stack's recorded graph.

`caseshield audit --print-policy` is derived from the actions each live check declares; the role matrix marks the
auditor `runs_live_audit`, and components/identity.py writes that policy as the role's inline `live-audit` policy.
These tests compare the two as sets, and prove the permissions boundary lets every one of those actions through
and no deny takes it away, so an auditor assuming the role can run every check and nothing more is granted for it.
"""

from __future__ import annotations

import contextlib
import io
import json
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import pytest

from caseshield import cli
from caseshield.audit import load_all
from caseshield.offline import RecordedResource, ResourceGraph
from caseshield.role_matrix import load as load_matrix
from tests.conftest import graph_of

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
# What must never be read through the audit: objects, secrets, parameters, log events, decrypted data.
CONTENT_READS = ("s3:getobject", "secretsmanager:getsecretvalue", "ssm:getparameter", "logs:getlogevents",
                 "logs:filterlogevents", "kms:decrypt", "dynamodb:getitem", "dynamodb:query", "dynamodb:scan")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(text: Any) -> list[dict[str, Any]]:
    found = json.loads(text)["Statement"]
    return [found] if isinstance(found, dict) else list(found)


def matches(pattern: str, action: str) -> bool:
    return fnmatchcase(action.lower(), pattern.lower())


@cache
def printed_actions() -> frozenset[str]:
    """The actions of `caseshield audit --print-policy`, as the command prints them."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["audit", "--print-policy"]) == 0
    (statement,) = json.loads(out.getvalue())["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    return frozenset(statement["Action"])


def auditors() -> list[str]:
    found = [r.name for r in load_matrix().roles.values() if r.runs_live_audit]
    assert found == ["security-auditor", "ci-auditor"], (
        "the role matrix must mark the security auditor (people) and the ci-auditor (the nightly job) runs_live_audit")
    return found


def role(graph: ResourceGraph, matrix_role: str) -> RecordedResource:
    (found,) = [r for r in graph.of_type(ROLE) if r.inputs.get("name") == f"cs-{graph.stack}-{matrix_role}"]
    return found


def inline(graph: ResourceGraph, holder: RecordedResource) -> dict[str, list[dict[str, Any]]]:
    return {str(p.inputs["name"]): statements(p.inputs["policy"]) for p in graph.of_type(ROLE_POLICY)
            if holder in graph.depends_on(p, "role")}


def boundary(graph: ResourceGraph, holder: RecordedResource) -> list[dict[str, Any]]:
    (policy,) = graph.depends_on(holder, "permissionsBoundary")
    assert policy.type == MANAGED_POLICY
    return statements(policy.inputs["policy"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_auditors_live_audit_grant_is_exactly_the_printed_policy(stack: str) -> None:
    graph = graph_of(stack)
    for name in auditors():
        policies = inline(graph, role(graph, name))
        granted = {str(a) for st in policies["live-audit"] if st["Effect"] == "Allow" for a in as_list(st["Action"])}
        assert granted == set(printed_actions()), (
            f"only in the role: {sorted(granted - printed_actions())}; only in --print-policy: {sorted(printed_actions() - granted)}")
        assert printed_actions() == {a for c in load_all().values() for a in c.actions} | {"sts:GetCallerIdentity"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_boundary_lets_every_audit_action_through_and_nothing_denies_one(stack: str) -> None:
    graph = graph_of(stack)
    for name in auditors():
        holder = role(graph, name)
        cap = boundary(graph, holder)
        allows = [str(p) for st in cap if st["Effect"] == "Allow" and "Condition" not in st for p in as_list(st["Action"])]
        capped = sorted(a for a in printed_actions() if not any(matches(p, a) for p in allows))
        assert capped == [], f"the permissions boundary (ReadOnlyBasics in components/identity.py) caps {capped}"
        denies = [st for st in [*cap, *(s for doc in inline(graph, holder).values() for s in doc)] if st["Effect"] == "Deny"]
        denied = sorted(a for a in printed_actions() for st in denies for p in as_list(st.get("Action", [])) if matches(str(p), a))
        assert denied == []


def test_the_audit_reads_no_case_content() -> None:
    """Configuration only: no object, secret, parameter, log event or decrypted value, and nothing that changes."""
    matrix = load_matrix()
    content = {a.lower() for dc in ("case-documents", "case-database", "application-secrets")
               for a in matrix.actions_for(dc, "manage")
               if not a.split(":")[1].startswith(("Describe", "List", "GetBucket"))}  # configuration, not content
    actions = {a.lower() for a in printed_actions()}
    assert not actions & content
    assert not [a for a in actions if a.startswith(CONTENT_READS)]
    assert not [a for a in actions if not a.split(":")[1].startswith(("get", "list", "describe", "lookup"))]


def test_a_live_audit_policy_that_allows_more_fails_iam_01_and_iam_11() -> None:
    """The pack holds the grant to the audit's actions: one content read added to `live-audit` is a violation."""
    import copy

    from caseshield.report import run_check

    graph = copy.deepcopy(graph_of("dev"))
    (policy,) = [p for p in inline_policies(graph, "security-auditor") if p.inputs["name"] == "live-audit"]
    document = json.loads(policy.inputs["policy"])
    document["Statement"][0]["Action"].append("s3:GetObject")
    policy.inputs["policy"] = json.dumps(document)
    if "policy" in policy.outputs:  # stack policies read the outputs, resource policies the inputs
        policy.outputs["policy"] = policy.inputs["policy"]
    report = run_check(["dev"], graphs={"dev": graph}, third_party=False)
    (dev,) = report.stacks
    failing = {f.control for f in dev.findings if "live-audit" in f.message or f.urn == policy.urn}
    assert {"IAM-01", "IAM-11"} <= failing
    assert dev.controls["IAM-01"] == "fail" and dev.controls["IAM-11"] == "fail"


def inline_policies(graph: ResourceGraph, matrix_role: str) -> list[RecordedResource]:
    holder = role(graph, matrix_role)
    return [p for p in graph.of_type(ROLE_POLICY) if holder in graph.depends_on(p, "role")]
