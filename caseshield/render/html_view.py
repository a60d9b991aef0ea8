"""The reviewer page's aids: a coverage chart per framework (inline SVG) and a filter (one small inline script).

Both are generated from the report and embedded in the page, so it still fetches nothing. The script is allowed
by its SHA-256 in the page's Content-Security-Policy, not by 'unsafe-inline': a script injected through report
text (which is escaped anyway) would not run. Without script the filter stays hidden and everything is shown.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from html import escape
from typing import TYPE_CHECKING

from caseshield.render import _model as m

if TYPE_CHECKING:
    from caseshield.report import CheckReport

# Matches matrix rows and folded finding groups (data-control, data-domain, data-results="stack:status ...") and
# hides the matrix columns of the stacks not selected. A link can preset it: report.html#stack=prod&result=fail.
FILTER_SCRIPT = """
(function () {
  "use strict";
  var form = document.getElementById("filter");
  var stacks = Array.prototype.map.call(form.elements.stack.options, function (o) { return o.value; }).filter(Boolean);
  function apply() {
    var control = form.elements.control.value.trim().toUpperCase(), domain = form.elements.domain.value;
    var stack = form.elements.stack.value, result = form.elements.result.value, shown = 0;
    document.querySelectorAll("[data-results]").forEach(function (el) {
      var results = el.dataset.results.split(" ").filter(function (r) { return !stack || r.split(":")[0] === stack; });
      var match = (!control || el.dataset.control.toUpperCase().indexOf(control) >= 0)
        && (!domain || el.dataset.domain === domain) && results.length > 0
        && (!result || results.some(function (r) { return r.split(":")[1] === result; }));
      el.hidden = !match;
      shown += match ? 1 : 0;
    });
    document.querySelectorAll("table.filterable").forEach(function (table) {
      Array.prototype.forEach.call(table.rows[0].cells, function (head, i) {
        var name = head.textContent.replace(/ [(]live[)]$/, "");  // a stack's live-audit column goes with the stack
        if (stacks.indexOf(name) < 0) { return; }
        Array.prototype.forEach.call(table.rows, function (row) { row.cells[i].hidden = !!stack && name !== stack; });
      });
    });
    document.getElementById("filter-count").textContent = shown + " matching rows and finding groups";
  }
  new URLSearchParams(window.location.hash.slice(1)).forEach(function (value, key) {
    if (form.elements[key]) { form.elements[key].value = value; }
  });
  form.addEventListener("input", apply);
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  form.hidden = false;
  apply();
}());
""".strip()

BAR = 360  # px width of a full bar (all clauses of a framework)
LABEL, STACK, ROW, GAP = 110, 70, 18, 10


def script_hash(script: str = FILTER_SCRIPT) -> str:
    """The CSP source expression that allows exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def filter_form(report: CheckReport) -> str:
    domains = sorted({c.domain for c in report.catalog.controls})
    stacks = [s.stack for s in m.stacks(report)]

    def select(name: str, label: str, values: list[str], every: str) -> str:
        options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        return f'<label>{label} <select name="{name}"><option value="">{every}</option>{options}</select></label>'

    return ('<form id="filter" class="filter" hidden aria-label="Filter the matrix and the findings">'
            '<strong>Filter</strong> <label>control <input name="control" type="search" placeholder="e.g. NET-0"></label> '
            + select("domain", "domain", domains, "all") + " " + select("stack", "stack", stacks, "all") + " "
            + select("result", "result", list(m.STATUSES), "any")
            + ' <button type="reset">clear</button> <output id="filter-count"></output></form>')


def coverage_chart(report: CheckReport, colours: dict[str, tuple[str, str]]) -> str:
    """One stacked bar per framework and stack: how many of the clauses the catalog cites are met, waived, failing."""
    stacks = m.stacks(report)
    parts: list[str] = []
    y = 0
    for framework, clauses in m.coverage(report.catalog).items():
        parts.append(f'<text x="0" y="{y + 13}" font-weight="600">{escape(framework)}</text>')
        if not clauses or not stacks:
            parts.append(f'<text x="{LABEL}" y="{y + 13}">no clause cited</text>')
            y += ROW + GAP
            continue
        for s in stacks:
            counts = Counter(c.status(s) for c in clauses)
            parts.append(f'<text x="{LABEL}" y="{y + 13}">{escape(s.stack)}</text>')
            x = float(LABEL + STACK)
            for st in m.STATUSES:
                if counts[st]:
                    width = BAR * counts[st] / len(clauses)
                    label = f"{framework} on {s.stack}: {counts[st]} of {len(clauses)} clauses {st}"
                    parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 2}" '
                                 f'fill="{colours.get(st, ("#cccccc", ""))[0]}"><title>{escape(label)}</title></rect>')
                    x += width
            parts.append(f'<text x="{LABEL + STACK + BAR + 8}" y="{y + 13}">{counts["pass"]}/{len(clauses)} pass</text>')
            y += ROW
        y += GAP
    legend_x = 0
    for st in m.STATUSES:
        parts.append(f'<rect x="{legend_x}" y="{y}" width="12" height="12" fill="{colours.get(st, ("#cccccc", ""))[0]}"/>'
                     f'<text x="{legend_x + 16}" y="{y + 11}">{escape(st)}</text>')
        legend_x += 90
    height, width = y + 16, LABEL + STACK + BAR + 110
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="coverage-chart-title" font-size="12">'
            f'<title id="coverage-chart-title">Clauses of each framework by status, per stack</title>{"".join(parts)}</svg>')
