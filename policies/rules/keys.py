"""Key-management rules (KEY-*): one rotated customer-managed key per data class, administrators who can never use
the keys they administer, and AWS services held to their source in every key policy.

The data classes are listed here, not imported from the program: the control promises them, so a change to the
program cannot quietly shrink what the rule expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from caseshield import schemas
from caseshield.role_matrix import MATRIX_PATH, RoleMatrix
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    UNKNOWN,
    ancestors,
    as_list,
    conditions,
    covers,
    document,
    expect,
    is_anyone,
    is_unknown,
    judged_later,
    of_type,
    peek,
    plain,
    reveal,
    sources_of_type,
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


# --- effective access of each data-class key, against what the class needs (policies/key-intents.yaml) --------------
#
# The rules above read statements; these ask questions. Each key policy is put to requests, evaluated as KMS does
# (caseshield.iam_analysis.may): the requests its purpose needs must be allowed (its administrators administer it,
# the matrix's users of its class use it through their services, the AWS services and service roles of the class do
# their work in the context they carry), and the requests it was written to keep out must be refused (an
# administrator decrypting, a grant to a principal, a request without the source or encryption context, the same
# request from another account, a principal of the account whose IAM grants nothing, a role without the class).

INTENTS_FILE = Path(__file__).resolve().parent.parent / "key-intents.yaml"
ROLE_MATRIX_COMPONENT = "caseshield:identity:RoleMatrix"
IAM_ROLE = "aws:iam/role:Role"
MANAGED_POLICY = "aws:iam/policy:Policy"
KEY_ARN = re.compile(r"arn:([a-z-]+):kms:([a-z0-9-]+):(\d{12}):")
ACCOUNT_IN_ARN = re.compile(r"arn:([a-z-]+):iam::(\d{12}):")
# A key policy's Allow grants nothing to a principal of the account on its own when it names the account root: IAM
# must agree. An identity with no policy at all stands for "IAM grants nothing".
ALLOW_EVERYTHING = ({"Effect": "Allow", "Action": "*", "Resource": "*"},)
# A caller no account vouches for: only a Principal of "*" admits it.
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Probe:
    """One request put to a key policy: who asks, for what, in which context (None: the request lacks the key)."""

    principal: str
    action: str
    context: tuple[tuple[str, str | None], ...]
    about: str

    def shown(self) -> str:
        carried = ", ".join(f"{k}={'(absent)' if v is None else v}" for k, v in self.context)
        return f"{self.about}: {self.principal} {self.action}" + (f" [{carried}]" if carried else "")


@dataclass(frozen=True)
class Place:
    """Where a key lives, for filling in the intents' placeholders."""

    partition: str
    account: str
    region: str
    prefix: str

    def fill(self, text: str, account: str | None = None) -> str:
        return text.format(partition=self.partition, account=account or self.account, region=self.region,
                           prefix=self.prefix)

    @property
    def root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"

    def arn(self, name: str) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{name}"

    def role(self, name: str, account: str | None = None) -> str:
        return f"arn:{self.partition}:iam::{account or self.account}:role/{self.prefix}-{name}"


@dataclass(frozen=True)
class KeyProbes:
    """The questions one data-class key must answer: allowed to administrators, users and services; refused to
    everyone else; refused to the named principals when their own IAM grants nothing."""

    administration: tuple[Probe, ...]
    administration_refused: tuple[Probe, ...]
    use: tuple[Probe, ...]
    refused: tuple[Probe, ...]
    without_iam: tuple[Probe, ...]


def key_intents() -> dict[str, Any]:
    """policies/key-intents.yaml, validated against its schema."""
    return dict(schemas.load(INTENTS_FILE, "key-intents"))


def _context(place: Place, values: Mapping[str, str | None] | None, account: str | None = None) -> tuple[tuple[str, str | None], ...]:
    return tuple(sorted((k.lower(), None if v is None else place.fill(v, account)) for k, v in (values or {}).items()))


def use_principal(place: Place, use: Mapping[str, Any], probe_role: str, account: str | None = None) -> str:
    """The principal of one `uses` entry: a service, a stack role, an ARN, or the probe role of the account."""
    if "service" in use:
        return place.fill(use["service"])
    if "role" in use:
        return place.role(use["role"], account)
    if "arn" in use:
        return place.fill(use["arn"], account)
    return place.role(probe_role, account)


