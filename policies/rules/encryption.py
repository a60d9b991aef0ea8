"""Encryption rules (ENC-*) and secrets kept out of the program (SEC-01).

Which key encrypts a store is read from where the value came from, not from the value: at preview a key's ARN is
unknown, so rules follow the property dependency to the aws:kms/key:Key it came from and read that key's
data-classification tag. A key input that is absent is the AWS-managed (or AWS-owned) default, whatever else the
resource depends on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.floors import floor
from policies.rules import resource_rule, stack_rule
from policies.rules._support import (
    S3_BUCKET,
    as_list,
    conditions,
    consumers,
    covers,
    document,
    environment,
    expect,
    get,
    is_anyone,
    is_list,
    is_unknown,
    of_type,
    origin_buckets,
    peek,
    reveal,
    sources,
    sources_of_type,
    statements,
    violation,
)
from policies.rules.keys import KMS_KEY, data_class

BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
DB_INSTANCE = "aws:rds/instance:Instance"
DB_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EBS_DEFAULT_ENCRYPTION = "aws:ebs/encryptionByDefault:EncryptionByDefault"
EBS_DEFAULT_KEY = "aws:ebs/defaultKmsKey:DefaultKmsKey"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TOPIC = "aws:sns/topic:Topic"
IAM_ROLE = "aws:iam/role:Role"
RANDOM_PACKAGE = "random:"

DOCUMENTS_CLASS = "case-documents"
DATABASE_CLASS = "case-database"
SECRETS_CLASS = "application-secrets"

SSE_KMS = ("aws:kms", "aws:kms:dsse")
SSE_S3 = "AES256"
# Case documents: exactly SSE-KMS, the algorithm their bucket policy requires of uploads.
DOCUMENTS_ALGORITHM = "aws:kms"
SSE_DEFAULT = "applyServerSideEncryptionByDefault"
# The upload headers the case-documents bucket policy must insist on, each in a Deny of its own (two keys in one
# StringNotEquals would deny only uploads that get both wrong).
SSE_HEADER = "s3:x-amz-server-side-encryption"
SSE_KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
# (header, required value or None for "the key", what a policy without that Deny allows)
UPLOAD_DENIES = ((SSE_HEADER, DOCUMENTS_ALGORITHM, "lets uploads choose SSE-S3 or no encryption"),
                 (SSE_KEY_HEADER, None, "lets uploads name another KMS key"))
NOT_EQUALS_OPERATORS = ("StringNotEquals", "StringNotEqualsIfExists", "ArnNotEquals", "ArnNotLike")
SECURE_TRANSPORT = "aws:securetransport"
FORCE_SSL_PARAMETER = "rds.force_ssl"
# ELB security policies that negotiate nothing older than TLS 1.2 (ELBSecurityPolicy-TLS13-1-0/1-1 and -2016-08 do), by
# name prefix: a floor the catalog owns (policies/floors.yaml `tls.load_balancer_policy_prefixes`), read per environment
# tier when a listener is judged. This tuple is the same floor, for the live audit (caseshield/audit/storage.py).
LOAD_BALANCER_TLS_POLICIES = "tls.load_balancer_policy_prefixes"
TLS12_POLICY_PREFIXES = tuple(floor(LOAD_BALANCER_TLS_POLICIES))
ENCRYPTED_PROTOCOLS = ("HTTPS", "TLS")
# Input names that hold a credential, matched at the end of the (case-insensitive) name.
CREDENTIAL_NAME = re.compile(r"(password|passphrase|secret|secretstring|secretkey|token|externalid|privatekey|apikey)$",
                             re.IGNORECASE)
# Inputs named like credentials that hold none: Cognito's unit ("hours") for each token's validity.
NOT_CREDENTIALS = frozenset({"tokenValidityUnits"})
REDACTED = "<redacted>"
EXTERNAL_ID_KEY = "sts:externalid"
# A generated ExternalId is at least this long (the identity component generates 32 alphanumerics).
EXTERNAL_ID_MIN_LENGTH = 32


def is_true(value: Any) -> bool:
    """True, or the string "true" (launch templates take booleans as strings)."""
    return value is True or str(value).lower() == "true"


def from_key(resource: PolicyResource, prop: str, path: str, report: ReportViolation, data_class_: str | None = None) -> bool:
    """Report unless the value at `path` (inside input `prop`) came from a customer-managed key, of `data_class_` if
    given. Returns whether it did."""
    value = reveal(peek(resource.props, path))  # unknown at a first preview: the key it came from decides
    keys = [k for k in sources_of_type(resource, prop, KMS_KEY) if data_class_ is None or data_class(k) == data_class_]
    if value is not None and keys:
        return True
    wanted = f"the {data_class_} key" if data_class_ else "a customer-managed key"
    tagged = f" tagged data-classification={data_class_}" if data_class_ else ""
    violation(report, f"{resource.name}: {path} does not come from {wanted}", path=path, actual=value,
              expected=f"the ARN of an {KMS_KEY}{tagged}", urn=resource.urn)
    return False


def missing(report: ReportViolation, resource: PolicyResource, what: str, expected: str) -> None:
    violation(report, f"{resource.name} has no {what}", path=what, actual=None, expected=expected, urn=resource.urn)


def buckets_of_class(args: StackValidationArgs, wanted: str) -> list[PolicyResource]:
    return [b for b in of_type(args, S3_BUCKET) if data_class(b) == wanted]


def encryption_configs(args: StackValidationArgs, bucket: PolicyResource, report: ReportViolation) -> list[PolicyResource]:
    """The bucket's default-encryption configurations; reported when it has none."""
    found = consumers(args, bucket, BUCKET_ENCRYPTION, "bucket")
    if not found:
        missing(report, bucket, "default encryption", f"an {BUCKET_ENCRYPTION} for the bucket")
    return found


