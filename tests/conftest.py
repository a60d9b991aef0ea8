"""Shared fixtures: each stack is evaluated offline once per test session and its graph reused."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from caseshield.offline import RecordedResource, ResourceGraph, evaluate

STACKS = ("dev", "staging", "prod")


@cache
def graph_of(stack: str) -> ResourceGraph:
    return evaluate(stack)


@pytest.fixture(params=STACKS)
def graph(request: pytest.FixtureRequest) -> ResourceGraph:
    """The unmutated graph of each shipped stack in turn."""
    return graph_of(request.param)


@pytest.fixture
def prod() -> ResourceGraph:
    return graph_of("prod")


@pytest.fixture
def dev() -> ResourceGraph:
    return graph_of("dev")


def policy(resource: RecordedResource, prop: str = "policy") -> dict[str, Any]:
    """A JSON policy document input, parsed."""
    return json.loads(resource.inputs[prop])


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in document["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, f"expected one statement {sid}, found {len(found)}"
    return found[0]
