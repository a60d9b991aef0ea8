"""Mutants: deliberate breakages, one control at a time, that prove the rules bite.

Each mutant is a Pulumi resource transform (the engine's view of a resource, camelCase props) or a settings change
that breaks exactly one control on one stack. `caseshield check --mutants` and the test suite evaluate every
mutant and require the check to catch it; a control with no caught mutant is a control nobody has shown to work.

Mutants are registered per domain module with `mutant(...)`; small builders here keep each one to a line.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from policies.rules._support import SECRET_SIG

Props = dict[str, Any]


@dataclass(frozen=True)
class Mutant:
    id: str
    control: str
    description: str
    stack: str = "prod"
    transform: pulumi.ResourceTransform | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


MUTANTS: dict[str, Mutant] = {}


def mutant(id: str, control: str, description: str, *, transform: pulumi.ResourceTransform | None = None,
           overrides: dict[str, Any] | None = None, stack: str = "prod") -> Mutant:
    if id in MUTANTS:
        raise ValueError(f"mutant {id} is registered twice")
    if (transform is None) == (not overrides):
        raise ValueError(f"mutant {id} needs exactly one of transform or overrides")
    MUTANTS[id] = Mutant(id, control, description, stack, transform, dict(overrides or {}))
    return MUTANTS[id]


def load_all() -> dict[str, Mutant]:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return MUTANTS


# --- builders -----------------------------------------------------------------------------------------------------

def edit(type_: str, change: Callable[[Props], Props | None], name: str = "*") -> pulumi.ResourceTransform:
    """A transform applying `change` to a deep copy of the props of every `type_` resource whose name matches."""

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != type_ or not fnmatch.fnmatchcase(args.name, name):
            return None
        props = copy.deepcopy(dict(args.props))
        changed = change(props)
        return pulumi.ResourceTransformResult(changed if changed is not None else props, args.opts)

    return transform


def _walk(props: Any, path: str) -> tuple[Any, str]:
    parts = path.split(".")
    current = props
    for part in parts[:-1]:
        current = current[int(part)] if isinstance(current, list) else current.setdefault(part, {})
    return current, parts[-1]


def set_path(path: str, value: Any) -> Callable[[Props], None]:
    """An edit setting a dotted path (list items by index) of props or of a JSON document, e.g. `"inputs.kmsKeyId"`."""

    def change(props: Props) -> None:
        parent, key = _walk(props, path)
        if isinstance(parent, list):
            parent[int(key)] = value
        else:
            parent[key] = value

    return change


def set_prop(type_: str, path: str, value: Any, name: str = "*") -> pulumi.ResourceTransform:
    """Set a (dotted) property path to `value`, e.g. `set_prop("aws:kms/key:Key", "enableKeyRotation", False)`."""
    return edit(type_, set_path(path, value), name)


def drop_prop(type_: str, path: str, name: str = "*") -> pulumi.ResourceTransform:
    """Remove a (dotted) property path."""

    def change(props: Props) -> None:
        parent, key = _walk(props, path)
        if isinstance(parent, dict):
            parent.pop(key, None)

    return edit(type_, change, name)


def edit_document(type_: str, prop: str, change: Callable[[dict[str, Any]], None], name: str = "*") -> pulumi.ResourceTransform:
    """Edit a JSON policy document property in place (drop a statement, widen a principal, ...), keeping its secret
    marking if it has one."""

    def apply(props: Props) -> None:
        raw = props.get(prop)
        wrapped = raw if isinstance(raw, dict) and SECRET_SIG in raw else None
        text = wrapped["value"] if wrapped is not None else raw
        if not isinstance(text, str):
            return
        document = json.loads(text)
        change(document)
        props[prop] = {**wrapped, "value": json.dumps(document)} if wrapped is not None else json.dumps(document)

    return edit(type_, apply, name)


def drop_statement(*sids: str) -> Callable[[dict[str, Any]], None]:
    """A document edit removing the statements with these Sids."""

    def change(document: dict[str, Any]) -> None:
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") not in sids]

    return change


def each_statement(change: Callable[[dict[str, Any]], None], sid: str | None = None) -> Callable[[dict[str, Any]], None]:
    """A document edit applying `change` to every statement (or only the one with `sid`)."""

    def apply(document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            if sid is None or statement.get("Sid") == sid:
                change(statement)

    return apply
