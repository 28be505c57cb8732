"""Domains: products of segments, disks and plane shapes, with named coordinates.

A domain is a product of *factors* (a segment in one coordinate, a disk in two). Every region a
condition can live on — the interior, the boundary, a face ``x = 0`` — is a union of *parts*, and
each part is a product of one *piece* per factor (a segment's interior or one of its ends, a disk's
interior or its circle). Sampling a region maps points of the unit cube through the pieces, so
low-discrepancy sampling and space × time products need no special cases.

A plane shape (:class:`Plane`: polygons, disks, ellipses and their unions, differences and
intersections) is a factor whose pieces draw their own points (low-discrepancy points of its
bounding box kept inside; points along each boundary piece) instead of mapping the unit cube.

The coordinate named ``t`` is time: the "boundary" of a domain in time is its spatial boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._errors import ProblemError
from ..sampling import unit_points

TIME = "t"
_TOL = 1e-12


def _num(x: float) -> str:
    """A number as short as it can be written and still read back exactly (``1``, ``0.5``,
    ``1.5707963267948966``), so that two different numbers never print alike."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


# --- pieces: one factor's contribution to a region part ----------------------------------------


@dataclass(frozen=True)
class _Piece:
    """A factor's share of a region part: maps ``dim`` unit coordinates to its coordinates."""

    dim: int
    measure: float

    def map(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (points, normals) with one column per coordinate of the factor."""
        raise NotImplementedError


@dataclass(frozen=True)
class _SegmentInterior(_Piece):
    lo: float
    hi: float

    def map(self, u):
        x = self.lo + u[:, :1] * (self.hi - self.lo)
        return x, np.zeros_like(x)


@dataclass(frozen=True)
class _SegmentEnd(_Piece):
    value: float
    normal: float

    def map(self, u):
        n = u.shape[0]
        return np.full((n, 1), self.value), np.full((n, 1), self.normal)


@dataclass(frozen=True)
class _DiskInterior(_Piece):
    center: tuple[float, float]
    radius: float

    def map(self, u):
        r = self.radius * np.sqrt(u[:, 0])  # sqrt: uniform in area, not in radius
        a = 2 * math.pi * u[:, 1]
        pts = np.stack([self.center[0] + r * np.cos(a), self.center[1] + r * np.sin(a)], axis=1)
        return pts, np.zeros_like(pts)


@dataclass(frozen=True)
class _Circle(_Piece):
    center: tuple[float, float]
    radius: float

    def map(self, u):
        a = 2 * math.pi * u[:, 0]
        normals = np.stack([np.cos(a), np.sin(a)], axis=1)
        return np.asarray(self.center) + self.radius * normals, normals


@dataclass(frozen=True)
class _ShapeInterior(_Piece):
    shape: object

    def draw(self, n: int, method: str, seed: int):
        pts = self.shape.interior(n, method, seed)
        return pts, np.zeros_like(pts)


@dataclass(frozen=True)
class _ShapeBoundary(_Piece):
    shape: object
    pieces: tuple[int, ...]

    def draw(self, n: int, method: str, seed: int):
        return self.shape.boundary(n, method, seed, self.pieces)


# --- factors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """The factor ``lo <= coord <= hi``."""

    coord: str
    lo: float
    hi: float

    @property
    def coords(self) -> tuple[str, ...]:
        return (self.coord,)

    def interior(self) -> _Piece:
        return _SegmentInterior(1, self.hi - self.lo, self.lo, self.hi)

    def ends(self) -> list[_Piece]:
        return [_SegmentEnd(0, 1.0, self.lo, -1.0), _SegmentEnd(0, 1.0, self.hi, 1.0)]

    def boundary(self) -> list[_Piece]:
        return self.ends()

    def contains(self, pts: np.ndarray, tol: float) -> np.ndarray:
        return (pts[:, 0] >= self.lo - tol) & (pts[:, 0] <= self.hi + tol)


@dataclass(frozen=True)
class Round:
    """The disk factor ``|(c0, c1) - center| <= radius``."""

    coord_pair: tuple[str, str]
    center: tuple[float, float]
    radius: float

    @property
    def coords(self) -> tuple[str, ...]:
        return self.coord_pair

    def interior(self) -> _Piece:
        return _DiskInterior(2, math.pi * self.radius**2, self.center, self.radius)

    def boundary(self) -> list[_Piece]:
        return [_Circle(1, 2 * math.pi * self.radius, self.center, self.radius)]

    def contains(self, pts: np.ndarray, tol: float) -> np.ndarray:
        d = np.hypot(pts[:, 0] - self.center[0], pts[:, 1] - self.center[1])
        return d <= self.radius + tol


@dataclass(frozen=True)
class Plane:
    """A plane shape (:class:`~neuralsolve.geometry.Shape`) in two coordinates."""

    coord_pair: tuple[str, str]
    shape: object

    @property
    def coords(self) -> tuple[str, ...]:
        return self.coord_pair

    def interior(self) -> _Piece:
        return _ShapeInterior(2, self.shape.area, self.shape)

    def boundary(self) -> list[_Piece]:
        return [self.part(tuple(range(len(self.shape.pieces))))]

    def part(self, pieces: tuple[int, ...]) -> _Piece:
        length = sum(self.shape.pieces[i].length for i in pieces)
        return _ShapeBoundary(1, length, self.shape, tuple(pieces))

    def contains(self, pts: np.ndarray, tol: float) -> np.ndarray:
        return self.shape.contains(pts, tol / max(self.shape.size, 1e-300))


# --- regions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A union of parts of a domain, each part a product of pieces (one per factor).

    ``faces`` lists the flat faces ``(column, side)`` the region is made of (side 0: the lower end
    of that coordinate's segment, 1: the upper); it is empty for the interior and for any region with
    a curved part, such as the circle of a disk.
    """

    name: str
    parts: tuple[tuple[_Piece, ...], ...]
    faces: tuple[tuple[int, int], ...] = ()

    @property
    def shape_pieces(self) -> tuple[int, ...]:
        """The boundary pieces of a plane shape this region is made of (empty for other regions)."""
        return tuple(sorted({i for part in self.parts for p in part if isinstance(p, _ShapeBoundary) for i in p.pieces}))

    def sample(self, n: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Return about ``n`` (points, outward normals), shared among parts by measure.

        A part of dimension zero (an end of a 1D interval) is a single point and gets one sample.
        """
        total = sum(_part_measure(p) for p in self.parts if _part_dim(p) > 0)
        points, normals = [], []
        for i, part in enumerate(self.parts):
            dim = _part_dim(part)
            count = 1 if dim == 0 else max(1, round(n * _part_measure(part) / total))
            u = unit_points(count, dim, method, seed * 1009 + i)
            cols, ncols, k = [], [], 0
            for piece in part:
                if hasattr(piece, "draw"):  # a plane shape samples itself (its columns of u unused)
                    p, nrm = piece.draw(count, method, seed * 1009 + i)
                else:
                    p, nrm = piece.map(u[:, k : k + piece.dim])
                cols.append(p)
                ncols.append(nrm)
                k += piece.dim
            points.append(np.concatenate(cols, axis=1))
            normals.append(np.concatenate(ncols, axis=1))
        return np.concatenate(points), np.concatenate(normals)


def _part_dim(part) -> int:
    return sum(p.dim for p in part)


def _part_measure(part) -> float:
    return math.prod(p.measure for p in part)


# --- domains -------------------------------------------------------------------------------------


class Domain:
    """A product of factors with named coordinates; columns of points follow :attr:`coords`."""

    def __init__(self, factors):
        self.factors = tuple(factors)
        names = [c for f in self.factors for c in f.coords]
        if len(set(names)) != len(names):
            raise ProblemError(f"a coordinate is named twice in the domain: {names}")
        for f in self.factors:
            if isinstance(f, Segment) and not f.lo < f.hi:
                raise ProblemError(f"bounds of {f.coord!r} must increase, got [{f.lo}, {f.hi}]")
            if isinstance(f, Round) and not f.radius > 0:
                raise ProblemError(f"disk radius must be positive, got {f.radius}")
            if isinstance(f, Plane) and TIME in f.coords:
                raise ProblemError(f"a shape's coordinates cannot include the time '{TIME}'")

    @property
    def coords(self) -> tuple[str, ...]:
        """Coordinate names, in the column order of points."""
        return tuple(c for f in self.factors for c in f.coords)

    @property
    def dim(self) -> int:
        return len(self.coords)

    @property
    def has_time(self) -> bool:
        return TIME in self.coords

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounding box (lo, hi), one entry per coordinate."""
        lo, hi = [], []
        for f in self.factors:
            if isinstance(f, Segment):
                lo.append(f.lo)
                hi.append(f.hi)
            elif isinstance(f, Plane):
                lo += [float(v) for v in f.shape.lo]
                hi += [float(v) for v in f.shape.hi]
            else:
                lo += [c - f.radius for c in f.center]
                hi += [c + f.radius for c in f.center]
        return np.array(lo, float), np.array(hi, float)

    def segments(self) -> dict[int, Segment]:
        """Box-like coordinates (column index -> segment): the ones whose faces are flat ends."""
        return {self.coords.index(f.coord): f for f in self.factors if isinstance(f, Segment)}

    def interior(self) -> Region:
        return Region("interior", (tuple(f.interior() for f in self.factors),))

    def boundary(self) -> Region:
        """The boundary; for a domain in time, the spatial boundary (all times)."""
        parts, faces = [], []
        for i, f in enumerate(self.factors):
            if f.coords == (TIME,):
                continue
            for side, piece in enumerate(f.boundary()):
                parts.append(tuple(piece if j == i else g.interior() for j, g in enumerate(self.factors)))
                faces.append((self.coords.index(f.coords[0]), side) if isinstance(f, Segment) else None)
        if not parts:
            raise ProblemError(
                "this domain has only the time coordinate, so it has no spatial boundary; "
                f"place the condition on '{TIME} = <start>' instead"
            )
        return Region("boundary", tuple(parts), () if None in faces else tuple(faces))

    def face(self, coord: str, value: float) -> Region:
        """The flat face ``coord = value`` (an end of the segment in ``coord``)."""
        if coord not in self.coords:
            raise ProblemError(
                f"condition on '{coord} = {_num(value)}': the domain has no coordinate {coord!r} "
                f"(coordinates: {', '.join(self.coords)})"
            )
        i = next(k for k, f in enumerate(self.factors) if coord in f.coords)
        f = self.factors[i]
        if isinstance(f, Plane):
            pieces = f.shape.on_line(f.coords.index(coord), value, coord)
            return self._plane_region(f"{coord} = {_num(value)}", i, pieces)
        if not isinstance(f, Segment):
            raise ProblemError(
                f"condition on '{coord} = {_num(value)}' is not on the boundary of the disk; "
                "use on = 'boundary'"
            )
        side, end = next(((s, e) for s, e in enumerate(f.ends()) if abs(e.value - value) <= _TOL * max(1.0, abs(value))),
                         (None, None))  # fmt: skip
        if end is None:
            where = "outside the domain" if not f.lo <= value <= f.hi else "inside the domain, not on its boundary"
            raise ProblemError(
                f"condition on '{coord} = {_num(value)}' is {where}: {coord} ranges over [{_num(f.lo)}, {_num(f.hi)}]"
            )
        part = tuple(end if j == i else g.interior() for j, g in enumerate(self.factors))
        return Region(f"{coord} = {_num(value)}", (part,), ((self.coords.index(coord), side),))

    def plane(self) -> Plane | None:
        """The plane-shape factor, if the domain has one."""
        return next((f for f in self.factors if isinstance(f, Plane)), None)

    def part(self, name: str) -> Region:
        """The boundary part of a plane shape made by its primitive called ``name``."""
        i = next((k for k, f in enumerate(self.factors) if isinstance(f, Plane)), None)
        if i is None:
            raise ProblemError(f"the domain has no named boundary parts (only a shape = \"...\" domain has); "
                               f"got {name!r}")  # fmt: skip
        return self._plane_region(name, i, self.factors[i].shape.part(name))

    def _plane_region(self, name: str, i: int, pieces: tuple[int, ...]) -> Region:
        part = tuple(self.factors[i].part(pieces) if j == i else g.interior() for j, g in enumerate(self.factors))
        return Region(name, (part,))

    def contains(self, points: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask of the points (n, d) that lie in the closed domain."""
        points = np.asarray(points, float)
        mask = np.ones(points.shape[0], bool)
        k = 0
        for f in self.factors:
            width = len(f.coords)
            mask &= f.contains(points[:, k : k + width], tol)
            k += width
        return mask

    def __mul__(self, other: Domain) -> Domain:
        return Domain(self.factors + other.factors)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.factors))})"


class Interval(Domain):
    """The interval ``lo <= coord <= hi`` (``coord = "t"`` makes it a time interval, for ODEs)."""

    def __init__(self, lo: float, hi: float, coord: str = "x"):
        super().__init__([Segment(coord, float(lo), float(hi))])


class Rectangle(Domain):
    """The rectangle ``x`` × ``y``, given as two (lo, hi) pairs."""

    def __init__(self, x: tuple[float, float], y: tuple[float, float], coords: tuple[str, str] = ("x", "y")):
        super().__init__([Segment(c, float(a), float(b)) for c, (a, b) in zip(coords, (x, y))])


class Box(Domain):
    """The n-dimensional box with one (lo, hi) pair per coordinate."""

    def __init__(self, bounds, coords=None):
        bounds = [tuple(b) for b in bounds]
        coords = tuple(coords) if coords is not None else ("x", "y", "z", "w")[: len(bounds)]
        if len(coords) != len(bounds):
            raise ProblemError(f"Box has {len(bounds)} bounds but {len(coords)} coordinate names")
        super().__init__([Segment(c, float(a), float(b)) for c, (a, b) in zip(coords, bounds)])


class Disk(Domain):
    """The disk of ``radius`` around ``center`` in two coordinates."""

    def __init__(self, center=(0.0, 0.0), radius: float = 1.0, coords: tuple[str, str] = ("x", "y")):
        super().__init__([Round(tuple(coords), (float(center[0]), float(center[1])), float(radius))])


class Shape2D(Domain):
    """A plane shape: a :class:`~neuralsolve.geometry.Shape`, or its text such as
    ``"rectangle(0, 0, 2, 1) - disk(0.5, 0.5, 0.2)"`` (read safely, never evaluated)."""

    def __init__(self, shape, coords: tuple[str, str] = ("x", "y"), *, constants: dict | None = None,
                 shapes: dict | None = None):  # fmt: skip
        from ..geometry import Shape, parse_shape

        if isinstance(shape, str):
            shape = parse_shape(shape, constants, shapes)
        elif not isinstance(shape, Shape):
            shape = Shape(shape)  # a Node built in Python: Rectangle(...) - Disk(...)
        super().__init__([Plane(tuple(coords), shape)])


class SpaceTime(Domain):
    """``space`` × [t0, t1]; the time coordinate is named ``t`` and comes last."""

    def __init__(self, space: Domain, t: tuple[float, float]):
        if space.has_time:
            raise ProblemError("the spatial domain of SpaceTime already has a coordinate named 't'")
        super().__init__(space.factors + (Segment(TIME, float(t[0]), float(t[1])),))

    def window(self, t0: float, t1: float) -> SpaceTime:
        """The same space over the time interval [t0, t1]."""
        return SpaceTime(Domain(self.factors[:-1]), (t0, t1))
