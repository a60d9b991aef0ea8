"""Waivers: valid ones waive, and expired, malformed or non-waivable ones fail the check."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from policies import catalog as catalog_module
from policies.waivers import parse

TODAY = dt.date(2026, 11, 23)
CATALOG = catalog_module.parse({"controls": [
    {"id": "NET-05", "title": "No SSH", "domain": "network", "requirement": {"source": "s", "section": "x", "text": "t"},
     "rationale": "r", "severity": "critical", "enforcement": "mandatory", "waivable": False,
     "frameworks": {"NIST-800-53": ["SC-7"]}, "rules": ["r1"], "runbook": "runbooks/x.md", "remediation": "m"},
    {"id": "EDGE-03", "title": "ALB hygiene", "domain": "edge", "requirement": {"source": "s", "section": "x", "text": "t"},
     "rationale": "r", "severity": "medium", "enforcement": "mandatory", "waivable": True,
     "frameworks": {"NIST-800-53": ["SC-7"]}, "rules": ["r2"], "runbook": "runbooks/x.md", "remediation": "m"},
]})


def waiver(**changes: Any) -> dict[str, Any]:
    entry = {
        "control": "EDGE-03", "stack": "dev", "resource": "*edge-alb*",
        "reason": "Dev load balancer is torn down nightly, so deletion protection would block the teardown job.",
        "owner": "platform-engineering", "approver": "ciso@lawfirm.example", "ticket": "SEC-1042",
        "expires": "2027-03-31",
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def test_a_valid_waiver_is_accepted_and_covers_matching_findings() -> None:
    waivers, problems = parse([waiver()], CATALOG, TODAY)
    assert problems == []
    (w,) = waivers
    assert w.covers("EDGE-03", "dev", "urn:pulumi:dev::caseshield::aws:lb/loadBalancer:LoadBalancer::caseshield-edge-alb")
    assert not w.covers("EDGE-03", "prod", "urn:pulumi:prod::caseshield::aws:lb/loadBalancer:LoadBalancer::caseshield-edge-alb")
    assert not w.covers("NET-05", "dev", "urn:pulumi:dev::caseshield::aws:lb/loadBalancer:LoadBalancer::caseshield-edge-alb")


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"expires": "2026-11-22"}, "expired on 2026-11-22"),
    ({"control": "NET-05"}, "may never be waived"),
    ({"reason": "TBD"}, "reason must explain"),
    ({"reason": "temporary"}, "reason must explain"),
    ({"approver": None}, "missing approver"),
    ({"ticket": ""}, "missing ticket"),
    ({"expires": "next spring"}, "expires must be a date"),
    ({"control": "XYZ-99"}, "names no control"),
    ({"approver": "platform-engineering"}, "someone other than the owner"),
    ({"severity": "low"}, "unknown field"),
])
def test_bad_waivers_are_problems_and_waive_nothing(changes: dict[str, Any], fragment: str) -> None:
    waivers, problems = parse([waiver(**changes)], CATALOG, TODAY)
    assert waivers == []
    assert any(fragment in str(p) for p in problems), [str(p) for p in problems]


def test_a_waiver_expiring_today_still_holds() -> None:
    waivers, problems = parse([waiver(expires=TODAY.isoformat())], CATALOG, TODAY)
    assert problems == [] and len(waivers) == 1
