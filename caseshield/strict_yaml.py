"""One YAML loader for every input file: no aliases, no duplicate keys, no guessed types, bounded size.

PyYAML's `safe_load` lets the last of two equal keys win (appending `backupCopyRegion: ""` to prod silently removed
the cross-region copy), expands aliases without limit (a 1.8 KB file became gigabytes), and reads YAML 1.1 guesses:
`1_000` as 1000, `20991231` as a number, `2027-03-31` as a date, `yes` as true. `StrictLoader` refuses aliases,
anchors, merge keys, duplicate and non-string keys, and resolves only the YAML 1.2 core forms (`true`/`false`,
plain decimal integers, floats, `null`); everything else stays a string for the schema to judge. Every refusal is
an `InputError` that names the file, the line and the key, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024  # the largest input today (controls.yaml) is about 80 KB
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is (a config key or a key path), what it is, what is wrong and how to fix it."""

    key: str
    value: Any
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {shorten(self.value)}: {self.message} Fix: {self.fix}"


def shorten(value: Any, limit: int = 120) -> str:
    """repr() cut to `limit` characters: an error message must never echo a megabyte of input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class InputError(ValueError):
    """An input file (or the values read from it) is refused; lists every problem with its fix."""

    def __init__(self, file: str, problems: list[Problem], *, header: str | None = None):
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{header or f'{file} has {len(problems)} problem(s)'}:\n{lines}")


def display_path(path: Path) -> str:
    """The path relative to the project when inside it (what a reviewer recognises), else as given."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


class _Refused(yaml.YAMLError):
    def __init__(self, mark: Any, key: str, message: str, fix: str):
        super().__init__(message)
        self.mark, self.key, self.message, self.fix = mark, key, message, fix


_CORE_RESOLVERS = (  # YAML 1.2 core schema, anchored with \Z
    ("tag:yaml.org,2002:bool", r"(?:true|True|TRUE|false|False|FALSE)\Z", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+\Z", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z|[-+]?\.(?:inf|Inf|INF)\Z"
                                r"|\.(?:nan|NaN|NAN)\Z", "-+.0123456789"),
    ("tag:yaml.org,2002:null", r"(?:~|null|Null|NULL|)\Z", ("~", "n", "N", "")),
)
_GUESSED_TAGS = {tag for tag, _, _ in _CORE_RESOLVERS}
_ALLOWED_TAGS = _GUESSED_TAGS | {"tag:yaml.org,2002:str", "tag:yaml.org,2002:seq",
                                                            "tag:yaml.org,2002:map"}


class StrictLoader(yaml.SafeLoader):
    """SafeLoader minus aliases, anchors, merge keys, duplicate or non-string keys and YAML 1.1 type guesses."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if getattr(event, "tag", None) not in (None, "!", *_ALLOWED_TAGS - _GUESSED_TAGS):
            raise _Refused(event.start_mark, "", f"uses the explicit tag {event.tag}.",
                           "remove the tag; write plain values (quote strings).")
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "", "uses a YAML anchor or alias (&name / *name).",
                           "write the value out in full; aliases are refused so a small file cannot expand without bound.")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                raise _Refused(key_node.start_mark, "<<", "is a YAML merge key.", "write the keys out in full.")
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise _Refused(key_node.start_mark, str(key), "is a key that is not a string.", "quote the key or rename it.")
            if key in seen:
                raise _Refused(key_node.start_mark, key, f"this key appears twice in one mapping (first on line "
                               f"{seen[key].line + 1}); YAML would silently keep only the last.",
                               "keep exactly one entry for the key.")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern, _first in _CORE_RESOLVERS:
    StrictLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def loads(text: str, file: str) -> Any:
    """Parse `text` (from `file`, for messages) with `StrictLoader`; raises `InputError`."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # StrictLoader is a SafeLoader
    except _Refused as refused:
        where = f"line {refused.mark.line + 1}" if refused.mark else "the file"
        raise InputError(file, [Problem(where, refused.key or None, refused.message, refused.fix)]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(file, [Problem(where, None, f"is not valid YAML: {problem}.",
                                        "fix the YAML syntax there (indentation, quotes, colons).")]) from None
    except RecursionError:
        raise InputError(file, [Problem("the file", None, "nests too deeply.", "flatten the structure.")]) from None


def load(path: Path, *, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse one input file: bounded size, UTF-8, strict YAML; raises `InputError` naming the file."""
    return loads(read(path, max_bytes=max_bytes), display_path(path))


def read(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """One input file's text: bounded size, UTF-8; raises `InputError` naming the file."""
    file = display_path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise InputError(file, [Problem("the file", None, f"cannot be read ({error.strerror or error}).",
                                        "restore the file from version control.")]) from None
    if len(data) > max_bytes:
        raise InputError(file, [Problem("the file", f"more than {max_bytes} bytes", "is larger than any input needs.",
                                        "remove what does not belong there.")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(file, [Problem("the file", None, f"is not UTF-8 text (byte {error.start}).",
                                        "save it as UTF-8.")]) from None
