"""The Pulumi project on disk: `Pulumi.yaml`, its declared settings and the stack files in `stacks/`.

Offline evaluation has no CLI to merge project defaults into a stack's config, so this module does what the
CLI does: project-level `config:` defaults first, the stack file's `config:` over them, values flattened to the
strings the engine hands a program.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from caseshield import schemas, strict_yaml
from caseshield.strict_yaml import InputError, Problem, display_path

ROOT = Path(__file__).resolve().parent.parent
# What may name a stack file at all: no path separators, no `..`, nothing a shell or a path would read specially.
# caseshield/settings.py then checks the name against every AWS name derived from it.
STACK_FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


# Promotion order: a change reaches dev, then staging, then prod. Reports list stacks this way (others after, by name),
# so a reviewer reads the tiers in the order a change travels rather than alphabetically (dev, prod, staging).
PROMOTION_ORDER = ("dev", "staging", "prod")


def promotion_key(stack: str) -> tuple[int, str]:
    return (PROMOTION_ORDER.index(stack) if stack in PROMOTION_ORDER else len(PROMOTION_ORDER), stack)


class StackNotFound(LookupError):
    pass


class StackFileError(InputError):
    """The stack file itself is malformed (YAML, shape, types, plain-text secrets); raised before any setting is read."""


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    declared: dict[str, dict[str, Any]]  # setting -> {type, description, default?}
    stack_dir: Path

    def stack_file(self, stack: str) -> Path:
        """The stack's file, only ever inside the stack directory: a name with a path in it is refused."""
        if not STACK_FILE_NAME_RE.fullmatch(stack) or ".." in stack:
            raise StackNotFound(f"{stack!r} is not a stack name: use letters, digits, '-', '_' or '.', no path "
                                f"(stacks here: {', '.join(self.stacks()) or 'none'}).")
        path = self.stack_dir / f"Pulumi.{stack}.yaml"
        if path.resolve().parent != self.stack_dir.resolve():
            raise StackNotFound(f"stack {stack!r} resolves outside {display_path(self.stack_dir)}/; refused.")
        return path

    def stacks(self) -> list[str]:
        """Every stack with a file in the stack directory, sorted."""
        if not self.stack_dir.is_dir():
            return []
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in self.stack_dir.glob("Pulumi.*.yaml")
                      if p.is_file() and STACK_FILE_NAME_RE.fullmatch(p.name[len("Pulumi."):-len(".yaml")]))

    def stack_document(self, stack: str) -> dict[str, Any]:
        """The stack file parsed strictly and checked against `policies/schemas/stack.schema.json`.

        Raises `StackNotFound` without a file and `StackFileError` naming file, key, value and fix otherwise."""
        path = self.stack_file(stack)
        if not path.is_file():
            known = ", ".join(self.stacks()) or "none"
            raise StackNotFound(f"no stack file {display_path(path)} (stacks here: {known}). "
                                f"Create it with `pulumi stack init {stack}` and set its config.")
        file = display_path(path)
        try:
            document = strict_yaml.load(path)
        except InputError as error:
            raise StackFileError(file, error.problems) from None
        if isinstance(document, dict) and isinstance(document.get("config"), dict):
            document = {**document, "config": self._namespaced(document["config"], file)}
        secure = [*_secure_settings(document, self.name), *_secret_values(document)]
        problems = [*secure, *(_redacted(p) for p in schemas.problems(document, "stack")
                               if p.key not in {s.key for s in secure})]
        if problems:
            raise StackFileError(file, problems)
        return document

    def _namespaced(self, config: dict[str, Any], file: str) -> dict[str, Any]:
        """Bare keys belong to the project's namespace, as in the Pulumi CLI; a key given both ways is refused."""
        result: dict[str, Any] = {}
        for key, value in config.items():
            full_key = key if ":" in key else f"{self.name}:{key}"
            if full_key in result:
                raise StackFileError(file, [Problem(f"config.{key}", value, f"sets {full_key} a second time.",
                                                    "keep one entry for the setting.")])
            result[full_key] = value
        return result

    def stack_config(self, stack: str) -> dict[str, str]:
        """The flat config the engine would pass the program for `stack`: "namespace:key" -> string value.

        Provider credentials kept as Pulumi secrets are left out: offline evaluation never uses them."""
        merged: dict[str, Any] = {
            f"{self.name}:{key}": decl["default"] for key, decl in self.declared.items() if "default" in decl
        }
        for full_key, value in self.stack_document(stack)["config"].items():
            if not _is_secure(value):
                merged[full_key] = value
        return {key: _engine_string(value) for key, value in merged.items()}


# Keys named like credentials: a plain-text value there is refused, and never echoed into a log.
SECRET_KEY_RE = re.compile(r"(?i)[^:]+:.*(secret|password|passwd|token|credential|privatekey|apikey|accesskey).*")


# Values that are key material whatever their key is called: AWS access key ids, PEM private keys.
SECRET_VALUE_RE = re.compile(r"(A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}|-----BEGIN [A-Z ]*PRIVATE KEY")


def _secret_values(document: Any) -> list[Problem]:
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return []
    return [Problem(f"config.{key}", f"<{len(value if isinstance(value, str) else json.dumps(value))} characters, "
                    "not shown>",
                    "holds what looks like key material in plain text.",
                    "remove it from the stack file and rotate it; credentials belong in a profile, OIDC or "
                    "`pulumi config set --secret`.")
            for key, value in config.items() if SECRET_VALUE_RE.search(json.dumps(value))]


def _redacted(problem: Problem) -> Problem:
    if SECRET_KEY_RE.fullmatch(problem.key.removeprefix("config.")) and isinstance(problem.value, str):
        return Problem(problem.key, f"<{len(problem.value)} characters, not shown>", problem.message, problem.fix)
    return problem


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _secure_settings(document: Any, project: str) -> list[Problem]:
    """The program's own settings are never secrets: offline evaluation could not decrypt one, so say so plainly."""
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return []  # the schema reports the shape
    return [Problem(f"config.{key}", "<secure value>", "is a Pulumi secret, but CaseShield settings are plain values "
                    "(offline evaluation cannot decrypt it).", f"set it in plain text: `pulumi config set "
                    f"{key.partition(':')[2]} <value>`; keep real secrets in Secrets Manager.")
            for key, value in config.items() if key.startswith(f"{project}:") and _is_secure(value)]


def _engine_string(value: Any) -> str:
    """Render a config value the way the engine passes it: scalars as text, structures as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


@cache
def load_project(root: Path = ROOT) -> Project:
    document = strict_yaml.load(root / "Pulumi.yaml")
    stack_dir = root / document.get("stackConfigDir", ".")
    return Project(root=root, name=document["name"], declared=document.get("config") or {}, stack_dir=stack_dir)
