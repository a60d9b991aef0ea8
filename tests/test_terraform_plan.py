"""The Terraform plan translation: every type and nested property covered, names as the bridge spells them, values as
Terraform holds them, secrets unwrapped, and links only where the program made them (property dependencies)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from caseshield import terraform_plan as tp
from caseshield.offline import RecordedResource, ResourceGraph
from tests.conftest import graph_of


def plan_resource(plan: tp.TerraformPlan, address: str) -> dict[str, Any]:
    found = [r for r in plan.document["planned_values"]["root_module"]["resources"] if r["address"] == address]
    assert len(found) == 1, address
    return found[0]


def expressions(plan: tp.TerraformPlan, address: str) -> dict[str, Any]:
    found = [r for r in plan.document["configuration"]["root_module"]["resources"] if r["address"] == address]
    return dict(found[0]["expressions"])


@pytest.fixture(scope="module")
def dev_plan() -> tp.TerraformPlan:
    return tp.translate(graph_of("dev"))


def test_table_covers_every_type_and_nested_property_of_every_stack(graph: ResourceGraph) -> None:
    assert tp.uncovered(graph) == []


def test_an_uncovered_nested_object_or_list_is_reported() -> None:
    g = copy.deepcopy(graph_of("dev"))
    bucket = g.one("aws:s3/bucket:Bucket", "caseshield-documents-bucket")
    bucket.inputs["website"] = {"indexDocument": "index.html"}
    vpc = g.one("aws:ec2/vpc:Vpc")
    vpc.inputs["ipv6Pools"] = ["pool-1"]
    problems = tp.uncovered(g)
    assert len(problems) == 2
    assert "nested object 'website'" in problems[0] or "nested object 'website'" in problems[1]
    assert any("list 'ipv6Pools'" in p for p in problems)


def test_an_unknown_type_is_reported() -> None:
    g = copy.deepcopy(graph_of("dev"))
    next(r for r in g.resources if r.type == "aws:ec2/vpc:Vpc").type = "aws:sqs/queue:Queue"
    assert any("type aws:sqs/queue:Queue has no entry" in p for p in tp.uncovered(g))


@pytest.mark.parametrize(("name", "expected"), [
    ("vpcZoneIdentifiers", "vpc_zone_identifiers"), ("s3KeyPrefix", "s3_key_prefix"), ("enableHttp2", "enable_http2"),
    ("cidrIpv4", "cidr_ipv4"), ("cloudWatchLogsGroupArn", "cloud_watch_logs_group_arn"), ("ttl", "ttl"),
])
def test_snake_case(name: str, expected: str) -> None:
    assert tp.snake_case(name) == expected


def test_table_types_are_terraform_types_and_unique() -> None:
    table = tp.load_table()
    types = [spec.terraform for spec in table.values()]
    assert len(types) == len(set(types))
    assert all(t.startswith(("aws_", "random_")) for t in types)
    assert table["aws:rds/instance:Instance"].terraform == "aws_db_instance"
    assert table["aws:lb/loadBalancer:LoadBalancer"].terraform == "aws_lb"
    assert table["aws:cfg/rule:Rule"].terraform == "aws_config_config_rule"


def test_plural_renames_blocks_and_maps(dev_plan: tp.TerraformPlan) -> None:
    asg = plan_resource(dev_plan, "aws_autoscaling_group.caseshield-app-asg")["values"]
    assert "vpc_zone_identifier" in asg and "vpcZoneIdentifiers" not in asg
    assert isinstance(asg["tag"], list) and {"key", "value", "propagate_at_launch"} <= set(asg["tag"][0])
    assert isinstance(asg["launch_template"], list) and len(asg["launch_template"]) == 1  # single block -> one item
    lifecycle = plan_resource(dev_plan, "aws_s3_bucket_lifecycle_configuration.caseshield-documents-bucket-lifecycle")
    rules = lifecycle["values"]["rule"]
    assert all(rule["filter"] == [{}] for rule in rules)  # an empty block stays a block
    db = plan_resource(dev_plan, "aws_db_instance.caseshield-database-instance")["values"]
    assert db["tags"]["data-classification"] == "case-database"  # map keys are data, never renamed
    assert db["allocated_storage"] == 20 and isinstance(db["allocated_storage"], int)  # whole floats -> integers


def test_policy_documents_stay_json_strings_and_secrets_are_unwrapped(dev_plan: tp.TerraformPlan) -> None:
    raw = graph_of("dev").one("aws:iam/role:Role", "caseshield-roles-vendor-support").inputs["assumeRolePolicy"]
    assert isinstance(raw, dict) and tp.SECRET_SIG in raw  # the program marks the ExternalId trust policy secret
    trust = plan_resource(dev_plan, "aws_iam_role.caseshield-roles-vendor-support")["values"]["assume_role_policy"]
    assert isinstance(trust, str)
    assert json.loads(trust)["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]
    assert "4dabf18193072939515e22adb298388d" not in json.dumps(dev_plan.document)


def test_addresses_are_unique_and_lead_back_to_urns(dev_plan: tp.TerraformPlan) -> None:
    g = graph_of("dev")
    addresses = [r["address"] for r in dev_plan.document["planned_values"]["root_module"]["resources"]]
    assert len(addresses) == len(set(addresses)) == len(tp.plannable(g))
    assert set(dev_plan.urns.values()) == {r.urn for r in tp.plannable(g)}
    assert not any(r.type.startswith("pulumi:providers:") or not r.custom for r in tp.plannable(g))


def test_name_clashes_get_distinct_addresses() -> None:
    g = copy.deepcopy(graph_of("dev"))
    twin = copy.deepcopy(g.one("aws:ec2/vpc:Vpc"))
    twin.urn += "-twin"
    g.resources.append(twin)
    plan = tp.translate(ResourceGraph(g.project, g.stack, g.config, g.resources, g.stack_outputs))
    assert {"aws_vpc.caseshield-network", "aws_vpc.caseshield-network_2"} <= set(plan.urns)


def test_links_come_from_property_dependencies_only(dev_plan: tp.TerraformPlan) -> None:
    pab = expressions(dev_plan, "aws_s3_bucket_public_access_block.caseshield-documents-bucket-public-access-block")
    assert pab["bucket"]["references"] == ["aws_s3_bucket.caseshield-documents-bucket.id",
                                           "aws_s3_bucket.caseshield-documents-bucket"]
    db = expressions(dev_plan, "aws_db_instance.caseshield-database-instance")
    assert db["kms_key_id"]["references"][0] == "aws_kms_key.caseshield-keys-case-database.arn"
    assert "monitoring_role_arn" in db and "engine" not in db  # a literal input links nothing
    # The access-logs bucket's name appears in other inputs, but nothing else was built from it: no link is invented.
    resource: RecordedResource = graph_of("dev").one("aws:ec2/vpc:Vpc")
    assert expressions(dev_plan, "aws_vpc.caseshield-network") == {} and not any(resource.property_dependencies.values())
