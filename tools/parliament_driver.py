"""Run parliament inside its own tool environment (.tools/parliament), for caseshield/iam_lint.py.

stdin: one JSON object {"documents": {"<key>": "<policy JSON text>", ...}}. stdout: one JSON object
{"<key>": [{"issue", "severity", "title", "detail"}, ...]} with parliament's own severities (its config.yaml).
Nothing goes to the network: parliament reads the IAM definition it ships with.
"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")  # pkg_resources' deprecation notice, on stderr of every run

from parliament import analyze_policy_string, enhance_finding  # type: ignore[import-not-found]  # noqa: E402


def findings(text: str) -> list[dict]:
    policy = analyze_policy_string(text)
    found = []
    for finding in policy.findings:
        finding = enhance_finding(finding)
        found.append({"issue": finding.issue, "severity": str(finding.severity), "title": str(finding.title),
                      "detail": str(finding.detail)})
    return found


def main() -> int:
    request = json.load(sys.stdin)
    json.dump({key: findings(text) for key, text in request["documents"].items()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
