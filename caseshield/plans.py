"""Read what the engine really produced — `pulumi stack export` or `pulumi preview --json` — as a resource graph.

Teams with the CLI can gate the real plan instead of the offline evaluation: `caseshield check --stack-export FILE`
or `--preview-json FILE` feed the same policies (through pulumi-policy's handler) and the same reports.

The shapes are the engine's own (pulumi/pulumi `sdk/go/common/apitype/core.go` and `pkg/display/json.go`):
- stack export: `{"version": 3, "deployment": {"resources": [ResourceV3, ...]}}`;
- preview JSON: `{"config": {...}, "steps": [{"op", "urn", "oldState": ResourceV3, "newState": ResourceV3}, ...]}`;
- ResourceV3: `urn`, `custom`, `id`, `type`, `inputs`, `outputs`, `parent`, `provider` (`<urn>::<id>`), `protect`,
  `retainOnDelete`, `dependencies`, `propertyDependencies`, `additionalSecretOutputs`, ...
Secrets are `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "<JSON>"}`
(with `--show-secrets`) or carry only a `ciphertext`: a value nobody can read, so a policy that reads it is reported as
not run rather than judged. Unknown values (a preview) are the engine's unknown-string sentinel already.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from caseshield.engine import SECRET_SIG, SIG_KEY, UNKNOWN
from caseshield.offline import RecordedResource, ResourceGraph

STACK_TYPE = "pulumi:pulumi:Stack"
# Steps whose new state is not part of the stack after the operation.
GONE = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"})


class PlanError(ValueError):
    """A file that is not a stack export or preview JSON of the documented shape."""


def _value(value: Any) -> Any:
    """A serialized property value as recorded graphs hold it (secrets kept marked, ciphertext made unknown)."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            if "plaintext" in value:
                return {SIG_KEY: SECRET_SIG, "value": _value(json.loads(value["plaintext"]))}
            if "value" in value:
                return {SIG_KEY: SECRET_SIG, "value": _value(value["value"])}
            return {SIG_KEY: SECRET_SIG, "value": UNKNOWN}  # encrypted: export with --show-secrets to judge it
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _resource(state: Mapping[str, Any]) -> RecordedResource:
    for key in ("urn", "type"):
        if not isinstance(state.get(key), str):
            raise PlanError(f"a resource has no {key!r} (expected the ResourceV3 shape of `pulumi stack export`)")
    custom = bool(state.get("custom"))
    inputs = _value(state.get("inputs") or {})
    outputs = _value(state.get("outputs") or {}) or (dict(inputs) if custom else {})
    return RecordedResource(
        urn=state["urn"], type=state["type"], name=state["urn"].rsplit("::", 1)[-1], parent=state.get("parent") or None,
        custom=custom, inputs=inputs, outputs=outputs,
        options={"protect": bool(state.get("protect")), "retainOnDelete": bool(state.get("retainOnDelete")),
                 "additionalSecretOutputs": list(state.get("additionalSecretOutputs") or []),
                 "ignoreChanges": list(state.get("ignoreChanges") or [])},
        property_dependencies={k: list(v or []) for k, v in (state.get("propertyDependencies") or {}).items()},
        dependencies=list(state.get("dependencies") or []), provider=state.get("provider") or None,
        id=state.get("id") or None,
    )


def _graph(states: Iterable[Mapping[str, Any]], config: Mapping[str, str], source: Path) -> ResourceGraph:
    resources = sorted((_resource(s) for s in states if s.get("type") != STACK_TYPE), key=lambda r: r.urn)
    if not resources:
        raise PlanError(f"{source}: no resources in the file; nothing would be checked")
    # urn:pulumi:<stack>::<project>::<type>::<name>
    stack, project = resources[0].urn.split(":", 2)[2].split("::")[:2]
    return ResourceGraph(project=project, stack=stack, config={**config, **_environment(resources, project, config)},
                         resources=resources, stack_outputs={})


def _environment(resources: list[RecordedResource], project: str, config: Mapping[str, str]) -> dict[str, str]:
    """The environment tier, for the report header: the stack config if the file has it, else the provider's tags."""
    key = f"{project}:environment"
    if key in config:
        return {}
    for r in resources:
        if r.type == "pulumi:providers:aws":
            tags = r.inputs.get("defaultTags")
            tags = json.loads(tags) if isinstance(tags, str) else tags or {}
            environment = (tags.get("tags") or {}).get("environment") if isinstance(tags, Mapping) else None
            if isinstance(environment, str):
                return {key: environment}
    return {}


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise PlanError(f"{path}: cannot read it ({error.strerror})") from error
    except ValueError as error:
        raise PlanError(f"{path}: not JSON ({error})") from error


def from_stack_export(path: Path) -> ResourceGraph:
    """The graph of a `pulumi stack export [--show-secrets]` file."""
    doc = _load(path)
    resources = doc.get("deployment", {}).get("resources") if isinstance(doc, dict) else None
    if not isinstance(resources, list):
        raise PlanError(f"{path}: expected `pulumi stack export` JSON ({{\"version\": 3, \"deployment\": {{\"resources\": [...]}}}})")
    return _graph(resources, {}, path)


def from_preview_json(path: Path) -> ResourceGraph:
    """The graph a `pulumi preview --json` would leave: every step's new state, except what the update removes."""
    doc = _load(path)
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if not isinstance(steps, list):
        raise PlanError(f"{path}: expected `pulumi preview --json` output ({{\"steps\": [{{\"op\", \"urn\", \"newState\"}}, ...]}})")
    states = [s["newState"] for s in steps if isinstance(s, dict) and s.get("op") not in GONE and isinstance(s.get("newState"), dict)]
    config = {k: v for k, v in (doc.get("config") or {}).items() if isinstance(v, str)}
    return _graph(states, config, path)
