"""Boundary, initial and data conditions.

Each condition states a residual that must vanish on a region. When a condition fixes a field's
*value* on a flat face of an interval or box (or at the start time), the problem imposes it exactly
through the trial function; every other condition becomes a penalty term of the loss.

Values are a number, a string expression in the coordinates and parameters (``"sin(pi*x)"``) or a
Python function of a :class:`~neuralsolve.ops.point.Point` (``lambda p: jnp.sin(p["x"])``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Value = float | str | Callable


class Condition:
    """A residual equation imposed on ``on``: ``Condition("diff(u, x) = 0", on="x = 0")``.

    ``equation`` is a string in SymPy syntax or a Python function ``residual(p)``. ``on`` is
    ``"boundary"`` (the spatial boundary, for problems in time), a face such as ``"x = 0"`` (on a
    shape: the straight parts of its boundary on that line) or the name of a part of a shape's
    boundary (``"hole"``: the boundary its primitive of that name makes).
    ``weight`` scales its loss term; ``points`` overrides how many collocation points it gets.
    """

    def __init__(self, equation: str | Callable, on: str = "boundary", *, weight: float = 1.0,
                 points: int | None = None):  # fmt: skip
        self.equation, self.on, self.weight, self.points = equation, on, float(weight), points

    def __repr__(self) -> str:
        what = self.equation if self.equation is not None else getattr(self, "field", "")
        return f"{type(self).__name__}({what!r}, on={self.on!r})"


class Dirichlet(Condition):
    """``field = value`` on ``on``.

    ``impose="exact"`` (default) builds it into the trial function wherever ``on`` is made of flat
    faces, and on any part of a plane shape's boundary (through an approximate distance function;
    in time, when an exact start value agrees with it at t0); ``impose="penalty"`` always makes it
    a loss term.
    """

    def __init__(self, field: str, value: Value = 0.0, on: str = "boundary", *, weight: float = 1.0,
                 points: int | None = None, impose: str = "exact"):  # fmt: skip
        super().__init__(None, on, weight=weight, points=points)
        self.field, self.value, self.impose = field, value, impose


class Neumann(Condition):
    """Outward normal derivative ``∂field/∂n = value`` on ``on``."""

    def __init__(self, field: str, value: Value = 0.0, on: str = "boundary", *, weight: float = 1.0):
        super().__init__(None, on, weight=weight)
        self.field, self.value = field, value


class Robin(Condition):
    """``a·field + b·∂field/∂n = value`` on ``on``."""

    def __init__(self, field: str, a: float, b: float, value: Value = 0.0, on: str = "boundary",
                 *, weight: float = 1.0):  # fmt: skip
        super().__init__(None, on, weight=weight)
        self.field, self.a, self.b, self.value = field, float(a), float(b), value


class Initial(Dirichlet):
    """``field = value`` at the start time (``t = t0``); ``impose`` as for :class:`Dirichlet`."""

    def __init__(self, field: str, value: Value, *, weight: float = 1.0, points: int | None = None,
                 impose: str = "exact"):  # fmt: skip
        super().__init__(field, value, on="start", weight=weight, points=points, impose=impose)


class InitialRate(Condition):
    """``∂field/∂t = value`` at the start time."""

    def __init__(self, field: str, value: Value, *, weight: float = 1.0):
        super().__init__(None, "start", weight=weight)
        self.field, self.value = field, value


class Periodic(Condition):
    """All fields (and all their derivatives) agree on the two ends of ``coord``.

    ``impose="exact"`` (default) feeds the network ``cos θ`` and ``sin θ`` of the angle
    ``θ = 2π (coord − lo) / (hi − lo)`` in place of the coordinate, so every field is periodic to
    rounding, derivatives included, and no loss term is needed. ``impose="penalty"`` is a loss term
    on the values and first derivatives at the two ends instead (``weight`` applies to it only).
    """

    def __init__(self, coord: str, *, weight: float = 1.0, impose: str = "exact"):
        super().__init__(None, on=coord, weight=weight)
        self.coord, self.impose = coord, impose


class Observations(Condition):
    """Measured values of ``field`` at ``points`` (n, d) — data the solution must match."""

    def __init__(self, field: str, points, values, *, weight: float = 1.0):
        super().__init__(None, on="points", weight=weight)
        self.field = field
        self.points = np.atleast_2d(np.asarray(points, float))
        self.values = np.asarray(values, float).reshape(-1)


# --- what a Problem makes of its conditions ------------------------------------------------------


@dataclass(frozen=True)
class HardValue:
    """``field = value(p)`` on the face ``coords[axis] = lo`` (side 0) or ``hi`` (side 1)."""

    field: int
    axis: int
    side: int
    value: Callable


@dataclass(frozen=True)
class ShapeValue:
    """``field = value(p)`` on the boundary pieces ``pieces`` of the domain's plane shape, imposed
    through an approximate distance function (a shape, or a shape in time)."""

    field: int
    pieces: tuple[int, ...]
    value: Callable


@dataclass(frozen=True)
class Penalty:
    """A loss term: ``residual(p) - target`` on ``region`` (or on fixed ``points``).

    A periodic penalty compares the points with their images on the opposite face (``partner``).
    """

    name: str
    residual: Callable
    needed: frozenset
    weight: float
    region: Any = None
    points: np.ndarray | None = None
    targets: np.ndarray | None = None
    partner: Callable | None = None
    count: int | None = None  # collocation points; None: the solve's default
