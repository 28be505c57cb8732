"""The view of one point that equations and conditions are written against.

An equation is a function ``residual(p)`` of a :class:`Point`: ``p["x"]`` is a coordinate, ``p["u"]``
a field value, ``p.d("u", "x", 2)`` a derivative and ``p.dn("u")`` the outward normal derivative on a
boundary. Equations are first called with a *recording* point, which checks every name (raising
:class:`ProblemError` before anything compiles) and records which derivatives are needed; training
then computes exactly those derivatives once per point and calls the equations again.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._errors import ProblemError


class Point:
    """Coordinates, field values and derivatives at one point."""

    def __init__(self, coords, fields, x, values=None, normal=None, *, what="equation", unknowns=None):
        self._coords, self._fields = tuple(coords), tuple(fields)
        self.x, self._values, self._normal, self._what = x, values, normal, what
        self._unknowns = unknowns or {}  # scalar unknowns by name, e.g. an eigenvalue
        self.needed: set[tuple[int, ...]] = set()

    @property
    def recording(self) -> bool:
        return self._values is None

    def __getitem__(self, name: str):
        if name in self._coords:
            return self.x[self._coords.index(name)]
        if name in self._unknowns:
            return self._unknowns[name]
        return self._lookup(name, ())

    def d(self, field: str, *spec) -> jnp.ndarray:
        """Derivative of ``field``: ``d("u", "x")``, ``d("u", "x", 2)``, ``d("u", "x", "y")``."""
        if not spec:
            raise ProblemError(f"{self._what}: d({field!r}) needs at least one coordinate")
        return self._lookup(field, self._directions(spec))

    def dn(self, field: str) -> jnp.ndarray:
        """Outward normal derivative of ``field`` (defined on boundary points only)."""
        if self._normal is None and not self.recording:
            raise ProblemError(f"{self._what}: a normal derivative is defined only on the boundary")
        grads = [self._lookup(field, (i,)) for i in range(len(self._coords))]
        if self.recording:
            return grads[0]
        return sum(g * self._normal[i] for i, g in enumerate(grads))

    def _directions(self, spec) -> tuple[int, ...]:
        dirs = []
        for item in spec:
            if isinstance(item, int) and not isinstance(item, bool):
                if not dirs or item < 1:
                    raise ProblemError(f"{self._what}: a derivative order must follow a coordinate and be >= 1")
                dirs += [dirs[-1]] * (item - 1)
            elif item in self._coords:
                dirs.append(self._coords.index(item))
            else:
                raise ProblemError(
                    f"{self._what}: derivative with respect to {item!r}, which is not a coordinate of the "
                    f"domain (coordinates: {', '.join(self._coords)})"
                )
        return tuple(sorted(dirs))

    def _lookup(self, name: str, dirs: tuple[int, ...]):
        if name not in self._fields:
            raise ProblemError(
                f"{self._what}: unknown field or coordinate {name!r} "
                f"(fields: {', '.join(self._fields)}; coordinates: {', '.join(self._coords)})"
            )
        if self.recording:
            self.needed.add(dirs)
            return jnp.zeros(())
        return self._values[dirs][self._fields.index(name)]


def value_at(value, coords, x: jnp.ndarray, unknowns: dict | None = None) -> jnp.ndarray:
    """A value function of a point (a condition's value, an exact solution) at coordinates ``x``.

    The point carries coordinates (and any scalar ``unknowns``, such as a state index) only;
    ``+ 0 * x[0]`` turns a constant into an array like the others, so the result can be vmapped
    and stacked.
    """
    return value(Point(coords, (), x, values={}, unknowns=unknowns)) + 0 * x[0]
