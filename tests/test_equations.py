"""Equation strings: parsed as mathematics only, compiled to JAX, evaluated correctly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.ops.point import Point
from neuralsolve.problem.compile import compile_expression
from neuralsolve.problem.parse import Namespace, parse_equation, parse_expression

NS = Namespace(("x", "t"), ("u", "v"), {"nu": 0.5, "V0": 50.0})


def _value(text, x=0.3, t=0.2):
    fn = compile_expression(parse_expression(text, NS, "test"), NS.coords, "test")
    with jax.enable_x64(True):
        return float(fn(Point(NS.coords, (), jnp.array([x, t]), values={})))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sin(pi*x)*exp(-t)", np.sin(np.pi * 0.3) * np.exp(-0.2)),
        ("x^2 + x**3", 0.3**2 + 0.3**3),
        ("sech(x)**2", 1 / np.cosh(0.3) ** 2),
        ("nu*sqrt(x) + Abs(-t)", 0.5 * np.sqrt(0.3) + 0.2),
        ("V0*Piecewise((0, (x > 0.25) & (x < 0.75)), (1, True))", 0.0),
        ("V0*Piecewise((0, (x > 0.5) & (x < 0.75)), (1, True))", 50.0),
        ("Heaviside(x - 0.5) + Heaviside(x - 0.1)", 1.0),
        ("Min(x, t) + Max(x, t)", 0.5),
        ("atan2(t, x) + tanh(x) + log(E)", np.arctan2(0.2, 0.3) + np.tanh(0.3) + 1),
        ("erf(x) + cosh(t)", 0.32862675945912745 + np.cosh(0.2)),
    ],
)
def test_functions_evaluate_like_numpy(text, expected):
    assert _value(text) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_diff_of_an_expression_follows_the_chain_rule():
    residual = parse_equation("diff(u**2/2, x) = 0", NS, "test")
    assert "Derivative" in str(residual) and "u(x, t)" in str(residual)
    fn = compile_expression(residual, NS.coords, "test")
    values = {(): jnp.array([3.0, 0.0]), (0,): jnp.array([2.0, 0.0])}
    assert float(fn(Point(NS.coords, NS.fields, jnp.zeros(2), values))) == pytest.approx(6.0)


def test_mixed_and_repeated_derivatives_are_named_by_sorted_directions():
    p = Point(NS.coords, NS.fields, jnp.zeros(2), what="test")
    fn = compile_expression(parse_equation("diff(u, x, t) + diff(v, t, x) + diff(u, x, 3) = 0", NS, "t"), NS.coords, "t")
    fn(p)
    assert p.needed == {(0, 1), (0, 0, 0)}


def test_python_and_string_equations_solve_the_same_problem_alike():
    def residual(p):
        return -p.d("u", "x", 2) - jnp.pi**2 * jnp.sin(jnp.pi * p["x"])

    kw = dict(conditions=[ns.Dirichlet("u", 0.0)], exact={"u": "sin(pi*x)"})
    a = ns.Problem(ns.Interval(-1, 1), "u", residual, **kw)
    b = ns.Problem(ns.Interval(-1, 1), "u", "-diff(u, x, 2) = pi**2*sin(pi*x)", **kw)
    # a small network: the two solves are mostly compiling
    settings = dict(phases=[ns.Adam(200)], points=ns.Points(interior=64), network=ns.MLP(16, 1))
    ea, eb = (ns.solve(p, **settings).metrics["l2_relative_error"]["u"] for p in (a, b))
    assert ea == pytest.approx(eb, rel=1e-8)


def test_string_value_condition_is_recognised_as_dirichlet_and_imposed_exactly():
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 1)), "u", "diff(u, t) = diff(u, x, 2)",
                         [ns.Condition("u = sin(pi*x)", on="t = 0"), ns.Condition("diff(u, x) = 0", on="x = 0")])  # fmt: skip
    assert len(problem.hard) == 1 and problem.hard[0].axis == 1  # u at t = 0: exact
    assert len(problem.penalties) == 1  # the Neumann-type condition: a penalty


def test_helper_functions_and_parameters_substitute():
    problem = ns.Problem(ns.Interval(0, 1), "psi", "-diff(psi, x, 2) + V*psi = 0",
                         functions={"V": "V0*Heaviside(x - 0.5)"}, parameters={"V0": 50})  # fmt: skip
    assert problem.equations[0].needed == frozenset({(), (0, 0)})
