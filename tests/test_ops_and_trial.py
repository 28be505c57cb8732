"""Derivatives by every method, and trial functions that meet value conditions exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.nn.trial import make_trial
from neuralsolve.ops.derivatives import derivatives


def f(z):  # f(x, y) = (sin(x) e^{2y}, x^2 y^3)
    return jnp.stack([jnp.sin(z[0]) * jnp.exp(2 * z[1]), z[0] ** 2 * z[1] ** 3])


@pytest.mark.parametrize("method", ["jet", "jvp", "reverse"])
def test_derivatives_match_closed_forms(method):
    x, y = 0.7, -0.4
    s, c, e = np.sin(x), np.cos(x), np.exp(2 * y)
    expected = {
        (): [s * e, x**2 * y**3],
        (0,): [c * e, 2 * x * y**3],
        (1,): [2 * s * e, 3 * x**2 * y**2],
        (0, 0): [-s * e, 2 * y**3],
        (1, 1): [4 * s * e, 6 * x**2 * y],
        (0, 1): [2 * c * e, 6 * x * y**2],
        (0, 0, 0, 0): [s * e, 0.0],
        (1, 1, 1, 1): [16 * s * e, 0.0],
        (0, 0, 1, 1): [-4 * s * e, 12 * y],
    }
    with jax.enable_x64(True):
        got = jax.jit(lambda z: derivatives(f, z, expected, method))(jnp.array([x, y]))
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=1e-12, err_msg=str(key))


def _trial_values(problem, x):
    d = problem.domain
    trial = make_trial(problem.hard, d.segments(), d.coords, len(problem.fields))
    net = jax.random.normal(jax.random.PRNGKey(0), (len(x), len(problem.fields)))  # any network output
    with jax.enable_x64(True):
        return np.asarray(jax.vmap(trial)(jnp.asarray(net, jnp.float64), jnp.asarray(x)))


def test_trial_function_meets_different_values_on_all_four_sides():
    g = "x**2 + 3*y"  # compatible at corners, different on every side
    problem = ns.Problem(ns.Rectangle((0, 1), (-1, 2)), "u", "diff(u, x, 2) + diff(u, y, 2) = 2", [ns.Dirichlet("u", g)])
    assert len(problem.hard) == 4 and not problem.penalties
    s = np.linspace(0, 1, 7)
    for pts in ([np.zeros_like(s), 3 * s - 1], [np.ones_like(s), 3 * s - 1], [s, -np.ones_like(s)], [s, 2 * np.ones_like(s)]):
        x = np.stack(pts, axis=1)
        np.testing.assert_allclose(_trial_values(problem, x)[:, 0], x[:, 0] ** 2 + 3 * x[:, 1], atol=1e-13)


def test_trial_function_meets_initial_and_boundary_values_in_space_time():
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 2)), ["u", "v"], ["diff(u, t) = diff(u, x, 2)", "v = u"],
                         [ns.Dirichlet("u", 0.0), ns.Initial("u", "sin(pi*x)"), ns.Initial("v", "x")])  # fmt: skip
    s = np.linspace(0, 1, 9)
    at_start = _trial_values(problem, np.stack([s, 0 * s], 1))
    np.testing.assert_allclose(at_start[:, 0], np.sin(np.pi * s), atol=1e-13)
    np.testing.assert_allclose(at_start[:, 1], s, atol=1e-13)
    ends = _trial_values(problem, np.stack([np.repeat([0.0, 1.0], 5), np.tile(np.linspace(0, 2, 5), 2)], 1))
    np.testing.assert_allclose(ends[:, 0], 0.0, atol=1e-13)
    inside = _trial_values(problem, np.array([[0.5, 1.0]]))
    assert abs(inside[0, 1]) > 1e-3  # v is free away from t = 0: the network shows through


def test_two_value_conditions_on_one_face_are_refused():
    with pytest.raises(ns.ProblemError, match="already has a value condition on that face"):
        ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = 0",
                   [ns.Dirichlet("u", 0.0, on="x = 0"), ns.Dirichlet("u", 1.0, on="boundary")])  # fmt: skip
