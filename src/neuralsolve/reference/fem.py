"""Finite elements for 2-D steady linear elliptic equations on any plane shape.

A residual ``L u - f = 0`` with ``L u = a_xx u_xx + a_xy u_xy + a_yy u_yy + b_x u_x + b_y u_y + c u``
(coefficients may vary in x and y) is brought to the weak form of ``div(A grad u) + (b - div A)·grad u
+ c u = f``, with ``A`` the symmetrised matrix of the second-order coefficients. The shape's
:class:`~neuralsolve.geometry.outline.Outline` is meshed by Triangle (a constrained, quality Delaunay
triangulation that keeps each boundary edge's part), the equation is solved with P2 (or P1) Lagrange
elements by scikit-fem and a sparse direct factorisation, and :func:`fem_solution` solves twice, at
``h`` and ``h/2``, so that the difference of the two estimates the error of the finer one.

Boundary conditions per boundary part: ``("value", g)``, ``("flux", g)`` (outward normal derivative),
``("robin", a, b, g)`` (``a u + b du/dn = g``); a part without an entry is insulated (zero flux).
With P2 the mid-edge nodes of boundary edges are moved onto the curve (``Outline.project``) and the
elements there are isoparametric, so a circle is followed to third order, not by its chords.

SciPy, scikit-fem and Triangle are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from ..geometry.outline import Outline

# the coefficients of EllipticForm, in this order: u_xx, u_xy, u_yy, u_x, u_y, u
TERMS = ("uxx", "uxy", "uyy", "ux", "uy", "u")
# (x-order, y-order) of each term's derivative
_ORDERS = {"uxx": (2, 0), "uxy": (1, 1), "uyy": (0, 2), "ux": (1, 0), "uy": (0, 1), "u": (0, 0)}
# Triangle gives boundary segments whose marker is 0 the marker 1: part k travels as k + 2
_MARKER_SHIFT = 2
# the finest solve of fem_solution by default: about this many triangles (P2, ~40 000 dofs: about
# 1.5 s on one core, most of it SuperLU's factorisation)
_DEFAULT_TRIANGLES = 20_000
# mean triangle area of Triangle's 'q30a' meshes over the area bound (measured: 0.63 on a square)
_FILL = 0.63
# default sample points of the error estimate (fine-mesh element centroids)
_DEFAULT_SAMPLES = 4000


@dataclass(frozen=True)
class EllipticForm:
    """A linear second-order equation ``L u = source`` in two coordinates, in non-divergence form.

    ``L u = uxx·u_xx + uxy·u_xy + uyy·u_yy + ux·u_x + uy·u_y + u·u``; every coefficient and the
    source is a SymPy expression in the coordinate symbols (``Symbol(name, real=True)``), possibly
    a constant.
    """

    field: str
    coords: tuple[str, str]
    uxx: sp.Expr
    uxy: sp.Expr
    uyy: sp.Expr
    ux: sp.Expr
    uy: sp.Expr
    u: sp.Expr
    source: sp.Expr

    @property
    def symbols(self) -> tuple[sp.Symbol, sp.Symbol]:
        """The coordinate symbols the coefficients are written in."""
        return tuple(sp.Symbol(c, real=True) for c in self.coords)

    def diffusion(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """``(A_xx, A_xy, A_yy)`` of the symmetric matrix with ``Σ a_ij u_ij = A : Hess u``."""
        # u_xy = u_yx: the mixed coefficient is shared equally by both off-diagonal entries
        return self.uxx, self.uxy / 2, self.uyy

    def drift(self) -> tuple[sp.Expr, sp.Expr]:
        """``b - div A``: the first-order coefficients once ``A : Hess u`` is ``div(A grad u) - (div A)·grad u``."""
        x, y = self.symbols
        axx, axy, ayy = self.diffusion()
        return self.ux - sp.diff(axx, x) - sp.diff(axy, y), self.uy - sp.diff(axy, x) - sp.diff(ayy, y)


def elliptic_form(expr, field: str, coords: tuple[str, str]) -> EllipticForm | None:
    """The :class:`EllipticForm` of the residual ``expr`` (SymPy; the equation as ``residual = 0``).

    The field appears as the applied function ``field(x, y)`` and its derivatives. None where the
    residual is not linear in the field and its derivatives, has a derivative above second order,
    holds another field, an unknown symbol or the field at other arguments, or has no second-order
    term at all. Whether the second-order part is elliptic (definite) is checked by the solver on
    the mesh, not here.
    """
    x, y = (sp.Symbol(c, real=True) for c in coords)
    expr = sp.sympify(expr)
    # one symbol per coordinate name, whatever assumptions the caller's symbols carry
    expr = expr.xreplace({s: {coords[0]: x, coords[1]: y}[s.name] for s in expr.free_symbols
                          if isinstance(s, sp.Symbol) and s.name in coords})  # fmt: skip
    expr = expr.doit()
    if not expr.free_symbols <= {x, y}:
        return None
    u = sp.Function(field)(x, y)
    placeholders = {name: sp.Dummy(name) for name in TERMS}
    swap = _derivative_symbols(expr, u, x, y, placeholders)
    if swap is None:
        return None
    plain = expr.xreplace(swap)
    if plain.atoms(AppliedUndef) or plain.atoms(sp.Derivative):
        return None
    dummies = set(placeholders.values())
    coeffs = {}
    for name, s in placeholders.items():
        # linear: every coefficient is free of the field (u·u_x gives u_x's coefficient u)
        coeff = sp.expand(sp.diff(plain, s))
        if coeff.free_symbols & dummies:
            return None
        coeffs[name] = coeff
    if all(coeffs[n] == 0 for n in ("uxx", "uxy", "uyy")):
        return None  # first order or algebraic: not elliptic
    source = -plain.xreplace({s: 0 for s in dummies})  # residual = L u - source
    return EllipticForm(field, tuple(coords), **coeffs, source=source)


def _derivative_symbols(expr, u, x, y, placeholders) -> dict | None:
    """Map the field and each of its derivatives in ``expr`` to its placeholder; None if any is not allowed."""
    swap = {u: placeholders["u"]}
    for f in expr.atoms(AppliedUndef):
        if f != u:
            return None  # another field, or the field at other arguments (u(0, y))
    for d in expr.atoms(sp.Derivative):
        if d.expr != u:
            return None
        counts = dict(d.variable_count)
        order = (int(counts.pop(x, 0)), int(counts.pop(y, 0)))
        if counts or sum(order) > 2:
            return None
        swap[d] = placeholders[next(n for n, o in _ORDERS.items() if o == order)]
    return swap


# ----------------------------------------------------------------------------------------------
# meshing


@dataclass(frozen=True)
class _Mesh:
    """A triangulation of the shape: vertices (n, 2), triangles (m, 3) and the part of each boundary edge."""

    points: np.ndarray
    triangles: np.ndarray
    edge_parts: dict  # (i, j) with i < j -> part index


def _no_area(outline: Outline) -> ProblemError:
    return ProblemError(f"the outline with parts {', '.join(outline.parts) or '(none)'} encloses no area: no triangle "
                        "of its triangulation has its centroid inside the shape (check the vertex loops and contains)")  # fmt: skip


def triangulate(outline: Outline, h: float) -> _Mesh:
    """A quality triangulation of ``outline`` with edges about ``h`` long (Triangle, 'pq30a').

    Triangles whose centroid ``outline.contains`` rejects are dropped; vertices Triangle inserts on
    boundary segments are moved onto their part's curve by ``outline.project``. Raises
    :class:`ProblemError` when no triangle is left.
    """
    import triangle

    vertices = np.asarray(outline.vertices, float)
    segments = np.asarray(outline.segments, np.int32).reshape(-1, 2)
    markers = np.asarray(outline.markers, np.int32).reshape(-1)
    if len(vertices) < 3 or len(segments) < 3 or not np.isfinite(vertices).all():
        raise _no_area(outline)
    pslg = {"vertices": vertices, "segments": segments, "segment_markers": markers[:, None] + _MARKER_SHIFT}
    # first a bare triangulation: the centroids the shape rejects seed Triangle's holes, so the
    # quality pass does not fill holes and the outside of re-entrant corners with small triangles
    coarse = triangle.triangulate(pslg, "p")
    if "triangles" not in coarse:
        raise _no_area(outline)
    centroids = coarse["vertices"][coarse["triangles"]].mean(axis=1)
    outside = ~np.asarray(outline.contains(centroids), bool)
    if outside.all():
        raise _no_area(outline)
    # no exponent notation in Triangle's switches: a fixed-point area with enough digits
    switches = f"pq30a{h * h * np.sqrt(3) / 4:.20f}"
    if not outside.any():
        return _keep_inside(outline, triangle.triangulate(pslg, switches), len(vertices))
    mesh = _keep_inside(outline, triangle.triangulate({**pslg, "holes": centroids[outside]}, switches), len(vertices))
    # a seed in a region the segments do not close off from the shape (contains and the loops
    # disagree) would eat part of the shape: then mesh without seeds and let contains sort it out
    if _area(mesh.points, mesh.triangles) < (1 - 1e-3) * _area(coarse["vertices"], coarse["triangles"][~outside]):
        mesh = _keep_inside(outline, triangle.triangulate(pslg, switches), len(vertices))
    return mesh


def _area(points: np.ndarray, triangles: np.ndarray) -> float:
    corners = points[triangles]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return float(np.sum(np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])) / 2)


def _keep_inside(outline: Outline, tri: dict, n_input: int) -> _Mesh:
    """Drop triangles outside the shape, project new boundary vertices, renumber the vertices used."""
    points = np.array(tri["vertices"], float)
    triangles = np.asarray(tri.get("triangles", np.zeros((0, 3), int)), np.int64)
    if len(triangles):
        triangles = triangles[np.asarray(outline.contains(points[triangles].mean(axis=1)), bool)]
    if not len(triangles):
        raise _no_area(outline)
    vmark = np.asarray(tri["vertex_markers"]).reshape(-1) - _MARKER_SHIFT
    new = np.flatnonzero((np.arange(len(points)) >= n_input) & (vmark >= 0))
    if len(new):
        # Triangle split a boundary segment: the new vertex lies on the chord, the boundary on the curve
        points[new] = outline.project(points[new], vmark[new])
    used, t = np.unique(triangles, return_inverse=True)
    edges = np.sort(np.asarray(tri["segments"], np.int64), axis=1)
    parts = np.asarray(tri["segment_markers"]).reshape(-1) - _MARKER_SHIFT
    renumber = np.full(len(points), -1)
    renumber[used] = np.arange(len(used))
    # np.unique sorts, so renumbering keeps each pair in increasing order
    edge_parts = {(int(renumber[a]), int(renumber[b])): int(p)
                  for (a, b), p in zip(edges, parts) if renumber[a] >= 0 and renumber[b] >= 0 and p >= 0}  # fmt: skip
    return _Mesh(points[used], t.reshape(-1, 3), edge_parts)


# ----------------------------------------------------------------------------------------------
# the solve


@dataclass(frozen=True, eq=False)
class FemSolution:
    """A finite-element solution: :meth:`values` evaluates it at any points of the shape.

    Attributes:
        degree: the polynomial degree of the elements (1 or 2).
        h: the target edge length it was meshed with.
        n_triangles, n_dofs: the size of the discretisation.
        centroids: (n_triangles, 2) the element centroids (interior points for error estimates).
    """

    degree: int
    h: float
    n_triangles: int
    n_dofs: int
    centroids: np.ndarray = dataclass_field(repr=False)
    _evaluator: _Evaluator = dataclass_field(repr=False)

    def values(self, points) -> np.ndarray:
        """Values (k,) at points (k, 2); NaN only for points well outside the mesh."""
        return self._evaluator(np.asarray(points, float).reshape(-1, 2))


def solve_fem(outline_at: Callable[[float], Outline], form: EllipticForm, conditions: dict, h: float,
              degree: int = 2) -> FemSolution | None:  # fmt: skip
    """Solve ``form`` on the shape ``outline_at(h)`` with P``degree`` Lagrange elements of size about ``h``.

    ``conditions`` maps a boundary part index to ``("value", g)``, ``("flux", g)`` or
    ``("robin", a, b, g)``; ``g``, ``a``, ``b`` are vectorised callables of (x, y) arrays (``a``,
    ``b`` may be numbers). A part with no entry is insulated: zero flux. Fluxes are imposed through
    the weak form's conormal derivative ``(A grad u)·n``: a flux ``g`` means ``(A grad u)·n =
    (nᵀ A n)·g``, which is ``du/dn = g`` exactly when ``n`` is an eigenvector of ``A`` (isotropic
    ``A = a(x, y)·I``, the Laplacian, or a diagonal ``A`` on axis-parallel edges); for other
    anisotropic ``A`` it is the conormal derivative, scaled. Robin conditions likewise (``b`` must
    not vanish on the part; ``b = 0``, a number, is a value condition ``u = g / a``).

    With ``degree=2`` the boundary edges' mid-edge nodes are moved onto the curve and the
    boundary elements are isoparametric; with ``degree=1`` edges stay straight (chords).

    Returns None where the problem is not one this solver can answer: the second-order part is not
    definite with one sign at every quadrature point, the solution is determined only up to a
    constant (no value or Robin condition and no ``u`` term), or the linear system is singular.
    Raises :class:`ProblemError` for a shape with no area or malformed conditions.
    """
    if degree not in (1, 2):
        raise ProblemError(f"finite elements of degree {degree}: only 1 (P1) and 2 (P2) are available")
    outline = outline_at(h)
    conditions = _checked_conditions(conditions, outline)
    mesh = triangulate(outline, h)  # first: a shape with no area is an error, whatever the equation
    coeffs = _weak_coefficients(form)
    if coeffs is None or not _determined(form, conditions):
        return None
    basis, part_facets = _basis(mesh, outline, degree)
    sign = _definite_sign(coeffs, basis)
    if sign is None:
        return None
    u = _solve(basis, part_facets, coeffs, sign, conditions)
    if u is None:
        return None
    centroids = mesh.points[mesh.triangles].mean(axis=1)
    return FemSolution(degree, float(h), len(mesh.triangles), basis.N, centroids, _Evaluator(basis, u))


def fem_solution(outline_at: Callable[[float], Outline], form: EllipticForm, conditions: dict, *,
                 h: float | None = None, degree: int = 2, sample_points=None):  # fmt: skip
    """Solve at ``2h``, ``h`` and ``h/2``: ``(values, error_estimate, description)`` of the finest
    solution, or None wherever :func:`solve_fem` returns None.

    ``values`` maps points (k, 2) to (k,). ``error_estimate`` is Richardson's estimate of the finest
    solution's relative L2 error on ``sample_points`` (default: up to 4000 centroids of the finest
    mesh's elements): with d1, d2 the differences of the successive solutions and r = d1/d2 ≈ 2^p
    (p the observed order), the error is about d2 / (r - 1). It is never taken below d2 / (2^(k+1) - 1)
    (the order Pk elements reach on smooth solutions: a faster observed rate is luck, not accuracy),
    and where the rate is not yet clear (r < 1.5, before the asymptotic range) it is d2 itself.
    The order is measured, not assumed, so a solution with a corner singularity (slower
    convergence) gets the larger estimate it needs. ``h`` defaults to the size that gives the
    finest mesh about 20 000 triangles (a few seconds on one core with P2, the coarser two a
    fifth of that together).
    """
    if h is None:
        h = default_h(outline_at)
    solutions = []
    for size in (2 * h, h, h / 2):
        solved = solve_fem(outline_at, form, conditions, size, degree)
        if solved is None:
            return None
        solutions.append(solved)
    coarse, middle, fine = solutions
    if sample_points is None:
        # evenly spaced through Triangle's (deterministic) element order
        take = np.linspace(0, fine.n_triangles - 1, min(_DEFAULT_SAMPLES, fine.n_triangles)).round().astype(int)
        sample_points = fine.centroids[np.unique(take)]
    values = [s.values(sample_points) for s in solutions]
    d1, d2 = (_relative_difference(values[k + 1], values[k]) for k in (0, 1))
    estimate = _richardson(d1, d2, degree)
    count = f"{fine.n_triangles:,}".replace(",", " ")
    description = f"finite elements (P{degree}, {count} triangles, h = {fine.h:.3g}; scikit-fem)"
    return fine.values, estimate, description


def _richardson(d1: float, d2: float, degree: int) -> float:
    """The finest solution's error from the differences d1 (coarse - middle) and d2 (middle - fine)."""
    if d2 == 0 or not np.isfinite(d2) or not np.isfinite(d1):
        return d2
    ratio = d1 / d2
    if ratio < 1.5:
        return d2
    return max(d2 / (ratio - 1), d2 / (2 ** (degree + 1) - 1))


