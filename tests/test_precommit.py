"""The pre-commit hooks run offline from .venv/ (no hook repository to download), and the two that guard files no
other test reads (the stack files' secrets, Pulumi.yaml's schema) pass on the repository and fire on bad input.
`.ci/run` runs every hook with `pre-commit run --all-files`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
HOOKS: dict[str, dict[str, Any]] = {h["id"]: h for repo in CONFIG["repos"] for h in repo["hooks"]}
SCHEMA = ROOT / "tools" / "schemas" / "pulumi-project.json"


def _run(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=300)


def _entry(hook: str) -> list[str]:
    return [str(ROOT / part) if part.startswith(".venv/") or part.startswith("tools/") else part
            for part in shlex.split(HOOKS[hook]["entry"])]


def test_every_hook_is_local_and_runs_a_pinned_tool_from_the_venv() -> None:
    assert [repo["repo"] for repo in CONFIG["repos"]] == ["local"]
    assert set(HOOKS) == {"ruff", "mypy", "controls-docs", "stack-secrets", "pulumi-project-schema", "renovate-config-schema"}
    for hook in HOOKS.values():
        assert hook["language"] == "unsupported" and hook["entry"].startswith(".venv/bin/"), hook["id"]


def test_the_vendored_schemas_name_their_source() -> None:
    readme = (SCHEMA.parent / "README.md").read_text()
    assert "sdk/go/common/workspace/project.json" in readme and "pulumi/pulumi" in readme
    assert '"title":"Pulumi Project"' in SCHEMA.read_text()
    assert "npm package `renovate` 44.121.2" in readme and (SCHEMA.parent / "renovate-schema.json").is_file()


def test_file_hooks_pass_on_the_repository(tmp_path: Path) -> None:
    """Through pre-commit itself, with a store of its own (no shared cache, no network)."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    for hook in ("stack-secrets", "pulumi-project-schema"):
        result = subprocess.run([str(BIN / "pre-commit"), "run", hook, "--all-files"], capture_output=True, text=True, cwd=ROOT,
                                timeout=300, env=env)
        assert result.returncode == 0 and "Passed" in result.stdout, result.stdout + result.stderr


def test_secrets_hook_fires_on_a_key_in_a_stack_file(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text((ROOT / "stacks" / "Pulumi.dev.yaml").read_text() + "  aws:accessKey: AKIAIOSFODNN7EXAMPLE\n")
    result = _run([*_entry("stack-secrets"), str(stack)])
    assert result.returncode == 1 and "AWS Access Key" in result.stdout
    assert _run([*_entry("stack-secrets"), str(ROOT / "stacks" / "Pulumi.dev.yaml")]).returncode == 0


def test_schema_hook_fires_on_a_malformed_project_file(tmp_path: Path) -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project["stackConfigDir"] = ["stacks"]
    bad = tmp_path / "Pulumi.yaml"
    bad.write_text(yaml.safe_dump(project))
    result = _run([*_entry("pulumi-project-schema"), str(bad)])
    assert result.returncode == 1 and "stackConfigDir" in result.stdout
    del project["name"]
    project["stackConfigDir"] = "stacks"
    bad.write_text(yaml.safe_dump(project))
    assert _run([*_entry("pulumi-project-schema"), str(bad)]).returncode == 1


def test_renovate_hook_passes_on_the_config_and_fires_on_a_misspelt_option(tmp_path: Path) -> None:
    config = ROOT / "renovate.json"
    assert _run([*_entry("renovate-config-schema"), str(config)]).returncode == 0
    bad = tmp_path / "renovate.json"
    bad.write_text(config.read_text().replace('"schedule": ["before 6am on monday"],\n  "rangeStrategy"',
                                              '"schedule": "before 6am on monday",\n  "rangeStrategy": "sometimes",\n  "x"'))
    assert _run([*_entry("renovate-config-schema"), str(bad)]).returncode == 1
