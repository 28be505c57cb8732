"""Boundary-value problems for ODE systems on an interval: a first-order system and ``solve_bvp``.

The equations become ``y' = F(s, y)`` exactly as for initial-value problems (``ode.py``); every
condition at an end of the interval becomes one residual ``g(y(end)) = 0``: exactly imposed values
and penalty conditions alike (Neumann, Robin, any residual of values and derivatives), the latter
evaluated on a Point built from the state at that end. SciPy's collocation solver then refines its
mesh until the residual of the system is below ``tol``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import solve_bvp

from ..ops.point import Point
from .conditions import hard_values, values_at
from .estimate import relative_difference
from .ode import first_order_system
from .result import Reference

State = tuple[str, int]  # (field, derivative order)
EndCondition = tuple[int, Callable]  # (side 0|1, residual(y at that end) -> scalar)


def bvp_reference(problem, *, nodes: int = 1001, tol: float = 1e-10, max_nodes: int = 100_000,
                  estimate: bool = True) -> Reference | None:  # fmt: skip
    """Solve an ODE boundary-value problem on an interval with ``solve_bvp``; None if it is not one.

    The domain is one interval (any coordinate name), every equation a string solvable for the
    highest derivative of each field, and the conditions at the two ends — observations aside —
    as many as the first-order system has states. ``nodes`` is the initial uniform mesh, which
    the solver refines up to ``max_nodes`` until the collocation residual and the boundary
    conditions are below ``tol``. A failed solve gives None with a ``RuntimeWarning``. The
    reference's ``error_estimate`` is its relative L2 difference from a second solve at a tolerance
    100 times looser on another initial mesh: an overestimate (None with ``estimate=False``).
    """
    domain = problem.domain
    if len(domain.coords) != 1 or set(domain.segments()) != {0} or any(eq.expr is None for eq in problem.equations):
        return None
    system = first_order_system(problem, domain.coords[0])
    if system is None:
        return None
    states, rhs = system
    ends = tuple(float(b[0]) for b in domain.bounds())
    fixed = _fixed_values(problem, ends)
    conditions = _end_conditions(problem, states, rhs, fixed, ends)
    if conditions is None or len(conditions) != len(states):
        return None  # too few or too many conditions for a unique solution
    mesh = np.linspace(*ends, nodes)
    guess = _guess(problem, states, fixed, mesh)
    functions = _compiled(rhs, conditions)
    sol = _solve(functions, mesh, guess, name=problem.name, tol=tol, max_nodes=max_nodes)
    if sol is None:
        return None
    rows = [states.index((f, 0)) for f in problem.fields]
    desc = f"solve_bvp ({len(sol.x)}-node collocation)"
    own = _estimate(sol, functions, (mesh, guess), tol, max_nodes, rows) if estimate else None
    return Reference(desc, problem.fields, domain, lambda pts: sol.sol(pts[:, 0])[rows].T, error_estimate=own)


def _estimate(sol, functions: tuple, start, tol: float, max_nodes: int, rows: list[int]) -> float | None:
    """The relative L2 difference between ``sol`` and a second, independent solve: at a tolerance 100
    times looser, from a mesh of two thirds the nodes (so the two never share a mesh). It measures
    the second solve's error, an overestimate of the first's. None if the second solve fails.

    (A tighter second solve would measure the first's error itself, but refining to 1e-12 often
    runs into the node budget after seconds; the looser one takes milliseconds.)
    """
    mesh, guess = start
    coarse = np.linspace(mesh[0], mesh[-1], max(2 * len(mesh) // 3, 3))
    guess = np.stack([np.interp(coarse, mesh, g) for g in guess])
    check = _solve(functions, coarse, guess, name=None, tol=tol * 100, max_nodes=max_nodes)
    if check is None:
        return None
    x = np.linspace(sol.x[0], sol.x[-1], 2001)
    return relative_difference(sol.sol(x)[rows].T, check.sol(x)[rows].T)


def _fixed_values(problem, ends: tuple[float, float]) -> dict[tuple[int, int], float]:
    """The exactly imposed values, ``{(field index, side): value}``."""
    coords = problem.domain.coords
    return {(k, side): float(values_at(h.value, coords, np.array([[ends[side]]]), "boundary condition")[0])
            for side in (0, 1) for k, h in hard_values(problem, 0, side).items()}  # fmt: skip


def _end_conditions(problem, states: list[State], rhs: Callable, fixed: dict,
                    ends: tuple[float, float]) -> list[EndCondition] | None:  # fmt: skip
    """One residual of the end state per condition, or None for a condition that is not one."""
    out: list[EndCondition] = []
    for (k, side), value in fixed.items():
        i = states.index((problem.fields[k], 0))
        out.append((side, lambda y, i=i, value=value: y[i] - value))
    for pen in problem.penalties:
        if pen.points is not None:
            continue  # observations are data to compare with, not conditions that define the solution
        sides = _sides(pen, problem.domain)
        if sides is None or pen.partner is not None:
            return None  # periodic, or a region that is not an end of the interval
        for side in sides:
            fn = _penalty_condition(pen, problem, states, rhs, ends[side], side)
            if fn is None:
                return None
            out.append((side, fn))
    return out


def _sides(pen, domain) -> tuple[int, ...] | None:
    """The ends of the interval a penalty's region is made of (``(0,)``, ``(1,)`` or ``(0, 1)``), or None."""
    faces = pen.region.faces if pen.region is not None else ()
    return tuple(sorted({side for _, side in faces})) if faces else None