def default_h(outline_at: Callable[[float], Outline], triangles: int = _DEFAULT_TRIANGLES) -> float:
    """The middle ``h`` of :func:`fem_solution`: its finest mesh (``h/2``) has about ``triangles`` triangles."""
    import triangle

    # the outline at h = 1 gives the scale, a finer one the area (a triangulation without quality)
    extent = float(np.ptp(np.asarray(outline_at(1.0).vertices, float), axis=0).max())
    if not np.isfinite(extent) or extent <= 0:
        raise _no_area(outline_at(1.0))
    outline = outline_at(extent / 50)
    tri = triangle.triangulate({"vertices": np.asarray(outline.vertices, float),
                                "segments": np.asarray(outline.segments, np.int32)}, "p")  # fmt: skip
    if "triangles" not in tri:
        raise _no_area(outline)
    inside = np.asarray(outline.contains(tri["vertices"][tri["triangles"]].mean(axis=1)), bool)
    area = _area(tri["vertices"], tri["triangles"][inside])
    if area <= 0:
        raise _no_area(outline)
    # the largest triangle allowed is h² √3/4 (equilateral, side h); the mean one is smaller
    return 2 * float(np.sqrt(area / (triangles * _FILL * np.sqrt(3) / 4)))


def _relative_difference(fine: np.ndarray, coarse: np.ndarray) -> float:
    ok = np.isfinite(fine) & np.isfinite(coarse)
    scale, diff = np.linalg.norm(fine[ok]), np.linalg.norm(fine[ok] - coarse[ok])
    if scale == 0:
        return 0.0 if diff == 0 else float("inf")
    return float(diff / scale)


