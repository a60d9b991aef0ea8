"""The runbooks: each named file exists (alarm descriptions and other code link to these paths), follows the
five-section shape an engineer under pressure can rely on, and only tells people to run `caseshield respond`
commands that exist and parse."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from caseshield.project import ROOT
from caseshield.respond import action_names, add_respond_parser

RUNBOOKS_DIR = ROOT / "runbooks"
RUNBOOKS = (
    "incident-response.md", "breach-notification.md", "key-compromise.md", "access-review.md", "patching.md",
    "restore-from-backup.md", "legal-hold.md", "data-subject-requests.md", "vendor-access.md", "audit-log-integrity.md",
    "alarms/unauthorized-api-calls.md", "alarms/console-signin-without-mfa.md", "alarms/root-account-usage.md",
    "alarms/iam-policy-changes.md", "alarms/cloudtrail-changes.md", "alarms/console-auth-failures.md",
    "alarms/kms-key-disable-or-deletion.md", "alarms/s3-bucket-policy-changes.md", "alarms/config-changes.md",
    "alarms/network-changes.md", "alarms/break-glass-use.md", "alarms/permissions-boundary-changes.md",
    "alarms/segregation-of-duties-changes.md", "alarms/break-glass-role-changes.md", "alarms/deployer-outside-deployment.md",
    "findings/guardduty-high-severity.md",
    "findings/securityhub-critical-high.md", "findings/macie-sensitive-data.md",
)
SECTIONS = ("When it applies", "Roles and who decides", "Steps", "Evidence to keep", "How to close")
ALL_FILES = ("README.md", *RUNBOOKS)
MENTION = re.compile(r"caseshield respond ([\w-]+)")
LINK = re.compile(r"\]\(([^)#\s]+\.md)\)")
SHELL_BREAK = {">", ">>", "|", "&&", ";", "2>", "<"}


def text(name: str) -> str:
    return (RUNBOOKS_DIR / name).read_text(encoding="utf-8")


def sections(name: str) -> dict[str, str]:
    """Level-2 headings in order, each with the text under it."""
    parts = re.split(r"^## (.+)$", text(name), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def commands(name: str) -> list[str]:
    """Every `caseshield respond ...` line inside fenced code blocks, with backslash continuations joined."""
    blocks = re.findall(r"^\s*```[a-z]*\n(.*?)^\s*```", text(name), flags=re.MULTILINE | re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [line for line in lines if line.startswith("caseshield respond")]


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbook_has_the_five_sections_in_order_with_content(name: str) -> None:
    found = sections(name)
    assert tuple(found) == SECTIONS, f"{name}: sections are {tuple(found)}, expected {SECTIONS}"
    empty = [title for title, body in found.items() if len(body.strip()) < 40]
    assert not empty, f"{name}: sections without substance: {empty}"
    assert text(name).startswith("# "), f"{name}: starts with a level-1 title"


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbook_is_focused(name: str) -> None:
    lines = len(text(name).splitlines())
    assert 35 <= lines <= 130, f"{name}: {lines} lines; keep a runbook between 35 and 130 lines"


def test_every_runbook_is_indexed_and_nothing_else_is_there() -> None:
    linked = set(LINK.findall(text("README.md")))
    assert linked == set(RUNBOOKS), f"README links differ: missing {set(RUNBOOKS) - linked}, extra {linked - set(RUNBOOKS)}"
    on_disk = {str(p.relative_to(RUNBOOKS_DIR)) for p in RUNBOOKS_DIR.rglob("*.md")}
    assert on_disk == set(ALL_FILES), f"unlisted or missing runbook files: {on_disk ^ set(ALL_FILES)}"


@pytest.mark.parametrize("name", ALL_FILES)
def test_links_between_runbooks_resolve(name: str) -> None:
    broken = [link for link in LINK.findall(text(name)) if not ((RUNBOOKS_DIR / name).parent / link).resolve().is_file()]
    assert not broken, f"{name}: broken links {broken}"


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_respond_action_mentioned_exists(name: str) -> None:
    unknown = sorted(set(MENTION.findall(text(name))) - set(action_names()))
    assert not unknown, f"{name}: mentions actions that do not exist: {unknown}"


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_respond_command_in_a_code_block_parses(name: str) -> None:
    parser = argparse.ArgumentParser(prog="caseshield", exit_on_error=False)
    add_respond_parser(parser.add_subparsers(dest="command", required=True))
    for command in commands(name):
        words = shlex.split(command)
        words = words[: next((i for i, w in enumerate(words) if w in SHELL_BREAK), len(words))]
        try:
            parser.parse_args(words[1:])
        except (argparse.ArgumentError, SystemExit) as error:
            pytest.fail(f"{name}: `{command}` does not parse: {error}")


def test_the_runbooks_exercise_every_action() -> None:
    mentioned = {action for name in ALL_FILES for action in MENTION.findall(text(name))}
    assert mentioned == set(action_names())


def test_action_names_are_the_respond_subcommands() -> None:
    assert action_names() == sorted(["isolate-instance", "revoke-role-sessions", "disable-access-key", "legal-hold",
                                     "quarantine-object", "access-review", "verify-trail"])


def test_breach_notification_cites_the_regulations_themselves() -> None:
    body = text("breach-notification.md")
    for citation in ("Art. 33", "Art. 34", "72 hours", "45 CFR 164.404", "164.410", "60 calendar days", "1798.82", "1798.150",
                     "Formal Opinion 483", "Rule 1.6(c)"):
        assert citation in body, f"breach-notification.md must cite {citation}"



RUNBOOK_PATH_RE = re.compile(r"runbooks/[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*\.md")


def _runbook_paths(value: object) -> set[str]:
    """Every runbook path mentioned anywhere inside a (nested) input value."""
    if isinstance(value, str):
        return set(RUNBOOK_PATH_RE.findall(value))
    if isinstance(value, dict):
        return set().union(*(_runbook_paths(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_runbook_paths(v) for v in value)) if value else set()
    return set()


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_runbook_an_alarm_or_rule_names_exists(stack: str) -> None:
    from tests.conftest import graph_of

    graph = graph_of(stack)
    named = {path: r.name for r in graph.resources for path in _runbook_paths(r.inputs)}
    alarms = [r for r in graph.resources if r.type in ("aws:cloudwatch/metricAlarm:MetricAlarm",
                                                       "aws:cloudwatch/eventRule:EventRule", "aws:cfg/rule:Rule")]
    assert alarms and all(_runbook_paths(r.inputs) for r in alarms), "every alarm and rule names its runbook"
    missing = {path: resource for path, resource in named.items() if not (ROOT / path).is_file()}
    assert missing == {}


def test_every_runbook_the_catalog_or_the_code_names_exists() -> None:
    from policies import catalog as catalog_module

    named = {c.runbook for c in catalog_module.load().controls}
    for folder in ("components", "policies", "caseshield"):
        for source in (ROOT / folder).rglob("*"):
            if source.suffix in (".py", ".yaml"):
                named |= set(RUNBOOK_PATH_RE.findall(source.read_text()))
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []
