"""The finite-element reference of a steady linear elliptic problem in two space dimensions.

Works on any plane domain: a rectangle, a disk or a shape (:class:`~neuralsolve.problem.domain.Shape2D`).
The problem's equation is read as a second-order linear operator (:func:`.fem.elliptic_form`); each
condition becomes a value, flux or Robin condition on the boundary pieces it covers, read from its
equation where it is written as one (``"(x - 1)/r*diff(u, x) + ... = 0"`` is a flux condition when
its derivative coefficients are parallel to the boundary's normal). Every piece of the boundary must
carry a condition: a finite-element solve would treat a bare piece as insulated, the network as free,
and a reference of a different problem is no reference.
"""

from __future__ import annotations

import warnings

import numpy as np
import sympy as sp

from .._errors import ProblemError
from ..problem.conditions import Condition, Dirichlet, Neumann, Robin
from ..problem.domain import Plane, Round, Segment
from ..problem.parse import parse_equation
from .result import Reference


def plane_reference(problem) -> Reference | None:
    """A finite-element solution of ``problem`` with its own error estimate, or None where the
    problem is not a steady linear elliptic one with a condition on every boundary piece (or
    the finite-element packages are not installed: ``pip install 'neuralsolve[fem]'``)."""
    import importlib.util

    from . import fem

    missing = [m for m in ("skfem", "triangle") if importlib.util.find_spec(m) is None]
    if missing:
        return _decline(f"{missing[0]} is not installed (pip install 'neuralsolve[fem]')")

    domain = problem.domain
    shape = plane_shape(domain)
    if shape is None or len(problem.fields) != 1 or len(problem.equations) != 1:
        return None
    expr = problem.equations[0].expr
    if expr is None or problem.inverse or problem.periodic or problem.eigen is not None:
        return None
    form = fem.elliptic_form(expr, problem.fields[0], domain.coords)
    if form is None:
        return None
    conditions = _conditions(problem, shape)
    if conditions is None:
        return None
    solved = fem.fem_solution(shape.outline, form, conditions)
    if solved is None:
        return None
    values, estimate, description = solved
    return Reference(description, problem.fields, domain, lambda pts: values(pts)[:, None], error_estimate=estimate)


def plane_shape(domain):
    """The geometry :class:`~neuralsolve.geometry.Shape` of a plane domain (rectangle, disk or
    shape), or None for any other domain."""
    from ..geometry import Disk, Rectangle, Shape

    factors = domain.factors
    if len(factors) == 1 and isinstance(factors[0], Plane):
        return factors[0].shape
    if len(factors) == 1 and isinstance(factors[0], Round):
        (cx, cy), r = factors[0].center, factors[0].radius
        return Shape(Disk(cx, cy, r))
    if len(factors) == 2 and all(isinstance(f, Segment) for f in factors):
        (a, b), (c, d) = ((f.lo, f.hi) for f in factors)
        return Shape(Rectangle(a, c, b, d))
    return None


def _conditions(problem, shape) -> dict | None:
    """Piece index -> the finite-element condition there; None (with a warning) if a condition
    cannot be read as one, or a piece has none."""
    out = {}
    for number, cond in enumerate(problem.arguments["conditions"], 1):
        what = f"condition {number}"
        kind = _kind(problem, cond, what)
        if kind is None:
            return _decline(f"{what} is not a value, flux or Robin condition the finite-element reference can impose")
        pieces = _pieces(problem, shape, cond.on, what)
        if isinstance(kind, _General):
            kind = kind.on(shape, pieces)
            if kind is None:
                return _decline(f"{what}: its derivative is not along the boundary's normal")
        for i in pieces:
            if i in out:
                return _decline(f"{what}: a piece of the boundary has two conditions")
            out[i] = kind
    bare = set(range(len(shape.pieces))) - set(out)
    if bare:
        label = shape.labels()[min(bare)]
        return _decline(f"the boundary part {label!r} has no condition")
    return out


def _decline(why: str) -> None:
    warnings.warn(f"no finite-element reference: {why}", RuntimeWarning, stacklevel=3)
    return None


def _pieces(problem, shape, on, what: str) -> tuple[int, ...]:
    where = problem.region_of(on, what)
    if where == "boundary":
        return tuple(range(len(shape.pieces)))
    if isinstance(where, str):
        return shape.part(where)
    coord, value = where
    return shape.on_line(problem.domain.coords.index(coord), value, coord)


def _kind(problem, cond, what: str):
    """``("value", g)``, ``("flux", g)``, ``("robin", a, b, g)`` with NumPy functions of (x, y), a
    :class:`_General` for an equation to be checked against the normals, or None."""
    coords = problem.domain.coords
    if isinstance(cond, (Dirichlet, Neumann, Robin)) and type(cond) in (Dirichlet, Neumann, Robin):
        if callable(cond.value) and not isinstance(cond.value, str):
            return None  # a Python function: not evaluable outside JAX's tracing here
        g = _numpy(problem, cond.value, what)
        if isinstance(cond, Dirichlet):
            return ("value", g)
        return ("flux", g) if isinstance(cond, Neumann) else ("robin", cond.a, cond.b, g)
    if type(cond) is not Condition or not isinstance(cond.equation, str):
        return None
    expr = parse_equation(cond.equation, problem._ns, what)
    return _linear(expr, problem._ns.field_function(problem.fields[0]), tuple(problem._ns.coord_symbols.values()))


class _General:
    """``a·u + bx·u_x + by·u_y = g`` from a condition's equation: a Robin condition where
    (bx, by) is parallel to the normal of every piece it covers."""

    def __init__(self, a, bx, by, g, symbols):
        self.parts = [sp.lambdify(symbols, e, "numpy") for e in (a, bx, by, g)]

    def on(self, shape, pieces):
        a, bx, by, g = (_vectorised(f) for f in self.parts)
        for i in pieces:
            points, normals = shape.pieces[i].sample(np.linspace(0.02, 0.98, 25))
            x, y = points.T
            cross = bx(x, y) * normals[:, 1] - by(x, y) * normals[:, 0]
            along = bx(x, y) * normals[:, 0] + by(x, y) * normals[:, 1]
            if np.any(np.abs(cross) > 1e-9 * (1 + np.abs(along))) or np.any(along == 0):
                return None

        def b(x, y):  # the coefficient of the normal derivative
            nx, ny = _normals_at(shape, pieces, x, y)
            return bx(x, y) * nx + by(x, y) * ny

        return ("robin", a, b, g)


def _normals_at(shape, pieces, x, y):
    """Outward normals at points on the given pieces (nearest piece)."""
    points = np.stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()], axis=1)
    best, normals = np.full(len(points), np.inf), np.zeros_like(points)
    for i in pieces:
        piece = shape.pieces[i]
        s = np.clip(piece.curve.nearest(points), piece.s0, piece.s1)
        p, n = piece.curve.at(s)
        d = np.hypot(*(points - p).T)
        closer = d < best
        best[closer], normals[closer] = d[closer], piece.flip * n[closer]
    return normals[:, 0].reshape(np.shape(x)), normals[:, 1].reshape(np.shape(x))


def _linear(expr, u, symbols):
    """Split a condition's residual ``expr`` into a·u + bx·u_x + by·u_y - g, or None if it is not
    of that form (nonlinear in u, higher derivatives, other functions); ``u`` is the field applied
    to the coordinate ``symbols`` (x, y)."""
    x, y = symbols
    names = sp.symbols("_u _ux _uy")
    replaced = expr.subs({sp.Derivative(u, x): names[1], sp.Derivative(u, y): names[2]}).subs(u, names[0])
    if replaced.atoms(sp.Derivative) or any(isinstance(f, sp.core.function.AppliedUndef) for f in replaced.atoms(sp.Function)):
        return None
    coefficients = [sp.diff(replaced, n) for n in names]
    if any(c.free_symbols & set(names) for c in coefficients):
        return None  # nonlinear
    rest = sp.simplify(replaced - sum(c * n for c, n in zip(coefficients, names)))
    if rest.free_symbols - {x, y}:
        return None
    a, bx, by = coefficients
    if bx == 0 and by == 0:
        if a == 0:
            return None
        return ("value", _vectorised(sp.lambdify((x, y), -rest / a, "numpy")))
    return _General(a, bx, by, -rest, (x, y))


def _numpy(problem, value, what: str):
    """A condition's value (number or expression string) as a NumPy function of (x, y)."""
    from .conditions import values_at

    fn = problem._value(value, what)
    coords = problem.domain.coords

    def g(x, y):
        points = np.stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()], axis=1)
        return values_at(fn, coords, points, what).reshape(np.shape(x))

    return g


def _vectorised(fn):
    """A lambdified function that returns arrays of the points' shape even when it is constant."""
    return lambda x, y: np.broadcast_to(np.asarray(fn(x, y), float), np.shape(x)).copy()
