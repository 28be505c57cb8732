"""Reference: a classical solution of a problem, evaluable at any point of its domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._errors import ProblemError
from ..problem.domain import Domain


@dataclass(frozen=True)
class Reference:
    """A classical solution: ``values(points)`` interpolates it at points (n, d) of the domain.

    Attributes:
        method: how it was computed, for reports (e.g. ``"solve_ivp (Radau)"``).
        fields: the field names, in the column order of :meth:`values`.
        domain: where it is defined; points outside get NaN.
        evaluate: the interpolant, ``(n, d) -> (n, n_fields)`` for points inside the domain.
        error_estimate: the reference's own relative L2 error, estimated (by solving again at a
            second resolution or tolerance); None where it was not estimated. A network error
            below it cannot be told from the reference's own error.
    """

    method: str
    fields: tuple[str, ...]
    domain: Domain
    evaluate: Callable[[np.ndarray], np.ndarray]
    error_estimate: float | None = None

    def values(self, points) -> np.ndarray:
        """Field values (n, n_fields) at points (n, d), columns of points in ``domain.coords`` order."""
        points = np.asarray(points, float)
        coords = self.domain.coords
        if points.ndim != 2 or points.shape[1] != len(coords):
            raise ProblemError(f"points must have shape (n, {len(coords)}) with columns {', '.join(coords)}; "
                               f"got {points.shape}")
        out = np.full((len(points), len(self.fields)), np.nan)
        # outside the domain the classical solution is not defined: NaN rather than an extrapolation
        inside = self.domain.contains(points)
        if inside.any():
            out[inside] = self.evaluate(points[inside])
        return out
