"""What an inverse solve tells its user: the terminal lines of its estimates and data misfits, and
the report's estimates table, data plots and discovered formulas, rendered again from the run
directory alone (one small solve; the other cases render saved data written here)."""

import json
import re
import types

import numpy as np
import pytest
from click.testing import CliRunner

from neuralsolve.cli.main import main
from neuralsolve.dispatch import family_for
from neuralsolve.report.inverse import hidden_values, unknown_line, with_error
from neuralsolve.report.outputs import evaluation_grid, render_report
from neuralsolve.spec.load import load

DECAY = """\
name = "Exponential decay: the rate from exact measurements"
fields = ["u"]
equations = ["diff(u, t) = -k*u"]

[domain]
t = [0, 2]

[[conditions]]
on = "start"
set = "u = 1"

[unknowns]
k = { initial = 0.5, positive = true }

[exact]
k = "1.5"

[data]
file = "decay.csv"

[solver]
phases = [{method = "adam", steps = 200}, {method = "lbfgs", steps = 100}]
network = {width = 8, depth = 1}
points = {interior = 128}
"""

HIDDEN_SOURCE = """\
name = "Poisson with a hidden source"
fields = ["u"]
equations = ["diff(u, x, 2) + diff(u, y, 2) - F = 0"]

[domain]
x = [0, 1]
y = [0, 1]

[[conditions]]
on = "boundary"
set = "u = 0"

[hidden]
F = { inputs = ["u", "x"] }

[discover]
degree = 1

[data]
file = "obs.csv"
"""


def _table(report: str, kind: str) -> str:
    return re.search(rf"<table class='metrics {kind}'>.*?</table>", report, re.S).group(0)


