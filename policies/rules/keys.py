"""Key-management rules (KEY-*): one rotated customer-managed key per data class, administrators who can never use
the keys they administer, and AWS services held to their source in every key policy.

The data classes are listed here, not imported from the program: the control promises them, so a change to the
program cannot quietly shrink what the rule expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    as_list,
    conditions,
    covers,
    document,
    expect,
    is_anyone,
    of_type,
    reveal,
    statements,
    tag,
    violation,
)

KMS_KEY = "aws:kms/key:Key"
CLASSIFICATION_TAG = "data-classification"
DATA_CLASSES = ("case-documents", "case-database", "audit-logs", "backups", "application-secrets", "operational-logs")
# Only symmetric encryption keys support automatic rotation.
SYMMETRIC = "SYMMETRIC_DEFAULT"
# KMS's longest pending-deletion window, and its default when the input is absent.
DELETION_WINDOW_DAYS = 30

# Actions that change a key or its policy: a statement allowing any of them makes its principals administrators.
MANAGEMENT_ACTIONS = ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DisableKey",
                      "kms:EnableKey", "kms:DisableKeyRotation", "kms:UpdateKeyDescription", "kms:CreateAlias",
                      "kms:TagResource", "kms:UntagResource")
# What administrators must be denied: every operation that reveals or produces data under the key.
CRYPTO_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                  "kms:GenerateDataKeyWithoutPlaintext")
# Condition operators that name principals by ARN, and the key they test.
PRINCIPAL_ARN = "aws:principalarn"
PRINCIPAL_OPERATORS = ("ArnEquals", "ArnLike", "StringEquals", "StringLike")
# Conditions that tie a service (or "*") to our account, resource, service path or encryption context.
SOURCE_CONDITION_KEYS = ("aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "kms:viaservice", "kms:calleraccount")
ENCRYPTION_CONTEXT_PREFIX = "kms:encryptioncontext:"


def data_class(resource: ResourceValidationArgs | PolicyResource) -> Any:
    """The data class a resource is tagged with (`data-classification`)."""
    return tag(resource, CLASSIFICATION_TAG)


def key_statements(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statements of a key's policy; none while the policy is not known."""
    return statements(document(reveal(props.get("policy"))))


def statement_path(index: int) -> str:
    return f"policy.Statement.{index}"


def allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


