"""The reviewer page in a real browser: headless Chromium (Debian package `chromium`, installed by .ci/run) renders
it, runs its filter script under the page's own Content-Security-Policy, and shows the verdict and the matrix.

`--dump-dom` gives the document after the script ran; the screenshot is decoded to check the page was painted
(the verdict badge near the top, the status colours of the matrix).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from caseshield.render import html_page
from tests.test_render import REPORT

BROWSERS = ("chromium", "google-chrome", "google-chrome-stable", "chromium-browser")
WIDTH, HEIGHT = 1280, 1600


def _browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("no headless Chromium on PATH; .ci/run installs the Debian package `chromium`")
    pytest.skip("no headless Chromium on PATH (apt-get install chromium)")


def _chromium(tmp_path: Path, *args: str) -> str:
    command = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "caseshield-report.html"
    path.write_text(html_page.render(REPORT), encoding="utf-8")
    return path


def _rows(dom: str) -> dict[str, str]:
    """Matrix rows by control id -> the row's opening tag (which carries `hidden` when the filter hides it)."""
    return {control: tag for tag, control in re.findall(r'(<tr data-control="([^"]+)"[^>]*>)', dom)}


def test_the_page_renders_with_the_verdict_and_the_matrix_visible(tmp_path: Path, page: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert "<strong>Overall: </strong>" in dom and '<span class="badge s-fail"><strong>fail</strong></span>' in dom
    rows = _rows(dom)
    assert set(rows) == {"CS-ENC-01", "CS-IAM-04", "CS-LOG-03", "CS-NET-02"}
    assert not [tag for tag in rows.values() if "hidden" in tag], "the matrix is shown in full without a filter"
    # The script ran (the CSP hash admitted it): it revealed the filter and counted the rows and finding groups.
    assert '<form id="filter" class="filter" aria-label=' in dom
    everything = page.read_text().count(" data-results=")
    assert f'<output id="filter-count">{everything} matching rows and finding groups</output>' in dom

    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    assert shot.stat().st_size > 10_000
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        rgb = image.convert("RGB")
        colours = {c: n for n, c in rgb.getcolors(WIDTH * HEIGHT) or []}
        top_colours = {c: n for n, c in rgb.crop((0, 0, WIDTH, 400)).getcolors(WIDTH * 400) or []}  # title and verdict
    assert top_colours.get((0xF8, 0xD0, 0xD0), 0) > 200, "the red verdict badge is painted near the top"
    for name, colour in (("pass", (0xD3, 0xF0, 0xD9)), ("waived", (0xFF, 0xD8, 0xA8)), ("warn", (0xFF, 0xF3, 0xA3))):
        assert colours.get(colour, 0) > 1_000, f"matrix and chart cells coloured {name}"


def test_a_filter_link_narrows_the_matrix_and_the_findings(tmp_path: Path, page: Path) -> None:
    failing = _chromium(tmp_path, "--dump-dom", page.as_uri() + "#result=fail")
    rows = _rows(failing)
    assert "hidden" not in rows["CS-ENC-01"] and all("hidden" in rows[c] for c in ("CS-IAM-04", "CS-LOG-03", "CS-NET-02"))
    assert re.search(r'<details data-control="CS-LOG-03"[^>]* hidden=""', failing)
    failing_groups = len(re.findall(r' data-results="[^"]*:fail\b', page.read_text()))
    assert failing_groups >= 2  # the CS-ENC-01 matrix row and its folded findings
    assert f'<output id="filter-count">{failing_groups} matching rows and finding groups</output>' in failing

    dev_only = _chromium(tmp_path, "--dump-dom", page.as_uri() + "#stack=dev")
    header = dev_only.split('<table class="filterable">')[1].split("</tr>")[0]
    assert '<th hidden="">prod</th>' in header and "<th>dev</th>" in header
    assert not re.search(r'<details data-control="[^"]+" data-domain="[^"]+" data-results="prod:[a-z-]+">', dev_only)
