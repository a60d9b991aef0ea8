"""The README's deploy steps find what the Pulumi CLI needs: the project and the policy pack name the same toolchain
and the same virtualenv, and the `uv` that toolchain looks up on PATH is where the set-up puts it and the README says.

The CLI itself cannot be installed on the build machines; its rules are read from pulumi/pulumi
(`sdk/python/toolchain`): a `uv` toolchain needs `uv` on PATH ("Could not find `uv` executable"), a relative
`virtualenv` is joined to the directory of the project (or pack) file, and without a `toolchain` a `uv.lock` found
upward selects uv anyway.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
PACK = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def _deploy_block() -> str:
    section = README.split("## Deploy for real", 1)[1]
    return section.split("```", 2)[1]


def test_project_and_pack_share_the_uv_toolchain_and_one_virtualenv() -> None:
    project, pack = PROJECT["runtime"]["options"], PACK["runtime"]["options"]
    assert project["toolchain"] == pack["toolchain"] == "uv"
    assert (ROOT / project["virtualenv"]).resolve() == (ROOT / "policies" / pack["virtualenv"]).resolve() == ROOT / ".venv"
    assert (ROOT / "uv.lock").is_file()


def test_the_readme_puts_the_set_up_uv_on_path_before_any_pulumi_command() -> None:
    uv_dir = Path(re.search(r"^UV := (\S+)/uv$", MAKEFILE, re.M)[1])  # type: ignore[index]
    lines = [line.split("#", 1)[0].strip() for line in _deploy_block().splitlines() if line.strip()]
    export = next(i for i, line in enumerate(lines) if line.startswith("export PATH="))
    assert f'"$PWD/{uv_dir}:$PATH"' in lines[export]
    assert lines[:export] == ["make setup"]
    assert all(not line.startswith("pulumi") for line in lines[:export])
    assert "pulumi preview --policy-pack policies" in lines


def test_uv_is_reachable_the_way_the_readme_says() -> None:
    uv_dir = ROOT / ".tools" / "bin"
    env = {**os.environ, "PATH": f"{uv_dir}:/usr/bin:/bin"}
    found = shutil.which("uv", path=env["PATH"])
    assert found == str(uv_dir / "uv")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True, env=env)
    assert version.stdout.startswith("uv ")
