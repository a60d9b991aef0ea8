"""Build CrossGuard policy objects from the rule registry and the catalog.

The policy objects built here are what `policies/__main__.py` hands the Pulumi engine, and exactly what
`caseshield check` runs offline: one object per rule, carrying its control's id, severity, framework
references, remediation and enforcement level from `controls.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from policies import catalog as catalog_module
from policies.rules import RULES, Rule, load_all

PACK_NAME = "caseshield"
# The CLI reports the version of PulumiPolicy.yaml; the offline runner uses the same.
PACK_VERSION = str(yaml.safe_load((Path(__file__).parent / "PulumiPolicy.yaml").read_text())["version"])


def _scoped(rule: Rule) -> Any:
    """A resource validation that runs the rule only for the resource types it is written for."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in rule.resource_types:
            rule.check(args, report)

    validate.__doc__ = rule.check.__doc__
    return validate


def framework_references(control: catalog_module.Control) -> str:
    return "; ".join(f"{name} {', '.join(refs)}" for name, refs in control.frameworks.items())


def policy_for(rule: Rule, control: catalog_module.Control) -> Policy:
    common: dict[str, Any] = {
        "name": rule.id,
        "description": f"[{control.id}] {control.title}: {rule.description}",
        "enforcement_level": EnforcementLevel.MANDATORY if control.mandatory else EnforcementLevel.ADVISORY,
        "severity": Severity(control.severity),
        "framework": PolicyComplianceFramework(name="CaseShield controls", version="1", reference=control.id,
                                               specification=framework_references(control)),
        "tags": [control.id, control.domain],
        "remediation_steps": f"{control.remediation} Runbook: {control.runbook}",
    }
    if rule.kind == "resource":
        return ResourceValidationPolicy(validate=_scoped(rule), **common)
    return StackValidationPolicy(validate=rule.check, **common)


def build_policies(catalog: catalog_module.Catalog | None = None) -> list[Policy]:
    """Every registered rule as a policy, in catalog order; fails if a rule and the catalog disagree."""
    catalog = catalog or catalog_module.load()
    rules = load_all()
    problems = consistency_problems(catalog, rules)
    if problems:
        raise catalog_module.CatalogError("catalog and rules disagree:\n  " + "\n  ".join(problems))
    return [policy_for(RULES[rule_id], control) for control in catalog.controls for rule_id in control.rules]


def consistency_problems(catalog: catalog_module.Catalog, rules: dict[str, Rule]) -> list[str]:
    """Every control's rules exist and serve it; every rule is listed by its control."""
    problems = []
    listed: dict[str, str] = {}
    for control in catalog.controls:
        for rule_id in control.rules:
            listed[rule_id] = control.id
            if rule_id not in rules:
                problems.append(f"{control.id} lists rule {rule_id}, which is not registered")
            elif rules[rule_id].control != control.id:
                problems.append(f"{control.id} lists rule {rule_id}, which serves {rules[rule_id].control}")
    for rule_id, rule in rules.items():
        if rule_id not in listed:
            problems.append(f"rule {rule_id} (for {rule.control}) is not listed in the catalog")
    return sorted(problems)
