"""Classical references: solve_ivp for ODE initial-value problems, solve_bvp for ODE boundary-value
problems, the method of lines for 1-D evolution equations, checked against exact solutions; None where
no method applies. (Their accuracy and error estimates in depth: tests/test_reference_accuracy.py.)"""

import pathlib
import warnings

import numpy as np
import pytest
import scipy.optimize

import neuralsolve as ns
from neuralsolve.reference import Reference, classical_reference

ROOT = pathlib.Path(__file__).parents[1]


def _load(name: str) -> ns.Problem:
    return ns.load(ROOT / "src/neuralsolve/examples" / f"{name}.toml")


def _relative_l2(values: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(values - exact) / np.linalg.norm(exact))


def _grid(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points (x_i, t_j) in the order of an array indexed [i, j]."""
    xx, tt = np.meshgrid(x.ravel(), t.ravel(), indexing="ij")
    return np.stack([xx.ravel(), tt.ravel()], axis=1)


def test_damped_oscillator_matches_closed_form():
    """y' = v, v' = -0.5 v - 4 y, y(0) = 1, v(0) = 0 on [0, 10]: both fields to 1e-8 (we get ~1e-11)."""
    ref = classical_reference(_load("ode_system"))
    assert isinstance(ref, Reference) and ref.method.startswith("solve_ivp")
    t = np.linspace(0, 10, 1001)
    w = np.sqrt(4 - 0.25**2)
    y = np.exp(-0.25 * t) * (np.cos(w * t) + 0.25 / w * np.sin(w * t))
    v = -np.exp(-0.25 * t) * (4 / w) * np.sin(w * t)
    values = ref.values(t[:, None])
    assert values.shape == (len(t), 2)
    assert _relative_l2(values[:, 0], y) <= 1e-8
    assert _relative_l2(values[:, 1], v) <= 1e-8


def test_second_order_ode_takes_its_initial_rate_from_a_condition():
    """u'' + u = 0, u(0) = 1 and u'(0) = 2 (a penalty condition): u = cos t + 2 sin t."""
    problem = ns.Problem(ns.Interval(0, 3, coord="t"), "u", "diff(u, t, 2) + u = 0",
                         [ns.Initial("u", 1.0), ns.InitialRate("u", 2.0)])  # fmt: skip
    t = np.linspace(0, 3, 301)
    values = classical_reference(problem).values(t[:, None])[:, 0]
    assert np.max(np.abs(values - (np.cos(t) + 2 * np.sin(t)))) <= 1e-8


def test_heat_equation_matches_exact_solution():
    """u_t = u_xx, u = exp(-pi^2 t) sin(pi x): relative L2 <= 1e-8 (we get ~1.2e-11), with an estimate."""
    ref = classical_reference(_load("heat"))
    assert ref.method.startswith("method of lines")
    points = _grid(np.linspace(0, 1, 201), np.linspace(0, 1, 101))
    exact = np.exp(-np.pi**2 * points[:, 1]) * np.sin(np.pi * points[:, 0])
    assert _relative_l2(ref.values(points)[:, 0], exact) <= 1e-8 <= 1e8 * ref.error_estimate


# Burgers (against the Cole–Hopf solution and DeepXDE's data) and Allen–Cahn (against a finer solve
# and DeepXDE's data): tests/test_reference_accuracy.py


def test_periodic_advection_diffusion_matches_exact_solution():
    """Fourier collocation on the period: <= 1e-8 (we get ~3e-11)."""
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 2), (0, 1)), "u", "diff(u, t) + diff(u, x) = 0.01*diff(u, x, 2)",
                         [ns.Periodic("x"), ns.Initial("u", "sin(pi*x)")])  # fmt: skip
    points = np.random.default_rng(0).random((2000, 2)) * [2, 1]
    exact = np.exp(-0.01 * np.pi**2 * points[:, 1]) * np.sin(np.pi * (points[:, 0] - points[:, 1]))
    ref = classical_reference(problem)
    assert "Fourier" in ref.method
    assert _relative_l2(ref.values(points)[:, 0], exact) <= 1e-8