# ----------------------------------------------------------------------------------------------
# conditions and coefficients

_KINDS = {"value": 1, "flux": 1, "robin": 3}


def _checked_conditions(conditions: dict, outline: Outline) -> dict:
    """``{part: (kind, callables...)}`` with numbers made functions; Robin with ``b = 0`` made a value."""
    out = {}
    for part, cond in (conditions or {}).items():
        if not isinstance(part, (int, np.integer)) or not 0 <= part < len(outline.parts):
            raise ProblemError(f"boundary condition for part {part!r}: the outline's parts are 0..{len(outline.parts) - 1} "
                               f"({', '.join(outline.parts)})")  # fmt: skip
        kind, *args = cond if isinstance(cond, tuple) else (cond,)
        if kind not in _KINDS or len(args) != _KINDS[kind]:
            raise ProblemError(f"boundary condition for part {outline.parts[part]!r}: expected ('value', g), ('flux', g) "
                               f"or ('robin', a, b, g); got {cond!r}")  # fmt: skip
        if kind == "robin":
            kind, args = _plain_robin(outline.parts[part], *args)
        out[int(part)] = (kind, *(_function(a) for a in args))
    return out


def _plain_robin(part: str, a, b, g) -> tuple[str, list]:
    """A Robin condition with a number 0 for ``a`` or ``b`` is a flux or a value condition."""
    a_zero, b_zero = (not callable(v) and float(v) == 0 for v in (a, b))
    if a_zero and b_zero:
        raise ProblemError(f"Robin condition on {part!r}: a·u + b·du/dn = g with a = b = 0 sets nothing")
    if b_zero:  # a u = g
        a, g = _function(a), _function(g)
        return "value", [lambda x, y: g(x, y) / a(x, y)]
    if a_zero:  # b du/dn = g
        b, g = _function(b), _function(g)
        return "flux", [lambda x, y: g(x, y) / b(x, y)]
    return "robin", [a, b, g]


