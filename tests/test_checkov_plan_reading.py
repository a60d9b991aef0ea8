"""checkov reads our Terraform plans with json.loads (`PLANS_READ_AS_JSON` in caseshield/thirdparty_checkov.py) instead
of PyYAML, which it uses for line numbers only. The verdicts must not change: every check, resource, pass or fail
and its triage, on every shipped stack and on the mutated dev stack whose checks fail (tests/test_checkov.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from caseshield import terraform_plan as tp
from caseshield import thirdparty_checkov as tc
from policies import catalog as catalog_module
from tests.conftest import STACKS, graph_of
from tests.test_checkov import mutated

pytestmark = pytest.mark.skipif(not tc.available(), reason="checkov's tool environment is missing: run `make tools`")
TODAY = dt.date(2026, 12, 1)


def verdict(plans: list[tp.TerraformPlan]) -> tc.CheckovVerdict:
    version, reports, by_file = tc.run_checkov(plans, secret_files=[])
    return tc.verdict_from_reports(reports, by_file, catalog_module.load(), [], today=TODAY, version=version)


def test_plans_read_as_json_get_the_verdicts_of_plans_read_as_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = [tp.translate(graph_of(s)) for s in STACKS] + [tp.translate(mutated(graph_of("dev")))]
    as_json = verdict(plans)
    monkeypatch.setattr(tc, "PLANS_READ_AS_JSON", {})
    as_yaml = verdict(plans)
    assert as_json == as_yaml
    assert all(v.count() > 600 for v in as_json.stacks.values())
    assert as_json.stacks["dev-mutated"].count("fail") > 0  # failing checks are compared too, not only passes