def test_system_with_time_dependent_boundary_values_keeps_field_order():
    """u_t = u_xx + v - u, v_t = v_xx + u - v with v = t on both ends: u + v solves the heat equation."""
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 0.5)), ["u", "v"],
                         ["diff(u, t) = diff(u, x, 2) + v - u", "diff(v, t) = diff(v, x, 2) + u - v"],
                         [ns.Dirichlet("u", "-t"), ns.Dirichlet("v", "t"),
                          ns.Initial("u", "sin(pi*x)"), ns.Initial("v", "0")])  # fmt: skip
    points = _grid(np.linspace(0, 1, 51), np.linspace(0, 0.5, 11))
    values = classical_reference(problem, nodes=128).values(points)
    exact_sum = np.exp(-np.pi**2 * points[:, 1]) * np.sin(np.pi * points[:, 0])
    assert np.max(np.abs(values.sum(axis=1) - exact_sum)) <= 1e-9
    right = points[:, 0] == 1.0
    assert np.allclose(values[right], np.stack([-points[right, 1], points[right, 1]], axis=1))


def test_no_reference_where_no_classical_method_applies():
    """The wave equation (second order in time); Poisson in three dimensions. (Neumann ends of the
    heat equation have one now: tests/test_reference_accuracy.py; 2-D Poisson has finite elements.)"""
    assert classical_reference(_load("wave")) is None
    box = ns.Problem(ns.Box([(0, 1)] * 3), "u", "diff(u, x, 2) + diff(u, y, 2) + diff(u, z, 2) = 1", [ns.Dirichlet("u", 0)])
    assert classical_reference(box) is None


def test_two_dimensional_problems_get_finite_elements_with_an_honest_estimate(monkeypatch):
    """poisson_2d without its exact solution: the automatic reference is finite elements, which
    agree with the exact solution within their own estimate (a small mesh here, for time)."""
    import jax

    from neuralsolve.reference import fem

    monkeypatch.setattr(fem, "_DEFAULT_TRIANGLES", 4000)
    problem = _load("poisson_2d")
    blind = ns.Problem(problem.domain, solver=problem.solver, **{**problem.arguments, "exact": None})
    ref = classical_reference(blind)
    assert ref is not None and ref.method.startswith("finite elements (P2")
    points = blind.domain.interior().sample(2000, "sobol", 3)[0]
    with jax.enable_x64(True):
        exact = np.asarray(problem.exact_at("u", points))
    error = _relative_l2(ref.values(points)[:, 0], exact)
    assert error <= ref.error_estimate <= 3 * error and error < 1e-5


def test_no_reference_for_python_function_equations():
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 1)), "u", lambda p: p.d("u", "t") - p.d("u", "x", 2),
                         [ns.Dirichlet("u", 0.0), ns.Initial("u", "sin(pi*x)")])  # fmt: skip
    assert classical_reference(problem) is None


def test_poisson_1d_boundary_value_problem_matches_exact_solution():
    """-u'' = pi^2 sin(pi x) on [-1, 1], u(+-1) = 0, no exact solution given: <= 1e-8 (we get ~5e-15)."""
    problem = ns.Problem(ns.Interval(-1, 1), "u", "-diff(u, x, 2) = pi**2*sin(pi*x)", [ns.Dirichlet("u", 0.0)])
    ref = classical_reference(problem)
    assert ref.method.startswith("solve_bvp")
    x = np.linspace(-1, 1, 2001)
    assert _relative_l2(ref.values(x[:, None])[:, 0], np.sin(np.pi * x)) <= 1e-8


def test_boundary_value_problem_with_a_neumann_end():
    """u'' = -1 on [0, 1], u(0) = 0, u'(1) = 0 (a penalty condition): u = x - x^2/2 to 1e-8 (we get ~3e-16)."""
    problem = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = -1",
                         [ns.Dirichlet("u", 0.0, on="x = 0"), ns.Neumann("u", 0.0, on="x = 1")])  # fmt: skip
    x = np.linspace(0, 1, 1001)
    assert _relative_l2(classical_reference(problem).values(x[:, None])[:, 0], x - x**2 / 2) <= 1e-8


def test_boundary_value_problem_with_robin_ends_takes_outward_normals():
    """u'' = 0 on [0, 1] in r, u + du/dn = 1 + 2r on both ends: u(0) - u'(0) = 1, u(1) + u'(1) = 3,
    so u = 5/3 + 2r/3 (a sign error in either normal gives another line)."""
    problem = ns.Problem(ns.Interval(0, 1, coord="r"), "u", "diff(u, r, 2) = 0", [ns.Robin("u", 1.0, 1.0, "1 + 2*r")])
    r = np.linspace(0, 1, 101)
    assert np.max(np.abs(classical_reference(problem).values(r[:, None])[:, 0] - (5 + 2 * r) / 3)) <= 1e-10