def _function(value) -> Callable:
    """A vectorised ``(x, y) -> array`` of x's shape, from a callable or a number."""
    if callable(value):
        return lambda x, y: np.broadcast_to(np.asarray(value(x, y), float), np.shape(x))
    number = float(value)
    return lambda x, y: np.full(np.shape(x), number)


def _weak_coefficients(form: EllipticForm) -> dict | None:
    """Numeric ``(x, y) -> array`` functions of A (kxx, kxy, kyy), b - div A (bx, by), c and the source f."""
    axx, axy, ayy = form.diffusion()
    bx, by = form.drift()
    exprs = {"kxx": axx, "kxy": axy, "kyy": ayy, "bx": bx, "by": by, "c": form.u, "f": form.source}
    out = {}
    for name, e in exprs.items():
        # the derivative of a jump (Heaviside in a coefficient) is zero almost everywhere
        e = e.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
        try:
            # an expression from our own parser's SymPy tree, never text: lambdify is safe here
            fn = sp.lambdify(form.symbols, e, modules="numpy")
        except Exception:  # a function NumPy has no counterpart for: no reference
            return None
        out[name] = _function(fn)
    out["zero"] = {name for name, e in exprs.items() if e == 0}
    return out


def _determined(form: EllipticForm, conditions: dict) -> bool:
    """False when the solution is fixed only up to a constant: fluxes everywhere and no ``u`` term."""
    return form.u != 0 or any(c[0] in ("value", "robin") for c in conditions.values())


