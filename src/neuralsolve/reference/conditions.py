"""What the classical solvers read from a Problem's conditions: values in float64, faces of penalties."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import numpy as np

from .._errors import ProblemError
from ..ops.point import value_at
from ..problem.conditions import HardValue, Penalty


def values_at(value: Callable, coords: tuple[str, ...], points: np.ndarray, what: str) -> np.ndarray:
    """A condition's value at points (n, d), as float64 NumPy.

    Compiled once per condition and per size class (the points padded to a power of two): the
    spectral references evaluate the same initial values on grid after grid, and op-by-op
    evaluation compiles every operation anew for each new number of points.
    """
    points = np.asarray(points, np.float64)
    n = len(points)
    size = max(16, 1 << max(n - 1, 0).bit_length())
    padded = np.concatenate([points, np.repeat(points[-1:], size - n, axis=0)]) if n else np.zeros((size, len(coords)))
    with jax.enable_x64(True):
        try:
            out = _compiled(value, tuple(coords))(padded)
        except ProblemError:
            raise
        except Exception as err:  # a user's value function that cannot be evaluated on arrays
            raise ProblemError(f"{what}: evaluating its value failed: {type(err).__name__}: {err}") from None
        return np.asarray(out, np.float64).reshape(size)[:n]


@functools.lru_cache(maxsize=256)
def _compiled(value: Callable, coords: tuple[str, ...]) -> Callable:
    return jax.jit(jax.vmap(lambda x: value_at(value, coords, x)))


def hard_values(problem, axis: int, side: int) -> dict[int, HardValue]:
    """The exactly imposed value conditions on one face, by field index."""
    return {h.field: h for h in problem.hard if h.axis == axis and h.side == side}


def face_of(penalty: Penalty) -> tuple[int, int] | None:
    """``(axis, side)`` of the flat face a penalty lives on, or None (a region that is not one face)."""
    faces = penalty.region.faces if penalty.region is not None else ()
    return faces[0] if len(faces) == 1 else None


def periodic_axis(penalty: Penalty) -> int | None:
    """The coordinate a periodic penalty wraps (its region is that coordinate's lower face), or None."""
    face = face_of(penalty) if penalty.partner is not None else None
    return face[0] if face is not None else None
