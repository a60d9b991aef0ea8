"""Pulumi.yaml and the stack files: what the Pulumi CLI will accept, and what the program expects.

There is no Pulumi CLI on the build machine, so the parts of the project file this project uses are described by a
hand-written JSON Schema below and Pulumi.yaml is validated against it. The schema is deliberately closed: a
property the CLI would reject (such as `value:` beside `type:` in a config declaration) fails here first.
"""

from __future__ import annotations

import copy
import re
import typing
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from caseshield.project import ROOT, load_project
from caseshield.settings import NAMESPACE, Settings, config_fields

PROJECT_FILE = ROOT / "Pulumi.yaml"
CONFIG_TYPES = ["string", "integer", "boolean", "array"]

ITEMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": CONFIG_TYPES},
        "items": {"$ref": "#/$defs/items"},
    },
    "additionalProperties": False,
    "if": {"properties": {"type": {"const": "array"}}},
    "then": {"required": ["items"]},
}

DECLARATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": CONFIG_TYPES},
        "items": {"$ref": "#/$defs/items"},
        "description": {"type": "string"},
        "secret": {"type": "boolean"},
        "default": {},
    },
    "additionalProperties": False,
    "if": {"properties": {"type": {"const": "array"}}},
    "then": {"required": ["items"]},
    # `items` only on arrays: stricter than the CLI needs, but an `items` on a string is always a mistake.
    "else": {"not": {"required": ["items"]}},
}

PROJECT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "The parts of a Pulumi project file CaseShield uses",
    "type": "object",
    "required": ["name", "runtime"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"},
        "description": {"type": "string"},
        "runtime": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "options": {"type": "object"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "stackConfigDir": {"type": "string", "minLength": 1},
        "config": {
            "type": "object",
            # Our convention (the CLI allows more): camelCase keys, as Settings maps them.
            "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9]*$"},
            "additionalProperties": {"$ref": "#/$defs/declaration"},
        },
    },
    # Closed on purpose: adopting another top-level section (main, backend, plugins...) means describing it here.
    "additionalProperties": False,
    "$defs": {"declaration": DECLARATION_SCHEMA, "items": ITEMS_SCHEMA},
}

PYTHON_TYPES = {"string": str, "integer": int, "boolean": bool, "array": tuple[str, ...]}

# Config keys whose names say they hold a secret, and values that look like credentials or key material.
SECRET_NAME = re.compile(r"(?i)(passw(or)?d|secret|token|private.?key|api.?key|access.?key|credential)")
SECRET_VALUE = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),                      # AWS access key id
    re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),  # AWS secret access key shape
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),                    # GitHub token
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),                     # Slack token
    re.compile(r"(?i)\b(password|passwd|secret|token)\s*[:=]\s*\S+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."),       # JWT
]


@cache
def project_document() -> dict[str, Any]:
    """Pulumi.yaml, parsed once (callers that change it work on a deep copy)."""
    document = yaml.safe_load(PROJECT_FILE.read_text())
    assert isinstance(document, dict)
    return document