def _definite_sign(coeffs: dict, basis) -> int | None:
    """+1 or -1: the sign of A, definite at every quadrature point; None if it is not."""
    x, y = basis.mapping.F(basis.X)
    with np.errstate(all="ignore"):
        kxx, kxy, kyy = (coeffs[n](x, y) for n in ("kxx", "kxy", "kyy"))
        det, trace = kxx * kyy - kxy**2, kxx + kyy
    if not (np.isfinite(det).all() and np.isfinite(trace).all()):
        return None
    # both eigenvalues of one sign: det > 0, relative to the scale so rounding is not definiteness
    if not (det > 1e-10 * np.max(trace**2)).all():
        return None
    if (trace > 0).all():
        return 1
    return -1 if (trace < 0).all() else None


# ----------------------------------------------------------------------------------------------
# assembly and solve


def _basis(mesh: _Mesh, outline: Outline, degree: int):
    """The scikit-fem basis on the mesh and ``{part: boundary facet indices}``.

    P2: a quadratic (isoparametric) mesh whose boundary mid-edge nodes lie on the curves.
    """
    from dataclasses import replace

    from skfem import Basis, ElementTriP1, ElementTriP2, MeshTri1, MeshTri2

    m = MeshTri1(np.ascontiguousarray(mesh.points.T), np.ascontiguousarray(mesh.triangles.T))
    if degree == 2:
        m = MeshTri2.from_mesh(m)
    facets = m.boundary_facets()
    parts = _facet_parts(mesh, m.facets[:, facets].T)
    if degree == 2:
        mid = m.dofs.facet_dofs[0, facets]
        doflocs = m.doflocs.copy()
        known = parts >= 0
        doflocs[:, mid[known]] = np.asarray(outline.project(doflocs[:, mid[known]].T, parts[known]), float).T
        m = replace(m, doflocs=doflocs)
    element = ElementTriP2() if degree == 2 else ElementTriP1()
    basis = Basis(m, element, intorder=_intorder(degree))
    return basis, {int(p): facets[parts == p] for p in np.unique(parts) if p >= 0}


