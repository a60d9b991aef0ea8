"""Run the policy pack the way the Pulumi engine runs it: through pulumi-policy's own analyzer request handler.

The CLI talks to a policy pack over gRPC: per resource an `AnalyzeRequest` (type, URN, name, inputs as a protobuf
`Struct`, options, provider) and once for the stack an `AnalyzeStackRequest` (every resource with its outputs, parent,
dependencies and property dependencies). The pack's handler, `pulumi_policy.policy._PolicyAnalyzerServicer`, turns the
`Struct` back into Python (numbers become floats, secrets are unwrapped), wraps every list and dict in a proxy that
raises on a value not known until the update, runs the policies and answers with diagnostics. A policy that touches an
unknown value is skipped with a "can't run policy ... during preview" diagnostic.

This module builds those requests from a recorded graph (or from a `pulumi stack export` / `pulumi preview --json`
document, see `caseshield/plans.py`) and hands them to that very handler, in-process. The wire encoding follows the
engine's `MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys)`: unknowns travel as the unknown-string
sentinel, secrets as `{sig: secret, value: ...}` objects, keys that start with `__` are dropped.

Each policy gets a handler of its own, so a policy that raises is pinned on that policy (the engine would fail the
whole request with a gRPC error) and the others still run; a resource policy is only sent the resource types its rule
is written for (`exhaustive=True` sends every resource to every policy, as the engine does, and gives the same result).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi_policy.policy as handler_module
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import _DictProxy, _ListProxy

from policies.pack import PACK_NAME, PACK_VERSION
from policies.rules import RULES

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# Rules may end a message with "[path = actual; expected X]" (see policies/rules/_support.violation).
EVIDENCE_RE = re.compile(r"\s*\[(?P<path>[^\]=]+?) = (?P<actual>.*?); expected (?P<expected>[^\]]*)\]$")
CANT_RUN = "can't run policy"

Outcome = Literal["violation", "not-run", "error"]


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    path: str | None = None
    actual: str | None = None
    expected: str | None = None
    enforcement: str = "mandatory"
    text: str = ""  # the message as the rule reported it, evidence included


@dataclass(frozen=True)
class Skipped:
    """A policy the handler could not run on a resource (or the stack) because a value it read is not yet known."""

    policy: str
    urn: str
    reason: str


@dataclass(frozen=True)
class Errored:
    """A policy that raised: the engine would report "failed to run policy" and stop the preview."""

    policy: str
    urn: str
    error: str


@dataclass
class EngineResult:
    violations: list[Violation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[Errored] = field(default_factory=list)

    def sort(self) -> EngineResult:
        self.violations.sort(key=lambda v: (v.policy, v.urn, v.message))
        self.skipped.sort(key=lambda s: (s.policy, s.urn, s.reason))
        self.errors.sort(key=lambda e: (e.policy, e.urn, e.error))
        return self


# --- what the engine sends ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WireResource:
    """One resource as the engine describes it to analyzers (inputs for `Analyze`, outputs for `AnalyzeStack`)."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    parent: str | None = None
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    protect: bool = False
    ignore_changes: Sequence[str] = ()
    delete_before_replace: bool | None = None
    additional_secret_outputs: Sequence[str] = ()
    provider: str | None = None  # the provider's URN


