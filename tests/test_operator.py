"""Neural operators end to end on tiny problems: generated data (cached), training through the shared
loop, the metrics, the run directory and report, reopening, user data files and the Python API.
Accuracy at the papers' sizes is a benchmark (benchmarks/operators.py, BENCHMARKS.md)."""

import json

import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.reference.datasets import cache_folder

BURGERS = """\
name = "Burgers operator (tiny)"
fields = ["u"]
equations = ["diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)"]

[domain]
x = [0, "2*pi"]
t = [0, 1]

[[conditions]]
periodic = "x"

[operator]
input = "initial"
train = 80
test = 8
generate = 128
resolution = 32
zero_shot = [64]

[operator.grf]
sigma = 25
tau = 5
alpha = 2

[solver.model]
kind = "fno"
width = 8
modes = 6
layers = 2

[solver.training]
epochs = 40
batch = 10
learning_rate = 0.01
decay_every = 15
"""


@pytest.fixture(scope="module")
def burgers_run(tmp_path_factory):
    """One CLI solve of the tiny Burgers operator problem; its folder."""
    from click.testing import CliRunner

    from neuralsolve.cli.main import main

    folder = tmp_path_factory.mktemp("burgers-operator")
    (folder / "burgers.toml").write_text(BURGERS)
    done = CliRunner().invoke(main, ["solve", str(folder / "burgers.toml"), "--out", str(folder / "run")])
    assert done.exit_code in (0, 1), done.output  # 1: an honest "disagrees" verdict at these tiny sizes
    return folder, done


def test_solve_learns_the_operator_and_measures_it(burgers_run):
    folder, done = burgers_run
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    # 40 epochs of a 2-layer FNO on 80 samples: far from the papers' accuracy, far better than the
    # mean field (relative error 1)
    assert metrics["test_relative_l2"] < 0.2
    assert set(metrics["zero_shot"]) == {"64"}
    assert metrics["zero_shot"]["64"] < 1.5 * metrics["test_relative_l2"]  # the FNO is resolution invariant
    assert metrics["samples"] == {"train": 80, "test": 8}
    assert metrics["parameters"] > 0 and metrics["inference_seconds"] > 0
    assert metrics["reference_method"] == "ETDRK4 pseudo-spectral solver"
    # the verdict is the test error against the problem's tolerance (default 1e-2)
    assert metrics["status"] == ("ok" if metrics["test_relative_l2"] <= 1e-2 else "disagrees")
    assert "test relative L2 error against the ETDRK4 pseudo-spectral solver" in done.output
    report = (folder / "run" / "report.html").read_text()
    assert "zero-shot at resolution 64" in report and "operator_samples" in report


def test_reopened_operator_predicts_as_saved(burgers_run):
    folder, _ = burgers_run
    sol = ns.open(folder / "run")
    saved = np.load(folder / "run" / "solution.npz")
    again = sol(saved["operator_input"])
    np.testing.assert_allclose(again, saved["operator_prediction"], rtol=1e-4, atol=1e-5)
    assert sol(saved["operator_input"][0]).shape == (32,)  # one function in, one out
    with pytest.raises(ns.ProblemError, match="inputs must be one function"):
        sol(np.zeros((2, 3, 4)))


def test_data_are_cached_and_reused(burgers_run):
    folder, _ = burgers_run
    problem = ns.load(folder / "burgers.toml")
    from neuralsolve.methods.operator.data import load

    data = load(problem)
    assert data.source == "cache" and (cache_folder() / f"{data.key}.npz").exists()
    assert data.inputs.shape == (88, 128) and np.all(np.isfinite(data.outputs))
    # the data are the equation's solutions: the mean is conserved by Burgers on a periodic domain
    np.testing.assert_allclose(data.outputs.mean(axis=1), data.inputs.mean(axis=1), atol=1e-10)


def test_python_api_with_a_user_data_file(tmp_path):
    """A data file in place of generation: the heat equation's smoothing operator, known exactly."""
    rng = np.random.default_rng(0)
    s, n = 32, 30
    k = np.fft.rfftfreq(s, 1.0 / s)
    a = np.fft.irfft(rng.normal(size=(n, len(k))) / (1 + k**2), s) * s
    u = np.fft.irfft(np.fft.rfft(a) * np.exp(-0.05 * k**2), s)
    np.savez(tmp_path / "heat.npz", inputs=a, outputs=u)
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 1)), ["u"], ["diff(u, t) = diff(u, x, 2)"],
                         [ns.Periodic("x")], operator=ns.Operator(train=24, test=6, file="heat.npz"))  # fmt: skip
    problem.source_path = tmp_path / "heat.toml"  # the file is read relative to the problem's folder
    sol = ns.solve(problem, model=ns.FNO(width=8, modes=6, layers=2),
                   training=ns.Training(epochs=100, batch=8, learning_rate=0.01, decay_every=40))  # fmt: skip
    assert isinstance(sol, ns.OperatorSolution)
    assert sol.metrics["data"]["source"] == "heat.npz"
    assert sol.metrics["test_relative_l2"] < 0.1
    # any resolution: the same function at twice the points maps to the same output, twice as fine
    fine = np.fft.irfft(np.fft.rfft(a[-1]), 2 * s) * 2
    np.testing.assert_allclose(sol(fine)[::2], sol(a[-1]), atol=0.05 * np.abs(u[-1]).max())


@pytest.mark.parametrize("arrays, cause", [
    ({"inputs": np.zeros((10, 16))}, "has no array 'outputs'"),
    ({"inputs": np.zeros((10, 16)), "outputs": np.zeros((10, 8))}, "outputs have shape"),
    ({"inputs": np.zeros((10, 16, 16)), "outputs": np.zeros((10, 16, 16))}, "inputs must be \\(samples, s\\)"),
    ({"inputs": np.zeros((4, 16)), "outputs": np.zeros((4, 16))}, "fewer than train \\+ test"),
])  # fmt: skip
def test_bad_user_data_is_refused_in_one_line(tmp_path, arrays, cause):
    np.savez(tmp_path / "data.npz", **arrays)
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 1)), ["u"], ["diff(u, t) = diff(u, x, 2)"],
                         [ns.Periodic("x")], operator=ns.Operator(train=6, test=2, file="data.npz"))  # fmt: skip
    problem.source_path = tmp_path / "p.toml"
    with pytest.raises(ns.ProblemError, match=cause):
        ns.solve(problem, training=ns.Training(epochs=1))
