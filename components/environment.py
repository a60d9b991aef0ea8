"""CaseManagementEnvironment: the whole zero-trust environment, composed from one component per capability.

Order follows dependencies: keys first (everything encrypts with them), then the network, the stores that hold
case data, identity (whose permissions name those stores), the audit trail, detection and alerting, the edge and
application tier, patching and backup. Each capability lives in its own module; this file only wires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield import role_matrix
from caseshield.settings import Settings
from components.app_tier import ApplicationTier, ApplicationTierArgs
from components.audit import AuditTrail, AuditTrailArgs
from components.backup import BackupProtection, BackupProtectionArgs
from components.base import DataClassScope
from components.buckets import AccessLogBucket, AccessLogBucketArgs
from components.database import CaseDatabase, CaseDatabaseArgs
from components.detection import ThreatDetection, ThreatDetectionArgs
from components.documents import DocumentStore, DocumentStoreArgs
from components.edge import EdgeProtection, EdgeProtectionArgs
from components.identity import AccountGuardrails, AccountGuardrailsArgs, RoleMatrixRoles, RoleMatrixRolesArgs
from components.keys import KeyHierarchy, KeyHierarchyArgs
from components.ledger import PrivacyLedger, PrivacyLedgerArgs
from components.network import ZeroTrustNetwork, ZeroTrustNetworkArgs
from components.org_guardrail import OrganizationGuardrail, OrganizationGuardrailArgs, rendered_documents
from components.patching import PatchManagement, PatchManagementArgs
from components.service_roles import ServiceRoleBoundary, ServiceRoleBoundaryArgs
from components.user_directory import UserDirectory, UserDirectoryArgs

ACCESS_LOG_DAYS = 400  # server and load-balancer access logs: a year of who-read-what, plus a quarter's review lag
ALB_LOG_PREFIX = "alb"


@dataclass
class CaseManagementEnvironmentArgs:
    settings: Settings


class CaseManagementEnvironment(pulumi.ComponentResource):
    def __init__(self, name: str, args: CaseManagementEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:environment:CaseManagementEnvironment", name, None, opts)
        s = args.settings
        # One explicit provider: the region is the validated one, and every resource carries the default tags.
        self.provider = aws.Provider(
            f"{name}-aws",
            region=s.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags={
                "project": "caseshield", "environment": s.environment, "owner": s.owner, "stack": s.stack,
            }),
            opts=pulumi.ResourceOptions(parent=self),
        )
        scoped = pulumi.ResourceOptions(parent=self, providers={"aws": self.provider})
        invoke = pulumi.InvokeOptions(parent=self, provider=self.provider)
        account = aws.get_caller_identity(opts=invoke).account_id
        partition = aws.get_partition(opts=invoke).partition
        zones = aws.get_availability_zones(state="available", opts=invoke).names
        matrix = role_matrix.load()

        self.keys = KeyHierarchy(f"{name}-keys", KeyHierarchyArgs(s, matrix, account, partition), scoped)
        key = self.keys.keys
        # Every service role below carries it; the deployer may create them under no other (components/service_roles.py).
        self.service_boundary = ServiceRoleBoundary(f"{name}-service-boundary", ServiceRoleBoundaryArgs(
            s, partition, account), scoped)
        bounded = self.service_boundary.policy.arn
        self.network = ZeroTrustNetwork(f"{name}-network", ZeroTrustNetworkArgs(
            s, key["operational-logs"], zones, service_boundary_arn=bounded), scoped)
        net = self.network

        self.access_logs = AccessLogBucket(f"{name}-access-logs", AccessLogBucketArgs(
            s, account, ACCESS_LOG_DAYS, elb_log_prefix=ALB_LOG_PREFIX), scoped)
        access_log_bucket = self.access_logs.secure.policy.bucket  # the policy exists before anyone logs here
        self.documents = DocumentStore(f"{name}-documents", DocumentStoreArgs(
            s, key["case-documents"], [net.s3_endpoint.id], access_log_bucket, account, partition), scoped)
        self.database = CaseDatabase(f"{name}-database", CaseDatabaseArgs(
            s, key["case-database"], key["application-secrets"], [sn.id for sn in net.data_subnets], net.vpc.id,
            log_key_arn=key["operational-logs"].arn, service_boundary_arn=bounded), scoped)
        self.ledger = PrivacyLedger(f"{name}-ledger", PrivacyLedgerArgs(s, key["case-database"]), scoped)

        self.backup = BackupProtection(f"{name}-backup", BackupProtectionArgs(
            s, key["backups"], partition, account, service_boundary_arn=bounded), scoped)
        self.audit = AuditTrail(f"{name}-audit", AuditTrailArgs(
            s, key["audit-logs"], access_log_bucket, self.documents.bucket.arn, account, partition,
            service_boundary_arn=bounded), scoped)
        self.roles = RoleMatrixRoles(f"{name}-roles", RoleMatrixRolesArgs(
            s, matrix, account, partition, self._scopes(f"arn:{partition}:backup:{s.region}:{account}")), scoped)
        self.guardrails = AccountGuardrails(f"{name}-guardrails", AccountGuardrailsArgs(s), scoped)
        self.users = UserDirectory(f"{name}-users", UserDirectoryArgs(s, matrix, account), scoped)
        # The organisation guardrail (off by default): its documents are rendered either way, for review; its
        # policies exist only when switched on, managed through the policy administrator's role (see its module).
        guardrail = OrganizationGuardrailArgs(s, matrix, account, partition, self._scopes(
            f"arn:{partition}:backup:{s.region}:{account}"), [self.roles.boundary.arn, self.service_boundary.policy.arn])
        self.org_guardrail_documents = rendered_documents(guardrail)
        self.org_guardrail = (OrganizationGuardrail(f"{name}-org-guardrail", guardrail, pulumi.ResourceOptions(parent=self))
                              if s.org_guardrail_enabled else None)

        self.detection = ThreatDetection(f"{name}-detection", ThreatDetectionArgs(
            s, key["operational-logs"], self.audit.log_group.name, self.audit.archive_bucket.bucket,
            self.documents.bucket.bucket, account, partition, audit_archive_key_arn=key["audit-logs"].arn,
            service_boundary_arn=bounded), scoped)
        self.edge = EdgeProtection(f"{name}-edge", EdgeProtectionArgs(
            s, net.vpc.id, [sn.id for sn in net.public_subnets], access_log_bucket, self.users.user_pool.arn,
            self.users.client.id, self.users.domain.domain, key["operational-logs"], access_log_prefix=ALB_LOG_PREFIX),
            scoped)
        self.app = ApplicationTier(f"{name}-app", ApplicationTierArgs(
            s, net.vpc.id, s.vpc_cidr, [sn.id for sn in net.app_subnets], self.edge.alb_security_group.id,
            self.edge.target_group.arn, key["case-documents"], key["audit-logs"],
            endpoint_security_group_id=net.endpoint_security_group.id,
            endpoint_prefix_list_ids=[net.s3_endpoint.prefix_list_id],
            database_security_group_id=self.database.security_group.id, service_boundary_arn=bounded), scoped)
        # The database admits the application tier only; created here because each side needs the other's group.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-database-from-app",
            security_group_id=self.database.security_group.id,
            referenced_security_group_id=self.app.security_group.id,
            ip_protocol="tcp", from_port=5432, to_port=5432,
            description="PostgreSQL from the application tier only",
            opts=pulumi.ResourceOptions(parent=self.database),
        )
        self.patching = PatchManagement(f"{name}-patching", PatchManagementArgs(s, self.app.patch_group), scoped)
        self.register_outputs(self.exports())

    def _scopes(self, backup_arn_prefix: str) -> dict[str, DataClassScope]:
        """What each data class consists of, for the role matrix's least-privilege permissions."""
        key = self.keys.keys

        def bucket_scope(bucket: aws.s3.Bucket) -> list[pulumi.Input[str]]:
            return [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")]

        return {
            "case-documents": DataClassScope(key["case-documents"].arn, bucket_scope(self.documents.bucket)),
            "case-database": DataClassScope(key["case-database"].arn, [self.database.instance.arn, self.ledger.table.arn],
                                            self.database.database_user_arn_prefix),
            "audit-logs": DataClassScope(key["audit-logs"].arn, [
                *bucket_scope(self.audit.archive_bucket), self.audit.trail.arn,
                pulumi.Output.concat(self.audit.log_group.arn, ":*")]),
            "backups": DataClassScope(key["backups"].arn, [self.backup.vault.arn, f"{backup_arn_prefix}:recovery-point:*"]),
            "application-secrets": DataClassScope(key["application-secrets"].arn, [
                self.database.instance.master_user_secrets.apply(lambda secrets: (secrets[0].secret_arn or "") if secrets else "")]),
            "operational-logs": DataClassScope(key["operational-logs"].arn, [
                pulumi.Output.concat(self.network.flow_log_group.arn, ":*")]),
        }

    def exports(self) -> dict[str, Any]:
        """Stack outputs a reviewer or an auditor needs."""
        outputs: dict[str, Any] = {f"key_arn_{dc.replace('-', '_')}": k.arn for dc, k in self.keys.keys.items()}
        outputs.update({
            "vpc_id": self.network.vpc.id,
            "documents_bucket": self.documents.bucket.bucket,
            "audit_archive_bucket": self.audit.archive_bucket.bucket,
            "access_log_bucket": self.access_logs.bucket.bucket,
            "database_endpoint": self.database.instance.endpoint,
            "privacy_ledger_table": self.ledger.table.name,
            "trail_arn": self.audit.trail.arn,
            "incident_topic_arn": self.detection.topic.arn,
            "alb_dns_name": self.edge.load_balancer.dns_name,
            "certificate_validation_records": self.edge.validation_records,
            "user_pool_id": self.users.user_pool.id,
            "backup_vault_arn": self.backup.vault.arn,
            "role_arns": {role: r.arn for role, r in self.roles.roles.items()},
            "org_guardrail_documents": self.org_guardrail_documents,
        })
        return outputs
