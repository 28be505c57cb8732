"""The start value's jumps at a periodic wrap, rounded off by the equation's diffusion (problem/wrap.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

import neuralsolve as ns
from neuralsolve.pinn.model import build_model
from neuralsolve.problem.wrap import wrap_rounding

D = 1e-3


def _heat(start="x**2", equation="diff(u, t) = d*diff(u, x, 2)", periodic="exact", impose="exact", t1=0.2):
    domain = ns.SpaceTime(ns.Interval(-1, 1), (0, t1))
    conditions = [ns.Periodic("x", impose=periodic), ns.Initial("u", start, impose=impose)]
    return ns.Problem(domain, "u", equation, conditions, parameters={"d": D})


def _x_squared_heat(x, t):
    """The heat flow of x² extended periodically from [−1, 1]: x² + 2Dt away from the wrap, and the
    slope jump of −4 at x = ±1 rounded off (the images at ±3 are negligible for 4Dt ≤ 1e-3)."""
    s = 2 * np.sqrt(D * t)
    rho = sum(xi * erf(xi / s) + s / np.sqrt(np.pi) * np.exp(-((xi / s) ** 2)) - np.abs(xi) for xi in (x + 1, x - 1))
    return x**2 + 2 * D * t - 2 * rho


def test_the_rounding_solves_the_heat_equation_and_is_zero_at_the_start():
    with jax.enable_x64(True):
        c = wrap_rounding(_heat(start="x + x**2"))[0]  # value jump −2, slope jump −4 at the wrap
        for x in (-0.999, -0.99, -0.5, 0.3, 0.995):
            at = lambda t, x=x: c(jnp.array([x, t]))  # noqa: E731
            assert float(at(0.0)) == 0.0
            rate = jax.grad(at)(0.01)
            curvature = jax.grad(jax.grad(lambda y: c(jnp.array([y, 0.01]))))(x)
            assert abs(float(rate - D * curvature)) <= 1e-9 * max(1.0, abs(float(rate)))
        rounded = lambda x: x + x**2 + c(jnp.array([x, 0.01]))  # noqa: E731 (the start value plus its rounding)
        np.testing.assert_allclose(rounded(-1.0), rounded(1.0), atol=1e-12)
        np.testing.assert_allclose(jax.grad(rounded)(-1.0), jax.grad(rounded)(1.0), atol=1e-12)


def test_the_trial_function_keeps_the_start_value_and_is_periodic_after_it():
    with jax.enable_x64(True):
        model, params = build_model(_heat(), ns.MLP(16, 2), jnp.float64, 3)
        u = lambda x, t: model(params, jnp.array([x, t]))[0]  # noqa: E731
        xs = np.linspace(-1, 1, 9)
        np.testing.assert_allclose([u(x, 0.0) for x in xs], xs**2, atol=1e-14)
        for t in (1e-4, 0.05, 0.2):
            np.testing.assert_allclose(u(-1.0, t), u(1.0, t), atol=1e-12)
            slope = jax.grad(u)
            np.testing.assert_allclose(slope(-1.0, t), slope(1.0, t), atol=1e-10)
            assert abs(float(slope(1.0, t)) - 2.0) > 0.5  # without the rounding the slopes would be −2 and 2


def _heat_error(monkeypatch=None) -> float:
    """The relative L2 error of a short solve of the heat problem with x² as its start value."""
    if monkeypatch is not None:  # the trial function without the rounding
        monkeypatch.setattr("neuralsolve.pinn.model.wrap_rounding", lambda problem: {})
    sol = ns.solve(_heat(), network=ns.MLP(16, 2), phases=[ns.LBFGS(1000)], points=256, precision="float64", seed=0)
    x, t = np.meshgrid(np.linspace(-1, 1, 201), np.linspace(0, 0.2, 41))
    points = np.stack([x.ravel(), t.ravel()], 1)
    exact = np.where(points[:, 1] > 0, _x_squared_heat(points[:, 0], np.maximum(points[:, 1], 1e-300)), points[:, 0] ** 2)
    return float(np.linalg.norm(sol(points, "u") - exact) / np.linalg.norm(exact))


def test_a_kinked_start_value_is_followed_to_the_heat_equations_solution(monkeypatch):
    rounded = _heat_error()
    assert rounded <= 1e-5, rounded  # 3.6e-6 when written
    plain = _heat_error(monkeypatch)
    assert plain >= 100 * rounded, plain  # 5.4e-3: no network times t follows a corner rounding off like √t


@pytest.mark.parametrize("kwargs", [
    {"start": "cos(pi*x)"},                                     # periodic in value and slope: nothing to round
    {"equation": "diff(u, t) + diff(u, x) = d*diff(u, x, 2)"},  # advection moves the corner
    {"equation": "diff(u, t) = -d*diff(u, x, 2)"},              # no diffusion (backward heat)
    {"equation": "diff(u, t) = d*diff(u, x, 4)"},               # no second-order diffusion
    {"equation": "diff(u, t, 2) + diff(u, t) = d*diff(u, x, 2)"},  # telegraph: a wave carries the corner
    {"periodic": "penalty"},                                     # the network is not periodic itself
    {"impose": "penalty"},                                       # the start value is not in the trial function
])  # fmt: skip
def test_no_rounding_where_it_would_not_be_exact(kwargs):
    assert wrap_rounding(_heat(**kwargs)) == {}


def test_the_periodic_allen_cahn_start_value_is_rounded_with_its_diffusion():
    from neuralsolve.problem.wrap import diffusion

    problem = ns.load(ns.__path__[0] + "/examples/allen_cahn_periodic.toml")
    assert diffusion(problem, "u", "x") == pytest.approx(1e-4)
    assert set(wrap_rounding(problem)) == {0}