def bucket_policies(args: StackValidationArgs, bucket: PolicyResource, report: ReportViolation) -> list[PolicyResource]:
    """The bucket's policies; reported when it has none."""
    found = consumers(args, bucket, BUCKET_POLICY, "bucket")
    if not found:
        missing(report, bucket, "bucket policy", f"an {BUCKET_POLICY} for the bucket")
    return found


def sse_rules(config: PolicyResource) -> list[str]:
    """Paths of a default-encryption configuration's rules (`rules.0` even when there is none, so it is reported)."""
    return [f"rules.{i}" for i in range(len(as_list(config.props.get("rules"))))] or ["rules.0"]


def policy_statements(resource: PolicyResource, prop: str = "policy") -> list[dict[str, Any]]:
    """Statements of a JSON policy input; none while it is not known (built from other resources' outputs)."""
    return statements(document(reveal(resource.props.get(prop))))


# --- ENC-01 -------------------------------------------------------------------------------------------------------

@stack_rule("ENC-01")
def case_documents_encrypted_with_their_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Case-document buckets default to SSE-KMS under the case-documents key, with an S3 bucket key.
    Implemented by components/documents.py (DocumentStore) through components/buckets.py (SecureBucket)."""
    for bucket in buckets_of_class(args, DOCUMENTS_CLASS):
        for config in encryption_configs(args, bucket, report):
            for rule in sse_rules(config):
                expect(report, config, f"{rule}.{SSE_DEFAULT}.sseAlgorithm", (DOCUMENTS_ALGORITHM,), expected=DOCUMENTS_ALGORITHM)
                from_key(config, "rules", f"{rule}.{SSE_DEFAULT}.kmsMasterKeyId", report, DOCUMENTS_CLASS)
                expect(report, config, f"{rule}.bucketKeyEnabled", (True,), expected="true")


def denies_put_unless(statement: Mapping[str, Any], header: str, value: str | None = None) -> bool:
    """Whether a statement denies everyone's uploads unless they send `header` (as `value`, if given), on that
    condition alone."""
    tests = conditions(statement)
    return (statement.get("Effect") == "Deny" and is_anyone(statement.get("Principal"))
            and covers(statement.get("Action"), "s3:PutObject") and len(tests) == 1
            and tests[0][0] in NOT_EQUALS_OPERATORS and tests[0][1] == header and (value is None or tests[0][2] == [value]))


@stack_rule("ENC-01")
def case_document_uploads_require_their_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Case-document bucket policies deny uploads that are not SSE-KMS under the case-documents key.
    Implemented by components/buckets.py (require_kms_statements), applied by components/documents.py (DocumentStore)."""
    for bucket in buckets_of_class(args, DOCUMENTS_CLASS):
        for policy in bucket_policies(args, bucket, report):
            found = policy_statements(policy)
            for header, value, gap in UPLOAD_DENIES:
                if found and not any(denies_put_unless(s, header, value) for s in found):
                    violation(report, f"{policy.name} {gap}", path="policy", actual=[s.get("Sid") for s in found],
                              expected=f"a Deny of s3:PutObject unless {header} is {value or 'the case-documents key'}",
                              urn=policy.urn)
            if not any(data_class(k) == DOCUMENTS_CLASS for k in sources_of_type(policy, "policy", KMS_KEY)):
                violation(report, f"{policy.name} does not name the case-documents key", path="policy",
                          actual=[s.name for s in sources(policy, "policy")],
                          expected=f"a policy built from the key tagged data-classification={DOCUMENTS_CLASS}", urn=policy.urn)


