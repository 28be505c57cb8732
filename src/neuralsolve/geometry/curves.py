"""The boundary curves of primitive shapes: straight edges and ellipse (circle) outlines.

A curve is parametrised by ``s`` in [0, 1]; :meth:`Curve.at` gives points and the unit normals
pointing out of the primitive the curve bounds. Each curve also gives its approximate distance
function (:meth:`Curve.distance`): a smooth function that is zero on a stretch ``[s0, s1]`` of the
curve, positive off it, and whose gradient there is the unit normal (normalised to first order),
in JAX so the trial function of a network can use it (Sukumar & Srivastava, CMAME 2022).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np


class Curve:
    """A closed primitive's boundary curve (or one of its edges), parametrised by s in [0, 1]."""

    length: float

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (n, 2) and outward unit normals (n, 2) at parameters ``s`` (n,)."""
        raise NotImplementedError

    def by_length(self, fraction: np.ndarray, s0: float, s1: float) -> np.ndarray:
        """The parameters at ``fraction`` of the arc length of the stretch [s0, s1] (uniform sampling)."""
        return s0 + fraction * (s1 - s0)

    def stretch_length(self, s0: float, s1: float) -> float:
        return self.length * (s1 - s0)

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """The curve's parameter nearest to each point (n, 2) (for projecting points onto it)."""
        raise NotImplementedError

    def distance(self, x: jnp.ndarray, s0: float, s1: float) -> jnp.ndarray:
        """Approximate distance (first-order normalised) from a point x (2,) to the stretch [s0, s1]."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Line(Curve):
    """The straight edge from ``a`` to ``b``; the primitive lies on its left (counter-clockwise)."""

    a: tuple[float, float]
    b: tuple[float, float]

    @property
    def length(self) -> float:
        return math.hypot(self.b[0] - self.a[0], self.b[1] - self.a[1])

    def at(self, s):
        a, b = np.asarray(self.a), np.asarray(self.b)
        s = np.asarray(s, float)[:, None]
        d = (b - a) / self.length
        normal = np.array([d[1], -d[0]])  # right of the direction: outward for counter-clockwise
        return a + s * (b - a), np.broadcast_to(normal, (len(s), 2)).copy()

    def nearest(self, points):
        a, b = np.asarray(self.a), np.asarray(self.b)
        return np.clip((points - a) @ (b - a) / self.length**2, 0.0, 1.0)

    def axis_line(self) -> tuple[int, float] | None:
        """``(axis, value)`` if the edge lies on the line ``coord[axis] = value``, else None."""
        for axis in (0, 1):
            if self.a[axis] == self.b[axis]:
                return axis, float(self.a[axis])
        return None

    def distance(self, x, s0, s1):
        # Sukumar & Srivastava's trimmed segment: f is the signed distance to the line, t > 0 on the
        # disk whose diameter is the stretch; zero exactly on the stretch, smooth away from its ends
        a, b = np.asarray(self.a), np.asarray(self.b)
        p, q = a + s0 * (b - a), a + s1 * (b - a)
        length = float(np.hypot(*(q - p)))
        f = ((x[0] - p[0]) * (q[1] - p[1]) - (x[1] - p[1]) * (q[0] - p[0])) / length
        c = (p + q) / 2
        t = ((length / 2) ** 2 - (x[0] - c[0]) ** 2 - (x[1] - c[1]) ** 2) / length
        return _trimmed(f, t)


@dataclass(frozen=True, eq=False)
class EllipseCurve(Curve):
    """The axis-aligned ellipse with ``center`` and semi-axes ``radii``, counter-clockwise from angle 0."""

    center: tuple[float, float]
    radii: tuple[float, float]
    _table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # cumulative arc length over s (exact for a circle), for sampling uniform in length
        s = np.linspace(0.0, 1.0, 4097)
        a, b = self.radii
        speed = 2 * math.pi * np.hypot(a * np.sin(2 * math.pi * s), b * np.cos(2 * math.pi * s))
        cumulative = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2 * np.diff(s))])
        object.__setattr__(self, "_table", np.stack([s, cumulative]))

    @property
    def circle(self) -> bool:
        return self.radii[0] == self.radii[1]

    @property
    def length(self) -> float:
        return float(self._table[1, -1])

    def at(self, s):
        angle = 2 * math.pi * np.asarray(s, float)
        (cx, cy), (a, b) = self.center, self.radii
        points = np.stack([cx + a * np.cos(angle), cy + b * np.sin(angle)], axis=1)
        normals = np.stack([b * np.cos(angle), a * np.sin(angle)], axis=1)
        return points, normals / np.linalg.norm(normals, axis=1, keepdims=True)

    def _arc(self, s):
        return np.interp(s, self._table[0], self._table[1])

    def stretch_length(self, s0, s1):
        return float(self._arc(s1) - self._arc(s0))

    def by_length(self, fraction, s0, s1):
        if self.circle:
            return super().by_length(fraction, s0, s1)
        lo, hi = self._arc(s0), self._arc(s1)
        return np.interp(lo + fraction * (hi - lo), self._table[1], self._table[0])

    def nearest(self, points):
        # the angle of the point scaled to the unit circle: exact for a circle, close for an ellipse
        (cx, cy), (a, b) = self.center, self.radii
        return np.mod(np.arctan2((points[:, 1] - cy) / b, (points[:, 0] - cx) / a) / (2 * math.pi), 1.0)

    def implicit(self, x) -> jnp.ndarray:
        """Positive inside, zero on the curve, gradient the inward unit normal there."""
        (cx, cy), (a, b) = self.center, self.radii
        if self.circle:
            return (a**2 - (x[0] - cx) ** 2 - (x[1] - cy) ** 2) / (2 * a)
        g = 1.0 - ((x[0] - cx) / a) ** 2 - ((x[1] - cy) / b) ** 2
        grad2 = (2 * (x[0] - cx) / a**2) ** 2 + (2 * (x[1] - cy) / b**2) ** 2
        return g / jnp.sqrt(g**2 + grad2)  # first-order normalised, smooth through the centre

    def distance(self, x, s0, s1):
        f = self.implicit(x)
        if s1 - s0 >= 1.0 - 1e-15:  # the whole closed curve
            return jnp.abs(f)
        # trim by the chord of the stretch: t > 0 on the stretch's side of it, where the rest of
        # the ellipse is not (a chord splits an ellipse into two arcs on opposite sides)
        (p, q), _ = self.at(np.array([s0, s1]))
        mid, _ = self.at(np.array([(s0 + s1) / 2]))
        chord = q - p
        length = float(np.hypot(*chord))
        side = np.sign((mid[0, 0] - p[0]) * chord[1] - (mid[0, 1] - p[1]) * chord[0])
        t = side * ((x[0] - p[0]) * chord[1] - (x[1] - p[1]) * chord[0]) / length
        return _trimmed(f, t)


def _trimmed(f, t):
    """Zero where f = 0 and t >= 0, positive elsewhere; |f| to first order near that stretch."""
    phi = (jnp.sqrt(t**2 + f**4) - t) / 2
    return jnp.sqrt(f**2 + phi**2)
