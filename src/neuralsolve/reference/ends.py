"""The conditions at the two ends of a 1-D evolution problem, as the spectral method of lines needs them.

Every condition at an end ``x = a`` or ``x = b`` — an exactly imposed value, or a penalty condition
such as Neumann ``du/dn = g`` or Robin ``alpha u + beta du/dn = g`` — becomes one affine row

    coefficients @ [u_1, ..., u_m, u_1x, ..., u_mx](end, t) = gamma(t)

in the end values and slopes of the fields. The coefficients must not depend on t (the elimination
of the end values is then one matrix, built once); the right-hand side may. Conditions that are not
affine in the values and slopes (or need other derivatives) give no rows: the problem then has no
classical reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..ops.point import Point, value_at
from .conditions import periodic_axis

PERIODIC = "periodic"
_TIMES = (0.0, 0.37, 1.0)  # where in [t0, t1] a condition's coefficients are probed (fractions of the span)


@dataclass(frozen=True)
class EndRows:
    """The conditions at one end: ``coefficients @ [values; slopes] = gamma(t)``.

    Attributes:
        coefficients: (rows, 2 * fields), values of the fields first, then their x-derivatives.
        gamma: ``gamma(t) -> (rows,)``, traceable by JAX (a float64 scalar t).
    """

    coefficients: np.ndarray
    gamma: Callable


def end_conditions(problem) -> tuple[EndRows, EndRows] | str | None:
    """The rows at the left and right ends, or :data:`PERIODIC`, or None (a condition the method cannot take)."""
    coords, fields = problem.domain.coords, problem.fields
    (a, t0), (b, t1) = (tuple(float(v) for v in bound) for bound in problem.domain.bounds())
    periodic = 0 in problem.periodic
    rows: dict[int, list[tuple[np.ndarray, Callable]]] = {0: [], 1: []}
    for h in problem.hard:
        if h.axis == 0:
            row = np.zeros(2 * len(fields))
            row[h.field] = 1.0
            rows[h.side].append((row, _value_in_time(h.value, coords, (a, b)[h.side])))
        elif (h.axis, h.side) != (1, 0):
            return None  # a value at the final time: not an evolution from initial values
    for pen in problem.penalties:
        if pen.points is not None:
            continue  # observations are data to compare with, not conditions that define the solution
        if periodic_axis(pen) == 0:
            periodic = True
            continue
        faces = pen.region.faces if pen.region is not None and pen.partner is None else ()
        if not faces or any(axis != 0 for axis, _ in faces):
            return None  # a penalty on the initial face, inside the domain, periodic in t, ...
        for _, side in faces:
            row = _affine_row(pen, problem, side, ((a, b)[side], t0, t1))
            if row is None:
                return None
            rows[side].append(row)
    if periodic:
        return PERIODIC if not rows[0] and not rows[1] else None
    return tuple(_stack(rows[side]) for side in (0, 1))


def _value_in_time(value: Callable, coords: tuple[str, ...], x: float) -> Callable:
    """``t -> value(x, t)``, traceable."""
    return lambda t: value_at(value, coords, jnp.stack([jnp.float64(x), t]))


def _stack(rows: list[tuple[np.ndarray, Callable]]) -> EndRows:
    coefficients = np.array([r for r, _ in rows]).reshape(len(rows), -1)
    functions = [g for _, g in rows]
    return EndRows(coefficients, lambda t: jnp.stack([jnp.asarray(g(t), jnp.float64) for g in functions]))


def _affine_row(pen, problem, side: int, where: tuple[float, float, float]) -> tuple[np.ndarray, Callable] | None:
    """(coefficients, gamma) of a penalty condition at one end, or None if it is not affine in the
    end values and slopes with coefficients constant in time."""
    coords, fields = problem.domain.coords, problem.fields
    nf, (x_end, t0, t1) = len(fields), where
    keys = sorted(pen.needed | {()})  # the derivatives the condition reads: () value, (0,) slope, ...

    def residual(s, t):
        values = {k: s[i * nf : (i + 1) * nf] for i, k in enumerate(keys)}
        # outward normal: -1 at the left end, +1 at the right; no component along t
        point = Point(coords, fields, jnp.stack([jnp.float64(x_end), t]), values=values,
                      normal=jnp.array([2.0 * side - 1.0, 0.0]))  # fmt: skip
        return jnp.asarray(pen.residual(point), jnp.float64)

    with jax.enable_x64(True):
        try:
            zero = jnp.zeros(len(keys) * nf)
            probe = jnp.asarray(np.random.default_rng(7).uniform(0.3, 1.7, len(keys) * nf))
            value, slope = jax.jit(residual), jax.jit(jax.jacfwd(residual))  # compiled once for every probe
            found = []
            for frac in _TIMES:
                t = jnp.float64(t0 + frac * (t1 - t0))
                found.append((float(value(zero, t)), np.asarray(slope(zero, t), float), float(value(probe, t))))
        except Exception:  # a condition that needs more than values and slopes, or fails on a probe: none
            return None
    row = found[0][1]
    for r0, c, r1 in found:
        if not (np.isfinite(r0) and np.isfinite(r1) and np.all(np.isfinite(c))) or c.shape != row.shape:
            return None
        if abs(r1 - r0 - c @ np.asarray(probe)) > 1e-9 * (1 + abs(r1)):
            return None  # not affine in the end state
        if np.max(np.abs(c - row)) > 1e-12 * (1 + np.max(np.abs(row))):
            return None  # coefficients that change with time: the elimination would change at every step
    out = np.zeros(2 * nf)
    for i, k in enumerate(keys):
        block = row[i * nf : (i + 1) * nf]
        if k in ((), (0,)):
            out[(0 if k == () else nf) : (nf if k == () else 2 * nf)] = block
        elif np.any(block != 0):
            return None  # the condition reads u_t, u_xx, ...: not a condition on the end state alone
    if not np.any(out):
        return None
    return out, lambda t: -residual(jnp.zeros(len(keys) * nf), t)
