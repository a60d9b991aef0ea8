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


# --- request-level evaluation (used by IAM-12) ----------------------------------------------------------------------

ROLE_ARN = "arn:aws:iam::123456789012:role/cs-prod-ci-deployer"
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/cs-prod-permissions-boundary"
PINNED_CREATE = {"Effect": "Allow", "Action": ["iam:CreateRole", "iam:PutRolePolicy"],
                 "Resource": "arn:aws:iam::123456789012:role/cs-prod-*",
                 "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}}


def principal(*identity: dict[str, Any], boundary: list[dict[str, Any]] | None = None) -> iam_analysis.Principal:
    return {"arn": ROLE_ARN, "identity": list(identity), "boundary": boundary}


def test_a_boundary_pin_limits_role_creation() -> None:
    """The condition that was read as no limit now counts: a role without the blueprint's boundary cannot be made."""
    p = principal(PINNED_CREATE)
    probe = "arn:aws:iam::123456789012:role/cs-prod-probe"
    assert iam_analysis.may(p, "iam:CreateRole", probe, {"iam:permissionsboundary": BOUNDARY_ARN})
    assert not iam_analysis.may(p, "iam:CreateRole", probe, {"iam:permissionsboundary": None})
    assert not iam_analysis.may(p, "iam:CreateRole", probe, {"iam:permissionsboundary": "arn:aws:iam::123456789012:policy/mine"})
    assert not iam_analysis.may(p, "iam:CreateRole", "arn:aws:iam::123456789012:role/other-team", {"iam:permissionsboundary": BOUNDARY_ARN})


def test_a_passed_to_service_pin_limits_pass_role() -> None:
    p = principal({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                   "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com"]}}})
    assert iam_analysis.may(p, "iam:PassRole", "arn:aws:iam::123456789012:role/x", {"iam:passedtoservice": "ec2.amazonaws.com"})
    assert not iam_analysis.may(p, "iam:PassRole", "arn:aws:iam::123456789012:role/x", {"iam:passedtoservice": "lambda.amazonaws.com"})


def test_unstated_keys_favour_the_attacker() -> None:
    """A region condition is the attacker's to satisfy in an Allow; a Deny on an unstated key may not apply."""
    regional = {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    assert iam_analysis.may(principal(regional), "s3:PutBucketPolicy", "arn:aws:s3:::b")
    odd_deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}
    assert iam_analysis.may(principal(regional, odd_deny), "s3:PutBucketPolicy", "arn:aws:s3:::b")


def test_boundary_caps_and_denies_win_with_principal_conditions() -> None:
    grant = {"Effect": "Allow", "Action": "iam:DeleteRolePolicy", "Resource": "arn:aws:iam::123456789012:role/cs-prod-*"}
    ceiling = {"Effect": "Allow", "Action": "iam:*RolePolicy", "Resource": "*",
               "Condition": {"ArnEquals": {"aws:PrincipalArn": [ROLE_ARN]}}}
    assert iam_analysis.may(principal(grant, boundary=[ceiling]), "iam:DeleteRolePolicy", ROLE_ARN)
    assert not iam_analysis.may(principal(grant, boundary=[]), "iam:DeleteRolePolicy", ROLE_ARN)
    protect = {"Effect": "Deny", "Action": "iam:DeleteRolePolicy", "Resource": [ROLE_ARN],
               "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/cs-prod-break-glass"]}}}
    assert not iam_analysis.may(principal(grant, boundary=[ceiling, protect]), "iam:DeleteRolePolicy", ROLE_ARN)
    negated_missing = {"Effect": "Deny", "Action": "iam:PutRolePolicy", "Resource": "*",
                       "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}}
    assert not iam_analysis.may(principal(PINNED_CREATE, negated_missing), "iam:PutRolePolicy",
                                "arn:aws:iam::123456789012:role/cs-prod-x", {"iam:permissionsboundary": None})


def test_key_policies_must_allow_too() -> None:
    use = {"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"}
    key_policy: list[dict[str, Any]] = [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                         "Action": "kms:*", "Resource": "*",
                   "Condition": {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/cs-prod-key-admin"]}}}]
    assert not iam_analysis.may(principal(use), "kms:PutKeyPolicy", "arn:aws:kms:us-east-1:123456789012:key/k",
                                resource_policy=key_policy, resource_policy_required=True)
    key_policy[0]["Condition"]["ArnEquals"]["aws:PrincipalArn"].append(ROLE_ARN)
    assert iam_analysis.may(principal(use), "kms:PutKeyPolicy", "arn:aws:kms:us-east-1:123456789012:key/k",
                            resource_policy=key_policy, resource_policy_required=True)


def test_escalation_methods_come_from_cloudsplaining() -> None:
    methods = iam_analysis.escalation_methods()
    assert methods["PutRolePolicy"] == ("iam:putrolepolicy",)
    assert ("iam:passrole", "lambda:createfunction", "lambda:invokefunction") in methods.values()


def test_escalation_yaml_targets_every_iam_action_of_the_methods() -> None:
    """Each IAM action of cloudsplaining's methods is tried somewhere other than Resource "*" alone (where role and
    policy ARNs in a grant would never match), so a method AWS adds to cloudsplaining cannot slip through unaimed."""
    from caseshield import escalation

    targets = escalation.load().targets
    iam_actions = {a for actions in iam_analysis.escalation_methods().values() for a in actions if a.startswith("iam:")}
    assert sorted(iam_actions - set(targets)) == []


TRUSTED = "arn:aws:iam::123456789012:role/cs-prod-partner"
NAMED_PEOPLE = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole",
                "Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:user/caseshield/partner/*"]},
                              "Bool": {"aws:MultiFactorAuthPresent": "true"}}}
OUTSIDERS = ["arn:aws:iam::123456789012:user/intruder", "arn:aws:iam::123456789012:role/cs-prod-ci-deployer",
             "arn:aws:iam::111122223333:user/caseshield/partner/probe"]


def test_a_trust_naming_people_refuses_everyone_else_and_admits_them() -> None:
    assert iam_analysis.admitted_outsiders([NAMED_PEOPLE], TRUSTED, OUTSIDERS) == []
    assert iam_analysis.admitted_outsiders([NAMED_PEOPLE], TRUSTED, ["arn:aws:iam::123456789012:user/caseshield/partner/alice"])


def test_a_trust_of_the_whole_account_admits_its_principals_not_other_accounts() -> None:
    account_wide = {k: v for k, v in NAMED_PEOPLE.items() if k != "Condition"}
    assert iam_analysis.admitted_outsiders([account_wide], TRUSTED, OUTSIDERS) == OUTSIDERS[:2]
