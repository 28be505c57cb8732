"""Shape: a plane shape's boundary worked out into pieces, with sampling, parts and distances.

The boundary of a combination is found from the primitives' curves and the inside test alone: a
point of a primitive's curve is on the shape's boundary exactly when the shape is on one side of
the curve there and not on the other. Each curve is scanned, the runs where that holds are found and
their ends refined by bisection, and each run becomes a :class:`Piece` — a stretch ``[s0, s1]`` of
one curve with the shape's outward normal. Sampling, boundary parts, the approximate distance
function and the mesher's outline all read these pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from ..sampling import unit_points
from .curves import Curve, Line
from .outline import Outline
from .primitives import Node, Primitive

_SCAN = 2048  # scan points per curve; pieces shorter than 1/_SCAN of a curve could be missed
_BISECT = 60  # halvings of a run's end: to rounding
CURVED = 4.0  # a curve of radius r gets segments of h * min(1, CURVED * r / size)
GRADING = 8  # halvings of the outline's segments towards a re-entrant corner


@dataclass(frozen=True, eq=False)
class Piece:
    """A stretch [s0, s1] of a primitive's curve on the shape's boundary.

    ``flip`` is -1 where the shape lies outside the primitive there (the edge of a hole), so the
    outward normal of the shape is ``flip`` times the curve's. ``name`` is the primitive's name.
    """

    curve: Curve
    s0: float
    s1: float
    flip: int
    name: str

    @property
    def length(self) -> float:
        return self.curve.stretch_length(self.s0, self.s1)

    def sample(self, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points, normals = self.curve.at(self.curve.by_length(fraction, self.s0, self.s1))
        return points, self.flip * normals

    def line(self) -> tuple[int, float] | None:
        """``(axis, value)`` if the piece lies on the line ``coord[axis] = value``."""
        return self.curve.axis_line() if isinstance(self.curve, Line) else None


class Shape:
    """A plane shape (a primitive or a combination) with its boundary pieces.

    Args:
        node: the shape's tree (:class:`~.primitives.Node`).
        text: how it was written, for messages and reports.

    Raises:
        ProblemError: if the shape is empty or two primitives share a name.
    """

    def __init__(self, node: Node, text: str = ""):
        self.node, self.text = node, text
        self.definitions: dict[str, str] = {}  # named shapes the text uses (set by parse_shape)
        self.primitives = node.primitives()
        _name_primitives(self.primitives)
        lo = np.min([p.bounds()[0] for p in self.primitives], axis=0)
        hi = np.max([p.bounds()[1] for p in self.primitives], axis=0)
        self.size = float(np.max(hi - lo))
        self._eps = 1e-11 * self.size  # the offset across a curve that decides which side is inside
        self.pieces = [piece for prim in self.primitives for curve in prim.curves()
                       for piece in self._pieces(curve, prim.name)]  # fmt: skip
        if not self.pieces:
            raise ProblemError(f"the shape {text!r} is empty: it has no boundary" if text else "the shape is empty")
        points = np.concatenate([p.sample(np.linspace(0, 1, 64))[0] for p in self.pieces])
        # the bounding box of the shape itself (a difference can be smaller than its primitives)
        self.lo, self.hi = points.min(axis=0), points.max(axis=0)
        self.area = self._area()
        if not self.area > 0:
            raise ProblemError(f"the shape {text!r} is empty: it has no interior" if text else "the shape is empty")

    # --- the boundary ---------------------------------------------------------------------------

    def _sides(self, curve: Curve, s: np.ndarray) -> np.ndarray:
        """+1 where the shape is on the curve's inner side only, -1 on its outer side only, 0 else."""
        points, normals = curve.at(s)
        inner = self.node.inside(points - self._eps * normals)
        outer = self.node.inside(points + self._eps * normals)
        return inner.astype(int) - outer.astype(int)

    def _pieces(self, curve: Curve, name: str) -> list[Piece]:
        s = np.linspace(0.0, 1.0, _SCAN + 1)
        side = self._sides(curve, (s[:-1] + s[1:]) / 2)  # midpoints: corners are never sampled
        pieces, start = [], 0
        for k in range(1, _SCAN + 1):
            if k < _SCAN and side[k] == side[start]:
                continue
            if side[start] != 0:
                s0 = 0.0 if start == 0 else self._edge(curve, s[start - 1 : start + 1].mean(), s[start] + 0.5 / _SCAN, side[start])
                s1 = 1.0 if k == _SCAN else self._edge(curve, s[k] + 0.5 / _SCAN, s[k - 1] + 0.5 / _SCAN, side[start])
                pieces.append(Piece(curve, s0, s1, int(side[start]), name))
            start = k
        # a closed curve's run across s = 1 -> 0 stays two pieces of one part (same name, same flip)
        return pieces

    def _edge(self, curve: Curve, outside: float, inside: float, side: int) -> float:
        """The parameter between ``outside`` (not on the piece) and ``inside`` (on it) where the piece ends."""
        a, b = outside, inside
        for _ in range(_BISECT):
            m = (a + b) / 2
            if self._sides(curve, np.array([m]))[0] == side:
                b = m
            else:
                a = m
        return b

    def _area(self) -> float:
        u = unit_points(1 << 16, 2, "sobol", 0)
        return float(np.mean(self.node.inside(self.lo + u * (self.hi - self.lo))) * np.prod(self.hi - self.lo))

    @property
    def length(self) -> float:
        return sum(p.length for p in self.pieces)

    # --- parts ------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The primitives' names, in the order they were written."""
        return [p.name for p in self.primitives]

    def part(self, name: str) -> tuple[int, ...]:
        """Indices of the pieces from the primitive called ``name``."""
        if name not in self.names():
            raise ProblemError(f"the shape has no part {name!r}; its parts are {', '.join(map(repr, self.names()))}, "
                               "or a line such as 'x = 0'")  # fmt: skip
        found = tuple(i for i, p in enumerate(self.pieces) if p.name == name)
        if not found:
            raise ProblemError(f"the part {name!r} of the shape has no boundary left (another part covers it)")
        return found

    def on_line(self, axis: int, value: float, coord: str) -> tuple[int, ...]:
        """Indices of the straight pieces on the line ``coord = value``."""
        tol = 1e-12 * max(1.0, abs(value), self.size)
        found = tuple(i for i, p in enumerate(self.pieces)
                      if p.line() is not None and p.line()[0] == axis and abs(p.line()[1] - value) <= tol)  # fmt: skip
        if not found:
            raise ProblemError(f"no straight part of the shape's boundary lies on {coord} = {value:g}")
        return found

    # --- sampling ---------------------------------------------------------------------------------

    def contains(self, points: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Whether each point (n, 2) lies in the closed shape, give or take ``tol`` times its size."""
        points = np.asarray(points, float)
        inside = self.node.inside(points)
        if tol > 0 and not inside.all():
            near = self.distance_to_boundary(points[~inside]) <= tol * self.size
            inside[np.flatnonzero(~inside)[near]] = True
        return inside

    def interior(self, n: int, method: str, seed: int) -> np.ndarray:
        """``n`` points strictly inside the shape: low-discrepancy points of the bounding box kept
        where the shape contains them (at least a rounding's distance from the boundary, so
        derivatives of the distance function stay finite)."""
        width = self.hi - self.lo
        fraction = self.area / float(np.prod(width))
        count = max(64, int(1.15 * n / fraction) + 64)
        while True:
            u = unit_points(count, 2, method, seed)
            points = self.lo + u * width
            keep = self.node.inside(points) & self._clear(points)
            if keep.sum() >= n:
                return points[keep][:n]
            count *= 2

    def _clear(self, points: np.ndarray) -> np.ndarray:
        """Points not within rounding of the boundary (a box sampler can put a point on a corner)."""
        lo, hi = self.lo, self.hi
        margin = 1e-12 * self.size
        on_box = (np.abs(points - lo) < margin).any(axis=1) | (np.abs(points - hi) < margin).any(axis=1)
        out = ~on_box
        if on_box.any():
            out[on_box] = self.distance_to_boundary(points[on_box]) > margin
        return out

    def boundary(self, n: int, method: str, seed: int, pieces=None) -> tuple[np.ndarray, np.ndarray]:
        """About ``n`` points of the boundary pieces ``pieces`` (default: all), shared by length,
        with the shape's outward normals."""
        chosen = [self.pieces[i] for i in (range(len(self.pieces)) if pieces is None else pieces)]
        lengths = np.array([p.length for p in chosen])
        counts = _shares(n, lengths)
        u = unit_points(int(counts.sum()), 1, method, seed)[:, 0]
        points, normals, k = [], [], 0
        for piece, c in zip(chosen, counts):
            if c == 0:  # fewer points than pieces: the shortest go without
                continue
            # each piece takes a stretch of one sequence, rescaled: low discrepancy on every piece
            frac = np.sort(u[k : k + c]) if method == "uniform" else (np.arange(c) + u[k]) / c % 1.0
            p, nrm = piece.sample(frac)
            points.append(p)
            normals.append(nrm)
            k += c
        return np.concatenate(points), np.concatenate(normals)

    def distance_to_boundary(self, points: np.ndarray) -> np.ndarray:
        """Distance (n,) from each point to the nearest boundary piece (nearest-point projection)."""
        best = np.full(len(points), np.inf)
        for piece in self.pieces:
            # the nearest parameter clipped to the piece, or one of its ends (a closed curve's
            # parameter wraps, so clipping alone can pick the farther end)
            s = np.clip(piece.curve.nearest(points), piece.s0, piece.s1)
            for candidate in (s, np.full(len(points), piece.s0), np.full(len(points), piece.s1)):
                p, _ = piece.curve.at(candidate)
                best = np.minimum(best, np.hypot(*(points - p).T))
        return best

    # --- distance functions -----------------------------------------------------------------------

    def distance(self, pieces) -> callable:
        """``phi(x)`` (JAX, x of shape (2,)): zero on the given pieces, positive inside the shape,
        gradient the inward unit normal on them — the R-equivalence ``1 / Σ 1/φ_i`` of the pieces'
        own distance functions, written as a ratio of products so it stays finite on the pieces."""
        chosen = [self.pieces[i] for i in pieces]

        def phi(x):
            each = [p.curve.distance(x, p.s0, p.s1) for p in chosen]
            # at a corner two φ_i vanish and the ratio is 0/0: φ is 0 there (the safe denominator
            # keeps the unused branch's derivatives finite)
            den = _sum_of_others(each)
            return jnp.where(den > 0, _product(each) / jnp.where(den > 0, den, 1.0), 0.0)

        return phi

    def blend(self, groups: list[tuple[tuple[int, ...], callable]]) -> callable:
        """``g(x)``: equal to each group's value function on its pieces (transfinite interpolation
        by inverse-distance weights), for value conditions that differ between parts."""
        if len(groups) == 1:
            return groups[0][1]

        def g(x):
            per_piece = [(self.pieces[i].curve.distance(x, self.pieces[i].s0, self.pieces[i].s1), k)
                         for k, (ids, _) in enumerate(groups) for i in ids]  # fmt: skip
            each = [d for d, _ in per_piece]
            others = [_product(each[:j] + each[j + 1 :]) for j in range(len(each))]
            total = sum(others)
            values = [value(x) for _, value in groups]
            blended = sum(o * values[k] for o, (_, k) in zip(others, per_piece)) / jnp.where(total > 0, total, 1.0)
            # at a corner between parts (every weight 0): the parts' mean, as good as any there
            return jnp.where(total > 0, blended, sum(values) / len(values))

        return g

    def singular_functions(self, pieces) -> list:
        """``s(x)`` (JAX, x of shape (2,)) for each re-entrant corner where two straight pieces of
        ``pieces`` meet: the corner's singular solution of Laplace's equation that vanishes on both,
        ``r^a sin(a θ)`` with ``a = π/ω`` (ω the interior angle, θ from one edge), times a smooth
        cutoff ``(1 - r²/R²)³`` that vanishes before any other piece of the boundary. Near such a
        corner solutions behave like ``r^a`` (``r^(2/3)`` in an L-shape), which ``φ·N`` with a smooth
        network cannot follow; adding ``s·M`` (M another network output) to the trial function
        can, and keeps its values on the boundary exact."""
        chosen = set(pieces)
        out = []
        for corner, (a, b) in self._straight_corners():
            if a in chosen and b in chosen:
                out.append(self._singular(corner, a, b))
        return out

    def _straight_corners(self) -> list:
        """(point, (piece, piece)) of each re-entrant corner where two straight pieces meet."""
        ends = []
        for i, piece in enumerate(self.pieces):
            if isinstance(piece.curve, Line):
                points, _ = piece.sample(np.array([0.0, 1.0]))
                reentrant = self._reentrant(piece)
                ends += [(points[k], i) for k in (0, 1) if reentrant[k]]
        found, tol = [], 1e-9 * self.size
        for k, (point, i) in enumerate(ends):
            for point2, j in ends[k + 1 :]:
                if j != i and np.hypot(*(point - point2)) <= tol:
                    found.append((point, (i, j)))
        return found

    def _singular(self, corner: np.ndarray, a: int, b: int):
        directions = []
        for i in (a, b):  # unit vectors from the corner along each edge
            ends, _ = self.pieces[i].sample(np.array([0.0, 1.0]))
            far = ends[1] if np.hypot(*(ends[0] - corner)) < np.hypot(*(ends[1] - corner)) else ends[0]
            directions.append((far - corner) / np.hypot(*(far - corner)))
        angles = [math.atan2(d[1], d[0]) for d in directions]
        sweep = (angles[1] - angles[0]) % (2 * math.pi)  # counter-clockwise from edge a to edge b
        middle = angles[0] + sweep / 2
        probe = corner + 1e-6 * self.size * np.array([math.cos(middle), math.sin(middle)])
        omega = sweep if self.node.inside(probe[None])[0] else 2 * math.pi - sweep
        if omega == 2 * math.pi - sweep:  # the domain's sector is the other way round
            middle += math.pi
        exponent = math.pi / omega
        others = [p for k, p in enumerate(self.pieces) if k not in (a, b)]
        points = np.concatenate([p.sample(np.linspace(0, 1, 257))[0] for p in others]) if others else None
        reach = 0.9 * float(np.min(np.hypot(*(points - corner).T))) if points is not None else self.size
        cx, cy = float(corner[0]), float(corner[1])
        mx, my = math.cos(middle), math.sin(middle)

        def singular(x):
            dx, dy = x[0] - cx, x[1] - cy
            r2 = dx**2 + dy**2
            # the angle from the sector's bisector: its branch cut lies outside the domain's sector
            theta = jnp.arctan2(mx * dy - my * dx, mx * dx + my * dy) + omega / 2
            cutoff = jnp.where(r2 < reach**2, (1 - r2 / reach**2) ** 3, 0.0)
            return cutoff * jnp.exp(exponent / 2 * jnp.log(r2)) * jnp.sin(exponent * theta)

        return singular

    # --- meshing ----------------------------------------------------------------------------------

    def outline(self, h: float) -> Outline:
        """The boundary as straight segments of length about ``h`` between points on the curves,
        one marker per piece (``parts[k]`` is piece k's label). Towards a re-entrant corner the
        segments halve in length down to ``h / 2**GRADING``: solutions are singular there, and a
        quality mesher grades the interior from these boundary points."""
        if not h > 0:
            raise ProblemError(f"the mesh size must be positive, got {h}")
        vertices, segments, markers = [], [], []
        for k, piece in enumerate(self.pieces):
            # a small curve (a hole, a cylinder) gets segments in proportion to its radius, so
            # the mesh resolves the steep fields around it
            local = h if isinstance(piece.curve, Line) else h * min(1.0, CURVED * min(piece.curve.radii) / self.size)
            count = max(2 if isinstance(piece.curve, Line) else 8, math.ceil(piece.length / local))
            fractions = np.linspace(0.0, 1.0, count + 1)
            steps = h * 0.5 ** np.arange(1, GRADING + 1) / piece.length
            for end, reentrant in zip((0.0, 1.0), self._reentrant(piece)):
                if reentrant:
                    near = steps[steps < 0.5 / count] if count > 1 else steps[steps < 0.5]
                    fractions = np.union1d(fractions, np.abs(end - near))
            count = len(fractions) - 1
            points, _ = piece.sample(fractions)
            start = len(vertices)
            vertices.extend(points)
            segments.extend((start + i, start + i + 1) for i in range(count))
            markers.extend([k] * count)
        vertices, segments, kept = _merge(np.asarray(vertices), np.asarray(segments), 1e-9 * self.size)
        return Outline(vertices, segments[kept], np.asarray(markers)[kept], tuple(self.labels()), self.contains,
                       self.project)

    def _reentrant(self, piece: Piece) -> tuple[bool, bool]:
        """Whether each end of ``piece`` is a re-entrant corner: more than half of a small circle
        around it lies in the shape (an interior angle above 180 degrees)."""
        radius = 1e-6 * self.size
        angles = np.linspace(0.0, 2 * math.pi, 72, endpoint=False)
        ring = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        ends, _ = piece.sample(np.array([0.0, 1.0]))
        return tuple(bool(np.mean(self.node.inside(end + ring)) > 0.52) for end in ends)

    def labels(self) -> list[str]:
        """One label per piece: its primitive's name, numbered where a primitive has several."""
        out = []
        for p in self.pieces:
            line = p.line()
            where = f" ({'xy'[line[0]]} = {line[1]:g})" if line is not None else ""
            out.append(p.name + where)
        return out

    def project(self, points: np.ndarray, pieces: np.ndarray) -> np.ndarray:
        """Points moved onto the curves of the given pieces (one piece index per point)."""
        out = np.array(points, float)
        for k in np.unique(pieces):
            rows = pieces == k
            piece = self.pieces[int(k)]
            s = np.clip(piece.curve.nearest(out[rows]), piece.s0, piece.s1)
            out[rows] = piece.curve.at(s)[0]
        return out

    def __repr__(self) -> str:
        return f"Shape({self.text!r})"


def _shares(n: int, weights: np.ndarray) -> np.ndarray:
    """``n`` split in proportion to ``weights``, summing to exactly ``n`` (largest remainders), so a
    shape's boundary points pair one to one with the points of another factor (time)."""
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact)[: n - counts.sum()]] += 1
    return counts