@resource_rule("KEY-01", KMS_KEY)
def kms_keys_rotate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every symmetric customer-managed key rotates its key material automatically.
    Implemented by components/keys.py (KeyHierarchy) and components/backup.py (the copy region's key)."""
    if args.props.get("customerMasterKeySpec", SYMMETRIC) == SYMMETRIC:
        expect(report, args, "enableKeyRotation", (True,), expected="true")


@stack_rule("KEY-01")
def every_data_class_has_its_own_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data class has exactly one customer-managed key per region, and every key serves one known class.
    Implemented by components/keys.py (KeyHierarchy, one key per DATA_CLASSES entry)."""
    by_class: dict[tuple[str, Any], list[PolicyResource]] = {}
    for key in of_type(args, KMS_KEY):
        found = data_class(key)
        if found in DATA_CLASSES:
            by_class.setdefault((found, key.props.get("region")), []).append(key)
        else:
            violation(report, f"{key.name} is not classified: nobody can tell which data it protects",
                      path=f"tags.{CLASSIFICATION_TAG}", actual=found, expected=f"one of {', '.join(DATA_CLASSES)}",
                      urn=key.urn)
    for wanted in DATA_CLASSES:
        if not any(found == wanted for found, _ in by_class):
            violation(report, f"no customer-managed key is classified {wanted}", path=f"tags.{CLASSIFICATION_TAG}",
                      actual=None, expected=f"a key tagged {CLASSIFICATION_TAG}={wanted}")
    for (found, region), keys in by_class.items():
        for extra in keys[1:]:
            violation(report, f"{extra.name} is a second {found} key in its region (besides {keys[0].name})",
                      path=f"tags.{CLASSIFICATION_TAG}", actual=found,
                      expected=f"one {found} key in {region or 'the provider region'}", urn=extra.urn)


def administrators(statement: Mapping[str, Any]) -> list[str]:
    """Who an administrative statement names: its aws:PrincipalArn condition, else its explicit principals other
    than "*" and account roots (which stand for every principal the account's IAM allows)."""
    named = [v for operator, key, values in conditions(statement)
             if key == PRINCIPAL_ARN and operator in PRINCIPAL_OPERATORS for v in values]
    if named:
        return [str(v) for v in named]
    principal = statement.get("Principal")
    explicit = as_list(principal.get("AWS")) if isinstance(principal, Mapping) else []
    return [str(p) for p in explicit if p != "*" and not str(p).endswith(":root")]


def crypto_denied_to(statements_: list[dict[str, Any]]) -> list[str]:
    """ARN patterns denied every cryptographic action, unconditionally but for naming them."""
    denied: list[str] = []
    for s in statements_:
        if s.get("Effect") != "Deny" or not all(covers(s.get("Action"), a) for a in CRYPTO_ACTIONS):
            continue
        tests = conditions(s)
        if is_anyone(s.get("Principal")) and tests and all(k == PRINCIPAL_ARN and o in PRINCIPAL_OPERATORS for o, k, _ in tests):
            denied += [str(v) for _, _, values in tests for v in values]
        elif not tests:
            denied += administrators(s)
    return denied


@resource_rule("KEY-02", KMS_KEY)
def key_administrators_never_use_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every key policy names its administrators and denies them every cryptographic operation with the key.
    Implemented by components/keys.py (key_policy: KeyAdministration, AdministratorsNeverUseTheKey)."""
    found = key_statements(args.props)
    denied = crypto_denied_to(found)
    for index, s in enumerate(found):
        if not (allows(s) and any(covers(s.get("Action"), a) for a in MANAGEMENT_ACTIONS)):
            continue
        admins = administrators(s)
        if not admins:
            violation(report, f"{args.name}: statement {s.get('Sid', index)} lets every principal the account's IAM "
                      "allows administer the key, so no policy can keep administrators from using it",
                      path=statement_path(index), actual=s.get("Principal"),
                      expected="administrators named by an aws:PrincipalArn condition")
            continue
        users = [a for a in admins if not any(fnmatchcase(a, pattern) for pattern in denied)]
        if users:
            violation(report, f"{args.name}: administrators of statement {s.get('Sid', index)} are not denied "
                      "cryptographic use of the key", path=statement_path(index), actual=users,
                      expected=f"a Deny of {', '.join(CRYPTO_ACTIONS)} naming them by aws:PrincipalArn")
    admins_of_key = {a for s in found if allows(s) and any(covers(s.get("Action"), a) for a in MANAGEMENT_ACTIONS)
                     for a in administrators(s)}
    for index, s in enumerate(found):
        # A grant is use by proxy: an administrator who may create a grant for any grantee can grant itself Decrypt.
        if (allows(s) and covers(s.get("Action"), "kms:CreateGrant") and set(administrators(s)) & admins_of_key
                and not grants_only_to_aws_resources(s)):
            violation(report, f"{args.name}: statement {s.get('Sid', index)} lets administrators grant the key to anyone, "
                      "themselves included", path=f"{statement_path(index)}.Condition", actual=s.get("Condition"),
                      expected='Bool kms:GrantIsForAWSResource "true" (grants only to AWS services acting for a resource)')


def grants_only_to_aws_resources(statement: Mapping[str, Any]) -> bool:
    return any(operator == "Bool" and key == "kms:grantisforawsresource" and [str(v).lower() for v in values] == ["true"]
               for operator, key, values in conditions(statement))


@resource_rule("KEY-02", KMS_KEY)
def key_deletion_waits_thirty_days(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Scheduling a key for deletion leaves the full 30-day window to notice and cancel it.
    Implemented by components/keys.py (DELETION_WINDOW_DAYS)."""
    expect(report, args, "deletionWindowInDays", lambda days: days is None or days >= DELETION_WINDOW_DAYS,
           expected=f">= {DELETION_WINDOW_DAYS} days")


def broad(statement: Mapping[str, Any]) -> bool:
    """Whether a statement's principal reaches beyond our own IAM: an AWS service, or anyone."""
    principal = statement.get("Principal")
    return is_anyone(principal) or (isinstance(principal, Mapping) and bool(principal.get("Service")))


def held_to_a_source(statement: Mapping[str, Any]) -> bool:
    """Whether a condition ties the caller to our account, resource, service path or encryption context.
    `...IfExists` tests and bare "*" values tie nothing down."""
    return any(not operator.endswith("IfExists") and any(v != "*" for v in values)
               and (key in SOURCE_CONDITION_KEYS or key.startswith(ENCRYPTION_CONTEXT_PREFIX))
               for operator, key, values in conditions(statement))


@resource_rule("KEY-03", KMS_KEY)
def key_policies_hold_services_to_a_source(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Key policy statements that allow an AWS service or anyone ("*") are held to a source by a condition.
    Implemented by components/keys.py (service_statements).

    Accepted sources: aws:SourceArn, aws:SourceAccount, aws:SourceOrgID, kms:ViaService, kms:CallerAccount and
    kms:EncryptionContext:*."""
    for index, s in enumerate(key_statements(args.props)):
        if allows(s) and broad(s) and not held_to_a_source(s):
            violation(report, f"{args.name}: statement {s.get('Sid', index)} lets {s.get('Principal')} use the key "
                      "on anyone's behalf (confused deputy)", path=statement_path(index), actual=s.get("Condition"),
                      expected="a condition on aws:SourceArn, aws:SourceAccount, kms:ViaService, kms:CallerAccount "
                               "or kms:EncryptionContext:*")


# Operators that admit what they do NOT name, or pass when the key is absent: in an Allow they open the grant to
# everyone else (`ArnNotEquals aws:PrincipalArn [the users]` is every other principal of the account).
NEGATED_PREFIXES = ("StringNot", "ArnNot", "NumericNot", "DateNot", "NotIpAddress")


def _operator_base(operator: str) -> str:
    return operator.rpartition(":")[2]


def loosened_tests(statement: Mapping[str, Any]) -> list[str]:
    """The tests of an Allow that do not narrow it: negated operators, `...IfExists` and bare `*` values."""
    found = []
    for operator, key, values in conditions(statement):
        base = _operator_base(operator)
        if base.startswith(NEGATED_PREFIXES) or base.endswith("IfExists") or any(v == "*" for v in values):
            found.append(f"{operator} {key}")
    return found


def named_principals(statement: Mapping[str, Any]) -> list[str]:
    """The exact principal ARNs a positive, unconditional-on-absence aws:PrincipalArn test names (no wildcard)."""
    return [str(v) for operator, key, values in conditions(statement)
            if key == PRINCIPAL_ARN and _operator_base(operator) in ("ArnEquals", "StringEquals", "ArnLike", "StringLike")
            for v in values if "*" not in str(v)]


@resource_rule("KEY-03", KMS_KEY)
def key_policy_grants_name_their_principals(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every Allow of a key policy to the account (its root) or to anyone names the principals it admits by an exact
    aws:PrincipalArn test (or admits only calls through one of our services: kms:ViaService with kms:CallerAccount),
    and no Allow tests a condition negated, with `IfExists` or against a bare `*` (each admits
    principals or requests the statement was written to keep out). A service principal's grant is held to a source by
    key-policies-hold-services-to-a-source instead. Implemented by components/keys.py (key_policy)."""
    for index, s in enumerate(key_statements(args.props)):
        if not allows(s):
            continue
        loose = loosened_tests(s)
        if loose:
            violation(report, f"{args.name}: statement {s.get('Sid', index)} admits more than it names",
                      path=f"{statement_path(index)}.Condition", actual=loose,
                      expected="positive, exact condition tests (no negated operator, IfExists or bare *)")
        principal = s.get("Principal")
        aws = [str(p) for p in as_list(principal.get("AWS"))] if isinstance(principal, Mapping) else []
        to_account = is_anyone(principal) or any(p.endswith(":root") for p in aws)
        through_a_service = {"kms:viaservice", "kms:calleraccount"} <= {key for _, key, _ in conditions(s)}
        if to_account and not named_principals(s) and not through_a_service:
            violation(report, f"{args.name}: statement {s.get('Sid', index)} lets every principal the account's IAM "
                      "allows use the key", path=f"{statement_path(index)}.Condition", actual=s.get("Condition"),
                      expected="an exact aws:PrincipalArn test naming the principals (ArnEquals)")
