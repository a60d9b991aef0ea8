"""The key-intent rules (KEY-01, KEY-02, KEY-03) on the recorded graph of a shipped stack, edited one thing at a time.

These rules ask questions of effective access (policies/key-intents.yaml), so they are tested on the key policies
the program really generates: the unedited stack passes, each edit (a grant dropped or denied, a condition dropped,
a principal widened, an alias removed, a service role's key policy widened) fires, and a policy not yet known at
preview is judged at the update rather than passed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from caseshield import checks
from caseshield.offline import RecordedResource, ResourceGraph
from policies.pack import build_policies
from policies.rules import keys
from policies.rules._support import UNKNOWN
from tests.conftest import graph_of

RULES = ("key-administrators-can-administer-but-never-use", "key-policies-serve-their-class",
         "key-policies-refuse-everyone-else", "every-data-class-key-is-found-by-its-alias",
         "service-roles-decrypt-only-the-keys-of-their-purpose", "service-roles-may-use-the-keys-of-their-purpose")


@cache
def _policy(rule: str) -> Any:
    return next(p for p in build_policies() if p.name == rule)


def findings(rule: str, graph: ResourceGraph) -> list[str]:
    return [v.text for v in checks.run_policies(graph, [_policy(rule)])]


def edited(change: Callable[[ResourceGraph], None], stack: str = "dev") -> ResourceGraph:
    graph = copy.deepcopy(graph_of(stack))
    change(graph)
    return graph


def resource(graph: ResourceGraph, name: str) -> RecordedResource:
    return next(r for r in graph.resources if r.name == name)


def edit_policy(name: str, change: Callable[[list[dict[str, Any]]], None]) -> Callable[[ResourceGraph], None]:
    """Edit the statements of a resource's `policy` (inputs and outputs alike)."""
    def apply(graph: ResourceGraph) -> None:
        r = resource(graph, name)
        document = json.loads(r.inputs["policy"])
        change(document["Statement"])
        for props in (r.inputs, r.outputs):
            if "policy" in props:
                props["policy"] = json.dumps(document)
    return apply


def sid(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s.get("Sid") == name


def drop(sid_: str) -> Callable[[list[dict[str, Any]]], None]:
    return lambda found: found.__setitem__(slice(None), [s for s in found if s.get("Sid") != sid_])


def each(sid_: str, change: Callable[[dict[str, Any]], None]) -> Callable[[list[dict[str, Any]]], None]:
    def apply(found: list[dict[str, Any]]) -> None:
        for s in found:
            if s.get("Sid") == sid_:
                change(s)
    return apply


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
@pytest.mark.parametrize("rule", RULES)
def test_the_shipped_stacks_hold(rule: str, stack: str) -> None:
    assert findings(rule, graph_of(stack)) == []


# --- KEY-02: administrators administer, never use ------------------------------------------------------------------

def test_a_key_nobody_may_administer_fires() -> None:
    graph = edited(edit_policy("caseshield-keys-backups", drop("KeyAdministration")))
    found = findings("key-administrators-can-administer-but-never-use", graph)
    assert len(found) == 1 and "cannot administer" in found[0] and "kms:PutKeyPolicy" in found[0]


def test_an_administrator_granting_to_anyone_fires() -> None:
    graph = edited(edit_policy("caseshield-keys-case-documents", each(
        "AdministratorsGrantOnlyToAwsResources", lambda s: s["Condition"].pop("Bool"))))
    found = findings("key-administrators-can-administer-but-never-use", graph)
    assert len(found) == 1 and "grant it to a principal" in found[0]


# --- KEY-03: the class's users and services are served -------------------------------------------------------------

@pytest.mark.parametrize(("key", "sid_"), [("caseshield-keys-audit-logs", "CloudTrailEncryptsOnlyOurTrail"),
                                           ("caseshield-keys-operational-logs", "AlarmsAndEventsPublishToIncidentTopic"),
                                           ("caseshield-keys-case-documents", "KeyUsersByRoleMatrix")])
def test_a_grant_the_class_needs_dropped_or_denied_fires(key: str, sid_: str) -> None:
    for change in (drop(sid_), each(sid_, lambda s: s.update(Effect="Deny"))):
        found = findings("key-policies-serve-their-class", edited(edit_policy(key, change)))
        assert len(found) == 1 and "refuses uses its data class needs" in found[0]


# --- KEY-03: everyone else is refused -------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "sid_", "operator", "condition_key", "evidence"), [
    ("caseshield-keys-audit-logs", "CloudTrailEncryptsOnlyOurTrail", "StringEquals", "aws:SourceArn", "aws:sourcearn=(absent)"),
    ("caseshield-keys-audit-logs", "CloudTrailEncryptsOnlyOurTrail", "StringLike", "kms:EncryptionContext:aws:cloudtrail:arn",
     "kms:encryptioncontext:aws:cloudtrail:arn=(absent)"),
    ("caseshield-keys-audit-logs", "ConfigRecorderWritesToArchive", "StringEquals", "kms:ViaService", "kms:viaservice=(absent)"),
    ("caseshield-keys-case-documents", "BackupRoleReadsDocuments", "StringEquals", "kms:ViaService", "kms:viaservice=(absent)"),
])
def test_a_use_without_its_context_fires(key: str, sid_: str, operator: str, condition_key: str, evidence: str) -> None:
    graph = edited(edit_policy(key, each(sid_, lambda s: s["Condition"][operator].pop(condition_key))))
    found = findings("key-policies-refuse-everyone-else", graph)
    assert len(found) == 1 and "admits requests it must refuse" in found[0] and evidence in found[0]


