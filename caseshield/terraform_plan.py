"""Translate a recorded resource graph into a Terraform plan JSON, so that checkov's terraform_plan checks can judge it.

checkov cannot read a Pulumi program, but pulumi-aws is bridged from the Terraform AWS provider: each recorded
resource is a Terraform resource under another spelling. `policies/terraform-types.yaml` holds the spelling (type
token -> Terraform type, the bridge's property renames, which nested objects are blocks and which are maps); this
module only applies it. Links between resources come from the recorded property dependencies alone, written as
`configuration...expressions.<attr>.references` the way Terraform writes them: checkov's graph checks (CKV2_*) walk
those links, and matching on values instead would invent links that the program never made.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import rpc

from caseshield.offline import RecordedResource, ResourceGraph

TABLE_PATH = Path(__file__).resolve().parent.parent / "policies" / "terraform-types.yaml"
SECRET_SIG = rpc._special_sig_key  # "4dabf18193072939515e22adb298388d"
PROVIDER_NAMES = {"aws": "registry.terraform.io/hashicorp/aws", "random": "registry.terraform.io/hashicorp/random"}
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")


class UncoveredProperty(LookupError):
    """The table does not say how a resource type or nested property reads in Terraform."""


@dataclass(frozen=True)
class TypeSpec:
    terraform: str
    renames: dict[str, str] = field(default_factory=dict)
    blocks: frozenset[str] = frozenset()
    maps: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()

    def name(self, path: str) -> str:
        """The Terraform name of the property at `path` (dotted, `[]` for list items)."""
        return self.renames.get(path) or snake_case(path.rsplit(".", 1)[-1])


@dataclass
class TerraformPlan:
    """A plan document checkov reads, and where each of its addresses came from."""

    stack: str
    document: dict[str, Any]
    urns: dict[str, str]  # Terraform address -> Pulumi URN

    def dumps(self) -> str:
        return json.dumps(self.document, indent=1, sort_keys=True)


def snake_case(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


@cache
def load_table(path: Path = TABLE_PATH) -> dict[str, TypeSpec]:
    entries = (yaml.safe_load(path.read_text()) or {})["types"]
    return {token: TypeSpec(terraform=e["terraform"], renames=dict(e.get("renames") or {}),
                            blocks=frozenset(e.get("blocks") or ()), maps=frozenset(e.get("maps") or ()),
                            lists=frozenset(e.get("lists") or ()))
            for token, e in entries.items()}


def unwrap(value: Any) -> Any:
    """A secret's plain value: a secret trust policy checkov cannot read would pass its checks unread."""
    while isinstance(value, dict) and SECRET_SIG in value:
        value = value.get("value")
    return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _value(value: Any, path: str, spec: TypeSpec, where: str) -> Any:
    value = unwrap(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if path in spec.maps:
            return {k: _value(v, _join(path, k), spec, where) for k, v in value.items() if not _unknown(v)}
        if path in spec.blocks:
            return [_object(value, path, spec, where)]
        raise UncoveredProperty(f"{where}: nested object {path!r} is neither a block nor a map in {TABLE_PATH.name}")
    if isinstance(value, list):
        if path not in spec.lists:
            raise UncoveredProperty(f"{where}: list {path!r} is not reviewed under `lists` in {TABLE_PATH.name}")
        return [_object(v, f"{path}[]", spec, where) if isinstance(unwrap(v), dict) else _value(v, path, spec, where)
                for v in value if not _unknown(v)]
    return value


def _object(value: dict[str, Any], prefix: str, spec: TypeSpec, where: str) -> dict[str, Any]:
    value = unwrap(value)
    return {spec.name(_join(prefix, k)): _value(v, _join(prefix, k), spec, where)
            for k, v in value.items() if not _unknown(v)}


def _unknown(value: Any) -> bool:
    return unwrap(value) is None or unwrap(value) == rpc.UNKNOWN


def spec_for(resource: RecordedResource) -> TypeSpec:
    spec = load_table().get(resource.type)
    if spec is None:
        raise UncoveredProperty(f"{resource.urn}: type {resource.type} has no entry in {TABLE_PATH.name}")
    return spec


def translated(resource: RecordedResource) -> dict[str, Any]:
    """The resource's inputs as Terraform attribute values."""
    return _object(resource.inputs, "", spec_for(resource), resource.urn)


def _addresses(resources: list[RecordedResource]) -> dict[str, str]:
    """URN -> a unique Terraform address `<type>.<name>`."""
    taken: set[str] = set()
    found = {}
    for r in resources:
        base = f"{spec_for(r).terraform}.{_NOT_NAME.sub('_', r.name)}"
        address, n = base, 2
        while address in taken:
            address, n = f"{base}_{n}", n + 1
        taken.add(address)
        found[r.urn] = address
    return found


def _references(resource: RecordedResource, spec: TypeSpec, addresses: dict[str, str]) -> dict[str, Any]:
    expressions = {}
    for prop, urns in sorted(resource.property_dependencies.items()):
        linked = [addresses[u] for u in urns if u in addresses]
        if not linked:
            continue
        name = spec.name(prop)
        value = unwrap(resource.inputs.get(prop))
        first = value[0] if isinstance(value, list) and value else value
        attribute = "arn" if name.endswith(("arn", "arns")) or str(first).startswith("arn:") else "id"
        expressions[name] = {"references": [ref for a in linked for ref in (f"{a}.{attribute}", a)]}
    return expressions


def plannable(graph: ResourceGraph) -> list[RecordedResource]:
    """Resources Terraform would plan: custom resources, not components or provider instances."""
    return [r for r in graph.resources if r.custom and not r.type.startswith("pulumi:providers:")]


def translate(graph: ResourceGraph) -> TerraformPlan:
    resources = plannable(graph)
    addresses = _addresses(resources)
    planned, configured = [], []
    for r in resources:
        spec = spec_for(r)
        address = addresses[r.urn]
        tf_type, name = address.split(".", 1)
        provider = PROVIDER_NAMES[r.type.split(":", 1)[0]]
        planned.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "provider_name": provider, "schema_version": 0, "values": translated(r)})
        configured.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                           "provider_config_key": tf_type.split("_", 1)[0],
                           "expressions": _references(r, spec, addresses)})
    document = {"format_version": "1.2", "terraform_version": "1.9.8",
                "planned_values": {"root_module": {"resources": planned}},
                "configuration": {"root_module": {"resources": configured}}}
    return TerraformPlan(graph.stack, document, {a: u for u, a in addresses.items()})


def uncovered(graph: ResourceGraph) -> list[str]:
    """Every resource type or nested property of `graph` the table does not cover (empty when all translate)."""
    problems = []
    for r in plannable(graph):
        try:
            translated(r)
        except UncoveredProperty as error:
            problems.append(str(error))
    return problems
