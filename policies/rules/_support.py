"""Helpers rules share: reading engine property values, policy documents and relations between resources.

At preview the engine hands policies inputs in which values computed by other resources are still unknown; such
values are never treated as a pass or a fail of the value itself — rules that need to know where a value came from
follow property dependencies instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

# The sentinel the Pulumi engine uses for values not known until the update.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def get(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Value at a dotted path (`"metadataOptions.httpTokens"`; list items by index: `"rules.0.name"`)."""
    current: Any = props
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, Sequence) and not isinstance(current, str) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def document(value: Any) -> dict[str, Any] | None:
    """A JSON policy document property, parsed; None when absent or not yet known."""
    if value is None or is_unknown(value):
        return None
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    found = doc.get("Statement", [])
    return [dict(found)] if isinstance(found, Mapping) else [dict(s) for s in found]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def of_type(args: StackValidationArgs, *types: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type in types]


def sources(resource: PolicyResource, prop: str) -> list[PolicyResource]:
    """The resources whose outputs flowed into `resource`'s input `prop` (property dependencies)."""
    return list(resource.property_dependencies.get(prop, []) or [])


def consumers(args: StackValidationArgs, resource: PolicyResource, type_: str, prop: str) -> list[PolicyResource]:
    """Resources of `type_` whose input `prop` came from `resource`."""
    return [r for r in of_type(args, type_) if any(s.urn == resource.urn for s in sources(r, prop))]


def ancestors(resource: PolicyResource) -> Iterable[PolicyResource]:
    parent = resource.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def environment(args: ResourceValidationArgs | PolicyResource) -> str | None:
    """The environment tier from the provider's default tags (`environment`), which every resource inherits."""
    provider = getattr(args, "provider", None)
    props = getattr(provider, "props", None) or {}
    return get(props, "defaultTags.tags.environment")


def is_prod(args: ResourceValidationArgs | PolicyResource) -> bool:
    return environment(args) == "prod"


def violation(report: Any, message: str, *, path: str, actual: Any, expected: str, urn: str | None = None) -> None:
    """Report with evidence in a form reports can read back: `message [path = actual; expected X]`."""
    shown = "unknown until apply" if is_unknown(actual) else json.dumps(actual, sort_keys=True, default=str)
    report(f"{message} [{path} = {shown}; expected {expected}]", urn)