# --- ENC-02 -------------------------------------------------------------------------------------------------------

@stack_rule("ENC-02")
def case_database_encrypted_with_its_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Database storage (and so its snapshots and automated backups) is encrypted with the case-database key.
    Implemented by components/database.py (CaseDatabase)."""
    for db in of_type(args, DB_INSTANCE):
        expect(report, db, "storageEncrypted", (True,), expected="true")
        from_key(db, "kmsKeyId", "kmsKeyId", report, DATABASE_CLASS)


@stack_rule("ENC-02")
def performance_insights_encrypted_with_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    """Performance Insights, which samples SQL text and so case data, is encrypted with a customer-managed key.
    Implemented by components/database.py (CaseDatabase)."""
    for db in of_type(args, DB_INSTANCE):
        if db.props.get("performanceInsightsEnabled") is True:
            from_key(db, "performanceInsightsKmsKeyId", "performanceInsightsKmsKeyId", report)


# --- ENC-03 -------------------------------------------------------------------------------------------------------

def access_log_targets(args: StackValidationArgs) -> set[str]:
    """URNs of the buckets that receive S3 server access logs or load-balancer access logs."""
    feeds = [(r, "targetBucket") for r in of_type(args, BUCKET_LOGGING)] + [(r, "accessLogs") for r in of_type(args, *LOAD_BALANCERS)]
    return {bucket.urn for resource, prop in feeds for bucket in origin_buckets(resource, prop)}


@stack_rule("ENC-03")
def buckets_encrypted_by_default(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket defaults to SSE-KMS under a customer-managed key; only access-log targets may use SSE-S3.
    Implemented by components/buckets.py (SecureBucket; AccessLogBucket for the SSE-S3 exception).

    S3 server access logging and load-balancer access logs cannot be delivered to SSE-KMS buckets."""
    log_targets = access_log_targets(args)
    for bucket in of_type(args, S3_BUCKET):
        accepted = (*SSE_KMS, SSE_S3) if bucket.urn in log_targets else SSE_KMS
        for config in encryption_configs(args, bucket, report):
            for rule in sse_rules(config):
                path = f"{rule}.{SSE_DEFAULT}"
                algorithm = get(config.props, f"{path}.sseAlgorithm")
                if expect(report, config, f"{path}.sseAlgorithm", accepted, expected=" or ".join(accepted)) and algorithm in SSE_KMS:
                    from_key(config, "rules", f"{path}.kmsMasterKeyId", report)


@stack_rule("ENC-03")
def tables_encrypted_with_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    """DynamoDB tables (the privacy ledger) are encrypted with a customer-managed key, not the AWS-owned one.
    Implemented by components/ledger.py (PrivacyLedger)."""
    for table in of_type(args, TABLE):
        if expect(report, table, "serverSideEncryption.enabled", (True,), expected="true"):
            from_key(table, "serverSideEncryption", "serverSideEncryption.kmsKeyArn", report)


# --- ENC-04 -------------------------------------------------------------------------------------------------------

