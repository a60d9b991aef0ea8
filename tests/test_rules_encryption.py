"""Edge cases of the encryption, key-management and secrets rules (KEY-*, ENC-*, SEC-01) on hand-built resources.

`world()` is a small compliant stack: one key per data class, the documents and access-log buckets, the database,
the ledger, a log group, EBS defaults, a launch template, the listeners, the incident topic and the vendor role. Each
test breaks or blurs one thing and runs one rule: the compliant world passes, the breakage fires, and values still
unknown at preview (the engine's sentinel) never fire on their own.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from pulumi_policy import PolicyResource

from caseshield.engine import SECRET_SIG as SECRET_VALUE_SIG
from policies import floors
from policies.rules import RULES, keys, load_all
from policies.rules import encryption as enc
from policies.rules._support import SECRET_SIG, UNKNOWN
from tests.rule_worlds import OPTIONS, Builder, World, check, policy

load_all()
MY_RULES = sorted(r for r, rule in RULES.items() if rule.check.__module__ in (enc.__name__, keys.__name__))
ACCOUNT_ROOT = "arn:aws:iam::111122223333:root"
ADMIN = "arn:aws:iam::111122223333:role/cs-test-key-admin"


def statement(sid: str, effect: str, principal: Any, action: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, "Principal": principal, "Action": action, "Resource": "*",
            **({"Condition": condition} if condition is not None else {})}


ADMINISTRATION = statement("KeyAdministration", "Allow", {"AWS": ACCOUNT_ROOT}, ["kms:Put*", "kms:ScheduleKeyDeletion"],
                           {"ArnEquals": {"aws:PrincipalArn": [ADMIN]}})
NEVER_USE = statement("AdministratorsNeverUseTheKey", "Deny", {"AWS": "*"}, ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                      "kms:GenerateDataKey*"], {"ArnEquals": {"aws:PrincipalArn": [ADMIN]}})
LOGS = statement("Logs", "Allow", {"Service": "logs.us-east-1.amazonaws.com"}, "kms:Encrypt*",
                 {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*:111122223333:*"}})
DENY_HTTP = statement("DenyInsecureTransport", "Deny", "*", "s3:*", {"Bool": {"aws:SecureTransport": "false"}})
DENY_OLD_TLS = statement("DenyOutdatedTls", "Deny", "*", "s3:*", {"NumericLessThan": {"s3:TlsVersion": "1.2"}})
DENY_NOT_KMS = statement("DenyPutWithoutKmsEncryption", "Deny", "*", "s3:PutObject",
                         {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}})
DENY_OTHER_KEY = statement("DenyPutWithOtherKmsKey", "Deny", "*", "s3:PutObject",
                           {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:key/docs"}})
EXTERNAL_ID_TRUST = statement("Vendor", "Allow", {"AWS": ACCOUNT_ROOT}, "sts:AssumeRole",
                              {"StringEquals": {"sts:ExternalId": "generated-value"}})


def sse(algorithm: str, key: Any = None) -> dict[str, Any]:
    default = {"sseAlgorithm": algorithm, **({"kmsMasterKeyId": key} if key else {})}
    return {"rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": algorithm != "AES256"}], "bucket": "b"}


def world() -> World:
    b = Builder(None)  # no provider: no environment tier
    for data_class in keys.DATA_CLASSES:
        b.add(f"key-{data_class}", keys.KMS_KEY, {"enableKeyRotation": True, "deletionWindowInDays": 30,
                                                  "tags": {"data-classification": data_class},
                                                  "policy": policy(ADMINISTRATION, NEVER_USE, LOGS)})
    b.add("documents", enc.S3_BUCKET, {"tags": {"data-classification": "case-documents"}})
    b.add("documents-sse", enc.BUCKET_ENCRYPTION, sse("aws:kms", "arn:aws:kms:key/docs"),
          {"bucket": ["documents"], "rules": ["key-case-documents"]})
    b.add("documents-policy", enc.BUCKET_POLICY, {"policy": policy(DENY_HTTP, DENY_OLD_TLS, DENY_NOT_KMS, DENY_OTHER_KEY), "bucket": "b"},
          {"bucket": ["documents"], "policy": ["documents", "key-case-documents"]})
    b.add("access-logs", enc.S3_BUCKET, {"tags": {"data-classification": "audit-logs"}})
    b.add("access-logs-sse", enc.BUCKET_ENCRYPTION, sse("AES256"), {"bucket": ["access-logs"]})
    b.add("access-logs-policy", enc.BUCKET_POLICY, {"policy": policy(DENY_HTTP, DENY_OLD_TLS), "bucket": "b"}, {"bucket": ["access-logs"]})
    b.add("documents-logging", enc.BUCKET_LOGGING, {"bucket": "b", "targetBucket": "l"},
          {"bucket": ["documents"], "targetBucket": ["access-logs-policy"]})
    b.add("params", enc.DB_PARAMETER_GROUP, {"parameters": [{"name": "rds.force_ssl", "value": "1"}]})
    b.add("database", enc.DB_INSTANCE, {"storageEncrypted": True, "kmsKeyId": "k", "performanceInsightsEnabled": True,
                                        "performanceInsightsKmsKeyId": "k", "manageMasterUserPassword": True,
                                        "masterUserSecretKmsKeyId": "s", "parameterGroupName": "params", "username": "admin",
                                        "caCertIdentifier": "rds-ca-rsa2048-g1", "iamDatabaseAuthenticationEnabled": True},
          {"kmsKeyId": ["key-case-database"], "performanceInsightsKmsKeyId": ["key-case-database"],
           "masterUserSecretKmsKeyId": ["key-application-secrets"], "parameterGroupName": ["params"]})
    b.add("ledger", enc.TABLE, {"serverSideEncryption": {"enabled": True, "kmsKeyArn": "k"}},
          {"serverSideEncryption": ["key-case-database"]})
    b.add("flow-logs", enc.LOG_GROUP, {"kmsKeyId": "k"}, {"kmsKeyId": ["key-operational-logs"]})
    b.add("ebs-default", enc.EBS_DEFAULT_ENCRYPTION, {"enabled": True})
    b.add("ebs-default-key", enc.EBS_DEFAULT_KEY, {"keyArn": "k"}, {"keyArn": ["key-case-documents"]})
    volume = {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": "k"}}
    b.add("template", enc.LAUNCH_TEMPLATE, {"blockDeviceMappings": [volume], "metadataOptions": {"httpTokens": "required"}},
          {"blockDeviceMappings": ["key-case-documents"]})
    b.add("https", enc.LISTENERS[0], {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"})
    b.add("http", enc.LISTENERS[0], {"protocol": "HTTP", "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS"}}]})
    b.add("topic", enc.TOPIC, {"kmsMasterKeyId": "k"}, {"kmsMasterKeyId": ["key-operational-logs"]})
    b.add("external-id", "random:index/randomPassword:RandomPassword", {"length": 32, "special": False})
    secret_trust = {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": policy(EXTERNAL_ID_TRUST)}
    b.add("vendor", enc.IAM_ROLE, {"assumeRolePolicy": secret_trust}, {"assumeRolePolicy": ["external-id"]})
    b.add("app-client", "aws:cognito/userPoolClient:UserPoolClient",
          {"generateSecret": True, "tokenValidityUnits": {"accessToken": "hours"}})
    return b.world


def props(w: World, name: str) -> dict[str, Any]:
    """A resource's inputs, to edit in place."""
    return cast(dict[str, Any], w[name].props)


