"""Hand-built policy-resource "worlds" shared by the rule edge-case tests (tests/test_rules_*.py).

Those tests do not run the Pulumi engine: each builds the resources a rule would be handed (inputs, options, the
provider whose default tags carry the environment tier, and the resources each input's value came from), breaks or
blurs one thing, and runs one rule the way the pack runs it. Building and running live here once, so every domain's
tests build their worlds, and run their rules, the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
)

from caseshield.engine import EngineResult, WireResource, analyze, build_requests
from policies.pack import build_policies
from policies.rules import RULES, Rule

World = dict[str, PolicyResource]
AWS_PROVIDER = "pulumi:providers:aws"


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


OPTIONS = options()


def provider(env: str, *, json_tags: bool = False, region: Any = None) -> PolicyProviderResource:
    """The AWS provider of environment tier `env`, in its default tags. The engine hands object-valued provider inputs
    JSON-encoded (`json_tags`); the rules' `environment()` reads either form, and the tests cover both."""
    tags = {"tags": {"environment": env}}
    props: dict[str, Any] = {"defaultTags": json.dumps(tags) if json_tags else tags}
    if region is not None:
        props["region"] = region
    return PolicyProviderResource(AWS_PROVIDER, props, f"urn:pulumi:{env}::caseshield::{AWS_PROVIDER}::aws", "aws")


class Builder:
    """Registers resources into a world; `deps` maps an input to the world names its value came from.

    `env` None builds resources without a provider, so without an environment tier (the rules read that as not prod).
    """

    def __init__(self, env: str | None, *, json_tags: bool = False) -> None:
        self.env = env
        self.json_tags = json_tags
        self.world: World = {}

    def add(self, key: str, type_: str, props: dict[str, Any], deps: dict[str, list[str]] | None = None,
            parent: str | None = None) -> PolicyResource:
        aws = provider(self.env, json_tags=self.json_tags) if self.env is not None else None
        resource = PolicyResource(type_, props, f"urn:pulumi:{self.env or 'test'}::caseshield::{type_}::{key}", key, OPTIONS,
                                  aws, self.world.get(parent or ""), [], {})
        resource.property_dependencies = {prop: [self.world[n] for n in names] for prop, names in (deps or {}).items()}
        self.world[key] = resource
        return resource


def policy(*statements: dict[str, Any]) -> str:
    """An IAM policy document, JSON-encoded as the resources' inputs carry it."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def props(resource: PolicyResource) -> dict[str, Any]:
    """A resource's inputs, to edit in place (the SDK types them as a read-only Mapping)."""
    assert isinstance(resource.props, dict)
    return resource.props


def without(w: World, *keys: str) -> World:
    """The world less the resources named."""
    return {k: r for k, r in w.items() if k not in keys}


def registered(rule: str | Callable[..., None]) -> Rule:
    """The registered rule of an id or of a check function."""
    if isinstance(rule, str):
        return RULES[rule]
    found = [r for r in RULES.values() if r.check is rule]
    assert found, f"{rule.__name__} is not a registered rule"
    return found[0]


def wire(resources: Sequence[PolicyResource]) -> list[WireResource]:
    """A world as the engine describes it to a policy pack: each resource (inputs and outputs alike: a world is a
    plan, not a deployment) and each provider it names."""
    providers = {r.provider.urn: r.provider for r in resources if r.provider is not None}
    found = [WireResource(urn=p.urn, type=p.resource_type, name=p.name, inputs=dict(p.props), outputs=dict(p.props))
             for p in providers.values()]
    found += [WireResource(
        urn=r.urn, type=r.resource_type, name=r.name, inputs=dict(r.props), outputs=dict(r.props),
        parent=r.parent.urn if r.parent is not None else None, dependencies=[d.urn for d in r.dependencies],
        property_dependencies={k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
        protect=r.opts.protect, provider=r.provider.urn if r.provider is not None else None) for r in resources]
    return found


@cache
def _policies() -> dict[str, Policy]:
    return {p.name: p for p in build_policies()}


def run(rule: str | Callable[..., None], world: World | Sequence[PolicyResource]) -> EngineResult:
    """What pulumi-policy's own handler answers when one rule (an id or its check function) is run on a world (named
    resources, or just a list of them): the values arrive as a protobuf Struct, wrapped in the handler's proxies."""
    resources = list(world.values()) if isinstance(world, dict) else list(world)
    return analyze(build_requests(wire(resources)), [_policies()[registered(rule).id]])


def check(rule: str | Callable[..., None], world: World | Sequence[PolicyResource]) -> list[str]:
    """The violation messages of `run`; a rule that raises fails the test (the engine would stop the preview)."""
    result = run(rule, world)
    assert result.errors == [], result.errors
    return [v.text for v in result.violations]