def key_probes(intents: Mapping[str, Any], matrix: RoleMatrix, data_class: str, place: Place) -> KeyProbes:
    """Every question of policies/key-intents.yaml for one key of `data_class` (see the comment at its top)."""
    other, probe_role = str(intents["other_account"]), str(intents["probe_role"])
    spec = intents["classes"][data_class]
    admins = [place.role(r) for r in matrix.key_administrators()]
    users = [place.role(r) for r in matrix.key_users(data_class)]
    through = [place.fill(s) for s in spec["through"]]
    administration = [Probe(a, r["action"], _context(place, r.get("context")), "administrator")
                      for a in admins for r in intents["administrators"]["allow"]]
    administration_refused = [Probe(a, r["action"], _context(place, r.get("context")), "administrator using the key")
                              for a in admins for r in intents["administrators"]["deny"]]
    use = [Probe(u, action, (("kms:viaservice", service),), f"{data_class} user") for u in users
           for service in through for action in intents["users"]["actions"]]
    refused: list[Probe] = []
    account_wide: set[str | None] = set()
    for entry in spec["uses"]:
        principal = use_principal(place, entry, probe_role)
        context = _context(place, entry.get("context"))
        if entry.get("account"):
            account_wide.add(dict(context).get("kms:viaservice"))
        elsewhere = use_principal(place, entry, probe_role, other)
        for action in entry["actions"]:
            use.append(Probe(principal, action, context, entry["why"].split(",")[0].rstrip(".")))
            refused += [Probe(principal, action, tuple((k, None if k == key else v) for k, v in context),
                              f"{data_class} service use without {key}") for key, _ in context]
            from_elsewhere = Probe(elsewhere, action, _context(place, entry.get("context"), other),
                                   f"{data_class} service use from another account")
            if (from_elsewhere.principal, from_elsewhere.context) != (principal, context):
                refused.append(from_elsewhere)
    outsiders = [place.role(r) for r in sorted(set(matrix.roles) - set(matrix.key_users(data_class))
                                               - set(matrix.key_administrators()))] + [place.role(probe_role)]
    for outsider in outsiders:
        refused += [Probe(outsider, "kms:Decrypt", (("kms:viaservice", service),), f"role without {data_class}")
                    for service in [None, *through] if service not in account_wide]
    refused += [Probe(place.role(r, other), "kms:Decrypt", (("kms:calleraccount", other), ("kms:viaservice", service)),
                      f"{data_class} user of another account") for r in matrix.key_users(data_class) for service in through]
    refused += [Probe(ANONYMOUS, "kms:Decrypt", (("kms:calleraccount", None), ("kms:viaservice", service)),
                      "anonymous principal") for service in [None, *through]]
    without_iam = [p for p in [*administration, *use] if p.principal.startswith("arn:")]
    return KeyProbes(tuple(administration), tuple(administration_refused), tuple(use), tuple(refused), tuple(without_iam))


def _without_account_root(statements_: tuple[Mapping[str, Any], ...], root: str) -> list[dict[str, Any]]:
    """The key policy as it speaks to a principal whose IAM grants nothing: naming the account root delegates to
    IAM, so such statements admit nobody; "*" and principals named outright still admit."""
    stripped = []
    for s in statements_:
        principal = s.get("Principal")
        if isinstance(principal, Mapping) and "AWS" in principal:
            s = {**s, "Principal": {**principal, "AWS": [p for p in as_list(principal["AWS"]) if str(p) != root]}}
        stripped.append(dict(s))
    return stripped


@lru_cache(maxsize=4096)
def _answers(policy_json: str, resource: str, probes: tuple[Probe, ...], with_iam: bool, root: str) -> tuple[bool, ...]:
    """Whether each probe is allowed by the key policy, with IAM allowing everything (`with_iam`) or granting nothing
    (memoised: a mutant changes one key's policy, the others are asked the same questions again)."""
    from caseshield.iam_analysis import may

    found = tuple(statements(json.loads(policy_json)))
    if not with_iam:
        found = tuple(_without_account_root(found, root))
    identity = list(ALLOW_EVERYTHING) if with_iam else []
    return tuple(may({"arn": p.principal, "identity": identity, "boundary": None}, p.action, resource, dict(p.context),
                     resource_policy=found, resource_policy_required=with_iam) for p in probes)