def wire_value(value: Any) -> Any:
    """A property value in the engine's marshalled form (JSON with the engine's signatures)."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return {SIG_KEY: SECRET_SIG, "value": wire_value(value.get("value"))}
        return {str(k): wire_value(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, (list, tuple)):
        return [wire_value(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    urn = getattr(value, "urn", None)  # a resource reference travels as its URN when references are not kept
    if isinstance(urn, str):
        return urn
    raise TypeError(f"cannot marshal a {type(value).__name__} for the policy handler")


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(wire_value(props))
    return struct


def _options(r: WireResource) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(
        protect=r.protect, ignoreChanges=list(r.ignore_changes),
        deleteBeforeReplace=bool(r.delete_before_replace), deleteBeforeReplaceDefined=r.delete_before_replace is not None,
        additionalSecretOutputs=list(r.additional_secret_outputs), parent=r.parent or "",
    )


@dataclass
class Requests:
    """The analyzer requests of one stack, built once and shared by every policy."""

    resources: list[tuple[WireResource, proto.AnalyzeRequest]]
    stack: proto.AnalyzeStackRequest


def build_requests(resources: Iterable[WireResource]) -> Requests:
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    providers: dict[str, proto.AnalyzerProviderResource] = {
        r.urn: proto.AnalyzerProviderResource(type=r.type, properties=to_struct(r.inputs), urn=r.urn, name=r.name)
        for r in resources if r.type.startswith("pulumi:providers:")
    }
    analyzed: list[tuple[WireResource, proto.AnalyzeRequest]] = []
    stack_resources: list[proto.AnalyzerResource] = []
    for r in resources:
        provider = providers.get(r.provider or "")
        options = _options(r)
        request = proto.AnalyzeRequest(type=r.type, properties=to_struct(r.inputs), urn=r.urn, name=r.name,
                                       options=options, provider=provider)
        analyzed.append((r, request))
        stack_resources.append(proto.AnalyzerResource(
            type=r.type, properties=to_struct(r.outputs), urn=r.urn, name=r.name, options=options, provider=provider,
            parent=r.parent if r.parent in by_urn else "", dependencies=list(r.dependencies),
            propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items()},
        ))
    return Requests(analyzed, proto.AnalyzeStackRequest(resources=stack_resources))


# --- what the handler answers ---------------------------------------------------------------------------------------

def _handler(policy: Policy) -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, [policy], EnforcementLevel.ADVISORY)


def _message(policy: Policy, diagnostic: Any) -> str:
    """The handler prefixes the policy's description to each message (`description\\nmessage`)."""
    return diagnostic.message.removeprefix(policy.description).lstrip("\n")


def _collect(result: EngineResult, policy: Policy, response: Any, default_urn: str) -> None:
    for d in response.diagnostics:
        urn = d.urn or default_urn
        if d.message.startswith(CANT_RUN):
            result.skipped.append(Skipped(policy.name, urn, d.message.split("during preview: ", 1)[-1]))
            continue
        message = _message(policy, d)
        enforcement = "mandatory" if d.enforcementLevel == proto.MANDATORY else "advisory"
        match = EVIDENCE_RE.search(message)
        if match is None:
            result.violations.append(Violation(policy.name, urn, message, enforcement=enforcement, text=message))
        else:
            result.violations.append(Violation(
                policy.name, urn, message[: match.start()].rstrip(), match["path"].strip(), match["actual"].strip(),
                match["expected"].strip(), enforcement, message))


def _applies(policy: Policy, resource_type: str) -> bool:
    rule = RULES.get(policy.name)
    return rule is None or resource_type in rule.resource_types


def analyze(requests: Requests, policies: Sequence[Policy], *, exhaustive: bool = False) -> EngineResult:
    """Every diagnostic every policy gives for these requests, through pulumi-policy's own handler."""
    result = EngineResult()
    with decoded_once() as decoding:
        for policy in policies:
            handler = _handler(policy)
            if isinstance(policy, ResourceValidationPolicy):
                for resource, request in requests.resources:
                    if not exhaustive and not _applies(policy, resource.type):
                        continue
                    _call(result, policy, handler.Analyze, request, resource.urn)
                    decoding.policy_returned()
            else:
                _call(result, policy, handler.AnalyzeStack, requests.stack, "")
                decoding.policy_returned()
    return result.sort()


