"""What the classical solvers read from a Problem's conditions: values in float64, faces of penalties."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from ..ops.point import Point
from ..problem.conditions import HardValue, Penalty
from ..problem.domain import Domain


def value_at(value: Callable, coords: tuple[str, ...], x) -> jax.Array:
    """A condition's value ``value(p)`` at one point ``x`` (traceable; call under float64)."""
    # `+ 0 * x[0]`: a constant value becomes an array like the others
    return value(Point(coords, (), x, values={})) + 0 * x[0]


def values_at(value: Callable, coords: tuple[str, ...], points: np.ndarray, what: str) -> np.ndarray:
    """A condition's value at points (n, d), as float64 NumPy."""
    with jax.enable_x64(True):
        try:
            out = jax.vmap(lambda x: value_at(value, coords, x))(jnp.asarray(points, jnp.float64))
        except ProblemError:
            raise
        except Exception as err:  # a user's value function that cannot be evaluated on arrays
            raise ProblemError(f"{what}: evaluating its value failed: {type(err).__name__}: {err}") from None
        return np.asarray(out, np.float64).reshape(len(points))


def hard_values(problem, axis: int, side: int) -> dict[int, HardValue]:
    """The exactly imposed value conditions on one face, by field index."""
    return {h.field: h for h in problem.hard if h.axis == axis and h.side == side}


def face_of(penalty: Penalty, domain: Domain) -> tuple[int, int] | None:
    """``(axis, side)`` of the flat face a penalty lives on, or None (a region that is not one face)."""
    if penalty.region is None:
        return None
    points, _ = penalty.region.sample(8, "uniform", 0)
    for axis, seg in domain.segments().items():
        for side, end in enumerate((seg.lo, seg.hi)):
            if np.all(points[:, axis] == end):
                return axis, side
    return None


def periodic_axis(penalty: Penalty, domain: Domain) -> int | None:
    """The coordinate a periodic penalty wraps (the column its ``partner`` moves), or None."""
    if penalty.partner is None or penalty.region is None:
        return None
    points, _ = penalty.region.sample(4, "uniform", 0)
    moved = np.flatnonzero(np.any(penalty.partner(points) != points, axis=0))
    return int(moved[0]) if len(moved) == 1 else None
