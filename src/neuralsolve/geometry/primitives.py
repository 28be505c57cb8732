"""Primitive plane shapes and their combinations (union, difference, intersection).

Every node answers :meth:`Node.inside` for many points at once (vectorised NumPy) and lists its
:meth:`Node.primitives`; the boundary of a combination is worked out from those two alone
(:mod:`.shape`), so a new primitive needs only its curves and its inside test.
"""

from __future__ import annotations

import math

import numpy as np

from .._errors import ProblemError
from .curves import Curve, EllipseCurve, Line


class Node:
    """A plane shape: a primitive or a combination of two shapes."""

    def inside(self, points: np.ndarray) -> np.ndarray:
        """Whether each point (n, 2) lies in the shape. Points on the boundary itself may go either
        way: :meth:`~.shape.Shape.contains` adds a distance tolerance where that matters."""
        raise NotImplementedError

    def primitives(self) -> list[Primitive]:
        raise NotImplementedError

    def __add__(self, other: Node) -> Node:
        return Combination("union", self, other)

    def __sub__(self, other: Node) -> Node:
        return Combination("difference", self, other)

    def __and__(self, other: Node) -> Node:
        return Combination("intersection", self, other)

    __or__ = __add__


class Primitive(Node):
    """A shape bounded by its own curves; ``name`` labels its boundary parts."""

    kind = "primitive"
    name: str | None = None

    def curves(self) -> list[Curve]:
        raise NotImplementedError

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def primitives(self):
        return [self]

    def named(self, name: str) -> Primitive:
        self.name = name
        return self


class Polygon(Primitive):
    """A simple polygon through ``vertices`` (k, 2), in either order (stored counter-clockwise).

    Raises:
        ProblemError: fewer than three vertices, repeated vertices, zero area or self-intersections.
    """

    kind = "polygon"

    def __init__(self, vertices):
        v = np.asarray(vertices, float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ProblemError(f"a polygon needs at least three [x, y] vertices, got {len(v)}")
        if not np.all(np.isfinite(v)):
            raise ProblemError("a polygon's vertices must be finite numbers")
        if np.any(np.all(v == np.roll(v, -1, axis=0), axis=1)):
            raise ProblemError("a polygon repeats a vertex: consecutive vertices must differ")
        _check_simple(v)
        area = _signed_area(v)
        if area == 0:
            raise ProblemError("a polygon has zero area")
        self.vertices = v if area > 0 else v[::-1].copy()

    def curves(self):
        v = self.vertices
        return [Line(tuple(v[i]), tuple(v[(i + 1) % len(v)])) for i in range(len(v))]

    def bounds(self):
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def inside(self, points):
        # even-odd ray casting, one edge at a time over all points (vectorised in the points)
        x, y = points[:, 0], points[:, 1]
        result = np.zeros(len(points), bool)
        v, w = self.vertices, np.roll(self.vertices, -1, axis=0)
        for (x0, y0), (x1, y1) in zip(v, w):
            if y0 == y1:
                continue
            crosses = (y0 > y) != (y1 > y)
            xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
            result ^= crosses & (x < xc)
        return result


class Rectangle(Polygon):
    """The rectangle with corners (x0, y0) and (x1, y1)."""

    kind = "rectangle"

    def __init__(self, x0: float, y0: float, x1: float, y1: float):
        if not (x0 < x1 and y0 < y1):
            raise ProblemError(f"rectangle({x0}, {y0}, {x1}, {y1}): the second corner must lie above and right of the first")
        super().__init__([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


class Ellipse(Primitive):
    """The axis-aligned ellipse with centre (cx, cy) and semi-axes a (along x) and b (along y)."""

    kind = "ellipse"

    def __init__(self, cx: float, cy: float, a: float, b: float):
        if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
            raise ProblemError(f"{self.kind}: radii must be positive, got {a}, {b}")
        self.center, self.radii = (float(cx), float(cy)), (float(a), float(b))

    def curves(self):
        return [EllipseCurve(self.center, self.radii)]

    def bounds(self):
        c, r = np.asarray(self.center), np.asarray(self.radii)
        return c - r, c + r

    def inside(self, points):
        (cx, cy), (a, b) = self.center, self.radii
        return ((points[:, 0] - cx) / a) ** 2 + ((points[:, 1] - cy) / b) ** 2 <= 1.0 + 1e-12


class Disk(Ellipse):
    """The disk with centre (cx, cy) and radius r."""

    kind = "disk"

    def __init__(self, cx: float, cy: float, r: float):
        if not r > 0:
            raise ProblemError(f"disk: the radius must be positive, got {r}")
        super().__init__(cx, cy, r, r)


class Combination(Node):
    """``left ∪ right``, ``left − right`` or ``left ∩ right``."""

    def __init__(self, op: str, left: Node, right: Node):
        self.op, self.left, self.right = op, left, right

    def inside(self, points):
        a, b = self.left.inside(points), self.right.inside(points)
        if self.op == "union":
            return a | b
        if self.op == "difference":
            return a & ~b
        return a & b

    def primitives(self):
        return self.left.primitives() + self.right.primitives()


def _signed_area(v: np.ndarray) -> float:
    x, y = v[:, 0], v[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _check_simple(v: np.ndarray) -> None:
    """Refuse a self-intersecting polygon: no two edges that are not neighbours may meet."""
    k = len(v)
    p, r = v, np.roll(v, -1, axis=0) - v  # edge i runs from p[i] along r[i]
    i, j = np.triu_indices(k, 2)
    keep = ~((i == 0) & (j == k - 1))  # the first and last edges are neighbours
    i, j = i[keep], j[keep]
    cross = r[i, 0] * r[j, 1] - r[i, 1] * r[j, 0]
    d = p[j] - p[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (d[:, 0] * r[j, 1] - d[:, 1] * r[j, 0]) / cross
        u = (d[:, 0] * r[i, 1] - d[:, 1] * r[i, 0]) / cross
    meet = (cross != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    # parallel edges on one line that overlap also make the polygon not simple
    collinear = (cross == 0) & (np.abs(d[:, 0] * r[i, 1] - d[:, 1] * r[i, 0]) == 0)
    if collinear.any():
        ri = r[i[collinear]]
        a = np.einsum("ij,ij->i", d[collinear], ri) / np.einsum("ij,ij->i", ri, ri)
        b = a + np.einsum("ij,ij->i", r[j[collinear]], ri) / np.einsum("ij,ij->i", ri, ri)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        meet[np.flatnonzero(collinear)] = (hi >= 0) & (lo <= 1)
    if meet.any():
        a, b = int(i[meet][0]), int(j[meet][0])
        raise ProblemError(f"the polygon is not simple: its edges {a + 1} and {b + 1} cross; edges must meet only "
                           "at shared vertices")
