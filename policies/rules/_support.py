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
from pulumi_policy.proxy import UnknownValueError

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


def peek(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """`get` for a rule that decides without the value itself when it is not yet known (from where it came, say):
    an unknown value comes back as UNKNOWN instead of stopping the policy, as reading it through the handler's
    proxy does. A rule that peeks must still judge an UNKNOWN explicitly: never pass it unseen."""
    try:
        return get(props, path, default)
    except UnknownValueError:
        return UNKNOWN


def judged_later(path: str) -> None:
    """Stop the policy as the handler does when it reads a value not yet known: the engine reports it as not run at
    this preview (and runs it again when the value is known). Called by a rule after it has reported everything it
    could judge from what is known, so a partial verdict is never taken for a pass."""
    raise UnknownValueError(UNKNOWN, path.split("."))


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


def is_list(value: Any) -> bool:
    """A list-valued property: a list, or the engine handler's list proxy (a Sequence, not a `list`)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if is_list(value) else [value]


def plain(value: Any) -> Any:
    """A property value as plain dicts and lists (the handler wraps them in proxies that compare unequal to them).
    Reading an unknown value on the way raises the handler's UnknownValueError, as reading it directly would."""
    if isinstance(value, Mapping):
        return {k: plain(value[k]) for k in value}
    if is_list(value):
        return [plain(v) for v in value]
    return value


def whole_number(value: Any) -> int | None:
    """An integer property as an int: the engine's protobuf `Struct` carries every number as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


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
    # The engine hands a provider's object-valued inputs JSON-encoded (`"defaultTags": "{\"tags\": ...}"`).
    return get(document(props.get("defaultTags")) or {}, "tags.environment")


def is_prod(args: ResourceValidationArgs | PolicyResource) -> bool:
    return environment(args) == "prod"


def violation(report: Any, message: str, *, path: str, actual: Any, expected: str, urn: str | None = None) -> None:
    """Report with evidence in a form reports can read back: `message [path = actual; expected X]`."""
    try:
        shown = "unknown until apply" if is_unknown(actual) else json.dumps(plain(actual), sort_keys=True, default=str)
    except UnknownValueError:
        shown = "unknown until apply"
    report(f"{message} [{path} = {shown}; expected {expected}]", urn)


# --- relations: tags, typed sources, buckets behind a reference (added with the audit rules) -----------------------

S3_BUCKET = "aws:s3/bucket:Bucket"


def tag(resource: ResourceValidationArgs | PolicyResource, key: str) -> Any:
    """A tag set on the resource itself (`tags.<key>`; the provider's default tags are not included)."""
    return get(resource.props, f"tags.{key}")


def sources_of_type(resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
    """The resources of `types` whose outputs flowed into `resource`'s input `prop`."""
    return [s for s in sources(resource, prop) if s.resource_type in types]


def unique(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    """Resources without repeats (by URN), in first-seen order."""
    return list({r.urn: r for r in resources}.values())


def origin_buckets(resource: PolicyResource, prop: str, depth: int = 2) -> list[PolicyResource]:
    """The S3 buckets `resource`'s input `prop` came from: a bucket directly, or a resource that names a bucket in its
    own `bucket` input (its policy, its public-access block, ...), followed up to `depth` steps."""
    found: list[PolicyResource] = []
    for source in sources(resource, prop):
        if source.resource_type == S3_BUCKET:
            found.append(source)
        elif depth > 0:
            found.extend(origin_buckets(source, "bucket", depth - 1))
    return unique(found)


# --- values, checks and policy statements (added with the encryption and key rules) ---------------------------------

# The key the engine uses to mark a secret value in serialized properties ({SECRET_SIG: ..., "value": v}).
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def reveal(value: Any) -> Any:
    """A property value with its secret marking removed (the engine hands policies secrets unwrapped; recorded
    graphs may keep the marker)."""
    if isinstance(value, Mapping) and SECRET_SIG in value:
        return reveal(value.get("value"))
    return value


def expect(report: Any, resource: ResourceValidationArgs | PolicyResource, path: str,
           accepted: Any, *, expected: str, message: str | None = None) -> bool:
    """Report unless the value at `path` is accepted: one of the values in `accepted`, or `accepted(value)` is true.

    A value not known until the update passes here: it is judged when it is known. Returns whether it passed.
    """
    value = reveal(get(resource.props, path))
    if is_unknown(value):
        return True
    if callable(accepted):
        ok = bool(accepted(value))
    else:
        value = plain(value)
        ok = any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in accepted)
    if not ok:
        violation(report, message or f"{resource.name}: {path} is not {expected}", path=path, actual=value,
                  expected=expected, urn=resource.urn)
    return ok


def covers(patterns: Any, action: str) -> bool:
    """Whether IAM action patterns (`"kms:*"`, `"kms:ReEncrypt*"`, `"*"`; case-insensitive) include `action`."""
    from fnmatch import fnmatchcase

    return any(isinstance(p, str) and fnmatchcase(action.lower(), p.lower()) for p in as_list(patterns))


def is_anyone(principal: Any) -> bool:
    """Whether a statement's Principal is everyone: `"*"` or `{"AWS": "*"}`."""
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return principal == "*"


def conditions(statement: Mapping[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """A statement's Condition block as (operator, key, values) triples; keys lower-cased (IAM compares them so)."""
    block = statement.get("Condition") or {}
    return [(operator, key.lower(), as_list(values))
            for operator, tests in block.items() if isinstance(tests, Mapping) for key, values in tests.items()]


# --- data classes (added with the data-protection and privacy rules) ------------------------------------------------

CLASSIFICATION_TAG = "data-classification"


def classified_as(args: StackValidationArgs, data_class: str, *types: str) -> list[PolicyResource]:
    """Resources of `types` whose own `data-classification` tag is `data_class` (e.g. the case-documents bucket)."""
    return [r for r in of_type(args, *types) if tag(r, CLASSIFICATION_TAG) == data_class]


def resolve(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """`get`, except that a path leading through a value not yet known is itself unknown (UNKNOWN), not absent:
    `resolve({"rule": UNKNOWN}, "rule.objectOwnership")` is UNKNOWN where `get` gives the default."""
    current: Any = props
    for part in path.split("."):
        if is_unknown(current):
            return UNKNOWN
        current = get(current, part, default)
    return current


# --- ownership (added with the identity rules) ----------------------------------------------------------------------

def belonging_to(args: StackValidationArgs, owner: PolicyResource, type_: str, prop: str) -> list[PolicyResource]:
    """Resources of `type_` that belong to `owner`: their input `prop` came from it (property dependency), or, when
    that input came from no resource of the stack, `owner` is their parent."""
    found = []
    for r in of_type(args, type_):
        linked = sources(r, prop)
        if any(s.urn == owner.urn for s in linked) or (not linked and r.parent is not None and r.parent.urn == owner.urn):
            found.append(r)
    return found


def unknown_along(props: Mapping[str, Any], path: str) -> bool:
    """Whether the value at a dotted path, or an object or list on the way to it, is not known until the update."""
    parts = path.split(".")
    return any(is_unknown(reveal(get(props, ".".join(parts[:i])))) for i in range(1, len(parts) + 1))
