"""`caseshield check --stack-export` and `--preview-json`: what the engine really produced feeds the same policies.

The fixtures are written in the engine's documented shapes (pulumi/pulumi `sdk/go/common/apitype/core.go` ResourceV3
and SecretV1, `pkg/display/json.go` PreviewDigest/PreviewStep): a deployment of ResourceV3 records, the stack resource
first, providers referenced as `<urn>::<id>`, secrets as `{sig: secret-sig, plaintext: <JSON>}` (or `ciphertext`
without `--show-secrets`), and preview steps with `op`, `urn`, `provider`, `oldState`/`newState`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caseshield import cli
from caseshield.engine import SECRET_SIG, SIG_KEY, UNKNOWN
from caseshield.offline import RecordedResource, ResourceGraph
from caseshield.plans import PlanError, from_preview_json, from_stack_export
from caseshield.report import run_check
from tests.conftest import graph_of

KEY = "aws:kms/key:Key"


def _serialized(value: Any) -> Any:
    """A recorded value as `pulumi stack export --show-secrets` writes it."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value["value"])}
        return {k: _serialized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_serialized(v) for v in value]
    return value


def _resource_v3(r: RecordedResource) -> dict[str, Any]:
    state: dict[str, Any] = {"urn": r.urn, "custom": r.custom, "type": r.type, "inputs": _serialized(r.inputs),
                             "outputs": _serialized(r.outputs)}
    optional = {"id": r.id, "parent": r.parent, "provider": r.provider, "protect": r.protect,
                "retainOnDelete": r.retain_on_delete, "dependencies": r.dependencies,
                "propertyDependencies": r.property_dependencies}
    state.update({k: v for k, v in optional.items() if v})  # `omitempty`, as the engine writes them
    return state


def _stack_resource(graph: ResourceGraph) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:{graph.stack}::{graph.project}::pulumi:pulumi:Stack::{graph.project}-{graph.stack}",
            "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}}


def stack_export(graph: ResourceGraph) -> dict[str, Any]:
    return {"version": 3, "deployment": {
        "manifest": {"time": "2026-12-01T00:00:00Z", "magic": "", "version": "v3.272.0"},
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:offline"}},
        "resources": [_stack_resource(graph), *(_resource_v3(r) for r in graph.resources)]}}


def preview_json(graph: ResourceGraph, extra_steps: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    steps = [{"op": "create", "urn": r.urn, "provider": r.provider or "", "newState": _resource_v3(r), "detailedDiff": None}
             for r in graph.resources]
    return {"config": dict(graph.config), "steps": [*steps, *extra_steps], "changeSummary": {"create": len(steps)},
            "duration": 1_000_000_000}


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _rotation_off(doc_resources: list[dict[str, Any]]) -> None:
    key = next(r for r in doc_resources if r["type"] == KEY)
    key["inputs"]["enableKeyRotation"] = False


def _statuses(graph: ResourceGraph) -> dict[str, str]:
    report = run_check([graph.stack], graphs={graph.stack: graph}, third_party=False)
    return dict(report.stacks[0].controls)


def test_a_compliant_stack_export_passes_and_keeps_its_secrets_readable(tmp_path: Path) -> None:
    graph = from_stack_export(_write(tmp_path, "prod.json", stack_export(graph_of("prod"))))
    assert graph.stack == "prod" and graph.config["caseshield:environment"] == "prod"
    assert len(graph.resources) == len(graph_of("prod").resources)  # the stack resource itself is not a resource to judge
    secrets = [r for r in graph.resources if SIG_KEY in json.dumps(r.inputs)]
    assert secrets, "the vendor ExternalId trust policy travels as a secret"
    report = run_check(["prod"], graphs={"prod": graph}, third_party=False)
    assert report.stacks[0].passed and report.stacks[0].findings == [] and report.stacks[0].not_run == []


def test_a_mutated_stack_export_fails_its_control(tmp_path: Path) -> None:
    doc = stack_export(graph_of("dev"))
    _rotation_off(doc["deployment"]["resources"])
    statuses = _statuses(from_stack_export(_write(tmp_path, "dev.json", doc)))
    assert statuses["KEY-01"] == "fail"
    assert [c for c, s in statuses.items() if s != "pass"] == ["KEY-01"]


def test_an_encrypted_secret_is_not_run_never_passed(tmp_path: Path) -> None:
    doc = stack_export(graph_of("dev"))
    for r in doc["deployment"]["resources"]:
        for key, value in r.get("inputs", {}).items():
            if isinstance(value, dict) and SIG_KEY in value:
                r["inputs"][key] = {SIG_KEY: SECRET_SIG, "ciphertext": "AAABAF9vZmZsaW5lAAA="}  # exported without --show-secrets
    report = run_check(["dev"], graphs={"dev": from_stack_export(_write(tmp_path, "dev.json", doc))}, third_party=False)
    assert report.stacks[0].not_run, "a policy that must read the encrypted trust policy cannot pass on it"
    assert report.stacks[0].findings == []


def test_a_compliant_preview_passes_and_a_mutated_one_fails(tmp_path: Path) -> None:
    graph = graph_of("staging")
    deleted = {"op": "delete", "urn": "urn:pulumi:staging::caseshield::aws:s3/bucket:Bucket::gone",
               "oldState": {"urn": "urn:pulumi:staging::caseshield::aws:s3/bucket:Bucket::gone", "custom": True,
                            "type": "aws:s3/bucket:Bucket", "inputs": {}}, "detailedDiff": None}
    compliant = from_preview_json(_write(tmp_path, "ok.json", preview_json(graph, [deleted])))
    assert all(r.name != "gone" for r in compliant.resources)
    assert set(_statuses(compliant).values()) == {"pass"}
    doc = preview_json(graph)
    _rotation_off([s["newState"] for s in doc["steps"]])
    assert _statuses(from_preview_json(_write(tmp_path, "bad.json", doc)))["KEY-01"] == "fail"


def test_a_first_preview_json_reports_what_cannot_run(tmp_path: Path) -> None:
    from caseshield.offline import evaluate

    graph = from_preview_json(_write(tmp_path, "first.json", preview_json(evaluate("dev", preview=True))))
    assert any(UNKNOWN in json.dumps(r.inputs) for r in graph.resources)
    report = run_check(["dev"], graphs={"dev": graph}, third_party=False, preview=True)
    assert report.stacks[0].not_run and report.stacks[0].passed


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.json", "{}", "expected `pulumi stack export` JSON"),
    ("broken.json", "{", "not JSON"),
    ("nothing.json", json.dumps({"version": 3, "deployment": {"resources": []}}), "no resources"),
])
def test_a_file_of_another_shape_is_a_clear_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PlanError, match=message):
        from_stack_export(path)


def test_the_cli_checks_a_stack_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = stack_export(graph_of("dev"))
    _rotation_off(doc["deployment"]["resources"])
    path = _write(tmp_path, "dev.json", doc)
    code = cli.main(["check", "--stack-export", str(path), "--no-checkov", "--format", "json", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1 and "dev: FAIL" in out
    report = json.loads((tmp_path / "out" / "caseshield-report.json").read_text())
    assert report["stacks"][0]["controls"]["KEY-01"] == "fail"
