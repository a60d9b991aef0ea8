"""ApplicationTier in isolation: private, keyless, IMDSv2-only instances reachable only via the load balancer and SSM.

prod is given an endpoint security group, an S3 prefix list and a database; dev none of them, so both egress paths
(endpoint group vs VPC CIDR, database present or not) are exercised.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
import pulumi_aws as aws
import pytest
from moto import mock_aws

from caseshield.offline import RecordedResource, ResourceGraph, evaluate
from caseshield.settings import from_pulumi
from components.app_tier import AMI_PARAMETER, ApplicationTier, ApplicationTierArgs

VPC_ID = "vpc-0app"
VPC_CIDR = {"prod": "10.30.0.0/16", "dev": "10.10.0.0/16"}
APP_SUBNETS = ["subnet-0app0a", "subnet-0app0b"]
ALB_SG = "sg-0alb"
ENDPOINT_SG = "sg-0endpoints"
S3_PREFIX_LIST = "pl-63a5400a"
DATABASE_SG = "sg-0database"
TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/cs-app/0123456789abcdef"
COMPONENT = "caseshield:app:ApplicationTier"
STACK = {
    "prod": {"prefix": "cs-prod", "min": 3, "max": 9, "type": "m6i.xlarge"},
    "dev": {"prefix": "cs-dev", "min": 1, "max": 2, "type": "t3.medium"},
}
APP_PORT = 8443
FORBIDDEN_PORTS = (22, 3389)


def program() -> None:
    settings = from_pulumi()
    volume_key = aws.kms.Key("case-documents")
    session_key = aws.kms.Key("session-logs")
    prod = settings.is_prod
    ApplicationTier("app", ApplicationTierArgs(
        settings=settings, vpc_id=VPC_ID, vpc_cidr=settings.vpc_cidr, app_subnet_ids=APP_SUBNETS,
        alb_security_group_id=ALB_SG, target_group_arn=TARGET_GROUP_ARN, volume_key=volume_key,
        session_log_key=session_key,
        endpoint_security_group_id=ENDPOINT_SG if prod else None,
        endpoint_prefix_list_ids=[S3_PREFIX_LIST] if prod else [],
        database_security_group_id=DATABASE_SG if prod else None,
    ))


@cache
def app_graph(stack: str) -> ResourceGraph:
    return evaluate(stack, program=program)


@pytest.fixture(params=["prod", "dev"])
def case(request: pytest.FixtureRequest) -> tuple[str, ResourceGraph]:
    return request.param, app_graph(request.param)


def launch_template(graph: ResourceGraph) -> RecordedResource:
    return graph.one("aws:ec2/launchTemplate:LaunchTemplate")


def sg_rules(graph: ResourceGraph, kind: str) -> list[RecordedResource]:
    return graph.of_type(f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule")


def rule_target(rule: RecordedResource) -> tuple[int, int, Any]:
    inputs = rule.inputs
    peer = inputs.get("referencedSecurityGroupId") or inputs.get("cidrIpv4") or inputs.get("prefixListId")
    return inputs["fromPort"], inputs["toPort"], peer


def test_every_resource_belongs_to_the_component(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    component = graph.one(COMPONENT, "app")
    inside = {r.urn for r in graph.descendants(component.urn)}
    assert sorted(r.name for r in graph.resources if r.custom and r.urn not in inside) == ["case-documents", "session-logs"]


# -- launch template -------------------------------------------------------------------------------------------

def test_ami_comes_from_the_al2023_ssm_parameter(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    with mock_aws():
        expected = boto3.client("ssm", region_name="us-east-1").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
    assert AMI_PARAMETER == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    assert launch_template(graph).inputs["imageId"] == expected


def test_instance_metadata_requires_imdsv2_with_one_hop(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    metadata = launch_template(graph).inputs["metadataOptions"]
    assert metadata["httpTokens"] == "required"
    assert metadata["httpPutResponseHopLimit"] == 1
    assert metadata["httpEndpoint"] == "enabled"


def test_volumes_are_encrypted_gp3_with_the_volume_key(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    template = launch_template(graph)
    volume_key = graph.one("aws:kms/key:Key", "case-documents")
    mappings = template.inputs["blockDeviceMappings"]
    assert mappings
    for mapping in mappings:
        assert mapping["ebs"]["encrypted"] == "true"
        assert mapping["ebs"]["volumeType"] == "gp3"
        assert mapping["ebs"]["kmsKeyId"].endswith(f":key/{volume_key.id}")
    assert graph.depends_on(template, "blockDeviceMappings") == [volume_key]


def test_instances_have_no_public_address_no_key_pair_and_the_app_group(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    template = launch_template(graph)
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    assert graph.depends_on(template, "networkInterfaces") == [graph.one("aws:ec2/securityGroup:SecurityGroup")]
    assert "keyName" not in template.inputs
    assert "vpcSecurityGroupIds" not in template.inputs and "securityGroupNames" not in template.inputs
    assert graph.depends_on(template, "iamInstanceProfile") == [graph.one("aws:iam/instanceProfile:InstanceProfile")]


def test_instances_are_tagged_with_their_patch_group(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    expected = f"{STACK[stack]['prefix']}-app"
    specs = {s["resourceType"]: s["tags"] for s in launch_template(graph).inputs["tagSpecifications"]}
    assert specs["instance"]["Patch Group"] == expected
    asg_tags = {t["key"]: t for t in graph.one("aws:autoscaling/group:Group").inputs["tags"]}
    assert asg_tags["Patch Group"]["value"] == expected
    assert all(t["propagateAtLaunch"] is True for t in asg_tags.values())


# -- identity --------------------------------------------------------------------------------------------------

def test_instance_role_holds_exactly_the_two_managed_policies(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    role = graph.one("aws:iam/role:Role")
    assert role.inputs["name"] == f"{STACK[stack]['prefix']}-app-instance"
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    exclusive = graph.one("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")
    assert graph.depends_on(exclusive, "roleName") == [role]
    assert sorted(exclusive.inputs["policyArns"]) == [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    ]
    assert graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert graph.depends_on(graph.one("aws:iam/instanceProfile:InstanceProfile"), "role") == [role]


def test_inline_policy_only_decrypts_with_the_session_key(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    inline = graph.one("aws:iam/rolePolicy:RolePolicy")
    (statement,) = json.loads(inline.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "kms:Decrypt"
    assert graph.depends_on(inline, "policy") == [graph.one("aws:kms/key:Key", "session-logs")]
    assert "*" not in statement["Resource"]


# -- auto scaling ----------------------------------------------------------------------------------------------

def test_auto_scaling_group_is_sized_by_settings_and_checked_by_the_load_balancer(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    group = graph.one("aws:autoscaling/group:Group")
    assert group.inputs["vpcZoneIdentifiers"] == APP_SUBNETS
    assert group.inputs["minSize"] == STACK[stack]["min"]
    assert group.inputs["maxSize"] == STACK[stack]["max"]
    assert group.inputs["desiredCapacity"] == STACK[stack]["min"]
    assert group.inputs["healthCheckType"] == "ELB"
    assert group.inputs["targetGroupArns"] == [TARGET_GROUP_ARN]
    assert graph.depends_on(group, "launchTemplate") == [launch_template(graph)]
    assert launch_template(graph).inputs["instanceType"] == STACK[stack]["type"]


# -- security group --------------------------------------------------------------------------------------------

def test_only_the_load_balancer_reaches_the_app_port(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    group = graph.one("aws:ec2/securityGroup:SecurityGroup")
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    assert [rule_target(r) for r in sg_rules(graph, "Ingress")] == [(APP_PORT, APP_PORT, ALB_SG)]
    for rule in [*sg_rules(graph, "Ingress"), *sg_rules(graph, "Egress")]:
        assert graph.depends_on(rule, "securityGroupId") == [group]
        assert rule.inputs["ipProtocol"] == "tcp"


def test_egress_goes_only_to_endpoints_and_the_database() -> None:
    prod = {rule_target(r) for r in sg_rules(app_graph("prod"), "Egress")}
    assert prod == {(443, 443, ENDPOINT_SG), (443, 443, S3_PREFIX_LIST), (5432, 5432, DATABASE_SG)}
    dev = {rule_target(r) for r in sg_rules(app_graph("dev"), "Egress")}
    assert dev == {(443, 443, VPC_CIDR["dev"])}


def test_no_rule_opens_ssh_or_rdp_or_the_internet(case: tuple[str, ResourceGraph]) -> None:
    _, graph = case
    rules = [*sg_rules(graph, "Ingress"), *sg_rules(graph, "Egress")]
    assert rules
    for rule in rules:
        low, high, peer = rule_target(rule)
        assert not any(low <= port <= high for port in FORBIDDEN_PORTS), rule.name
        assert peer not in ("0.0.0.0/0", None), rule.name
        assert "cidrIpv6" not in rule.inputs


# -- Session Manager -------------------------------------------------------------------------------------------

def test_session_preferences_encrypt_and_record_every_session(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    document = graph.one("aws:ssm/document:Document")
    assert document.inputs["name"] == "SSM-SessionManagerRunShell"
    assert document.inputs["documentType"] == "Session"
    inputs = json.loads(document.inputs["content"])["inputs"]
    log_group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    session_key = graph.one("aws:kms/key:Key", "session-logs")
    assert log_group.inputs["name"] == f"/caseshield/{stack}/ssm-sessions"
    assert inputs["cloudWatchLogGroupName"] == log_group.inputs["name"]
    assert inputs["cloudWatchEncryptionEnabled"] is True
    assert inputs["s3EncryptionEnabled"] is True
    assert inputs["kmsKeyId"] == session_key.id
    assert inputs["runAsEnabled"] is False
    assert inputs["idleSessionTimeout"] == "20"
    assert {r.urn for r in graph.depends_on(document, "content")} == {log_group.urn, session_key.urn}


def test_session_log_group_is_encrypted_and_stateful(case: tuple[str, ResourceGraph]) -> None:
    stack, graph = case
    log_group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert graph.depends_on(log_group, "kmsKeyId") == [graph.one("aws:kms/key:Key", "session-logs")]
    assert log_group.inputs["retentionInDays"] >= (365 if stack == "prod" else 90)
    assert log_group.protect is log_group.retain_on_delete is (stack == "prod")
