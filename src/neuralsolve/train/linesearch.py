"""optax's zoom line search, with the loss evaluated at one place in the program.

The search (Nocedal and Wright, Algorithms 3.5 and 3.6, with Hager and Zhang's approximate
decrease condition) first widens an interval that holds an acceptable step size, then narrows it
by interpolation. optax runs the two stages as the branches of a ``lax.cond`` inside its loop,
each with its own evaluation of the loss and its gradient: XLA compiles every such place in full,
so the loss was compiled three times over in each quasi-Newton program (the first trial outside
the search, then both branches), and the L-BFGS program of ``poisson_1d.toml`` took 4.2 s to
compile where Adam's took 1.3 s. Here each iteration picks its trial step size with the
arithmetic of both stages, evaluates the loss once, and keeps the outcome of the stage it is in:
the same steps as optax's search (``tests/test_optimizers.py`` follows optax's chained L-BFGS to
1e-9), with one copy of the loss. Its first iteration is the first trial, so a step whose first
trial is accepted costs one evaluation, as before.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

# optax.scale_by_zoom_linesearch's defaults
SLOPE_RTOL, CURVATURE_RTOL, APPROX_DECREASE_RTOL = 1e-4, 0.9, 1e-6
INCREASE_FACTOR, INTERVAL_THRESHOLD = 2.0, 1e-5


class _Search(NamedTuple):
    count: jax.Array
    stepsize: jax.Array  # the last trial, its value, gradient and slope along the direction
    value: jax.Array
    grad: optax.Params
    slope: jax.Array
    decrease_error: jax.Array
    interval_found: jax.Array
    done: jax.Array
    failed: jax.Array
    low: jax.Array  # the interval (low need not be below high), and the cubic's third point
    value_low: jax.Array
    slope_low: jax.Array
    high: jax.Array
    value_high: jax.Array
    slope_high: jax.Array
    cubic_ref: jax.Array
    value_cubic_ref: jax.Array
    safe_stepsize: jax.Array  # the best step size with sufficient decrease (0: none yet)
    safe_value: jax.Array
    safe_grad: optax.Params


def search(loss, params, direction, value, grad, slope, first: jax.Array, max_steps: int):
    """``(step size, loss, gradient)`` at the step size along ``direction`` from ``params`` (where
    the loss has ``value``, ``grad`` and ``slope`` along it) that the zoom search accepts, trying
    ``first`` first; after ``max_steps`` trials, the best step size with sufficient decrease."""
    value_and_grad = jax.value_and_grad(loss)
    zero = jnp.zeros_like(value)
    start = _Search(jnp.asarray(0), zero, value, grad, slope, jnp.asarray(jnp.inf, value.dtype), jnp.asarray(False),
                    jnp.asarray(False), jnp.asarray(False), zero, value, slope, zero, value, slope, zero, value, zero,
                    value, grad)  # fmt: skip

    def body(s: _Search) -> _Search:
        widened = jnp.where(s.count == 0, first, INCREASE_FACTOR * s.stepsize)
        t = jnp.where(s.interval_found, _interpolated(s), widened)
        v, g = value_and_grad(optax.tree.add_scale(params, t, direction))
        slope_t = optax.tree.real(optax.tree.vdot(optax.tree.conj(g), direction))
        decrease = _decrease_error(t, v, slope_t, value, slope)
        error = jnp.maximum(decrease, _curvature_error(slope_t, slope))
        trial = (t, v, g, slope_t, decrease, error)
        found = _where(s.interval_found, _zoom(s, *trial, max_steps), _widen(s, *trial, max_steps))
        return _where(found.failed, _safe(found), found)

    end = jax.lax.while_loop(lambda s: ~(s.done | s.failed), body, start)
    return end.stepsize, end.value, end.grad


def _widen(s: _Search, t, v, g, slope_t, decrease, error, max_steps: int) -> _Search:
    """Algorithm 3.5: the outcome of a trial while no interval is known (optax's ``_search_interval``)."""
    safe = decrease <= 0.0
    to_high = (decrease > 0.0) | ((v >= s.value) & (s.count > 0))
    to_low = (slope_t >= 0.0) & ~to_high
    low, value_low, slope_low, high, value_high, slope_high = _where(
        to_low, (t, v, slope_t, s.stepsize, s.value, s.slope), (s.stepsize, s.value, s.slope, t, v, slope_t))
    done = error <= 0.0
    return _Search(s.count + 1, t, v, g, slope_t, decrease, to_high | to_low | done, done,
                   (s.count + 1 >= max_steps) & ~done, low, value_low, slope_low, high, value_high, slope_high,
                   low, value_low, *_where(safe, (t, v, g), (s.safe_stepsize, s.safe_value, s.safe_grad)))  # fmt: skip


def _zoom(s: _Search, t, v, g, slope_t, decrease, error, max_steps: int) -> _Search:
    """Algorithm 3.6: the outcome of a trial inside the interval (optax's ``_zoom_into_interval``)."""
    safe_stepsize, safe_value, safe_grad = _where((decrease <= 0.0) & (v < s.safe_value), (t, v, g),
                                                  (s.safe_stepsize, s.safe_value, s.safe_grad))  # fmt: skip
    done = error <= 0.0
    to_high = (decrease > 0.0) | (v >= s.value_low)
    high_to_low = (slope_t * (s.high - s.low) >= 0.0) & ~to_high
    high = _where(to_high, (t, v, slope_t), (s.high, s.value_high, s.slope_high))
    high = _where(high_to_low, (s.low, s.value_low, s.slope_low), high)
    low = _where(~to_high, (t, v, slope_t), (s.low, s.value_low, s.slope_low))
    cubic = _where(to_high | high_to_low, (s.high, s.value_high), (s.low, s.value_low))
    too_small = jnp.abs(s.high - s.low) <= INTERVAL_THRESHOLD
    failed = ((s.count + 1 >= max_steps) | (too_small & (safe_stepsize > 0.0))) & ~done
    return _Search(s.count + 1, t, v, g, slope_t, decrease, s.interval_found, done, failed, *low, *high, *cubic,
                   safe_stepsize, safe_value, safe_grad)  # fmt: skip


def _interpolated(s: _Search) -> jax.Array:
    """The next trial inside the interval: the cubic's minimum, else the quadratic's, each only
    well inside it, else its middle."""
    delta = jnp.abs(s.high - s.low)
    left, right = jnp.minimum(s.high, s.low), jnp.maximum(s.high, s.low)
    cubic = _cubicmin(s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref, s.value_cubic_ref)
    use_cubic = (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
    quad = _quadmin(s.low, s.value_low, s.slope_low, s.high, s.value_high)
    use_quad = ~use_cubic & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
    middle = jnp.where(use_cubic, cubic, s.cubic_ref)
    middle = jnp.where(use_quad, quad, middle)
    return jnp.where(~use_cubic & ~use_quad, (s.low + s.high) / 2.0, middle)


def _safe(s: _Search) -> _Search:
    """A failed search ends at the best step size with sufficient decrease, if there is one (or
    where the loss is not finite: there is no step to take)."""
    keep = (s.safe_stepsize > 0.0) | jnp.isinf(s.decrease_error)
    stepsize, value, grad = _where(keep, (s.safe_stepsize, s.safe_value, s.safe_grad), (s.stepsize, s.value, s.grad))
    return s._replace(stepsize=stepsize, value=value, grad=grad)


def _decrease_error(t, v, slope_t, value, slope) -> jax.Array:
    """Armijo's sufficient decrease, or Hager and Zhang's approximate form near the rounding
    floor, as a nonnegative error (inf for a NaN)."""
    armijo = v - value - SLOPE_RTOL * t * slope
    approximate = jnp.maximum(slope_t - (2 * SLOPE_RTOL - 1.0) * slope, v - value - APPROX_DECREASE_RTOL * jnp.abs(value))
    error = jnp.maximum(jnp.minimum(approximate, armijo), 0.0)
    return jnp.where(jnp.isnan(error), jnp.inf, error)


def _curvature_error(slope_t, slope) -> jax.Array:
    """The strong curvature condition as a nonnegative error (inf for a NaN)."""
    error = jnp.maximum(jnp.abs(slope_t) - CURVATURE_RTOL * jnp.abs(slope), 0.0)
    return jnp.where(jnp.isnan(error), jnp.inf, error)


def _where(condition, yes, no):
    """``yes`` where ``condition`` (a scalar), else ``no``: pytrees alike, arrays cast to ``no``'s dtypes."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(condition, a, b).astype(jnp.result_type(b)), yes, no)


def _cubicmin(a, fa, fpa, b, fb, c, fc) -> jax.Array:
    """The critical point of the cubic through (a, fa), (b, fb), (c, fc) with slope fpa at a
    (NaN where it has none), as optax (after SciPy) computes it."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    coeff_a, coeff_b = jnp.dot(d1, jnp.array([fb - fa - fpa * db, fc - fa - fpa * dc]),
                               precision=jax.lax.Precision.HIGHEST) / denom  # fmt: skip
    return a + (-coeff_b + jnp.sqrt(coeff_b * coeff_b - 3.0 * coeff_a * fpa)) / (3.0 * coeff_a)


def _quadmin(a, fa, fpa, b, fb) -> jax.Array:
    """The critical point of the quadratic through (a, fa), (b, fb) with slope fpa at a."""
    db = b - a
    return a - fpa / (2.0 * ((fb - fa - fpa * db) / db**2))
