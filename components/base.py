"""Small conventions every component shares: resource options, policy documents, names and tags."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from caseshield.settings import Settings

# The data classes of the case-management system; each gets its own customer-managed key.
DATA_CLASSES = (
    "case-documents",
    "case-database",
    "audit-logs",
    "backups",
    "application-secrets",
    "operational-logs",
)


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for an ordinary child of a component."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def stateful(parent: pulumi.Resource, settings: Settings, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a resource that holds data or evidence: in prod neither a config change nor a destroy may
    delete it (`protect` blocks the engine, `retain_on_delete` keeps it in AWS if it is ever removed)."""
    return pulumi.ResourceOptions(parent=parent, protect=settings.is_prod, retain_on_delete=settings.is_prod,
                                  **kwargs)


def policy_document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """An IAM/resource policy document as JSON; statements may hold Outputs (ARNs of other resources)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def static_policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


# Data classes whose stores AWS Backup protects; their resources carry BACKUP_TAG, which the backup plan selects on.
BACKED_UP_CLASSES = frozenset({"case-documents", "case-database", "privacy-records"})
BACKUP_TAG = ("backup-plan", "daily")


def classified(data_class: str | None, **extra: str) -> dict[str, str]:
    """Tags for a resource that holds one data class (project/environment/owner come from provider default tags).

    Stores of a backed-up class also get the backup selection tag, so nothing that holds case data can be added
    without being backed up.
    """
    tags = dict(extra)
    if data_class:
        tags["data-classification"] = data_class
    if data_class in BACKED_UP_CLASSES:
        tags[BACKUP_TAG[0]] = BACKUP_TAG[1]
    return tags


def role_name(settings: Settings, role: str) -> str:
    """The IAM role name of a role-matrix role; fixed so key policies can name roles before they exist."""
    return f"{settings.name_prefix}-{role}"


def role_arn(partition: str, account: str, settings: Settings, role: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name(settings, role)}"


@dataclass
class DataClassScope:
    """What one data class consists of, so IAM permissions name exactly its resources.

    `resource_arns` are the ARNs the data-class actions apply to (bucket and bucket/*, log group, ...);
    `database_user_arn_prefix`, for the case database, is `arn:aws:rds-db:<region>:<account>:dbuser:<resource-id>`.
    """

    key_arn: pulumi.Input[str]
    resource_arns: Sequence[pulumi.Input[str]] = ()
    database_user_arn_prefix: pulumi.Input[str] | None = None
