"""report.html and the plots, rendered from saved data written here (no training, no browser): the
problem as MathML, the verdict, a formatted metrics table naming its reference, the settings, captions,
labelled axes, slices in time, and a loss history whose legend is kept and whose phases are marked."""

import json
import pathlib
import re
import tempfile

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from neuralsolve.dispatch import family_for
from neuralsolve.report.outputs import evaluation_grid, render_report
from neuralsolve.report.page import page, sci
from neuralsolve.report.plots import frame_of, history_figure, phase_starts, solution_figure
from neuralsolve.spec.load import load

HEAT = """\
name = "Heat equation"
fields = ["u"]
equations = ["diff(u, t) = kappa*diff(u, x, 2)"]

[parameters]
kappa = 1

[domain]
x = [0, 1]
t = [0, 1]

[[conditions]]
on = "boundary"
set = "u = 0"

[[conditions]]
on = "x = 1"
set = "diff(u, x) = 0"
weight = 2

[[conditions]]
on = "t = 0"
set = "u = sin(pi*x)"

[exact]
u = "exp(-pi**2*t)*sin(pi*x)"
"""

HISTORY = [{"phase": "adam", "step": 100, "loss": 1.0, "terms": [0.5, 0.5], "elapsed": 1.0},
           {"phase": "adam", "step": 200, "loss": 0.1, "terms": [0.05, 0.05], "elapsed": 2.0},
           {"phase": "lbfgs", "step": 300, "loss": 1e-3, "terms": [5e-4, 5e-4], "elapsed": 3.0},
           {"phase": "lbfgs", "step": 400, "loss": 1e-5, "terms": [5e-6, 5e-6], "elapsed": 4.0}]  # fmt: skip

SETTINGS = {"network": {"width": 32, "depth": 3, "activation": "tanh"}, "points": {"interior": 1024, "sampler": "sobol"},
            "phases": [{"method": "adam", "steps": 200, "learning_rate": 0.001}, {"method": "lbfgs", "steps": 200}],
            "precision": "float64", "seed": 7, "weighting": "fixed", "causal": False, "windows": 1}  # fmt: skip


def _metrics(**changes) -> dict:
    metrics = {"problem": "Heat equation", "fields": ["u"], "l2_relative_error": {"u": 2.5612e-09},
               "max_abs_error": {"u": None}, "residual_rms": 3.0e-4, "residual_rms_per_equation": [3.0e-4],
               "reference": "exact", "reference_method": None, "steps": 400, "wall_time_s": 12.34,
               "precision": "float64", "seed": 7, "status": "ok", "message": "training completed",
               "phases": [{"phase": "adam", "steps": 200, "stop": "step budget reached"},
                          {"phase": "lbfgs", "steps": 200, "stop": "loss converged"}],
               "settings": SETTINGS}  # fmt: skip
    return {**metrics, **changes}


def _run_dir(tmp_path, text=HEAT, **changes):
    """A run directory as a solve leaves it, with values 1e-3 off the exact solution."""
    (tmp_path / "problem.toml").write_text(text)
    problem = load(tmp_path / "problem.toml")
    points, _ = evaluation_grid(problem)
    x, t = points[:, 0], points[:, 1]
    exact = (np.exp(-np.pi**2 * t) * np.sin(np.pi * x))[:, None]
    np.savez(tmp_path / "solution.npz", points=points, coords=np.array(problem.domain.coords),
             fields=np.array(problem.fields), values=exact + 1e-3 * x[:, None], reference=exact)  # fmt: skip
    (tmp_path / "metrics.json").write_text(json.dumps(_metrics(**changes)))
    (tmp_path / "history.json").write_text(json.dumps({"terms": ["equation", "condition 2 on x = 1"], "records": HISTORY}))
    return problem, family_for(problem, {})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    problem, family = _run_dir(out)
    files = render_report(out, problem, family)
    return out, (out / "report.html").read_text(), files


