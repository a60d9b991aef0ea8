"""Mutants: deliberate breakages, one control at a time, that prove the rules bite.

Each mutant is a Pulumi resource transform (the engine's view of a resource, camelCase props), a settings change
or an edit of an input file the program and the rules both read (`inputs`: `policies/alarms.yaml`, say) that breaks
exactly one control on one stack. `caseshield check --mutants` and the test suite evaluate every
mutant and require the check to catch it; a control with no caught mutant is a control nobody has shown to work.

Mutants are registered per domain module with `mutant(...)`; small builders here keep each one to a line.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
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
    # Input file (relative to the project) -> an edit of its parsed document, seen by the program and the rules alike.
    inputs: dict[str, Callable[[Any], None]] = field(default_factory=dict)

    @contextmanager
    def edited_inputs(self) -> Iterator[None]:
        """Run the program and the rules inside this block: they read the mutant's input files edited."""
        with edited_inputs(self.inputs):
            yield


MUTANTS: dict[str, Mutant] = {}


def mutant(id: str, control: str, description: str, *, transform: pulumi.ResourceTransform | None = None,
           overrides: dict[str, Any] | None = None, inputs: dict[str, Callable[[Any], None]] | None = None,
           stack: str = "prod") -> Mutant:
    if id in MUTANTS:
        raise ValueError(f"mutant {id} is registered twice")
    if [transform is not None, bool(overrides), bool(inputs)].count(True) != 1:
        raise ValueError(f"mutant {id} needs exactly one of transform, overrides or inputs")
    MUTANTS[id] = Mutant(id, control, description, stack, transform, dict(overrides or {}), dict(inputs or {}))
    return MUTANTS[id]


@contextmanager
def edited_inputs(edits: dict[str, Callable[[Any], None]]) -> Iterator[None]:
    """Within the block, `caseshield.schemas.load` of each edited file returns its document with the edit applied
    (and checked against the file's schema, as the real file would be). Everything that reads an input file goes
    through `schemas.load`: the program (components/alerting.py) and the rules (policies/rules/monitoring.py) both
    see the edit, so a data mutant cannot be caught merely because the rules kept reading the unedited file."""
    from caseshield import role_matrix, schemas
    from caseshield.project import ROOT
    from caseshield.strict_yaml import InputError, display_path

    if not edits:
        yield
        return
    original = schemas.load
    targets = {(ROOT / relative).resolve(): change for relative, change in edits.items()}

    def load(path: Path, schema_name: str, **options: Any) -> Any:
        change = targets.get(Path(path).resolve())
        document = original(path, schema_name, **options)
        if change is None:
            return document
        document = copy.deepcopy(document)
        change(document)
        if found := schemas.problems(document, schema_name):
            raise InputError(display_path(Path(path)), found)
        return document

    schemas.load = load
    role_matrix.load.cache_clear()  # the one loader that keeps what it read: it must read the edit, then forget it
    try:
        yield
    finally:
        schemas.load = original
        role_matrix.load.cache_clear()


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
