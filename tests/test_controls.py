"""The catalog, the rules and the mutants agree, every shipped stack passes every mandatory control, and every
control has a mutant that the check catches."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

from caseshield import checks
from caseshield.mutation import run_mutant
from caseshield.offline import ResourceGraph
from policies import catalog as catalog_module
from policies.mutants import MUTANTS, load_all
from policies.pack import build_policies, consistency_problems
from policies.rules import RULES
from policies.rules import load_all as load_rules
from tests.conftest import STACKS, graph_of

ROOT = Path(__file__).resolve().parent.parent
CATALOG = catalog_module.load()
load_rules()
load_all()


@cache
def policies() -> list:
    return build_policies(CATALOG)


@cache
def baseline(stack: str) -> frozenset[tuple[str, str, str]]:
    return frozenset((v.policy, v.urn, v.message) for v in checks.run_policies(graph_of(stack), policies()))


def test_catalog_and_rules_agree() -> None:
    assert consistency_problems(CATALOG, RULES) == []


def test_every_control_cites_its_source_a_framework_and_an_existing_runbook() -> None:
    seeds = {p.name: p.read_text() for p in (ROOT.parent / "shared" / "seeds").glob("*.txt")}
    for control in CATALOG.controls:
        assert control.frameworks, control.id
        assert (ROOT / control.runbook).is_file(), f"{control.id}: {control.runbook} does not exist"
        if seeds:
            assert control.requirement.source in seeds, f"{control.id}: unknown source {control.requirement.source}"
            assert control.requirement.section in seeds[control.requirement.source], \
                f"{control.id}: section {control.requirement.section!r} is not a heading of {control.requirement.source}"


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_pass_every_mandatory_control(stack: str) -> None:
    graph: ResourceGraph = graph_of(stack)
    failures = [v for v in checks.run_policies(graph, policies())
                if CATALOG.get(RULES[v.policy].control).mandatory]
    assert failures == []


def mutant_sample() -> list[str]:
    """One mutant per control (the first by id) in `make test`; every mutant with CASESHIELD_ALL_MUTANTS=1, and in
    `make report`, whose `check --mutants` runs them all. Each is a whole evaluation of a stack (seconds): the full
    run belongs to the report, a fair sample that still touches every control to the suite."""
    if os.environ.get("CASESHIELD_ALL_MUTANTS") == "1":
        return sorted(MUTANTS)
    first: dict[str, str] = {}
    for mutant_id in sorted(MUTANTS):
        first.setdefault(MUTANTS[mutant_id].control, mutant_id)
    return sorted(first.values())


@pytest.mark.parametrize("mutant_id", mutant_sample())
def test_mutant_is_caught(mutant_id: str) -> None:
    mutant = MUTANTS[mutant_id]
    result = run_mutant(mutant, policies(), set(baseline(mutant.stack)))
    assert result.killed, f"{mutant_id} ({mutant.description}) broke {mutant.control} and nothing caught it"
    # The control the mutant breaks must be among those that catch it (another control noticing too is defence in depth).
    assert any(r == "settings" or RULES[r].control == mutant.control for r in result.caught_by), result.caught_by


def test_every_control_has_a_mutant() -> None:
    covered = {m.control for m in MUTANTS.values()}
    assert [c.id for c in CATALOG.controls if c.id not in covered] == []
    assert {m.control for m in MUTANTS.values()} <= set(CATALOG.ids())


def test_catalog_has_at_least_45_controls_with_non_waivable_ones() -> None:
    assert len(CATALOG.controls) >= 45
    assert any(not c.waivable for c in CATALOG.controls)


def test_mutants_in_worker_processes_give_the_in_process_results() -> None:
    from caseshield.mutation import run_mutants

    # Four mutants from different domains, one of them an edit of an input file (policies/alarms.yaml).
    chosen = {"aud-01-global-service-events-off", "edge-01-rate-limit-dropped", "iam-08-oidc-any-branch",
              "mon-04-cloudtrail-alarm-removed-from-alarms-yaml"}
    assert chosen <= set(MUTANTS)
    in_process = run_mutants(only=chosen, jobs=1).results
    assert [r.id for r in in_process] == sorted(chosen)
    assert run_mutants(only=chosen, jobs=2).results == in_process
