"""Value conditions on the boundary pieces of a plane shape, imposed exactly through the trial
function (:mod:`neuralsolve.nn.trial`): which are kept exact, and which become penalty terms in time."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from ..ops.point import value_at
from .conditions import Dirichlet, Penalty, ShapeValue
from .domain import TIME, Plane


def plane_alone_or_in_time(domain) -> bool:
    """Whether the domain is a plane shape alone, or a plane shape in time."""
    factors = domain.factors
    if len(factors) == 1:
        return isinstance(factors[0], Plane)
    return len(factors) == 2 and isinstance(factors[0], Plane) and factors[1].coords == (TIME,)


def add_shape_value(problem, cond: Dirichlet, region, what: str) -> bool:
    """Impose a value condition on pieces of a shape's boundary exactly (False: it stays a penalty)."""
    pieces = region.shape_pieces
    field = problem.fields.index(cond.field)
    if problem.sign[field] is not None:
        return False  # a signed field is exp(network): its value conditions stay penalties
    for h in problem.shape_hard:
        if h.field == field and set(h.pieces) & set(pieces):
            raise ProblemError(f"{what}: field {cond.field!r} already has a value condition on part of that boundary")
    problem.shape_hard.append(ShapeValue(field, pieces, problem._value(cond.value, what)))
    problem._shape_conditions.append((cond, region, what))
    return True


def settle_in_time(problem) -> None:
    """In time, a field's values on a shape's boundary are exact only together with an exact
    initial value that agrees with them at the start (the trial function adds the difference of
    the two at t0, which must vanish on the boundary); otherwise they become penalty terms."""
    if not problem.domain.has_time or not problem.shape_hard:
        return
    axis = problem.domain.coords.index(TIME)
    t0 = problem.domain.segments()[axis].lo
    shape = problem.domain.plane().shape
    kept, moved = [], set()
    for h, (cond, region, what) in zip(problem.shape_hard, problem._shape_conditions):
        initial = next((v for v in problem.hard if v.field == h.field and v.axis == axis and v.side == 0), None)
        if initial is not None and _agree(shape, h, initial.value, problem.domain.coords, t0):
            kept.append(h)
        else:
            moved.add(h.field)
    for h, (cond, region, what) in zip(problem.shape_hard, problem._shape_conditions):
        if h.field in moved:  # every boundary value of that field: one construction or the other
            residual = problem._condition_residual(cond, what)
            problem.penalties.append(Penalty(f"{what} on {region.name}", residual, problem._record(residual, what),
                                             cond.weight, region=region, count=cond.points))  # fmt: skip
    problem.shape_hard = [h for h in kept if h.field not in moved]


def _agree(shape, value: ShapeValue, initial: Callable, coords: tuple[str, ...], t0: float) -> bool:
    """Whether a boundary value and the initial value agree on its pieces at the start time."""
    points, _ = shape.boundary(64, "sobol", 0, value.pieces)
    x = jnp.asarray(np.concatenate([points, np.full((len(points), 1), t0)], axis=1))
    with jax.enable_x64(True):
        a = np.asarray(jax.vmap(lambda y: value_at(value.value, coords, y))(x))
        b = np.asarray(jax.vmap(lambda y: value_at(initial, coords, y))(x))
    return bool(np.all(np.abs(a - b) <= 1e-10 * (1.0 + np.abs(a))))
