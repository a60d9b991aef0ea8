"""The least-privilege IAM policy `caseshield audit` needs: exactly the read-only actions its checks declare.

`caseshield audit --print-policy` prints it; the security-auditor role of the role matrix must allow all of it
(tests/test_audit_live.py), so an auditor assuming that role can run every check.
"""

from __future__ import annotations

import json
from typing import Any

from caseshield.audit import load_all

# The account id and region are read at start; every check also needs them.
ALWAYS = ("sts:GetCallerIdentity",)
READ_PREFIXES = ("Get", "List", "Describe", "Lookup")


def actions() -> list[str]:
    return sorted({*ALWAYS, *(a for check in load_all().values() for a in check.actions)}, key=str.lower)


def audit_policy() -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "CaseShieldLiveAuditReadOnly", "Effect": "Allow", "Action": actions(), "Resource": "*"}]}


def render() -> str:
    return json.dumps(audit_policy(), indent=2)
