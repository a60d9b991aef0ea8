"""Run the policy pack over an offline-evaluated resource graph, the way the engine runs it.

The recorded graph becomes the engine's analyzer requests (`caseshield/engine.py`): each resource's inputs for the
per-resource policies and its outputs (the provider's state; a component's registered outputs) for the stack
policies, with parent, dependencies and property dependencies. pulumi-policy's own handler runs the policies.
"""

from __future__ import annotations

from caseshield.engine import EngineResult, Requests, Violation, WireResource, analyze, build_requests
from caseshield.offline import RecordedResource, ResourceGraph

__all__ = ["Violation", "engine_requests", "run_engine", "run_policies", "wire_resource"]


def wire_resource(r: RecordedResource) -> WireResource:
    return WireResource(
        urn=r.urn, type=r.type, name=r.name, inputs=r.inputs, outputs=r.outputs,
        parent=r.parent, dependencies=r.dependencies, property_dependencies=r.property_dependencies,
        protect=r.protect, ignore_changes=r.options.get("ignoreChanges", []),
        delete_before_replace=r.options.get("deleteBeforeReplace"),
        additional_secret_outputs=r.options.get("additionalSecretOutputs", []),
        provider=r.provider.rsplit("::", 1)[0] if r.provider else None,  # `<urn>::<id>`; the id has no `::`
    )


def engine_requests(graph: ResourceGraph) -> Requests:
    return build_requests(wire_resource(r) for r in graph.resources)


def run_engine(graph: ResourceGraph, policies: list, requests: Requests | None = None) -> EngineResult:
    """Violations, policies that could not run (unknown values) and policies that raised, for this graph."""
    return analyze(requests or engine_requests(graph), policies)


def run_policies(graph: ResourceGraph, policies: list) -> list[Violation]:
    """Every violation every policy reports for this graph, in a stable order."""
    return run_engine(graph, policies).violations