@pytest.fixture(scope="module")
def decay(tmp_path_factory):
    """A solve of the decay rate k from 21 exact values of exp(-1.5 t): its output and run directory."""
    folder = tmp_path_factory.mktemp("decay")
    t = np.linspace(0, 2, 21)
    np.savetxt(folder / "decay.csv", np.c_[t, np.exp(-1.5 * t)], delimiter=",", header="t,u", comments="", fmt="%.15g")
    (folder / "decay.toml").write_text(DECAY)
    out = folder / "run"
    result = CliRunner().invoke(main, ["solve", str(folder / "decay.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output, out, json.loads((out / "metrics.json").read_text())


def test_the_terminal_gives_each_estimate_with_its_error_and_true_value(decay):
    output, _, metrics = decay
    line = re.search(r"^k = (\d\.\d+) ± (0\.0*\d+) \(standard error; true 1\.5: relative error (.+)\)$", output, re.M)
    assert line, output
    k, stderr = metrics["unknowns"]["k"], metrics["unknowns_stderr"]["k"]
    places = len(line.group(2).split(".")[1])
    assert float(line.group(1)) == pytest.approx(k, abs=0.5 * 10**-places)  # the estimate, rounded where its error says
    assert float(line.group(2)) == pytest.approx(stderr, rel=0.5)  # one significant digit of it
    assert abs(k - 1.5) < 1.5e-3 and metrics["unknown_errors"]["k"] == pytest.approx(abs(k - 1.5) / 1.5)
    misfit = re.search(r"^data misfit RMS: u (\S+)$", output, re.M)
    assert misfit and float(misfit.group(1)) == pytest.approx(metrics["data_misfit_rms"]["u"], rel=0.05)


def test_the_report_has_the_estimates_table_and_the_data_plot_and_renders_again(decay):
    _, out, metrics = decay
    report = (out / "report.html").read_text()
    table = _table(report, "unknowns")
    k = f"{metrics['unknowns']['k']:.10g}"
    assert re.search(rf"<tr><th>k</th><td class='num'>{re.escape(k)}</td><td class='num'>[^<]*<sup>−\d+</sup></td>"
                     r"<td class='num'>1\.5</td>", table), table  # fmt: skip
    for plot in ("unknowns", "data_u"):
        assert (out / f"{plot}.png").stat().st_size > 0 and f"alt='{plot}'" in report
    assert "measurements</th>" in _table(report, "misfit")
    (out / "data_u.png").unlink()
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0 and "data_u.png" in result.output, result.output
    again = (out / "report.html").read_text()
    assert _table(again, "unknowns") == table and (out / "data_u.png").exists()


def test_estimates_are_rounded_where_their_standard_error_says():
    assert with_error(0.0031831, 0.0000213) == "0.00318 ± 0.00002"
    assert with_error(2.5, 0.000096) == "2.50000 ± 0.00010"  # an error rounded up to 1e-4 keeps two digits
    assert with_error(12345.6, 23.0) == "12350 ± 20"
    assert with_error(1.234e-8, 2.1e-10) == "(1.23 ± 0.02)e-8"
    line = unknown_line("nu", 0.0031831, 0.0000213, 0.0031830989, 2.0e-3)
    assert line == "nu = 0.00318 ± 0.00002 (standard error; true 0.0031830989: relative error 0.2%)"
    assert unknown_line("k", 1.25, float("nan"), None, None) == "k = 1.25 (no standard error)"


def test_hidden_values_are_the_trained_networks_at_the_fitted_fields(tmp_path):
    import jax
    import jax.numpy as jnp

    from neuralsolve.methods.inverse.model import Learned
    from neuralsolve.nn.mlp import MLP

    problem = _hidden_problem(tmp_path)
    with jax.enable_x64(True):
        learned = Learned(problem, MLP(width=8, depth=1), jnp.float64, seed=3)
        # another seed: the structure is rebuilt, the trained values come from the solution's parameters
        sol = types.SimpleNamespace(params=learned.params, precision="float64",
                                    settings={"network": MLP(width=8, depth=1), "seed": 11})  # fmt: skip
        points, u = np.array([[0.2, 0.3], [0.7, 0.1], [0.5, 0.5]]), np.array([[0.4], [-1.2], [np.nan]])
        got = hidden_values(problem, sol, points, u)["F"]
        expected = [float(learned.hidden_value(learned.params, "F", jnp.array([u[i, 0], points[i, 0]]))) for i in range(2)]
    np.testing.assert_allclose(got[:2], expected, rtol=1e-12)
    assert np.isnan(got[2])  # no field value there: no input for the network


def _hidden_problem(folder):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.1, 0.9, (2, 40))
    np.savetxt(folder / "obs.csv", np.c_[x, y, np.sin(np.pi * x) * np.sin(np.pi * y)], delimiter=",", header="x,y,u",
               comments="")  # fmt: skip
    (folder / "problem.toml").write_text(HIDDEN_SOURCE)
    return load(folder / "problem.toml")


def _hidden_run(folder, saved: bool):
    """A run directory of :data:`HIDDEN_SOURCE` as a solve leaves it: F = -2 pi^2 u, the network
    off the formula by 1e-3 and the predictions off the data by 1e-3 (``saved``: with the arrays
    only the networks can give, else as a run that did not save them)."""
    problem = _hidden_problem(folder)
    points, _ = evaluation_grid(problem)
    u = (np.sin(np.pi * points[:, 0]) * np.sin(np.pi * points[:, 1]))[:, None]
    arrays = {"points": points, "coords": np.array(problem.domain.coords), "fields": np.array(problem.fields), "values": u}
    if saved:
        arrays["hidden_F"] = -2 * np.pi**2 * u[:, 0] + 1e-3
        arrays["data_predicted_1"] = problem.inverse.data[0].values + 1e-3
    np.savez(folder / "solution.npz", **arrays)
    metrics = {"problem": problem.name, "fields": ["u"], "l2_relative_error": None, "max_abs_error": None,
               "residual_rms": 1e-3, "residual_rms_per_equation": [1e-3], "reference": None, "steps": 10,
               "wall_time_s": 1.0, "status": "ok", "message": "training completed", "phases": [],
               "unknowns": {}, "unknowns_stderr": {}, "unknowns_stderr_method": None, "unknown_errors": {},
               "data_misfit_rms": {"u": 1e-3}, "discovered": {"F": "-19.7392088*u"},
               "discovered_regression": {"F": "-19.7*u"}, "discovered_misfit_rms": {"u": 2e-3},
               "hidden_formula_misfit": {"F": 1e-4}, "verification": "re-solved: step budget reached"}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "history.json").write_text(json.dumps({"terms": [], "records": []}))
    return problem, family_for(problem, {})


def test_two_coordinates_plot_predicted_against_measured_and_formula_against_network(tmp_path):
    problem, family = _hidden_run(tmp_path, saved=True)
    files = {p.name for p in render_report(tmp_path, problem, family)}
    assert {"data_fit.png", "hidden_F.png"} <= files
    report = (tmp_path / "report.html").read_text()
    assert "misfit RMS (formula model)</th>" in _table(report, "misfit") and "<table class='metrics unknowns'>" not in report
    formulas = report.split("<h3>Discovered formulas</h3>")[1].split("<h2>")[0]
    assert "<dt>F(u, x)</dt>" in formulas and "<code>-19.7392088*u</code>" in formulas and "<code>-19.7*u</code>" in formulas


def test_a_run_without_the_networks_values_says_what_it_cannot_plot(tmp_path):
    problem, family = _hidden_run(tmp_path, saved=False)
    files = {p.name for p in render_report(tmp_path, problem, family)}
    assert not {"data_fit.png", "hidden_F.png"} & files
    report = (tmp_path / "report.html").read_text()
    assert "predictions at the data points were not saved" in report and "Not plotted" in report and "F(u, x)" in report
