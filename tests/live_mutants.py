"""Apply the live mutants of policies/live-mutants.yaml to a moto-deployed stack.

A mutant is drift made with boto3 (or, for the reads moto lacks, an edit of the stub answer); the tests then
require `caseshield audit` to turn exactly the mutant's control from pass to fail. Placeholders in a step's
arguments name facts of the deployed stack, read from the account itself (FACTS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from caseshield.audit.account import Account
from tests.moto_deploy import Gaps

MUTANTS_PATH = Path(__file__).resolve().parent.parent / "policies" / "live-mutants.yaml"
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^}]+))?\}")


@dataclass(frozen=True)
class LiveMutant:
    id: str
    control: str
    description: str
    steps: tuple[dict[str, Any], ...]
    stack: str = "dev"


def load() -> list[LiveMutant]:
    entries = yaml.safe_load(MUTANTS_PATH.read_text())["mutants"]
    return [LiveMutant(e["id"], e["control"], e["description"], tuple(e["steps"]), e.get("stack", "dev")) for e in entries]


def _first(items: list[Any], what: str) -> Any:
    if not items:
        raise LookupError(f"the deployed stack has no {what}")
    return items[0]


def _ec2(a: Account, method: str, key: str, **kwargs: Any) -> list[Any]:
    return list(getattr(a.client("ec2"), method)(**kwargs)[key])


FACTS: dict[str, Callable[[Account, str], Any]] = {
    "stack": lambda a, _: a.stack,
    "account": lambda a, _: a.account_id,
    "region": lambda a, _: a.region,
    "name": lambda a, arg: a.name(arg),
    "setting": lambda a, arg: getattr(a.settings, arg),
    "key": lambda a, arg: a.key(arg),
    "key_arn": lambda a, arg: a.key_arn(arg),
    "bucket": lambda a, arg: {"documents": a.documents_bucket, "archive": a.archive_bucket, "access-logs": a.access_logs_bucket}[arg],
    "subnet": lambda a, arg: a.subnets(arg)[0]["SubnetId"],
    "route_table": lambda a, arg: _first(_ec2(a, "describe_route_tables", "RouteTables", Filters=[
        *a.vpc_filter(), {"Name": "tag:tier", "Values": [arg]}]), f"{arg} route table")["RouteTableId"],
    "igw": lambda a, _: _first(_ec2(a, "describe_internet_gateways", "InternetGateways", Filters=[
        {"Name": "attachment.vpc-id", "Values": [a.vpc_id]}]), "internet gateway")["InternetGatewayId"],
    "sg": lambda a, arg: {"default": lambda: _first(_ec2(a, "describe_security_groups", "SecurityGroups", Filters=[
        *a.vpc_filter(), {"Name": "group-name", "Values": ["default"]}]), "default group")["GroupId"],
        "database": lambda: a.database["VpcSecurityGroups"][0]["VpcSecurityGroupId"]}.get(arg, lambda: a.security_group(arg)["GroupId"])(),
    "endpoint": lambda a, arg: _first([e["VpcEndpointId"] for e in _ec2(a, "describe_vpc_endpoints", "VpcEndpoints", Filters=a.vpc_filter())
                                       if e["ServiceName"].endswith(f".{arg}")], f"{arg} endpoint"),
    "flow_log": lambda a, _: _first(_ec2(a, "describe_flow_logs", "FlowLogs", Filters=[
        {"Name": "resource-id", "Values": [a.vpc_id]}]), "flow log")["FlowLogId"],
    "lb": lambda a, _: a.load_balancer["LoadBalancerArn"],
    "listener": lambda a, arg: _first([x["ListenerArn"] for x in a.client("elbv2").describe_listeners(
        LoadBalancerArn=a.load_balancer["LoadBalancerArn"])["Listeners"] if x["Protocol"] == arg], f"{arg} listener"),
    "target_group": lambda a, _: _first(a.client("elbv2").describe_target_groups()["TargetGroups"], "target group")["TargetGroupArn"],
    "web_acl": lambda a, _: a.web_acl["ARN"],
    "topic": lambda a, _: a.topic_arn,
    "subscription": lambda a, _: _first(a.client("sns").list_subscriptions_by_topic(TopicArn=a.topic_arn)["Subscriptions"],
                                        "subscription")["SubscriptionArn"],
    "table": lambda a, _: a.ledger["TableArn"],
    "pool": lambda a, _: a.user_pool_id,
    "detector": lambda a, _: a.detector_id,
    "trail": lambda a, _: a.trail["Name"],
    "launch_template": lambda a, _: _first(_ec2(a, "describe_launch_templates", "LaunchTemplates", Filters=[
        {"Name": "tag:stack", "Values": [a.stack]}]), "launch template")["LaunchTemplateId"],
    "db_parameter_group": lambda a, _: a.database["DBParameterGroups"][0]["DBParameterGroupName"],
    "window": lambda a, arg: _first([w["WindowId"] for w in a.client("ssm").describe_maintenance_windows()["WindowIdentities"]
                                     if w["Name"] == a.name(arg)], f"maintenance window {arg}"),
    "baseline": lambda a, _: _first([b["BaselineId"] for b in a.client("ssm").describe_patch_baselines()["BaselineIdentities"]
                                     if b["BaselineName"].startswith(f"{a.prefix}-")], "patch baseline"),
}


def fill(value: Any, account: Account) -> Any:
    """`value` with every placeholder replaced by the fact it names (dicts and lists recursively)."""
    if isinstance(value, dict):
        return {k: fill(v, account) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, account) for v in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return FACTS[whole.group(1)](account, whole.group(2) or "")
    return PLACEHOLDER.sub(lambda m: str(FACTS[m.group(1)](account, m.group(2) or "")), value)


def apply(mutant: LiveMutant, account: Account, gaps: Gaps) -> None:
    for step in mutant.steps:
        if "call" in step:
            service, method = step["call"].split(".")
            args = fill(step.get("args") or {}, account)
            args = {k: json.dumps(v) if k in ("PolicyDocument",) and isinstance(v, dict) else v for k, v in args.items()}
            getattr(account.client(service), method)(**args)
        elif "key_policy" in step:
            edit = step["key_policy"]
            kms, key = account.client("kms"), account.key(edit["key"])
            policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
            if "drop" in edit:
                policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != edit["drop"]]
            if "add" in edit:
                policy["Statement"].append(fill(edit["add"], account))
            kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
        elif "gap" in step:
            edit = step["gap"]
            target = gaps.responses[edit["response"]]
            *path, last = edit["path"]
            for part in path:
                target = target[part]
            target[last] = edit["value"]
        else:
            raise ValueError(f"mutant {mutant.id}: unknown step {step}")
