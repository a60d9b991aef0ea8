"""parliament (duo-labs' IAM policy linter) over generated policy documents, run in its own tool environment.

Why parliament: it knows every IAM action, resource type and condition key (from the IAM definition it ships), so it
catches what reads fine to a reviewer and does nothing in AWS: a misspelled action in a Deny that denies nothing, a
condition key the action never carries (the condition then never matches), a resource ARN the action cannot take.

Why a subprocess: parliament 1.6.4 imports pkg_resources, which the setuptools the main environment locks no longer
has; it lives in .tools/parliament (`make tools`, tools/parliament-requirements.txt) and tools/parliament_driver.py
runs it. One run lints every document not linted before in this process (mutants repeat most documents).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import TypedDict

from caseshield.project import ROOT

PARLIAMENT_PYTHON = ROOT / ".tools" / "parliament" / "bin" / "python"
DRIVER = ROOT / "tools" / "parliament_driver.py"
TIMEOUT_SECONDS = 300


class Finding(TypedDict):
    issue: str
    severity: str
    title: str
    detail: str


class LintUnavailable(RuntimeError):
    """parliament could not run: the check must fail, never pass on nothing."""


_linted: dict[str, list[Finding]] = {}


def lint(documents: Mapping[str, str]) -> dict[str, list[Finding]]:
    """parliament's findings for each document (key -> policy JSON text), with parliament's severities."""
    todo = sorted({text for text in documents.values() if text not in _linted})
    if todo:
        if not PARLIAMENT_PYTHON.exists():
            raise LintUnavailable(f"{PARLIAMENT_PYTHON} is missing: run `make tools`")
        request = json.dumps({"documents": {str(i): text for i, text in enumerate(todo)}})
        try:
            done = subprocess.run([str(PARLIAMENT_PYTHON), str(DRIVER)], input=request, capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS, check=True)
            answer = json.loads(done.stdout)
        except (subprocess.SubprocessError, OSError, ValueError) as error:
            raise LintUnavailable(f"parliament failed: {error}") from error
        for i, text in enumerate(todo):
            _linted[text] = list(answer[str(i)])
    return {key: _linted[text] for key, text in documents.items()}
