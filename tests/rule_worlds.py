"""Hand-built policy-resource "worlds" shared by the rule edge-case tests (tests/test_rules_*.py).

Those tests do not run the Pulumi engine: each builds the resources a rule would be handed (inputs, options, the
provider whose default tags carry the environment tier, and the resources each input's value came from), breaks or
blurs one thing, and runs one rule the way the pack runs it. Building and running live here once, so every domain's
tests build their worlds, and run their rules, the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

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


def check(rule: str | Callable[..., None], world: World | Sequence[PolicyResource]) -> list[str]:
    """What one rule (an id or its check function) reports on a world (named resources, or just a list of them), run
    the way the pack runs it: a stack rule once, a resource rule for each resource of its types."""
    found = registered(rule)
    messages: list[str] = []
    resources = list(world.values()) if isinstance(world, dict) else list(world)

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    if found.kind == "stack":
        found.check(StackValidationArgs(resources), report)
    else:
        for r in resources:
            if r.resource_type in found.resource_types:
                found.check(ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider), report)
    return messages
