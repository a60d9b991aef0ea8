"""parliament (duo-labs' IAM policy linter) over generated policy documents, run in its own tool environment.

Why parliament: it knows every IAM action, resource type and condition key (from the IAM definition it ships), so it
catches what reads fine to a reviewer and does nothing in AWS: a misspelled action in a Deny that denies nothing, a
condition key the action never carries (the condition then never matches), a resource ARN the action cannot take.

Why a subprocess: parliament 1.6.4 imports pkg_resources, which the setuptools the main environment locks no longer
has; it lives in .tools/parliament (`make tools`, tools/parliament-requirements.txt) and tools/parliament_driver.py
runs it. One process serves every lint of this process (`--serve`: a request per line, an answer per line), so
parliament is imported once, not once per stack or mutant; `start()` starts it early, so that import overlaps other
work. Processes forked after it was started (the workers of `caseshield check`) share it: a lock taken across
processes keeps each request and its answer together. A process that finds no server it may use (none started, or
it died) starts its own, owned by its pid and ended when that process exits. Each document is linted once per
process here (mutants repeat most documents) and once per server there.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Mapping
from typing import Any, TypedDict

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


class _Server:
    """One `parliament_driver.py --serve` process. Its pipes are raw file descriptors (no buffer a fork could copy
    half-read); the lock is a semaphore shared with forked children."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115  # lives as long as the server; closed by stop()
        self.process = subprocess.Popen([str(PARLIAMENT_PYTHON), str(DRIVER), "--serve"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr, bufsize=0)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin.fileno(), self.process.stdout.fileno()
        self.lock = multiprocessing.get_context("fork").Lock()
        self.broken = False

    def lint(self, documents: Mapping[str, str]) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        if not self.lock.acquire(timeout=TIMEOUT_SECONDS):
            raise LintUnavailable(f"parliament failed: no answer within {TIMEOUT_SECONDS} s (server busy)")
        try:
            request = memoryview(json.dumps({"documents": dict(documents)}).encode() + b"\n")
            while request:
                request = request[os.write(self.stdin, request):]
            answer = b""
            while not answer.endswith(b"\n"):
                if not select.select([self.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    raise LintUnavailable(f"parliament failed: no answer within {TIMEOUT_SECONDS} s")
                chunk = os.read(self.stdout, 1 << 20)
                if not chunk:
                    raise LintUnavailable(f"parliament failed: the process ended ({self._stderr()})")
                answer += chunk
        except OSError as error:
            self.broken = True
            raise LintUnavailable(f"parliament failed: {error} ({self._stderr()})") from error
        except LintUnavailable:
            self.broken = True  # a half-read answer would answer the next request
            raise
        finally:
            self.lock.release()
        try:
            decoded = json.loads(answer)
        except ValueError as error:
            raise LintUnavailable(f"parliament failed: unreadable answer: {error}") from error
        if "error" in decoded:
            raise LintUnavailable(f"parliament failed: {decoded['error']}")
        return dict(decoded["findings"])

    def _stderr(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read().decode(errors="replace").strip()[-2000:] or "no message"
        except (OSError, ValueError):
            return "no message"

    def usable(self) -> bool:
        if os.getpid() != self.owner:  # not our child: poll() would say it ended; a dead one fails at the next read
            return not self.broken
        return not self.broken and self.process.poll() is None

    def stop(self) -> None:
        if os.getpid() != self.owner:  # a forked child leaves its parent's server alone
            return
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # end of input: the server exits
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


_server: _Server | None = None


def start() -> None:
    """Start this process's parliament server now (its import then overlaps whatever comes next); a no-op when one is
    running or the tool environment is missing (`lint` then says so)."""
    _server_for_this_process(required=False)


def _server_for_this_process(required: bool = True) -> _Server | None:
    global _server
    if _server is not None and _server.usable():
        return _server
    if not PARLIAMENT_PYTHON.exists():
        if required:
            raise LintUnavailable(f"{PARLIAMENT_PYTHON} is missing: run `make tools`")
        return None
    if _server is not None:
        _server.stop()
    try:
        _server = _Server()
    except OSError as error:
        raise LintUnavailable(f"parliament failed: {error}") from error
    return _server


@atexit.register
def stop() -> None:
    """End the server this process started (at exit; forked children never end their parent's)."""
    global _server
    if _server is not None and _server.owner == os.getpid():
        _server.stop()
        _server = None


def lint_once(documents: Mapping[str, str]) -> dict[str, list[Finding]]:
    """parliament's findings from a one-shot run of the driver (no server, no memory): what `lint` must equal."""
    if not PARLIAMENT_PYTHON.exists():
        raise LintUnavailable(f"{PARLIAMENT_PYTHON} is missing: run `make tools`")
    request = json.dumps({"documents": dict(documents)})
    try:
        done = subprocess.run([str(PARLIAMENT_PYTHON), str(DRIVER)], input=request, capture_output=True, text=True,
                              timeout=TIMEOUT_SECONDS, check=True)
        return dict(json.loads(done.stdout))
    except (subprocess.SubprocessError, OSError, ValueError) as error:
        raise LintUnavailable(f"parliament failed: {error}") from error


def lint(documents: Mapping[str, str]) -> dict[str, list[Finding]]:
    """parliament's findings for each document (key -> policy JSON text), with parliament's severities."""
    todo = sorted({text for text in documents.values() if text not in _linted})
    if todo:
        server = _server_for_this_process()
        assert server is not None
        answer = server.lint({str(i): text for i, text in enumerate(todo)})
        for i, text in enumerate(todo):
            _linted[text] = list(answer[str(i)])
    return {key: _linted[text] for key, text in documents.items()}