def refused_of(policy: str, resource: str, probes: tuple[Probe, ...], place: Place) -> list[str]:
    """The probes the key policy refuses (IAM allowing everything)."""
    answers = _answers(policy, resource, probes, True, place.root)
    return [p.shown() for p, ok in zip(probes, answers, strict=True) if not ok]


def admitted_of(policy: str, resource: str, probes: tuple[Probe, ...], place: Place, *, with_iam: bool = True) -> list[str]:
    """The probes the key policy admits (IAM allowing everything, or granting nothing)."""
    answers = _answers(policy, resource, probes, with_iam, place.root)
    return [p.shown() for p, ok in zip(probes, answers, strict=True) if ok]


def stack_prefix(args: StackValidationArgs) -> str | None:
    """The stack's name prefix (`cs-prod`), from the physical name of a role-matrix role (`cs-prod-partner`);
    UNKNOWN while no name is known, None when the stack has no role-matrix role."""
    found: str | None = None
    for component in of_type(args, ROLE_MATRIX_COMPONENT):
        for role in of_type(args, IAM_ROLE):
            if role.parent is None or not any(a.urn == component.urn for a in ancestors(role)):
                continue
            name = peek(role.props, "name")
            if not isinstance(name, str) or is_unknown(name):
                found = found or UNKNOWN
                continue
            return name.removesuffix("-" + role.name.removeprefix(f"{component.name}-"))
    return found


def key_place(args: StackValidationArgs, key: PolicyResource, prefix: str) -> Place | None:
    """Partition, account and region of a key: from its ARN (its `region` input first), else from the account the
    stack's IAM policies name; None while they are not known."""
    arn = peek(key.props, "arn")
    found = KEY_ARN.match(arn) if isinstance(arn, str) else None
    if found:
        partition, region, account = found.groups()
    else:
        named = next((m for p in of_type(args, MANAGED_POLICY) for m in ACCOUNT_IN_ARN.finditer(str(peek(p.props, "policy")))), None)
        region = None
        if named is None:
            return None
        partition, account = named.groups()
    region = peek(key.props, "region") or region
    if not isinstance(region, str) or is_unknown(region):
        region = peek(getattr(key.provider, "props", None) or {}, "region") if key.provider is not None else None
    if not isinstance(region, str) or is_unknown(region):
        return None
    return Place(partition, account, region, prefix)


@lru_cache(maxsize=16)
def intent_classes(_text: str) -> frozenset[str]:
    """The data classes policies/key-intents.yaml states, once per text of it (`_text`, the cache's key only)."""
    return frozenset(key_intents()["classes"])


@lru_cache(maxsize=256)
def probes_of(inputs: tuple[str, str], data_class_: str, place: Place) -> KeyProbes:
    """`key_probes`, asked once per text of the intents and the role matrix (`inputs`, the cache's key only)."""
    from caseshield.role_matrix import load

    return key_probes(key_intents(), load(), data_class_, place)


def judged_keys(args: StackValidationArgs) -> list[tuple[PolicyResource, str, str, KeyProbes, Place]] | None:
    """(key, its policy JSON, its ARN, its questions, its place) for every data-class key of the stack whose policy
    is known; None when something needed is not known yet (the rule is judged at the update)."""
    prefix = stack_prefix(args)
    if prefix is None:
        return []  # no role-matrix role: IAM-01 reports the stack; no key's intent can be placed
    if is_unknown(prefix):
        return None
    inputs = (INTENTS_FILE.read_text(), MATRIX_PATH.read_text())
    classes = intent_classes(inputs[0])
    found = []
    for key in of_type(args, KMS_KEY):
        data_class_ = data_class(key)
        policy = reveal(key.props.get("policy"))
        if data_class_ not in classes:
            continue  # an unclassified key is reported by every-data-class-has-its-own-key
        if policy is None or is_unknown(policy):
            return None
        place = key_place(args, key, prefix)
        if place is None:
            return None
        arn = peek(key.props, "arn")
        resource = arn if isinstance(arn, str) and not is_unknown(arn) else place.arn(key.name)
        text = policy if isinstance(policy, str) else json.dumps(plain(policy), sort_keys=True)
        found.append((key, text, resource, probes_of(inputs, data_class_, place), place))
    return found


