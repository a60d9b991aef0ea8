"""Evaluate the Pulumi program in-process, with no CLI and no cloud account, into a recorded resource graph.

The program runs unchanged under `pulumi.runtime.set_mocks`. A recording monitor keeps, for every registration,
what the engine itself would see at preview: type, name, URN, parent, inputs, resource options and the property
dependencies of each input. Data-source invokes (caller identity, region, partition, zones, SSM parameters) are
answered by moto through boto3, so the program's reads of AWS behave as they do against an account.

Every later gate (plan, policy pack, parity, mutants) reads this graph instead of evaluating the program again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import pulumi
from moto import mock_aws
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource_runtime
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop

from caseshield.project import load_project

Program = Callable[[], None]
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_SESSION_TOKEN": "offline",
    # The program reads the AMI from the SSM public parameter, never from DescribeImages; moto's 1,300 default AMIs
    # (and their snapshots) would cost most of a second per evaluation for nothing.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


@dataclass
class RecordedResource:
    """One registration as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any]
    property_dependencies: dict[str, list[str]]
    dependencies: list[str]
    provider: str | None
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def protect(self) -> bool:
        return bool(self.options.get("protect"))

    @property
    def retain_on_delete(self) -> bool:
        return bool(self.options.get("retainOnDelete"))


@dataclass
class ResourceGraph:
    """All registrations of one evaluation, in registration order."""

    project: str
    stack: str
    config: dict[str, str]
    resources: list[RecordedResource]
    stack_outputs: dict[str, Any]

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        """The single resource of `type_` (and `name`, if given); fails loudly when there is not exactly one."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named {name!r}, found {[r.name for r in found]}")
        return found[0]

    def children(self, urn: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == urn]

    def descendants(self, urn: str) -> Iterator[RecordedResource]:
        for child in self.children(urn):
            yield child
            yield from self.descendants(child.urn)

    def ancestors(self, resource: RecordedResource) -> Iterator[RecordedResource]:
        parent = self.by_urn.get(resource.parent or "")
        while parent is not None:
            yield parent
            parent = self.by_urn.get(parent.parent or "")

    def depends_on(self, resource: RecordedResource, prop: str) -> list[RecordedResource]:
        """The resources whose outputs flowed into `resource`'s input `prop`."""
        return [self.by_urn[u] for u in resource.property_dependencies.get(prop, []) if u in self.by_urn]

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for r in self.resources:
            totals[r.type] = totals.get(r.type, 0) + 1
        return dict(sorted(totals.items()))


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that records parent, options and property dependencies of each registration, and applies
    stack transforms the way the engine does (the stock mock monitor ignores them).

    Transforms see the engine's view of a resource, as `pulumi.ResourceTransformArgs` with camelCase props, and
    may return a `pulumi.ResourceTransformResult` with replacement props; mutation tests use them to break one
    control at a time without touching the program.
    """

    def __init__(self, mocks: pulumi_mocks.Mocks, transforms: Sequence[pulumi.ResourceTransform] = ()):
        super().__init__(mocks)
        self.recorded: dict[str, RecordedResource] = {}
        self.transforms = list(transforms)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        # This runs on an executor thread; deserializing a resource reference builds Outputs, which need a loop on
        # the calling thread (the stock mock monitor does the same).
        _ensure_event_loop()
        inputs, opts = self._transformed(request, _recorded(rpc.deserialize_properties(request.object, keep_unknowns=True)))
        id_, state = self.mocks.new_resource(pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        ))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        self.recorded[urn] = RecordedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=inputs,
            options={
                "protect": bool(opts.protect),
                "retainOnDelete": bool(opts.retain_on_delete),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "ignoreChanges": list(request.ignoreChanges),
                "replaceOnChanges": list(request.replaceOnChanges),
                "additionalSecretOutputs": list(request.additionalSecretOutputs),
                "deletedWith": request.deletedWith or None,
            },
            property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
            dependencies=sorted(request.dependencies),
            provider=request.provider or None,
            id=id_ or None,
            # What the engine's stack analysis reads: a custom resource's state (a component's registered outputs
            # replace this when it registers them).
            outputs=dict(state),
        )
        state_proto = pulumi_mocks._sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=state_proto)

    def _transformed(self, request: Any, inputs: dict[str, Any]) -> tuple[dict[str, Any], pulumi.ResourceOptions]:
        """Props and options after every transform; a transform's returned `protect`/`retain_on_delete` are recorded
        as the engine would apply them (option mutants turn protection off this way)."""
        opts = pulumi.ResourceOptions(protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete))
        for transform in self.transforms:
            result = transform(pulumi.ResourceTransformArgs(
                custom=bool(request.custom), type_=request.type, name=request.name, props=inputs, opts=opts,
            ))
            if result is not None:
                inputs = dict(result.props)  # type: ignore[union-attr]
                opts = result.opts or opts  # type: ignore[union-attr]
        return inputs, opts

    def RegisterResourceOutputs(self, request: Any) -> Any:
        recorded = self.recorded.get(request.urn)
        if recorded is not None:
            _ensure_event_loop()  # component outputs carry resource references; see RegisterResource
            recorded.outputs = _recorded(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        return super().RegisterResourceOutputs(request)


def _recorded(value: Any) -> Any:
    """A deserialized property value with the SDK's `Unknown` placeholders as the engine's unknown sentinel, so the
    recorded graph holds what the engine would send (and stays plain data)."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _recorded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_recorded(v) for v in value]
    return value


