"""Initial-value problems for ODE systems in t: an explicit first-order system and ``solve_ivp``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..ops.point import Point
from ..problem.conditions import Penalty
from ..problem.domain import TIME
from ..problem.parse import field_terms
from .conditions import face_of, values_at
from .estimate import relative_difference
from .integrate import integrate
from .result import Reference
from .symbolic import compile_all, replace_terms, solve_for, state_symbol

State = tuple[str, int]  # (field, derivative order)


def ode_reference(problem, *, method: str = "LSODA", rtol: float = 1e-11, atol: float = 1e-12,
                  estimate: bool = True) -> Reference | None:  # fmt: skip
    """Integrate an ODE initial-value problem with ``solve_ivp``; None if the problem is not one.

    Every equation must be a string, every condition must fix values or (affine combinations of)
    lower derivatives at the start time, and the equations must be solvable for the highest
    derivative of each field. The reference's ``error_estimate`` is its relative L2 difference from
    a second integration at tolerances 100 times tighter (or, if that one fails, 100 times looser);
    None with ``estimate=False`` (no second integration).
    """
    if problem.domain.coords != (TIME,) or any(eq.expr is None for eq in problem.equations):
        return None
    system = first_order_system(problem)
    if system is None:
        return None
    states, rhs = system
    (t0, t1) = (float(b[0]) for b in problem.domain.bounds())
    y0 = _initial_state(problem, states, t0)
    if y0 is None:
        return None
    implicit = method in ("Radau", "BDF", "LSODA")
    jac = jax.jacfwd(rhs, argnums=1) if implicit else None

    def run(r: float, a: float, warn: bool = True):
        return integrate(rhs, (t0, t1), y0, name=problem.name, jac=jac, method=method, rtol=r, atol=a, warn=warn)

    dense = run(rtol, atol)
    if dense is None:
        return None
    rows = [states.index((f, 0)) for f in problem.fields]
    own = None
    if estimate:  # the same integration at 100 times tighter tolerances (rtol's floor is 100 eps), else looser
        check = run(max(rtol / 100, 1e-13), atol / 100, warn=False)
        check = run(rtol * 100, atol * 100, warn=False) if check is None else check
        samples = np.linspace(t0, t1, 2001)
        own = None if check is None else relative_difference(dense(samples)[rows].T, check(samples)[rows].T)
    return Reference(f"solve_ivp ({method})", problem.fields, problem.domain, lambda pts: dense(pts[:, 0])[rows].T,
                     error_estimate=own)  # fmt: skip


def first_order_system(problem, coord: str = TIME):
    """(states, rhs(s, y)) of the equations as a first-order system in ``coord``, or None.

    ``states`` lists (field, derivative order) in the order of ``y``; each field's equation is
    solved symbolically for its highest derivative in ``coord``.
    """
    exprs, fields = [eq.expr for eq in problem.equations], problem.fields
    terms = field_terms(exprs, fields)
    if terms is None or len(exprs) != len(fields):
        return None
    orders = {f: 0 for f in fields}
    for f, spec in terms.values():
        orders[f] = max(orders[f], dict(spec).get(coord, 0))
    if min(orders.values()) < 1:
        return None  # a field without a derivative: an algebraic equation, not an ODE system
    tops = {g: d for d, (g, spec) in terms.items() if spec == ((coord, orders[g]),)}
    rhs = solve_for(exprs, [tops[f] for f in fields])
    states = [(f, k) for f in fields for k in range(orders[f])]
    symbols = {d: state_symbol(f, coord, dict(spec).get(coord, 0)) for d, (f, spec) in terms.items()
               if dict(spec).get(coord, 0) < orders[f]}  # fmt: skip
    rhs = None if rhs is None else replace_terms(rhs, symbols)
    fns = None if rhs is None else compile_all(rhs, "reference right-hand side")
    if fns is None:
        return None
    names = [state_symbol(f, coord, k).name for f, k in states]

    def derivative(s, y):
        values = {coord: s} | dict(zip(names, y))
        top = {f: fn(values) for f, fn in zip(fields, fns)}
        # (f, k) -> (f, k + 1): the next state, or the equation for the highest derivative
        out = [y[states.index((f, k + 1))] if k + 1 < orders[f] else top[f] for f, k in states]
        return jnp.stack([jnp.broadcast_to(v, ()) for v in out]).astype(jnp.float64)

    return states, derivative


def _initial_state(problem, states: list[State], t0: float) -> np.ndarray | None:
    """The state at t0 from the value conditions and affine conditions on derivatives, or None."""
    rows, rhs = [], []
    for h in problem.hard:
        if (h.axis, h.side) != (0, 0):
            return None  # a value at the end time: a boundary-value problem
        row = np.zeros(len(states))
        row[states.index((problem.fields[h.field], 0))] = 1.0
        rows.append(row)
        rhs.append(values_at(h.value, problem.domain.coords, np.array([[t0]]), "initial condition")[0])
    for pen in problem.penalties:
        if pen.points is not None:
            continue  # observations are data to compare with, not conditions that define the solution
        condition = _affine_condition(pen, problem, states, t0) if face_of(pen) == (0, 0) else None
        if condition is None:
            return None
        rows.append(condition[0])
        rhs.append(condition[1])
    a = np.array(rows).reshape(-1, len(states))
    if a.shape[0] != len(states) or np.linalg.cond(a) > 1e12:
        return None  # too few or too many conditions for an initial-value problem
    return np.linalg.solve(a, np.array(rhs))


def _affine_condition(pen: Penalty, problem, states: list[State], t0: float):
    """(row, value) with ``row @ y(t0) = value`` if the penalty is affine in the state, else None."""
    fields, top = problem.fields, max(k for _, k in states) + 1

    def residual(y):
        # derivatives outside the state are NaN: a condition that uses one gives a NaN row
        values = {(0,) * k: jnp.stack([y[states.index((f, k))] if (f, k) in states else jnp.nan for f in fields])
                  for k in range(top + 1)}  # fmt: skip
        point = Point(problem.domain.coords, fields, jnp.array([t0]), values=values, normal=jnp.array([-1.0]))
        return jnp.asarray(pen.residual(point), jnp.float64)

    with jax.enable_x64(True):
        try:
            zero, probe = jnp.zeros(len(states)), jnp.linspace(0.3, 1.7, len(states))
            r0, row, r1 = residual(zero), jax.jacfwd(residual)(zero), residual(probe)
        except Exception:  # a condition that needs more than the state (or fails on a probe): none
            return None
        if r0.shape != () or not np.all(np.isfinite(row)) or not np.isfinite(r0):
            return None
        if abs(float(r1 - r0 - row @ probe)) > 1e-9 * (1 + abs(float(r1))):
            return None  # not affine in the state
        return np.asarray(row, float), -float(r0)

