"""The Pulumi project on disk: `Pulumi.yaml`, its declared settings and the stack files in `stacks/`.

Offline evaluation has no CLI to merge project defaults into a stack's config, so this module does what the
CLI does: project-level `config:` defaults first, the stack file's `config:` over them, values flattened to the
strings the engine hands a program.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


class StackNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    declared: dict[str, dict[str, Any]]  # setting -> {type, description, default?}
    stack_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.stack_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """Every stack with a file in the stack directory, sorted."""
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in self.stack_dir.glob("Pulumi.*.yaml"))

    def stack_config(self, stack: str) -> dict[str, str]:
        """The flat config the engine would pass the program for `stack`: "namespace:key" -> string value."""
        path = self.stack_file(stack)
        if not path.is_file():
            known = ", ".join(self.stacks()) or "none"
            raise StackNotFound(f"no stack file {path.relative_to(self.root)} (stacks here: {known}). "
                                f"Create it with `pulumi stack init {stack}` and set its config.")
        merged: dict[str, Any] = {
            f"{self.name}:{key}": decl["default"] for key, decl in self.declared.items() if "default" in decl
        }
        document = yaml.safe_load(path.read_text()) or {}
        for key, value in (document.get("config") or {}).items():
            full_key = key if ":" in key else f"{self.name}:{key}"
            if isinstance(value, dict) and "secure" in value:
                raise ValueError(f"{path.name}: {full_key} is an encrypted Pulumi secret; offline evaluation cannot "
                                 "decrypt it. Keep secrets out of settings the program validates offline.")
            merged[full_key] = value
        return {key: _engine_string(value) for key, value in merged.items()}


def _engine_string(value: Any) -> str:
    """Render a config value the way the engine passes it: scalars as text, structures as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


@cache
def load_project(root: Path = ROOT) -> Project:
    document = yaml.safe_load((root / "Pulumi.yaml").read_text())
    stack_dir = root / document.get("stackConfigDir", ".")
    return Project(root=root, name=document["name"], declared=document.get("config") or {}, stack_dir=stack_dir)
