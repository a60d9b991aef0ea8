"""checkov as the third-party gate, run once for this module over a batch of plans.

Fidelity: for each check below, the translated stack passes it, and one mutation of the recorded input -- a changed
property, or a dropped property dependency (the link a graph check walks) -- makes the very same resource fail it:
proof that the translation carries what checkov reads. Also: every shipped stack has no unexempted failure, the
secrets scan fires on a key in a stack file and holds on the real ones, and the triage rules (controls, waivers,
suppressions) are applied as documented.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from caseshield import terraform_plan as tp
from caseshield import thirdparty_checkov as tc
from caseshield.offline import RecordedResource, ResourceGraph
from policies import catalog as catalog_module
from policies import waivers as waivers_module
from tests.conftest import STACKS, graph_of

pytestmark = pytest.mark.skipif(not tc.available(), reason="checkov's tool environment is missing: run `make tools`")
TODAY = dt.date(2026, 12, 1)
Mutation = Callable[[ResourceGraph], None]


def named(graph: ResourceGraph, name: str) -> RecordedResource:
    return next(r for r in graph.resources if r.name == name)


def set_input(name: str, path: str, value: Any) -> Mutation:
    def mutate(graph: ResourceGraph) -> None:
        *parents, last = path.split(".")
        node: Any = named(graph, name).inputs
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return mutate


def drop_input(name: str, prop: str) -> Mutation:
    def mutate(graph: ResourceGraph) -> None:
        resource = named(graph, name)
        resource.inputs.pop(prop, None)
        resource.property_dependencies.pop(prop, None)
    return mutate


def unlink(name: str, prop: str) -> Mutation:
    """Keep the value, drop the recorded dependency: the graph check must lose the link."""
    def mutate(graph: ResourceGraph) -> None:
        named(graph, name).property_dependencies[prop] = []
    return mutate


@dataclass(frozen=True)
class Fidelity:
    check: str
    address: str
    mutation: Mutation


FIDELITY = [
    # graph checks (CKV2_*): each needs a link made from a property dependency
    Fidelity("CKV2_AWS_6", "aws_s3_bucket.caseshield-documents-bucket",
             unlink("caseshield-documents-bucket-public-access-block", "bucket")),
    Fidelity("CKV2_AWS_11", "aws_vpc.caseshield-network", unlink("caseshield-network-flow-log", "vpcId")),
    Fidelity("CKV2_AWS_12", "aws_vpc.caseshield-network", unlink("caseshield-network-default-sg", "vpcId")),
    Fidelity("CKV2_AWS_28", "aws_lb.caseshield-edge-alb", unlink("caseshield-edge-waf-association", "resourceArn")),
    Fidelity("CKV2_AWS_31", "aws_wafv2_web_acl.caseshield-edge-web-acl", unlink("caseshield-edge-waf-logging", "resourceArn")),
    Fidelity("CKV2_AWS_61", "aws_s3_bucket.caseshield-audit-archive", unlink("caseshield-audit-archive-lifecycle", "bucket")),
    Fidelity("CKV2_AWS_65", "aws_s3_bucket_ownership_controls.caseshield-documents-bucket-ownership",
             set_input("caseshield-documents-bucket-ownership", "rule.objectOwnership", "ObjectWriter")),
    Fidelity("CKV2_AWS_60", "aws_db_instance.caseshield-database-instance",
             set_input("caseshield-database-instance", "copyTagsToSnapshot", False)),
    # resource checks
    Fidelity("CKV_AWS_118", "aws_db_instance.caseshield-database-instance",
             set_input("caseshield-database-instance", "monitoringInterval", 0.0)),
    Fidelity("CKV_AWS_16", "aws_db_instance.caseshield-database-instance",
             set_input("caseshield-database-instance", "storageEncrypted", False)),
    Fidelity("CKV_AWS_7", "aws_kms_key.caseshield-keys-case-documents",
             set_input("caseshield-keys-case-documents", "enableKeyRotation", False)),
    Fidelity("CKV_AWS_36", "aws_cloudtrail.caseshield-audit-trail",
             set_input("caseshield-audit-trail", "enableLogFileValidation", False)),
    Fidelity("CKV_AWS_67", "aws_cloudtrail.caseshield-audit-trail",
             set_input("caseshield-audit-trail", "isMultiRegionTrail", False)),
    Fidelity("CKV_AWS_79", "aws_launch_template.caseshield-app-launch-template",
             set_input("caseshield-app-launch-template", "metadataOptions.httpTokens", "optional")),
    Fidelity("CKV_AWS_26", "aws_sns_topic.caseshield-detection-alerting-incidents",
             drop_input("caseshield-detection-alerting-incidents", "kmsMasterKeyId")),
    Fidelity("CKV_AWS_158", "aws_cloudwatch_log_group.caseshield-network-flow-logs",
             drop_input("caseshield-network-flow-logs", "kmsKeyId")),
    Fidelity("CKV_AWS_28", "aws_dynamodb_table.caseshield-ledger-table",
             set_input("caseshield-ledger-table", "pointInTimeRecovery.enabled", False)),
]
FAKE_SECRET_STACK = ("config:\n  caseshield:environment: dev\n"
                     "  caseshield:deployKeyId: AKIAZ3MSJV4WWNKWW5FG\n"
                     "  caseshield:deployKeySecret: 8nCTtQzmNDYUl9Z+nhRJlP0wkSVtS05iUWlDSHbh\n")


def mutated(graph: ResourceGraph) -> ResourceGraph:
    copied = copy.deepcopy(graph)
    copied.stack = "dev-mutated"
    for fidelity in FIDELITY:
        fidelity.mutation(copied)
    return copied


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[tuple[str, str, str], bool], tc.CheckovVerdict]:
    """One checkov process: every shipped stack, the mutated dev stack, the real secret-scan files and one leaky file."""
    leaky = tmp_path_factory.mktemp("stacks") / "Pulumi.leaky.yaml"
    leaky.write_text(FAKE_SECRET_STACK)
    plans = [tp.translate(graph_of(s)) for s in STACKS] + [tp.translate(mutated(graph_of("dev")))]
    version, reports, by_file = tc.run_checkov(plans, secret_files=[*tc.secret_scan_files(), leaky])
    catalog = catalog_module.load()
    verdict = tc.verdict_from_reports(reports, by_file, catalog, [], today=TODAY, version=version)
    seen = {(r.stack, r.check_id, r.address): r.passed for v in verdict.stacks.values() for r in v.results}
    return seen, verdict


def test_fidelity_covers_at_least_15_checks_and_5_graph_checks() -> None:
    checks = {f.check for f in FIDELITY}
    assert len(checks) >= 15 and len({c for c in checks if c.startswith("CKV2_")}) >= 5


@pytest.mark.parametrize("fidelity", FIDELITY, ids=[f.check for f in FIDELITY])
def test_mutation_flips_checkov_from_pass_to_fail(run: Any, fidelity: Fidelity) -> None:
    seen, _ = run
    assert seen.get(("dev", fidelity.check, fidelity.address)) is True
    assert seen.get(("dev-mutated", fidelity.check, fidelity.address)) is False


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_have_no_unexempted_failure(run: Any, stack: str) -> None:
    _, verdict = run
    triaged = tc.verdict_from_reports([], {}, catalog_module.load(), [], today=TODAY)
    assert triaged.suppression_problems == []
    found = verdict.stacks[stack]
    assert found.count() > 600
    assert [(r.check_id, r.address) for r in found.failures] == []
    assert found.count("waived") > 0  # the triaged non-fits stay visible, counted as waived


def test_every_result_lands_on_a_pulumi_resource(run: Any) -> None:
    _, verdict = run
    assert all(r.urn.startswith("urn:pulumi:dev::") for r in verdict.stacks["dev"].results)


def test_secrets_scan_fires_on_a_key_and_holds_on_the_stack_files(run: Any) -> None:
    _, verdict = run
    assert {r.stack for r in verdict.secrets} == {"Pulumi.leaky.yaml"}
    assert {r.check_id for r in verdict.secrets} >= {"CKV_SECRET_2"}
    assert not verdict.passed  # a secret fails the gate


# --- triage, on hand-made reports (no checkov run) ---------------------------------------------------------------

PLAN = tp.TerraformPlan("prod", {}, {"aws_db_instance.db": "urn:pulumi:prod::caseshield::aws:rds/instance:Instance::db"})


def report(*failed: str, passed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    def result(check: str) -> dict[str, Any]:
        return {"check_id": check, "check_name": f"name of {check}", "file_path": "/prod.tfplan.json",
                "resource": "aws_db_instance.db", "resource_address": "aws_db_instance.db"}
    return [{"check_type": "terraform_plan", "summary": {"checkov_version": "x"},
             "results": {"failed_checks": [result(c) for c in failed], "passed_checks": [result(c) for c in passed]}}]


SUPPRESSION = {"check": "CKV_AWS_999", "stack": ["prod"], "resource": "aws_db_instance.*", "owner": "platform",
               "approver": "ciso", "ticket": "T-1", "expires": "2027-01-01",
               "reason": "This check does not fit the database for a reason written out here."}


def triage(failed: tuple[str, ...], suppressions: Sequence[dict[str, Any]] = (), waivers: Sequence[Any] = ()) -> tc.StackVerdict:
    verdict = tc.verdict_from_reports(report(*failed, passed=("CKV_AWS_16",)), {"prod.tfplan.json": PLAN},
                                      catalog_module.load(), list(waivers), today=TODAY,
                                      suppression_entries=list(suppressions))
    return verdict.stacks["prod"]


def test_a_failing_check_a_control_lists_counts_against_that_control() -> None:
    found = triage(("CKV_AWS_118",))
    assert [(r.control, r.status) for r in found.failures] == [("MON-07", "fail")]
    assert found.third_party_failures == [] and found.count("pass") == 1


def test_a_failing_check_no_control_lists_is_a_third_party_failure() -> None:
    found = triage(("CKV_AWS_999",))
    assert [(r.check_id, r.control) for r in found.third_party_failures] == [("CKV_AWS_999", None)]


def test_a_suppression_exempts_only_its_check_stack_and_resource() -> None:
    found = triage(("CKV_AWS_999", "CKV_AWS_998"), [SUPPRESSION])
    assert [(r.check_id, r.status) for r in found.results if not r.passed] == [("CKV_AWS_998", "fail"),
                                                                                 ("CKV_AWS_999", "waived")]
    assert found.results[-1].exemption is not None and found.results[-1].exemption.ticket == "T-1"
    assert triage(("CKV_AWS_999",), [{**SUPPRESSION, "stack": ["dev", "staging"]}]).failures
    assert triage(("CKV_AWS_999",), [{**SUPPRESSION, "resource": "aws_lb.*"}]).failures


def test_a_control_waiver_exempts_the_checks_of_that_control() -> None:
    catalog = catalog_module.load()
    entry = {"control": "MON-07", "stack": "prod", "resource": "db", "owner": "platform", "approver": "ciso",
             "ticket": "T-2", "expires": "2027-01-01", "reason": "The database is replaced next week by a new one here."}
    waivers, problems = waivers_module.parse([entry], catalog, TODAY)
    assert problems == []
    assert [r.status for r in triage(("CKV_AWS_118",), waivers=waivers).results if not r.passed] == ["waived"]
    assert triage(("CKV_AWS_999",), waivers=waivers).failures  # a waiver never reaches a check of no control


@pytest.mark.parametrize(("change", "problem"), [
    ({"reason": "tbd"}, "reason must explain"),
    ({"approver": "platform"}, "approver must be someone other"),
    ({"expires": "2026-11-30"}, "expired on 2026-11-30"),
    ({"expires": "soon"}, "expires must be a date"),
    ({"ticket": ""}, "missing ticket"),
    ({"color": "red"}, "unknown field"),
])
def test_malformed_suppressions_are_problems_that_fail_the_gate(change: dict[str, Any], problem: str) -> None:
    suppressions, problems = tc.parse_suppressions([{**SUPPRESSION, **change}], TODAY)
    assert suppressions == [] and any(problem in p for p in problems)
    verdict = tc.verdict_from_reports([], {}, catalog_module.load(), [], today=TODAY,
                                      suppression_entries=[{**SUPPRESSION, **change}])
    assert not verdict.passed


def test_the_shipped_suppressions_are_valid_and_scope_relaxations_to_non_prod() -> None:
    suppressions, problems = tc.parse_suppressions(list(tc.load_suppression_entries()), TODAY)
    assert problems == []
    relaxed = [s for s in suppressions if "CKV_AWS_338" in s.checks or "CKV_AWS_157" in s.checks]
    assert relaxed and all("prod" not in s.stacks and "*" not in s.stacks for s in relaxed)


def test_the_tool_environment_is_separate_from_the_main_one() -> None:
    assert tc.CHECKOV_PYTHON.parent.parent != Path(__file__).resolve().parent.parent / ".venv"
    requirements = (Path(__file__).resolve().parent.parent / "tools" / "checkov-requirements.txt").read_text()
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert "checkov==3.3.30" in pins and all("==" in line for line in pins)


def test_every_check_a_control_lists_exists_and_belongs_to_one_control(run: Any) -> None:
    seen, _ = run
    listed = [check for c in catalog_module.load().controls for check in c.checkov]
    assert len(listed) == len(set(listed))
    ran = {check for (stack, check, _) in seen if stack in STACKS}
    assert set(listed) - ran == set()


def test_stacks_are_summarised_in_promotion_order_not_alphabetically() -> None:
    from typing import cast

    from caseshield.render import third_party
    from caseshield.render._blocks import Heading
    from caseshield.report import CheckReport

    verdict = tc.CheckovVerdict("3.3.30", {s: tc.StackVerdict(s) for s in ("prod", "dev", "staging")}, [], [])
    assert [line.split()[2].rstrip(":") for line in tc.summary_lines(verdict)] == ["dev", "staging", "prod"]

    class Report:  # the one attribute blocks() reads
        checkov = verdict

    blocks = third_party.blocks(cast(CheckReport, Report()))
    headings = [b.text for b in blocks if isinstance(b, Heading) and b.text.startswith("Stack")]
    assert headings == ["Stack dev", "Stack staging", "Stack prod"]
