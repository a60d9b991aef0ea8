"""Encryption, key-management and secrets mutants (KEY-*, ENC-*, SEC-01): one breakage per rule.

Key and property inputs that a mutant removes are gone from the resource even though the engine's record of where
they came from remains; the rules treat an absent key input as the AWS default, so removal is how these mutants
switch a store to AWS-managed encryption.
"""

from __future__ import annotations

from typing import Any

from policies.mutants import Props, drop_prop, drop_statement, each_statement, edit, edit_document, mutant, set_prop

KMS_KEY = "aws:kms/key:Key"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LISTENER = "aws:lb/listener:Listener"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

SSE_DEFAULT = "rules.0.applyServerSideEncryptionByDefault"


def sse_s3(props: Props) -> None:
    """Default encryption switched to SSE-S3 (AES256), with no key."""
    default = props["rules"][0]["applyServerSideEncryptionByDefault"]
    default["sseAlgorithm"] = "AES256"
    default.pop("kmsMasterKeyId", None)


def force_ssl_off(props: Props) -> None:
    for parameter in props["parameters"]:
        if parameter["name"] == "rds.force_ssl":
            parameter["value"] = "0"


def literal_master_password(props: Props) -> None:
    props.update(password="CaseShield-2024!", manageMasterUserPassword=False)
    props.pop("masterUserSecretKmsKeyId", None)


def anyone_unconditioned(statement: dict[str, Any]) -> None:
    statement["Principal"] = {"AWS": "*"}
    statement.pop("Condition", None)


# --- KEY-01 -------------------------------------------------------------------------------------------------------
mutant("key-01-rotation-off", "KEY-01", "the case-documents key stops rotating",
       transform=set_prop(KMS_KEY, "enableKeyRotation", False, name="*-keys-case-documents"))
mutant("key-01-backups-key-reclassified", "KEY-01", "the backups key is tagged case-documents: backups lose their own key",
       transform=set_prop(KMS_KEY, "tags.data-classification", "case-documents", name="*-keys-backups"))

# --- KEY-02 -------------------------------------------------------------------------------------------------------
mutant("key-02-administrators-may-decrypt", "KEY-02", "the case-documents key policy loses AdministratorsNeverUseTheKey",
       transform=edit_document(KMS_KEY, "policy", drop_statement("AdministratorsNeverUseTheKey"), name="*-keys-case-documents"))
mutant("key-02-seven-day-deletion-window", "KEY-02", "the audit-logs key can be deleted after 7 days",
       transform=set_prop(KMS_KEY, "deletionWindowInDays", 7, name="*-keys-audit-logs"))

# --- KEY-03 -------------------------------------------------------------------------------------------------------
mutant("key-03-logs-service-unconditioned", "KEY-03", "CloudWatch Logs may use the operational-logs key for any account",
       transform=edit_document(KMS_KEY, "policy", each_statement(lambda s: s.pop("Condition"), "CloudWatchLogsForThisAccountOnly"),
                               name="*-keys-operational-logs"))
mutant("key-03-anyone-may-use-database-key", "KEY-03", 'the case-database key lets {"AWS": "*"} use it unconditioned',
       transform=edit_document(KMS_KEY, "policy", each_statement(anyone_unconditioned, "ServiceUseThroughOurAccountOnly"),
                               name="*-keys-case-database"))

# --- ENC-01 -------------------------------------------------------------------------------------------------------
mutant("enc-01-documents-sse-s3", "ENC-01", "the case-documents bucket defaults to SSE-S3 (AES256)",
       transform=edit(BUCKET_ENCRYPTION, sse_s3, name="*-documents-*"))
mutant("enc-01-uploads-under-any-key", "ENC-01", "the documents bucket policy no longer denies uploads under another key",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("DenyPutWithOtherKmsKey"), name="*-documents-*"))

# --- ENC-02 -------------------------------------------------------------------------------------------------------
mutant("enc-02-storage-unencrypted", "ENC-02", "the case database's storage is not encrypted",
       transform=set_prop(DB_INSTANCE, "storageEncrypted", False))
mutant("enc-02-performance-insights-aws-key", "ENC-02", "Performance Insights falls back to the AWS-managed aws/rds key",
       transform=drop_prop(DB_INSTANCE, "performanceInsightsKmsKeyId"))

# --- ENC-03 -------------------------------------------------------------------------------------------------------
mutant("enc-03-audit-archive-sse-s3", "ENC-03", "the audit archive (not an access-log target) defaults to SSE-S3",
       transform=edit(BUCKET_ENCRYPTION, sse_s3, name="*-audit-archive-*"))
mutant("enc-03-ledger-aws-owned-key", "ENC-03", "the privacy ledger table is encrypted with the AWS-managed key",
       transform=drop_prop(TABLE, "serverSideEncryption.kmsKeyArn"))

# --- ENC-04 -------------------------------------------------------------------------------------------------------
mutant("enc-04-flow-logs-unencrypted", "ENC-04", "the VPC flow-log group has no customer-managed key",
       transform=drop_prop(LOG_GROUP, "kmsKeyId", name="*-network-flow-logs"))

# --- ENC-05 -------------------------------------------------------------------------------------------------------
mutant("enc-05-ebs-default-encryption-off", "ENC-05", "EBS encryption by default is disabled",
       transform=set_prop("aws:ebs/encryptionByDefault:EncryptionByDefault", "enabled", False))
mutant("enc-05-launch-template-unencrypted", "ENC-05", "the application launch template's root volume is unencrypted",
       transform=set_prop("aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings.0.ebs.encrypted", "false"))

