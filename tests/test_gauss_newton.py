"""Levenberg–Marquardt: the loss as residual rows (their sum of squares and Jacobian), the phase's
steps, and how it is refused where it cannot run."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import POISSON_1D
from jax.flatten_util import ravel_pytree

import neuralsolve as ns
from neuralsolve.cli.main import main
from neuralsolve.loss.rows import make_rows
from neuralsolve.loss.terms import make_terms, sample_data
from neuralsolve.pinn.model import build_model
from neuralsolve.train.fit import fit
from neuralsolve.train.phases import PHASES, LevenbergMarquardt


def _advection():
    """Penalty conditions of every kind the rows handle: periodic partners and an initial value."""
    domain = ns.SpaceTime(ns.Interval(0, 1), (0, 0.5))
    return ns.Problem(domain, "u", "diff(u, t) + 2*diff(u, x) = 0",
                      [ns.Periodic("x", impose="penalty", weight=3.0), ns.Initial("u", "sin(2*pi*x)", impose="penalty")])  # fmt: skip


@pytest.mark.parametrize("masked, chunk", [(False, None), (True, None), (False, 5)])
def test_rows_are_the_weighted_loss_and_their_jacobian(masked, chunk, monkeypatch):
    if chunk is not None:  # points in chunks of 5: 40 interior points in 8, 12 of each condition in 2 and a remainder of 2
        monkeypatch.setattr("neuralsolve.loss.rows.CHUNK", chunk)
    problem = _advection()
    with jax.enable_x64(True):
        model, params = build_model(problem, ns.MLP(6, 2), jnp.float64, 0)
        data = sample_data(problem, ns.Points(interior=40, boundary=12), 0)
        if masked:  # room kept free by adaptive refinement counts for nothing
            data["mask"] = (np.arange(40) % 3 != 0).astype(float)
        data = jax.tree_util.tree_map(jnp.asarray, data)
        weights = jnp.asarray([1.5, 3.0, 0.7])
        rows = jax.jit(make_rows(problem, model))  # compiled: op by op, the Jacobians take a minute
        rho, jac = rows(params, data, weights)
        loss = jnp.sum(weights * make_terms(problem, model)(params, data))
        np.testing.assert_allclose(float(rho @ rho), float(loss), rtol=1e-13)
        flat, unravel = ravel_pytree(params)
        expected = jax.jit(jax.jacfwd(lambda f: rows(unravel(f), data, weights)[0]))(flat)
        assert jac.shape == (40 + 2 * 12 + 12, flat.size)  # each periodic pair: its values and slopes
        np.testing.assert_allclose(jac, expected, rtol=0, atol=1e-12 * float(jnp.max(jnp.abs(expected))))


def _poisson():
    return ns.Problem(ns.Interval(-1, 1), "u", "-diff(u, x, 2) = pi**2*sin(pi*x)", [ns.Dirichlet("u", 0.0)],
                      exact={"u": "sin(pi*x)"})  # fmt: skip


def test_levenberg_marquardt_trains_a_poisson_pinn():
    # measured (seed 1, after Adam 200): 60 steps 1.9e-6, 100 steps 7.4e-7 (SSBroyden: 2.7e-8 after
    # 600 steps, test_optimizers): Gauss-Newton steps go fast at first, then linearly (docs/optimizers.md)
    sol = ns.solve(_poisson(), network=ns.MLP(16, 2), points=ns.Points(interior=128),
                   phases=[ns.Adam(200, 1e-2), ns.LevenbergMarquardt(60)], precision="float64", seed=1)  # fmt: skip
    assert sol.phases[1] == {"phase": "lm", "steps": 60, "stop": "step budget reached"}
    assert sol.metrics["l2_relative_error"]["u"] < 4e-6


def test_levenberg_marquardt_refuses_huge_networks():
    with pytest.raises(ns.ProblemError, match=r"LevenbergMarquardt solves an \d+ x \d+ system .* use SSBroyden"):
        ns.solve(_poisson(), network=ns.MLP(width=8), phases=[LevenbergMarquardt(10, max_params=50)])


def test_a_fit_without_residual_rows_refuses_levenberg_marquardt():
    terms = lambda p, data: jnp.stack([jnp.sum((p["x"] - 1.0) ** 2)])
    with pytest.raises(ns.ProblemError, match="method 'lm' needs the loss as residuals.*use 'ssbroyden' or 'lbfgs'"):
        fit(terms, {"x": jnp.zeros(3)}, lambda draw: {}, [LevenbergMarquardt(5)], weights=[1.0])


FILE = POISSON_1D + "\n[solver]\nphases = [PHASES]\n"  # on line 13


def test_problem_files_name_levenberg_marquardt(tmp_path):
    assert PHASES["lm"] is LevenbergMarquardt
    path = tmp_path / "lm.toml"
    path.write_text(FILE.replace("PHASES", '{method = "adam", steps = 100}, {method = "lm", steps = 50, damping = 0.01}'))
    assert ns.load(path).solver["phases"][1] == LevenbergMarquardt(50, damping=0.01)
    path.write_text(FILE.replace("PHASES", '{method = "lm", steps = 50, damping = 0}'))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert re.search(r":13: solver.phases\[1\].damping: expected a finite number > 0, got a whole number \(0\)", result.output), result.output
