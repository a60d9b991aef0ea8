"""JUnit XML, so any CI shows each control on each stack as a test: red exactly when the check fails.

A failed mandatory control is a `<failure>` carrying its evidence; a stack whose settings are invalid makes each of
its controls an `<error>` (nothing could be checked). Advisory warnings and waived findings do not fail the check,
so they are passing tests whose `<system-out>` names the warnings or the waiver: a CI that reads `<skipped>` as
"not run" would otherwise hide that the control was checked. Parity, waiver problems and mutation coverage are
tests of a "caseshield" suite because they fail the check too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from caseshield.render import _model as m
from caseshield.render import third_party

if TYPE_CHECKING:
    from caseshield.report import CheckReport, Finding, StackReport
    from policies.catalog import Control

_INVALID_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(report: CheckReport) -> str:
    root = ET.Element("testsuites", name="caseshield")
    suites = [_stack_suite(s, report) for s in m.stacks(report)] + [_caseshield_suite(report)]
    for suite in suites:
        _count(suite)
        root.append(suite)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(name: str, report: CheckReport) -> ET.Element:
    return ET.Element("testsuite", name=name, timestamp=report.generated_at)


def _stack_suite(s: StackReport, report: CheckReport) -> ET.Element:
    suite = _suite(s.stack, report)
    props = ET.SubElement(suite, "properties")
    for name, value in (("environment", s.environment), ("resource_count", str(s.resource_count))):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    grouped = dict(m.findings_by_control(s))
    for c in m.controls(report.catalog):
        _control_case(suite, s, c, grouped.get(c.id, []))
    if s.checkov is not None:
        _checkov_case(suite, s)
    if s.live is not None:
        _live_cases(suite, s)
    return suite


def _live_cases(suite: ET.Element, s: StackReport) -> None:
    """One case per live-checked control: a failure when the audit found drift, an error when it could not observe."""
    assert s.live is not None
    for control, result in s.live.controls.items():
        case = _case(suite, s.stack, f"{control} (live audit)")
        problems = [p for p in s.live.problems if p.control == control]
        if result != "pass":
            _outcome(case, "failure" if result == "fail" else "error",
                     f"live audit: {'drift' if result == 'fail' else 'not observed'}", "live",
                     "\n".join(f"{p.check} ({p.status}): {'; '.join(p.messages)}" for p in problems))


def _checkov_case(suite: ET.Element, s: StackReport) -> None:
    """One case for checkov's checks on the stack: failed when a check fails that nothing exempts."""
    assert s.checkov is not None
    case = _case(suite, s.stack, "third-party checks (checkov)")
    failures = s.checkov.failures
    if failures:
        _outcome(case, "failure", f"{len(failures)} failing checkov check(s)", "checkov",
                 "\n".join(f"{r.check_id} {r.address} ({r.control or 'no control'}): {r.check_name}" for r in failures))
    counts = third_party.counts(s) or {}
    ET.SubElement(case, "system-out").text = ", ".join(f"{n} {label}" for label, n in counts.items())


def _control_case(suite: ET.Element, s: StackReport, c: Control, found: list[Finding]) -> None:
    case = _case(suite, s.stack, f"{c.id} {c.title}")
    status = m.control_status(s, c.id)
    failing = [f for f in found if f.status == "fail"]
    raised = [o for o in s.rule_errors if o.control == c.id]
    skipped = [o for o in s.not_run if o.control == c.id]
    if status == "error" and raised:
        _outcome(case, "error", f"{len(raised)} policy run(s) raised", "policy-error",
                 "\n".join(f"{o.rule} on {o.urn or 'the stack'}: {o.reason}" for o in raised))
    elif status == "error":
        _outcome(case, "error", "invalid settings: no control could be checked" if s.settings_error else "control not evaluated",
                 "settings", s.settings_error or f"{c.id} has no status on stack {s.stack}")
    elif status == "not-run":
        _outcome(case, "skipped", f"{len(skipped)} policy run(s) could not be judged at preview", "not-run",
                 "\n".join(f"{o.rule} on {o.urn or 'the stack'}: {o.reason}" for o in skipped))
    elif failing:
        _outcome(case, "failure", f"{len(failing)} finding(s): {c.title}", c.severity, "\n\n".join(_describe(f) for f in failing))
    others = [f for f in found if f.status != "fail"]
    if others:
        ET.SubElement(case, "system-out").text = _clean("\n\n".join(f"{f.status.upper()}: {_describe(f)}" for f in others))


def _describe(f: Finding) -> str:
    lines = [f"{f.rule}: {f.message}", *(f"  {label}: {value}" for label, value in m.evidence(f))]
    if f.waiver:
        lines.append(f"  waiver: {m.waiver_text(f.waiver)}")
    return "\n".join(lines)


def _caseshield_suite(report: CheckReport) -> ET.Element:
    suite = _suite("caseshield", report)
    checks = [("stack parity", [str(p) for p in m.parity(report)], "parity"),
              ("waivers", [str(p) for p in m.waiver_problems(report)], "waiver")]
    for name, problems, kind in checks:
        case = _case(suite, "caseshield", name)
        if problems:
            _outcome(case, "failure", f"{len(problems)} {kind} problem(s)", kind, "\n".join(problems))
    if report.mutation is not None:
        case = _case(suite, "caseshield", "mutation coverage")
        missing = m.without_kill(report)
        if missing:
            _outcome(case, "failure", f"{len(missing)} control(s) without a killed mutant", "mutation", ", ".join(missing))
        ET.SubElement(case, "system-out").text = f"kill rate {m.percent(report.mutation.kill_rate)}"
    if report.generated is not None:
        case = _case(suite, "caseshield", "generated mutants")
        if problems := m.generated_reasons(report):
            unreviewed = [f"{r.id}: {r.description}" for r, review in m.generated_survivors(report) if review is None]
            _outcome(case, "failure", "; ".join(problems), "mutation", "\n".join(unreviewed))
        ET.SubElement(case, "system-out").text = "\n".join(
            [f"generated kill rate {m.percent(report.generated.kill_rate)}"]
            + [f"{c}: hand-written {m.rate_text(hand)}, generated {m.rate_text(gen)}" for c, hand, gen in m.kill_rates(report)])
    return suite


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=_clean(classname), name=_clean(name))


def _outcome(case: ET.Element, tag: str, message: str, kind: str, body: str) -> None:
    ET.SubElement(case, tag, message=_clean(message), type=_clean(kind)).text = _clean(body)


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for attr, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(attr, str(sum(c.find(tag) is not None for c in cases)))


def _clean(value: str) -> str:
    """XML 1.0 cannot carry most control characters, even escaped; replace them rather than write a broken file."""
    return _INVALID_XML.sub("\ufffd", value)
