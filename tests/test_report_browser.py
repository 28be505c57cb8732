"""report.html in a real browser: headless Chromium loads every embedded PNG, lays out the problem's
MathML as mathematics (a fraction's numerator above its denominator), and shows the metrics table and
the captions as text. The run directory is written by tests/test_report.py's helper (no training).

Skipped only where no ``chromium`` executable is on PATH (CI installs it in .ci/run when apt is there).
"""

import html
import json
import pathlib
import re
import shutil
import subprocess

import pytest
from test_report import _run_dir

from neuralsolve.report.outputs import render_report

# Appended to a copy of report.html: once every image has loaded or failed ('load'), write what each <img> reports
# into the page, where --dump-dom shows it.
CHECK = """
<script>
window.addEventListener("load", () => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  const images = Array.from(document.images).map((img) => ({
    alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    dataUri: img.src.startsWith("data:image/png;base64,"),
  }));
  const maths = Array.from(document.querySelectorAll("math")).map(box);
  const fractions = Array.from(document.querySelectorAll("mfrac")).map((f) => [box(f.children[0]), box(f.children[1])]);
  const cells = Array.from(document.querySelectorAll("table.metrics td, table.metrics th")).map((c) => c.textContent);
  const tables = Array.from(document.querySelectorAll("table")).map((t) => t.textContent);
  const captions = Array.from(document.querySelectorAll("figcaption")).map((c) => c.textContent);
  const status = document.querySelector(".status").className;
  const pre = document.createElement("pre");
  pre.id = "result";
  pre.textContent = JSON.stringify({images, maths, fractions, cells, tables, captions, status});
  document.body.appendChild(pre);
});
</script>
"""

RESULT = re.compile(r'<pre id="result">(.*?)</pre>', re.S)


def _browser_page(chromium: str, page: pathlib.Path, profile: pathlib.Path) -> dict:
    """Load ``page`` in headless Chromium (no network: background services off) and return the injected result."""
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    found = RESULT.search(done.stdout)
    assert done.returncode == 0 and found, f"chromium exit {done.returncode}, no result in its DOM dump\n{done.stderr[-3000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_report_renders_in_chromium(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium executable on PATH: cannot check report.html in a browser (apt-get install chromium)")
    out = tmp_path / "run"
    out.mkdir()
    problem, family = _run_dir(out, status="disagrees", message="solved, but disagrees with the exact solution by 0.5")
    render_report(out, problem, family)
    report = (out / "report.html").read_text()
    assert report.count("</body>") == 1
    page = tmp_path / "page.html"
    page.write_text(report.replace("</body>", CHECK + "</body>"))

    found = _browser_page(chromium, page, tmp_path / "chromium-profile")

    images = found["images"]
    broken = [im for im in images if not (im["complete"] and im["naturalWidth"] > 0 and im["naturalHeight"] > 0)]
    assert images and not broken, f"images that did not load: {broken}"
    assert all(im["dataUri"] for im in images), images  # self-contained: nothing fetched from disk or network
    assert [im["alt"] for im in images] == ["solution_u", "slices_u", "loss_history"]
    # MathML laid out as mathematics: every formula has a size, every fraction is stacked
    assert len(found["maths"]) >= 6 and all(m["width"] > 0 and m["height"] > 0 for m in found["maths"]), found["maths"]
    assert found["fractions"] and all(top["bottom"] <= bottom["top"] + 1 for top, bottom in found["fractions"])
    # the metrics table: formatted numbers, a dash for a missing one, no raw JSON
    assert "2.56 × 10−9" in found["cells"] and "—" in found["cells"] and "u" in found["cells"], found["cells"]
    assert not any(ch in table for table in found["tables"] for ch in "{}"), found["tables"]
    assert any("relative L2 error against the exact solution" in table for table in found["tables"])
    # captions in words, and a failed verification in the warning style
    assert len(found["captions"]) == 3 and all(len(c) > 60 for c in found["captions"]), found["captions"]
    assert found["status"] == "status warn"