def _intorder(degree: int) -> int:
    """Quadrature order: exact for constant-coefficient mass matrices, two orders spare for variable ones."""
    return 2 * degree + 2


def _facet_parts(mesh: _Mesh, ends: np.ndarray) -> np.ndarray:
    """The part of each boundary facet (vertex pairs (k, 2)); the nearest marked edge's where unmarked."""
    ends = np.sort(ends, axis=1)
    parts = np.array([mesh.edge_parts.get((int(a), int(b)), -1) for a, b in ends], int)
    missing = parts < 0
    if missing.any() and mesh.edge_parts:
        # a boundary the outline did not mark (a triangle dropped by contains next to the outline)
        from scipy.spatial import cKDTree

        marked = np.array(list(mesh.edge_parts))
        tree = cKDTree(mesh.points[marked].mean(axis=1))
        _, nearest = tree.query(mesh.points[ends[missing]].mean(axis=1))
        parts[missing] = np.array(list(mesh.edge_parts.values()))[nearest]
    return parts


def _solve(basis, part_facets: dict, coeffs: dict, sign: int, conditions: dict) -> np.ndarray | None:
    """Assemble and solve; the dof vector, or None if the system is singular."""
    from skfem import BilinearForm, FacetBasis, LinearForm, asm

    # the coefficients at the quadrature points once (the form runs once per pair of basis
    # functions); identically zero ones drop out of the form
    x = basis.mapping.F(basis.X)
    names = ("kxx", "kxy", "kyy", "bx", "by", "c", "f")
    k = {n: None if n in coeffs["zero"] else sign * coeffs[n](*x) for n in names}

    @BilinearForm
    def operator(u, v, w):
        # div(K grad u) + beta·grad u + c u = f, K = sign·A positive definite: times -v, integrated by parts
        du, dv = u.grad, v.grad
        flux = [k["kxx"] * du[0], k["kyy"] * du[1]]
        if k["kxy"] is not None:
            flux = [flux[0] + k["kxy"] * du[1], flux[1] + k["kxy"] * du[0]]
        out = flux[0] * dv[0] + flux[1] * dv[1]
        for name, d in (("bx", 0), ("by", 1)):
            if k[name] is not None:
                out = out - k[name] * du[d] * v
        return out if k["c"] is None else out - k["c"] * u * v

    @LinearForm
    def load(v, w):
        return 0 * v if k["f"] is None else -k["f"] * v

    matrix, rhs = asm(operator, basis), asm(load, basis)
    fixed = {}
    for part, (kind, *fns) in sorted(conditions.items()):
        if part not in part_facets:
            continue  # a part with no edge in this mesh (too small to mesh at this h)
        if kind == "value":
            dofs = basis.get_dofs(facets=part_facets[part]).all()
            fixed.update(zip(dofs.tolist(), fns[0](*basis.doflocs[:, dofs]).tolist()))
            continue
        fb = FacetBasis(basis.mesh, basis.elem, facets=part_facets[part], intorder=_intorder(basis.elem.maxdeg))
        m, r = _boundary_terms(fb, kind, fns, coeffs, sign)
        rhs = rhs + r
        if m is not None:
            matrix = matrix + m
    return _linear_solve(matrix.tocsr(), rhs, fixed)


