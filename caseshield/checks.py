"""Run the policy pack's own policy objects over an offline-evaluated resource graph.

The engine hands a CrossGuard pack `ResourceValidationArgs` per resource and one `StackValidationArgs` for the
stack; this module builds the same arguments from the recorded graph (parents, dependencies and property
dependencies linked as `PolicyResource` objects) and collects what each policy reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from caseshield.offline import RecordedResource, ResourceGraph

# Rules may end a message with "[path = actual; expected X]" (see policies/rules/_support.violation).
EVIDENCE_RE = re.compile(r"\s*\[(?P<path>[^\]=]+?) = (?P<actual>.*?); expected (?P<expected>[^\]]*)\]$")


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    path: str | None = None
    actual: str | None = None
    expected: str | None = None


def _options(r: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=r.protect,
        ignore_changes=list(r.options.get("ignoreChanges", [])),
        delete_before_replace=r.options.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(r.options.get("additionalSecretOutputs", [])),
        parent=r.parent,
    )


def _provider_urn(reference: str | None) -> str | None:
    """A provider reference is `<urn>::<id>`; the URN itself contains `::`, the id does not."""
    return reference.rsplit("::", 1)[0] if reference else None


class PolicyView:
    """The graph as the policy SDK's objects, built once and shared by every policy."""

    def __init__(self, graph: ResourceGraph):
        self.graph = graph
        providers = {r.urn: PolicyProviderResource(r.type, r.inputs, r.urn, r.name)
                     for r in graph.resources if r.type.startswith("pulumi:providers:")}
        self.providers = {r.urn: providers.get(_provider_urn(r.provider) or "") for r in graph.resources}
        self.resources: dict[str, PolicyResource] = {
            r.urn: PolicyResource(r.type, r.inputs, r.urn, r.name, _options(r), self.providers[r.urn], None, [], {})
            for r in graph.resources
        }
        for r in graph.resources:
            view = self.resources[r.urn]
            view.parent = self.resources.get(r.parent or "")
            view.dependencies = [self.resources[u] for u in r.dependencies if u in self.resources]
            view.property_dependencies = {
                prop: [self.resources[u] for u in urns if u in self.resources]
                for prop, urns in r.property_dependencies.items()
            }

    def resource_args(self, r: RecordedResource) -> ResourceValidationArgs:
        return ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, _options(r), self.providers[r.urn])

    def stack_args(self) -> StackValidationArgs:
        return StackValidationArgs(list(self.resources.values()))


def run_policies(graph: ResourceGraph, policies: list[Policy]) -> list[Violation]:
    """Every violation every policy reports for this graph, in a stable order."""
    view = PolicyView(graph)
    stack_args = view.stack_args()
    found: list[Violation] = []
    for policy in policies:
        if isinstance(policy, ResourceValidationPolicy):
            for r in graph.resources:
                policy.validate(view.resource_args(r), _collector(found, policy.name, fixed_urn=r.urn))
        else:
            policy.validate(stack_args, _collector(found, policy.name, fixed_urn=None))  # type: ignore[attr-defined]
    return sorted(found, key=lambda v: (v.policy, v.urn, v.message))


def _collector(found: list[Violation], policy: str, fixed_urn: str | None) -> Any:
    """A `report_violation` callback. As in the engine, a resource policy's violations always belong to the
    resource under validation; a stack policy names the resource (or none, for the stack as a whole)."""

    def report(message: str, urn: str | None = None) -> None:
        found.append(_violation(policy, fixed_urn or urn or "", message))

    return report


def _violation(policy: str, urn: str, message: str) -> Violation:
    match = EVIDENCE_RE.search(message)
    if match is None:
        return Violation(policy, urn, message)
    return Violation(policy, urn, message[: match.start()].rstrip(), match["path"].strip(), match["actual"].strip(),
                     match["expected"].strip())
