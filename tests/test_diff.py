"""`caseshield diff` on report pairs made the way a pull request makes them: the shipped dev stack, then the same
stack with a mutant applied (a real breakage of one control), checked by the real policy pack and written by the
real JSON renderer.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from caseshield import diff
from caseshield.cli import main
from caseshield.offline import ResourceGraph, evaluate
from caseshield.render import json_doc
from caseshield.report import CheckReport, MutantResult, MutationSummary, check_stack
from policies import catalog as catalog_module
from policies.mutants import load_all as load_mutants
from policies.pack import build_policies
from policies.waivers import Waiver
from tests.conftest import graph_of

TODAY = dt.date(2031, 1, 10)
NET = "net-01-subnet-maps-public-ips"  # NET-01, never waivable
EDGE = "edge-03-access-logs-off"  # EDGE-03, waivable
EDGE_WAIVER = Waiver("EDGE-03", "dev", "*", "The dev load balancer is rebuilt nightly and its access logs are not kept.",
                     "platform-engineering", "ciso@lawfirm.example", "SEC-2001", TODAY + dt.timedelta(days=20))


def _mutation(killed: int, survived: int) -> MutationSummary:
    results = [MutantResult(f"k{i}", "NET-01", "killed", "dev", True, ("rule",)) for i in range(killed)]
    results += [MutantResult(f"s{i}", "NET-01", "survived", "dev", False, ()) for i in range(survived)]
    return MutationSummary(results)


@cache
def _graph(mutants: tuple[str, ...]) -> ResourceGraph:
    """The dev stack with the given mutants applied (cached: each is a whole evaluation)."""
    found = load_mutants()
    transforms = [t for t in (found[m].transform for m in mutants) if t is not None]
    return evaluate("dev", transforms=transforms) if mutants else graph_of("dev")


@cache
def _report(mutants: tuple[str, ...] = (), waived: bool = False) -> str:
    """That stack's JSON report, as `caseshield check` writes it."""
    catalog = catalog_module.load()
    graph = _graph(mutants)
    waivers = [EDGE_WAIVER] if waived else []
    stack = check_stack("dev", catalog, waivers, build_policies(catalog), graph=graph)
    report = CheckReport("2031-01-10T00:00:00+00:00", catalog, [stack], waivers, [], [])
    return json_doc.render(report)


def doc(mutants: tuple[str, ...] = (), waived: bool = False, mutation: MutationSummary | None = None) -> dict[str, Any]:
    document = json.loads(_report(mutants, waived))
    if mutation is not None:
        document["mutation"] = {"kill_rate": round(mutation.kill_rate, 4), "controls_without_kill": [], "results": []}
    return document


def change(result: diff.ReportDiff, control: str) -> diff.ControlChange:
    return next(c for c in result.changes if c.control == control and c.stack == "dev")


def test_the_shipped_dev_stack_is_clean_so_every_change_below_is_the_mutants() -> None:
    base = doc()
    assert base["passed"] and base["stacks"][0]["controls"]["NET-01"] == "pass"
    result = diff.compare(base, doc(), TODAY)
    assert result.gate_reasons() == [] and not any(c.introduced or c.resolved for c in result.changes)


def test_a_breakage_is_introduced_and_fails_the_gate() -> None:
    result = diff.compare(doc(), doc((NET,)), TODAY)
    net = change(result, "NET-01")
    assert (net.before, net.after) == ("pass", "fail")
    assert net.introduced and all(f["status"] == "fail" for f in net.introduced) and not net.resolved
    assert [r for r in result.gate_reasons() if "new mandatory finding" in r and "NET-01 on dev" in r]
    text = diff.markdown(result)
    assert text.startswith(diff.MARKER + "\n")
    assert "**Gate:** **fail**" in text and "| dev | `NET-01` |" in text
    assert f"`{net.introduced[0]['urn']}`" in text.split("### Introduced findings")[1]


