"""Renovate's configuration: it covers uv.lock (pep621), every tool requirements file under tools/ and the workflow
actions, and groups them into one weekly pull request. (Its schema is checked by the pre-commit hook test.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / "renovate.json").read_text())


def _pattern() -> re.Pattern[str]:
    (pattern,) = CONFIG["pip_requirements"]["managerFilePatterns"]
    assert pattern.startswith("/") and pattern.endswith("/"), "a /regex/, not a glob"
    return re.compile(pattern[1:-1])


def test_every_tool_requirements_file_is_covered_and_nothing_else() -> None:
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "tools").rglob("*requirements*.txt")]
    assert "tools/bootstrap-requirements.txt" in files
    assert all(_pattern().search(f) for f in files)
    assert not _pattern().search("requirements.txt") and not _pattern().search("tools/schemas/README.md")


def test_one_weekly_group_for_every_manager() -> None:
    assert set(CONFIG["enabledManagers"]) == {"pep621", "pip_requirements", "github-actions"}
    (group,) = CONFIG["packageRules"]
    assert set(group["matchManagers"]) == set(CONFIG["enabledManagers"])
    assert group["schedule"] == CONFIG["schedule"] == ["before 6am on monday"]
    assert CONFIG["separateMajorMinor"] is False and CONFIG["rangeStrategy"] == "pin"
