"""The finite-element reference of a steady linear elliptic problem in two space dimensions.

Works on any plane domain: a rectangle, a disk or a shape (:class:`~neuralsolve.problem.domain.Shape2D`);
on such a domain times an interval in ``t``, :func:`plane_reference` hands the problem to
:func:`.plane_evolution.plane_evolution_reference` (finite elements in space, implicit steps in time).
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
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from ..problem.conditions import Condition, Dirichlet, Neumann, Robin
from ..problem.domain import TIME, Domain, Plane, Round, Segment
from ..problem.parse import parse_equation, parse_expression
from .fem import LAMBDIFY_MODULES as MODULES
from .result import Reference


def plane_reference(problem) -> Reference | None:
    """A finite-element solution of the steady ``problem`` with its own error estimate, or None
    where the problem is not a linear elliptic one with a condition on every boundary piece, or
    the finite-element packages are not installed (``pip install 'neuralsolve[fem]'``). Problems
    in time on a plane domain: :func:`.plane_evolution.plane_evolution_reference`."""
    from . import fem

    domain = problem.domain
    if domain.has_time:
        return None
    shape = plane_shape(domain)
    if shape is None or not fem_installed() or len(problem.fields) != 1 or len(problem.equations) != 1:
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


def fem_installed() -> bool:
    """Whether scikit-fem and Triangle can be imported; if not, a RuntimeWarning says so."""
    import importlib.util

    missing = [m for m in ("skfem", "triangle") if importlib.util.find_spec(m) is None]
    if missing:
        _decline(f"{missing[0]} is not installed (pip install 'neuralsolve[fem]')")
    return not missing


def space_and_time(domain):
    """``(shape, time segment)`` of a plane domain times an interval in ``t`` (the shape as
    :func:`plane_shape` makes it), or None for any other domain."""
    times = [f for f in domain.factors if isinstance(f, Segment) and f.coord == TIME]
    if len(times) != 1:
        return None
    shape = plane_shape(Domain([f for f in domain.factors if f is not times[0]]))
    return None if shape is None else (shape, times[0])


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


def _conditions(problem, shape, conditions=None) -> dict | None:
    """Piece index -> the finite-element condition there; None (with a warning) if a condition
    cannot be read as one, or a piece has none.

    ``conditions``: ``(number, condition)`` pairs to read (default: all of the problem's). In a
    problem in time the data ``g`` of each condition are functions of (x, y, t), its Robin
    coefficients functions of (x, y): a condition whose coefficients vary in time is declined.
    """
    out = {}
    if conditions is None:
        conditions = enumerate(problem.arguments["conditions"], 1)
    for number, cond in conditions:
        what = f"condition {number}"
        kind = _kind(problem, cond, what)
        if kind is None:
            timed = " (with coefficients constant in time)" if problem.domain.has_time else ""
            return _decline(f"{what} is not a value, flux or Robin condition{timed} the finite-element reference "
                            "can impose")  # fmt: skip
        pieces = _pieces(problem, shape, cond.on, what)
        if pieces is None:
            return _decline(f"{what} is not on the spatial boundary")
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


def _pieces(problem, shape, on, what: str) -> tuple[int, ...] | None:
    """The shape's boundary pieces a condition's ``on`` covers; None for a place off the spatial
    boundary (a face ``t = ...``)."""
    where = problem.region_of(on, what)
    if where == "boundary":
        return tuple(range(len(shape.pieces)))
    if isinstance(where, str):
        return shape.part(where)
    coord, value = where
    space = _arguments(problem)[:2]
    if coord not in space:
        return None
    return shape.on_line(space.index(coord), value, coord)


def _arguments(problem) -> tuple[str, ...]:
    """The coordinates the conditions' NumPy functions take, in order: the two of the plane, then
    the time if the domain has one."""
    coords = problem.domain.coords
    return tuple(c for c in coords if c != TIME) + ((TIME,) if TIME in coords else ())


def _kind(problem, cond, what: str):
    """``("value", g)``, ``("flux", g)``, ``("robin", a, b, g)`` with NumPy functions of (x, y)
    (``g`` of (x, y, t) in a problem in time), a :class:`_General` for an equation to be checked
    against the normals, or None."""
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
    symbols = tuple(problem._ns.coord_symbols[c] for c in _arguments(problem))
    return _linear(expr, problem._ns.field_function(problem.fields[0]), symbols)


class _General:
    """``a·u + bx·u_x + by·u_y = g`` from a condition's equation: a Robin condition where
    (bx, by) is parallel to the normal of every piece it covers. ``a``, ``bx``, ``by`` are
    expressions in the plane's two ``symbols``, ``g`` in all of them (the time too)."""

    def __init__(self, a, bx, by, g, symbols):
        self.parts = [sp.lambdify(symbols[:2], e, MODULES) for e in (a, bx, by)] + [sp.lambdify(symbols, g, MODULES)]

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
    of that form (nonlinear in u, higher derivatives, other functions, derivative coefficients
    that vary in time); ``u`` is the field applied to the coordinates, ``symbols`` the plane's
    (x, y) and then the time, if any (g may vary in time)."""
    x, y = symbols[:2]
    names = sp.symbols("_u _ux _uy")
    replaced = expr.subs({sp.Derivative(u, x): names[1], sp.Derivative(u, y): names[2]}).subs(u, names[0])
    if replaced.atoms(sp.Derivative) or any(isinstance(f, sp.core.function.AppliedUndef) for f in replaced.atoms(sp.Function)):
        return None
    coefficients = [sp.diff(replaced, n) for n in names]
    if any(c.free_symbols & set(names) for c in coefficients):
        return None  # nonlinear
    rest = replaced.xreplace(dict.fromkeys(names, sp.S.Zero))  # affine in the names: exactly the rest
    if rest.free_symbols - set(symbols):
        return None
    a, bx, by = coefficients
    if bx == 0 and by == 0:
        if a == 0:
            return None
        return ("value", _vectorised(sp.lambdify(symbols, -rest / a, MODULES)))
    if any(c.free_symbols - {x, y} for c in coefficients):
        return None  # a Robin condition whose coefficients vary in time: not assembled once
    return _General(a, bx, by, -rest, symbols)


def _numpy(problem, value, what: str):
    """A condition's value (number or expression string) as a NumPy function of (x, y), or of
    (x, y, t) in a problem in time."""
    from .conditions import values_at

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return lambda *args: np.full(np.shape(args[0]), number)
    fast = _lambdified(problem, value, what) if isinstance(value, str) else None
    if fast is not None:
        return fast
    fn = problem._value(value, what)
    coords = problem.domain.coords
    order = [_arguments(problem).index(c) for c in coords]

    def g(*args):
        columns = [np.broadcast_to(np.asarray(a, float), np.shape(args[0])).ravel() for a in args]
        points = np.stack([columns[i] for i in order], axis=1)
        return values_at(fn, coords, points, what).reshape(np.shape(args[0]))

    return g


def _lambdified(problem, text: str, what: str):
    """An expression of the coordinates as a NumPy function (of :func:`_arguments`), or None where
    it holds anything else; cheaper to call than JAX, for the many calls of a time-stepping solve."""
    expr = parse_expression(text, problem._ns, what)
    symbols = [problem._ns.coord_symbols[c] for c in _arguments(problem)]
    if expr.atoms(sp.Derivative) or expr.atoms(AppliedUndef) or expr.free_symbols - set(symbols):
        return None
    try:
        # an expression from our own parser's SymPy tree, never text: lambdify is safe here
        return _vectorised(sp.lambdify(symbols, expr, MODULES))
    except Exception:  # a function NumPy has no counterpart for: JAX evaluates it
        return None


def _vectorised(fn):
    """A lambdified function that returns arrays of the points' shape even when it is constant."""
    return lambda x, *rest: np.broadcast_to(np.asarray(fn(x, *rest), float), np.shape(x)).copy()
