"""Generated mutants (caseshield/generated_mutants.py): the operators change the graph, a weakening is caught through
pulumi-policy's handler, the pruned run agrees with the whole pack, survivors must be reviewed, reviews must not go
stale, and a seeded sample of each stack's mutants is caught or reviewed (the full run is `make report`)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest

from caseshield import checks
from caseshield import generated_mutants as gm
from caseshield.offline import ResourceGraph
from caseshield.report import MutantResult
from tests.conftest import STACKS, graph_of

SAMPLE_PER_STACK = 40


@contextmanager
def stack_run(stack: str) -> Iterator[gm.StackRun]:
    """A stack's baseline and mutant runner, with the tracking shim installed for the test only."""
    with gm.tracking() as shim:
        yield gm.StackRun(graph_of(stack), gm._policies(), shim)


def _one(run: gm.StackRun, suffix: str) -> gm.GeneratedMutant:
    found = [m for i, m in run.mutants.items() if i.endswith(suffix)]
    assert len(found) == 1, (suffix, [m.id for m in found])
    return found[0]


def test_every_configured_property_generates_mutants_on_some_stack() -> None:
    """No dead entry in policies/generated-mutants.yaml: each path or removable type exists on some stack."""
    generated = {(graph_of(s).by_urn[m.urn].type, m.control) for s in STACKS for m in gm.generate(graph_of(s))}
    generated_types = {t for t, _ in generated}
    for type_, entries in gm.config().items():
        assert type_ in generated_types, type_
        for entry in entries:
            mutants = [m for s in STACKS for m in gm.generate(graph_of(s), {type_: (entry,)})]
            assert mutants, f"{type_} {entry.kind} {entry.path or '(remove)'} generates nothing on any stack"


@pytest.mark.parametrize("stack", STACKS)
def test_every_operator_really_changes_the_graph_and_ids_are_stable(stack: str) -> None:
    graph = graph_of(stack)
    mutants = gm.generate(graph)
    assert [m.id for m in mutants] == [m.id for m in gm.generate(graph)]  # stable
    assert len({m.id for m in mutants}) == len(mutants) > 300
    for m in mutants:
        assert m.id.startswith(f"gen:{stack}:{m.resource}:")
        changed = gm.mutated(graph, m)
        if m.kind == "remove":
            assert m.urn not in changed.by_urn and len(changed.resources) == len(graph.resources) - 1
            continue
        before, after = graph.by_urn[m.urn], changed.by_urn[m.urn]
        assert after.inputs != before.inputs, m.id
        if before.custom:
            assert after.outputs != before.outputs, m.id  # what stack policies read changed as well
        assert graph.by_urn[m.urn].inputs == before.inputs  # the recorded graph itself is untouched


def test_document_operators_cover_the_issues_classes(prod: ResourceGraph) -> None:
    ids = [m.id for m in gm.generate(prod)]
    for operator in (":deny-to-allow", ":allow-to-deny", ":drop-deny", ":drop-allow", ".Principal:any", ".Resource:any",
                     ":like-any", ":if-exists", ":negate"):
        assert any(i.endswith(operator) for i in ids), operator
    key = next(m for m in gm.generate(prod) if m.resource == "caseshield-keys-case-documents"
               and m.id.endswith(":like-any") and "StringEquals" in m.id)
    document = json.loads(gm.mutated(prod, key).by_urn[key.urn].inputs["policy"])
    assert "StringLike" in json.dumps(document) and '"*"' in json.dumps(document)


def test_a_known_weakening_is_caught_through_the_handler() -> None:
    with stack_run("prod") as run:
        _known_weakenings_are_caught(run)


def _known_weakenings_are_caught(run: gm.StackRun) -> None:
    rotation = _one(run, "caseshield-keys-case-documents:enableKeyRotation:flip")
    new = run.run(rotation, exhaustive=True)
    assert any(policy == "kms-keys-rotate" or policy.startswith("kms") for policy, _, _ in new), new
    assert run.result(rotation).killed
    tls = next(m for m in run.mutants.values() if m.resource == "caseshield-documents-bucket-policy"
               and "DenyInsecureTransport" in m.id and m.id.endswith(":deny-to-allow"))
    assert run.result(tls).killed