def _product(values):
    out = values[0]
    for v in values[1:]:
        out = out * v
    return out


def _sum_of_others(values):
    if len(values) == 1:
        return jnp.ones_like(values[0])
    return sum(_product(values[:j] + values[j + 1 :]) for j in range(len(values)))


def _name_primitives(primitives: list[Primitive]) -> None:
    """Unnamed primitives are called by their kind (``disk``), numbered if the kind repeats
    (``disk1``, ``disk2``); a name given twice is refused."""
    given = [p.name for p in primitives if p.name]
    for name in given:
        if given.count(name) > 1:
            raise ProblemError(f"two parts of the shape are both named {name!r}")
    kinds = [p.kind for p in primitives if not p.name]
    seen: dict[str, int] = {}
    for p in primitives:
        if p.name:
            continue
        seen[p.kind] = seen.get(p.kind, 0) + 1
        name = p.kind if kinds.count(p.kind) == 1 else f"{p.kind}{seen[p.kind]}"
        if name in given:
            raise ProblemError(f"the name {name!r} is given to a part and is also the automatic name of "
                               f"an unnamed {p.kind}; choose another name")  # fmt: skip
        p.name = name


def _merge(vertices: np.ndarray, segments: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join vertices closer than ``tol`` (the shared ends of neighbouring pieces, found on each
    curve separately and so equal only to rounding); also returns which segments still have two ends."""
    from scipy.spatial import cKDTree

    parent = np.arange(len(vertices))
    for a, b in sorted(cKDTree(vertices).query_pairs(tol)):
        ra, rb = _root(parent, a), _root(parent, b)
        parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([_root(parent, i) for i in range(len(vertices))])
    kept, inverse = np.unique(roots, return_inverse=True)
    segments = inverse[segments]
    return vertices[kept], segments, segments[:, 0] != segments[:, 1]


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return int(i)
