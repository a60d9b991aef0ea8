"""Validate an input document against its JSON Schema in `policies/schemas/`, with messages a person can act on.

Each schema states the shape of one input file: exact types (a quoted "false" is not a boolean, full-width digits are not a
number), bounded sizes and anchored patterns. Patterns are matched with `re.fullmatch`, so a value with a trailing
newline never matches `^...$` the way `re.search` would let it. A schema may give a `x-fix` next to any constraint;
the error then tells the reader exactly what to write instead.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator

from caseshield import strict_yaml
from caseshield.strict_yaml import InputError, Problem

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "policies" / "schemas"


def _fullmatch_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if isinstance(instance, str) and re.fullmatch(pattern, instance) is None:
        yield ValidationError(f"does not have the required form {pattern}")


def _is_integer(checker: Any, instance: Any) -> bool:
    """Only a real int is an integer: JSON Schema would take 3.0, and Python's bool is an int."""
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = jsonschema.validators.extend(
    Draft202012Validator, {"pattern": _fullmatch_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer))


@cache
def validator(name: str) -> Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return StrictValidator(schema)


def key_path(path: Any) -> str:
    """`['waivers', 0, 'expires']` -> `waivers[0].expires`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


_MESSAGES = {
    "type": lambda e: f"must be {_kind(e.validator_value)}, not {_kind_of(e.instance)}.",
    "enum": lambda e: f"must be one of {', '.join(map(str, e.validator_value))}.",
    "const": lambda e: f"must be {e.validator_value!r}.",
    "pattern": lambda e: f"does not have the required form (pattern {e.validator_value}).",
    "minimum": lambda e: f"must be at least {e.validator_value}.",
    "maximum": lambda e: f"must be at most {e.validator_value}.",
    "minLength": lambda e: f"must be at least {e.validator_value} characters long.",
    "maxLength": lambda e: f"must be at most {e.validator_value} characters long.",
    "minItems": lambda e: f"must list at least {e.validator_value} item(s).",
    "maxItems": lambda e: f"must list at most {e.validator_value} item(s).",
    "uniqueItems": lambda e: "lists an item twice.",
    "minProperties": lambda e: f"must have at least {e.validator_value} key(s).",
    "maxProperties": lambda e: f"must have at most {e.validator_value} key(s).",
    "propertyNames": lambda e: "has a key of the wrong form.",
}


def _kind(name: Any) -> str:
    names = {"string": "a string", "integer": "a whole number (plain decimal digits)", "boolean": "true or false "
             "(unquoted)", "array": "a list", "object": "a mapping", "number": "a number", "null": "empty"}
    return " or ".join(names.get(n, str(n)) for n in ([name] if isinstance(name, str) else name))


def _kind_of(instance: Any) -> str:
    if isinstance(instance, bool):
        return "a boolean"
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a mapping",
            type(None): "empty"}.get(type(instance), type(instance).__name__)


def _fix(error: ValidationError) -> str:
    for schema in (error.schema, *(e.schema for e in (error.context or ()))):
        if isinstance(schema, dict) and "x-fix" in schema:
            return str(schema["x-fix"])
    generic = {"additionalProperties": "remove the key, or correct its spelling.",
               "required": "add the key."}
    return generic.get(str(error.validator), "correct the value as the message says.")


def _most_useful(error: ValidationError) -> ValidationError:
    """For `oneOf`/`anyOf`, the branch error that went deepest says most about what is wrong."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        return max(error.context, key=lambda e: len(e.absolute_path))
    return error


def problems(document: Any, schema_name: str) -> list[Problem]:
    """Every schema violation of `document`, as Problems naming key path, value, what is wrong and the fix."""
    found = []
    for error in sorted(validator(schema_name).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator in ("additionalProperties", "required") and isinstance(error.instance, dict):
            found.extend(_key_problems(error))
            continue
        detail = _most_useful(error)
        message = _MESSAGES.get(str(detail.validator), lambda e: f"is invalid: {e.message}.")(detail)
        if detail is not error and error.validator in ("oneOf", "anyOf"):
            message = f"{message} (none of the accepted forms matches)"
        fix = _fix(error) if "x-fix" in error.schema else _fix(detail)
        found.append(Problem(key_path(detail.absolute_path), detail.instance, message, fix))
    return sorted(found, key=lambda p: p.key)


def _key_problems(error: ValidationError) -> list[Problem]:
    """An unknown or a missing key is reported at the key itself, not as the whole mapping around it."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        return [Problem(key_path([*path, key]), None, "is required but missing.", _fix(error) if "x-fix" in schema
                        else f"add {key}.") for key in error.validator_value if key not in error.instance]
    known = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
    return [Problem(key_path([*path, key]), error.instance[key], "is not a key this file may have (a typo?).",
                    str(schema.get("x-fix", "remove the key, or correct its spelling."))) for key in extra]


def load(path: Path, schema_name: str, *, max_bytes: int = strict_yaml.MAX_BYTES) -> Any:
    """Parse `path` strictly and validate it against `schema_name`; raises `InputError` listing every problem.

    The file is read every time (an edit is always seen), but a text parsed and validated before is not parsed again:
    rules read escalation.yaml and the role matrix once per policy run, thousands of times in a mutant run. The caller
    gets its own copy."""
    return copy.deepcopy(_validated(strict_yaml.read(path, max_bytes=max_bytes), strict_yaml.display_path(path),
                                    schema_name))


@lru_cache(maxsize=64)
def _validated(text: str, file: str, schema_name: str) -> Any:
    document = strict_yaml.loads(text, file)
    found = problems(document, schema_name)
    if found:
        raise InputError(file, found)
    return document