def _linear_solve(matrix, rhs: np.ndarray, fixed: dict) -> np.ndarray | None:
    """Solve with the dofs in ``fixed`` (index -> value) prescribed; None if singular."""
    from scipy.sparse.linalg import splu

    u = np.zeros(len(rhs))
    dofs = np.array(sorted(fixed), int)
    u[dofs] = [fixed[d] for d in dofs]
    free = np.setdiff1d(np.arange(len(rhs)), dofs)
    rows = matrix[free]
    try:
        # SuperLU with its default COLAMD ordering: the fastest of its orderings on these matrices
        lu = splu(rows[:, free].tocsc())
    except RuntimeError:  # exactly singular: no unique solution
        return None
    u[free] = lu.solve(rhs[free] - rows[:, dofs] @ u[dofs])
    return u if np.isfinite(u).all() else None


def _boundary_terms(fb, kind: str, fns: list, coeffs: dict, sign: int):
    """The matrix (Robin) and load of a flux or Robin part, through the conormal flux (nᵀKn)·du/dn."""
    from skfem import BilinearForm, LinearForm, asm

    def conormal(w):
        n = w.n
        kxx, kxy, kyy = (sign * coeffs[c](*w.x) for c in ("kxx", "kxy", "kyy"))
        return kxx * n[0] ** 2 + 2 * kxy * n[0] * n[1] + kyy * n[1] ** 2

    if kind == "flux":
        g = fns[0]
        return None, asm(LinearForm(lambda v, w: conormal(w) * g(*w.x) * v), fb)
    a, b, g = fns

    def over_b(w):
        bv = b(*w.x)
        if np.any(np.abs(bv) < 1e-300):
            raise ProblemError("a Robin condition a·u + b·du/dn = g needs b ≠ 0 on its part "
                               "(b = 0 everywhere is a value condition: give b as the number 0)")
        return conormal(w) / bv

    matrix = asm(BilinearForm(lambda u, v, w: over_b(w) * a(*w.x) * u * v), fb)
    return matrix, asm(LinearForm(lambda v, w: over_b(w) * g(*w.x) * v), fb)


# ----------------------------------------------------------------------------------------------
# evaluation at arbitrary points