def key_policy(w: World, data_class: str, *statements: dict[str, Any]) -> None:
    props(w, f"key-{data_class}")["policy"] = policy(*statements)


def test_my_rules_are_the_encryption_controls() -> None:
    assert {RULES[r].control for r in MY_RULES} == {"KEY-01", "KEY-02", "KEY-03", *(f"ENC-0{i}" for i in range(1, 8)), "SEC-01"}


@pytest.mark.parametrize("rule_id", MY_RULES)
def test_compliant_world_passes(rule_id: str) -> None:
    assert check(rule_id, world()) == []


# --- KEY-01 -------------------------------------------------------------------------------------------------------

def test_rotation_off_fires_but_unknown_and_asymmetric_keys_do_not() -> None:
    w = world()
    props(w, "key-backups")["enableKeyRotation"] = False
    assert len(check("kms-keys-rotate", w)) == 1
    props(w, "key-backups")["enableKeyRotation"] = UNKNOWN
    assert check("kms-keys-rotate", w) == []
    props(w, "key-backups").update(enableKeyRotation=False, customerMasterKeySpec="RSA_2048")
    assert check("kms-keys-rotate", w) == []


def test_a_class_without_a_key_and_a_second_key_in_one_region_fire() -> None:
    w = world()
    props(w, "key-backups")["tags"] = {"data-classification": "case-documents"}
    found = check("every-data-class-has-its-own-key", w)
    assert len(found) == 2 and any("backups" in m for m in found) and any("second case-documents" in m for m in found)


