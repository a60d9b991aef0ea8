"""Generated mutants: systematic weakenings of every security-relevant property of a stack's recorded graph.

The hand-written mutants of `policies/mutants/` are written by the same hands as the rules, one per idea. These are
not: `policies/generated-mutants.yaml` states, per resource type, which properties are policy documents, boolean
flags, numbers with a floor or ceiling, enumerated settings, security lists, or resources a list of them is made of,
and the operators below break each one, one at a time (issue 14, item 3):

- documents: each statement dropped or its Effect negated; each Allow's Principal and Resource widened to `*`; each
  condition of an Allow dropped, negated, loosened to its Like operator with `*`, or given `IfExists`; each condition
  of a Deny negated, or its exemption (a negated string or ARN operator) opened to `*`;
- flags flipped; numbers pushed past their floor (`policies/floors.yaml`) or ceiling; enumerated settings replaced by
  each weaker value; each element of a security list removed; each resource of a listed type removed.

A mutant edits the recorded graph, not the program: the mutated resource's inputs (what `Analyze` sends) and outputs
(what `AnalyzeStack` sends) are edited and the policy pack runs again through pulumi-policy's own handler
(`caseshield/engine.py`), exactly as `caseshield check` runs it. It is caught when any rule reports something the
unmutated stack does not (a violation, or a policy that raises); the rules that did are recorded.

What makes a few thousand mutants take minutes, not hours, without changing what the handler does:

- The baseline run records, per stack policy, which resources' properties it read (every read of a resource's
  `props` goes through the handler's proxy, which is watched here). A policy that never read the mutated resource's
  properties executes exactly as in the baseline, so only the policies that did are run again; resource policies
  run on the mutated resource alone (their verdict on another resource cannot change). `tests/test_generated_mutants.py`
  checks that this gives the same verdicts as running the whole pack.
- The handler decodes each message once (`engine.decoded_once`), for the whole run: the mutated resource's message
  is edited in place and its decoded form replaced, then restored.
- parliament (IAM-13) lints every mutated policy document in one run up front (`caseshield/iam_lint.py` keeps them).

A surviving mutant fails the run unless `policies/generated-mutants-reviewed.yaml` lists it (its id, or a narrow glob)
with the reason it weakens nothing; an entry that matches no survivor is stale and fails the run too.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pulumi_policy.policy as handler_module
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy import Policy, ResourceValidationPolicy

from caseshield import engine, strict_yaml
from caseshield.checks import engine_requests
from caseshield.offline import RecordedResource, ResourceGraph
from caseshield.project import ROOT
from caseshield.report import MutantResult
from policies import floors
from policies.rules import RULES

CONFIG_PATH = ROOT / "policies" / "generated-mutants.yaml"
REVIEWED_PATH = ROOT / "policies" / "generated-mutants-reviewed.yaml"
PREFIX = "gen"
KINDS = ("documents", "flags", "numbers", "values", "lists", "remove")

Props = dict[str, Any]
Edit = Callable[[Props], bool]


# --- the configuration -------------------------------------------------------------------------------------------

class ConfigError(ValueError):
    """policies/generated-mutants.yaml or its reviewed file is malformed."""


@dataclass(frozen=True)
class Entry:
    """One security-relevant property of a resource type and the control that guards it."""

    kind: str
    path: str
    control: str
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def applies_to(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, str(self.options.get("names", "*")))


def _entries(type_: str, spec: Any) -> list[Entry]:
    if not isinstance(spec, dict) or set(spec) - set(KINDS):
        raise ConfigError(f"{CONFIG_PATH.name}: {type_}: keys must be among {', '.join(KINDS)}")
    found: list[Entry] = []
    for kind, value in spec.items():
        if kind == "remove":
            found.append(Entry(kind, "", _control(type_, value)))
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{CONFIG_PATH.name}: {type_}.{kind} must map property paths to a control")
        for path, detail in value.items():
            if isinstance(detail, str):
                found.append(Entry(kind, str(path), _control(type_, detail)))
            elif isinstance(detail, dict) and "control" in detail:
                found.append(Entry(kind, str(path), _control(type_, detail["control"]),
                                   {k: v for k, v in detail.items() if k != "control"}))
            else:
                raise ConfigError(f"{CONFIG_PATH.name}: {type_}.{kind}.{path} needs a control")
    return found


def _control(type_: str, value: Any) -> str:
    from policies import catalog as catalog_module

    if not isinstance(value, str) or value not in catalog_module.load().ids():
        raise ConfigError(f"{CONFIG_PATH.name}: {type_}: {value!r} is not a control of policies/controls.yaml")
    return value


@cache
def config(path: Path = CONFIG_PATH) -> dict[str, tuple[Entry, ...]]:
    document = strict_yaml.load(path)
    if not isinstance(document, dict) or not isinstance(document.get("types"), dict):
        raise ConfigError(f"{path.name}: needs a `types:` mapping of resource types")
    return {str(t): tuple(_entries(str(t), spec)) for t, spec in document["types"].items()}


@dataclass(frozen=True)
class Review:
    pattern: str
    reason: str

    def covers(self, mutant_id: str) -> bool:
        """`*` and `?` are wildcards; brackets are literal (ids carry `Statement[Sid]` and `list[label]`)."""
        return fnmatch.fnmatchcase(mutant_id, self.pattern.replace("[", "\0").replace("]", "[]]").replace("\0", "[[]"))


def reviewed(path: Path = REVIEWED_PATH) -> list[Review]:
    """The reviewed survivors: each an id (or a narrow glob) and why that change weakens nothing."""
    if not path.is_file():
        return []
    document = strict_yaml.load(path)
    entries = (document or {}).get("reviewed") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path.name}: needs a `reviewed:` list of {{id, reason}}")
    found = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or set(e) != {"id", "reason"} or not str(e["id"]).startswith(f"{PREFIX}:") \
                or len(str(e["reason"]).split()) < 6:
            raise ConfigError(f"{path.name}: reviewed[{i}] needs exactly an `id` (gen:...) and a `reason` of a sentence")
        found.append(Review(str(e["id"]), str(e["reason"])))
    return found


# --- generating mutants ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedMutant:
    id: str  # gen:<stack>:<resource name>:<path>:<operator>, stable across runs
    stack: str
    control: str  # the control guarding the property (policies/generated-mutants.yaml)
    urn: str
    resource: str
    path: str
    operator: str
    description: str
    kind: Literal["edit", "remove"] = "edit"
    edit: Edit | None = field(default=None, hash=False, compare=False, repr=False)


def _expand(props: Any, path: str) -> list[tuple[str, Any]]:
    """Concrete (path, value) pairs of a dotted path where `*` stands for every list item."""
    found: list[tuple[str, Any]] = [("", props)]
    for part in path.split("."):
        following: list[tuple[str, Any]] = []
        for prefix, value in found:
            if part == "*" and isinstance(value, list):
                following += [(f"{prefix}.{i}".lstrip("."), v) for i, v in enumerate(value)]
            elif isinstance(value, dict) and part in value:
                following.append((f"{prefix}.{part}".lstrip("."), value[part]))
        found = following
    return found


def _walk(props: Any, path: str) -> tuple[Any, Any] | None:
    """(container, key) of a concrete dotted path, or None where it does not exist."""
    parts = path.split(".")
    current = props
    for part in parts[:-1]:
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return None
    last: Any = parts[-1]
    if isinstance(current, list):
        return (current, int(last)) if last.isdigit() and int(last) < len(current) else None
    return (current, last) if isinstance(current, dict) and last in current else None


def _setter(path: str, make: Callable[[Any], Any]) -> Edit:
    def edit(props: Props) -> bool:
        found = _walk(props, path)
        if found is None:
            return False
        container, key = found
        container[key] = make(container[key])
        return True

    return edit


def _remover(path: str, index: int) -> Edit:
    def edit(props: Props) -> bool:
        found = _walk(props, path)
        if found is None or not isinstance(found[0][found[1]], list) or index >= len(found[0][found[1]]):
            return False
        del found[0][found[1]][index]
        return True

    return edit


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(engine.SIG_KEY) == engine.SECRET_SIG


def _document_edit(prop: str, change: Callable[[dict[str, Any]], None]) -> Edit:
    """Edit a JSON policy document property, keeping its secret marking."""

    def edit(props: Props) -> bool:
        raw = props.get(prop)
        wrapped = raw if _is_secret(raw) else None
        text = wrapped["value"] if wrapped is not None else raw
        if isinstance(text, dict):
            document = copy.deepcopy(text)
        elif isinstance(text, str):
            try:
                document = json.loads(text)
            except ValueError:
                return False
        else:
            return False
        if not isinstance(document, dict):
            return False
        change(document)
        rendered = json.dumps(document)
        props[prop] = {**wrapped, "value": rendered} if wrapped is not None else rendered
        return True

    return edit


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else [s for s in found if isinstance(s, dict)]


def _parsed(value: Any) -> dict[str, Any] | None:
    value = value.get("value") if _is_secret(value) else value
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


NEGATED = {"StringEquals": "StringNotEquals", "StringEqualsIgnoreCase": "StringNotEqualsIgnoreCase",
           "StringLike": "StringNotLike", "ArnEquals": "ArnNotEquals", "ArnLike": "ArnNotLike",
           "NumericEquals": "NumericNotEquals", "NumericLessThan": "NumericGreaterThanEquals",
           "NumericLessThanEquals": "NumericGreaterThan", "DateEquals": "DateNotEquals",
           "DateLessThan": "DateGreaterThanEquals", "DateLessThanEquals": "DateGreaterThan", "IpAddress": "NotIpAddress"}
NEGATED |= {v: k for k, v in list(NEGATED.items())}
LIKE = {"StringEquals": "StringLike", "StringEqualsIgnoreCase": "StringLike", "StringLike": "StringLike",
        "ArnEquals": "ArnLike", "ArnLike": "ArnLike", "StringNotEquals": "StringNotLike",
        "StringNotEqualsIgnoreCase": "StringNotLike", "StringNotLike": "StringNotLike", "ArnNotEquals": "ArnNotLike",
        "ArnNotLike": "ArnNotLike"}


def _split(operator: str) -> tuple[str, str, bool]:
    """(set qualifier `ForAnyValue:` or '', base operator, IfExists)."""
    qualifier, _, rest = operator.rpartition(":")
    if_exists = rest.endswith("IfExists")
    return (f"{qualifier}:" if qualifier else ""), rest.removesuffix("IfExists"), if_exists


def _negated(operator: str) -> str | None:
    qualifier, base, if_exists = _split(operator)
    if base == "Bool" or base == "Null":
        return None  # negated by flipping the value
    flipped = NEGATED.get(base)
    return f"{qualifier}{flipped}{'IfExists' if if_exists else ''}" if flipped else None


def _flip_value(value: Any) -> Any:
    flip = {"true": "false", "false": "true"}
    if isinstance(value, list):
        return [_flip_value(v) for v in value]
    if isinstance(value, bool):
        return not value
    return flip.get(str(value).lower(), value)


def _labels(statements: list[dict[str, Any]]) -> list[str]:
    labels: list[str] = []
    for i, s in enumerate(statements):
        sid = s.get("Sid")
        label = str(sid) if isinstance(sid, str) and sid else f"#{i}"
        labels.append(label if label not in labels else f"{label}#{i}")
    return labels


def _on_statement(index: int, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        found: Any = document.get("Statement")
        if isinstance(found, dict):
            document["Statement"] = found = [found]
        change(found[index])

    return apply


def _set_field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        statement[name] = copy.deepcopy(value)

    return change


def _set_effect(effect: str) -> Callable[[dict[str, Any]], None]:
    return _set_field("Effect", effect)


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _old: value


def _drop_statement(index: int) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        found: Any = document.get("Statement")
        document["Statement"] = [] if isinstance(found, dict) else [s for i, s in enumerate(found) if i != index]

    return apply


def _set_condition(operator: str, key: str, new_operator: str | None, value: Any = None) -> Callable[[dict[str, Any]], None]:
    """Move `operator.key` to `new_operator` (with `value`, or its own), or drop it when `new_operator` is None."""

    def change(statement: dict[str, Any]) -> None:
        conditions = statement["Condition"]
        old = conditions[operator].pop(key)
        if not conditions[operator]:
            del conditions[operator]
        if new_operator is not None:
            conditions.setdefault(new_operator, {})[key] = old if value is None else value
        if not conditions:
            del statement["Condition"]

    return change


def document_operators(document: dict[str, Any]) -> Iterator[tuple[str, str, Callable[[dict[str, Any]], None]]]:
    """(label, description, change) for every operator on every statement and condition of a policy document."""
    statements = _statements(document)
    for index, (s, label) in enumerate(zip(statements, _labels(statements), strict=True)):
        effect = s.get("Effect")
        where = f"Statement[{label}]"
        kind = str(effect).lower() if effect in ("Allow", "Deny") else "statement"
        yield f"{where}:drop-{kind}", f"statement {label} ({effect}) removed", _drop_statement(index)
        if effect in ("Allow", "Deny"):
            other = "Deny" if effect == "Allow" else "Allow"
            yield (f"{where}:{kind}-to-{other.lower()}", f"statement {label}: Effect {effect} -> {other}",
                   _on_statement(index, _set_effect(other)))
        if effect == "Allow":
            if "Principal" in s and s["Principal"] not in ("*", {"AWS": "*"}):
                yield (f"{where}.Principal:any", f"statement {label}: Principal widened to *",
                       _on_statement(index, _set_field("Principal", {"AWS": "*"})))
            if "Resource" in s and s["Resource"] != "*" and s["Resource"] != ["*"]:
                yield (f"{where}.Resource:any", f"statement {label}: Resource widened to *",
                       _on_statement(index, _set_field("Resource", "*")))
        conditions = s.get("Condition")
        if not isinstance(conditions, dict):
            continue
        for operator, keys in conditions.items():
            if not isinstance(keys, dict):
                continue
            qualifier, base, if_exists = _split(operator)
            for key, value in keys.items():
                at = f"{where}.Condition.{operator}.{key}"
                what = f"statement {label}: condition {operator} {key}"
                negated = _negated(operator)
                if negated is not None:
                    yield f"{at}:negate", f"{what} negated ({negated})", _on_statement(index, _set_condition(operator, key, negated))
                elif base in ("Bool", "Null"):
                    yield (f"{at}:negate", f"{what} negated (value flipped)",
                           _on_statement(index, _set_condition(operator, key, operator, _flip_value(value))))
                like = LIKE.get(base)
                negative = base.startswith(("StringNot", "ArnNot"))
                if effect == "Allow":
                    yield f"{at}:drop", f"{what} removed", _on_statement(index, _set_condition(operator, key, None))
                    if like and not negative:
                        yield (f"{at}:like-any", f"{what} loosened to {like} *",
                               _on_statement(index, _set_condition(operator, key, f"{qualifier}{like}", "*")))
                    if not if_exists and not negative and base != "Null":
                        yield (f"{at}:if-exists", f"{what} given IfExists",
                               _on_statement(index, _set_condition(operator, key, f"{operator}IfExists")))
                elif effect == "Deny" and like and negative:
                    yield (f"{at}:like-any", f"{what} exemption opened to {like} *",
                           _on_statement(index, _set_condition(operator, key, f"{qualifier}{like}", "*")))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _bound(spec: Any, environment: str | None) -> float | None:
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return float(spec)
    if isinstance(spec, dict) and set(spec) == set(floors.TIERS):
        return _bound(spec[environment if environment in floors.TIERS else floors.STRICTEST_TIER], environment)
    if isinstance(spec, str):
        found = floors.floor(spec, environment)
        return float(found) if isinstance(found, (int, float)) and not isinstance(found, bool) else None
    return None


def _label(item: Any, index: int) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in ("name", "id", "ruleName", "Sid", "key", "type"):
            if isinstance(item.get(key), str) and item[key]:
                return str(item[key])
        if isinstance(item.get("ruleNo"), (int, float)):
            return f"rule {int(item['ruleNo'])}"
    return f"#{index}"


def _resource_mutants(stack: str, r: RecordedResource, entry: Entry, environment: str | None) -> Iterator[GeneratedMutant]:
    base = f"{PREFIX}:{stack}:{r.name}"

    def made(path: str, operator: str, description: str, edit: Edit | None, kind: Literal["edit", "remove"] = "edit") -> GeneratedMutant:
        return GeneratedMutant(f"{base}:{path}:{operator}", stack, entry.control, r.urn, r.name, path, operator,
                               f"{r.type} {r.name}: {description}", kind, edit)

    if entry.kind == "remove":
        yield made("", "remove", "resource removed", None, "remove")
        return
    if not entry.applies_to(r.name):
        return
    if entry.kind == "documents":
        document = _parsed(r.inputs.get(entry.path))
        if document is None:
            return
        for label, description, change in document_operators(document):
            where, operator = label.rsplit(":", 1)
            yield made(f"{entry.path}.{where}", operator, description, _document_edit(entry.path, change))
        return
    for path, value in _expand(r.inputs, entry.path):
        if entry.kind == "flags":
            if isinstance(value, bool) or str(value).lower() in ("true", "false"):
                yield made(path, "flip", f"{path} {value!r} -> {_flip_value(value)!r}", _setter(path, _flip_value))
        elif entry.kind == "numbers":
            current = _number(value)
            if current is None:
                continue
            options = entry.options
            if "to" in options:
                target = float(options["to"])
            elif "below" in options and (floor := _bound(options["below"], environment)) is not None:
                target = floor - 1
                if target >= current:
                    continue
            elif "above" in options and (ceiling := _bound(options["above"], environment)) is not None:
                target = ceiling + 1
                if target <= current:
                    continue
            else:
                continue
            if target == current:
                continue
            yield made(path, f"set-{target:g}", f"{path} {current:g} -> {target:g}", _setter(path, _constant(target)))
        elif entry.kind == "values":
            for weaker in entry.options.get("to", []):
                if value != weaker and isinstance(value, str):
                    yield made(path, f"set-{weaker}", f"{path} {value!r} -> {weaker!r}", _setter(path, _constant(weaker)))
        elif entry.kind == "lists" and isinstance(value, list):
            labels: list[str] = []
            for index, item in enumerate(value):
                label = _label(item, index)
                label = label if label not in labels else f"{label}#{index}"
                labels.append(label)
                yield made(f"{path}[{label}]", "remove", f"{path}: {label} removed", _remover(path, index))


def environment_of(graph: ResourceGraph) -> str | None:
    return graph.config.get(f"{graph.project}:environment")


def generate(graph: ResourceGraph, types: dict[str, tuple[Entry, ...]] | None = None) -> list[GeneratedMutant]:
    """Every generated mutant of one stack's graph, in a stable order, ids unique."""
    types = config() if types is None else types
    environment = environment_of(graph)
    found: dict[str, GeneratedMutant] = {}
    for r in graph.resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        for entry in types.get(r.type, ()):
            for m in _resource_mutants(graph.stack, r, entry, environment):
                if m.id in found:
                    raise ConfigError(f"two generated mutants share the id {m.id}")
                found[m.id] = m
    return sorted(found.values(), key=lambda m: m.id)


