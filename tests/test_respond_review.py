"""`caseshield respond access-review` against moto: prod's generated IAM, deployed from the recorded inputs of the
offline evaluation (with realistic deploy-time names), reviews clean; each change an intruder or a hurried admin
would make is a finding that names the role and the change."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from caseshield.offline import ResourceGraph
from caseshield.respond import review as review_module
from caseshield.respond.intent import computed_values, unsecret
from tests.respond_support import client, last_log, mocked_aws, respond

STACK, PREFIX = "prod", "cs-prod"
FOREIGN = "arn:aws:iam::999988887777:root"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def graph() -> ResourceGraph:
    """prod's evaluation, once for the module (the review reuses the same cached one)."""
    return review_module.recorded_graph(STACK)


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from mocked_aws(monkeypatch, managed_policies=True)


def deploy_time_names(graph: ResourceGraph) -> dict[str, str]:
    """What AWS and Pulumi would name what the offline run names by itself: a UUID per KMS key, other random
    suffixes for autonamed resources, a real-looking database resource id and managed secret, the OIDC ARN."""
    names = {}
    for value in computed_values(graph).values:
        digest = hashlib.sha256(value.encode()).hexdigest()
        if value.startswith("db-"):
            names[value] = "db-" + digest[:26].upper()
        elif value.startswith("rds!"):
            names[value] = f"rds!db-{uuid.UUID(digest[:32])}-AbC12d"
        else:
            names[value] = value[:-7] + digest[:7]
    for key in graph.of_type("aws:kms/key:Key"):
        names[str(key.id)] = str(uuid.UUID(hashlib.sha256(str(key.id).encode()).hexdigest()[:32]))
    for provider in graph.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
        issuer = urlparse(provider.inputs["url"])
        names[str(provider.outputs["arn"])] = str(provider.outputs["arn"]).replace(
            f"openIdConnectProvider/{provider.id}", f"oidc-provider/{issuer.netloc}{issuer.path}")
    return names


def deploy(graph: ResourceGraph) -> None:
    """Create in moto what `pulumi up` creates from the recorded inputs: customer policies, roles with trust,
    boundary and session length, inline policies and attachments."""
    iam, names = client("iam"), deploy_time_names(graph)

    def text(value: Any) -> str:
        value = unsecret(value)
        value = value if isinstance(value, str) else json.dumps(value)
        for offline, live in sorted(names.items(), key=lambda item: -len(item[0])):
            value = value.replace(offline, live)
        return value

    for policy in graph.of_type("aws:iam/policy:Policy"):
        iam.create_policy(PolicyName=text(policy.inputs.get("name") or policy.id), PolicyDocument=text(policy.inputs["policy"]))
    for role in graph.of_type("aws:iam/role:Role"):
        inputs = role.inputs
        extra: dict[str, Any] = {"PermissionsBoundary": text(inputs["permissionsBoundary"])} if inputs.get("permissionsBoundary") else {}
        extra |= {"MaxSessionDuration": int(inputs["maxSessionDuration"])} if inputs.get("maxSessionDuration") else {}
        iam.create_role(RoleName=inputs["name"], AssumeRolePolicyDocument=text(inputs["assumeRolePolicy"]), **extra)
    for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        iam.put_role_policy(RoleName=policy.inputs["role"], PolicyName=text(policy.inputs.get("name") or policy.id),
                            PolicyDocument=text(policy.inputs["policy"]))
    for attachment in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        iam.attach_role_policy(RoleName=attachment.inputs["role"], PolicyArn=attachment.inputs["policyArn"])
    for exclusive in graph.of_type("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"):
        for arn in exclusive.inputs["policyArns"]:
            iam.attach_role_policy(RoleName=exclusive.inputs["roleName"], PolicyArn=arn)


def review(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    code = respond(tmp_path, "access-review", "--prefix", PREFIX, "--json", str(tmp_path / "review.json"))
    return code, json.loads((tmp_path / "review.json").read_text())


def kinds(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(d["role"], d["kind"]) for d in report["differences"]}


def trust(role: str) -> dict[str, Any]:
    return dict(client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])


def set_trust(role: str, change: Callable[[dict[str, Any]], None]) -> None:
    document = trust(role)
    change(document)
    client("iam").update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(document))


def test_the_generated_iam_reviews_clean(graph: ResourceGraph, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(graph)
    client("iam").create_role(RoleName="cs-dev-partner", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))

    code, report = review(tmp_path)

    assert (code, report["differences"]) == (0, [])
    generated = {r.inputs["name"] for r in graph.of_type("aws:iam/role:Role")}
    assert {name for name, role in report["roles"].items() if role["generated"]} == generated
    assert {f"{PREFIX}-vpc-flow-logs", f"{PREFIX}-backup", f"{PREFIX}-app-instance"} < generated, "service roles are reviewed too"
    vendor = report["roles"][f"{PREFIX}-vendor-support"]["trust"]["Statement"][0]["Condition"]
    assert vendor == {"StringEquals": {"sts:externalid": ["<secret>"]}}, "the shared secret stays out of the report"
    out = capsys.readouterr().out
    assert "None: live IAM matches the generated IAM." in out
    assert f"**{PREFIX}-ci-deployer**" in out.split("## Escalation paths the generated IAM itself allows")[1]
    record = last_log(tmp_path)
    assert record["read_only"] is True and record["result"] == "pass" and record["target"] == PREFIX