def test_a_copy_key_in_another_region_and_an_unclassified_key() -> None:
    w = world()
    props(w, "key-backups")["region"] = "us-west-2"
    w["key-case-documents-copy"] = PolicyResource(keys.KMS_KEY, {**props(w, "key-case-documents"), "region": "us-west-2"},
                                                  "urn:copy", "copy", OPTIONS, None, None, [], {})
    assert check("every-data-class-has-its-own-key", w) == []
    props(w, "key-case-documents-copy")["tags"] = {}
    assert ["not classified" in m for m in check("every-data-class-has-its-own-key", w)] == [True]


# --- KEY-02 -------------------------------------------------------------------------------------------------------

def test_administrators_without_the_deny_fire() -> None:
    w = world()
    key_policy(w, "case-documents", ADMINISTRATION, LOGS)
    assert len(check("key-administrators-never-use-keys", w)) == 1


def test_a_deny_narrowed_by_another_condition_or_missing_an_action_does_not_count() -> None:
    w = world()
    narrowed = {**NEVER_USE, "Condition": {**NEVER_USE["Condition"], "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
    key_policy(w, "backups", ADMINISTRATION, narrowed)
    key_policy(w, "audit-logs", ADMINISTRATION, {**NEVER_USE, "Action": ["kms:Decrypt"]})
    assert len(check("key-administrators-never-use-keys", w)) == 2


def test_administration_by_the_bare_account_root_fires() -> None:
    w = world()
    key_policy(w, "backups", {k: v for k, v in ADMINISTRATION.items() if k != "Condition"}, NEVER_USE)
    assert ["lets every principal" in m for m in check("key-administrators-never-use-keys", w)] == [True]


def test_wildcard_denies_cover_administrators_and_unknown_policies_pass() -> None:
    w = world()
    key_policy(w, "backups", ADMINISTRATION, {**NEVER_USE, "Action": "kms:*",
                                              "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/cs-test-*"}}})
    props(w, "key-audit-logs")["policy"] = UNKNOWN
    assert check("key-administrators-never-use-keys", w) == []


@pytest.mark.parametrize(("days", "fires"), [(30, False), (None, False), (UNKNOWN, False), (7, True), (29, True)])
def test_deletion_window(days: Any, fires: bool) -> None:
    w = world()
    props(w, "key-backups")["deletionWindowInDays"] = days
    assert bool(check("key-deletion-waits-thirty-days", w)) is fires


# --- KEY-03 -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("statement", "fires"), [
    ({**LOGS, "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}, False),
    ({**LOGS, "Principal": {"AWS": "*"}, "Condition": {"StringEquals": {"kms:ViaService": "s3.amazonaws.com",
                                                                        "kms:CallerAccount": "111122223333"}}}, False),
    ({k: v for k, v in LOGS.items() if k != "Condition"}, True),
    ({**LOGS, "Principal": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}}, True),
    ({**LOGS, "Condition": {"ArnLike": {"aws:SourceArn": "*"}}}, True),
    ({**LOGS, "Principal": {"AWS": ACCOUNT_ROOT}, "Condition": {}}, False),  # our own IAM: KEY-02 and the IAM rules judge it
    ({**LOGS, "Effect": "Deny", "Condition": {}}, False),
])
def test_services_and_anyone_are_held_to_a_source(statement: dict[str, Any], fires: bool) -> None:
    w = world()
    key_policy(w, "operational-logs", ADMINISTRATION, NEVER_USE, statement)
    assert bool(check("key-policies-hold-services-to-a-source", w)) is fires


# --- ENC-01 -------------------------------------------------------------------------------------------------------

def test_documents_under_another_key_or_sse_s3_fire() -> None:
    w = world()
    w["documents-sse"].property_dependencies["rules"] = [w["key-audit-logs"]]
    assert ["case-documents key" in m for m in check("case-documents-encrypted-with-their-key", w)] == [True]
    props(w, "documents-sse").update(sse("AES256"))
    assert len(check("case-documents-encrypted-with-their-key", w)) == 3  # algorithm, key, bucket key


