"""`caseshield respond access-review` against moto: it passes on roles built exactly from the role matrix and
fails, naming role and problem, on each kind of drift a quarterly review must catch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from caseshield import role_matrix
from tests.respond_support import ACCOUNT, client, last_log, mocked_aws, respond

PREFIX = "cs-prod"
MATRIX = role_matrix.load()


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from mocked_aws(monkeypatch, managed_policies=True)



def iam() -> Any:
    return client("iam")


# --- access-review ------------------------------------------------------------------------------------------------

def trust(kind: str, mfa: bool = True) -> dict[str, Any]:
    """The trust policy the role matrix asks for, per trust kind."""
    if kind == "oidc":
        provider = "token.actions.githubusercontent.com"
        statement: dict[str, Any] = {
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider}"}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{provider}:aud": "sts.amazonaws.com",
                                           f"{provider}:sub": "repo:lawfirm/caseshield:ref:refs/heads/main"}}}
    elif kind == "vendor":
        statement = {"Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole",
                     "Condition": {"StringEquals": {"sts:ExternalId": "casevendor-7f3a"}}}
    else:
        statement = {"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        if mfa:
            statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                      "NumericLessThan": {"aws:MultiFactorAuthAge": str(MATRIX.mfa_max_age_seconds)}}
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}


def create_role(name: str, kind: str, boundary: str | None, mfa: bool = True) -> None:
    extra = {"PermissionsBoundary": boundary} if boundary else {}
    iam().create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust(kind, mfa)), **extra)


@pytest.fixture
def boundary() -> str:
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}]}
    return str(iam().create_policy(PolicyName=f"{PREFIX}-boundary", PolicyDocument=json.dumps(document))["Policy"]["Arn"])


@pytest.fixture
def matrix_roles(boundary: str) -> str:
    """Every role of the matrix, built exactly as the matrix says; returns the boundary ARN."""
    for name, spec in MATRIX.roles.items():
        role = f"{PREFIX}-{name}"
        create_role(role, spec.trust, boundary)
        for policy in [*spec.managed_policies, *(["AdministratorAccess"] if spec.administrator else [])]:
            iam().attach_role_policy(RoleName=role, PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
        if spec.data:
            actions = sorted({a for dc, level in spec.data.items() for a in MATRIX.actions_for(dc, level)})
            statement = {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{PREFIX}-data/*"}
            iam().put_role_policy(RoleName=role, PolicyName="data-access",
                                  PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return boundary


def review(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    code = respond(tmp_path, "access-review", "--prefix", PREFIX, "--json", str(tmp_path / "review.json"))
    return code, json.loads((tmp_path / "review.json").read_text())


def kinds(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(d["role"], d["kind"]) for d in report["differences"]}


def test_review_passes_on_roles_built_exactly_from_the_matrix(matrix_roles: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    create_role("cs-dev-partner", "human", None, mfa=False)  # another stack's drift is not this review's business

    code, report = review(tmp_path)

    assert (code, report["differences"]) == (0, [])
    vendor_condition = report["roles"][f"{PREFIX}-vendor-support"]["trust"]["Statement"][0]["Condition"]
    assert vendor_condition == {"StringEquals": {"sts:ExternalId": "<redacted>"}}, "the shared secret stays out of the report"
    assert sorted(report["roles"]) == sorted(f"{PREFIX}-{name}" for name in MATRIX.roles)
    assert "None: live IAM matches the role matrix." in capsys.readouterr().out
    record = last_log(tmp_path)
    assert record["read_only"] is True and record["result"] == "pass" and record["target"] == PREFIX


def test_review_flags_a_human_role_without_mfa_and_an_extra_admin(matrix_roles: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    iam().update_assume_role_policy(RoleName=f"{PREFIX}-paralegal", PolicyDocument=json.dumps(trust("human", mfa=False)))
    iam().attach_role_policy(RoleName=f"{PREFIX}-it-operations", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    create_role(f"{PREFIX}-incident-temp", "human", matrix_roles)
    iam().put_role_policy(RoleName=f"{PREFIX}-incident-temp", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))

    code, report = review(tmp_path)

    assert code == 1
    assert kinds(report) == {(f"{PREFIX}-paralegal", "mfa-missing"), (f"{PREFIX}-it-operations", "administrator-access"),
                             (f"{PREFIX}-incident-temp", "extra-role"), (f"{PREFIX}-incident-temp", "administrator-access")}
    out = capsys.readouterr().out
    assert "## Differences (4)" in out and f"**{PREFIX}-paralegal** `mfa-missing`" in out
    assert last_log(tmp_path)["result"] == "fail: 4 finding(s)"


def test_review_flags_missing_role_external_id_boundary_mfa_age_and_oidc_subject(matrix_roles: str, tmp_path: Path) -> None:
    iam().delete_role(RoleName=f"{PREFIX}-key-admin")
    vendor = trust("vendor")
    del vendor["Statement"][0]["Condition"]
    iam().update_assume_role_policy(RoleName=f"{PREFIX}-vendor-support", PolicyDocument=json.dumps(vendor))
    iam().delete_role_permissions_boundary(RoleName=f"{PREFIX}-associate")
    stale = trust("human")
    stale["Statement"][0]["Condition"]["NumericLessThan"]["aws:MultiFactorAuthAge"] = "43200"
    iam().update_assume_role_policy(RoleName=f"{PREFIX}-partner", PolicyDocument=json.dumps(stale))
    ci = trust("oidc")
    ci["Statement"][0]["Condition"] = {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:lawfirm/*"}}
    iam().update_assume_role_policy(RoleName=f"{PREFIX}-ci-deployer", PolicyDocument=json.dumps(ci))
    iam().detach_role_policy(RoleName=f"{PREFIX}-security-auditor", PolicyArn="arn:aws:iam::aws:policy/SecurityAudit")

    code, report = review(tmp_path)

    assert code == 1
    assert kinds(report) == {(f"{PREFIX}-key-admin", "missing-role"), (f"{PREFIX}-vendor-support", "external-id-missing"),
                             (f"{PREFIX}-associate", "boundary-missing"), (f"{PREFIX}-partner", "mfa-age"),
                             (f"{PREFIX}-ci-deployer", "oidc-subject-missing"),
                             (f"{PREFIX}-security-auditor", "managed-policy-missing")}