class AwsFacts(pulumi_mocks.Mocks):
    """Answers the program's data-source invokes from moto, and gives new resources plausible computed state."""

    def __init__(self, region: str, preview: bool = False):
        self.region = region
        self.preview = preview
        self.session = boto3.session.Session(region_name=region)
        self.account = self.session.client("sts").get_caller_identity()["Account"]
        self.partition = self.session.get_partition_for_region(region)

    # -- invokes -----------------------------------------------------------------------------------------------
    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        handler = INVOKES.get(args.token)
        if handler is None:
            raise NotImplementedError(
                f"offline evaluation has no answer for invoke {args.token}; add one to caseshield/offline.py INVOKES"
            )
        return handler(self, dict(args.args)), []

    def caller_identity(self, _: dict) -> dict:
        identity = self.session.client("sts").get_caller_identity()
        return {"accountId": identity["Account"], "arn": identity["Arn"], "userId": identity["UserId"],
                "id": identity["Account"]}

    def region_info(self, _: dict) -> dict:
        endpoint = self.session.client("ec2").meta.endpoint_url.removeprefix("https://")
        return {"region": self.region, "name": self.region, "endpoint": endpoint,
                "description": self.region, "id": self.region}

    def partition_info(self, _: dict) -> dict:
        # botocore's endpoint for the region carries the partition's DNS suffix: https://ec2.<region>.<suffix>
        suffix = self.session.client("ec2").meta.endpoint_url.split(f".{self.region}.", 1)[1]
        return {"partition": self.partition, "dnsSuffix": suffix,
                "reverseDnsPrefix": ".".join(reversed(suffix.split("."))), "id": self.partition}

    def availability_zones(self, args: dict) -> dict:
        zones = self.session.client("ec2").describe_availability_zones()["AvailabilityZones"]
        if args.get("state"):
            zones = [z for z in zones if z["State"] == args["state"]]
        return {"names": [z["ZoneName"] for z in zones], "zoneIds": [z["ZoneId"] for z in zones],
                "groupNames": [z.get("GroupName", self.region) for z in zones], "id": self.region,
                "state": args.get("state")}

    def ssm_parameter(self, args: dict) -> dict:
        parameter = self.session.client("ssm").get_parameter(Name=args["name"])["Parameter"]
        return {"name": parameter["Name"], "value": parameter["Value"], "insecureValue": parameter["Value"],
                "type": parameter["Type"], "version": parameter["Version"], "arn": parameter["ARN"],
                "id": parameter["Name"], "withDecryption": True}

    # -- resources ---------------------------------------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            return "", {}
        physical = _physical_name(args.typ, args.name, args.inputs)
        state = dict(args.inputs)
        if args.typ not in _ARN_IS_AN_INPUT:
            state.setdefault("arn", self.arn(args.typ, physical))
        if args.typ not in _NAMED_ELSEWHERE:
            state.setdefault("name", physical)
        extra = _TYPE_STATE.get(args.typ)
        if extra is not None:
            state.update(extra(self, physical))
        if self.preview:
            # A first preview: nothing exists yet, so what the provider computes (ids, ARNs, endpoints) is unknown and
            # flows on as unknown into every input built from it. Names are known: autonaming precedes the preview.
            return "", {k: v if k in args.inputs or k in _AUTONAMED else UNKNOWN for k, v in state.items()}
        return physical, state

    def arn(self, typ: str, physical: str) -> str:
        package, module_path, kind = [*typ.split(":"), "", ""][:3]
        if package != "aws":
            return f"{typ}::{physical}"
        service = module_path.split("/")[0]
        service = {"cloudwatch": "logs" if kind == "LogGroup" else "cloudwatch", "cognito": "cognito-idp",
                   "wafv2": "wafv2", "lb": "elasticloadbalancing", "alb": "elasticloadbalancing",
                   "cfg": "config", "index": "aws"}.get(service, service)
        region = "" if service in ("s3", "iam") else self.region
        account = "" if service == "s3" else self.account
        resource = f"{kind[0].lower()}{kind[1:]}/{physical}" if service != "s3" else physical
        if service == "logs":
            resource = f"log-group:{physical}"
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"


