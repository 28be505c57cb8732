"""The form ``u_t = F(x, t, u, u_x, u_xx)`` of 1-D evolution equations, and their mirror symmetry.

The equations are solved symbolically for the time derivatives (:mod:`.symbolic`); ``F`` is then a
JAX function and, where the expression allows, a NumPy one with its exact derivatives: the method of
lines calls it thousands of times on a few hundred nodes, where NumPy costs microseconds and a
compiled JAX call tens to hundreds (dispatch alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from ..problem.domain import TIME
from ..problem.parse import field_terms
from .conditions import values_at
from .ends import EndRows
from .symbolic import compile_all, numpy_function, replace_terms, solve_for, state_symbol


@dataclass(frozen=True)
class Evolution:
    """``F`` of each field's equation ``u_t = F``, as one JAX function of (x, t, U).

    ``U`` is (3, fields, n): each field's value, first and second x-derivative at n nodes; the
    result is (fields, n). ``second`` says which fields' own second derivative appears in F.
    """

    fn: Callable
    second: np.ndarray
    numpy: tuple[Callable, Callable] | None  # the same F, and its derivatives, in NumPy (None: JAX only)


def evolution_form(problem) -> Evolution | None:
    """Solve the equations for the first time derivatives; None if they are not of that form."""
    exprs, fields = [eq.expr for eq in problem.equations], problem.fields
    x = problem.domain.coords[0]
    terms = field_terms(exprs, fields)
    if terms is None or len(exprs) != len(fields):
        return None
    targets, symbols = {}, {}
    for term, (f, spec) in terms.items():
        orders = dict(spec)
        if TIME in orders:
            if spec != ((TIME, 1),):
                return None  # second order in time (waves) or mixed derivatives: out of scope
            targets[f] = term
        elif orders.get(x, 0) > 2:
            return None
        else:
            symbols[term] = state_symbol(f, x, orders.get(x, 0))
    if set(targets) != set(fields):
        return None  # a field with no time derivative: a constraint, not an evolution equation
    rhs = solve_for(exprs, [targets[f] for f in fields])
    rhs = None if rhs is None else replace_terms(rhs, symbols)
    fns = None if rhs is None else compile_all(rhs, "reference right-hand side")
    if fns is None:
        return None
    names = [[state_symbol(f, x, k).name for k in range(3)] for f in fields]
    second = np.array([any(s.name == names[i][2] for s in r.free_symbols) for i, r in enumerate(rhs)])

    def fn(xs, t, U):
        values = {x: xs, TIME: t}
        for k, row in enumerate(names):
            values.update({row[0]: U[0, k], row[1]: U[1, k], row[2]: U[2, k]})
        return jnp.stack([jnp.broadcast_to(f(values), xs.shape) for f in fns]).astype(jnp.float64)

    return Evolution(fn, second, _numpy_pointwise(rhs, names, x))


def _numpy_pointwise(rhs: list, names: list[list[str]], x: str) -> tuple[Callable, Callable] | None:
    """NumPy ``F(xs, t, U)`` and ``dF(xs, t, U)`` from the symbolic right-hand sides, or None."""
    nf = len(rhs)
    symbols = [[sp.Symbol(name) for name in row] for row in names]
    fns = [numpy_function(r) for r in rhs]
    # dF_i/dU_kj symbolically; most vanish, and those are skipped
    derivs = {(k, j, i): sp.diff(r, symbols[j][k]) for i, r in enumerate(rhs) for j in range(nf) for k in range(3)}
    dfns = {key: numpy_function(d) for key, d in derivs.items() if d != 0}
    if any(f is None for f in fns) or any(f is None for f in dfns.values()):
        return None

    def values(xs, t, U):
        out = {x: xs, TIME: t}
        for j, row in enumerate(names):
            out.update({row[0]: U[0, j], row[1]: U[1, j], row[2]: U[2, j]})
        return out

    def F(xs, t, U):
        v = values(xs, t, U)
        with np.errstate(all="ignore"):  # NaN and inf propagate, as in JAX; the integrator then fails
            return np.stack([np.broadcast_to(f(v), xs.shape) for f in fns])

    def dF(xs, t, U):
        v, out = values(xs, t, U), np.zeros((3, nf, nf, len(xs)))
        with np.errstate(all="ignore"):
            for (k, j, i), f in dfns.items():
                out[k, j, i] = f(v)
        return out

    return F, dF


def pointwise_functions(pointwise: Evolution) -> tuple[Callable, Callable]:
    """``F(xs, t, U) -> (nf, n)`` and ``dF(xs, t, U) -> (3, nf, nf, n)`` (dF_i/dU_kj at each node),
    NumPy in and out: NumPy evaluators of the symbolic right-hand side and its symbolic derivatives
    where they exist, else the JAX function (jitted; derivatives by forward mode)."""
    if pointwise.numpy is not None:
        return pointwise.numpy

    def partials(xs, t, U):
        nf, n = U.shape[1], U.shape[2]
        basis = jnp.eye(3 * nf).reshape(3 * nf, 3, nf, 1) * jnp.ones((1, 1, 1, n))
        out = jax.vmap(lambda e: jax.jvp(lambda V: pointwise.fn(xs, t, V), (U,), (e,))[1])(basis)
        return out.reshape(3, nf, nf, n)

    jitted = jax.jit(pointwise.fn), jax.jit(partials)

    def call(fn):
        def evaluate(xs, t, U):
            n = U.shape[2]
            size = max(32, 1 << (n - 1).bit_length())  # compiled for a few padded sizes, not every grid
            pad = np.concatenate([np.arange(n), np.full(size - n, n - 1)])  # the last node repeated
            with jax.enable_x64(True):
                return np.asarray(fn(xs[pad], np.float64(t), U[..., pad]))[..., :n]

        return evaluate

    return call(jitted[0]), call(jitted[1])


# --- symmetry about the middle -----------------------------------------------------------------


def mirror_parities(problem, F: Callable, initial: list, ends: tuple[EndRows, EndRows],
                    bounds) -> tuple[int, ...] | None:  # fmt: skip
    """Each field's parity (+1 even, -1 odd) under ``x -> a + b - x`` if the whole problem keeps it, else None.

    Checked on probes: the initial values, the equations at random states (each derivative of a
    field of parity s changes sign as s (-1)^order), and the end conditions (those at a must be those
    at b, mirrored). A field whose initial values vanish may be either; both are tried.
    """
    a, b, t0, t1 = bounds
    coords, nf = problem.domain.coords, len(problem.fields)
    rng = np.random.default_rng(11)
    x = a + (b - a) * rng.uniform(0.02, 0.98, 16)
    here = np.stack([x, np.full_like(x, t0)], axis=1)
    there = np.stack([a + b - x, np.full_like(x, t0)], axis=1)
    options = []
    for g in initial:
        u, v = values_at(g, coords, here, "initial condition"), values_at(g, coords, there, "initial condition")
        tol = 1e-12 * max(np.max(np.abs(u)), 1e-300)
        found = [s for s in (1, -1) if np.max(np.abs(v - s * u)) <= tol]
        if not found:
            return None
        options.append(found)
    for parities in itertools.product(*options):
        if _equations_mirror(F, parities, bounds, rng) and _ends_mirror(ends, parities, bounds):
            return tuple(parities)
    return None


def _equations_mirror(F: Callable, parities, bounds, rng) -> bool:
    """Whether ``F(a + b - x, t, S U) = s F(x, t, U)`` at random probes (S flips each derivative of a
    field of parity s by s (-1)^order)."""
    a, b, t0, t1 = bounds
    nf, n = len(parities), 16
    x = a + (b - a) * rng.uniform(0.02, 0.98, n)
    t = t0 + (t1 - t0) * rng.uniform(0, 1)
    U = rng.uniform(-1, 1, (3, nf, n))
    flip = np.array([[s * (-1) ** k for s in parities] for k in range(3)])[:, :, None]
    try:
        here, there = F(x, t, U), F(a + b - x, t, flip * U)
    except Exception:  # the equations cannot be evaluated at these probes: take no symmetry for granted
        return False
    expected = np.array(parities)[:, None] * here
    return bool(np.all(np.isfinite(here)) and np.all(np.abs(there - expected) <= 1e-10 * (1 + np.abs(here))))


def _ends_mirror(ends: tuple[EndRows, EndRows], parities, bounds) -> bool:
    """Whether the conditions at a are those at b seen in the mirror: ``C_a = T C_b S`` and
    ``gamma_a = T gamma_b`` for some T, with S flipping values by parity and slopes by minus parity."""
    left, right = ends
    t0, t1 = bounds[2:]
    s = np.array(parities, float)
    mirrored = right.coefficients * np.r_[s, -s]
    T = left.coefficients @ np.linalg.pinv(mirrored)
    if np.max(np.abs(T @ mirrored - left.coefficients)) > 1e-12 * (1 + np.max(np.abs(left.coefficients))):
        return False
    with jax.enable_x64(True):
        both = jax.jit(jax.vmap(lambda t: (left.gamma(t), right.gamma(t))))  # compiled once, not op by op
        gl, gr = (np.asarray(g) for g in both(jnp.asarray(t0 + (t1 - t0) * np.array([0.0, 0.29, 0.71, 1.0]))))
    return bool(np.max(np.abs(gl - gr @ T.T)) <= 1e-12 * (1 + np.max(np.abs(gl))))