def mutated(graph: ResourceGraph, mutant: GeneratedMutant) -> ResourceGraph:
    """The whole graph with the mutant applied (for tests and for running the pack unpruned)."""
    resources = []
    for r in graph.resources:
        if r.urn != mutant.urn:
            resources.append(r)
        elif mutant.kind == "edit":
            resources.append(_edited(r, mutant))
    return ResourceGraph(graph.project, graph.stack, graph.config, resources, graph.stack_outputs)


def _edited(r: RecordedResource, mutant: GeneratedMutant) -> RecordedResource:
    assert mutant.edit is not None
    inputs, outputs = copy.deepcopy(r.inputs), copy.deepcopy(r.outputs)
    if not mutant.edit(inputs):
        raise ValueError(f"{mutant.id} does not apply to {r.name}")
    mutant.edit(outputs)  # a custom resource's state carries its inputs; a path it lacks stays as it is
    return dataclasses.replace(r, inputs=inputs, outputs=outputs)


# --- running the pack on a mutated graph ----------------------------------------------------------------------------

class _Tracking(engine._DecodedOnce):
    """The engine's decode-once shim, kept for a whole run, that also records which resources' properties each
    stack policy reads, and lets one resource's message be swapped for a mutated one and restored."""

    def __init__(self, deserialize: Any, proxy: Any) -> None:
        super().__init__(deserialize, proxy)
        self.owners: dict[int, tuple[Any, str]] = {}  # id(message | dict | decoded) -> (it, urn): kept alive
        # (urn, top-level property) a policy read; "*" when it iterated or sized the properties (it saw every key).
        self.reads: set[tuple[str, str]] | None = None
        shim = self

        class TrackedDictProxy(self._watched):  # type: ignore[name-defined]
            _cs_urn = ""

            def __getitem__(self, key: Any) -> Any:
                if key != "__target" and shim.reads is not None:
                    shim.reads.add((self._cs_urn, str(key)))
                return super().__getitem__(key)

            def __iter__(self) -> Any:
                if shim.reads is not None:
                    shim.reads.add((self._cs_urn, "*"))
                return super().__iter__()

            def __len__(self) -> int:
                if shim.reads is not None:
                    shim.reads.add((self._cs_urn, "*"))
                return super().__len__()

        self._tracked = TrackedDictProxy

    def own(self, message: Any, urn: str) -> None:
        self.owners[id(message)] = (message, urn)

    def _owner(self, value: Any) -> str | None:
        kept = self.owners.get(id(value))
        return kept[1] if kept is not None and kept[0] is value else None

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # json_format's name
        result = super().MessageToDict(message, *args, **kwargs)
        if (urn := self._owner(message)) is not None:
            self.own(result, urn)
        return result

    def deserialize_properties(self, props: Any, proxy_secrets: bool = False) -> Any:
        result = super().deserialize_properties(props, proxy_secrets)
        if (urn := self._owner(props)) is not None:
            self.own(result, urn)
        return result

    def unknown_checking_proxy(self, decoded: Any) -> Any:
        proxy = super().unknown_checking_proxy(decoded)
        if (urn := self._owner(decoded)) is not None and type(proxy) in (self._watched, self._tracked):
            proxy.__class__ = self._tracked
            proxy._cs_urn = urn
        return proxy

    def swap(self, message: Any, replacement: Any) -> tuple[Any, Any]:
        """Put `replacement`'s content into `message` (in place) and forget its decoded form; returns what restores it."""
        original = type(message)()
        original.CopyFrom(message)
        kept = self._as_dict.pop(id(message), None)
        message.CopyFrom(replacement)
        return original, kept

    def restore(self, message: Any, saved: tuple[Any, Any]) -> None:
        original, kept = saved
        message.CopyFrom(original)
        self._as_dict.pop(id(message), None)
        if kept is not None:
            self._as_dict[id(message)] = kept

    def alias(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Let each copied message share the decoded form of the message it was copied from (same content)."""
        for copied, source in pairs:
            kept = self._as_dict.get(id(source))
            if kept is not None and kept[0] is source:
                self._as_dict[id(copied)] = (copied, kept[1])

    def mark(self) -> tuple[set[Any], ...]:
        return set(self._as_dict), set(self._decoded), set(self._proxies)

    def forget_since(self, marked: tuple[set[Any], ...]) -> None:
        stores: tuple[dict[Any, Any], ...] = (self._as_dict, self._decoded, self._proxies)
        for store, keys in zip(stores, marked, strict=True):
            for key in [k for k in store if k not in keys]:
                del store[key]


class _RememberedMay:
    """`caseshield.iam_analysis.may`, remembered across mutants by the content of its arguments.

    `may` is a pure function of the principal's statements, the action, resource, request context and resource policy.
    The whole-IAM analyses (IAM-12) ask it thousands of questions per run, and a mutant changes one role's documents:
    the answers for every other role are the same as in the baseline. Each argument object is fingerprinted once (its
    canonical JSON), and the fingerprints are forgotten after each mutant (`forget_objects`), so an object's identity
    is never mistaken for another's."""

    def __init__(self, original: Callable[..., bool]):
        self.original = original
        self.answers: dict[tuple[Any, ...], bool] = {}
        self.fingerprints: dict[int, tuple[Any, str]] = {}

    def _fingerprint(self, value: Any) -> str:
        kept = self.fingerprints.get(id(value))
        if kept is not None and kept[0] is value:
            return kept[1]
        found = json.dumps(value, sort_keys=True, default=str)
        self.fingerprints[id(value)] = (value, found)
        return found

    def __call__(self, principal: Any, action: str, resource: str, context: Any = None, *,
                 resource_policy: Any = (), resource_policy_required: bool = False) -> bool:
        policy = resource_policy if isinstance(resource_policy, (list, tuple)) else list(resource_policy)
        key = (self._fingerprint(principal), action, resource, json.dumps(context, sort_keys=True, default=str),
               self._fingerprint(policy), resource_policy_required)
        answer = self.answers.get(key)
        if answer is None:
            if len(self.answers) > 400_000:
                self.answers.clear()
            answer = self.answers[key] = self.original(principal, action, resource, context, resource_policy=policy,
                                                       resource_policy_required=resource_policy_required)
        return answer

    def forget_objects(self) -> None:
        self.fingerprints.clear()


_shim: _Tracking | None = None
_may: _RememberedMay | None = None
_NAMES = ("json_format", "deserialize_properties", "unknown_checking_proxy")


def _install() -> tuple[_Tracking, dict[str, Any]]:
    """Put the tracking shim into the handler's module (the engine's `analyze` then uses it); returns what restores it."""
    global _shim
    original = {name: getattr(handler_module, name) for name in _NAMES}
    if isinstance(original["json_format"], engine._DecodedOnce):
        raise RuntimeError("generated mutants cannot run inside engine.analyze")
    shim = _Tracking(original["deserialize_properties"], original["unknown_checking_proxy"])
    handler_module.json_format = shim
    handler_module.deserialize_properties = shim.deserialize_properties
    handler_module.unknown_checking_proxy = shim.unknown_checking_proxy  # type: ignore[assignment]
    _shim = shim
    global _may
    from caseshield import iam_analysis

    original["may"] = iam_analysis.may
    _may = _RememberedMay(iam_analysis.may)
    iam_analysis.may = _may
    return shim, original


@contextmanager
def tracking() -> Iterator[_Tracking]:
    """The tracking shim, installed for the block (a worker process installs it once for its whole life)."""
    global _shim, _may
    if _shim is not None:
        yield _shim
        return
    shim, original = _install()
    try:
        yield shim
    finally:
        from caseshield import iam_analysis

        _shim, _may = None, None
        _runs.clear()
        iam_analysis.may = original.pop("may")
        for name, value in original.items():
            setattr(handler_module, name, value)


Key = tuple[str, str, str]


def _keys(result: engine.EngineResult) -> set[Key]:
    return ({(v.policy, v.urn, v.message) for v in result.violations}
            | {(e.policy, e.urn, f"raised: {e.error}") for e in result.errors})


class StackRun:
    """One stack's baseline (with what each stack policy reads) and the runner of its mutants."""

    def __init__(self, graph: ResourceGraph, policies: Sequence[Policy], shim: _Tracking):
        self.graph, self.shim = graph, shim
        self.requests = engine_requests(graph)
        self.position = {wire.urn: i for i, (wire, _) in enumerate(self.requests.resources)}
        self.messages = {r.urn: r.properties for r in self.requests.stack.resources}
        for urn, message in self.messages.items():
            shim.own(message, urn)
        self.resource_policies = [p for p in policies if isinstance(p, ResourceValidationPolicy)]
        self.stack_policies = [p for p in policies if not isinstance(p, ResourceValidationPolicy)]
        self.reads: dict[str, set[tuple[str, str]]] = {}
        cost: dict[str, float] = {}
        baseline = engine.EngineResult()
        for policy in policies:
            shim.reads = set()
            started = time.perf_counter()
            try:
                found = engine.analyze(self.requests, [policy])
            finally:
                self.reads[policy.name], shim.reads = shim.reads, None
            cost[policy.name] = time.perf_counter() - started
            if _may is not None:
                _may.forget_objects()
            baseline.violations += found.violations
            baseline.errors += found.errors
        self.baseline = _keys(baseline)
        # Cheapest first: a mutant is caught by the first policy that reports something new, so most never reach
        # the costly whole-IAM analyses (IAM-12 alone is most of a second per run).
        self.stack_policies.sort(key=lambda p: cost[p.name])
        self.mutants = {m.id: m for m in generate(graph)}
        self.hints: dict[tuple[str, ...], str] = {}

    def policies_reading(self, urn: str, prop: str) -> list[Policy]:
        """The stack policies whose baseline run read `prop` of `urn` (or every property of it)."""
        return [p for p in self.stack_policies if (urn, prop) in self.reads[p.name] or (urn, "*") in self.reads[p.name]]

    def _first_new(self, requests: engine.Requests, policies: Sequence[Policy], exhaustive: bool,
                   hint: tuple[str, ...] = ()) -> set[Key]:
        """What `policies` report beyond the baseline: all of it (`exhaustive`), or that of the first one that does.
        The policy that caught the last mutant of the same kind (`hint`) is tried first: similar mutants are caught by
        the same rule, and a removed resource otherwise waits for every cheaper stack policy."""
        new: set[Key] = set()
        first = self.hints.get(hint)
        ordered = sorted(policies, key=lambda p: p.name != first) if first else list(policies)
        try:
            for policy in ordered:
                new |= _keys(engine.analyze(requests, [policy])) - self.baseline
                if new and not exhaustive:
                    self.hints[hint] = policy.name
                    break
        finally:
            if _may is not None:
                _may.forget_objects()
        return new

    def run(self, mutant: GeneratedMutant, *, pruned: bool = True, exhaustive: bool = False) -> set[Key]:
        """What the pack reports on the mutated graph that the baseline does not: everything (`exhaustive`), or
        what the first policy to report something new reports (policies tried cheapest first)."""
        if mutant.kind == "remove":
            stack = proto.AnalyzeStackRequest(resources=[r for r in self.requests.stack.resources if r.urn != mutant.urn])
            marked = self.shim.mark()
            self.shim.alias((r.properties, self.messages[r.urn]) for r in stack.resources)
            try:
                hint: tuple[str, ...] = (self.graph.by_urn[mutant.urn].type, "remove")
                return self._first_new(engine.Requests([], stack), self.stack_policies, exhaustive, hint)
            finally:
                self.shim.forget_since(marked)
        r = self.graph.by_urn[mutant.urn]
        edited = _edited(r, mutant)
        wire, request = self.requests.resources[self.position[r.urn]]
        changed = proto.AnalyzeRequest()
        changed.CopyFrom(request)
        changed.properties.CopyFrom(engine.to_struct(edited.inputs))
        wire = dataclasses.replace(wire, inputs=edited.inputs, outputs=edited.outputs)
        policies: list[Policy] = [p for p in self.resource_policies if engine._applies(p, r.type)]
        prop = mutant.path.split(".", 1)[0].split("[", 1)[0]
        policies += self.policies_reading(r.urn, prop) if pruned else self.stack_policies
        message = self.messages[r.urn]
        marked = self.shim.mark()
        saved = self.shim.swap(message, engine.to_struct(edited.outputs))
        try:
            hint = (r.type, prop, mutant.operator)
            return self._first_new(engine.Requests([(wire, changed)], self.requests.stack), policies, exhaustive, hint)
        finally:
            self.shim.restore(message, saved)
            self.shim.forget_since(marked)

    def result(self, mutant: GeneratedMutant) -> MutantResult:
        new = self.run(mutant)
        return MutantResult(mutant.id, mutant.control, mutant.description, mutant.stack, bool(new),
                            tuple(sorted({policy for policy, _, _ in new})))


# --- the run -------------------------------------------------------------------------------------------------------

@dataclass
class GeneratedSummary:
    """The generated mutants of the checked stacks, what caught each, and the reviewed survivors."""

    results: list[MutantResult]
    reviews: list[Review] = field(default_factory=list)
    seconds: float = 0.0

    def review_of(self, result: MutantResult) -> Review | None:
        return None if result.killed else next((r for r in self.reviews if r.covers(result.id)), None)

    @property
    def kill_rate(self) -> float:
        return sum(r.killed for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def unreviewed(self) -> list[MutantResult]:
        """Survivors nobody has shown to be harmless: each fails the run."""
        return [r for r in self.results if not r.killed and self.review_of(r) is None]

    @property
    def stale(self) -> list[Review]:
        """Reviewed entries for a stack that was run that match no surviving mutant (a fixed rule, a renamed resource)."""
        stacks = {r.stack for r in self.results}
        survivors = [r.id for r in self.results if not r.killed]
        return [rv for rv in self.reviews
                if any(fnmatch.fnmatchcase(s, [*rv.pattern.split(":"), "", ""][1]) for s in stacks)
                and not any(rv.covers(i) for i in survivors)]

    @property
    def passed(self) -> bool:
        return bool(self.results) and not self.unreviewed and not self.stale

    def by_stack(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for r in self.results:
            killed, total = found.get(r.stack, (0, 0))
            found[r.stack] = (killed + r.killed, total + 1)
        return dict(sorted(found.items()))

    def caught_controls(self, result: MutantResult) -> list[str]:
        return sorted({RULES[p].control for p in result.caught_by if p in RULES})


@cache
def _policies() -> list[Policy]:
    from policies import catalog as catalog_module
    from policies.pack import build_policies

    return build_policies(catalog_module.load())


_graphs: dict[str, ResourceGraph] = {}
_runs: dict[str, StackRun] = {}


def _init_worker(graphs: dict[str, ResourceGraph], linted: dict[str, Any]) -> None:
    from caseshield import iam_lint

    _graphs.update(graphs)
    iam_lint._linted.update(linted)


def _run_for(stack: str) -> StackRun:
    if stack not in _runs:
        assert _shim is not None
        _runs[stack] = StackRun(_graphs[stack], _policies(), _shim)
    return _runs[stack]


def _run_ids(ids: list[str]) -> list[MutantResult]:
    """A batch of mutants in this process (worker processes get ids: edits are closures). A worker keeps the
    tracking shim installed for its whole life; an in-process run installs it around the run."""
    if _shim is None:
        _install()
    found = []
    for mutant_id in ids:
        run = _run_for(mutant_id.split(":", 2)[1])
        found.append(run.result(run.mutants[mutant_id]))
    return found


def prelint(graphs: dict[str, ResourceGraph]) -> dict[str, Any]:
    """parliament over every policy document the mutants produce, in one run (IAM-13 then finds them linted)."""
    from caseshield import iam_lint
    from policies.rules.identity import LINTED

    linted = {(t, p) for t, p, _ in LINTED}
    texts: dict[str, str] = {}
    for graph in graphs.values():
        for m in generate(graph):
            r = graph.by_urn[m.urn]
            prop = m.path.split(".", 1)[0]
            if m.kind != "edit" or (r.type, prop) not in linted:
                continue
            value: Any = _edited(r, m).outputs.get(prop)
            value = value.get("value") if _is_secret(value) else value
            if isinstance(value, str):
                texts[m.id] = value
    todo = sorted({t for t in texts.values() if t not in iam_lint._linted})
    once = getattr(iam_lint, "lint_once", None)
    try:
        if once is None or len(todo) < 200:
            iam_lint.lint(texts)
        else:  # two parliament processes, one per half: the second core lints too
            from concurrent.futures import ThreadPoolExecutor

            halves = [todo[:len(todo) // 2], todo[len(todo) // 2:]]
            with ThreadPoolExecutor(max_workers=2) as threads:
                answers = list(threads.map(lambda half: once({str(i): t for i, t in enumerate(half)}), halves))
            for half, answer in zip(halves, answers, strict=True):
                for i, text in enumerate(half):
                    iam_lint._linted[text] = list(answer[str(i)])
    except iam_lint.LintUnavailable:
        return {}  # IAM-13 reports it as an error of its control, as in any check
    return dict(iam_lint._linted)


def run_generated(stacks: Sequence[str], jobs: int = 1, graphs: dict[str, ResourceGraph] | None = None,
                  only: Callable[[GeneratedMutant], bool] | None = None) -> GeneratedSummary:
    """Every generated mutant of `stacks` (or those `only` keeps), in `jobs` processes, with a progress bar on a
    terminal. Graphs are evaluated here once and handed to the workers."""
    from caseshield.mutation import progress
    from caseshield.offline import evaluate

    started = time.monotonic()
    graphs = dict(graphs or {})
    for stack in stacks:
        if stack not in graphs:
            graphs[stack] = evaluate(stack)
    ids = [m.id for s in stacks for m in generate(graphs[s]) if only is None or only(m)]
    linted = prelint(graphs)
    batches = [ids[i:i + 8] for i in range(0, len(ids), 8)]
    if jobs <= 1 or len(ids) < 50:
        _init_worker(graphs, linted)
        with tracking():
            results = list(progress(_batched(map(_run_ids, batches)), len(ids)))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=(graphs, linted)) as pool:
            results = list(progress(_batched(pool.map(_run_ids, batches)), len(ids)))
    return GeneratedSummary(sorted(results, key=lambda r: r.id), reviewed(), time.monotonic() - started)


def _batched(batches: Iterator[list[MutantResult]]) -> Iterator[MutantResult]:
    for batch in batches:
        yield from batch


def kill_rates(summary: GeneratedSummary) -> dict[str, tuple[int, int]]:
    """control -> (killed, total) of the generated mutants of the properties it guards."""
    found: dict[str, tuple[int, int]] = {}
    for r in summary.results:
        killed, total = found.get(r.control, (0, 0))
        found[r.control] = (killed + r.killed, total + 1)
    return dict(sorted(found.items()))


def summary_lines(summary: GeneratedSummary) -> list[str]:
    """What `caseshield check --generated-mutants` prints: the count, kill rate and wall time per stack, then every
    survivor nobody reviewed and every stale review (each fails the run)."""
    lines = [f"generated mutants {stack}: {killed}/{total} caught (kill rate {killed / total:.1%})"
             for stack, (killed, total) in summary.by_stack().items()]
    killed = sum(r.killed for r in summary.results)
    lines.append(f"generated mutants: {killed}/{len(summary.results)} caught (kill rate {summary.kill_rate:.1%}), "
                 f"{sum(1 for r in summary.results if summary.review_of(r))} reviewed survivor(s), {summary.seconds:.0f} s")
    lines += [f"generated mutant survived, not reviewed: {r.id} ({r.description})" for r in summary.unreviewed]
    lines += [f"generated mutants: stale review {rv.pattern} (matches no survivor)" for rv in summary.stale]
    return lines
