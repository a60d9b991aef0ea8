"""The deployed account as the live checks see it: boto3 clients with retries, and the stack's resources found by
the blueprint's names and tags.

Physical names come from the stack's settings (`cs-<stack>-...`, `alias/cs-<stack>/<data class>`, ...); buckets
and the launch template are auto-named by Pulumi, so they are found by logical-name prefix and the `stack` default
tag. A resource the blueprint must have and the account does not is `ResourceMissing`: an error, never a pass.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from caseshield.project import load_project
from caseshield.settings import Settings, load_settings

# Standard retry mode backs off on throttling and transient errors; after the last attempt the error is the result.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30)


class ResourceMissing(LookupError):
    """A resource the stack must have was not found in the account."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def absent(call: Any, *codes: str, **kwargs: Any) -> Any:
    """`call(**kwargs)`, or None when AWS answers that the configuration is not set (one of `codes`): an unset
    configuration is a finding of the check, every other error stays an error."""
    try:
        return call(**kwargs)
    except ClientError as error:
        if error_code(error) in codes:
            return None
        raise


def document(text: Any) -> dict[str, Any]:
    """A policy document as the APIs return it: JSON text (IAM URL-decodes for boto3 already) or a dict."""
    if isinstance(text, dict):
        return text
    return dict(json.loads(text)) if text else {}


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class Account:
    """One stack's view of one account and region."""

    def __init__(self, stack: str, session: boto3.session.Session | None = None, *, settings: Settings | None = None,
                 endpoint_url: str | None = None, config: Config = RETRIES):
        self.stack = stack
        self.settings = settings or load_settings(load_project().stack_config(stack), stack)
        self.session = session or boto3.session.Session(region_name=self.settings.region)
        self.endpoint_url = endpoint_url
        self.config = config
        self._clients: dict[str, Any] = {}
        self._inline: dict[str, dict[str, dict[str, Any]]] = {}

    # --- plumbing -------------------------------------------------------------------------------------------------
    def fresh(self) -> Account:
        """The same account with nothing remembered but its clients: the next audit reads everything again."""
        again = Account(self.stack, self.session, settings=self.settings, endpoint_url=self.endpoint_url, config=self.config)
        again._clients = self._clients
        return again

    def client(self, service: Any) -> Any:
        if service not in self._clients:
            extra: dict[str, Any] = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
            self._clients[service] = self.session.client(service, config=self.config, **extra)
        return self._clients[service]

    @property
    def prefix(self) -> str:
        return self.settings.name_prefix

    @property
    def is_prod(self) -> bool:
        return self.settings.is_prod

    @cached_property
    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    # --- keys -----------------------------------------------------------------------------------------------------
    @cached_property
    def key_aliases(self) -> dict[str, str]:
        """Data class -> key id, from the stack's aliases `alias/<prefix>/<class>`."""
        mark = f"alias/{self.prefix}/"
        found = {}
        for page in self.client("kms").get_paginator("list_aliases").paginate():
            for alias in page["Aliases"]:
                if alias["AliasName"].startswith(mark) and alias.get("TargetKeyId"):
                    found[alias["AliasName"].removeprefix(mark)] = alias["TargetKeyId"]
        if not found:
            raise ResourceMissing(f"no KMS alias {mark}*")
        return found

    def key(self, data_class: str) -> str:
        if data_class not in self.key_aliases:
            raise ResourceMissing(f"no KMS alias alias/{self.prefix}/{data_class}")
        return self.key_aliases[data_class]

    def key_arn(self, data_class: str) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:key/{self.key(data_class)}"

    def same_key(self, reference: str | None, data_class: str) -> bool:
        """Whether a key reference (id, ARN, alias or alias ARN) names the data class's key."""
        if not reference:
            return False
        key_id = self.key(data_class)
        return reference in (key_id, self.key_arn(data_class), f"alias/{self.prefix}/{data_class}") or \
            reference.endswith(f":key/{key_id}") or reference.endswith(f":alias/{self.prefix}/{data_class}")

    @property
    def partition(self) -> str:
        return str(self.session.get_partition_for_region(self.region))

    # --- buckets --------------------------------------------------------------------------------------------------
    @cached_property
    def buckets(self) -> dict[str, dict[str, str]]:
        """The stack's buckets (name -> tags): every bucket tagged `stack=<stack>`."""
        s3 = self.client("s3")
        found = {}
        for bucket in s3.list_buckets()["Buckets"]:
            tagging = absent(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=bucket["Name"])
            tags = {t["Key"]: t["Value"] for t in (tagging or {}).get("TagSet", [])}
            if tags.get("stack") == self.stack:
                found[bucket["Name"]] = tags
        if not found:
            raise ResourceMissing(f"no bucket tagged stack={self.stack}")
        return found

    def bucket(self, logical: str) -> str:
        """The bucket Pulumi auto-named from `logical` (e.g. caseshield-documents-bucket)."""
        named = [b for b in self.buckets if b.startswith(f"{logical}-") or b == logical]
        if len(named) != 1:
            raise ResourceMissing(f"expected one bucket {logical}-* tagged stack={self.stack}, found {named}")
        return named[0]

    @property
    def documents_bucket(self) -> str:
        return self.bucket("caseshield-documents-bucket")

    @property
    def archive_bucket(self) -> str:
        return self.bucket("caseshield-audit-archive")

    @property
    def access_logs_bucket(self) -> str:
        return self.bucket("caseshield-access-logs-bucket")

    # --- named resources ------------------------------------------------------------------------------------------
    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    @cached_property
    def trail(self) -> dict[str, Any]:
        trails = self.client("cloudtrail").describe_trails(trailNameList=[self.name("audit-trail")])["trailList"]
        if not trails:
            raise ResourceMissing(f"no trail {self.name('audit-trail')}")
        return dict(trails[0])

    @cached_property
    def database(self) -> dict[str, Any]:
        return dict(self.client("rds").describe_db_instances(DBInstanceIdentifier=self.name("case-db"))["DBInstances"][0])

    @cached_property
    def ledger(self) -> dict[str, Any]:
        return dict(self.client("dynamodb").describe_table(TableName=self.name("privacy-ledger"))["Table"])

    @cached_property
    def topic_arn(self) -> str:
        arn = f"arn:{self.partition}:sns:{self.region}:{self.account_id}:{self.name('incidents')}"
        self.client("sns").get_topic_attributes(TopicArn=arn)  # NotFound is an error
        return arn

    @cached_property
    def vpc_id(self) -> str:
        vpcs = self.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [self.prefix]}])["Vpcs"]
        if len(vpcs) != 1:
            raise ResourceMissing(f"expected one VPC named {self.prefix}, found {len(vpcs)}")
        return str(vpcs[0]["VpcId"])

    def vpc_filter(self) -> list[dict[str, Any]]:
        return [{"Name": "vpc-id", "Values": [self.vpc_id]}]

    def subnets(self, tier: str) -> list[dict[str, Any]]:
        found = self.client("ec2").describe_subnets(Filters=[*self.vpc_filter(), {"Name": "tag:tier", "Values": [tier]}])["Subnets"]
        if not found:
            raise ResourceMissing(f"no {tier} subnet in {self.vpc_id}")
        return list(found)

    def security_group(self, name_tag: str) -> dict[str, Any]:
        found = self.client("ec2").describe_security_groups(
            Filters=[*self.vpc_filter(), {"Name": "tag:Name", "Values": [self.name(name_tag)]}])["SecurityGroups"]
        if len(found) != 1:
            raise ResourceMissing(f"expected one security group {self.name(name_tag)}, found {len(found)}")
        return dict(found[0])

    def security_group_by_id(self, group_id: str) -> dict[str, Any]:
        return dict(self.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0])

    @cached_property
    def load_balancer(self) -> dict[str, Any]:
        elb = self.client("elbv2")
        balancers = [lb for page in elb.get_paginator("describe_load_balancers").paginate() for lb in page["LoadBalancers"]]
        ours = []
        for chunk in range(0, len(balancers), 20):
            arns = [lb["LoadBalancerArn"] for lb in balancers[chunk:chunk + 20]]
            for desc in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]:
                if {"Key": "stack", "Value": self.stack} in desc.get("Tags", []):
                    ours.append(desc["ResourceArn"])
        if len(ours) != 1:
            raise ResourceMissing(f"expected one load balancer tagged stack={self.stack}, found {len(ours)}")
        return next(lb for lb in balancers if lb["LoadBalancerArn"] == ours[0])

    @cached_property
    def launch_template(self) -> dict[str, Any]:
        """The default version's data of the stack's launch template."""
        ec2 = self.client("ec2")
        found = ec2.describe_launch_templates(Filters=[{"Name": "tag:stack", "Values": [self.stack]}])["LaunchTemplates"]
        if len(found) != 1:
            raise ResourceMissing(f"expected one launch template tagged stack={self.stack}, found {len(found)}")
        versions = ec2.describe_launch_template_versions(LaunchTemplateId=found[0]["LaunchTemplateId"],
                                                         Versions=["$Default"])["LaunchTemplateVersions"]
        return dict(versions[0]["LaunchTemplateData"])

    @cached_property
    def roles(self) -> dict[str, dict[str, Any]]:
        """The stack's roles (`<prefix>-*`) by name."""
        iam = self.client("iam")
        found = {r["RoleName"]: r for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]
                 if r["RoleName"].startswith(f"{self.prefix}-")}
        if not found:
            raise ResourceMissing(f"no IAM role {self.prefix}-*")
        return found

    def role(self, matrix_role: str) -> dict[str, Any]:
        """A matrix role, fully described (trust, boundary, session length)."""
        return dict(self.client("iam").get_role(RoleName=self.name(matrix_role))["Role"])

    def inline_policies(self, role_name: str) -> dict[str, dict[str, Any]]:
        if role_name not in self._inline:
            self._inline[role_name] = self._read_inline_policies(role_name)
        return self._inline[role_name]

    def _read_inline_policies(self, role_name: str) -> dict[str, dict[str, Any]]:
        iam = self.client("iam")
        names = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name) for n in page["PolicyNames"]]
        return {n: document(iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"]) for n in names}

    @cached_property
    def log_groups(self) -> dict[str, dict[str, Any]]:
        """The stack's log groups: those whose name carries the stack (`/caseshield/<stack>/`, `<prefix>`)."""
        logs = self.client("logs")
        groups = [g for page in logs.get_paginator("describe_log_groups").paginate() for g in page["logGroups"]]
        marks = (f"/caseshield/{self.stack}/", f"/{self.prefix}/", f"aws-waf-logs-{self.prefix}", f"/aws/rds/instance/{self.prefix}-")
        found = {g["logGroupName"]: g for g in groups if g["logGroupName"].startswith(marks)}
        if not found:
            raise ResourceMissing(f"no log group of stack {self.stack}")
        return found

    def log_group(self, name: str) -> dict[str, Any]:
        if name not in self.log_groups:
            raise ResourceMissing(f"no log group {name}")
        return self.log_groups[name]

    @property
    def trail_log_group(self) -> str:
        return f"/caseshield/{self.stack}/cloudtrail"

    @cached_property
    def alarms(self) -> dict[str, dict[str, Any]]:
        cw = self.client("cloudwatch")
        return {a["AlarmName"]: a for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{self.prefix}-")
                for a in page["MetricAlarms"]}

    @cached_property
    def metric_filters(self) -> list[dict[str, Any]]:
        logs = self.client("logs")
        return [f for page in logs.get_paginator("describe_metric_filters").paginate(logGroupName=self.trail_log_group)
                for f in page["metricFilters"]]

    @cached_property
    def user_pool_id(self) -> str:
        idp = self.client("cognito-idp")
        pools = [p for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60) for p in page["UserPools"]
                 if p["Name"] == self.name("users")]
        if len(pools) != 1:
            raise ResourceMissing(f"expected one user pool {self.name('users')}, found {len(pools)}")
        return str(pools[0]["Id"])

    @cached_property
    def web_acl(self) -> dict[str, Any]:
        waf = self.client("wafv2")
        found = [a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == self.name("edge")]
        if len(found) != 1:
            raise ResourceMissing(f"no regional web ACL {self.name('edge')}")
        return dict(waf.get_web_acl(Name=found[0]["Name"], Id=found[0]["Id"], Scope="REGIONAL")["WebACL"])

    @cached_property
    def detector_id(self) -> str:
        found = self.client("guardduty").list_detectors()["DetectorIds"]
        if not found:
            raise ResourceMissing("no GuardDuty detector in the region")
        return str(found[0])
