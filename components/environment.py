"""CaseManagementEnvironment: the whole zero-trust environment, composed from one component per capability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from caseshield import role_matrix
from caseshield.settings import Settings
from components.keys import KeyHierarchy, KeyHierarchyArgs


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
        identity = aws.get_caller_identity(opts=invoke)
        partition = aws.get_partition(opts=invoke)
        matrix = role_matrix.load()

        self.keys = KeyHierarchy(f"{name}-keys", KeyHierarchyArgs(
            settings=s, matrix=matrix, account_id=identity.account_id, partition=partition.partition), scoped)
        self.register_outputs(self.exports())

    def exports(self) -> dict[str, Any]:
        """Stack outputs a reviewer or an auditor needs."""
        return {f"key_arn_{dc.replace('-', '_')}": key.arn for dc, key in self.keys.keys.items()}
