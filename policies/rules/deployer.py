"""Effective-access probes (IAM-03, IAM-08, IAM-12): the CI deployer may deploy exactly the blueprint, the key
administrators administer exactly the data-class keys, and each permissions boundary's ceilings reach only the
principals they name while its guardrails deny whatever a role is granted.

A control proves effective access, not the presence of a statement. `policies/role-probes.yaml` states, as data,
the requests each of these grants exists for (must be allowed: the pipeline deploys a service, passes a service
role to its service, the key administrator puts a key policy) and the requests it must never reach (must be
refused: another region, a role or policy outside the blueprint's names, a role passed to another service, a key
outside the blueprint, a grant to a principal, a ceiling used by a role it does not name, a guardrail crossed by
break-glass). Each request is evaluated as IAM evaluates it (`caseshield.iam_analysis.may`): the role's identity
policies within its boundary, the key or bucket policy applied, explicit denies winning, conditions evaluated
against the probe's context. So a dropped Allow fails as "the pipeline can no longer ...", a dropped, negated or
loosened condition or a widened resource as "... may now ...", whatever statement the change was made to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from caseshield import schemas
from caseshield.project import ROOT
from caseshield.role_matrix import load
from policies.rules import stack_rule
from policies.rules._support import CLASSIFICATION_TAG, ancestors, is_unknown, judged_later, of_type, peek, tag, violation
from policies.rules.identity import (
    EVERYTHING,
    KMS_KEY,
    MANAGED_POLICY,
    ROLE,
    S3_BUCKET,
    Attack,
    attack,
    parsed,
    service_boundaries,
    sources_of_type,
    statements_of,
)

KEY_HIERARCHY = "caseshield:keys:KeyHierarchy"
PROBES_FILE = ROOT / "policies" / "role-probes.yaml"
# The principal kinds a probe may ask as, besides a matrix role.
NEW_ROLE = "new-role"
SERVICE_ROLE = "service-role:"
# Whole-resource kinds of a probe.
DATA_KEYS = "data-keys"
OUTSIDE_KEY = "outside-key"
DATA_BUCKET = "data-bucket:"
NEW_ROLE_NAME = "access-probe"
OUTSIDE_KEY_ID = "access-probe-outside-the-blueprint"


@dataclass(frozen=True)
class Probe:
    """One request and what IAM must answer to it."""

    principal: str
    actions: tuple[str, ...]
    resource: str
    context: tuple[tuple[str, str | None], ...]
    allow: bool
    why: str


@lru_cache(maxsize=8)
def _probes(text: str) -> dict[str, tuple[Probe, ...]]:
    del text  # the cache key: the file's text, so an edit is seen
    document = schemas.load(PROBES_FILE, "role-probes")
    outside = {"outside-region": document["outside"]["region"], "outside-account": document["outside"]["account"]}
    return {group: tuple(Probe(p["as"], tuple(p.get("actions") or [p["action"]]), str(_fill_static(p["resource"], outside)),
                               tuple((k, _fill_static(v, outside)) for k, v in (p.get("context") or {}).items()),
                               p["expect"] == "allow", p["why"]) for p in found)
            for group, found in document["probes"].items()}


def _fill_static(value: str | None, outside: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    for name, v in outside.items():
        value = value.replace(f"{{{name}}}", v)
    return value


def probes(group: str) -> tuple[Probe, ...]:
    """The probes of one group of policies/role-probes.yaml (deployer, key-administration, boundary, service-boundary)."""
    return _probes(PROBES_FILE.read_text())[group]


@dataclass(frozen=True)
class Target:
    resource: str
    policy: tuple[Mapping[str, Any], ...] = ()
    kms: bool = False


class Asker:
    """Who probes are asked as, and where, in one stack."""

    def __init__(self, args: StackValidationArgs, surface: Attack):
        self.args, self.surface = args, surface
        self.region = next((arn.split(":")[3] for arn, _ in surface.keys), None)
        s = surface
        self.values = {"partition": s.partition, "account": s.account, "prefix": s.prefix, "region": self.region or "",
                       "boundary": self._policy_arn(s.boundaries), "service-boundary": self._policy_arn(service_boundaries(args))}
        self._principals: dict[str, Any] = {}
        # The data-class keys: those of the key hierarchy (the backup copy key is the backup component's own).
        self.hierarchy = {str(peek(k.props, "arn")) for k in of_type(args, KMS_KEY)
                          if any(a.resource_type == KEY_HIERARCHY for a in ancestors(k))}

    def _policy_arn(self, policies: Sequence[PolicyResource]) -> str:
        names = [peek(p.props, "name") for p in policies]
        return next((self.surface.iam_arn("policy", str(n)) for n in names if isinstance(n, str) and not is_unknown(n)), "")

    def fill(self, value: str) -> str:
        for name, v in self.values.items():
            value = value.replace(f"{{{name}}}", v)
        return value

    def principal(self, name: str) -> Any:
        """The principal a probe asks as; a string saying why not while it cannot be known (or is missing)."""
        if name not in self._principals:
            self._principals[name] = self._principal(name)
        return self._principals[name]

    def _principal(self, name: str) -> Any:
        s = self.surface
        boundary = [st for b in s.boundaries for st in parsed(b.props.get("policy")) or []]
        if name == NEW_ROLE:
            return {"arn": s.iam_arn("role", f"{s.prefix}-{NEW_ROLE_NAME}"), "identity": list(EVERYTHING), "boundary": boundary}
        if name.startswith(SERVICE_ROLE):
            wanted = f"{s.prefix}-{name.removeprefix(SERVICE_ROLE)}"
            role = next((r for r in of_type(self.args, ROLE) if peek(r.props, "name") == wanted), None)
            if role is None:
                return f"the stack has no service role {wanted}"
            own = [st for b in sources_of_type(role, "permissionsBoundary", MANAGED_POLICY) for st in parsed(b.props.get("policy")) or []]
            return {"arn": s.iam_arn("role", wanted), "identity": list(EVERYTHING),
                    "boundary": own if peek(role.props, "permissionsBoundary") else None}
        role = s.roles.get(name)
        if role is None:
            return f"the stack has no matrix role {name}"
        identity = statements_of(self.args, role)
        if isinstance(identity, str):
            return identity
        own = [st for b in sources_of_type(role, "permissionsBoundary", MANAGED_POLICY) for st in parsed(b.props.get("policy")) or []]
        return {"arn": s.role_arns[name], "identity": identity, "boundary": own if peek(role.props, "permissionsBoundary") else None}

    def targets(self, resource: str) -> list[Target]:
        s = self.surface
        if resource == DATA_KEYS:
            return [Target(arn, policy, kms=True) for arn, policy in s.keys if arn in self.hierarchy]
        if resource == OUTSIDE_KEY:
            default_key_policy = ({"Effect": "Allow", "Principal": {"AWS": f"arn:{s.partition}:iam::{s.account}:root"},
                                   "Action": "kms:*", "Resource": "*"},)
            return [Target(f"arn:{s.partition}:kms:{self.region}:{s.account}:key/{OUTSIDE_KEY_ID}", default_key_policy, kms=True)]
        if resource.startswith(DATA_BUCKET):
            data_class = resource.removeprefix(DATA_BUCKET)
            arns = {str(peek(b.props, "arn")) for b in of_type(self.args, S3_BUCKET) if tag(b, CLASSIFICATION_TAG) == data_class}
            return [Target(f"{arn}/{NEW_ROLE_NAME}", policy) for arn, policy in s.buckets if arn in arns]
        return [Target(self.fill(resource))]


def failed(asker: Asker, probe: Probe) -> list[str]:
    """The requests of `probe` IAM answers otherwise than it expects (each as `action on resource`)."""
    from caseshield.iam_analysis import may

    principal = asker.principal(probe.principal)
    if isinstance(principal, str):
        return [] if "not known" in principal else [principal]
    context = {k.lower(): None if v is None else asker.fill(v) for k, v in probe.context}
    targets = asker.targets(probe.resource)
    if not targets and probe.allow:
        return [f"no {probe.resource} in the stack"]
    return [f"{action} on {t.resource}" for action in probe.actions for t in targets
            if may(principal, action, t.resource, context, resource_policy=t.policy, resource_policy_required=t.kms) != probe.allow]


def run_probes(args: StackValidationArgs, report: ReportViolation, group: str) -> None:
    """Ask every probe of `group` and report each that IAM answers otherwise than it expects."""
    from caseshield import escalation

    surface = attack(args, load(), escalation.load().targets)
    if surface is None or not surface.keys:
        judged_later("policy")
        return
    asker = Asker(args, surface)
    pending = False
    for probe in probes(group):
        principal = asker.principal(probe.principal)
        if isinstance(principal, str) and "not known" in principal:
            pending = True
            continue
        found = failed(asker, probe)
        if not found:
            continue
        urn = asker.surface.roles[probe.principal].urn if probe.principal in asker.surface.roles else None
        if probe.allow:
            violation(report, f"{probe.principal}: can no longer do what its grant is for: {probe.why}", path="policy",
                      actual=found[:10], expected="allowed (policies/role-probes.yaml)", urn=urn)
        else:
            violation(report, f"{probe.principal}: may now do what must stay refused: {probe.why}", path="policy",
                      actual=found[:10], expected="refused (policies/role-probes.yaml)", urn=urn)
    if pending:
        judged_later("policy")


@stack_rule("IAM-08")
def ci_deployer_may_deploy_exactly_the_blueprint(args: StackValidationArgs, report: ReportViolation) -> None:
    """The CI deployer may do each thing its deployment needs and nothing beyond the blueprint: its services in its
    regions only; roles of the blueprint's names only under the blueprint's boundary, the service roles by name only
    under the service boundary; the blueprint's policies, instance profiles and OIDC provider; each service role
    passed only to its service; data-class keys and aliases under the blueprint's prefix only; neither boundary
    edited. Judged on effective access (policies/role-probes.yaml `deployer`, evaluated with the boundary and every
    deny). Implemented by components/identity.py (deploy_allows, deploy_statements, boundary_document)."""
    run_probes(args, report, "deployer")


@stack_rule("IAM-12")
def key_administrators_administer_only_the_data_keys(args: StackValidationArgs, report: ReportViolation) -> None:
    """The key administrators (key-admin, the deployer) may administer every data-class key and grant it to AWS
    resources, and may neither administer a key outside the blueprint, nor grant one to a principal, nor use one.
    Judged on effective access (policies/role-probes.yaml `key-administration`, key policies applied).
    Implemented by components/identity.py (key_administration_statements) and components/keys.py (key policies)."""
    run_probes(args, report, "key-administration")


@stack_rule("IAM-03")
def boundary_ceilings_reach_only_their_principals(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each ceiling of the permissions boundary (data actions, key administration, deployment, break-glass) leaves
    the roles it names their grant and gives a role it does not name (one the deployer could create, granted
    everything) nothing; its guardrails refuse standing credentials and stopping the trail to every role,
    break-glass included. Judged on effective access (policies/role-probes.yaml `boundary`).
    Implemented by components/identity.py (boundary_document, guardrail_statements)."""
    run_probes(args, report, "boundary")


@stack_rule("IAM-12")
def service_boundary_leaves_service_roles_their_work_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """A service role granted everything may still do its service's work (deliver flow logs, run Session Manager)
    and may administer no key, not even one whose key policy leaves access to IAM. Judged on effective access
    (policies/role-probes.yaml `service-boundary`). Implemented by components/service_roles.py (service_boundary_document)."""
    run_probes(args, report, "service-boundary")