@pytest.mark.parametrize("key", ["caseshield-keys-backups", "caseshield-keys-case-database", "caseshield-backup-copy-key"])
def test_a_service_grant_to_anyone_in_the_account_whatever_its_iam_fires(key: str) -> None:
    sid_ = "BackupServiceUseOnly" if key == "caseshield-backup-copy-key" else "ServiceUseThroughOurAccountOnly"
    graph = edited(edit_policy(key, each(sid_, lambda s: s.update(Principal="*"))), "prod")
    found = findings("key-policies-refuse-everyone-else", graph)
    assert len(found) == 1 and "whatever their IAM says" in found[0] and "key-probe" in found[0]


def test_a_role_without_the_class_decrypting_fires() -> None:
    graph = edited(edit_policy("caseshield-keys-case-documents", each(
        "KeyUsersByRoleMatrix", lambda s: s["Condition"]["ArnEquals"]["aws:PrincipalArn"].append(
            s["Condition"]["ArnEquals"]["aws:PrincipalArn"][0].rsplit("-", 1)[0] + "-vendor-support"))))
    found = findings("key-policies-refuse-everyone-else", graph)
    assert len(found) == 1 and "role without case-documents" in found[0] and "vendor-support" in found[0]


def test_a_key_policy_not_known_at_preview_is_judged_later() -> None:
    def unknown(graph: ResourceGraph) -> None:
        resource(graph, "caseshield-keys-backups").inputs["policy"] = UNKNOWN
    for rule in RULES[:3]:
        assert findings(rule, edited(unknown)) == []


# --- KEY-01: each class's key is found by its alias ----------------------------------------------------------------

def test_a_missing_or_misdirected_alias_fires() -> None:
    def remove(graph: ResourceGraph) -> None:
        graph.resources.remove(resource(graph, "caseshield-keys-backups-alias"))
    found = findings("every-data-class-key-is-found-by-its-alias", edited(remove))
    assert len(found) == 1 and "no alias alias/cs-dev/backups" in found[0]

    def misdirect(graph: ResourceGraph) -> None:
        alias = resource(graph, "caseshield-keys-backups-alias")
        target = resource(graph, "caseshield-keys-audit-logs")
        alias.property_dependencies["targetKeyId"] = [target.urn]
    found = findings("every-data-class-key-is-found-by-its-alias", edited(misdirect))
    assert len(found) == 1 and "does not point at the backups key" in found[0]


# --- KEY-03: service roles decrypt only their purpose's keys -------------------------------------------------------

def test_the_instance_role_decrypting_every_key_fires() -> None:
    graph = edited(edit_policy("caseshield-app-instance-session-key", each(
        "DecryptSessionManagerSessions", lambda s: s.update(Resource="*"))))
    found = findings("service-roles-decrypt-only-the-keys-of-their-purpose", graph)
    assert found and all("caseshield-app-instance-role: may decrypt" in m for m in found)
    assert any("case-database key" in m and "rds." in m for m in found)


@pytest.mark.parametrize(("policy", "sid_", "role"), [
    ("caseshield-app-instance-session-key", "DecryptSessionManagerSessions", "caseshield-app-instance-role"),
    ("caseshield-detection-config-role-delivery", "EncryptDeliveries", "caseshield-detection-config-role")])
def test_a_service_role_that_cannot_use_its_key_fires(policy: str, sid_: str, role: str) -> None:
    for change in (drop(sid_), each(sid_, lambda s: s.update(Effect="Deny"))):
        found = findings("service-roles-may-use-the-keys-of-their-purpose", edited(edit_policy(policy, change)))
        assert len(found) == 1 and f"{role}: may not use the audit-logs key" in found[0]


def test_the_intents_name_every_data_class_and_a_known_service_role() -> None:
    intents = keys.key_intents()
    assert sorted(intents["classes"]) == sorted(keys.DATA_CLASSES)
    assert set(keys.service_roles_of_intents(intents)) == {"app-instance", "backup", "config-recorder"}


def test_the_intents_schema_refuses_a_use_with_two_principals_or_none() -> None:
    from caseshield import schemas

    intents = keys.key_intents()
    use = intents["classes"]["audit-logs"]["uses"][0]
    for broken in ({**use, "role": "backup"}, {k: v for k, v in use.items() if k != "service"}):
        intents["classes"]["audit-logs"]["uses"][0] = broken
        assert schemas.problems(intents, "key-intents") != []


def test_a_grant_to_anyone_unconditioned_admits_the_anonymous_caller() -> None:
    def anyone(s: dict[str, Any]) -> None:
        s.update(Principal={"AWS": "*"})
        s.pop("Condition")
    graph = edited(edit_policy("caseshield-keys-case-database", each("ServiceUseThroughOurAccountOnly", anyone)))
    found = findings("key-policies-refuse-everyone-else", graph)
    assert any("admits requests it must refuse" in m and "anonymous principal: anonymous kms:Decrypt" in m for m in found)
