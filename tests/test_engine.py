"""The policy pack judged the way the Pulumi engine runs it: through pulumi-policy's own analyzer handler.

Every stack, evaluated as at `pulumi up` and as on a first preview, goes through the handler as protobuf `Struct`s
(numbers as floats, secrets marked, unknowns as the engine's sentinel): no policy may raise, the shipped stacks
have no violation, what cannot run at a first preview is exactly the reviewed list, and the report says what the
handler says.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from caseshield import checks, engine
from caseshield.offline import ResourceGraph, evaluate
from caseshield.report import check_stack
from policies import catalog as catalog_module
from policies.mutants import MUTANTS
from policies.pack import build_policies
from policies.rules import RULES
from tests.conftest import STACKS, graph_of

ROOT = Path(__file__).resolve().parent.parent
CATALOG = catalog_module.load()
PREVIEW_UNKNOWNS = yaml.safe_load((ROOT / "policies" / "preview-unknowns.yaml").read_text())["policies"]


@cache
def policies() -> list:
    return build_policies(CATALOG)


@cache
def preview_graph(stack: str) -> ResourceGraph:
    return evaluate(stack, preview=True)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_pass_through_the_handler_with_no_crash(stack: str) -> None:
    result = checks.run_engine(graph_of(stack), policies())
    assert result.errors == []
    assert result.violations == []
    assert result.skipped == []  # at `pulumi up` every input is known


@pytest.mark.parametrize("stack", STACKS)
def test_first_preview_skips_exactly_the_reviewed_policies(stack: str) -> None:
    result = checks.run_engine(preview_graph(stack), policies())
    assert result.errors == []
    assert result.violations == []
    assert {s.policy for s in result.skipped} == set(PREVIEW_UNKNOWNS)


def test_every_policy_that_cannot_run_at_preview_says_why() -> None:
    for policy, why in PREVIEW_UNKNOWNS.items():
        assert policy in RULES, policy
        assert len(why.split()) >= 8, f"{policy}: say why it cannot be judged at a first preview"


def test_the_preview_graph_really_has_unknowns_where_the_provider_computes_them() -> None:
    graph = preview_graph("prod")
    key = graph.of_type("aws:kms/key:Key")[0]
    assert key.outputs["arn"] == engine.UNKNOWN and key.id is None
    assert any(engine.UNKNOWN in json.dumps(r.inputs) for r in graph.of_type("aws:iam/rolePolicy:RolePolicy"))


@pytest.mark.parametrize("stack", STACKS)
def test_the_report_says_what_the_handler_says(stack: str) -> None:
    graph = graph_of(stack)
    report = check_stack(stack, CATALOG, [], policies(), graph=graph)
    result = checks.run_engine(graph, policies())
    assert sorted((f.rule, f.urn, f.message) for f in report.findings) == sorted((v.policy, v.urn, v.message) for v in result.violations)
    preview = check_stack(stack, CATALOG, [], policies(), graph=preview_graph(stack), preview=True)
    assert {o.rule for o in preview.not_run} == set(PREVIEW_UNKNOWNS)
    assert all(preview.controls[o.control] == "not-run" for o in preview.not_run)
    assert preview.passed  # the engine does not stop a preview on a skipped policy; it is reported, not passed


@pytest.mark.parametrize("mutant_id", sorted(MUTANTS)[::20])
def test_the_report_of_a_mutant_says_what_the_handler_says(mutant_id: str) -> None:
    mutant = MUTANTS[mutant_id]
    with mutant.edited_inputs():
        graph = evaluate(mutant.stack, overrides=mutant.overrides, transforms=[mutant.transform] if mutant.transform else [])
        report = check_stack(mutant.stack, CATALOG, [], policies(), graph=graph)
        result = checks.run_engine(graph, policies())
    assert result.violations, f"{mutant_id} breaks nothing the handler sees"
    assert sorted((f.rule, f.urn) for f in report.findings) == sorted((v.policy, v.urn) for v in result.violations)
    assert report.controls[mutant.control] == "fail" or CATALOG.get(mutant.control).enforcement == "advisory"


def test_scoping_policies_by_resource_type_gives_what_sending_everything_gives() -> None:
    """The engine sends every resource to every policy; the runner sends a policy only its rule's types. On one
    resource of each type of prod, both answer the same."""
    graph = graph_of("prod")
    sample = list({r.type: r for r in graph.resources}.values())
    requests = engine.build_requests(checks.wire_resource(r) for r in sample)
    resource_policies = [p for p in policies() if RULES[p.name].kind == "resource"]
    scoped = engine.analyze(requests, resource_policies)
    everything = engine.analyze(requests, resource_policies, exhaustive=True)
    assert scoped == everything


def _one_resource(type_: str, inputs: dict) -> engine.Requests:
    return engine.build_requests([engine.WireResource(urn=f"urn:pulumi:prod::caseshield::{type_}::r", type=type_, name="r",
                                                      inputs=inputs, outputs=inputs)])


def test_a_secret_reaches_the_rule_unwrapped_as_in_the_engine() -> None:
    """The engine marshals secrets with KeepSecrets: the handler unwraps them, so a literal credential kept as a
    Pulumi secret is still a literal credential."""
    secret = {engine.SIG_KEY: engine.SECRET_SIG, "value": "hunter2-literal"}
    requests = _one_resource("aws:rds/instance:Instance", {"password": secret})
    struct = requests.resources[0][1].properties
    assert struct["password"][engine.SIG_KEY] == engine.SECRET_SIG  # it travels marked
    found = engine.analyze(requests, [p for p in policies() if p.name == "no-literal-credentials-in-inputs"])
    assert [v.path for v in found.violations] == ["password"]


def test_an_unknown_value_makes_a_policy_not_run_never_pass() -> None:
    requests = _one_resource("aws:kms/key:Key", {"enableKeyRotation": engine.UNKNOWN})
    found = engine.analyze(requests, [p for p in policies() if p.name == "kms-keys-rotate"])
    assert found.violations == []
    assert [(s.policy, s.reason) for s in found.skipped] == [
        ("kms-keys-rotate", "string value at .enableKeyRotation can't be known during preview")]
    known = engine.analyze(_one_resource("aws:kms/key:Key", {"enableKeyRotation": False}),
                           [p for p in policies() if p.name == "kms-keys-rotate"])
    assert [v.path for v in known.violations] == ["enableKeyRotation"] and known.skipped == []


def test_numbers_arrive_as_floats_and_rules_still_judge_them() -> None:
    requests = _one_resource("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 1, "kmsKeyId": "arn:aws:kms:k"})
    assert requests.resources[0][1].properties["retentionInDays"] == 1.0
    graph = graph_of("prod")
    assert any(isinstance(v, float) for r in graph.resources for v in r.inputs.values())


def test_a_raising_policy_is_an_error_of_its_own_control_not_a_crash() -> None:
    def broken(args: object, report: object) -> None:
        raise KeyError("boom")

    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

    policy = ResourceValidationPolicy(name="kms-keys-rotate", description="broken", validate=broken,
                                      enforcement_level=EnforcementLevel.MANDATORY)
    found = engine.analyze(_one_resource("aws:kms/key:Key", {}), [policy])
    assert [(e.policy, e.error) for e in found.errors] == [("kms-keys-rotate", "KeyError: 'boom'")]
    graph = graph_of("dev")
    report = check_stack("dev", CATALOG, [], [policy], graph=graph)
    control = RULES["kms-keys-rotate"].control
    assert report.controls[control] == "error" and not report.passed
    assert {o.rule for o in report.rule_errors} == {"kms-keys-rotate"}