def test_documents_key_unknown_at_preview_passes_when_it_comes_from_the_key() -> None:
    w = world()
    props(w, "documents-sse")["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = UNKNOWN
    props(w, "documents-policy")["policy"] = UNKNOWN
    assert check("case-documents-encrypted-with-their-key", w) == []
    assert check("case-document-uploads-require-their-key", w) == []


def test_documents_without_default_encryption_fire() -> None:
    w = world()
    del w["documents-sse"]
    assert ["no default encryption" in m for m in check("case-documents-encrypted-with-their-key", w)] == [True]


def test_upload_denies_must_stand_alone_and_name_the_key() -> None:
    w = world()
    combined = {**DENY_NOT_KMS, "Condition": {"StringNotEquals": {**DENY_NOT_KMS["Condition"]["StringNotEquals"],
                                                                  **DENY_OTHER_KEY["Condition"]["StringNotEquals"]}}}
    props(w, "documents-policy")["policy"] = policy(DENY_HTTP, combined)
    assert len(check("case-document-uploads-require-their-key", w)) == 2
    props(w, "documents-policy")["policy"] = policy(DENY_HTTP, DENY_NOT_KMS, DENY_OTHER_KEY)
    w["documents-policy"].property_dependencies["policy"] = [w["documents"]]
    assert ["does not name the case-documents key" in m for m in check("case-document-uploads-require-their-key", w)] == [True]


# --- ENC-02 -------------------------------------------------------------------------------------------------------

def test_database_unencrypted_or_under_another_key_fires() -> None:
    w = world()
    props(w, "database")["storageEncrypted"] = False
    w["database"].property_dependencies["kmsKeyId"] = [w["key-case-documents"]]
    assert len(check("case-database-encrypted-with-its-key", w)) == 2


def test_performance_insights_without_a_key_fires_only_when_enabled() -> None:
    w = world()
    del props(w, "database")["performanceInsightsKmsKeyId"]  # the engine still records where it once came from
    assert len(check("performance-insights-encrypted-with-cmk", w)) == 1
    props(w, "database")["performanceInsightsEnabled"] = False
    assert check("performance-insights-encrypted-with-cmk", w) == []


# --- ENC-03 -------------------------------------------------------------------------------------------------------

def test_sse_s3_is_only_for_access_log_targets() -> None:
    w = world()
    assert check("buckets-encrypted-by-default", w) == []
    del w["documents-logging"]  # the access-log bucket is no longer a log target
    assert ["access-logs-sse" in m for m in check("buckets-encrypted-by-default", w)] == [True]


def test_kms_default_encryption_needs_a_customer_managed_key() -> None:
    w = world()
    props(w, "documents-sse")["rules"][0]["applyServerSideEncryptionByDefault"].pop("kmsMasterKeyId")
    assert len(check("buckets-encrypted-by-default", w)) == 1


def test_tables_without_a_customer_managed_key_fire() -> None:
    w = world()
    props(w, "ledger")["serverSideEncryption"] = {"enabled": True}
    assert len(check("tables-encrypted-with-cmk", w)) == 1
    props(w, "ledger")["serverSideEncryption"] = {"enabled": False}
    assert len(check("tables-encrypted-with-cmk", w)) == 1


# --- ENC-04, ENC-05, ENC-07 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule_id", "name", "prop"), [
    ("log-groups-encrypted-with-cmk", "flow-logs", "kmsKeyId"),
    ("topics-encrypted-with-cmk", "topic", "kmsMasterKeyId"),
    ("ebs-encrypted-by-default-with-cmk", "ebs-default-key", "keyArn"),
])
def test_key_inputs_must_come_from_a_key(rule_id: str, name: str, prop: str) -> None:
    w = world()
    props(w, name)[prop] = UNKNOWN
    assert check(rule_id, w) == []  # unknown at preview, but it came from a key
    w[name].property_dependencies[prop] = []
    assert len(check(rule_id, w)) == 1  # computed from something that is not a key
    del props(w, name)[prop]
    assert len(check(rule_id, w)) == 1


def test_ebs_default_encryption_off_or_unmanaged_fires() -> None:
    w = world()
    props(w, "ebs-default")["enabled"] = False
    assert len(check("ebs-encrypted-by-default-with-cmk", w)) == 1
    del w["ebs-default"], w["ebs-default-key"]
    assert len(check("ebs-encrypted-by-default-with-cmk", w)) == 2


