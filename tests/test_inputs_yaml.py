"""The strict YAML loader and the schema validator every input file goes through (issue 15, item 1).

Each refusal is an `InputError` naming the file and where in it; each case has a counterpart that loads.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from caseshield import schemas, strict_yaml
from caseshield.strict_yaml import InputError, loads


def refused(text: str) -> str:
    with pytest.raises(InputError) as raised:
        loads(text, "policies/x.yaml")
    message = str(raised.value)
    assert message.startswith("policies/x.yaml has 1 problem(s):") and "Fix: " in message
    return message


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    message = refused("config:\n  caseshield:backupCopyRegion: us-west-2\n  caseshield:backupCopyRegion: ''\n")
    assert "line 3 = 'caseshield:backupCopyRegion'" in message and "first on line 2" in message


def test_duplicate_keys_in_a_nested_mapping_are_refused() -> None:
    refused("roles:\n  key-admin: {trust: human}\n  partner: {trust: human}\n  key-admin: {trust: oidc}\n")


def test_distinct_keys_load() -> None:
    assert loads("a: 1\nb: 2\n", "f") == {"a": 1, "b": 2}


@pytest.mark.parametrize("text", ["a: &x [1, 2]\nb: *x\n", "a: &x 1\n", "base: &b {k: 1}\nother:\n  <<: *b\n"])
def test_anchors_and_aliases_are_refused(text: str) -> None:
    assert "anchor or alias" in refused(text)


def test_an_alias_bomb_is_refused_at_once() -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    bomb = "\n".join(levels) + "\n"
    assert len(bomb) < 2000
    started = time.perf_counter()
    message = refused(bomb)
    assert time.perf_counter() - started < 1 and len(message) < 500


def test_merge_keys_are_refused() -> None:
    assert "merge key" in refused("a:\n  <<: {k: 1}\n")


@pytest.mark.parametrize("text", ["1: x\n", "? [a]\n: x\n", "null: x\n", "true: x\n"])
def test_keys_that_are_not_strings_are_refused(text: str) -> None:
    assert "not a string" in refused(text)


@pytest.mark.parametrize("text", ["a: !!int 1_000\n", "a: !!bool yes\n", "a: !!timestamp 2027-01-01\n",
                                  "a: !!binary aGk=\n", "a: !custom x\n", "a: !!python/name:os.system\n"])
def test_explicit_tags_are_refused(text: str) -> None:
    assert "explicit tag" in refused(text)


@pytest.mark.parametrize(("text", "value"), [
    ("a: 1_000\n", "1_000"),              # YAML 1.1 reads 1000
    ("a: 0x1F\n", "0x1F"),                # YAML 1.1 reads 31
    ("a: 1:20\n", "1:20"),                # YAML 1.1 reads 80 (base 60)
    ("a: 2027-03-31\n", "2027-03-31"),    # YAML 1.1 reads a date
    ("a: yes\n", "yes"),                  # YAML 1.1 reads true
    ("a: off\n", "off"),                  # YAML 1.1 reads false
    ("a: \uff11\uff12\n", "\uff11\uff12"),  # full-width digits stay text
    ("a: !!str 5\n", "5"),
])
def test_yaml_1_1_guesses_stay_strings(text: str, value: str) -> None:
    assert loads(text, "f") == {"a": value}


@pytest.mark.parametrize(("text", "value"), [("a: 20991231\n", 20991231), ("a: true\n", True), ("a: false\n", False),
                                             ("a: 1.5\n", 1.5), ("a:\n", None), ("a: ~\n", None), ("a: -3\n", -3)])
def test_yaml_1_2_core_values_keep_their_types(text: str, value: object) -> None:
    assert loads(text, "f") == {"a": value}


@pytest.mark.parametrize("text", ["a: [\n", "a: b: c\n", "\tkey: 1\n", "a: 'unterminated\n"])
def test_malformed_yaml_is_an_input_error_with_a_line(text: str) -> None:
    assert "is not valid YAML" in refused(text) and "line " in refused(text)


def test_deep_nesting_is_an_input_error_not_a_recursion_error() -> None:
    refused("a: " + "[" * 5000 + "]" * 5000 + "\n")


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 300_000 + "\n")
    with pytest.raises(InputError, match="larger than any input needs"):
        strict_yaml.load(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"owner: caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        strict_yaml.load(latin)
    with pytest.raises(InputError, match="cannot be read"):
        strict_yaml.load(tmp_path / "absent.yaml")
    small = tmp_path / "ok.yaml"
    small.write_text("a: b\n")
    assert strict_yaml.load(small) == {"a": "b"}


# --- the schema validator ------------------------------------------------------------------------------------------

def test_patterns_are_matched_whole_so_a_trailing_newline_is_refused() -> None:
    document = {"allowed_regions": ["us-east-1\n"]}
    (problem,) = schemas.problems(document, "data-residency")
    assert problem.key == "allowed_regions[0]" and problem.value == "us-east-1\n"
    assert "required form" in problem.message and "us-east-1" in problem.fix
    assert schemas.problems({"allowed_regions": ["us-east-1"]}, "data-residency") == []


def test_schema_problems_name_key_path_value_and_fix() -> None:
    found = schemas.problems({"allowed_regions": "us-east-1", "extra": 1}, "data-residency")
    rendered = [str(p) for p in found]
    assert rendered == [
        "allowed_regions = 'us-east-1': must be a list, not a string. Fix: list at least one region under "
        "allowed_regions (a decision of the data-protection officer).",
        "extra = 1: is not a key this file may have (a typo?). Fix: the file holds one key, allowed_regions: a list of "
        "AWS region names."]
    assert [str(p) for p in schemas.problems({}, "data-residency")] == [
        "allowed_regions = None: is required but missing. Fix: the file holds one key, allowed_regions: a list of AWS "
        "region names."]


def test_every_schema_is_a_valid_json_schema() -> None:
    for path in sorted(schemas.SCHEMA_DIR.glob("*.schema.json")):
        schemas.validator(path.name.removesuffix(".schema.json"))


def test_schema_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data-residency.yaml"
    path.write_text("allowed_regions: []\n")
    with pytest.raises(InputError, match=r"data-residency.yaml has 1 problem\(s\):\n  - allowed_regions = \[\]"):
        schemas.load(path, "data-residency")
