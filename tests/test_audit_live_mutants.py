"""Proof that the live checks bite: each live mutant (policies/live-mutants.yaml), applied with boto3 to a
moto-deployed stack, turns exactly its control from pass to fail.

Deploying costs seconds, so dev is deployed once for this module (the prod-only mutants run in
tests/test_audit_live_prod_mutants.py, as two moto deployments cannot be alive at once in one process)
and the mutants of a stack are applied one after another: after each, every control that still passed is
audited again, and exactly the mutant's control must have turned to fail (controls already failing from
earlier mutants stay out of the comparison).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caseshield.audit import load_all
from caseshield.audit.account import Account
from caseshield.audit.runner import audit_stack
from tests import live_mutants
from tests.conftest import graph_of
from tests.moto_deploy import Deployed, deployed

MUTANTS = live_mutants.load()


@pytest.fixture(scope="module")
def dev() -> Iterator[Deployed]:
    with deployed(graph_of("dev")) as found:
        yield found


def kill_in_turn(stack: Deployed, name: str) -> list[str]:
    """Apply the stack's mutants in turn; the problems found (empty: every mutant killed exactly its control)."""
    account = Account(name, stack.session)
    checks = list(load_all().values())
    baseline = audit_stack(account, checks, progress=False)
    assert baseline.passed, f"{name} does not pass before any mutant: {baseline.failing()}"
    failing: set[str] = set()
    problems = []
    for mutant in (m for m in MUTANTS if m.stack == name):
        try:
            live_mutants.apply(mutant, account.fresh(), stack.gaps)
        except Exception as error:
            problems.append(f"{mutant.id}: cannot be applied: {type(error).__name__}: {error}")
            continue
        still_passing = [c for c in checks if c.control not in failing]
        now = audit_stack(account.fresh(), still_passing, progress=False)
        flipped = set(now.failing())
        if flipped != {mutant.control}:
            problems.append(f"{mutant.id}: expected exactly {mutant.control} to fail, got {sorted(flipped)} "
                            f"({[r.messages for r in now.results if r.status != 'pass']})")
        failing |= flipped
    return problems


def test_every_dev_mutant_fails_exactly_its_control(dev: Deployed) -> None:
    problems = kill_in_turn(dev, "dev")
    assert not problems, "\n".join(problems)


def test_every_live_control_has_a_mutant() -> None:
    """The mutants cover every control a live check serves (and name no control without one)."""
    live = {c.control for c in load_all().values()}
    assert {m.control for m in MUTANTS} == live


def test_mutant_ids_are_unique() -> None:
    ids = [m.id for m in MUTANTS]
    assert len(ids) == len(set(ids))