# --- ENC-06 -------------------------------------------------------------------------------------------------------
mutant("enc-06-access-logs-allow-http", "ENC-06", "the access-log bucket policy loses DenyInsecureTransport",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("DenyInsecureTransport"), name="*-access-logs-*"))
mutant("enc-06-database-ssl-optional", "ENC-06", "the database parameter group sets rds.force_ssl to 0",
       transform=edit(DB_PARAMETER_GROUP, force_ssl_off))
mutant("enc-06-alb-tls-2016", "ENC-06", "the HTTPS listener negotiates ELBSecurityPolicy-2016-08 (TLS 1.0)",
       transform=set_prop(LISTENER, "sslPolicy", "ELBSecurityPolicy-2016-08", name="*-edge-https"))
mutant("enc-06-http-listener-forwards", "ENC-06", "the HTTP listener forwards to the application instead of redirecting",
       transform=set_prop(LISTENER, "defaultActions", [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:tg"}],
                          name="*-edge-http"))

# --- ENC-07 -------------------------------------------------------------------------------------------------------
mutant("enc-07-topic-unencrypted", "ENC-07", "the incident topic has no customer-managed key",
       transform=drop_prop("aws:sns/topic:Topic", "kmsMasterKeyId"))

# --- SEC-01 -------------------------------------------------------------------------------------------------------
mutant("sec-01-literal-database-password", "SEC-01", "the database master password is written into the program",
       transform=edit(DB_INSTANCE, literal_master_password))
mutant("sec-01-short-external-id", "SEC-01", "the vendor ExternalId is generated with only 8 characters",
       transform=set_prop(RANDOM_PASSWORD, "length", 8, name="*-vendor-external-id"))


# --- issue 14: the size of a setting, not only its presence (floors of policies/floors.yaml) ------------------------

def tls_floor(version: str) -> Any:
    def change(statement: dict[str, Any]) -> None:
        statement["Condition"] = {"NumericLessThan": {"s3:TlsVersion": version}}

    return change


mutant("enc-06-documents-tls-floor-1-0", "ENC-06", "the documents bucket policy denies only TLS below 1.0",
       transform=edit_document(BUCKET_POLICY, "policy", each_statement(tls_floor("1.0"), "DenyOutdatedTls"), name="*-documents-*"))
mutant("enc-06-access-logs-tls-deny-dropped-dev", "ENC-06", "dev's access-log bucket policy loses DenyOutdatedTls",
       transform=edit_document(BUCKET_POLICY, "policy", drop_statement("DenyOutdatedTls"), name="*-access-logs-*"), stack="dev")
mutant("enc-06-database-outdated-ca", "ENC-06", "the case database presents a certificate of the retired rds-ca-2019 CA",
       transform=set_prop(DB_INSTANCE, "caCertIdentifier", "rds-ca-2019"))
mutant("enc-06-alb-tls13-1-1", "ENC-06", "the HTTPS listener negotiates ELBSecurityPolicy-TLS13-1-1-2021-06 (TLS 1.1)",
       transform=set_prop(LISTENER, "sslPolicy", "ELBSecurityPolicy-TLS13-1-1-2021-06", name="*-edge-https"))
mutant("enc-06-alb-tls-fs-1-1-dev", "ENC-06", "dev's HTTPS listener negotiates ELBSecurityPolicy-FS-1-1-2019-08 (TLS 1.1)",
       transform=set_prop(LISTENER, "sslPolicy", "ELBSecurityPolicy-FS-1-1-2019-08", name="*-edge-https"), stack="dev")
mutant("sec-01-database-iam-auth-off", "SEC-01", "the case database no longer accepts IAM authentication (passwords only)",
       transform=set_prop(DB_INSTANCE, "iamDatabaseAuthenticationEnabled", False))


# --- KEY-01, KEY-02, KEY-03: effective access of the data-class keys (policies/key-intents.yaml) ---------------------
KMS_ALIAS = "aws:kms/alias:Alias"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


mutant("key-01-backups-alias-renamed", "KEY-01", "the backups key's alias leaves alias/<prefix>/: the live audit cannot find the key",
       transform=set_prop(KMS_ALIAS, "name", "alias/retired/backups", name="*-keys-backups-alias"))
mutant("key-02-nobody-administers-backups-key", "KEY-02", "the backups key policy loses KeyAdministration: a key lockout",
       transform=edit_document(KMS_KEY, "policy", drop_statement("KeyAdministration"), name="*-keys-backups"))
mutant("key-03-cloudtrail-cannot-encrypt", "KEY-03", "CloudTrail may no longer encrypt the trail with the audit-logs key: a blind audit",
       transform=edit_document(KMS_KEY, "policy", drop_statement("CloudTrailEncryptsOnlyOurTrail"), name="*-keys-audit-logs"))
mutant("key-03-config-decrypts-without-s3", "KEY-03", "Config's role may use the audit-logs key directly, not only through S3",
       transform=edit_document(KMS_KEY, "policy", each_statement(lambda s: s["Condition"]["StringEquals"].pop("kms:ViaService"),
                                                                  "ConfigRecorderWritesToArchive"), name="*-keys-audit-logs"))
mutant("key-03-instance-role-decrypts-any-key", "KEY-03", "the instance role may kms:Decrypt with any key, not only the session key",
       transform=edit_document(ROLE_POLICY, "policy", each_statement(lambda s: s.update(Resource="*"), "DecryptSessionManagerSessions"),
                               name="*-instance-session-key"))
mutant("key-03-instance-role-loses-session-key", "KEY-03", "the instance role may no longer decrypt the session key: no shell",
       transform=edit_document(ROLE_POLICY, "policy", drop_statement("DecryptSessionManagerSessions"), name="*-instance-session-key"))
