"""Training aids available to every problem: adaptive loss weighting, collocation redraws, and
field scales and signs; and singular ODEs solved through their singular points."""

import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.train.weighting import Adaptive


def _ode():
    return ns.Problem(ns.Interval(0, 1), "u", "diff(u, x) = cos(x)", [ns.Condition("u = 0", on="x = 0")],
                      exact={"u": "sin(x)"})  # fmt: skip


def test_adaptive_weights_follow_the_change_of_each_term():
    rule = Adaptive(eta=1.0)
    first = rule.update(np.full(2, np.nan), np.array([1.0, 1.0]), np.ones(2))
    np.testing.assert_allclose(first, [1.0, 1.0])  # the first update only records the terms
    # one term doubled, the other halved: weights exp(log 2) : exp(-log 2) = 4 : 1, summing to 2
    w = rule.update(np.array([1.0, 1.0]), np.array([2.0, 0.5]), np.ones(2))
    np.testing.assert_allclose(w, [1.6, 0.4])
    masked = rule.update(np.array([1.0, 1.0, 1.0]), np.array([2.0, 0.5, 9.0]), np.array([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(masked, [1.6, 0.4, 1.0])  # a masked-out term keeps factor 1
    with pytest.raises(ns.ProblemError, match="eta"):
        Adaptive(eta=0)


def test_adaptive_weighting_in_a_solve_changes_weights_then_freezes_them():
    penalty = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x) = cos(x)", [ns.Dirichlet("u", 0.0, on="x = 0", impose="penalty")],
                         exact={"u": "sin(x)"})  # fmt: skip
    # one hidden layer: no accuracy is asserted, and compiling a deeper network took most of the time
    sol = ns.solve(penalty, network=ns.MLP(16, 1), weighting=Adaptive(eta=1.0, every=50),
                   phases=[ns.Adam(300), ns.LBFGS(300)], log_every=50)  # fmt: skip
    adam = [r["balance"] for r in sol.history if r["phase"] == "adam"]
    lbfgs = [r["balance"] for r in sol.history if r["phase"] == "lbfgs"]
    assert len({tuple(b) for b in adam}) > 2  # it moved during Adam
    assert all(b == lbfgs[0] for b in lbfgs) and lbfgs[0] == adam[-1]  # frozen for L-BFGS
    assert all(sum(b) == pytest.approx(2.0) for b in adam[1:])
    # Not asserted: accuracy. On this problem the memoryless rule starves the boundary term (with
    # the default network: factor 3e-5 at the end of Adam, error 5e-4); see the closing note of issue 4.
    assert sol.status == "ok"


def test_redraw_gives_fresh_points_every_so_many_adam_steps(monkeypatch):
    import neuralsolve.pinn.train as solve_module

    seeds = []
    original = solve_module.sample_data
    monkeypatch.setattr(solve_module, "sample_data", lambda p, pts, seed, *rest: seeds.append(seed) or original(p, pts, seed, *rest))
    # one hidden layer (measured 4.6e-7): compiling a deeper network took most of the time
    sol = ns.solve(_ode(), network=ns.MLP(32, 1), redraw=100, phases=[ns.Adam(300), ns.LBFGS(200)], seed=3)
    # draws 0, 1, 2 during Adam (steps 0, 100, 200); L-BFGS keeps the points it starts with (draw 3)
    assert seeds == [3 + 1000003 * k for k in (0, 1, 2, 3)]
    assert sol.metrics["l2_relative_error"]["u"] < 1e-5


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_scaled_positive_field_is_exact_on_its_face_and_positive():
    """u' = -3u with u(0) = 2e-4: a field from 2e-4 down to 5e-7, solved as positive with scale
    1e-4. Residuals are in the equation's units, so it is written as u'/u = -3 (safe: u > 0)."""
    problem = ns.Problem(ns.Interval(0, 2), "u", "diff(u, x)/u = -3", [ns.Dirichlet("u", 2e-4, on="x = 0")],
                         exact={"u": "2e-4*exp(-3*x)"}, scale={"u": 1e-4}, sign={"u": "positive"})  # fmt: skip
    # one hidden layer (measured 1.3e-8): compiling a deeper network took most of the time
    sol = ns.solve(problem, network=ns.MLP(32, 1), phases=[ns.Adam(500), ns.LBFGS(2000)])
    assert sol(np.array([[0.0]]), "u")[0] == pytest.approx(2e-4, rel=1e-14)
    x = np.linspace(0, 2, 401)[:, None]
    assert np.all(sol(x, "u") > 0)
    assert sol.metrics["l2_relative_error"]["u"] < 1e-5


def test_field_scale_and_sign_are_checked():
    with pytest.raises(ns.ProblemError, match="must be a positive number"):
        ns.Problem(ns.Interval(0, 1), "u", "u = 0", scale={"u": 0})
    with pytest.raises(ns.ProblemError, match="'positive' or 'negative'"):
        ns.Problem(ns.Interval(0, 1), "u", "u = 0", sign={"u": "up"})
    with pytest.raises(ns.ProblemError, match="unknown field 'w'"):
        ns.Problem(ns.Interval(0, 1), "u", "u = 0", scale={"w": 1.0})


@pytest.mark.slow  # 75 s on a 2-core CPU: run by `make accuracy`
def test_hypergeometric_equation_through_its_singular_point():
    """x(1-x)y'' + y' + 2y = 0 on [0, 2] with y(0) = 1: singular at x = 0 (an end) and x = 1
    (inside). The collocation points include neither exactly, but the metrics' Sobol points and
    a grid through both are evaluated without NaN, and the regular solution (1-x)^2 is found."""
    problem = ns.load(__import__("pathlib").Path(__file__).parents[1] / "src/neuralsolve/examples/hypergeometric.toml")
    sol = ns.solve(problem)  # the example's own budget: Adam 1000 + SSBroyden 600
    assert sol.status == "ok"
    assert sol.metrics["l2_relative_error"]["y"] < 1e-5
    grid = np.linspace(0, 2, 401)[:, None]  # includes x = 0 and x = 1 exactly
    assert np.all(np.isfinite(sol(grid, "y")))