def test_unencrypted_launch_template_volume_fires() -> None:
    w = world()
    props(w, "template")["blockDeviceMappings"][0]["ebs"]["encrypted"] = "false"
    assert len(check("launch-template-volumes-encrypted-with-cmk", w)) == 1


# --- ENC-06 -------------------------------------------------------------------------------------------------------

def test_bucket_policy_without_the_tls_deny_fires_but_an_unknown_policy_does_not() -> None:
    w = world()
    props(w, "access-logs-policy")["policy"] = policy({**DENY_HTTP, "Action": "s3:GetObject"})
    assert len(check("bucket-policies-deny-insecure-transport", w)) == 1
    props(w, "access-logs-policy")["policy"] = UNKNOWN
    assert check("bucket-policies-deny-insecure-transport", w) == []
    del w["access-logs-policy"]
    assert ["no bucket policy" in m for m in check("bucket-policies-deny-insecure-transport", w)] == [True]


@pytest.mark.parametrize(("value", "fires"), [("1", False), (UNKNOWN, False), ("0", True)])
def test_database_force_ssl(value: str, fires: bool) -> None:
    w = world()
    props(w, "params")["parameters"][0]["value"] = value
    assert bool(check("database-connections-require-tls", w)) is fires


def test_database_on_a_default_parameter_group_fires() -> None:
    w = world()
    w["database"].property_dependencies["parameterGroupName"] = []
    assert len(check("database-connections-require-tls", w)) == 1


@pytest.mark.parametrize(("ssl_policy", "fires"), [
    ("ELBSecurityPolicy-TLS13-1-3-2021-06", False), ("ELBSecurityPolicy-TLS-1-2-Ext-2018-06", False), (UNKNOWN, False),
    ("ELBSecurityPolicy-TLS13-1-0-2021-06", True), ("ELBSecurityPolicy-2016-08", True), (None, True),
])
def test_https_listener_tls_policy(ssl_policy: Any, fires: bool) -> None:
    w = world()
    props(w, "https")["sslPolicy"] = ssl_policy
    assert bool(check("https-listeners-negotiate-tls12-or-later", w)) is fires


@pytest.mark.parametrize(("prefixes", "ssl_policy", "fires"), [
    (["ELBSecurityPolicy-TLS13-1-3-"], "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", True),
    (["ELBSecurityPolicy-TLS13-1-3-"], "ELBSecurityPolicy-TLS13-1-3-2021-06", False),
    (["ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-FS-1-2-"], "ELBSecurityPolicy-FS-1-2-Res-2020-10", False),
])
def test_https_listener_tls_policies_are_read_from_the_floors_file(monkeypatch: pytest.MonkeyPatch, prefixes: list[str],
                                                                   ssl_policy: str, fires: bool) -> None:
    """The allow-list is policies/floors.yaml's (tls.load_balancer_policy_prefixes), not a constant of the rule."""
    shipped = floors.document()
    edited = {**shipped, "tls": {**shipped["tls"], "load_balancer_policy_prefixes": prefixes}}
    monkeypatch.setattr(floors, "document", lambda path=floors.FLOORS_PATH: edited)
    w = world()
    props(w, "https")["sslPolicy"] = ssl_policy
    assert bool(check("https-listeners-negotiate-tls12-or-later", w)) is fires


def test_the_live_audit_reads_the_same_tls_policies() -> None:
    assert tuple(floors.floor("tls.load_balancer_policy_prefixes")) == enc.TLS12_POLICY_PREFIXES


def test_http_listener_or_its_rule_that_forwards_fires() -> None:
    w = world()
    w["http-rule"] = PolicyResource(enc.LISTENER_RULES[0], {"actions": [{"type": "forward"}]}, "urn:rule", "http-rule", OPTIONS,
                                    None, None, [], {"listenerArn": [w["http"]]})
    assert ["http-rule" in m for m in check("http-listeners-only-redirect-to-https", w)] == [True]
    props(w, "http")["defaultActions"] = [{"type": "redirect", "redirect": {"protocol": "HTTP"}}]
    assert len(check("http-listeners-only-redirect-to-https", w)) == 2


# --- SEC-01 -------------------------------------------------------------------------------------------------------

def test_a_literal_database_password_fires_without_showing_it() -> None:
    w = world()
    props(w, "database").update(password="hunter2-hunter2", manageMasterUserPassword=False)
    found = check("database-master-password-managed-by-rds", w) + check("no-literal-credentials-in-inputs", w)
    assert len(found) == 3 and not any("hunter2" in m for m in found)


