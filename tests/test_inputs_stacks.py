"""Stack files (stacks/Pulumi.<stack>.yaml): every bad input of issue 15 is a clear error, never a traceback or a pass.

Each test writes a stack file into a copy of the project (Pulumi.yaml + stacks/) under tmp_path and reads it the way
`plan` and `check` do (`settings.from_stack_file`). File-level problems raise `StackFileError`, value problems
`SettingsError`; both are `InputError`s whose message names the file, the key, the value and the fix.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from caseshield import offline
from caseshield import settings as settings_module
from caseshield.project import ROOT, Project, StackFileError, StackNotFound, load_project
from caseshield.settings import MAX_STACK_NAME, SettingsError, from_stack_file, load_settings
from caseshield.strict_yaml import InputError

PROD = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return load_project(tmp_path)


def write(project: Project, text: str, stack: str = "prod") -> None:
    (project.stack_dir / f"Pulumi.{stack}.yaml").write_text(text)


def prod_with(changes: dict[str, str], extra: str = "") -> str:
    """The shipped prod file with `key: value` lines replaced (keys as written, value text verbatim) and `extra` added."""
    text = PROD
    for key, value in changes.items():
        line = f"  {key}: {value}"
        text, n = re.subn(rf"^  {re.escape(key)}: .*$", lambda _, line=line: line, text, flags=re.M)  # type: ignore[misc]
        if n == 0:
            text += f"  {key}: {value}\n"
    return text + extra


def refused(project: Project, text: str, stack: str = "prod") -> InputError:
    write(project, text, stack)
    with pytest.raises(InputError) as raised:
        from_stack_file(stack, project)
    message = str(raised.value)
    assert f"stacks/Pulumi.{stack}.yaml" in message and "Fix: " in message, message
    assert "Traceback" not in message and len(message) < 5000
    return raised.value


def keys_of(error: InputError) -> list[str]:
    return [p.key for p in error.problems]


def test_the_shipped_prod_file_holds(project: Project) -> None:
    write(project, PROD)
    assert from_stack_file("prod", project).stack == "prod"


# --- what used to end in a traceback --------------------------------------------------------------------------------

def test_malformed_yaml(project: Project) -> None:
    error = refused(project, PROD + "  caseshield:owner: [unclosed\n")
    assert isinstance(error, StackFileError) and "is not valid YAML" in str(error)


def test_a_top_level_list(project: Project) -> None:
    error = refused(project, "- config\n- aws:region\n")
    assert keys_of(error) == ["(top level)"] and "must be a mapping, not a list" in str(error)


def test_config_as_a_list(project: Project) -> None:
    error = refused(project, "config:\n  - aws:region: us-east-1\n")
    assert keys_of(error) == ["config"] and "must be a mapping, not a list" in str(error)


def test_an_empty_file(project: Project) -> None:
    assert "must be a mapping, not empty" in str(refused(project, ""))


def test_a_secure_value_for_a_setting_is_a_clear_error(project: Project) -> None:
    error = refused(project, prod_with({"caseshield:owner": "{secure: AAABAJhbGciOiJIUzI1NiJ9abc}"}))
    assert keys_of(error) == ["config.caseshield:owner"] and "is a Pulumi secret" in str(error)


def test_provider_credentials_kept_as_secrets_do_not_crash_and_stay_out_of_the_config(project: Project) -> None:
    write(project, prod_with({"aws:secretKey": "{secure: AAABAJhbGciOiJIUzI1NiJ9abc}",
                              "aws:accessKey": "{secure: AAABAKdefghijklmnop}"}))
    config = project.stack_config("prod")
    assert "aws:secretKey" not in config and "aws:accessKey" not in config
    assert from_stack_file("prod", project).stack == "prod"


@pytest.mark.parametrize("region", ["ap-south-1", "us-north-9"])
def test_a_region_outside_the_residency_list_or_that_does_not_exist(project: Project, region: str) -> None:
    error = refused(project, prod_with({"aws:region": region}))
    assert isinstance(error, SettingsError) and "aws:region" in keys_of(error)
    assert "outside the data-residency allow-list" in str(error)


def test_allowed_regions_may_not_list_a_region_that_does_not_exist(project: Project) -> None:
    error = refused(project, prod_with({"caseshield:allowedRegions": "[us-east-1, us-west-2, us-north-9]"}))
    assert "not regions: ['us-north-9']" in str(error)


def test_allowed_regions_may_not_be_wider_than_the_residency_list(project: Project) -> None:
    error = refused(project, prod_with({"caseshield:allowedRegions": "[us-east-1, us-west-2, ap-south-1]"}))
    assert "wider than the firm's data-residency list" in str(error) and "ap-south-1" in str(error)


def test_more_zones_than_the_region_has(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """us-west-1 has two zones; were the firm to allow it, three zones there are refused and two hold."""
    monkeypatch.setattr(settings_module, "residency_regions", lambda: ("us-west-1", "us-east-1"))
    zones3 = {"aws:region": "us-west-1", "caseshield:allowedRegions": "[us-west-1, us-east-1]",
              "caseshield:backupCopyRegion": "us-east-1"}
    error = refused(project, prod_with(zones3))
    assert keys_of(error) == ["caseshield:availabilityZoneCount"]
    assert "is more than the 2 availability zones us-west-1 has" in str(error)
    two = {**zones3, "caseshield:availabilityZoneCount": "2", "caseshield:publicSubnetCidrs": "[10.30.0.0/24, 10.30.1.0/24]",
           "caseshield:appSubnetCidrs": "[10.30.16.0/20, 10.30.32.0/20]",
           "caseshield:dataSubnetCidrs": "[10.30.64.0/22, 10.30.68.0/22]"}
    write(project, prod_with(two))
    assert from_stack_file("prod", project).availability_zone_count == 2


def test_an_alias_bomb_is_refused(project: Project) -> None:
    bomb = 'x: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    bomb += "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    error = refused(project, bomb + PROD)
    assert "anchor or alias" in str(error) and len(str(error)) < 1000


# --- what used to be accepted silently ------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("caseshield:domainName", "cases.lawfirm.example"),
    ("caseshield:databaseInstanceClass", "db.r6g.xlarge"),
    ("caseshield:databaseMaintenanceWindow", "sun:04:00-sun:05:00"),
    ("caseshield:patchInstallSchedule", "cron(0 3 ? * SUN *)"),
    ("caseshield:ciOidcSubject", "repo:lawfirm/caseshield:environment:prod"),
    ("caseshield:owner", "platform-engineering"),
])
def test_a_trailing_newline_is_refused_in_the_file_and_in_engine_config(project: Project, key: str, value: str) -> None:
    error = refused(project, prod_with({key: f'"{value}\\n"'}))
    assert keys_of(error) == [f"config.{key}"]
    config = {**load_project().stack_config("prod"), key: value + "\n"}
    with pytest.raises(SettingsError) as raised:
        load_settings(config, "prod")
    assert [p.key for p in raised.value.problems] == [key] and "contains a newline" in str(raised.value)


def test_a_trailing_newline_in_a_list_item_is_refused(project: Project) -> None:
    error = refused(project, prod_with({"caseshield:alertEmails": '["security-oncall@lawfirm.example\\n"]'}))
    assert keys_of(error) == ["config.caseshield:alertEmails[0]"]


@pytest.mark.parametrize("appended", ['  caseshield:backupCopyRegion: ""\n', "  caseshield:wafCountryAllowList: []\n"])
def test_duplicate_keys_are_refused_not_last_one_wins(project: Project, appended: str) -> None:
    error = refused(project, PROD + appended)
    assert "appears twice" in str(error) and appended.split(":")[1] in str(error)


@pytest.mark.parametrize("value", ["\uff13", "1_000", "3.0", "'3'", "three", "true"])
def test_numbers_are_plain_ascii_integers(project: Project, value: str) -> None:
    if value == "'3'":  # `pulumi config set` writes a quoted string of ASCII digits: that one is accepted
        write(project, prod_with({"caseshield:availabilityZoneCount": value}))
        assert from_stack_file("prod", project).availability_zone_count == 3
        return
    error = refused(project, prod_with({"caseshield:availabilityZoneCount": value}))
    assert keys_of(error) == ["config.caseshield:availabilityZoneCount"] and "whole number" in str(error)


@pytest.mark.parametrize("value", ["yes", "'True'", "1", "on"])
def test_booleans_are_true_or_false(project: Project, value: str) -> None:
    error = refused(project, prod_with({"caseshield:databaseMultiAz": value}))
    assert keys_of(error) == ["config.caseshield:databaseMultiAz"] and "true or false" in str(error)


def test_owner_null_is_refused_not_the_tag_none(project: Project) -> None:
    error = refused(project, prod_with({"caseshield:owner": "null"}))
    assert keys_of(error) == ["config.caseshield:owner"] and "must be a string, not empty" in str(error)


@pytest.mark.parametrize(("key", "value"), [
    ("aws:secretKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws:accessKey", "AKIAIOSFODNN7EXAMPLE"),
    ("aws:token", "FQoGZXIvYXdzEJr"),
    ("caseshield:databasePassword", "hunter2hunter2"),
])
def test_plain_text_secrets_are_refused(project: Project, key: str, value: str) -> None:
    error = refused(project, prod_with({key: value}))
    assert f"config.{key}" in keys_of(error) and "pulumi config set --secret" in str(error)
    assert value not in str(error) and f"<{len(value)} characters, not shown>" in str(error)  # never echoed to a log


@pytest.mark.parametrize("value", ["AKIAIOSFODNN7EXAMPLE", '"-----BEGIN RSA PRIVATE KEY----- MIIE"'])
def test_key_material_under_any_key_is_refused_and_not_echoed(project: Project, value: str) -> None:
    error = refused(project, prod_with({"caseshield:owner": value}))
    assert "config.caseshield:owner" in keys_of(error) and "looks like key material" in str(error)
    assert value.strip('"') not in str(error)


def test_unknown_namespaces_and_keys_are_refused(project: Project) -> None:
    error = refused(project, prod_with({"othertool:setting": "x"}))
    assert keys_of(error) == ["config.othertool:setting"] and "not a key this file may have" in str(error)


def test_bare_keys_belong_to_the_project_and_may_not_repeat_a_namespaced_one(project: Project) -> None:
    write(project, PROD.replace("caseshield:owner:", "owner:"))
    assert from_stack_file("prod", project).owner == "platform-engineering"
    error = refused(project, PROD + "  owner: someone-else\n")
    assert "sets caseshield:owner a second time" in str(error)


def test_key_administrators_of_the_declared_account_hold_and_others_are_refused(project: Project) -> None:
    own = {"aws:allowedAccountIds": '["123456789012"]',
           "caseshield:keyAdministratorArns": "[arn:aws:iam::123456789012:role/deployer]"}
    write(project, prod_with(own))
    assert from_stack_file("prod", project).key_administrator_arns == ("arn:aws:iam::123456789012:role/deployer",)
    error = refused(project, prod_with({**own, "caseshield:keyAdministratorArns":
                                        "[arn:aws-us-gov:iam::123456789012:role/deployer]"}))
    assert "is in partition aws-us-gov, but us-east-1 is in aws" in str(error)
    error = refused(project, prod_with({**own, "caseshield:keyAdministratorArns": "[arn:aws:iam::210987654321:role/x]"}))
    assert "not the stack's account ['123456789012']" in str(error)
    error = refused(project, prod_with({**own, "aws:allowedAccountIds": "[123456789012]"}))  # a number, not a string
    assert keys_of(error) == ["config.aws:allowedAccountIds[0]"]


# --- stack names ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["prod_eu", "Prod", "pr\u00f6d", "prod--eu", "prod-", "a" * (MAX_STACK_NAME + 1),
                                   "aws-prod", "cognito"])
def test_stack_names_every_derived_aws_name_refuses(stack: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(load_project().stack_config("prod"), stack)
    assert [p.key for p in raised.value.problems] == ["stack"]
    assert "is not a usable stack name" in str(raised.value) and "pulumi stack rename" in str(raised.value)


@pytest.mark.parametrize("stack", ["prod", "prod-eu", "qa2", "a" * MAX_STACK_NAME])
def test_stack_names_that_fit_every_derived_name_hold(stack: str) -> None:
    assert load_settings(load_project().stack_config("prod"), stack).stack == stack


def test_the_longest_stack_name_keeps_every_limited_aws_name_within_its_limit() -> None:
    """Longest IAM role name at the longest stack name: 3 + MAX + 19 <= 64, and so on for each limited name."""
    for what, (limit, suffix) in settings_module.DERIVED_NAME_LIMITS.items():
        assert len(settings_module.NAME_PREFIX) + MAX_STACK_NAME + suffix <= limit, what


@pytest.fixture(scope="module")
def prod_graph() -> Any:
    return offline.evaluate("prod")


@pytest.mark.parametrize(("what", "type_", "field"), [
    ("EventBridge rule name", "aws:cloudwatch/eventRule:EventRule", "name"),
    ("IAM role name", "aws:iam/role:Role", "name"),
    ("AWS Backup vault name", "aws:backup/vault:Vault", "name"),
    ("AWS Backup selection name", "aws:backup/selection:Selection", "name"),
    ("RDS instance identifier", "aws:rds/instance:Instance", "identifier"),
    ("Cognito user-pool domain", "aws:cognito/userPoolDomain:UserPoolDomain", "domain"),
])
def test_the_suffix_table_matches_the_names_the_components_derive(prod_graph: Any, what: str, type_: str,
                                                                   field: str) -> None:
    names = [r.inputs[field] for r in prod_graph.of_type(type_) if isinstance(r.inputs.get(field), str)]
    derived = [n for n in names if n.startswith("cs-prod")]
    assert derived, f"no {what} derived from the stack name"
    longest = max(len(n) - len("cs-prod") for n in derived)
    assert longest <= settings_module.DERIVED_NAME_LIMITS[what][1], f"{what}: a suffix of {longest} characters"


# --- refused before anything runs -----------------------------------------------------------------------------------

def test_a_malformed_stack_file_stops_evaluation_before_any_monitor_exists(project: Project,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[object] = []

    class Counting(offline.RecordingMonitor):
        def __init__(self, *args: Any, **kwargs: Any):
            created.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(offline, "RecordingMonitor", Counting)
    monkeypatch.setattr(offline, "load_project", lambda: project)
    write(project, PROD + '  caseshield:backupCopyRegion: ""\n')
    with pytest.raises(StackFileError):
        offline.evaluate("prod")
    assert created == []


@pytest.mark.parametrize("stack", ["../Pulumi", "x/../../../outside/evil", "..", "a/b", "", "/etc/passwd"])
def test_a_stack_name_with_a_path_never_reaches_a_file(project: Project, stack: str) -> None:
    (project.root / "outside").mkdir()
    (project.root / "outside" / "Pulumi.evil.yaml").write_text(PROD)
    with pytest.raises(StackNotFound, match="is not a stack name"):
        project.stack_config(stack)
