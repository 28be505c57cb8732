"""Accuracy in float64 against exact or independent classical solutions (the issue's figures).

Each test trains a network on a small problem and asserts an error bound; budgets are sized so the
whole file runs in a few minutes on a 2-core CPU.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import neuralsolve as ns


def test_poisson_1d_relative_l2_below_1e_5():
    problem = ns.Problem(ns.Interval(-1, 1), "u", "-diff(u, x, 2) = pi**2*sin(pi*x)",
                         [ns.Dirichlet("u", 0.0)], exact={"u": "sin(pi*x)"})  # fmt: skip
    sol = ns.solve(problem, phases=[ns.Adam(1000), ns.LBFGS(2000)])
    assert sol.status == "ok"
    assert sol.metrics["l2_relative_error"]["u"] <= 1e-5
    # the Solution is callable on (n, d) points, and agrees with the exact solution there too
    x = np.linspace(-1, 1, 101)[:, None]
    assert np.max(np.abs(sol(x, field="u") - np.sin(np.pi * x[:, 0]))) <= 1e-5


def test_poisson_2d_unit_square_relative_l2_below_1e_4():
    problem = ns.Problem(ns.Rectangle((0, 1), (0, 1)), "u",
                         "-diff(u, x, 2) - diff(u, y, 2) = 2*pi**2*sin(pi*x)*sin(pi*y)",
                         [ns.Dirichlet("u", 0.0)], exact={"u": "sin(pi*x)*sin(pi*y)"})  # fmt: skip
    sol = ns.solve(problem, points=ns.Points(interior=1024), phases=[ns.Adam(1000), ns.LBFGS(2000)])
    assert sol.metrics["l2_relative_error"]["u"] <= 1e-4


def test_heat_equation_relative_l2_below_1e_3():
    domain = ns.SpaceTime(ns.Interval(0, 1), (0, 1))
    problem = ns.Problem(domain, "u", "diff(u, t) = diff(u, x, 2)",
                         [ns.Dirichlet("u", 0.0), ns.Initial("u", "sin(pi*x)")],
                         exact={"u": "exp(-pi**2*t)*sin(pi*x)"})  # fmt: skip
    sol = ns.solve(problem, points=ns.Points(interior=1024), phases=[ns.Adam(1000), ns.LBFGS(2000)])
    assert sol.metrics["l2_relative_error"]["u"] <= 1e-3


def test_damped_oscillator_system_against_solve_ivp_below_1e_4():
    c, k = 0.5, 4.0
    problem = ns.Problem(ns.Interval(0, 10, "t"), ["y", "v"], ["diff(y, t) = v", "diff(v, t) = -c*v - k*y"],
                         [ns.Initial("y", 1.0), ns.Initial("v", 0.0)], parameters={"c": c, "k": k})  # fmt: skip
    sol = ns.solve(problem, network=ns.MLP(width=64), points=ns.Points(interior=256),
                   phases=[ns.Adam(2000), ns.LBFGS(8000)])  # fmt: skip
    t = np.linspace(0, 10, 1001)
    ref = solve_ivp(lambda _, z: [z[1], -c * z[1] - k * z[0]], (0, 10), [1.0, 0.0], t_eval=t,
                    rtol=1e-12, atol=1e-12).y.T  # fmt: skip
    u = sol(t[:, None])
    assert np.linalg.norm(u - ref) / np.linalg.norm(ref) <= 1e-4


def test_laplace_unit_disk_relative_l2_below_1e_4():
    problem = ns.Problem(ns.Disk(), "u", "diff(u, x, 2) + diff(u, y, 2) = 0",
                         [ns.Dirichlet("u", "x**2 - y**2")], exact={"u": "x**2 - y**2"})  # fmt: skip
    assert not problem.hard and len(problem.penalties) == 1  # a curved boundary: a penalty term
    sol = ns.solve(problem, points=ns.Points(interior=1024, boundary=256), phases=[ns.Adam(1000), ns.LBFGS(4000)])
    assert sol.metrics["l2_relative_error"]["u"] <= 1e-4


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_precision_is_respected(precision):
    problem = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x) = 1", [ns.Dirichlet("u", 0.0, on="x = 0")],
                         exact={"u": "x"})  # fmt: skip
    sol = ns.solve(problem, precision=precision, phases=[ns.Adam(300, 1e-2)])
    params = __import__("jax").tree_util.tree_leaves(sol.params)
    assert all(str(p.dtype) == precision for p in params)
    assert sol(np.array([[0.5]])).dtype == np.dtype(precision)
    assert sol.metrics["l2_relative_error"]["u"] < 1e-2