@stack_rule("ENC-04")
def log_groups_encrypted_with_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every CloudWatch log group is encrypted with a customer-managed key.
    Implemented where each group is made: components/network.py (flow logs), audit.py, database.py, edge.py, app_tier.py."""
    for group in of_type(args, LOG_GROUP):
        from_key(group, "kmsKeyId", "kmsKeyId", report)


# --- ENC-05 -------------------------------------------------------------------------------------------------------

@stack_rule("ENC-05")
def ebs_encrypted_by_default_with_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    """EBS encryption by default is on in the account and region, with a customer-managed default key.
    Implemented by components/keys.py (KeyHierarchy: EncryptionByDefault, DefaultKmsKey)."""
    settings = of_type(args, EBS_DEFAULT_ENCRYPTION)
    if not settings:
        violation(report, "EBS encryption by default is not managed: new volumes may be unencrypted", path="enabled",
                  actual=None, expected=f"an {EBS_DEFAULT_ENCRYPTION} with enabled true")
    for setting in settings:
        expect(report, setting, "enabled", lambda enabled: enabled is not False, expected="true (the default)")
    default_keys = of_type(args, EBS_DEFAULT_KEY)
    if not default_keys:
        violation(report, "the EBS default key is the AWS-managed aws/ebs key", path="keyArn", actual=None,
                  expected=f"an {EBS_DEFAULT_KEY} whose keyArn comes from a customer-managed key")
    for default_key in default_keys:
        from_key(default_key, "keyArn", "keyArn", report)


@stack_rule("ENC-05")
def launch_template_volumes_encrypted_with_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every EBS volume a launch template maps is encrypted with a customer-managed key.
    Implemented by components/app_tier.py (ApplicationTier launch template)."""
    for template in of_type(args, LAUNCH_TEMPLATE):
        for i, mapping in enumerate(as_list(template.props.get("blockDeviceMappings"))):
            if get(mapping, "ebs") is not None:
                expect(report, template, f"blockDeviceMappings.{i}.ebs.encrypted", is_true, expected='"true"')
                from_key(template, "blockDeviceMappings", f"blockDeviceMappings.{i}.ebs.kmsKeyId", report)


# --- ENC-06 -------------------------------------------------------------------------------------------------------

def denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    """Whether a statement denies everyone every S3 action over plain HTTP (and on no other condition)."""
    tests = conditions(statement)
    return (statement.get("Effect") == "Deny" and is_anyone(statement.get("Principal")) and covers(statement.get("Action"), "s3:*")
            and len(tests) == 1 and tests[0][1] == SECURE_TRANSPORT and [str(v).lower() for v in tests[0][2]] == ["false"])


