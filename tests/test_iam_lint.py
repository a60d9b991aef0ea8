"""One parliament process for every lint of a run (caseshield/iam_lint.py, tools/parliament_driver.py --serve).

The server must answer what a one-shot run of the driver answers, for the same documents (real generated policies
of a stack and documents with the faults parliament exists to catch), in the process that started it and in a
process forked from it (the workers of `caseshield check`), and must fail loudly, never pass, when it cannot run.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseshield import iam_lint
from tests.conftest import graph_of

pytestmark = pytest.mark.skipif(not iam_lint.PARLIAMENT_PYTHON.exists(),
                                reason="parliament's tool environment is missing: run `make tools`")


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


FAULTY = {
    "clean": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::cs-prod-documents/*"}),
    "misspelled-deny": doc({"Effect": "Deny", "Action": "kms:PutKeyPolicies", "Resource": "*"}),
    "condition-never-carried": doc({"Effect": "Allow", "Action": "iam:PassRole",
                                    "Resource": "arn:aws:iam::123456789012:role/cs-prod-app-instance",
                                    "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/x"}}}),
    "resource-mismatch": doc({"Effect": "Allow", "Action": "rds:DescribeDBInstances",
                              "Resource": "arn:aws:rds:us-east-1:123456789012:instance/cs-prod-case-db"}),
    "not-json": "{",
}


def generated_documents(stack: str) -> dict[str, str]:
    """Every IAM policy document the program generates for `stack` (inline, managed, trust)."""
    found = {}
    for r in graph_of(stack).resources:
        for prop in ("policy", "assumeRolePolicy"):
            value = r.inputs.get(prop)
            if r.type.startswith("aws:iam/") and isinstance(value, str) and value.startswith("{"):
                found[f"{r.name}.{prop}"] = value
    return found


@pytest.fixture
def fresh_server() -> Iterator[None]:
    """No server and no memory of earlier lints in this process, before and after the test."""
    iam_lint.stop()
    iam_lint._linted.clear()
    yield
    iam_lint.stop()
    iam_lint._linted.clear()


def test_the_server_answers_what_a_one_shot_run_answers(fresh_server: None) -> None:
    documents = {**generated_documents("prod"), **FAULTY}
    assert len(documents) > 40
    once = iam_lint.lint_once(documents)
    iam_lint.start()
    served = iam_lint.lint(documents)
    assert served == once
    issues = {key: {f["issue"] for f in found} for key, found in served.items()}
    assert issues["clean"] == set() and "UNKNOWN_ACTION" in issues["misspelled-deny"]
    assert "UNKNOWN_CONDITION_FOR_ACTION" in issues["condition-never-carried"]
    assert "RESOURCE_MISMATCH" in issues["resource-mismatch"] and issues["not-json"]
    # A second request of the same server, in another order with other keys, answers the same again.
    again = iam_lint._server_for_this_process().lint({f"again-{k}": v for k, v in reversed(documents.items())})  # type: ignore[union-attr]
    assert {k.removeprefix("again-"): v for k, v in again.items()} == once


def test_one_server_serves_the_process_and_its_forked_children(fresh_server: None, tmp_path: Path) -> None:
    documents = generated_documents("staging")
    iam_lint.start()
    server = iam_lint._server
    assert server is not None
    out = tmp_path / "child.pickle"
    pid = os.fork()
    if pid == 0:  # the child: lint with the parent's server, write the answer and which server answered
        code = 0
        try:
            answer = iam_lint.lint(documents)
            out.write_bytes(pickle.dumps((answer, iam_lint._server is server, server.process.pid)))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    parent_answer = iam_lint.lint({**generated_documents("dev"), **documents})
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child_answer, shared, server_pid = pickle.loads(out.read_bytes())
    assert shared and server_pid == server.process.pid and server.usable()  # no second parliament was started
    assert child_answer == {k: parent_answer[k] for k in documents} == iam_lint.lint_once(documents)


def test_a_dead_server_is_replaced_in_its_owner_and_fails_a_forked_child(fresh_server: None, tmp_path: Path) -> None:
    iam_lint.start()
    first = iam_lint._server
    assert first is not None
    first.process.kill()
    first.process.wait()
    out = tmp_path / "child.txt"
    pid = os.fork()
    if pid == 0:  # a child cannot tell its parent's server died until it asks it: it must fail, not pass
        try:
            iam_lint.lint({"k": FAULTY["clean"]})
            out.write_text("answered")
        except iam_lint.LintUnavailable as error:
            out.write_text(f"unavailable: {error}")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert out.read_text().startswith("unavailable: parliament failed")
    assert iam_lint.lint({"k": FAULTY["clean"]}) == {"k": []}  # the owner starts a new server
    assert iam_lint._server is not first and iam_lint._server is not None and iam_lint._server.usable()


def test_a_missing_tool_environment_fails_the_lint(fresh_server: None, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(iam_lint, "PARLIAMENT_PYTHON", tmp_path / "missing" / "python")
    iam_lint.start()  # nothing to start: no error yet, none hidden either
    assert iam_lint._server is None
    with pytest.raises(iam_lint.LintUnavailable, match="run `make tools`"):
        iam_lint.lint({"k": FAULTY["clean"]})
