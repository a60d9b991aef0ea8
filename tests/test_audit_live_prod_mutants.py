"""The live mutants that only prod can show (controls whose checks apply in prod only), on a moto-deployed prod."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import graph_of
from tests.moto_deploy import Deployed, deployed
from tests.test_audit_live_mutants import MUTANTS, kill_in_turn


@pytest.fixture(scope="module")
def prod() -> Iterator[Deployed]:
    with deployed(graph_of("prod")) as found:
        yield found


def test_prod_has_mutants() -> None:
    assert [m for m in MUTANTS if m.stack == "prod"]


def test_every_prod_mutant_fails_exactly_its_control(prod: Deployed) -> None:
    problems = kill_in_turn(prod, "prod")
    assert not problems, "\n".join(problems)
