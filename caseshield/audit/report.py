"""Reports of `caseshield audit`: per stack, every control the live checks observe x its result, with the messages.

The same formats as `caseshield check`, so the same readers take them: Markdown and HTML for reviewers (built once
as caseshield/render blocks, so both pages say the same thing), JSON for tools, SARIF 2.1.0 for code-scanning
dashboards and JUnit XML for CI (one test case per check and stack).

JSON document (`caseshield-audit.json`, `"format": "caseshield-audit/1"`):

    {"format": "caseshield-audit/1", "generated_at": ISO-8601 UTC, "passed": bool (every check of every stack passed),
     "stub_tested": [check ids whose reads moto lacks; their tests answer with botocore-validated stub responses],
     "stacks": [{"stack": name, "account": id or null, "region": name, "seconds": float, "passed": bool,
                 "counts": {"pass": n, "fail": n, "error": n},
                 "controls": {control id: "pass" | "fail" | "error"  (the worst result of its checks)},
                 "checks": [{"check": id, "control": id, "status": "pass" | "fail" | "error",
                             "description": first docstring line, "actions": [IAM actions], "messages": [text]}]}]}

A check is `pass` only when it observed the account and found nothing wrong: `fail` carries what it found,
`error` why it could not observe (AccessDenied, throttling after botocore's retries, a resource not found, ...).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caseshield import render
from caseshield.audit import LIVE_CHECKS, load_all
from caseshield.audit.runner import StackAudit
from caseshield.render import markdown, write_atomically
from caseshield.render._blocks import Block, Heading, Item, Items, Span, Table, para
from caseshield.render.html_page import page
from policies import catalog as catalog_module

TITLE = "CaseShield live audit"
FORMAT = "caseshield-audit/1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"fail": "error", "error": "error"}


@dataclass
class AuditReport:
    stacks: list[StackAudit]
    accounts: dict[str, str | None] = field(default_factory=dict)  # stack -> account id (None: not readable)
    regions: dict[str, str] = field(default_factory=dict)
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @property
    def passed(self) -> bool:
        """Nothing audited is never a pass; otherwise every check of every stack passed."""
        return bool(self.stacks) and all(r.status == "pass" for s in self.stacks for r in s.results)


def stub_tested() -> list[str]:
    """Checks whose reads moto lacks: tested with responses in the service model's shapes, not a moto account."""
    return sorted(c.id for c in load_all().values() if c.stub_tested)


def counts(audit: StackAudit) -> dict[str, int]:
    return {s: sum(r.status == s for r in audit.results) for s in ("pass", "fail", "error")}


def _titles() -> dict[str, str]:
    return {c.id: c.title for c in catalog_module.load().controls}


# --- Markdown and HTML (one block document) -------------------------------------------------------------------------

def blocks(report: AuditReport) -> list[Block]:
    titles = _titles()
    out: list[Block] = [Heading(1, TITLE),
                        para("Verdict: ", Span("pass" if report.passed else "fail", status="pass" if report.passed else "fail"),
                             f" (generated {report.generated_at})")]
    for audit in report.stacks:
        n = counts(audit)
        out.append(Heading(2, f"Stack {audit.stack}"))
        out.append(para(f"Account {report.accounts.get(audit.stack) or 'unknown'}, region {report.regions.get(audit.stack, '?')}: "
                        f"{n['pass']} pass, {n['fail']} fail, {n['error']} error in {audit.seconds:.1f} s"))
        rows = tuple((Span(r.control, code=True), Span(titles.get(r.control, "")), Span(r.check, code=True),
                      Span(r.status, status=r.status), Span("; ".join(r.messages)))
                     for r in sorted(audit.results, key=lambda r: (r.control, r.check)))
        out.append(Table(("Control", "Title", "Check", "Result", "Messages"), rows))
        problems = [r for r in audit.results if r.status != "pass"]
        if problems:
            out.append(Heading(3, "Failures and errors"))
            out.append(Items(tuple(Item((Span(f"{r.control} {r.check}: "), Span(r.status, status=r.status)),
                                        tuple(("message", (Span(m),)) for m in r.messages)) for r in problems)))
    out.append(Heading(2, "Notes"))
    out.append(para("Checks tested against botocore-validated stub answers (reads moto lacks), not a moto account: ",
                    Span(", ".join(stub_tested()) or "none", code=True)))
    out.append(para("An error is never a pass: AccessDenied, throttling after botocore's retries, a missing API or a "
                    "resource not found leave the control unobserved."))
    return out


def render_md(report: AuditReport) -> str:
    return markdown.serialise(blocks(report))


def render_html(report: AuditReport) -> str:
    return page(TITLE, blocks(report))


# --- JSON -----------------------------------------------------------------------------------------------------------