def test_nonlinear_bratu_problem_matches_closed_form():
    """u'' + exp(u) = 0, u(0) = u(1) = 0: the lower branch -2 ln(cosh((x - 1/2) th/2) / cosh(th/4)) to 1e-8 (~7e-14)."""
    problem = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) + exp(u) = 0", [ns.Dirichlet("u", 0.0)])
    th = scipy.optimize.brentq(lambda th: th - np.sqrt(2) * np.cosh(th / 4), 0, 5)  # the smaller root
    x = np.linspace(0, 1, 1001)
    exact = -2 * np.log(np.cosh((x - 0.5) * th / 2) / np.cosh(th / 4))
    assert _relative_l2(classical_reference(problem).values(x[:, None])[:, 0], exact) <= 1e-8


def test_first_order_system_boundary_value_problem_keeps_field_order():
    """u' = v, v' = -u on [0, pi/2], u(0) = 0, u(pi/2) = 1: u = sin x, v = cos x to 1e-8 (~1.5e-14)."""
    problem = ns.Problem(ns.Interval(0, np.pi / 2), ["u", "v"], ["diff(u, x) = v", "diff(v, x) = -u"],
                         [ns.Dirichlet("u", 0.0, on="x = 0"), ns.Dirichlet("u", 1.0, on="x = pi/2")])  # fmt: skip
    x = np.linspace(0, np.pi / 2, 1001)
    values = classical_reference(problem).values(x[:, None])
    assert _relative_l2(values[:, 0], np.sin(x)) <= 1e-8
    assert _relative_l2(values[:, 1], np.cos(x)) <= 1e-8


def test_boundary_value_problem_in_time():
    """u'' + u = 0 on [0, 3] with u(0) = 0 and u(3) = 1 is no initial-value problem: u = sin t / sin 3."""
    problem = ns.Problem(ns.Interval(0, 3, coord="t"), "u", "diff(u, t, 2) + u = 0",
                         [ns.Dirichlet("u", 0.0, on="t = 0"), ns.Dirichlet("u", 1.0, on="t = 3")])  # fmt: skip
    ref = classical_reference(problem)
    assert ref.method.startswith("solve_bvp")
    t = np.linspace(0, 3, 301)
    assert np.max(np.abs(ref.values(t[:, None])[:, 0] - np.sin(t) / np.sin(3))) <= 1e-8


def test_poisson_1d_example_without_exact_solution_gets_a_reference(tmp_path):
    text = (ROOT / "src/neuralsolve/examples" / "poisson_1d.toml").read_text()
    path = tmp_path / "poisson_1d.toml"
    path.write_text(text[: text.index("[exact]")])
    problem = ns.load(path)
    assert not problem.exact
    ref = classical_reference(problem)
    assert ref is not None
    x = np.linspace(-1, 1, 501)
    assert _relative_l2(ref.values(x[:, None])[:, 0], np.sin(np.pi * x)) <= 1e-8


def test_no_reference_for_too_few_or_periodic_boundary_conditions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_end = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = -1", [ns.Dirichlet("u", 0.0, on="x = 0")])
        assert classical_reference(one_end) is None
        periodic = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = u - cos(2*pi*x)", [ns.Periodic("x")])
        assert classical_reference(periodic) is None


def test_a_singular_boundary_value_problem_gives_no_reference_and_a_warning():
    """Neumann ends only: -u'' = 0 with u'(0) = u'(1) = 0 fixes u up to a constant."""
    problem = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = 0", [ns.Neumann("u", 0.0)])
    with pytest.warns(RuntimeWarning, match="solve_bvp failed"):
        assert classical_reference(problem) is None


def test_a_solution_that_blows_up_gives_no_reference_and_a_warning():
    problem = ns.Problem(ns.Interval(0, 2, coord="t"), "u", "diff(u, t) = u**2", [ns.Initial("u", 1.0)])
    with pytest.warns(RuntimeWarning, match="no classical reference"):
        assert classical_reference(problem) is None


def test_values_checks_shape_and_is_nan_outside_the_domain():
    ref = classical_reference(_load("heat"), nodes=32)
    values = ref.values([[0.5, 0.1], [1.5, 0.1], [0.5, -0.1]])
    assert np.isfinite(values[0, 0]) and np.isnan(values[1:, 0]).all()
    with pytest.raises(ns.ProblemError, match=r"shape \(n, 2\)"):
        ref.values(np.zeros((3, 3)))


def test_invalid_input_raises_problem_error():
    with pytest.raises(ns.ProblemError, match="needs a neuralsolve Problem"):
        classical_reference("src/neuralsolve/examples/heat.toml")
    with pytest.raises(ns.ProblemError, match="nodes"):
        classical_reference(_load("heat"), nodes=3)


def test_reference_is_immutable_and_a_supported_problem_solves_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = classical_reference(_load("ode_system"))
    with pytest.raises(AttributeError):
        ref.method = "other"