def _inline_iam_on_vendor() -> None:
    client("iam").put_role_policy(RoleName=f"{PREFIX}-vendor-support", PolicyName="support-tools", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}))


def _data_admin_on_it_operations() -> None:
    client("iam").put_role_policy(RoleName=f"{PREFIX}-it-operations", PolicyName="platform", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}]}))


def _trust_opened_to_everyone() -> None:
    set_trust(f"{PREFIX}-paralegal", lambda d: d["Statement"][0].update(Principal={"AWS": "*"}))


def _break_glass_trusts_a_foreign_account() -> None:
    set_trust(f"{PREFIX}-break-glass", lambda d: d["Statement"][0].update(Principal={"AWS": FOREIGN}))


def _deployer_denies_deleted() -> None:
    client("iam").delete_role_policy(RoleName=f"{PREFIX}-ci-deployer", PolicyName="segregation-of-duties")


def _second_oidc_statement() -> None:
    def add(document: dict[str, Any]) -> None:
        second = json.loads(json.dumps(document["Statement"][0]))
        second["Sid"], second["Condition"] = "AnyRepository", {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}
        document["Statement"].append(second)
    set_trust(f"{PREFIX}-ci-deployer", add)


def _admin_outside_the_prefix() -> None:
    iam = client("iam")
    iam.create_role(RoleName="ops-automation", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="ops-automation", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")


def _boundary_allows_everything() -> None:
    arn = client("iam").get_role(RoleName=f"{PREFIX}-associate")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    client("iam").create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_ALL), SetAsDefault=True)


def _boundary_removed() -> None:
    client("iam").delete_role_permissions_boundary(RoleName=f"{PREFIX}-associate")


def _key_swapped_in_one_policy() -> None:
    """Another (concrete) key in one policy: the generated key id is a slot, but one slot is one key everywhere."""
    iam, role = client("iam"), f"{PREFIX}-paralegal"
    document = json.dumps(iam.get_role_policy(RoleName=role, PolicyName="case-documents")["PolicyDocument"])
    swapped = re.sub(r"key/[0-9a-f-]{36}", "key/0b4d9c1e-0000-4000-8000-000000000000", document, count=1)
    assert swapped != document
    iam.put_role_policy(RoleName=role, PolicyName="case-documents", PolicyDocument=swapped)


CHANGES: list[tuple[Callable[[], None], set[tuple[str, str]]]] = [
    (_inline_iam_on_vendor, {("vendor-support", "inline-policy-extra"), ("vendor-support", "escalation-path")}),
    (_data_admin_on_it_operations, {("it-operations", "inline-policy-extra")}),
    (_trust_opened_to_everyone, {("paralegal", "trust-changed")}),
    (_break_glass_trusts_a_foreign_account, {("break-glass", "trust-changed")}),
    (_deployer_denies_deleted, {("ci-deployer", "inline-policy-missing")}),
    (_second_oidc_statement, {("ci-deployer", "trust-changed")}),
    (_admin_outside_the_prefix, {("ops-automation", "privileged-role-outside-stack")}),
    (_boundary_allows_everything, {("permissions-boundary", "policy-changed")}),
    (_boundary_removed, {("associate", "boundary-missing")}),
    (_key_swapped_in_one_policy, {("paralegal", "inline-policy-changed")}),
]


def test_each_change_is_a_finding_naming_role_and_change(graph: ResourceGraph, tmp_path: Path) -> None:
    """The issue's nine changes and a swapped key, in one account (a deployment and a review cost seconds each):
    the findings are exactly the union of what each change must produce, so each change is caught and none hides
    or causes another."""
    deploy(graph)
    for change, _ in CHANGES:
        change()

    code, report = review(tmp_path)

    assert code == 1
    found = {(role.split(":policy/")[-1].removeprefix(f"{PREFIX}-"), kind) for role, kind in kinds(report)}
    assert found == set().union(*(expected for _, expected in CHANGES))
    assert last_log(tmp_path)["result"] == f"fail: {len(report['differences'])} finding(s)"
    details = {(d["role"], d["kind"]): d["detail"] for d in report["differences"]}
    assert '"Principal": {"AWS": ["*"]}' in details[(f"{PREFIX}-paralegal", "trust-changed")]
    assert FOREIGN in details[(f"{PREFIX}-break-glass", "trust-changed")]
    assert '"repo:*"' in details[(f"{PREFIX}-ci-deployer", "trust-changed")]
    assert "PutRolePolicy (iam:putrolepolicy)" in details[(f"{PREFIX}-vendor-support", "escalation-path")]
    assert "inline policy segregation-of-duties is gone" in details[(f"{PREFIX}-ci-deployer", "inline-policy-missing")]
