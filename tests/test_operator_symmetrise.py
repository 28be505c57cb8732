"""Predictions averaged over the equation's symmetries (``[solver.training] symmetrise``): each view
is undone exactly, so the exact operator averaged is the exact operator."""

import jax
import numpy as np
import pytest
from click.testing import CliRunner

import neuralsolve as ns
from neuralsolve._errors import ProblemError
from neuralsolve.cli.main import main
from neuralsolve.methods.operator.augment import augmentation
from neuralsolve.methods.operator.model import predict
from neuralsolve.reference.operators import generator_for
from neuralsolve.reference.spectral import solve_periodic

from conftest import BURGERS_OPERATOR

SYMMETRISED = BURGERS_OPERATOR.replace("epochs = 40", "epochs = 3").replace(
    "[solver.training]\n", '[solver.training]\naugment = ["translation", "galilean", "odd-reflection"]\nsymmetrise = true\n')


def _rows(f, v):
    return np.stack([f(np.asarray(r)) for r in np.asarray(v)])


def test_the_exact_burgers_operator_averaged_over_boosts_and_mirrors_is_itself(tmp_path):
    (tmp_path / "p.toml").write_text(BURGERS_OPERATOR)
    gen = generator_for(ns.load(tmp_path / "p.toml"))
    x = gen.grid(48)[0]
    a = np.stack([np.sin(x) + 0.3 * np.cos(2 * x) + 0.2 * k for k in range(-2, 3)])
    solve = lambda row: solve_periodic(gen.rhs, gen.u, gen.x, row, gen.length, gen.span, dt=2e-3)  # noqa: E731
    u = _rows(solve, a)
    aug = augmentation(ns.load(tmp_path / "p.toml"), ("translation", "galilean", "odd-reflection"), a)
    with jax.enable_x64(True):
        views = aug._views_one_d(48)
        assert len(views) == 10  # five boosts, each with and without the odd mirror image
        assert len({float(np.mean(there(a)[0])) for there, _ in views}) >= 5  # the boosts differ
        averaged = np.asarray(aug.average(lambda v: _rows(solve, v), a))
    assert np.linalg.norm(averaged - u) < 1e-9 * np.linalg.norm(u)


def test_the_exact_darcy_operator_averaged_over_the_squares_symmetries_is_itself(tmp_path):
    from neuralsolve.reference.darcy import solve_darcy
    from test_operator import DARCY

    (tmp_path / "d.toml").write_text(DARCY)
    aug = augmentation(ns.load(tmp_path / "d.toml"), ("reflection", "rotation"), np.ones((2, 9, 9)))
    rng = np.random.default_rng(0)
    a = np.where(rng.standard_normal((2, 17, 17)) > 0, 12.0, 3.0)
    u = _rows(lambda row: solve_darcy(row, 1.0), a)
    seen = []
    with jax.enable_x64(True):
        assert len(aug._views_two_d()) == 8
        averaged = np.asarray(aug.average(lambda v: seen.append(np.asarray(v)) or _rows(lambda r: solve_darcy(r, 1.0), v), a))
    assert len({arr.tobytes() for arr in seen}) == 8  # eight different inputs were solved
    assert np.linalg.norm(averaged - u) < 1e-10 * np.linalg.norm(u)


def test_symmetrise_needs_a_symmetry_besides_translation():
    assert ns.Training(augment=("galilean",), symmetrise=True).symmetrise
    with pytest.raises(ProblemError, match="symmetrise averages predictions over the symmetries in augment"):
        ns.Training(augment=("translation",), symmetrise=True)
    with pytest.raises(ProblemError, match="symmetrise must be true or false"):
        ns.Training(augment=("galilean",), symmetrise="yes")


def test_a_symmetrised_solve_reports_both_errors_and_reopens_symmetrised(tmp_path):
    (tmp_path / "p.toml").write_text(SYMMETRISED)
    checked = CliRunner().invoke(main, ["check", str(tmp_path / "p.toml")])
    assert checked.exit_code == 0 and "predictions averaged over these symmetries" in checked.output
    done = CliRunner().invoke(main, ["solve", str(tmp_path / "p.toml"), "--out", str(tmp_path / "run")])
    assert done.exit_code in (0, 1), done.output  # 1: an honest "disagrees" at these tiny sizes
    sol = ns.open(tmp_path / "run")
    model = sol.operator_model
    assert model.symmetrise is not None and model.symmetrise.odd_reflect and model.symmetrise.max_boost > 0
    saved = np.load(tmp_path / "run" / "solution.npz")
    inputs = saved["operator_input"]
    np.testing.assert_allclose(sol(inputs), saved["operator_prediction"], rtol=1e-4, atol=1e-5)
    plain = predict(model, sol._params, inputs, np.float32, plain=True)
    manual = model.symmetrise.average(lambda v: model.apply(sol._params, v), inputs.astype(np.float32))
    np.testing.assert_allclose(sol(inputs), np.asarray(manual), rtol=1e-4, atol=1e-5)
    assert not np.allclose(sol(inputs), plain)  # three epochs in, the views disagree
    metrics = sol.metrics
    assert np.isfinite(metrics["test_relative_l2"]) and np.isfinite(metrics["test_relative_l2_unsymmetrised"])