def test_the_fix_resolves_it_and_passes_the_gate() -> None:
    result = diff.compare(doc((NET,)), doc(), TODAY)
    net = change(result, "NET-01")
    assert net.resolved and not net.introduced and (net.before, net.after) == ("fail", "pass")
    assert result.gate_reasons() == []
    text = diff.markdown(result)
    assert "**Gate:** pass" in text and "This change introduces no finding." in text
    assert net.resolved[0]["urn"] in text.split("### Resolved findings")[1]


def test_findings_present_on_both_sides_are_left_not_introduced() -> None:
    result = diff.compare(doc((NET,)), doc((NET, EDGE)), TODAY)
    net, edge = change(result, "NET-01"), change(result, "EDGE-03")
    assert net.left and not net.introduced and not net.resolved
    assert edge.introduced and all(f["status"] == "fail" for f in edge.introduced)
    assert result.gate_reasons() == [f"{len(edge.introduced)} new mandatory finding(s) (EDGE-03 on dev)"]


def test_a_new_waiver_fails_the_gate_and_one_expiring_soon_is_listed() -> None:
    result = diff.compare(doc((EDGE,)), doc((EDGE,), waived=True), TODAY)
    edge = change(result, "EDGE-03")
    assert (edge.before, edge.after) == ("fail", "waived") and edge.left and not edge.introduced
    assert [w["ticket"] for w in result.waivers_added] == ["SEC-2001"]
    assert [w["ticket"] for w in result.waivers_expiring] == ["SEC-2001"]
    assert result.gate_reasons() == ["1 new waiver(s)"]
    waivers = diff.markdown(result).split("### Waivers")[1]
    assert "| **added** | `EDGE-03` | dev |" in waivers and "| expires within 30 days | `EDGE-03` | dev |" in waivers


def test_a_waiver_already_in_force_does_not_fail_the_gate_and_expiry_has_a_horizon() -> None:
    waived = doc((EDGE,), waived=True)
    assert diff.compare(waived, waived, TODAY).gate_reasons() == []
    assert diff.compare(waived, waived, TODAY).waivers_expiring
    assert not diff.compare(waived, waived, TODAY - dt.timedelta(days=11)).waivers_expiring
    removed = diff.compare(waived, doc(), TODAY)
    assert [w["ticket"] for w in removed.waivers_removed] == ["SEC-2001"] and removed.gate_reasons() == []


def test_a_lower_kill_rate_fails_the_gate_and_a_higher_one_does_not() -> None:
    lower = diff.compare(doc(mutation=_mutation(4, 0)), doc(mutation=_mutation(3, 1)), TODAY)
    assert lower.gate_reasons() == ["mutant kill rate fell from 100.0% to 75.0%"]
    assert "Kill rate: 100.0% → 75.0% (lower)." in diff.markdown(lower)
    higher = diff.compare(doc(mutation=_mutation(3, 1)), doc(mutation=_mutation(4, 0)), TODAY)
    assert higher.gate_reasons() == [] and "(higher)" in diff.markdown(higher)
    one_side = diff.compare(doc(), doc(mutation=_mutation(3, 1)), TODAY)
    assert one_side.gate_reasons() == [] and "not compared" in diff.markdown(one_side)


def test_cli_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean, broken = tmp_path / "clean.json", tmp_path / "broken.json"
    clean.write_text(_report())
    broken.write_text(_report((NET,)))
    assert main(["diff", str(clean), str(clean), "--today", TODAY.isoformat()]) == 0
    assert capsys.readouterr().out.startswith(diff.MARKER)
    comment = tmp_path / "comment.md"
    assert main(["diff", str(clean), str(broken), "--out", str(comment)]) == 1
    assert "new mandatory finding" in capsys.readouterr().err and comment.read_text().startswith(diff.MARKER)
    assert main(["diff", str(broken), str(clean)]) == 0


def test_cli_refuses_a_file_that_is_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    report.write_text(_report())
    truncated = tmp_path / "truncated.json"
    truncated.write_text(_report()[:200])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"passed": True}))
    assert main(["diff", str(report), str(truncated)]) == 2
    assert "cannot read a JSON report" in capsys.readouterr().err
    assert main(["diff", str(foreign), str(report)]) == 2
    assert "not a caseshield report" in capsys.readouterr().err
