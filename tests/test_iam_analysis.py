"""`caseshield.iam_analysis` (cloudsplaining's escalation catalogue on effective permissions) and the intent
matcher of the access review: each fires on what it must catch and holds on what it must accept."""

from __future__ import annotations

from typing import Any

from caseshield import iam_analysis
from caseshield.respond.intent import Matcher, Slots, normalize


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(*actions: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource, **extra}


def deny(*actions: str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": list(actions), "Resource": "*", **extra}


LAMBDA_PATH = allow("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction")


def types(paths: list[iam_analysis.EscalationPath]) -> set[str]:
    return {p["type"] for p in paths}


def test_pass_role_to_a_new_lambda_is_a_path_and_reading_documents_is_not() -> None:
    assert "PassExistingRoleToNewLambdaThenInvoke" in types(iam_analysis.escalation_paths(policy(LAMBDA_PATH)))
    assert iam_analysis.escalation_paths(policy(allow("s3:GetObject", "kms:Decrypt"))) == []


def test_a_resource_constraint_or_condition_does_not_hide_a_path() -> None:
    constrained = allow("iam:PutRolePolicy", resource="arn:aws:iam::123456789012:role/cs-prod-*",
                        Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    assert types(iam_analysis.escalation_paths(policy(constrained))) == {"PutRolePolicy"}


def test_only_an_unconditional_deny_on_everything_removes_a_path() -> None:
    assert iam_analysis.escalation_paths(policy(allow("iam:*"), deny("iam:*"))) == []
    conditional = deny("iam:*", Condition={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}})
    assert "PutRolePolicy" in types(iam_analysis.escalation_paths(policy(allow("iam:*"), conditional)))


def test_the_boundary_cuts_paths_the_identity_policy_allows() -> None:
    identity = [policy(LAMBDA_PATH), policy(allow("iam:PutRolePolicy"))]
    assert types(iam_analysis.effective_escalation_paths(identity, None)) >= {"PassExistingRoleToNewLambdaThenInvoke", "PutRolePolicy"}
    boundary = policy(allow("lambda:*", "s3:*"))
    assert iam_analysis.effective_escalation_paths(identity, boundary) == []
    assert types(iam_analysis.effective_escalation_paths(identity, policy(allow("iam:Put*")))) == {"PutRolePolicy"}


def test_normalize_spells_one_meaning_one_way_and_hides_the_external_id() -> None:
    one = {"Statement": {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": ["S3:GetObject", "s3:getobject"],
                         "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"sts:ExternalId": "s3cr3t"}}}}
    other = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::b/*"],
                            "Condition": {"StringEquals": {"STS:EXTERNALID": "other"}}}]}
    assert normalize(one) == normalize(other)
    assert "s3cr3t" not in str(normalize(one))
    assert normalize(one) != normalize({"Statement": [{**other["Statement"][0], "Action": "s3:*"}]})


def slotted(*texts: str) -> tuple[list[str], list[Any]]:
    slots = Slots()
    slots.add("caseshield-keys-docs-1234abc")
    return slots.values, [normalize(policy(allow("kms:Decrypt", resource=slots.mark(t)))) for t in texts]


def test_a_slot_matches_one_concrete_value_consistently_never_a_wildcard() -> None:
    values, [intended] = slotted("arn:aws:kms:us-east-1:1:key/caseshield-keys-docs-1234abc")
    live = [normalize(policy(allow("kms:Decrypt", resource=f"arn:aws:kms:us-east-1:1:key/{key}"))) for key in ("k-1", "k-2", "*")]

    assert Matcher(values).statement_diff(intended, live[2]) == (intended["Statement"], live[2]["Statement"])
    match = Matcher(values)
    assert match.statement_diff(intended, live[0]) == ([], [])
    assert match.statement_diff(intended, live[1]) == (intended["Statement"], live[1]["Statement"]), "the slot is bound to k-1"
    assert match.shown(intended["Statement"][0]["Resource"][0]) == "arn:aws:kms:us-east-1:1:key/k-1"
