"""Run parliament inside its own tool environment (.tools/parliament), for caseshield/iam_lint.py.

One-shot (no argument): stdin is one JSON object {"documents": {"<key>": "<policy JSON text>", ...}}; stdout is one
JSON object {"<key>": [{"issue", "severity", "title", "detail"}, ...]} with parliament's own severities (its
config.yaml).

`--serve`: the same, one request per line of stdin and one answer per line of stdout, {"findings": {...}} (or
{"error": "<traceback>"} when parliament raised), until stdin closes. parliament is imported once for all requests,
and a document already linted is answered from memory (its findings depend on its text alone).

Nothing goes to the network: parliament reads the IAM definition it ships with.
"""

import gc
import json
import sys
import traceback
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


def serve() -> int:
    gc.freeze()  # parliament's IAM definition, loaded once, need not be walked by every collection
    known: dict[str, list[dict]] = {}
    for line in sys.stdin:
        try:
            documents = json.loads(line)["documents"]
            answer: dict = {"findings": {}}
            for key, text in documents.items():
                if text not in known:
                    known[text] = findings(text)
                answer["findings"][key] = known[text]
        except Exception:  # the caller fails the check on it (iam_lint.LintUnavailable)
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def main() -> int:
    if sys.argv[1:] == ["--serve"]:
        return serve()
    request = json.load(sys.stdin)
    json.dump({key: findings(text) for key, text in request["documents"].items()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