# Type-specific computed attributes that the program reads back.
_TYPE_STATE: dict[str, Callable[[AwsFacts, str], dict]] = {
    "aws:s3/bucket:Bucket": lambda f, p: {"bucket": p, "arn": f"arn:{f.partition}:s3:::{p}",
                                          "bucketDomainName": f"{p}.s3.amazonaws.com",
                                          "bucketRegionalDomainName": f"{p}.s3.{f.region}.amazonaws.com"},
    "aws:kms/key:Key": lambda f, p: {"keyId": p, "arn": f"arn:{f.partition}:kms:{f.region}:{f.account}:key/{p}"},
    "aws:iam/role:Role": lambda f, p: {"arn": f"arn:{f.partition}:iam::{f.account}:role/{p}", "uniqueId": p},
    "aws:iam/policy:Policy": lambda f, p: {"arn": f"arn:{f.partition}:iam::{f.account}:policy/{p}"},
    # A stable stand-in for the generated value (alphanumeric, like special=False); the SDK marks it secret.
    "random:index/randomPassword:RandomPassword": lambda f, p: {"result": hashlib.sha256(p.encode()).hexdigest()[:32]},
    "aws:ec2/vpc:Vpc": lambda f, p: {"defaultSecurityGroupId": f"sg-default-{p}", "defaultNetworkAclId": f"acl-{p}",
                                     "mainRouteTableId": f"rtb-main-{p}"},
    # RDS and AWS Backup name resources `db:<id>` and `backup-vault:<name>`, not `<kind>/<name>` (IAM grants on the
    # generic form would match nothing; parliament's RESOURCE_MISMATCH found it).
    "aws:backup/vault:Vault": lambda f, p: {"arn": f"arn:{f.partition}:backup:{f.region}:{f.account}:backup-vault:{p}"},
    "aws:rds/instance:Instance": lambda f, p: {"arn": f"arn:{f.partition}:rds:{f.region}:{f.account}:db:{p}",
                                               "endpoint": f"{p}.offline.{f.region}.rds.amazonaws.com:5432",
                                               "address": f"{p}.offline.{f.region}.rds.amazonaws.com",
                                               "masterUserSecrets": [{
                                                   "secretArn": f"arn:{f.partition}:secretsmanager:{f.region}:"
                                                                f"{f.account}:secret:rds!{p}",
                                                   "kmsKeyId": "", "secretStatus": "active"}],
                                               "resourceId": "db-" + hashlib.sha1(p.encode()).hexdigest()[:26].upper()},
    "aws:cloudtrail/trail:Trail": lambda f, p: {"arn": f"arn:{f.partition}:cloudtrail:{f.region}:{f.account}:trail/{p}"},
    "aws:cloudwatch/logGroup:LogGroup": lambda f, p: {
        "arn": f"arn:{f.partition}:logs:{f.region}:{f.account}:log-group:{p}"},
    "aws:sns/topic:Topic": lambda f, p: {"arn": f"arn:{f.partition}:sns:{f.region}:{f.account}:{p}"},
    "aws:cognito/userPool:UserPool": lambda f, p: {"endpoint": f"cognito-idp.{f.region}.amazonaws.com/{p}"},
    "aws:lb/loadBalancer:LoadBalancer": lambda f, p: {"dnsName": f"{p}.{f.region}.elb.amazonaws.com",
                                                      "arnSuffix": f"app/{p}/offline"},
    "aws:acm/certificate:Certificate": lambda f, p: {"domainValidationOptions": [{
        "domainName": "", "resourceRecordName": f"_{p}.offline.", "resourceRecordType": "CNAME",
        "resourceRecordValue": f"_{p}.offline.acm-validations.aws."}]},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda f, p: {"latestVersion": 1, "defaultVersion": 1},
}
# Attributes a first preview already knows: the names the provider's autonaming picks before anything is created.
_AUTONAMED = frozenset({"name", "bucket"})
UNKNOWN = rpc.UNKNOWN  # the engine's unknown-string sentinel, as recorded inputs carry it
# Types whose physical name lives in another attribute (and must not get a synthetic "name").
_NAMED_ELSEWHERE = frozenset({"aws:s3/bucket:Bucket", "aws:rds/instance:Instance"})
# Types whose `arn` is an input (the target's ARN), never computed: a missing one must stay missing.
_ARN_IS_AN_INPUT = frozenset({"aws:cloudwatch/eventTarget:EventTarget"})