def _tables(report: str) -> str:
    return "".join(re.findall(r"<table.*?</table>", report, re.S))


def test_numbers_are_three_significant_digits_and_missing_ones_a_dash():
    assert sci(2.5612e-09) == "2.56 × 10<sup>−9</sup>"
    assert sci(0.0123) == "1.23 × 10<sup>−2</sup>"
    assert sci(4.5) == "4.50"
    assert sci(None) == "—" and sci(float("nan")) == "NaN"


def test_metrics_table_has_one_row_per_field_and_names_its_reference(rendered):
    _, report, _ = rendered
    tables = _tables(report)
    assert "relative L2 error against the exact solution" in tables
    assert re.search(r"<tr><th>u</th><td class='num'>2\.56 × 10<sup>−9</sup></td><td class='num'>—</td></tr>", tables)
    assert "{" not in tables and "null" not in tables  # no raw JSON


def test_classical_reference_is_named_with_its_method(tmp_path):
    problem, _ = _run_dir(tmp_path)
    html = page(problem, _metrics(reference="classical", reference_method="solve_ivp (LSODA)"), [])
    assert "relative L2 error against the classical reference (solve_ivp (LSODA))" in html


def test_without_reference_the_report_says_so(tmp_path):
    problem, _ = _run_dir(tmp_path)
    html = page(problem, _metrics(reference=None, l2_relative_error=None, max_abs_error=None), [])
    assert "No reference" in html and "relative L2 error" not in html


def test_a_status_other_than_ok_stands_out(tmp_path):
    problem, _ = _run_dir(tmp_path)
    message = "solved, but disagrees with the classical reference by 1.4"
    html = page(problem, _metrics(status="disagrees", message=message), [])
    assert re.search(r"<div class='status warn'[^>]*><strong>⚠ disagrees</strong> — " + message, html)
    assert "class='status ok'" in page(problem, _metrics(), [])


def test_problem_is_stated_as_mathematics(rendered):
    _, report, _ = rendered
    problem_section = report.split("<h2>Problem</h2>")[1].split("<h2>")[0]
    equation = re.search(r"<dt>Equation</dt><dd>(.*?)</dd>", problem_section, re.S).group(1)
    assert "<math" in equation and "<mfrac>" in equation  # ∂u/∂t as a fraction
    assert "<mi>&#954;</mi>" in equation and "<mn>1</mn>" not in equation  # kappa by name (κ), not its value
    assert "&#x2208;" in problem_section  # x ∈ [0, 1]
    conditions = re.search(r"<dt>Conditions</dt><dd><ol>(.*?)</ol>", problem_section, re.S).group(1)
    assert conditions.count("<li>") == 3
    assert "imposed exactly" in conditions and "penalty term" in conditions  # u = 0 and diff(u, x) = 0
    assert "<dt>Exact solution</dt>" in problem_section and "<dt>Parameters</dt>" in problem_section


def test_settings_and_phases_are_listed(rendered):
    _, report, _ = rendered
    training = report.split("<h2>Training</h2>")[1]
    assert "3 hidden layers of 32 tanh units" in training
    assert "1024 interior" in training and "sobol" in training
    assert "Adam: up to 200 steps (learning rate 0.001)" in training and "L-BFGS: up to 200 steps" in training
    assert "<th>seed</th><td>7</td>" in training and "loss converged" in training
    assert "weighting" not in training  # settings that are off are left out


def test_figures_have_captions_not_file_names_and_evolution_problems_get_slices(rendered):
    out, report, files = rendered
    assert [f.name for f in files] == ["solution_u.png", "slices_u.png", "loss_history.png", "report.html"]
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", report, re.S)
    assert len(captions) == 3
    assert "the exact solution" in captions[0] and "pointwise error" in captions[0]
    assert "four times" in captions[1] and "dashed" in captions[1]
    assert "phase starts" in captions[2]
    assert not any(c.strip() in ("solution_u", "slices_u", "loss_history") for c in captions)
    assert "src='data:image/png;base64," in report and "http" not in report  # self-contained


