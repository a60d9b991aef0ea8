"""Organisation guardrail mutants (ORG-*): the guardrail switched on, then weakened, each caught by ORG-01.

The guardrail is off on every shipped stack, so a mutant of it needs two things `mutant()` keeps apart: settings
overrides that switch it on (a valid configuration: a settings mutant alone is judged as a settings change) and a
transform that weakens what it then deploys. The baseline a mutant is judged against is the unmutated stack, which
has no guardrail at all; the switched-on, unweakened guardrail passes ORG-01 (tests/test_org_guardrail.py), so
whatever ORG-01 reports here is the weakening.
"""

from __future__ import annotations

from typing import Any

import pulumi

from policies.mutants import MUTANTS, Mutant, drop_statement, edit_document

ORG_POLICY = "aws:organizations/policy:Policy"
# A valid switched-on configuration of the guardrail: the stack's (moto's) account, attached to an OU that holds it,
# managed through a policy administrator's role in another (the management) account.
ENABLED: dict[str, Any] = {
    "orgGuardrailEnabled": True,
    "orgGuardrailTargetIds": ["ou-ab12-cd34ef56"],
    "orgGuardrailAdminRoleArn": "arn:aws:iam::111122223333:role/caseshield-org-policy-admin",
    "aws:allowedAccountIds": ["123456789012"],
}


def guardrail_mutant(id: str, description: str, transform: pulumi.ResourceTransform, stack: str = "prod") -> Mutant:
    """Register a mutant of ORG-01 on `stack` with the guardrail switched on (`ENABLED`) and weakened by `transform`."""
    if id in MUTANTS:
        raise ValueError(f"mutant {id} is registered twice")
    MUTANTS[id] = Mutant(id, "ORG-01", description, stack, transform, dict(ENABLED), {})
    return MUTANTS[id]


def exempt_the_deployer(sid: str) -> Any:
    """Add the CI deployer (a matrix role the matrix keeps from case data) to a statement's exempt principals."""

    def change(document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            if statement.get("Sid") != sid:
                continue
            for tests in statement["Condition"].values():
                arns = tests.get("aws:PrincipalArn")
                if arns:
                    administrator = next(a for a in arns if a.endswith("-break-glass"))
                    tests["aws:PrincipalArn"] = [*arns, administrator.removesuffix("break-glass") + "ci-deployer"]

    return change


guardrail_mutant("org-01-deployer-exempted-from-case-documents",
                 "the SCP's case-documents deny exempts the CI deployer, a role the matrix keeps from case data",
                 edit_document(ORG_POLICY, "content", exempt_the_deployer("CaseDocumentsOnlyToTheMatrix"), "*-scp"))
guardrail_mutant("org-01-boundary-removal-deny-dropped",
                 "the SCP no longer denies removing a boundary or editing the boundary policy",
                 edit_document(ORG_POLICY, "content", drop_statement("BoundariesStay"), "*-scp"))
guardrail_mutant("org-01-rcp-leaves-the-database-secret-open",
                 "the RCP's deny on the database secret and its key is dropped: any account's principal may read it",
                 edit_document(ORG_POLICY, "content", drop_statement("ApplicationSecretsOnlyToTheMatrix"), "*-rcp"))
