"""The start value's jumps at a periodic wrap, rounded off the way the equation's diffusion does.

With an exact start value ``g`` and exactly periodic inputs, the trial function of an evolution
problem is ``g(x) + (t − t0)·N(x, t)``: the network part is periodic, so the field is only as
periodic as ``g``. Where ``g``'s value or slope differs between the two ends (``x² cos πx`` on
[−1, 1] has slope −2 at 1 and 2 at −1), the field keeps that jump for all time, while the true
solution of an equation with diffusion ``u_t = D u_xx + …`` rounds it off at once, over a width
``2√(D (t − t0))``. For small D no network times ``(t − t0)`` can follow that: the rounding is a
layer of width √t and height √t, so ``N`` would have to grow like 1/√t.

The heat equation rounds a jump ``K`` of the value and a jump ``J`` of the slope at a point ``a``
(right side minus left side) in closed form. So the trial function carries them, summed over the
wrap's periodic images ``a = lo + kL``:

    c(x, t) = Σ_k  K/2·(erf(ξ/s) − sign ξ)  +  J/2·(ξ erf(ξ/s) + s/√π·exp(−ξ²/s²) − |ξ|),
    ξ = x − a,  s = 2√(D (t − t0)).

``c`` is zero at ``t0`` (the start value stays exact) and ``g + c`` is periodic in value and slope
for ``t > t0``. It solves ``c_t = D c_xx`` away from the wrap, so what the network has to learn is
what the rest of the equation (a reaction, a source) does near it: smooth, and of the order of
``(t − t0)·c``. On the periodic Allen–Cahn problem this took the first time window's error share
from 91% to under 1% (BENCHMARKS.md).

The rounding applies where it is exact to leading order: one space coordinate besides time, the
field's equation of first order in time with constant coefficients of ``u_t`` and ``u_xx``
(D > 0), and no other derivative of the field in x (an advection term would move the jump).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import sympy as sp
from jax.scipy.special import erf

from ..ops.point import value_at
from .domain import TIME

JUMP_TOLERANCE = 1e-10  # jumps below this, relative to the start value's size at the ends, are rounding
REACH = 6.0  # images farther than REACH·s from the span contribute below exp(−36)


@dataclass(frozen=True)
class WrapJumps:
    """A field's start value at a periodic wrap: its jump in value ``k`` and in slope ``j`` (right
    side minus left side), and the diffusion ``d`` of its equation that rounds them off."""

    field: int
    k: float
    j: float
    d: float


def wrap_jumps(problem) -> list[WrapJumps]:
    """The fields whose start value jumps at a periodic wrap and whose equation diffuses it (see
    the module's docstring); empty where none does."""
    domain = problem.domain
    coords = domain.coords
    if TIME not in coords or len(coords) != 2 or not problem.periodic:
        return []
    axis, time_axis = problem.periodic[0], coords.index(TIME)
    segments = domain.segments()
    found = []
    for h in problem.hard:
        if h.axis != time_axis or h.side != 0 or problem.sign[h.field] is not None:
            continue
        d = diffusion(problem, problem.fields[h.field], coords[axis])
        jumps = None if d is None else _jumps(h.value, coords, axis, time_axis, segments[axis], segments[time_axis].lo)
        if jumps is not None:
            found.append(WrapJumps(h.field, *jumps, d))
    return found


def wrap_rounding(problem) -> dict[int, Callable]:
    """Per field index: ``c(x)`` (a point's coordinates) to add to the field's trial function, for
    the fields of :func:`wrap_jumps`."""
    jumps = wrap_jumps(problem)
    if not jumps:
        return {}
    axis, time_axis = problem.periodic[0], problem.domain.coords.index(TIME)
    segments = problem.domain.segments()
    return {w.field: rounding(w.k, w.j, w.d, axis, time_axis, segments[axis], segments[time_axis]) for w in jumps}


def diffusion(problem, field: str, x: str) -> float | None:
    """D where ``field``'s one equation with a time derivative reads ``a·(u_t − D u_xx) + f`` with
    constants ``a`` and ``D > 0`` and ``f`` free of every derivative of u (a term u_tt makes it a
    telegraph equation, whose corner does not round off as the heat kernel would); else None."""
    found = []
    for equation in problem.equations:
        if equation.expr is None:
            if any(equation.needed):  # a Python residual: its terms cannot be read
                return None
            continue
        expr = sp.expand(equation.expr.doit())
        u = next((f for f in expr.atoms(sp.Function) if getattr(f.func, "__name__", None) == field), None)
        if u is None:
            continue
        symbols = {str(a): a for a in u.args}  # the coordinates as the parser made them (real)
        if TIME not in symbols or x not in symbols:
            continue
        ut = sp.Derivative(u, symbols[TIME])
        if expr.has(ut):
            found.append((expr, u, ut, symbols[x]))
    if len(found) != 1:
        return None
    expr, u, ut, x = found[0]
    uxx = sp.Derivative(u, (x, 2))
    a, b = expr.coeff(ut), expr.coeff(uxx)
    rest = sp.expand(expr - a * ut - b * uxx)
    # u_t and u_xx left in the rest (non-constant coefficients) count among its derivatives of u
    if not (a.is_number and b.is_number and a != 0) or any(dv.expr == u for dv in rest.atoms(sp.Derivative)):
        return None
    d = float(-b / a)
    return d if d > 0 else None


def _jumps(value: Callable, coords, axis: int, time_axis: int, space, t0: float) -> tuple | None:
    """``(K, J)``: the start value's jump in value and in slope at the wrap (the value at ``lo``
    minus the value at ``hi``: right side minus left side of the periodic extension); None when
    both are rounding."""
    def at(x):
        point = jnp.zeros(2, dtype=jnp.float64).at[axis].set(x).at[time_axis].set(t0)
        return value_at(value, coords, point)

    with jax.enable_x64(True):  # one compiled program for both ends (eagerly, each operation compiles)
        ends = jnp.asarray([space.hi, space.lo], dtype=jnp.float64)
        values, slopes = jax.jit(jax.vmap(jax.value_and_grad(at)))(ends)
    (left, right), (slope_hi, slope_lo) = values.tolist(), slopes.tolist()
    k, j = right - left, slope_lo - slope_hi
    size = max(abs(left), abs(right), abs(slope_lo), abs(slope_hi), 1.0)
    if abs(k) <= JUMP_TOLERANCE * size and abs(j) <= JUMP_TOLERANCE * size:
        return None
    return k, j


def rounding(k: float, j: float, d: float, axis: int, time_axis: int, space, span) -> Callable:
    """``c(x)``: the heat equation's rounding of a value jump ``k`` and a slope jump ``j`` at every
    periodic image ``lo + nL`` of the wrap of ``space`` (an interval), from the start of ``span``
    on, with diffusion ``d``. Images farther than REACH widths (at the span's end) are left out."""
    lo, hi, t0, t1 = space.lo, space.hi, span.lo, span.hi
    length = hi - lo
    extra = math.ceil(REACH * 2 * math.sqrt(d * (t1 - t0)) / length)
    # lo and the images left of it lie left of every point of the span (sign ξ = 1, also at x = lo:
    # the rounded field there is the two ends' mean), hi and those right of it right of every point
    images = [(lo + n * length, 1.0 if n <= 0 else -1.0) for n in range(-extra, extra + 2)]

    def c(x: jax.Array) -> jax.Array:
        tau = x[time_axis] - t0
        started = tau > 0
        s = 2 * jnp.sqrt(d * jnp.where(started, tau, 1.0))  # the safe branch keeps derivatives finite at t0
        total = 0.0
        for a, side in images:
            xi = x[axis] - a
            r = xi / s
            total = total + 0.5 * k * (erf(r) - side)
            total = total + 0.5 * j * (xi * erf(r) + s / math.sqrt(math.pi) * jnp.exp(-r * r) - side * xi)
        return jnp.where(started, total, 0.0)

    return c