def errors(document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(PROJECT_SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def stack_files() -> list[Path]:
    files = sorted(load_project().stack_dir.glob("Pulumi.*.yaml"))
    assert files, "no stack files found"
    return files


def looks_secret(text: str) -> list[str]:
    return [pattern.pattern for pattern in SECRET_VALUE if pattern.search(text)]


def matches_type(value: Any, declaration: dict[str, Any]) -> bool:
    kind = declaration["type"]
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(matches_type(v, declaration["items"]) for v in value)
    raise AssertionError(f"unknown config type {kind!r}")


# ---------------------------------------------------------------------------------------------------------------
# The schema
# ---------------------------------------------------------------------------------------------------------------

def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(PROJECT_SCHEMA)


def test_pulumi_yaml_matches_the_schema() -> None:
    assert errors(project_document()) == []


def _mutated(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(project_document())
    change(document)
    return document


def _set(path: list[str], value: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _delete(path: list[str]) -> Any:
    def change(document: dict[str, Any]) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return change


BROKEN_PROJECTS = [
    pytest.param(_set(["config", "vpcCidr", "value"], "10.0.0.0/16"), id="value-beside-type"),
    pytest.param(_delete(["config", "vpcCidr", "type"]), id="declaration-without-type"),
    pytest.param(_set(["config", "vpcCidr", "type"], "number"), id="unsupported-type"),
    pytest.param(_delete(["config", "alertEmails", "items"]), id="array-without-items"),
    pytest.param(_set(["config", "alertEmails", "items"], {}), id="items-without-type"),
    pytest.param(_set(["config", "alertEmails", "items"], {"type": "string", "default": "x"}), id="items-extra-key"),
    pytest.param(_set(["config", "vpcCidr", "items"], {"type": "string"}), id="items-on-a-string"),
    pytest.param(_set(["config", "vpcCidr", "secret"], "yes"), id="secret-not-boolean"),
    pytest.param(_set(["config", "vpcCidr", "description"], 7), id="description-not-string"),
    pytest.param(_set(["config", "vpcCidr"], "10.0.0.0/16"), id="bare-value-instead-of-declaration"),
    pytest.param(_set(["config", "vpc-cidr"], {"type": "string"}), id="key-not-a-plain-identifier"),
    pytest.param(_delete(["name"]), id="no-name"),
    pytest.param(_set(["name"], "case shield"), id="name-with-space"),
    pytest.param(_delete(["runtime"]), id="no-runtime"),
    pytest.param(_set(["runtime"], {"options": {"toolchain": "uv"}}), id="runtime-without-name"),
    pytest.param(_set(["runtime"], {"name": "python", "version": "3.11"}), id="runtime-extra-key"),
    pytest.param(_set(["stackConfigDir"], ["stacks"]), id="stack-config-dir-not-string"),
    pytest.param(_set(["configuration"], {}), id="unknown-top-level-key"),
]


@pytest.mark.parametrize("change", BROKEN_PROJECTS)
def test_the_schema_rejects_broken_project_files(change: Any) -> None:
    assert errors(_mutated(change)) != []


def test_the_schema_accepts_a_plain_string_runtime() -> None:
    assert errors(_mutated(_set(["runtime"], "python"))) == []


# ---------------------------------------------------------------------------------------------------------------
# Declarations versus the Settings dataclass
# ---------------------------------------------------------------------------------------------------------------

def test_project_name_is_the_settings_namespace() -> None:
    assert project_document()["name"] == NAMESPACE == load_project().name


@pytest.mark.parametrize("key", sorted(project_document()["config"]))
def test_every_default_matches_its_declared_type(key: str) -> None:
    declaration = project_document()["config"][key]
    if "default" in declaration:
        assert matches_type(declaration["default"], declaration), f"{key}: default {declaration['default']!r}"


def test_the_type_check_itself_rejects_mismatches() -> None:
    assert not matches_type("3", {"type": "integer"})
    assert not matches_type(True, {"type": "integer"})
    assert not matches_type("true", {"type": "boolean"})
    assert not matches_type(["a", 1], {"type": "array", "items": {"type": "string"}})
    assert not matches_type("a", {"type": "array", "items": {"type": "string"}})
    assert matches_type(["a"], {"type": "array", "items": {"type": "string"}})


def test_every_declared_key_has_a_settings_field_and_vice_versa() -> None:
    declared = set(project_document()["config"])
    fields = set(config_fields())
    assert declared - fields == set(), "declared in Pulumi.yaml but not read by Settings"
    assert fields - declared == set(), "read by Settings but not declared in Pulumi.yaml"


@pytest.mark.parametrize("key", sorted(config_fields()))
def test_declared_type_matches_the_settings_field_type(key: str) -> None:
    declaration = project_document()["config"][key]
    hint = typing.get_type_hints(Settings)[config_fields()[key].name]
    assert hint == PYTHON_TYPES[declaration["type"]], f"{key}: {declaration['type']} declared, {hint} in Settings"
    if declaration["type"] == "array":
        assert declaration["items"] == {"type": "string"}


def test_every_declaration_is_described() -> None:
    undescribed = [k for k, d in project_document()["config"].items() if len(d.get("description", "").strip()) < 10]
    assert undescribed == []


# ---------------------------------------------------------------------------------------------------------------
# Runtime and stack directory
# ---------------------------------------------------------------------------------------------------------------

def test_stack_config_dir_is_stacks() -> None:
    assert project_document()["stackConfigDir"] == "stacks"
    assert load_project().stack_dir == ROOT / "stacks"
    assert (ROOT / "stacks").is_dir()


def test_runtime_is_python_with_toolchain_and_virtualenv() -> None:
    runtime = project_document()["runtime"]
    assert isinstance(runtime, dict)
    assert runtime["name"] == "python"
    options = runtime["options"]
    assert options["toolchain"] in ("pip", "poetry", "uv")
    assert isinstance(options["virtualenv"], str) and options["virtualenv"].strip()
    assert not Path(options["virtualenv"]).is_absolute()


# ---------------------------------------------------------------------------------------------------------------
# Stack files
# ---------------------------------------------------------------------------------------------------------------

def stack_config(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text()) or {}
    assert set(document) <= {"config", "encryptionsalt", "secretsprovider", "encryptedkey"}, path.name
    config = document.get("config") or {}
    assert isinstance(config, dict)
    return config


@pytest.mark.parametrize("path", stack_files(), ids=lambda p: p.name)
def test_stack_file_sets_only_declared_keys(path: Path) -> None:
    declared = set(project_document()["config"])
    name = project_document()["name"]
    undeclared = []
    for full_key in stack_config(path):
        namespace, _, key = full_key.rpartition(":")
        if namespace == "aws":
            continue
        if namespace not in ("", name) or key not in declared:
            undeclared.append(full_key)
    assert undeclared == []


@pytest.mark.parametrize("path", stack_files(), ids=lambda p: p.name)
def test_stack_file_values_match_declared_types(path: Path) -> None:
    declared = project_document()["config"]
    for full_key, value in stack_config(path).items():
        namespace, _, key = full_key.rpartition(":")
        if namespace == "aws":
            assert isinstance(value, str), full_key
            continue
        assert matches_type(value, declared[key]), f"{path.name}: {full_key} = {value!r}"


@pytest.mark.parametrize("path", stack_files(), ids=lambda p: p.name)
def test_stack_file_sets_every_setting_without_a_default(path: Path) -> None:
    required = {k for k, d in project_document()["config"].items() if "default" not in d}
    assert required, "Pulumi.yaml declares no required settings; this test would prove nothing"
    set_keys = {k.rpartition(":")[2] for k in stack_config(path) if not k.startswith("aws:")}
    assert required - set_keys == set()
    assert "aws:region" in stack_config(path)


@pytest.mark.parametrize("path", stack_files(), ids=lambda p: p.name)
def test_stack_file_holds_no_secrets(path: Path) -> None:
    text = path.read_text()
    assert "secure:" not in text
    assert looks_secret(text) == []
    for full_key, value in stack_config(path).items():
        assert not (isinstance(value, dict) and "secure" in value), full_key
        assert not SECRET_NAME.search(full_key), f"{full_key} is named like a secret"
        assert looks_secret(str(value)) == [], full_key


@pytest.mark.parametrize("sample", [
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
    "ghp_" + "a" * 36,
    "xoxb-" + "1234567890-abcdef",
    "password: hunter2",
    "token=abc123",
    "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
])
def test_the_secret_detector_finds_key_material(sample: str) -> None:
    assert looks_secret(f"  caseshield:x: {sample}\n") != []


@pytest.mark.parametrize("name", ["caseshield:dbPassword", "caseshield:apiToken", "caseshield:clientSecret",
                                  "caseshield:privateKey", "caseshield:awsAccessKey"])
def test_the_secret_detector_flags_secret_names(name: str) -> None:
    assert SECRET_NAME.search(name)


def test_the_secret_detector_leaves_ordinary_settings_alone() -> None:
    for value in ["repo:lawfirm/caseshield:environment:prod", "https://token.actions.githubusercontent.com",
                  "arn:aws:iam::123456789012:role/caseshield-bootstrap", "10.30.64.0/22", "cron(0 3 ? * SUN *)"]:
        assert looks_secret(value) == [], value
    for name in ["caseshield:keyAdministratorArns", "caseshield:ciOidcSubject", "caseshield:certificateArn"]:
        assert not SECRET_NAME.search(name), name