def _penalty_condition(pen, problem, states: list[State], rhs: Callable, end: float, side: int) -> Callable | None:
    """``pen.residual`` as a function of the state at one end; None if it needs more than the state."""
    fields, coords = problem.fields, problem.domain.coords
    orders = {f: 1 + max(k for g, k in states if g == f) for f in fields}

    def residual(y):
        x = jnp.array([end], jnp.float64)
        dy = rhs(x[0], y)  # the highest derivative of each field comes from the equations
        value = {(f, k): y[states.index((f, k))] for f, k in states}
        value |= {(f, orders[f]): dy[states.index((f, orders[f] - 1))] for f in fields}
        # derivatives above a field's order are NaN: a condition that uses one is caught by the probe
        values = {(0,) * k: jnp.stack([value.get((f, k), jnp.nan) for f in fields])
                  for k in range(max(orders.values()) + 1)}  # fmt: skip
        # outward normal: -1 at the left end, +1 at the right end
        point = Point(coords, fields, x, values=values, normal=jnp.array([2.0 * side - 1.0]))
        return jnp.asarray(pen.residual(point), jnp.float64)

    with jax.enable_x64(True):
        try:
            probe = residual(jnp.linspace(0.3, 1.7, len(states)))
        except Exception:  # a condition that needs more than the state (or fails on a probe): none
            return None
        if probe.shape != () or not np.isfinite(probe):
            return None
    return residual


def _guess(problem, states: list[State], fixed: dict, mesh: np.ndarray) -> np.ndarray:
    """An initial state on the mesh: straight lines between given end values, zeros elsewhere."""
    y = np.zeros((len(states), len(mesh)))
    span = mesh[-1] - mesh[0]
    for k, f in enumerate(problem.fields):
        left, right = fixed.get((k, 0)), fixed.get((k, 1))
        if left is None and right is None:
            continue
        left, right = (right, right) if left is None else (left, left) if right is None else (left, right)
        y[states.index((f, 0))] = left + (right - left) * (mesh - mesh[0]) / span
        if (f, 1) in states:
            y[states.index((f, 1))] = (right - left) / span
    return y


def _compiled(rhs: Callable, conditions: list[EndCondition]) -> tuple[Callable, Callable, Callable, Callable]:
    """``fun``, ``bc``, ``fun_jac`` and ``bc_jac`` as ``solve_bvp`` calls them (NumPy in and out),
    compiled once for the first solve and the second (the error estimate) alike."""

    def bc(ya, yb):
        return jnp.stack([fn(ya if side == 0 else yb) for side, fn in conditions])

    # along the mesh: states (n, m) and Jacobians (n, n, m), as solve_bvp's vectorised calls expect
    fun = jax.vmap(rhs, in_axes=(0, 1), out_axes=1)
    fun_jac = jax.vmap(jax.jacfwd(rhs, argnums=1), in_axes=(0, 1), out_axes=2)
    return _along_mesh(fun), _numpy(bc), _along_mesh(fun_jac), _numpy(jax.jacfwd(bc, argnums=(0, 1)))


def _solve(functions: tuple, mesh: np.ndarray, guess: np.ndarray, *, name: str | None, tol: float, max_nodes: int):
    """``solve_bvp``'s solution, or None (with a warning naming ``name``, unless it is None) if it fails."""
    fun, bc, fun_jac, bc_jac = functions
    try:  # a failing solve meets inf/NaN inside SciPy: silence NumPy there, the warning below says why
        with np.errstate(all="ignore"):
            sol = solve_bvp(fun, bc, mesh, guess, fun_jac=fun_jac, bc_jac=bc_jac, tol=tol, bc_tol=tol,
                            max_nodes=max_nodes)  # fmt: skip
        message = None if sol.status == 0 else sol.message
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:  # no reference, not a crash
        message = f"{type(err).__name__}: {err}"
    if message is not None:
        if name is None:  # a second solve for an error estimate: its failure is no news
            return None
        warnings.warn(f"no classical reference for {name!r}: solve_bvp failed: {message}", RuntimeWarning,
                      stacklevel=4)  # fmt: skip
        return None
    return sol


def _numpy(fn: Callable) -> Callable:
    """Call a jitted JAX function of two arrays in float64 and return NumPy (nested as JAX returns it)."""
    jitted = jax.jit(fn)

    def call(a, b):
        with jax.enable_x64(True):
            out = jitted(np.asarray(a, np.float64), np.asarray(b, np.float64))
            return jax.tree_util.tree_map(np.asarray, out)

    return call


def _along_mesh(fn: Callable) -> Callable:
    """:func:`_numpy` for a function of the mesh (m,) and states (n, m), whose result ends in the
    mesh axis: the mesh is padded to a power of two, so that the solver's ever-changing mesh sizes
    compile a handful of times, not once each."""
    call = _numpy(fn)

    def padded(x, y):
        m = len(x)
        size = max(64, 1 << (m - 1).bit_length())
        pad = np.concatenate([np.arange(m), np.full(size - m, m - 1)])  # the last mesh point repeated
        return call(np.asarray(x)[pad], np.asarray(y)[:, pad])[..., :m]

    return padded