def document(report: AuditReport) -> dict[str, Any]:
    return {"format": FORMAT, "generated_at": report.generated_at, "passed": report.passed, "stub_tested": stub_tested(),
            "stacks": [{"stack": a.stack, "account": report.accounts.get(a.stack), "region": report.regions.get(a.stack),
                        "seconds": round(a.seconds, 3), "passed": a.passed and bool(a.results), "counts": counts(a),
                        "controls": a.controls(),
                        "checks": [{"check": r.check, "control": r.control, "status": r.status,
                                    "description": LIVE_CHECKS[r.check].description if r.check in LIVE_CHECKS else "",
                                    "actions": list(LIVE_CHECKS[r.check].actions) if r.check in LIVE_CHECKS else [],
                                    "messages": list(r.messages)} for r in a.results]}
                       for a in report.stacks]}


def render_json(report: AuditReport) -> str:
    return json.dumps(document(report), indent=2, sort_keys=True) + "\n"


# --- SARIF 2.1.0 ----------------------------------------------------------------------------------------------------

def sarif_log(report: AuditReport) -> dict[str, Any]:
    """One rule per live check; one result per failing or erroring check and stack, located logically at the stack."""
    titles = _titles()
    checks = sorted({r.check for a in report.stacks for r in a.results} | set(load_all()))
    index = {c: i for i, c in enumerate(checks)}
    rules = [{"id": c, "name": c.replace("-", " "),
              "shortDescription": {"text": LIVE_CHECKS[c].description if c in LIVE_CHECKS else c},
              "properties": {"control": LIVE_CHECKS[c].control if c in LIVE_CHECKS else "",
                             "controlTitle": titles.get(LIVE_CHECKS[c].control, "") if c in LIVE_CHECKS else "",
                             "stubTested": bool(c in LIVE_CHECKS and LIVE_CHECKS[c].stub_tested)}} for c in checks]
    results = []
    for a in report.stacks:
        for r in a.results:
            if r.status == "pass":
                continue
            text = f"{r.control} on stack {a.stack}: {r.status}: " + ("; ".join(r.messages) or "no detail")
            results.append({
                "ruleId": r.check, "ruleIndex": index[r.check], "level": LEVELS[r.status], "kind": "fail",
                "message": {"text": text},
                "locations": [{"logicalLocations": [{"name": a.stack, "fullyQualifiedName": f"stack/{a.stack}/{r.control}",
                                                      "kind": "resource"}]}],
                "partialFingerprints": {"caseshieldAudit/v1": hashlib.sha256(f"{a.stack}|{r.check}|{r.status}".encode()).hexdigest()},
                "properties": {"stack": a.stack, "control": r.control, "status": r.status}})
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "caseshield-audit", "rules": rules}},
        "invocations": [{"executionSuccessful": not any(r.status == "error" for a in report.stacks for r in a.results),
                         "endTimeUtc": report.generated_at}],
        "results": results,
        "properties": {"passed": report.passed, "stubTested": stub_tested()}}]}


def render_sarif(report: AuditReport) -> str:
    return json.dumps(sarif_log(report), indent=2, sort_keys=True) + "\n"


# --- JUnit ----------------------------------------------------------------------------------------------------------

def render_junit(report: AuditReport) -> str:
    """One <testsuite> per stack, one <testcase> per check: <failure> when it found drift, <error> when it could not observe."""
    root = ET.Element("testsuites", name="caseshield-audit")
    for a in report.stacks:
        n = counts(a)
        suite = ET.SubElement(root, "testsuite", name=f"audit.{a.stack}", tests=str(len(a.results)), failures=str(n["fail"]),
                              errors=str(n["error"]), skipped="0", time=f"{a.seconds:.3f}", timestamp=report.generated_at)
        for r in a.results:
            case = ET.SubElement(suite, "testcase", classname=f"{a.stack}.{r.control}", name=r.check)
            if r.status != "pass":
                tag = "failure" if r.status == "fail" else "error"
                ET.SubElement(case, tag, message="; ".join(r.messages)[:500], type=r.status).text = "\n".join(r.messages)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


RENDERERS: dict[str, tuple[str, Callable[[AuditReport], str]]] = {
    "md": ("caseshield-audit.md", render_md),
    "html": ("caseshield-audit.html", render_html),
    "json": ("caseshield-audit.json", render_json),
    "sarif": ("caseshield-audit.sarif", render_sarif),
    "junit": ("caseshield-audit-junit.xml", render_junit),
}


def clear(out_dir: Path) -> None:
    """As `caseshield check` clears its reports, for the audit's only: check's reports in the same directory stay."""
    render.clear(out_dir, [name for name, _ in RENDERERS.values()], "audit reports")


def write(report: AuditReport, formats: list[str], out_dir: Path) -> list[Path]:
    written = []
    for fmt in formats:
        name, render = RENDERERS[fmt]
        path = out_dir / name
        write_atomically(path, render(report).encode("utf-8"))
        written.append(path)
    return written