def test_every_panel_of_a_1d_plot_has_axis_labels():
    problem = load_text("""\
name = "p"
fields = ["u"]
equations = ["diff(u, x, 2) = 0"]
[domain]
x = [0, 1]
""")
    x = np.linspace(0, 1, 11)[:, None]
    fig = solution_figure(frame_of(problem), x, (11,), x[:, 0], x[:, 0] ** 2, "u", "exact solution")
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax in axes:
        assert ax.get_xlabel() == "x" and ax.get_ylabel() and ax.get_title()


def load_text(text: str):
    """The problem of a problem file's text."""
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "p.toml"
        path.write_text(text)
        return load(path)


def test_phase_starts_are_where_the_previous_phase_ended_and_rounds_count_on():
    x, starts = phase_starts(HISTORY)
    assert list(x) == [100, 200, 300, 400]
    assert starts == [(0.0, "adam"), (200.0, "lbfgs")]
    rounds = [{**r, "state": s} for s in (0, 1) for r in HISTORY[:3]]  # each state restarts its steps
    x, starts = phase_starts(rounds)
    assert list(x) == [100, 200, 300, 400, 500, 600]
    assert starts == [(0.0, "adam state 0"), (200.0, "lbfgs state 0"), (300.0, "adam state 1"), (500.0, "lbfgs state 1")]
    short = [{**HISTORY[0], "step": 20, "state": s} for s in (0, 1, 2)]  # one record per state, at the same step
    assert list(phase_starts(short)[0]) == [20, 40, 60]
    counting_on = [{**r, "step": r["step"] + 300 * s, "state": s} for s in (0, 1) for r in HISTORY[:3]]
    assert list(phase_starts(counting_on)[0]) == [100, 200, 300, 400, 500, 600]  # already on one axis


def test_loss_history_marks_phases_and_keeps_its_legend_in_the_saved_image():
    terms = ["equation: diff(u, t) = diff(u, x, 2)", "condition 2 on x = 1: a long name " + "x" * 80]
    fig = history_figure(HISTORY, terms)
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.get_axes()[0]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [200.0]
    assert [t.get_text().strip() for t in ax.texts] == ["adam", "lbfgs"]
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 < ax.get_window_extent(renderer).y0  # below the axes, covering nothing
    saved = fig.get_tightbbox(renderer)  # what bbox_inches="tight" keeps, in inches
    dpi = fig.dpi
    assert saved.x0 * dpi <= legend.x0 and legend.x1 <= saved.x1 * dpi and saved.y0 * dpi <= legend.y0


def test_eigenproblems_list_their_eigenvalues_against_the_reference(tmp_path):
    problem, _ = _run_dir(tmp_path)
    metrics = _metrics(l2_relative_error={"psi[0]": 1e-6, "psi[1]": 2e-5}, max_abs_error={"psi[0]": 3e-6, "psi[1]": None},
                       eigenvalues=[9.869604401, 39.47841760], reference_eigenvalues=[9.869604401, 39.4784176],
                       eigenvalue_errors=[1.07e-11, 4.0e-9], eigenvalue_reference="classical",
                       residual_rms_per_state=[5e-4, 5e-3], reference_method="spectral elements")  # fmt: skip
    html = page(problem, metrics, [])
    table = re.search(r"<table class='metrics eigenvalues'>.*?</table>", html, re.S).group(0)
    assert "against the classical reference (spectral elements)" in table
    assert "<tr><th>1</th><td class='num'>39.4784176</td><td class='num'>39.4784176</td>" in table
    assert "4.00 × 10<sup>−9</sup>" in table
    assert "<th>psi[1]</th>" in html


def test_a_seed_of_zero_is_listed(tmp_path):
    problem, _ = _run_dir(tmp_path)
    html = page(problem, _metrics(settings={**SETTINGS, "seed": 0}), [])
    assert "<th>seed</th><td>0</td>" in html  # 0 is a setting, not "off"
