"""Run the mutants of `policies/mutants/` and report which the check catches (the kill rate)."""

from __future__ import annotations

from caseshield import checks
from caseshield.offline import evaluate
from caseshield.report import MutantResult, MutationSummary
from caseshield.settings import SettingsError
from policies import catalog as catalog_module
from policies.mutants import Mutant, load_all
from policies.pack import build_policies
from policies.rules import RULES


def run_mutant(mutant: Mutant, policies: list, baseline: set[tuple[str, str, str]]) -> MutantResult:
    """Killed when a rule of the mutant's control reports something the unmutated stack does not, or when the
    settings validation rejects a settings mutant before any resource exists."""
    transforms = [mutant.transform] if mutant.transform else []
    try:
        graph = evaluate(mutant.stack, overrides=mutant.overrides, transforms=transforms)
    except SettingsError:
        return MutantResult(mutant.id, mutant.control, mutant.description, mutant.stack, True, ("settings",))
    caught = sorted({
        v.policy for v in checks.run_policies(graph, policies)
        if RULES[v.policy].control == mutant.control and (v.policy, v.urn, v.message) not in baseline
    })
    return MutantResult(mutant.id, mutant.control, mutant.description, mutant.stack, bool(caught), tuple(caught))


def run_mutants(catalog: catalog_module.Catalog | None = None, only: set[str] | None = None) -> MutationSummary:
    catalog = catalog or catalog_module.load()
    policies = build_policies(catalog)
    mutants = [m for m in sorted(load_all().values(), key=lambda m: m.id) if only is None or m.id in only]
    baselines: dict[str, set[tuple[str, str, str]]] = {}
    results = []
    for m in mutants:
        if m.stack not in baselines:
            baselines[m.stack] = {(v.policy, v.urn, v.message) for v in checks.run_policies(evaluate(m.stack), policies)}
        results.append(run_mutant(m, policies, baselines[m.stack]))
    return MutationSummary(results)
