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
from policies.mutants import load_all as load_mutants
from policies.pack import build_policies
from policies.rules import load_all as load_rules
from tests.conftest import STACKS, graph_of

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = load_mutants()  # loaded here, so this file collects the same tests when it runs alone
RULES = load_rules()
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


def _analyze_without_shared_decoding(requests: engine.Requests, chosen: list) -> engine.EngineResult:
    """The handler as shipped: `decoded_once` does nothing when it finds itself already installed, so installing a
    pass-through first leaves every policy decoding every message itself."""
    import pulumi_policy.policy as handler_module

    class PassThrough(engine._DecodedOnce):
        def MessageToDict(self, message, *args, **kwargs):
            return engine.json_format.MessageToDict(message, *args, **kwargs)

        def deserialize_properties(self, props, proxy_secrets=False):
            return self._deserialize(props, proxy_secrets)

        def unknown_checking_proxy(self, decoded):
            return self._proxy(decoded)

    original = handler_module.json_format
    handler_module.json_format = PassThrough(handler_module.deserialize_properties,
                                             handler_module.unknown_checking_proxy)
    try:
        return engine.analyze(requests, chosen)
    finally:
        handler_module.json_format = original


@pytest.mark.parametrize("mutant_id", ["aud-01-global-service-events-off", "iam-08-oidc-any-branch"])
def test_decoding_each_message_once_gives_what_the_unpatched_handler_gives(mutant_id: str) -> None:
    """`decoded_once` only saves work: on a failing stack (a mutant of prod) every diagnostic is the same."""
    mutant = MUTANTS[mutant_id]
    graph = evaluate(mutant.stack, overrides=mutant.overrides, transforms=[mutant.transform] if mutant.transform else [])
    requests = engine.build_requests(checks.wire_resource(r) for r in graph.resources)
    shared = engine.analyze(requests, policies())
    assert shared.violations  # the mutant is caught, so there is something to compare
    assert shared == _analyze_without_shared_decoding(requests, policies())


def test_a_policy_that_writes_into_its_props_cannot_change_what_the_next_policy_sees() -> None:
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

    def vandal(args, report) -> None:
        args.props["enableKeyRotation"] = False
        args.props["tags"]["rotation"] = "off"

    def rotation_off(name: str):
        def validate(args, report) -> None:
            for resource in getattr(args, "resources", None) or [args]:
                if resource.props.get("enableKeyRotation") is False or "rotation" in resource.props["tags"]:
                    report("rotation off")
        return validate

    def stack_vandal(args, report) -> None:
        for resource in args.resources:
            resource.props["enableKeyRotation"] = False

    chosen = [
        ResourceValidationPolicy(name="vandal", description="d", validate=vandal),
        ResourceValidationPolicy(name="after-resource", description="d", validate=rotation_off("after-resource"),
                                 enforcement_level=EnforcementLevel.MANDATORY),
        StackValidationPolicy(name="stack-vandal", description="d", validate=stack_vandal),
        StackValidationPolicy(name="after-stack", description="d", validate=rotation_off("after-stack"),
                              enforcement_level=EnforcementLevel.MANDATORY),
    ]
    found = engine.analyze(_one_resource("aws:kms/key:Key", {"enableKeyRotation": True, "tags": {}}), chosen, exhaustive=True)
    assert found.violations == [] and found.errors == []
    # the same policies do see a key with rotation off
    off = engine.analyze(_one_resource("aws:kms/key:Key", {"enableKeyRotation": False, "tags": {}}), chosen, exhaustive=True)
    assert {v.policy for v in off.violations} == {"after-resource", "after-stack"}


def test_the_handler_is_restored_after_analyze_even_when_a_policy_raises() -> None:
    import pulumi_policy.policy as handler_module

    def patched() -> tuple:
        return handler_module.json_format, handler_module.deserialize_properties, handler_module.unknown_checking_proxy

    before = patched()
    test_a_raising_policy_is_an_error_of_its_own_control_not_a_crash()
    assert patched() == before
    with pytest.raises(RuntimeError), engine.decoded_once():
        assert isinstance(handler_module.json_format, engine._DecodedOnce)
        raise RuntimeError("stop")
    assert patched() == before


def test_no_rule_reaches_past_the_proxies_it_is_given() -> None:
    """Shared proxies are watched for writes (see `engine._DecodedOnce`); the raw value behind one is not."""
    reaching = [path.name for path in (ROOT / "policies" / "rules").glob("*.py") if "__target" in path.read_text()]
    assert reaching == []
