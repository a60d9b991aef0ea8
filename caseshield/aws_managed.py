"""AWS managed policy documents, from the dated copy moto ships (`moto.iam.aws_managed_policies`, pinned with moto).

Why a library's copy: a role's effective access includes the AWS managed policies attached to it, and judging them by
name ("ReadOnlyAccess is read-only") misses what they read: ReadOnlyAccess grants s3:GetObject on every bucket. moto
keeps each policy's default version with the date AWS last updated it (about 1,600 of them), offline, and the
project already pins moto for its AWS tests; a newer moto brings newer documents through the lock file's review.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any


@cache
def _policies() -> dict[str, dict[str, Any]]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    loaded: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
    return loaded


def document(name: str) -> dict[str, Any] | None:
    """The default version's document of the AWS managed policy `name` (`ReadOnlyAccess`); None if the copy lacks it."""
    found = _policies().get(name)
    doc = found.get("Document") if found else None
    return doc if isinstance(doc, dict) else None


def updated(name: str) -> str | None:
    """When AWS last updated the policy, as the copy records it (the copy's date for this policy)."""
    found = _policies().get(name)
    return str(found["UpdateDate"]) if found and found.get("UpdateDate") else None