class _DecodedOnce:
    """Stands in for `json_format`, `deserialize_properties` and `unknown_checking_proxy` in the handler's module
    while `analyze` runs, so that each message of the requests is decoded once for all policies.

    For every policy the handler decodes every `Struct` of the request again: protobuf to dict, the engine's encodings
    of secrets and assets, then a copy into proxies that raise on unknown values. With ~90 stack policies over ~300
    resources that decoding was most of the time `caseshield check` took. The first two steps are pure functions of
    the message that build new objects, so their results are kept per message (by identity, holding the message so
    the identity stays unique) and shared. The proxies are shared too, but they are the one thing a policy could write
    into (`props[key] = value` on a dict proxy; lists have no setter): every dict proxy handed out is watched, and a
    write drops all kept proxies once the policy returns, so the next policy gets fresh copies, as with the unpatched
    handler. What stays different: within one policy call, resources with the same provider share the provider's props
    object, and a rule that reaches past the proxy (`props["__target"]`) is not watched; no rule does either
    (`tests/test_engine.py` checks the second).
    """

    def __init__(self, deserialize: Any, proxy: Any) -> None:
        self._deserialize, self._proxy = deserialize, proxy
        self._as_dict: dict[int, tuple[Any, Any]] = {}
        self._decoded: dict[tuple[int, bool], tuple[Any, Any]] = {}
        self._proxies: dict[int, tuple[Any, Any]] = {}
        self.written = False
        shim = self

        class WatchedDictProxy(_DictProxy):
            def __setitem__(self, key: Any, value: Any) -> None:
                shim.written = True
                super().__setitem__(key, value)

        self._watched = WatchedDictProxy

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # json_format's name
        if args or kwargs:
            return json_format.MessageToDict(message, *args, **kwargs)
        return self._kept(self._as_dict, id(message), message, lambda: json_format.MessageToDict(message))

    def deserialize_properties(self, props: Any, proxy_secrets: bool = False) -> Any:
        return self._kept(self._decoded, (id(props), proxy_secrets), props,
                          lambda: self._deserialize(props, proxy_secrets))

    def unknown_checking_proxy(self, decoded: Any) -> Any:
        return self._kept(self._proxies, id(decoded), decoded, lambda: self._watch(self._proxy(decoded)))

    def policy_returned(self) -> None:
        """After each policy: if it wrote into any props, no later policy may see those proxies."""
        if self.written:
            self._proxies.clear()
            self.written = False

    @staticmethod
    def _kept(store: dict, key: Any, source: Any, make: Any) -> Any:
        kept = store.get(key)
        if kept is None or kept[0] is not source:
            kept = store[key] = (source, make())
        return kept[1]

    def _watch(self, proxy: Any) -> Any:
        if isinstance(proxy, (_DictProxy, _ListProxy)):
            if type(proxy) is _DictProxy:
                proxy.__class__ = self._watched
            target = proxy["__target"]
            for child in target.values() if isinstance(target, dict) else target:
                self._watch(child)
        return proxy


@contextmanager
def decoded_once() -> Iterator[_DecodedOnce]:
    """Decode each message of the requests once for all policies (see `_DecodedOnce`); restores the handler after."""
    names = ("json_format", "deserialize_properties", "unknown_checking_proxy")
    original = {name: getattr(handler_module, name) for name in names}
    if isinstance(original["json_format"], _DecodedOnce):  # already inside `analyze`
        yield original["json_format"]
        return
    shim = _DecodedOnce(original["deserialize_properties"], original["unknown_checking_proxy"])
    handler_module.json_format = shim
    handler_module.deserialize_properties = shim.deserialize_properties
    handler_module.unknown_checking_proxy = shim.unknown_checking_proxy  # type: ignore[assignment]
    try:
        yield shim
    finally:
        for name, value in original.items():
            setattr(handler_module, name, value)


def _call(result: EngineResult, policy: Policy, method: Any, request: Any, urn: str) -> None:
    try:
        response = method(request, None)
    except Exception as error:  # the engine would get a gRPC error: "failed to run policy"
        result.errors.append(Errored(policy.name, urn, f"{type(error).__name__}: {error}"))
        return
    _collect(result, policy, response, urn)