def test_the_master_secret_must_use_the_application_secrets_key() -> None:
    w = world()
    w["database"].property_dependencies["masterUserSecretKmsKeyId"] = [w["key-case-database"]]
    assert len(check("database-master-password-managed-by-rds", w)) == 1


@pytest.mark.parametrize(("props", "deps", "fires"), [
    ({"clientSecret": "literal"}, {}, True),
    ({"settings": {"authToken": {SECRET_SIG: SECRET_VALUE_SIG, "value": "literal"}}}, {}, True),  # as the engine marks a secret
    ({"clientSecret": "generated"}, {"clientSecret": ["external-id"]}, False),
    ({"clientSecret": UNKNOWN}, {}, False),
    ({"tokenValidityUnits": {"refreshToken": "hours"}, "httpTokens": "required", "generateSecret": True}, {}, False),
])
def test_literal_credentials(props: dict[str, Any], deps: dict[str, list[str]], fires: bool) -> None:
    w = world()
    w["subject"] = PolicyResource("aws:test/thing:Thing", props, "urn:subject", "subject", OPTIONS, None, None, [],
                                  {prop: [w[n] for n in names] for prop, names in deps.items()})
    found = check("no-literal-credentials-in-inputs", w)
    assert bool(found) is fires and not any("literal" in m.split("[")[1] for m in found)


def test_external_ids_must_be_generated_long_enough() -> None:
    w = world()
    props(w, "external-id")["length"] = 8
    assert len(check("external-ids-are-generated", w)) == 1
    w["vendor"].property_dependencies["assumeRolePolicy"] = []
    assert ["written into the program" in m for m in check("external-ids-are-generated", w)] == [True]
    props(w, "vendor")["assumeRolePolicy"] = UNKNOWN
    assert check("external-ids-are-generated", w) == []


# --- issue 14: the size of a setting (floors of policies/floors.yaml) ----------------------------------------------

@pytest.mark.parametrize(("tls", "fires"), [
    ([DENY_OLD_TLS], False), ([], True),
    ([statement("DenyOutdatedTls", "Deny", "*", "s3:*", {"NumericLessThan": {"s3:TlsVersion": "1.0"}})], True),
    ([statement("DenyOutdatedTls", "Deny", "*", "s3:*", {"NumericLessThan": {"s3:TlsVersion": 1.3}})], False),
    ([statement("DenyOutdatedTls", "Deny", "*", "s3:GetObject", {"NumericLessThan": {"s3:TlsVersion": "1.2"}})], True),
    ([statement("DenyOutdatedTls", "Deny", "*", "s3:*", {"NumericLessThanIfExists": {"s3:TlsVersion": "1.2"}})], True),
])
def test_bucket_policies_deny_outdated_tls(tls: list[dict[str, Any]], fires: bool) -> None:
    w = world()
    props(w, "documents-policy")["policy"] = policy(DENY_HTTP, *tls, DENY_NOT_KMS, DENY_OTHER_KEY)
    assert bool(check(enc.bucket_policies_deny_outdated_tls, w)) is fires


def test_bucket_tls_floor_unknown_policy_passes() -> None:
    w = world()
    props(w, "documents-policy")["policy"] = UNKNOWN
    assert check(enc.bucket_policies_deny_outdated_tls, w) == []


@pytest.mark.parametrize(("authority", "fires"), [
    ("rds-ca-rsa2048-g1", False), ("rds-ca-ecc384-g1", False), ("rds-ca-2019", True), (None, True), (UNKNOWN, False),
])
def test_case_database_presents_a_current_certificate(authority: Any, fires: bool) -> None:
    w = world()
    props(w, "database")["caCertIdentifier"] = authority
    if authority is None:
        props(w, "database").pop("caCertIdentifier")
    assert bool(check(enc.case_database_presents_a_current_certificate, w)) is fires


@pytest.mark.parametrize(("enabled", "fires"), [(True, False), (False, True), (None, True), (UNKNOWN, False)])
def test_case_database_accepts_iam_authentication(enabled: Any, fires: bool) -> None:
    w = world()
    props(w, "database")["iamDatabaseAuthenticationEnabled"] = enabled
    if enabled is None:
        props(w, "database").pop("iamDatabaseAuthenticationEnabled")
    assert bool(check(enc.case_database_accepts_iam_authentication, w)) is fires