class _Evaluator:
    """Values of a finite-element function at any points: the element holding each point, found
    among the nearest centroids, and the point's reference coordinates by Newton on the (possibly
    curved) element map. Points just outside the mesh (between a chord and its curve) take the
    nearest element's polynomial; points more than about half an element outside get NaN."""

    _NEAR, _WIDER = 8, 40  # candidate elements per point: first try, then for the few missed
    _INSIDE = 1e-9  # tolerance in reference coordinates
    _FAR = 0.3  # reference-coordinate distance beyond which a point is outside the mesh

    def __init__(self, basis, u: np.ndarray):
        from scipy.spatial import cKDTree

        self.element = basis.elem
        self.nodes = basis.doflocs[:, basis.element_dofs]  # (2, n_basis, n_elements): the element maps
        self.local = u[basis.element_dofs]  # (n_basis, n_elements)
        self.tree = cKDTree(self.nodes[:, :3].mean(axis=1).T)
        self.n_elements = self.nodes.shape[2]
        # elements whose mid-edge nodes were moved onto a curve: their map is not affine
        self.curved = np.zeros(self.n_elements, bool)
        if self.nodes.shape[1] > 3:
            ref = np.asarray(self.element.doflocs, float)  # (6, 2) nodes of the reference triangle
            weights = np.stack([1 - ref[:, 0] - ref[:, 1], ref[:, 0], ref[:, 1]], axis=1)  # (6, 3)
            affine = np.einsum("dvn,bv->dbn", self.nodes[:, :3], weights)
            scale = np.abs(self.nodes).max() + 1.0
            self.curved = np.abs(self.nodes - affine).max(axis=(0, 1)) > 1e-13 * scale

    def __call__(self, points: np.ndarray) -> np.ndarray:
        out = np.full(len(points), np.nan)
        for start in range(0, len(points), 50_000):  # bounded memory: k candidates × basis × points
            out[start : start + 50_000] = self._chunk(points[start : start + 50_000])
        return out

    def _chunk(self, points: np.ndarray) -> np.ndarray:
        if not len(points):
            return np.zeros(0)
        cells, X, outside = self._locate(points, self._NEAR)
        missed = np.flatnonzero(outside > self._INSIDE)
        if len(missed) and self.n_elements > self._NEAR:
            c2, X2, o2 = self._locate(points[missed], self._WIDER)
            better = o2 < outside[missed]
            cells[missed[better]], X[:, missed[better]], outside[missed[better]] = c2[better], X2[:, better], o2[better]
        phi = np.array([self.element.lbasis(X, i)[0] for i in range(self.local.shape[0])])
        values = np.sum(phi * self.local[:, cells], axis=0)
        values[~(outside <= self._FAR)] = np.nan
        return values

    def _locate(self, points: np.ndarray, k: int):
        """The best of the k nearest elements for each point: (cells, reference coords (2, n), outside-ness)."""
        k = min(k, self.n_elements)
        _, candidates = self.tree.query(points, k)
        candidates = candidates.reshape(len(points), k)
        best_cells = candidates[:, 0].copy()
        best_X = np.zeros((2, len(points)))
        best_out = np.full(len(points), np.inf)
        for j in range(k):
            X = self._reference(points, candidates[:, j])
            with np.errstate(invalid="ignore"):
                out = np.max([-X[0], -X[1], X[0] + X[1] - 1], axis=0)
            out[~np.isfinite(out)] = np.inf
            better = out < best_out
            best_cells[better], best_X[:, better], best_out[better] = candidates[better, j], X[:, better], out[better]
        return best_cells, best_X, best_out

    def _reference(self, points: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Reference coordinates (2, n) of points in elements ``cells``: exact for straight elements."""
        G = self.nodes[:, :3, cells]  # (2, 3, n): the vertices
        X = _solve2(np.stack([G[:, 1] - G[:, 0], G[:, 2] - G[:, 0]], axis=1), points.T - G[:, 0])
        curved = np.flatnonzero(self.curved[cells])
        if len(curved):
            X[:, curved] = self._newton(points[curved], cells[curved], X[:, curved])
        return X

    def _newton(self, points: np.ndarray, cells: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Reference coordinates in curved (quadratic) elements, from the straight element's."""
        G = self.nodes[:, :, cells]  # (2, 6, n)
        with np.errstate(all="ignore"):
            for _ in range(6):  # the map is close to affine: a few Newton steps reach rounding
                values = [self.element.lbasis(X, i) for i in range(G.shape[1])]
                phi = np.array([v[0] for v in values])  # (6, n)
                dphi = np.array([v[1] for v in values])  # (6, 2, n)
                mapped = np.einsum("dbn,bn->dn", G, phi)
                jac = np.einsum("dbn,bkn->dkn", G, dphi)
                X = X + _solve2(jac, points.T - mapped)
        return X


def _solve2(m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve the 2×2 systems ``m[:, :, i] X[:, i] = r[:, i]`` at once."""
    with np.errstate(all="ignore"):
        det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
        return np.array([(m[1, 1] * r[0] - m[0, 1] * r[1]) / det, (m[0, 0] * r[1] - m[1, 0] * r[0]) / det])