def _physical_name(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The name AWS would hold: an explicit name input, else Pulumi-style autonaming (logical name + suffix)."""
    for attr in ("bucket", "identifier", "name"):
        value = inputs.get(attr)
        if isinstance(value, str) and value:
            return value
    digest = hashlib.sha1(f"{typ}/{name}".encode()).hexdigest()[:7]
    return f"{name}-{digest}"


INVOKES: dict[str, Callable[[AwsFacts, dict], dict]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": AwsFacts.caller_identity,
    "aws:index/getRegion:getRegion": AwsFacts.region_info,
    "aws:index/getPartition:getPartition": AwsFacts.partition_info,
    "aws:index/getAvailabilityZones:getAvailabilityZones": AwsFacts.availability_zones,
    "aws:ssm/getParameter:getParameter": AwsFacts.ssm_parameter,
}


def default_program() -> None:
    from caseshield.program import main

    main()


def evaluate(
    stack: str,
    *,
    config: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    transforms: Sequence[pulumi.ResourceTransform] = (),
    program: Program = default_program,
    preview: bool = False,
) -> ResourceGraph:
    """Run `program` for `stack` against mocks and return what it registered.

    `config` replaces the stack file's config (project defaults still apply); `overrides` sets single keys
    ("caseshield:vpcCidr" or bare "vpcCidr") on top; `transforms` are stack transforms applied to every resource,
    which is how mutation tests break one control at a time.
    """
    project = load_project()
    flat = dict(project.stack_config(stack) if config is None else config)
    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        if value is None:
            flat.pop(full_key, None)
        else:
            flat[full_key] = value if isinstance(value, str) else _json(value)
    region = flat.get("aws:region", "us-east-1")
    global _evaluated_while_deferred
    with _collector_paused_until_frozen():
        graph = contextvars.copy_context().run(_evaluate, project.name, stack, flat, region, transforms, program,
                                               preview)
        if _deferred:
            _evaluated_while_deferred = True
        else:
            _freeze_long_lived_objects()
    return graph


_frozen = False
_deferred = False  # inside `collector_paused`: the first evaluation's collection and freeze wait for its end
_evaluated_while_deferred = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection while inside, and no collection before the first evaluation's freeze: for a process that
    forks workers right after its first evaluation (caseshield/workers.py). That full collection (a third of the
    million objects the first evaluation leaves are garbage) took most of a second: before the fork it held up every
    worker, during the workers it would write into every page they share with this process, and after them it held
    up the verdict. The workers freeze what they inherit themselves. On leaving: the first evaluation's objects are
    frozen as they are, its garbage with them (tens of MB, once per process, until it exits; `evaluate` alone
    collects first), then the collector is as it was."""
    global _deferred, _evaluated_while_deferred, _frozen
    enabled, outermost = gc.isenabled(), not _deferred
    gc.disable()
    _deferred = True
    try:
        yield
    finally:
        if outermost:
            _deferred = False
            if _evaluated_while_deferred and not _frozen:
                gc.freeze()
                _frozen = True
            _evaluated_while_deferred = False
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _collector_paused_until_frozen() -> Iterator[None]:
    """The first evaluation imports pulumi-aws's modules and moto's backends: half a million objects that live as long
    as the process. While they are created, each full collection walks all of them again, a dozen times, for garbage
    that one evaluation cannot make much of: seconds of the first evaluation. So the cyclic collector pauses during
    the first evaluation; `_freeze_long_lived_objects` then collects once (nothing is leaked) and freezes."""
    paused = not _frozen and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _freeze_long_lived_objects() -> None:
    """After the first evaluation has imported pulumi-aws, moto's backends and the program, move those half a million
    long-lived objects out of the cyclic collector's sight. Otherwise every full collection walks them all and a
    third of each later evaluation is garbage collection. Garbage is collected first, so nothing is leaked."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def _json(value: Any) -> str:
    import json

    return json.dumps(value) if not isinstance(value, bool) else ("true" if value else "false")


def _evaluate(project: str, stack: str, flat: dict[str, str], region: str,
              transforms: Sequence[pulumi.ResourceTransform], program: Program, preview: bool) -> ResourceGraph:
    # Source stack traces are metadata for the engine's diagnostics; offline nobody reads them, and capturing one
    # per registration is a quarter of the evaluation time.
    with mock.patch.dict(os.environ, {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region}), mock_aws(), \
            mock.patch.object(pulumi_resource_runtime, "_get_stack_trace", source_pb2.StackTrace):
        facts = AwsFacts(region, preview)
        monitor = RecordingMonitor(facts, transforms)
        runtime_settings.ROOT.set(None)
        # Outputs tracked by work outside any evaluation (a resource built from a reference, say) belong to no loop
        # that will run; the program's shutdown would wait on them for ever.
        runtime_settings.SETTINGS.outputs.clear()
        set_all_config(flat, [])
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_mocks(facts, project=project, stack=stack, preview=preview, monitor=monitor)

            loop.run_until_complete(run_pulumi_func(program))
            root = runtime_settings.get_root_resource()
            exported = dict(getattr(root, "outputs", {}) or {})
            outputs = loop.run_until_complete(_resolve_outputs(exported))
        finally:
            _discard_pending(loop)
    # Registration order depends on thread timing; URN order makes every report reproducible.
    resources = sorted(monitor.recorded.values(), key=lambda r: r.urn)
    return ResourceGraph(project=project, stack=stack, config=flat, resources=resources,
                         stack_outputs=outputs)


def _discard_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Leave nothing of this evaluation behind: a failed program (invalid settings, say) leaves tasks pending, and
    the SDK keeps pending outputs in process-wide settings where the next evaluation would await them."""
    for task in asyncio.all_tasks(loop):
        task.cancel()
    with contextlib.suppress(BaseException):
        loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop), return_exceptions=True))
    # Wait for the executor's threads (the monitor's calls ran there) to end: a process forked right after an
    # evaluation (caseshield/workers.py) must not copy a thread halfway through its exit, where OpenSSL's per-thread
    # cleanup holds a lock that the child would then wait on for ever (its first boto3 client hung).
    with contextlib.suppress(BaseException):
        loop.run_until_complete(loop.shutdown_default_executor())
    runtime_settings.SETTINGS.outputs.clear()
    asyncio.set_event_loop(None)
    loop.close()


async def _resolve_outputs(exported: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in sorted(exported.items()):
        output = pulumi.Output.from_input(value)
        resolved[key] = await output.future(with_unknowns=True)
    return resolved
