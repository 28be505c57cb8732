"""Neural operators end to end on tiny problems: generated data (cached), training through the shared
loop, the metrics, the run directory and report, reopening, user data files and the Python API.
Accuracy at the papers' sizes is a benchmark (benchmarks/operators.py, BENCHMARKS.md)."""

import json
import re

import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.reference.datasets import cache_folder

from conftest import BURGERS_OPERATOR

BURGERS = BURGERS_OPERATOR


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
    # the generated data state their own accuracy: far below the test error (measured 1.9e-6 on
    # this small grid; 1.7e-13 on burgers_operator's 8192 points)
    assert 0 < metrics["reference_error_estimate"] < 1e-4
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


def test_an_fno_keeping_more_modes_than_a_files_grid_carries_is_refused(tmp_path):
    # the extra modes' weights would never be trained, yet a finer zero-shot grid has those modes
    np.savez(tmp_path / "data.npz", inputs=np.zeros((8, 16)), outputs=np.zeros((8, 16)))
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 1)), ["u"], ["diff(u, t) = diff(u, x, 2)"],
                         [ns.Periodic("x")], operator=ns.Operator(train=6, test=2, file="data.npz"))  # fmt: skip
    problem.source_path = tmp_path / "p.toml"
    with pytest.raises(ns.ProblemError, match="9 Fourier modes per axis, but the 16-point training grid carries 8"):
        ns.solve(problem, model=ns.FNO(width=4, modes=9, layers=1), training=ns.Training(epochs=1))


DARCY = """\
name = "Darcy operator (tiny)"
fields = ["u"]
equations = ["-diff(a*diff(u, x), x) - diff(a*diff(u, y), y) = 1"]

[domain]
x = [0, 1]
y = [0, 1]

[[conditions]]
on = "boundary"
set = "u = 0"

[operator]
input = "a"
train = 12
test = 4
generate = 17
resolution = 9
zero_shot = [17]

[operator.grf]
tau = 3
map = "Piecewise((12, g >= 0), (3, True))"

[solver.model]
kind = "mgno"
width = 4
layers = 1

[solver.training]
epochs = 2
batch = 4
"""


def test_a_spectral_cut_on_a_grid_with_both_ends_is_refused_in_one_line(tmp_path):
    from click.testing import CliRunner

    from neuralsolve.cli.main import main

    (tmp_path / "darcy.toml").write_text(DARCY.replace("[operator]\n", '[operator]\ncoarsen = "spectral"\n', 1))
    result = CliRunner().invoke(main, ["check", str(tmp_path / "darcy.toml")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and re.search(r":\d+: operator.coarsen: coarsen = 'spectral' needs a periodic grid", lines[0])


def test_darcy_data_and_a_multigrid_operator(tmp_path):
    (tmp_path / "darcy.toml").write_text(DARCY)
    problem = ns.load(tmp_path / "darcy.toml")
    from neuralsolve.methods.operator.data import load

    data = load(problem)
    # the mapped field takes the two values only; with f = 1 and u = 0 on the boundary, u > 0 inside
    assert set(np.unique(data.inputs)) <= {3.0, 12.0} and len(np.unique(data.inputs)) == 2
    assert np.all(data.outputs[:, 1:-1, 1:-1] > 0) and np.all(data.outputs[:, 0, :] == 0)
    sol = ns.solve(problem)
    assert sol.metrics["model"]["kind"] == "mgno" and set(sol.metrics["zero_shot"]) == {"17"}
    assert np.isfinite(sol.metrics["test_relative_l2"]) and sol.metrics["reference_method"] == "second-order finite volumes"
    assert sol(data.inputs[-1]).shape == (17, 17)


@pytest.mark.parametrize("old, new, says", [
    ("seed = 0\n", "seed = 0\nsamples = 3\n", r":\d+: operator.samples: unknown key"),
    ("alpha = 2\n", "alpha = 0.5\n", r":23: operator.grf.alpha: grf.alpha must exceed 1/2 in 1-D"),
    ("sigma = 25\n", "sigma = -1\n", r":21: operator.grf.sigma: grf.sigma must be a positive"),
    ("resolution = 32\n", "resolution = 48\n", r":17: operator.resolution: resolution 48 cannot be taken from generate = 128"),
    ("zero_shot = [64]\n", "zero_shot = [100]\n", r":18: operator.zero_shot: zero_shot resolution 100 cannot be taken"),
    ("zero_shot = [64]\n", 'zero_shot = [64]\ncoarsen = "fourier"\n', r":19: operator.coarsen: expected one of 'subsample', 'spectral'"),
    ("u*diff(u, x) = ", "u*diff(u, x, t) = ", r"operator: no data generator handles this problem .*supported: 1-D periodic"),
    ('periodic = "x"\n', 'on = "boundary"\nset = "u = 0"\n', r"needs exactly one condition, periodic = \"x\""),
    ('input = "initial"\n', 'input = "a"\n', r"equations\[1\]: unknown symbol|input of an evolution problem is its initial state"),
    ('kind = "fno"\n', 'kind = "unet"\n', r":\d+: solver.model.kind: expected one of fno, deeponet, mgno"),
    ("width = 8\n", "width = 0\n", r":\d+: solver.model.width: expected a whole number >= 1"),
    ("modes = 6\n", "modes = 17\n", r":\d+: solver.model.modes: 17 Fourier modes per axis, but the 32-point training grid carries 16"),
    ("width = 8\n", 'width = 8\nchannel_mlp = "yes"\n', r":\d+: solver.model.channel_mlp: expected true or false"),
    ("batch = 10\n", 'batch = 10\nloss = "h1"\n', r":\d+: solver.training.loss: expected one of 'relative-l2', 'relative-h1', 'mse'"),
    ("batch = 10\n", 'batch = 10\nschedule = "exponential"\n', r"training: schedule must be one of step, cosine, constant"),
])  # fmt: skip
def test_bad_operator_files_get_one_line_with_file_line_key_and_cause(tmp_path, old, new, says):
    from click.testing import CliRunner

    from neuralsolve.cli.main import main

    seeded = BURGERS.replace("[operator]\n", "[operator]\nseed = 0\n", 1) if old == "seed = 0\n" else BURGERS
    assert old in seeded
    (tmp_path / "bad.toml").write_text(seeded.replace(old, new, 1))
    result = CliRunner().invoke(main, ["check", str(tmp_path / "bad.toml")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'bad.toml'}"), result.output
    assert re.search(says, lines[0]), lines[0]