@stack_rule("KEY-02")
def key_administrators_can_administer_but_never_use(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data-class key's policy lets every key administrator of the role matrix (key-admin, ci-deployer)
    administer it (change its policy, describe it, schedule and cancel its deletion, grant it to an AWS resource),
    judged on effective access, and refuses each of them every cryptographic use and every grant to a principal.
    A key nobody may administer is a key lockout; an administrator who may decrypt both controls and opens case data.
    Implemented by components/keys.py (administration_statements) and components/backup.py (the copy region's key)."""
    found = judged_keys(args)
    if found is None:
        judged_later("policy")
        return
    for key, policy, resource, probes, place in found:
        missing = refused_of(policy, resource, probes.administration, place)
        if missing:
            violation(report, f"{key.name}: a key administrator of the role matrix cannot administer the key",
                      path="policy", actual=missing, expected="allowed by the key policy (policies/key-intents.yaml)",
                      urn=key.urn)
        using = admitted_of(policy, resource, probes.administration_refused, place)
        if using:
            violation(report, f"{key.name}: a key administrator may use the key or grant it to a principal",
                      path="policy", actual=using, expected="refused by the key policy", urn=key.urn)


@stack_rule("KEY-03")
def key_policies_serve_their_class(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data-class key's policy lets the role matrix's users of its class use it through the class's services,
    and lets every AWS service and service role of policies/key-intents.yaml do its work in the context it carries
    (CloudTrail for our trail, CloudWatch Logs for a log group of this account, Config and Backup through S3, ...):
    judged on effective access, so a grant dropped or turned into a Deny is a matrix or an audit the stack does not
    implement. Implemented by components/keys.py (key_policy, service_statements) and components/backup.py."""
    found = judged_keys(args)
    if found is None:
        judged_later("policy")
        return
    for key, policy, resource, probes, place in found:
        missing = refused_of(policy, resource, probes.use, place)
        if missing:
            violation(report, f"{key.name}: the key policy refuses uses its data class needs", path="policy",
                      actual=missing, expected="allowed by the key policy (policies/key-intents.yaml)", urn=key.urn)


@stack_rule("KEY-03")
def key_policies_refuse_everyone_else(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data-class key's policy refuses, judged on effective access: every use of policies/key-intents.yaml
    without one of the source, service or encryption-context keys it carries, and the same request from another
    account; every role of the matrix without the class (and a role no grant names) decrypting directly or through
    the class's services; the class's users from another account; an anonymous caller; and every named principal of
    the account when its own IAM grants nothing (a key policy naming the account root delegates to IAM: "*" or a
    principal named outright would admit it on the key policy alone). Implemented by components/keys.py (key_policy, service_statements) and
    components/backup.py."""
    found = judged_keys(args)
    if found is None:
        judged_later("policy")
        return
    for key, policy, resource, probes, place in found:
        admitted = admitted_of(policy, resource, probes.refused, place)
        if admitted:
            violation(report, f"{key.name}: the key policy admits requests it must refuse", path="policy",
                      actual=admitted, expected="refused by the key policy (policies/key-intents.yaml)", urn=key.urn)
        alone = admitted_of(policy, resource, probes.without_iam, place, with_iam=False)
        if alone:
            violation(report, f"{key.name}: the key policy admits principals of the account whatever their IAM says",
                      path="policy", actual=alone, expected="the account root named (IAM must agree), never \"*\"",
                      urn=key.urn)


KMS_ALIAS = "aws:kms/alias:Alias"


@stack_rule("KEY-01")
def every_data_class_key_is_found_by_its_alias(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each data class has the alias `alias/<stack prefix>/<class>`, and it points at that class's key: the live audit
    (`caseshield audit`: key rotation, administrators' denial, the audit-log checks) and the key-compromise runbook
    find a class's key by its alias only, so a key without it is a key no live check sees.
    Implemented by components/keys.py (KeyHierarchy: one alias per key)."""
    prefix = stack_prefix(args)
    if prefix is None:
        return  # no role-matrix role: IAM-01 reports the stack, and nothing names its prefix
    if is_unknown(prefix):
        judged_later("name")
        return
    aliases = {str(peek(a.props, "name")): a for a in of_type(args, KMS_ALIAS)}
    for wanted in DATA_CLASSES:
        name = f"alias/{prefix}/{wanted}"
        alias = aliases.get(name)
        if alias is None:
            violation(report, f"no alias {name}: the live audit cannot find the {wanted} key", path="name", actual=None,
                      expected=f"an aws:kms/alias:Alias named {name} targeting the {wanted} key")
            continue
        targets = sources_of_type(alias, "targetKeyId", KMS_KEY)
        if not any(data_class(k) == wanted for k in targets):
            violation(report, f"{alias.name}: {name} does not point at the {wanted} key", path="targetKeyId",
                      actual=[k.name for k in targets] or peek(alias.props, "targetKeyId"),
                      expected=f"the key id of the key tagged {CLASSIFICATION_TAG}={wanted}", urn=alias.urn)


def service_roles_of_intents(intents: Mapping[str, Any]) -> dict[str, set[str]]:
    """The stack roles policies/key-intents.yaml names as users of a class (`role:`), with the classes they use."""
    found: dict[str, set[str]] = {}
    for class_name, spec in intents["classes"].items():
        for entry in spec["uses"]:
            if "role" in entry:
                found.setdefault(entry["role"], set()).add(class_name)
    return found


def key_contexts(intents: Mapping[str, Any], place: Place) -> list[tuple[tuple[str, str | None], ...]]:
    """How a key can be called: directly, or through any service some class's users or uses go through."""
    services = {place.fill(s) for spec in intents["classes"].values() for s in spec["through"]}
    services |= {place.fill(str(e["context"]["kms:ViaService"])) for spec in intents["classes"].values()
                 for e in spec["uses"] if "kms:ViaService" in (e.get("context") or {})}
    return [(("kms:viaservice", None),), *((("kms:viaservice", s),) for s in sorted(services))]


@dataclass(frozen=True)
class ServiceRole:
    """A stack role policies/key-intents.yaml names (`role:`), as IAM evaluates it: its own inline and
    customer-managed policies (JSON) and its boundary's statements (JSON; None: no boundary)."""

    resource: PolicyResource
    arn: str
    identity: str
    boundary: str | None


def service_roles(args: StackValidationArgs, prefix: str, place: Place, names: Iterable[str]) -> dict[str, ServiceRole] | None:
    """The roles `names` of the stack (by physical name `<prefix>-<name>`); None while a policy is not known."""
    from policies.rules.identity import attachments, inline_documents, parsed

    roles = {str(peek(r.props, "name")): r for r in of_type(args, IAM_ROLE)}
    found = {}
    for short in sorted(names):
        role = roles.get(f"{prefix}-{short}")
        if role is None:
            continue  # a use whose role is missing is refused to it by key-policies-serve-their-class
        documents = inline_documents(args, role) + [d for a in attachments(args, role) for d in a.customer_documents()]
        boundary_policies = sources_of_type(role, "permissionsBoundary", MANAGED_POLICY)
        boundary = [parsed(b.props.get("policy")) for b in boundary_policies]
        if any(d.statements is None for d in documents) or any(b is None for b in boundary):
            return None
        identity = json.dumps([s for d in documents for s in d.statements or []], sort_keys=True)
        bounded = [s for b in boundary for s in b or []]
        found[short] = ServiceRole(role, place.role(short), identity,
                                   json.dumps(bounded, sort_keys=True) if peek(role.props, "permissionsBoundary") else None)
    return found


@lru_cache(maxsize=2048)
def _role_may(identity_json: str, boundary_json: str | None, principal: str, resource: str, policy_json: str,
              probes: tuple[Probe, ...]) -> tuple[bool, ...]:
    """Whether the role may make each probe's request: its IAM, its boundary and the key policy all agreeing."""
    from caseshield.iam_analysis import may

    identity, boundary = json.loads(identity_json), None if boundary_json is None else json.loads(boundary_json)
    key_policy = statements(json.loads(policy_json))
    return tuple(may({"arn": principal, "identity": identity, "boundary": boundary}, p.action, resource, dict(p.context),
                     resource_policy=key_policy, resource_policy_required=True) for p in probes)


@stack_rule("KEY-03")
def service_roles_may_use_the_keys_of_their_purpose(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each service role policies/key-intents.yaml names for a class's key with `own_policy` (the instance role for
    Session Manager's key, Config's role for the audit archive) may make those requests, judged on effective access:
    its own inline and customer-managed policies, its permissions boundary and the key policy, in the context the use
    carries. A session key the instance role cannot use is a shell nobody can open; a delivery key Config cannot use
    is a configuration history that stops. Implemented by components/app_tier.py (the instance role's session-key
    policy) and components/detection.py (the Config role's delivery policy)."""
    found = judged_keys(args)
    prefix = stack_prefix(args)
    if found is None:
        judged_later("policy")
        return
    if not found or not isinstance(prefix, str):
        return
    intents = key_intents()
    needs = [(class_name, entry) for class_name, spec in intents["classes"].items() for entry in spec["uses"]
             if entry.get("own_policy")]
    for key, policy, resource, _, place in found:
        roles = service_roles(args, prefix, place, {e["role"] for c, e in needs if c == data_class(key)})
        if roles is None:
            judged_later("policy")
            return
        for class_name, entry in needs:
            role = roles.get(entry["role"])
            if class_name != data_class(key) or role is None:
                continue
            probes = tuple(Probe(role.arn, action, _context(place, entry.get("context")), entry["role"])
                           for action in entry["own_policy"])
            answers = _role_may(role.identity, role.boundary, role.arn, resource, policy, probes)
            missing = [p.shown() for p, ok in zip(probes, answers, strict=True) if not ok]
            if missing:
                violation(report, f"{role.resource.name}: may not use the {class_name} key ({key.name}) as its purpose "
                          "needs", path="policy", actual=missing,
                          expected="allowed by its own policies, its boundary and the key policy", urn=role.resource.urn)


@stack_rule("KEY-03")
def service_roles_decrypt_only_the_keys_of_their_purpose(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each service role policies/key-intents.yaml names for a class's key (the instance role for Session Manager's
    key, Config's and Backup's roles) may decrypt, judged on effective access (its own inline and customer-managed
    policies, its permissions boundary and each key's policy, directly or through any of the classes' services),
    no data-class key but the ones named for it: a key policy that leaves use through a service to IAM is only as
    narrow as the IAM of the roles of the account. Implemented by components/app_tier.py (the instance role's
    session-key policy), components/detection.py and components/backup.py (their roles' policies)."""
    found = judged_keys(args)
    prefix = stack_prefix(args)
    if found is None:
        judged_later("policy")
        return
    if not found or not isinstance(prefix, str):
        return
    intents = key_intents()
    purposes = service_roles_of_intents(intents)
    for key, policy, resource, _, place in found:
        roles = service_roles(args, prefix, place, purposes)
        if roles is None:
            judged_later("policy")
            return
        contexts = tuple(key_contexts(intents, place))
        probes = tuple(Probe(place.role(short), "kms:Decrypt", c, short) for short in sorted(roles) for c in contexts)
        for short, role in sorted(roles.items()):
            if data_class(key) in purposes[short]:
                continue
            mine = tuple(p for p in probes if p.about == short)
            answers = _role_may(role.identity, role.boundary, role.arn, resource, policy, mine)
            reached = [dict(p.context).get("kms:viaservice") or "a direct call" for p, ok in zip(mine, answers, strict=True) if ok]
            if reached:
                violation(report, f"{role.resource.name}: may decrypt the {data_class(key)} key ({key.name}), which its "
                          "purpose does not need", path="policy", actual=reached,
                          expected=f"kms:Decrypt only with the keys of {', '.join(sorted(purposes[short]))}",
                          urn=role.resource.urn)