@stack_rule("ENC-06")
def bucket_policies_deny_insecure_transport(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket's policy denies all S3 actions when aws:SecureTransport is false.
    Implemented by components/buckets.py (SecureBucket, tls_only_statements)."""
    for bucket in of_type(args, S3_BUCKET):
        for policy in bucket_policies(args, bucket, report):
            found = policy_statements(policy)
            if found and not any(denies_insecure_transport(s) for s in found):
                violation(report, f"{policy.name} does not refuse plain HTTP", path="policy", actual=[s.get("Sid") for s in found],
                          expected='a Deny of s3:* for Principal "*" when aws:SecureTransport is "false"', urn=policy.urn)


def parameter_groups(db: PolicyResource, report: ReportViolation, unset: str) -> list[PolicyResource]:
    """The stack's parameter groups the database uses; reports the database (nothing sets `unset`) if there is none."""
    groups = sources_of_type(db, "parameterGroupName", DB_PARAMETER_GROUP)
    if not groups:
        violation(report, f"{db.name} does not use a parameter group of this stack, so nothing sets {unset}",
                  path="parameterGroupName", actual=peek(db.props, "parameterGroupName"),
                  expected=f"the name of an {DB_PARAMETER_GROUP} of this stack", urn=db.urn)
    return groups


@stack_rule("ENC-06")
def database_connections_require_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    """The database's parameter group forces TLS on every connection (rds.force_ssl = 1).
    Implemented by components/database.py (CaseDatabase PARAMETERS)."""
    for db in of_type(args, DB_INSTANCE):
        for group in parameter_groups(db, report, f"{FORCE_SSL_PARAMETER}=1"):
            values = [p.get("value") for p in as_list(group.props.get("parameters")) if get(p, "name") == FORCE_SSL_PARAMETER]
            if not any(is_unknown(v) or str(v) == "1" for v in values):
                violation(report, f"{group.name} lets clients connect without TLS", path=f"parameters.{FORCE_SSL_PARAMETER}",
                          actual=values[0] if values else None, expected='"1"', urn=group.urn)


@stack_rule("ENC-06")
def https_listeners_negotiate_tls12_or_later(args: StackValidationArgs, report: ReportViolation) -> None:
    """HTTPS and TLS listeners use an ELB security policy that negotiates TLS 1.2 or later only: one of the families of
    policies/floors.yaml. Implemented by components/edge.py (EdgeProtection SSL_POLICY)."""
    for listener in of_type(args, *LISTENERS):
        if listener.props.get("protocol") in ENCRYPTED_PROTOCOLS:
            prefixes = tuple(str(p) for p in floor(LOAD_BALANCER_TLS_POLICIES, environment(listener)))
            expect(report, listener, "sslPolicy", lambda name, prefixes=prefixes: isinstance(name, str) and name.startswith(prefixes),
                   expected=f"a policy named {'*, '.join(prefixes)}* (policies/floors.yaml {LOAD_BALANCER_TLS_POLICIES}; absent "
                            "means ELBSecurityPolicy-2016-08)")


TLS_VERSION = "s3:tlsversion"


def tls_version_floor(statement: Mapping[str, Any]) -> float | None:
    """The TLS version below which a statement denies everyone every S3 action (NumericLessThan s3:TlsVersion, and no
    other condition); None if it is no such Deny."""
    tests = conditions(statement)
    if not (statement.get("Effect") == "Deny" and is_anyone(statement.get("Principal")) and covers(statement.get("Action"), "s3:*")
            and len(tests) == 1 and tests[0][0] == "NumericLessThan" and tests[0][1] == TLS_VERSION and len(tests[0][2]) == 1):
        return None
    try:
        return float(tests[0][2][0])
    except (TypeError, ValueError):
        return None


@stack_rule("ENC-06")
def bucket_policies_deny_outdated_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket's policy denies all S3 actions over TLS older than the floor of policies/floors.yaml (1.2).
    Implemented by components/buckets.py (SecureBucket, tls_only_statements: DenyOutdatedTls)."""
    for bucket in of_type(args, S3_BUCKET):
        minimum = floor("tls.minimum_version", environment(bucket))
        for policy in consumers(args, bucket, BUCKET_POLICY, "bucket"):
            found = policy_statements(policy)
            floors = [v for v in (tls_version_floor(s) for s in found) if v is not None]
            if found and not any(v >= float(minimum) for v in floors):
                violation(report, f"{policy.name} accepts TLS older than {minimum}", path="policy", actual=floors,
                          expected=f'a Deny of s3:* for Principal "*" when NumericLessThan s3:TlsVersion "{minimum}" (or higher)',
                          urn=policy.urn)


@resource_rule("ENC-06", DB_INSTANCE)
def case_database_presents_a_current_certificate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The database's server certificate is signed by a current RDS certificate authority of policies/floors.yaml
    (clients verifying it trust nothing retired). Implemented by components/database.py (CaseDatabase, ca_cert_identifier)."""
    authorities = floor("tls.rds_certificate_authorities", environment(args))
    expect(report, args, "caCertIdentifier", lambda value: value in authorities, expected=f"one of {authorities} (named explicitly)")


def redirects_to_https(action: Any) -> bool:
    return get(action, "type") == "redirect" and get(action, "redirect.protocol") == "HTTPS"


@stack_rule("ENC-06")
def http_listeners_only_redirect_to_https(args: StackValidationArgs, report: ReportViolation) -> None:
    """Plain-HTTP listeners (and their rules) do nothing but redirect to HTTPS.
    Implemented by components/edge.py (EdgeProtection HTTP listener)."""
    for listener in of_type(args, *LISTENERS):
        if listener.props.get("protocol") != "HTTP":
            continue
        rules = [rule for type_ in LISTENER_RULES for rule in consumers(args, listener, type_, "listenerArn")]
        routed = [(listener, "defaultActions"), *[(rule, "actions") for rule in rules]]
        for resource, prop in routed:
            for i, _ in enumerate(as_list(resource.props.get(prop))):
                expect(report, resource, f"{prop}.{i}", redirects_to_https, expected="a redirect to HTTPS",
                       message=f"{resource.name} serves plain HTTP instead of redirecting to HTTPS")


# --- ENC-07 -------------------------------------------------------------------------------------------------------

@stack_rule("ENC-07")
def topics_encrypted_with_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    """SNS topics (the incident topic carries finding details) are encrypted with a customer-managed key.
    Implemented by components/alerting.py (IncidentAlerting topic)."""
    for topic in of_type(args, TOPIC):
        from_key(topic, "kmsMasterKeyId", "kmsMasterKeyId", report)


# --- SEC-01 -------------------------------------------------------------------------------------------------------

@stack_rule("SEC-01")
def database_master_password_managed_by_rds(args: StackValidationArgs, report: ReportViolation) -> None:
    """The database master password is managed by RDS under the application-secrets key, never an input.
    Implemented by components/database.py (CaseDatabase)."""
    for db in of_type(args, DB_INSTANCE):
        if db.props.get("replicateSourceDb") is not None:
            continue  # a replica has no master password of its own
        if db.props.get("password") is not None:
            violation(report, f"{db.name} sets its master password in the program", path="password", actual=REDACTED,
                      expected="no password input (manageMasterUserPassword true)", urn=db.urn)
        expect(report, db, "manageMasterUserPassword", (True,), expected="true")
        from_key(db, "masterUserSecretKmsKeyId", "masterUserSecretKmsKeyId", report, SECRETS_CLASS)


def credential_literals(path: str, name: str, value: Any) -> Iterator[str]:
    """Paths under `path` where a credential-named input holds a literal string."""
    value = reveal(value)
    if name in NOT_CREDENTIALS:
        return
    # An unknown value is computed by another resource at a first preview: by definition not written down.
    if isinstance(value, Mapping):
        for key in value:
            yield from credential_literals(f"{path}.{key}", str(key), peek(value, str(key)))
    elif is_list(value):
        for i in range(len(value)):
            yield from credential_literals(f"{path}.{i}", name, peek(value, str(i)))
    elif isinstance(value, str) and value and not is_unknown(value) and CREDENTIAL_NAME.search(name):
        yield path


@stack_rule("SEC-01")
def no_literal_credentials_in_inputs(args: StackValidationArgs, report: ReportViolation) -> None:
    """No input named like a password, secret, token or API key holds a string written into the program.
    Implemented by components/database.py (RDS-managed password) and components/identity.py (generated ExternalId).

    Credentials come from another resource (generated, or kept in Secrets Manager) or are managed by the service."""
    for resource in args.resources:
        for prop in resource.props:
            if sources(resource, prop):
                continue  # computed from another resource: generated, not written down
            for path in credential_literals(prop, prop, peek(resource.props, prop)):
                violation(report, f"{resource.name}: {path} is a credential written into the program", path=path,
                          actual=REDACTED, expected="a value generated by another resource or managed by the service",
                          urn=resource.urn)


@stack_rule("SEC-01")
def external_ids_are_generated(args: StackValidationArgs, report: ReportViolation) -> None:
    """Trust policies that require an sts:ExternalId take it from a generated random value of at least 32 characters.
    Implemented by components/identity.py (RoleMatrix._vendor_external_id)."""
    for role in of_type(args, IAM_ROLE):
        found = policy_statements(role, "assumeRolePolicy")
        if not any(key == EXTERNAL_ID_KEY for s in found for _, key, _ in conditions(s)):
            continue
        generators = [s for s in sources(role, "assumeRolePolicy") if s.resource_type.startswith(RANDOM_PACKAGE)]
        if not generators:
            violation(report, f"{role.name}: the ExternalId its trust policy requires is written into the program",
                      path="assumeRolePolicy", actual=REDACTED, expected="a policy built from a random:* resource's result",
                      urn=role.urn)
        for generator in generators:
            if "length" in generator.props:
                expect(report, generator, "length", lambda n: isinstance(n, (int, float)) and n >= EXTERNAL_ID_MIN_LENGTH,
                       expected=f">= {EXTERNAL_ID_MIN_LENGTH} characters")


@resource_rule("SEC-01", DB_INSTANCE)
def case_database_accepts_iam_authentication(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The case database accepts IAM authentication, so the application connects with short-lived tokens, not a stored
    password. Implemented by components/database.py (CaseDatabase, iam_database_authentication_enabled)."""
    expect(report, args, "iamDatabaseAuthenticationEnabled", (True,), expected="true (absent means false)")