def test_the_pruned_run_agrees_with_the_whole_pack_run_plainly() -> None:
    """Only the policies that read the mutated property run again (cheapest first, with `may` remembered); on a
    sample, the plain engine over the whole mutated graph, without any of that, gives the same verdict."""
    graph = graph_of("dev")
    policies = gm._policies()
    mutants = gm.generate(graph)
    sample = random.Random(14).sample(mutants, 8) + [m for m in mutants if m.kind == "remove"][:2]
    baseline = gm._keys(checks.run_engine(graph, policies))
    plain = {m.id: gm._keys(checks.run_engine(gm.mutated(graph, m), policies)) - baseline for m in sample}
    with stack_run("dev") as run:
        for m in sample:
            assert run.run(m, exhaustive=True) == plain[m.id], m.id
            assert run.result(m).killed == bool(plain[m.id]), m.id


@pytest.mark.parametrize("stack", STACKS)
def test_a_seeded_sample_of_each_stacks_mutants_is_caught_or_reviewed(stack: str) -> None:
    reviews = gm.reviewed()
    with stack_run(stack) as run:
        sample = random.Random(f"issue-14-{stack}").sample(sorted(run.mutants), SAMPLE_PER_STACK)
        results = [run.result(run.mutants[i]) for i in sample]
    summary = gm.GeneratedSummary(results, reviews)
    assert [r.id for r in summary.unreviewed] == []


def test_a_survivor_not_reviewed_fails_the_run() -> None:
    survivor = MutantResult("gen:prod:caseshield-x:flag:flip", "KEY-01", "a flag flipped", "prod", False, ())
    killed = MutantResult("gen:prod:caseshield-y:flag:flip", "KEY-01", "a flag flipped", "prod", True, ("kms-keys-rotate",))
    assert not gm.GeneratedSummary([survivor, killed], []).passed
    assert gm.GeneratedSummary([survivor, killed], []).unreviewed == [survivor]
    reviewed = gm.GeneratedSummary([survivor, killed], [gm.Review(survivor.id, "it tightens the key policy only")])
    assert reviewed.passed and reviewed.review_of(survivor) is not None
    stale = gm.GeneratedSummary([killed], [gm.Review(survivor.id, "it tightens the key policy only")])
    assert not stale.passed and stale.stale
    assert any("not reviewed" in line for line in gm.summary_lines(gm.GeneratedSummary([survivor], [])))


def test_the_reviewed_file_has_no_stale_entry() -> None:
    """Each reviewed entry still matches a generated mutant of some stack (the full run checks it matches a survivor)."""
    ids = [m.id for s in STACKS for m in gm.generate(graph_of(s))]
    for review in gm.reviewed():
        assert any(review.covers(i) for i in ids), f"{review.pattern} matches no generated mutant: remove it"
        assert len(review.reason.split()) >= 6


def test_the_check_reports_generated_kill_rates_in_every_format(tmp_path: object) -> None:
    from caseshield.render import _model as m
    from caseshield.render import json_doc, junit, sarif
    from caseshield.render._document import report_blocks
    from caseshield.report import CheckReport
    from policies import catalog as catalog_module

    survivor = MutantResult("gen:prod:caseshield-x:flag:flip", "KEY-01", "a flag flipped", "prod", False, ())
    killed = MutantResult("gen:prod:caseshield-y:flag:flip", "KEY-01", "a flag flipped", "prod", True, ("kms-keys-rotate",))
    report = CheckReport("2026-01-01T00:00:00+00:00", catalog_module.load(), [], [], [], [],
                         generated=gm.GeneratedSummary([survivor, killed], [], 1.0))
    assert not report.passed and any("without a review" in r for r in m.verdict_reasons(report))
    assert ("KEY-01", None, (1, 2)) in m.kill_rates(report)
    document = json.loads(json_doc.render(report))
    schema = json.loads((Path(catalog_module.CATALOG_PATH).parent / "report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["generated_mutation"]["by_control"]["KEY-01"]["generated"] == {"killed": 1, "total": 2}
    assert document["generated_mutation"]["survivors"][0]["review"] is None
    assert "KEY-01" in sarif.log(report)["runs"][0]["properties"]["mutantKillRates"]
    assert "generated kill rate 50.0%" in junit.render(report)
    assert "surviving generated mutant" in str(report_blocks(report))
