"""The CrossGuard policy pack: `pulumi preview --policy-pack policies` loads this file.

It runs in the project's virtualenv (see PulumiPolicy.yaml), where the `policies` and `caseshield` packages are
installed, so the engine runs the very rules `caseshield check` runs offline.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.catalog import load
from policies.pack import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(load()),
    description="CaseShield controls for a zero-trust legal case-management environment (policies/controls.yaml).",
)
