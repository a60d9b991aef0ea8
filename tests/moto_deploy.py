"""Deploy a stack's recorded graph into moto with boto3, so the live audit has a real (mocked) account to read.

`caseshield.offline.evaluate(stack)` records every registration with the inputs the engine would send to the
provider. This harness replays them, in registration order, as the boto3 calls the provider would make, for every
resource type the audit reads. Inputs hold the offline mocks' placeholder ids and ARNs of other resources (a VPC
is `caseshield-network-82aefe7` offline, `vpc-1a2b...` in moto); each deployed resource adds "placeholder -> real"
substitutions, and the inputs of later resources are rewritten through them (also inside JSON policy documents).

Types the audit does not read (autoscaling, ACM validation, Cognito groups and clients, ...) and types moto cannot
create (Security Hub standards, Access Analyzer, Macie jobs, backup selections) are skipped; `Deployment.skipped`
lists them. Call `deploy` inside an active `moto.mock_aws()`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws

from caseshield.offline import _TYPE_STATE, AwsFacts, RecordedResource, ResourceGraph

Attrs = dict[str, str]
Deployer = Callable[["Deployment", RecordedResource, dict[str, Any]], Attrs]
DEPLOYERS: dict[str, Deployer] = {}
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def deploys(*types: str) -> Callable[[Deployer], Deployer]:
    def register(fn: Deployer) -> Deployer:
        for t in types:
            DEPLOYERS[t] = fn
        return fn
    return register


@dataclass
class Deployment:
    graph: ResourceGraph
    session: boto3.session.Session
    subs: dict[str, str] = field(default_factory=dict)
    real: dict[str, Attrs] = field(default_factory=dict)  # urn -> real attributes
    skipped: dict[str, int] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _pattern: re.Pattern[str] = field(default_factory=lambda: re.compile(r"(?!)"))

    region: str = ""  # of the resource being deployed: its provider's region

    def client(self, service: Any) -> Any:
        region = self.region or self.session.region_name
        if (service, region) not in self._clients:
            self._clients[(service, region)] = self.session.client(service, region_name=region)
        return self._clients[(service, region)]

    def region_of(self, r: RecordedResource) -> str:
        """pulumi-aws 7 takes a per-resource `region` input; otherwise the resource's provider's region."""
        if r.inputs.get("region"):
            return str(r.inputs["region"])
        provider_urn = (r.provider or "").split("::" + (r.provider or "").rsplit("::", 1)[-1])[0] if r.provider else ""
        provider = self.graph.by_urn.get(provider_urn)
        return str((provider.inputs if provider else {}).get("region") or self.session.region_name)

    @property
    def default_tags(self) -> dict[str, str]:
        provider = next(r for r in self.graph.resources if r.type == "pulumi:providers:aws")
        return dict(json.loads(provider.inputs.get("defaultTags") or "{}").get("tags", {}))

    def tags(self, inputs: dict[str, Any]) -> dict[str, str]:
        return {**self.default_tags, **{k: str(v) for k, v in (inputs.get("tags") or {}).items()}}

    def tag_list(self, inputs: dict[str, Any]) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags(inputs).items()]

    def resolve(self, value: Any) -> Any:
        """`value` with every placeholder of an already deployed resource replaced by its real id or ARN."""
        if isinstance(value, dict) and SECRET_SIG in value:  # a Pulumi secret: deploy its plain value
            return self.resolve(value["value"])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str) and self.subs:
            return self._pattern.sub(lambda m: self.subs[m.group(0)], value)
        return value

    def _add_subs(self, pairs: dict[str, str]) -> None:
        # Unchanged pairs stay in as identities: the longest match wins, so an ARN that moto kept is not rewritten
        # through a shorter placeholder inside it.
        changed = {k: v for k, v in pairs.items() if k and v and isinstance(v, str)}
        if any(k != v for k, v in changed.items()):
            self.subs.update(changed)
            keys = sorted(self.subs, key=len, reverse=True)
            self._pattern = re.compile(r"(?<![\w.-])(?:" + "|".join(map(re.escape, keys)) + r")(?![\w-])")

    def placeholders(self, r: RecordedResource) -> dict[str, Any]:
        """What the offline mocks told the program this resource's outputs were."""
        facts = AwsFacts.__new__(AwsFacts)
        facts.region, facts.account = self.session.region_name, self.graph_account
        facts.partition = "aws"
        state = {"id": r.id or "", "arn": facts.arn(r.type, r.id or "")}
        extra = _TYPE_STATE.get(r.type)
        if extra is not None:
            state.update(extra(facts, r.id or ""))
        return state

    @property
    def graph_account(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def deploy(self) -> Deployment:
        for r in _ordered(self.graph):
            fn = DEPLOYERS.get(r.type)
            if fn is None:
                if r.custom:
                    self.skipped[r.type] = self.skipped.get(r.type, 0) + 1
                continue
            self.region = self.region_of(r)
            real = fn(self, r, self.resolve(r.inputs))
            self.region = ""
            self.real[r.urn] = real
            mocked = self.placeholders(r)
            self._add_subs({str(mocked[k]): v for k, v in real.items() if k in mocked and isinstance(mocked[k], str)})
        return self

    def by_name(self, type_: str, name: str) -> Attrs:
        return self.real[self.graph.one(type_, name).urn]


def _ordered(graph: ResourceGraph) -> list[RecordedResource]:
    """Dependencies first (the graph is sorted by URN, not by registration)."""
    done: set[str] = set()
    out: list[RecordedResource] = []

    def visit(r: RecordedResource) -> None:
        if r.urn in done:
            return
        done.add(r.urn)
        deps = set(r.dependencies) | {u for urns in r.property_dependencies.values() for u in urns}
        for urn in sorted(deps):
            if urn in graph.by_urn:
                visit(graph.by_urn[urn])
        out.append(r)

    for r in graph.resources:
        visit(r)
    return out


def deploy(graph: ResourceGraph, region: str | None = None) -> Deployment:
    region = region or graph.config.get("aws:region", "us-east-1")
    return Deployment(graph, boto3.session.Session(region_name=region)).deploy()


# Fake credentials, no default AMIs (the program reads the AMI from SSM), and AWS managed policies (the role matrix
# attaches SecurityAudit, AdministratorAccess, ...).
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false", "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


@dataclass
class Deployed:
    deployment: Deployment
    gaps: Gaps
    session: boto3.session.Session  # with `gaps` installed: what the audit reads through


@contextmanager
def deployed(graph: ResourceGraph) -> Iterator[Deployed]:
    """`graph` deployed into a fresh moto account, for as long as the context lasts. Evaluate the graph first:
    the offline evaluation runs its own moto, which must not be nested in this one."""
    region = graph.config.get("aws:region", "us-east-1")
    with mock.patch.dict(os.environ, {**MOTO_ENV, "AWS_DEFAULT_REGION": region}), mock_aws():
        deployment = deploy(graph, region)
        gaps = gaps_for(deployment)
        session = boto3.session.Session(region_name=region)
        gaps.install(session)
        yield Deployed(deployment, gaps, session)


def _b(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _camel(d: Any) -> Any:
    """Pulumi's camelCase input keys as the API's PascalCase."""
    if isinstance(d, dict):
        return {k[0].upper() + k[1:]: _camel(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_camel(v) for v in d]
    if isinstance(d, float) and d.is_integer():
        return int(d)
    return d


# --- KMS ------------------------------------------------------------------------------------------------------------

@deploys("aws:kms/key:Key")
def kms_key(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    kms = d.client("kms")
    meta = kms.create_key(Description=i.get("description", ""), Policy=i["policy"], KeyUsage="ENCRYPT_DECRYPT",
                          Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in d.tag_list(i)])["KeyMetadata"]
    if _b(i.get("enableKeyRotation")):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    return {"id": meta["KeyId"], "keyId": meta["KeyId"], "arn": meta["Arn"]}


@deploys("aws:kms/alias:Alias")
def kms_alias(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
    return {"id": i["name"]}


# --- S3 -------------------------------------------------------------------------------------------------------------

@deploys("aws:s3/bucket:Bucket")
def s3_bucket(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    s3, name = d.client("s3"), r.id or ""
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=_b(i.get("objectLockEnabled")),
                     **({} if d.session.region_name == "us-east-1"
                        else {"CreateBucketConfiguration": {"LocationConstraint": d.session.region_name}}))
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": d.tag_list(i)})
    return {"id": name}


@deploys("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def s3_encryption(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    rules = _camel(i["rules"])
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if "KmsMasterKeyId" in default:
            default["KMSMasterKeyID"] = default.pop("KmsMasterKeyId")
        default["SSEAlgorithm"] = default.pop("SseAlgorithm")
    d.client("s3").put_bucket_encryption(Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def s3_public_access_block(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    flags = {k[0].upper() + k[1:]: _b(i.get(k)) for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                         "restrictPublicBuckets")}
    d.client("s3").put_public_access_block(Bucket=i["bucket"], PublicAccessBlockConfiguration={
        "BlockPublicAcls": flags["BlockPublicAcls"], "IgnorePublicAcls": flags["IgnorePublicAcls"],
        "BlockPublicPolicy": flags["BlockPublicPolicy"], "RestrictPublicBuckets": flags["RestrictPublicBuckets"]})
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
def s3_ownership(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("s3").put_bucket_ownership_controls(Bucket=i["bucket"], OwnershipControls={
        "Rules": [{"ObjectOwnership": i["rule"]["objectOwnership"]}]})
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketVersioning:BucketVersioning")
def s3_versioning(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("s3").put_bucket_versioning(Bucket=i["bucket"], VersioningConfiguration={
        "Status": i["versioningConfiguration"]["status"]})
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketPolicy:BucketPolicy")
def s3_policy(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("s3").put_bucket_policy(Bucket=i["bucket"], Policy=i["policy"])
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def s3_lifecycle(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    rules = _camel(i["rules"])
    for rule in rules:
        rule["ID"] = rule.pop("Id")
        if rule.get("Filter") == {}:
            rule["Filter"] = {"Prefix": ""}
    d.client("s3").put_bucket_lifecycle_configuration(Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules})
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketLogging:BucketLogging")
def s3_logging(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    """moto 5.2.5 crashes reading a target bucket policy with `"Principal": "*"`: only its statements with a
    principal map are left in place meanwhile (the log-delivery grant moto looks for is one of them)."""
    s3 = d.client("s3")
    try:
        policy = s3.get_bucket_policy(Bucket=i["targetBucket"])["Policy"]
        document = json.loads(policy)
        document["Statement"] = [st for st in document["Statement"] if isinstance(st.get("Principal"), dict)]
        s3.put_bucket_policy(Bucket=i["targetBucket"], Policy=json.dumps(document))
    except s3.exceptions.ClientError:
        policy = None
    s3.put_bucket_logging(Bucket=i["bucket"], BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": i["targetBucket"], "TargetPrefix": i.get("targetPrefix", "")}})
    if policy:
        s3.put_bucket_policy(Bucket=i["targetBucket"], Policy=policy)
    return {"id": i["bucket"]}


@deploys("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
def s3_object_lock(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("s3").put_object_lock_configuration(Bucket=i["bucket"], ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": _camel(i["rule"])})
    return {"id": i["bucket"]}


# --- logs, metrics, alarms, topics, events --------------------------------------------------------------------------

@deploys("aws:cloudwatch/logGroup:LogGroup")
def log_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    logs, name = d.client("logs"), i["name"]
    logs.create_log_group(logGroupName=name, tags=d.tags(i),
                          **({"kmsKeyId": i["kmsKeyId"]} if i.get("kmsKeyId") else {}))
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(i["retentionInDays"]))
    arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"].removesuffix(":*")
    return {"id": name, "arn": arn}


@deploys("aws:cloudwatch/logMetricFilter:LogMetricFilter")
def metric_filter(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("logs").put_metric_filter(logGroupName=i["logGroupName"], filterName=i["name"], filterPattern=i["pattern"],
                                       metricTransformations=[{"metricName": t["name"], "metricNamespace": t["namespace"],
                                                               "metricValue": t["value"]} for t in [i["metricTransformation"]]])
    return {"id": i["name"]}


@deploys("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("cloudwatch").put_metric_alarm(
        AlarmName=i["name"], AlarmDescription=i.get("alarmDescription", ""), AlarmActions=i.get("alarmActions", []),
        MetricName=i["metricName"], Namespace=i["namespace"], Statistic=i["statistic"], Period=int(i["period"]),
        EvaluationPeriods=int(i["evaluationPeriods"]), Threshold=float(i["threshold"]),
        ComparisonOperator=i["comparisonOperator"], TreatMissingData=i.get("treatMissingData", "missing"))
    return {"id": i["name"]}


@deploys("aws:sns/topic:Topic")
def sns_topic(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    arn = d.client("sns").create_topic(Name=i["name"], Attributes={"KmsMasterKeyId": i.get("kmsMasterKeyId", "")},
                                       Tags=d.tag_list(i))["TopicArn"]
    return {"id": arn, "arn": arn}


@deploys("aws:sns/topicPolicy:TopicPolicy")
def sns_policy(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("sns").set_topic_attributes(TopicArn=i["arn"], AttributeName="Policy", AttributeValue=i["policy"])
    return {"id": i["arn"]}


@deploys("aws:sns/topicSubscription:TopicSubscription")
def sns_subscription(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    arn = d.client("sns").subscribe(TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"])["SubscriptionArn"]
    return {"id": arn, "arn": arn}


@deploys("aws:cloudwatch/eventRule:EventRule")
def event_rule(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    arn = d.client("events").put_rule(Name=i["name"], EventPattern=i["eventPattern"], State=i.get("state", "ENABLED"),
                                      Description=i.get("description", ""))["RuleArn"]
    return {"id": i["name"], "arn": arn}


@deploys("aws:cloudwatch/eventTarget:EventTarget")
def event_target(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("events").put_targets(Rule=i["rule"], Targets=[{"Id": i["targetId"], "Arn": i["arn"]}])
    return {"id": i["targetId"]}


# --- CloudTrail -----------------------------------------------------------------------------------------------------

@deploys("aws:cloudtrail/trail:Trail")
def trail(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ct = d.client("cloudtrail")
    made = ct.create_trail(Name=i["name"], S3BucketName=i["s3BucketName"], S3KeyPrefix=i.get("s3KeyPrefix", ""),
                           IncludeGlobalServiceEvents=_b(i.get("includeGlobalServiceEvents")),
                           IsMultiRegionTrail=_b(i.get("isMultiRegionTrail")),
                           EnableLogFileValidation=_b(i.get("enableLogFileValidation")),
                           CloudWatchLogsLogGroupArn=i.get("cloudWatchLogsGroupArn", ""),
                           CloudWatchLogsRoleArn=i.get("cloudWatchLogsRoleArn", ""), KmsKeyId=i.get("kmsKeyId", ""),
                           TagsList=d.tag_list(i))
    if i.get("eventSelectors"):
        ct.put_event_selectors(TrailName=i["name"], EventSelectors=_camel(i["eventSelectors"]))
    if _b(i.get("enableLogging", True)):
        ct.start_logging(Name=i["name"])
    return {"id": i["name"], "arn": made["TrailARN"]}


# --- network --------------------------------------------------------------------------------------------------------

def _ec2_tags(d: Deployment, i: dict, kind: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": d.tag_list(i)}]


@deploys("aws:ec2/vpc:Vpc")
def vpc(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ec2 = d.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=i["cidrBlock"], TagSpecifications=_ec2_tags(d, i, "vpc"))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
    sg = ec2.describe_security_groups(Filters=[*filters, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    acl = ec2.describe_network_acls(Filters=[*filters, {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]
    main = ec2.describe_route_tables(Filters=[*filters, {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]
    return {"id": vpc_id, "defaultSecurityGroupId": sg["GroupId"], "defaultNetworkAclId": acl["NetworkAclId"],
            "mainRouteTableId": main["RouteTableId"]}


@deploys("aws:ec2/subnet:Subnet")
def subnet(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ec2 = d.client("ec2")
    sid = ec2.create_subnet(VpcId=i["vpcId"], CidrBlock=i["cidrBlock"], AvailabilityZone=i["availabilityZone"],
                            TagSpecifications=_ec2_tags(d, i, "subnet"))["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": _b(i.get("mapPublicIpOnLaunch"))})
    return {"id": sid}


@deploys("aws:ec2/internetGateway:InternetGateway")
def internet_gateway(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ec2 = d.client("ec2")
    igw = ec2.create_internet_gateway(TagSpecifications=_ec2_tags(d, i, "internet-gateway"))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=i["vpcId"])
    return {"id": igw}


@deploys("aws:ec2/routeTable:RouteTable")
def route_table(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    rtb = d.client("ec2").create_route_table(VpcId=i["vpcId"], TagSpecifications=_ec2_tags(d, i, "route-table"))
    return {"id": rtb["RouteTable"]["RouteTableId"]}


@deploys("aws:ec2/route:Route")
def route(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("ec2").create_route(RouteTableId=i["routeTableId"], DestinationCidrBlock=i["destinationCidrBlock"],
                                 GatewayId=i["gatewayId"])
    return {}


@deploys("aws:ec2/routeTableAssociation:RouteTableAssociation")
def route_table_association(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    found = d.client("ec2").associate_route_table(RouteTableId=i["routeTableId"], SubnetId=i["subnetId"])
    return {"id": found["AssociationId"]}


@deploys("aws:ec2/securityGroup:SecurityGroup")
def security_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ec2 = d.client("ec2")
    name = i.get("name") or r.id or r.name
    gid = ec2.create_security_group(GroupName=name, Description=i.get("description", name), VpcId=i["vpcId"],
                                    TagSpecifications=_ec2_tags(d, i, "security-group"))["GroupId"]
    # The provider removes the default allow-all egress rule of a new group; rules are separate resources here.
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return {"id": gid}


def _permission(i: dict) -> dict:
    protocol = i["ipProtocol"]
    perm: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1":
        perm.update(FromPort=int(i["fromPort"]), ToPort=int(i["toPort"]))
    if i.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": i["cidrIpv4"], "Description": i.get("description", "")}]
    if i.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": i["referencedSecurityGroupId"], "Description": i.get("description", "")}]
    if i.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": i["prefixListId"]}]
    return perm


@deploys("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
def ingress_rule(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("ec2").authorize_security_group_ingress(GroupId=i["securityGroupId"], IpPermissions=[_permission(i)])
    return {"id": next((x["SecurityGroupRuleId"] for x in made.get("SecurityGroupRules", [])), "")}


@deploys("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
def egress_rule(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("ec2").authorize_security_group_egress(GroupId=i["securityGroupId"], IpPermissions=[_permission(i)])
    return {"id": next((x["SecurityGroupRuleId"] for x in made.get("SecurityGroupRules", [])), "")}


@deploys("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def default_security_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    """Adopting the default group removes every rule it came with (ingress and egress are empty in the program)."""
    ec2 = d.client("ec2")
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [i["vpcId"]]},
                                                  {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    if group["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    return {"id": group["GroupId"]}


def _acl_entries(ec2: Any, acl_id: str, i: dict) -> None:
    for egress, key in ((False, "ingress"), (True, "egress")):
        for e in i.get(key) or []:
            extra = {} if e["protocol"] == "-1" else {"PortRange": {"From": int(e["fromPort"]), "To": int(e["toPort"])}}
            ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=int(e["ruleNo"]), Egress=egress,
                                         Protocol={"tcp": "6", "udp": "17"}.get(e["protocol"], e["protocol"]),
                                         RuleAction=e["action"], CidrBlock=e["cidrBlock"], **extra)


@deploys("aws:ec2/networkAcl:NetworkAcl")
def network_acl(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ec2 = d.client("ec2")
    acl_id = ec2.create_network_acl(VpcId=i["vpcId"], TagSpecifications=_ec2_tags(d, i, "network-acl"))["NetworkAcl"]["NetworkAclId"]
    _acl_entries(ec2, acl_id, i)
    for subnet_id in i.get("subnetIds") or []:
        current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["NetworkAcls"]
        assoc = next(a["NetworkAclAssociationId"] for a in current[0]["Associations"] if a["SubnetId"] == subnet_id)
        ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl_id)
    return {"id": acl_id}


@deploys("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")
def default_network_acl(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    """Adopting the default ACL replaces its entries with the program's (none: deny all)."""
    ec2 = d.client("ec2")
    acl = ec2.describe_network_acls(NetworkAclIds=[i["defaultNetworkAclId"]])["NetworkAcls"][0]
    for e in acl["Entries"]:
        if e["RuleNumber"] != 32767:
            ec2.delete_network_acl_entry(NetworkAclId=acl["NetworkAclId"], RuleNumber=e["RuleNumber"], Egress=e["Egress"])
    _acl_entries(ec2, acl["NetworkAclId"], i)
    return {"id": acl["NetworkAclId"]}


@deploys("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    kind = i.get("vpcEndpointType", "Gateway")
    extra: dict[str, Any] = {"RouteTableIds": i.get("routeTableIds") or []} if kind == "Gateway" else {
        "SubnetIds": i.get("subnetIds") or [], "SecurityGroupIds": i.get("securityGroupIds") or [],
        "PrivateDnsEnabled": _b(i.get("privateDnsEnabled"))}
    made = d.client("ec2").create_vpc_endpoint(VpcId=i["vpcId"], ServiceName=i["serviceName"], VpcEndpointType=kind,
                                               PolicyDocument=i.get("policy") or "", TagSpecifications=_ec2_tags(d, i, "vpc-endpoint"),
                                               **extra)
    return {"id": made["VpcEndpoint"]["VpcEndpointId"]}


@deploys("aws:ec2/flowLog:FlowLog")
def flow_log(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("ec2").create_flow_logs(ResourceIds=[i["vpcId"]], ResourceType="VPC", TrafficType=i["trafficType"],
                                            LogDestinationType=i["logDestinationType"], LogDestination=i["logDestination"],
                                            DeliverLogsPermissionArn=i.get("iamRoleArn", ""),
                                            MaxAggregationInterval=int(i.get("maxAggregationInterval", 600)))
    return {"id": made["FlowLogIds"][0]}


# --- compute --------------------------------------------------------------------------------------------------------

@deploys("aws:ebs/encryptionByDefault:EncryptionByDefault")
def ebs_default(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    if _b(i.get("enabled")):
        d.client("ec2").enable_ebs_encryption_by_default()
    return {}


@deploys("aws:ebs/defaultKmsKey:DefaultKmsKey")
def ebs_default_key(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("ec2").modify_ebs_default_kms_key_id(KmsKeyId=i["keyArn"])
    return {}


@deploys("aws:ec2/launchTemplate:LaunchTemplate")
def launch_template(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    data = _camel({k: v for k, v in i.items() if k not in ("description", "updateDefaultVersion", "name", "tags")})
    for nic in data.get("NetworkInterfaces", []):
        nic["Groups"] = nic.pop("SecurityGroups", [])
        for key in ("AssociatePublicIpAddress", "DeleteOnTermination"):
            if key in nic:
                nic[key] = _b(nic[key])
    for bdm in data.get("BlockDeviceMappings", []):
        ebs = bdm["Ebs"]
        for key in ("Encrypted", "DeleteOnTermination"):
            if key in ebs:
                ebs[key] = _b(ebs[key])
        if "KmsKeyId" in ebs:
            ebs["KmsKeyId"] = ebs["KmsKeyId"]
    if "IamInstanceProfile" in data:
        data["IamInstanceProfile"] = {"Arn": data["IamInstanceProfile"]["Arn"]}
    data["TagSpecifications"] = [{"ResourceType": t["ResourceType"], "Tags": [{"Key": k, "Value": v} for k, v in t["Tags"].items()]}
                                 for t in data.get("TagSpecifications", [])]
    name = i.get("name") or r.id or r.name
    made = d.client("ec2").create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data,
                                                  TagSpecifications=_ec2_tags(d, i, "launch-template"))
    return {"id": made["LaunchTemplate"]["LaunchTemplateId"]}


# --- database and ledger --------------------------------------------------------------------------------------------

@deploys("aws:rds/parameterGroup:ParameterGroup")
def db_parameter_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    rds, name = d.client("rds"), i.get("name") or r.id or r.name
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=i["family"],
                                  Description=i.get("description", name), Tags=d.tag_list(i))
    rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=[
        {"ParameterName": p["name"], "ParameterValue": p["value"], "ApplyMethod": p.get("applyMethod", "immediate")}
        for p in i.get("parameters") or []])
    return {"id": name}


@deploys("aws:rds/subnetGroup:SubnetGroup")
def db_subnet_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    name = i.get("name") or r.id or r.name
    d.client("rds").create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription=i.get("description", name),
                                           SubnetIds=i["subnetIds"], Tags=d.tag_list(i))
    return {"id": name}


@deploys("aws:rds/instance:Instance")
def db_instance(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("rds").create_db_instance(
        DBInstanceIdentifier=i["identifier"], DBInstanceClass=i["instanceClass"], Engine=i["engine"],
        EngineVersion=str(i.get("engineVersion", "")), AllocatedStorage=int(i["allocatedStorage"]),
        MasterUsername=i["username"], ManageMasterUserPassword=_b(i.get("manageMasterUserPassword")),
        MasterUserSecretKmsKeyId=i.get("masterUserSecretKmsKeyId", ""), DBName=i.get("dbName", ""),
        StorageEncrypted=_b(i.get("storageEncrypted")), KmsKeyId=i.get("kmsKeyId", ""),
        VpcSecurityGroupIds=i.get("vpcSecurityGroupIds", []), DBSubnetGroupName=i.get("dbSubnetGroupName", ""),
        DBParameterGroupName=i.get("parameterGroupName", ""), MultiAZ=_b(i.get("multiAz")),
        PubliclyAccessible=_b(i.get("publiclyAccessible")), BackupRetentionPeriod=int(i.get("backupRetentionPeriod", 0)),
        PreferredBackupWindow=i.get("backupWindow", ""), PreferredMaintenanceWindow=i.get("maintenanceWindow", ""),
        AutoMinorVersionUpgrade=_b(i.get("autoMinorVersionUpgrade")), CopyTagsToSnapshot=_b(i.get("copyTagsToSnapshot")),
        DeletionProtection=_b(i.get("deletionProtection")), EnableIAMDatabaseAuthentication=_b(i.get("iamDatabaseAuthenticationEnabled")),
        StorageType=i.get("storageType", "gp3"), Port=int(i.get("port", 5432)), Tags=d.tag_list(i),
        EnablePerformanceInsights=_b(i.get("performanceInsightsEnabled")),
        **({"PerformanceInsightsKMSKeyId": i["performanceInsightsKmsKeyId"]} if i.get("performanceInsightsKmsKeyId") else {}),
    )["DBInstance"]
    return {"id": i["identifier"], "arn": made["DBInstanceArn"]}


@deploys("aws:dynamodb/table:Table")
def dynamodb_table(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    ddb, name = d.client("dynamodb"), i["name"]
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}] + (
        [{"AttributeName": i["rangeKey"], "KeyType": "RANGE"}] if i.get("rangeKey") else [])
    gsis = [{"IndexName": g["name"], "Projection": {"ProjectionType": g["projectionType"]},
             "KeySchema": [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in g["keySchemas"]]}
            for g in i.get("globalSecondaryIndexes") or []]
    sse = i.get("serverSideEncryption") or {}
    made = ddb.create_table(
        TableName=name, KeySchema=keys, BillingMode=i.get("billingMode", "PAY_PER_REQUEST"),
        AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in i["attributes"]],
        **({"GlobalSecondaryIndexes": gsis} if gsis else {}),
        SSESpecification={"Enabled": _b(sse.get("enabled")), "SSEType": "KMS", "KMSMasterKeyId": sse.get("kmsKeyArn", "")},
        DeletionProtectionEnabled=_b(i.get("deletionProtectionEnabled")), Tags=d.tag_list(i))["TableDescription"]
    if _b((i.get("pointInTimeRecovery") or {}).get("enabled")):
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    return {"id": name, "arn": made["TableArn"]}


# --- identity -------------------------------------------------------------------------------------------------------

@deploys("aws:iam/policy:Policy")
def iam_policy(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    arn = d.client("iam").create_policy(PolicyName=i.get("name") or r.id or r.name, PolicyDocument=i["policy"],
                                        Description=i.get("description", ""))["Policy"]["Arn"]
    return {"id": arn, "arn": arn}


@deploys("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def oidc_provider(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    arn = d.client("iam").create_open_id_connect_provider(Url=i["url"], ClientIDList=i.get("clientIdLists", []),
                                                          ThumbprintList=i.get("thumbprintLists") or ["0" * 40])
    return {"id": arn["OpenIDConnectProviderArn"], "arn": arn["OpenIDConnectProviderArn"]}


@deploys("aws:iam/role:Role")
def iam_role(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    extra = {"PermissionsBoundary": i["permissionsBoundary"]} if i.get("permissionsBoundary") else {}
    role = d.client("iam").create_role(RoleName=i["name"], AssumeRolePolicyDocument=i["assumeRolePolicy"],
                                       Description=i.get("description", ""),
                                       MaxSessionDuration=int(i.get("maxSessionDuration", 3600)),
                                       Tags=d.tag_list(i), **extra)["Role"]
    return {"id": i["name"], "arn": role["Arn"]}


@deploys("aws:iam/rolePolicy:RolePolicy")
def iam_role_policy(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    name = i.get("name") or r.id or r.name
    d.client("iam").put_role_policy(RoleName=i["role"], PolicyName=name, PolicyDocument=i["policy"])
    return {}  # its placeholder id is the policy name, which other resources use as plain text


@deploys("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def iam_attachment(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return {}


@deploys("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")
def iam_attachments_exclusive(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    for arn in i.get("policyArns") or []:
        d.client("iam").attach_role_policy(RoleName=i["roleName"], PolicyArn=arn)
    return {}


@deploys("aws:iam/instanceProfile:InstanceProfile")
def instance_profile(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    iam, name = d.client("iam"), i.get("name") or r.id or r.name
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=i["role"])
    return {"id": name, "arn": arn}


@deploys("aws:iam/accountPasswordPolicy:AccountPasswordPolicy")
def password_policy(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("iam").update_account_password_policy(**{k: v for k, v in _camel(i).items() if k != "HardExpiry"},
                                                   HardExpiry=_b(i.get("hardExpiry")))
    return {}


@deploys("aws:cognito/userPool:UserPool")
def user_pool(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    idp = d.client("cognito-idp")
    policy = _camel(i.get("passwordPolicy") or {})
    pool = idp.create_user_pool(
        PoolName=i["name"], Policies={"PasswordPolicy": policy}, UsernameAttributes=i.get("usernameAttributes", []),
        AutoVerifiedAttributes=i.get("autoVerifiedAttributes", []),
        AdminCreateUserConfig=_camel(i.get("adminCreateUserConfig") or {}),
        UserPoolAddOns=_camel(i.get("userPoolAddOns") or {}), DeletionProtection=i.get("deletionProtection", "INACTIVE"),
        UserPoolTags=d.tags(i))["UserPool"]
    totp = _b((i.get("softwareTokenMfaConfiguration") or {}).get("enabled"))
    idp.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration=i.get("mfaConfiguration", "OFF"),
                                 SoftwareTokenMfaConfiguration={"Enabled": totp})
    return {"id": pool["Id"], "arn": pool["Arn"]}


# --- detection ------------------------------------------------------------------------------------------------------

@deploys("aws:guardduty/detector:Detector")
def guardduty_detector(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    did = d.client("guardduty").create_detector(Enable=_b(i.get("enable")),
                                                FindingPublishingFrequency=i.get("findingPublishingFrequency", "SIX_HOURS"))
    return {"id": did["DetectorId"]}


@deploys("aws:guardduty/detectorFeature:DetectorFeature")
def guardduty_feature(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    gd = d.client("guardduty")
    current = gd.get_detector(DetectorId=i["detectorId"]).get("Features", [])
    others = [{"Name": f["Name"], "Status": f["Status"]} for f in current if f["Name"] != i["name"]]
    gd.update_detector(DetectorId=i["detectorId"], Features=[*others, {"Name": i["name"], "Status": i["status"]}])
    return {"id": i["name"]}


@deploys("aws:cfg/recorder:Recorder")
def config_recorder(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("config").put_configuration_recorder(ConfigurationRecorder={
        "name": i["name"], "roleARN": i["roleArn"], "recordingGroup": dict(i.get("recordingGroup") or {})})
    return {"id": i["name"]}


@deploys("aws:cfg/deliveryChannel:DeliveryChannel")
def config_delivery(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("config").put_delivery_channel(DeliveryChannel={
        "name": i["name"], "s3BucketName": i["s3BucketName"], "s3KeyPrefix": i.get("s3KeyPrefix", ""),
        "s3KmsKeyArn": i.get("s3KmsKeyArn", ""), "configSnapshotDeliveryProperties": dict(i.get("snapshotDeliveryProperties") or {})})
    return {"id": i["name"]}


@deploys("aws:cfg/recorderStatus:RecorderStatus")
def config_status(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    if _b(i.get("isEnabled")):
        d.client("config").start_configuration_recorder(ConfigurationRecorderName=i["name"])
    return {"id": i["name"]}


@deploys("aws:cfg/rule:Rule")
def config_rule(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    source = {"Owner": i["source"]["owner"], "SourceIdentifier": i["source"]["sourceIdentifier"]}
    rule: dict[str, Any] = {"ConfigRuleName": i["name"], "Description": i.get("description", ""), "Source": source}
    if i.get("inputParameters"):
        rule["InputParameters"] = i["inputParameters"]
    d.client("config").put_config_rule(ConfigRule=rule)
    return {"id": i["name"]}


# --- edge -----------------------------------------------------------------------------------------------------------

@deploys("aws:acm/certificate:Certificate")
def certificate(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    arn = d.client("acm").request_certificate(DomainName=i["domainName"], ValidationMethod=i.get("validationMethod", "DNS"))
    return {"id": arn["CertificateArn"], "arn": arn["CertificateArn"]}


@deploys("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    elb = d.client("elbv2")
    name = i.get("name") or (r.id or r.name)[:32]
    lb = elb.create_load_balancer(Name=name, Subnets=i["subnets"], SecurityGroups=i.get("securityGroups", []),
                                  Scheme="internal" if _b(i.get("internal")) else "internet-facing",
                                  Type=i.get("loadBalancerType", "application"), Tags=d.tag_list(i))["LoadBalancers"][0]
    logs = i.get("accessLogs") or {}
    attributes = {"routing.http.drop_invalid_header_fields.enabled": _b(i.get("dropInvalidHeaderFields")),
                  "deletion_protection.enabled": _b(i.get("enableDeletionProtection")),
                  "access_logs.s3.enabled": _b(logs.get("enabled")), "access_logs.s3.bucket": logs.get("bucket", ""),
                  "access_logs.s3.prefix": logs.get("prefix", ""),
                  "routing.http.desync_mitigation_mode": i.get("desyncMitigationMode", "defensive")}
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
        {"Key": k, "Value": str(v).lower() if isinstance(v, bool) else v} for k, v in attributes.items()])
    return {"id": lb["LoadBalancerArn"], "arn": lb["LoadBalancerArn"]}


@deploys("aws:lb/targetGroup:TargetGroup")
def target_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    tg = d.client("elbv2").create_target_group(Name=(i.get("name") or r.id or r.name)[:32], Protocol=i["protocol"],
                                               Port=int(i["port"]), VpcId=i["vpcId"], TargetType=i.get("targetType", "instance"))
    arn = tg["TargetGroups"][0]["TargetGroupArn"]
    return {"id": arn, "arn": arn}


def _action(a: dict) -> dict:
    action = _camel(a)
    if "TargetGroupArn" in action:
        action["TargetGroupArn"] = action["TargetGroupArn"]
    if "AuthenticateCognito" in action:
        action["AuthenticateCognitoConfig"] = action.pop("AuthenticateCognito")
    if "Redirect" in action:
        action["RedirectConfig"] = action.pop("Redirect")
    if "Order" in action:
        action["Order"] = int(action["Order"])
    return action


@deploys("aws:lb/listener:Listener")
def listener(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    extra: dict[str, Any] = {}
    if i.get("certificateArn"):
        extra = {"Certificates": [{"CertificateArn": i["certificateArn"]}], "SslPolicy": i.get("sslPolicy", "")}
    made = d.client("elbv2").create_listener(LoadBalancerArn=i["loadBalancerArn"], Protocol=i["protocol"],
                                             Port=int(i["port"]), DefaultActions=[_action(a) for a in i["defaultActions"]],
                                             **extra)
    arn = made["Listeners"][0]["ListenerArn"]
    return {"id": arn, "arn": arn}


@deploys("aws:wafv2/webAcl:WebAcl")
def web_acl(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    acl = d.client("wafv2").create_web_acl(Name=i["name"], Scope=i.get("scope", "REGIONAL"),
                                           DefaultAction=_camel(i.get("defaultAction") or {"allow": {}}),
                                           Description=i.get("description", ""), Rules=_waf_rules(i.get("rules") or []),
                                           VisibilityConfig=_visibility(i["visibilityConfig"]))["Summary"]
    return {"id": acl["Id"], "arn": acl["ARN"]}


def _visibility(vc: dict) -> dict:
    return {"MetricName": vc["metricName"], "SampledRequestsEnabled": _b(vc["sampledRequestsEnabled"]),
            "CloudWatchMetricsEnabled": _b(vc["cloudwatchMetricsEnabled"])}


def _waf_rules(rules: list[dict]) -> list[dict]:
    return [{**_camel({k: v for k, v in rule.items() if k != "visibilityConfig"}),
             "VisibilityConfig": _visibility(rule["visibilityConfig"])} for rule in rules]


@deploys("aws:wafv2/webAclAssociation:WebAclAssociation")
def web_acl_association(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("wafv2").associate_web_acl(WebACLArn=i["webAclArn"], ResourceArn=i["resourceArn"])
    return {}


@deploys("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
def web_acl_logging(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("wafv2").put_logging_configuration(LoggingConfiguration={
        "ResourceArn": i["resourceArn"], "LogDestinationConfigs": i["logDestinationConfigs"],
        "RedactedFields": _camel(i.get("redactedFields") or [])})
    return {}


# --- backup and patching --------------------------------------------------------------------------------------------

@deploys("aws:backup/vault:Vault")
def backup_vault(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("backup").create_backup_vault(BackupVaultName=i["name"], EncryptionKeyArn=i.get("kmsKeyArn", ""),
                                                  BackupVaultTags=d.tags(i))
    return {"id": i["name"], "arn": made["BackupVaultArn"]}


@deploys("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
def backup_vault_lock(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    extra = {"ChangeableForDays": int(i["changeableForDays"])} if i.get("changeableForDays") else {}
    d.client("backup").put_backup_vault_lock_configuration(
        BackupVaultName=i["backupVaultName"], MinRetentionDays=int(i["minRetentionDays"]),
        MaxRetentionDays=int(i["maxRetentionDays"]), **extra)
    return {}


@deploys("aws:backup/plan:Plan")
def backup_plan(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    rules = []
    for rule in i["rules"]:
        rules.append({"RuleName": rule["ruleName"], "TargetBackupVaultName": rule["targetVaultName"],
                      "ScheduleExpression": rule["schedule"], "StartWindowMinutes": int(rule.get("startWindow", 60)),
                      "CompletionWindowMinutes": int(rule.get("completionWindow", 240)),
                      "Lifecycle": {"DeleteAfterDays": int(rule["lifecycle"]["deleteAfter"])},
                      "CopyActions": [{"DestinationBackupVaultArn": c["destinationVaultArn"],
                                       **({"Lifecycle": {"DeleteAfterDays": int(c["lifecycle"]["deleteAfter"])}}
                                          if c.get("lifecycle") else {})} for c in rule.get("copyActions") or []]})
    made = d.client("backup").create_backup_plan(BackupPlan={"BackupPlanName": i["name"], "Rules": rules},
                                                 BackupPlanTags=d.tags(i))
    return {"id": made["BackupPlanId"], "arn": made["BackupPlanArn"]}


@deploys("aws:ssm/document:Document")
def ssm_document(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("ssm").create_document(Name=i["name"], Content=i["content"], DocumentType=i["documentType"],
                                    DocumentFormat=i.get("documentFormat", "JSON"))
    return {"id": i["name"]}


@deploys("aws:ssm/maintenanceWindow:MaintenanceWindow")
def maintenance_window(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("ssm").create_maintenance_window(
        Name=i["name"], Schedule=i["schedule"], Duration=int(i["duration"]), Cutoff=int(i["cutoff"]),
        AllowUnassociatedTargets=_b(i.get("allowUnassociatedTargets")), ScheduleTimezone=i.get("scheduleTimezone", "Etc/UTC"),
        Tags=d.tag_list(i))
    return {"id": made["WindowId"]}


@deploys("aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget")
def maintenance_window_target(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    made = d.client("ssm").register_target_with_maintenance_window(
        WindowId=i["windowId"], ResourceType=i["resourceType"], Targets=_camel(i["targets"]))
    return {"id": made["WindowTargetId"]}


@deploys("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
def maintenance_window_task(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    run = (i.get("taskInvocationParameters") or {}).get("runCommandParameters") or {}
    made = d.client("ssm").register_task_with_maintenance_window(
        WindowId=i["windowId"], TaskType=i["taskType"], TaskArn=i["taskArn"], Targets=_camel(i["targets"]),
        MaxConcurrency=i.get("maxConcurrency", "1"), MaxErrors=i.get("maxErrors", "1"), Priority=int(i.get("priority", 1)),
        TaskInvocationParameters={"RunCommand": {"Parameters": {p["name"]: p["values"] for p in run.get("parameters", [])}}})
    return {"id": made["WindowTaskId"]}


@deploys("aws:ssm/patchBaseline:PatchBaseline")
def patch_baseline(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    rules = [{"PatchFilterGroup": {"PatchFilters": [{"Key": f["key"], "Values": f["values"]} for f in rule["patchFilters"]]},
              "ComplianceLevel": rule.get("complianceLevel", "UNSPECIFIED"), "ApproveAfterDays": int(rule["approveAfterDays"]),
              "EnableNonSecurity": _b(rule.get("enableNonSecurity"))} for rule in i.get("approvalRules") or []]
    made = d.client("ssm").create_patch_baseline(
        Name=i["name"], OperatingSystem=i["operatingSystem"], Description=i.get("description", ""),
        ApprovalRules={"PatchRules": rules}, ApprovedPatchesComplianceLevel=i.get("approvedPatchesComplianceLevel", "UNSPECIFIED"))
    # (moto 5.2.5 rejects tags on a new patch baseline: InvalidResourceId)
    return {"id": made["BaselineId"]}


@deploys("aws:ssm/patchGroup:PatchGroup")
def patch_group(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("ssm").register_patch_baseline_for_patch_group(BaselineId=i["baselineId"], PatchGroup=i["patchGroup"])
    return {}


@deploys("aws:macie2/account:Account")
def macie_account(d: Deployment, r: RecordedResource, i: dict) -> Attrs:
    d.client("macie2").enable_macie(status=i.get("status", "ENABLED"),
                                    findingPublishingFrequency=i.get("findingPublishingFrequency", "SIX_HOURS"))
    return {}


# --- reads moto 5.2.5 cannot answer ---------------------------------------------------------------------------------

@dataclass
class Gaps:
    """Answers, as deployed, for the reads moto lacks (each validated against botocore's output shape for the
    operation, as botocore's Stubber does). Installed on a boto3 session as `before-call` handlers, which botocore
    uses in place of sending the request; mutants edit `responses` to break one control."""

    responses: dict[str, dict[str, Any]]

    def install(self, session: boto3.session.Session) -> None:
        from botocore.validate import ParamValidator

        for key in self.responses:
            service, operation = key.split(".")
            model = session._session.get_service_model(service)
            shape = model.operation_model(operation).output_shape
            assert shape is not None, f"{key} has no output shape"
            report = ParamValidator().validate(self.responses[key], shape)
            if report.has_errors():
                raise ValueError(f"canned {key} is not in the service model's shape:\n{report.generate_report()}")
            session.events.register(f"before-call.{model.service_id.hyphenize()}.{operation}", self._answer(key))

    def _answer(self, key: str) -> Callable[..., Any]:
        def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
            return _Ok(), json.loads(json.dumps(self.responses[key]))
        return answer


class _Ok:
    status_code = 200
    headers: dict[str, str] = {}


def gaps_for(deployment: Deployment) -> Gaps:
    """What the stack deployed, in the answers of the APIs moto lacks."""
    g, region = deployment.graph, deployment.session.region_name
    analyzer = g.one("aws:accessanalyzer/analyzer:Analyzer").inputs
    job = g.one("aws:macie2/classificationJob:ClassificationJob").inputs
    baseline = deployment.real[g.one("aws:ssm/patchBaseline:PatchBaseline").urn]["id"]
    baseline_inputs = g.one("aws:ssm/patchBaseline:PatchBaseline").inputs
    ebs_key = deployment.resolve(g.one("aws:ebs/defaultKmsKey:DefaultKmsKey").inputs["keyArn"])
    account = deployment.graph_account
    return Gaps({
        "securityhub.GetEnabledStandards": {"StandardsSubscriptions": [
            {"StandardsSubscriptionArn": f"arn:aws:securityhub:{region}:{account}:subscription/{i}",
             "StandardsArn": deployment.resolve(r.inputs["standardsArn"]), "StandardsInput": {}, "StandardsStatus": "READY"}
            for i, r in enumerate(g.of_type("aws:securityhub/standardsSubscription:StandardsSubscription"))]},
        "accessanalyzer.ListAnalyzers": {"analyzers": [{
            "arn": f"arn:aws:access-analyzer:{region}:{account}:analyzer/{analyzer['analyzerName']}", "name": analyzer["analyzerName"],
            "type": analyzer["type"], "createdAt": "2026-01-01T00:00:00Z", "status": "ACTIVE"}]},
        "macie2.ListClassificationJobs": {"items": [{
            "jobId": "0123456789abcdef0123456789abcdef", "name": job["name"], "jobType": job["jobType"], "jobStatus": "IDLE",
            "bucketDefinitions": [{"accountId": account, "buckets": list(job["s3JobDefinition"]["bucketDefinitions"][0]["buckets"])}]}]},
        "ssm.GetPatchBaseline": {"BaselineId": baseline, "Name": baseline_inputs["name"],
                                 "OperatingSystem": baseline_inputs["operatingSystem"], "ApprovalRules": {"PatchRules": [
            {"PatchFilterGroup": {"PatchFilters": [{"Key": f["key"], "Values": f["values"]} for f in rule["patchFilters"]]},
             "ComplianceLevel": rule.get("complianceLevel", "UNSPECIFIED"), "ApproveAfterDays": int(rule["approveAfterDays"])}
            for rule in baseline_inputs["approvalRules"]]}},
        "ec2.GetEbsDefaultKmsKeyId": {"KmsKeyId": ebs_key},
    })
