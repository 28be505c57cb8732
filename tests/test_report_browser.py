"""report.html in a real browser: headless Chromium loads every embedded PNG (one per field plus the loss history).

Skipped only where no ``chromium`` executable is on PATH (CI installs it in .ci/run when apt is there).
"""

import html
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

# A two-field problem, so "one image per field" means more than one; a short Adam run keeps the solve quick.
PROBLEM = """\
name = "Damped oscillator"
fields = ["y", "v"]
equations = ["diff(y, t) = v", "diff(v, t) = -c*v - k*y"]

[parameters]
c = 0.5
k = 4

[domain]
t = [0, 10]

[[conditions]]
on = "t = 0"
set = "y = 1"

[[conditions]]
on = "t = 0"
set = "v = 0"

[solver]
points = {interior = 64}
phases = [{method = "adam", steps = 200}]
"""

# Appended to a copy of report.html: once every image has loaded or failed ('load'), write what each <img> reports
# into the page, where --dump-dom shows it.
CHECK = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map((img) => ({
    alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    dataUri: img.src.startsWith("data:image/png;base64,"),
  }));
  const pre = document.createElement("pre");
  pre.id = "result";
  pre.textContent = JSON.stringify(images);
  document.body.appendChild(pre);
});
</script>
"""

RESULT = re.compile(r'<pre id="result">(.*?)</pre>', re.S)


def _solve(tmp_path: pathlib.Path) -> pathlib.Path:
    problem = tmp_path / "oscillator.toml"
    problem.write_text(PROBLEM)
    out = tmp_path / "out"
    cli = pathlib.Path(sys.executable).with_name("neuralsolve")
    done = subprocess.run([str(cli), "solve", str(problem), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _browser_images(chromium: str, page: pathlib.Path, profile: pathlib.Path) -> list[dict]:
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


def test_every_report_image_loads_in_chromium(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium executable on PATH: cannot check report.html in a browser (apt-get install chromium)")
    out = _solve(tmp_path)
    report = (out / "report.html").read_text()
    assert report.count("</body>") == 1
    page = tmp_path / "page.html"
    page.write_text(report.replace("</body>", CHECK + "</body>"))

    images = _browser_images(chromium, page, tmp_path / "chromium-profile")

    broken = [im for im in images if not (im["complete"] and im["naturalWidth"] > 0 and im["naturalHeight"] > 0)]
    assert images and not broken, f"images that did not load: {broken}"
    assert all(im["dataUri"] for im in images), images  # self-contained: nothing fetched from disk or network
    fields = json.loads((out / "metrics.json").read_text())["fields"]
    alts = [im["alt"] for im in images]
    assert fields == ["y", "v"]
    for f in fields:
        assert f"solution_{f}" in alts, alts
    assert "loss_history" in alts, alts
