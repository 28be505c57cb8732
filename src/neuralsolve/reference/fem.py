"""Finite elements for 2-D steady linear elliptic equations on any plane shape: assembly, solves
and the error estimate (the equation and conditions: :mod:`.fem_form`; meshes: :mod:`.fem_mesh`;
evaluation at points: :mod:`.fem_locate`).

A residual ``L u - f = 0`` with ``L u = a_xx u_xx + a_xy u_xy + a_yy u_yy + b_x u_x + b_y u_y + c u``
(coefficients may vary in x and y) is brought to the weak form of ``div(A grad u) + (b - div A)·grad u
+ c u = f``, with ``A`` the symmetrised matrix of the second-order coefficients. The shape's
:class:`~neuralsolve.geometry.outline.Outline` is meshed by Triangle (a constrained, quality Delaunay
triangulation that keeps each boundary edge's part), the equation is solved with P2 (or P1) Lagrange
elements by scikit-fem and a sparse direct factorisation, and :func:`fem_solution` solves three times,
at ``2h``, ``h`` and ``h/2``, so that Richardson's rule estimates the error of the finest.

Boundary conditions per boundary part: ``("value", g)``, ``("flux", g)`` (outward normal derivative),
``("robin", a, b, g)`` (``a u + b du/dn = g``); a part without an entry is insulated (zero flux).
With P2 the mid-edge nodes of boundary edges are moved onto the curve (``Outline.project``) and the
elements there are isoparametric, so a circle is followed to third order, not by its chords.

:func:`assemble` builds the discretisation once (an :class:`Assembly`: the operator's matrix, the
mass matrix, loads as sparse maps of the data at the quadrature points, the dofs of value parts)
for any number of solves: :func:`solve_fem` solves it once, :mod:`.plane_evolution` steps it in
time with data that vary in time.

SciPy, scikit-fem and Triangle are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from .._errors import ProblemError
from ..geometry.outline import Outline
from .fem_form import (LAMBDIFY_MODULES, TERMS, EllipticForm, _checked_conditions, _definite_sign,  # noqa: F401
                       _determined, _function, _weak_coefficients, elliptic_form)
from .fem_locate import _Evaluator, _Locator
from .fem_mesh import _FILL, _Mesh, _area, _no_area, triangulate  # noqa: F401
# the finest solve of fem_solution by default: about this many triangles (P2, ~160 000 dofs: 5-10 s
# on one core for the three meshes, most of it SuperLU's factorisation)
_DEFAULT_TRIANGLES = 80_000
# default sample points of the error estimate (fine-mesh element centroids)
_DEFAULT_SAMPLES = 4000


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
    assembly = assemble(outline_at, form, conditions, h, degree, steady=True)
    if assembly is None:
        return None
    solve = assembly.factorised(assembly.matrix)
    u = None if solve is None else solve(assembly.load(), assembly.fixed())
    return None if u is None else assembly.solution(u)


def assemble(outline_at: Callable[[float], Outline], form: EllipticForm, conditions: dict, h: float,
             degree: int = 2, *, steady: bool = False) -> Assembly | None:  # fmt: skip
    """The discretisation of ``form`` and ``conditions`` on ``outline_at(h)`` (as :func:`solve_fem`
    meshes and reads them), assembled once for any number of solves: an :class:`Assembly`.

    The data ``g`` of the conditions are read only when a load or the fixed values are made, so
    they may take the time as a third argument, ``g(x, y, t)``, for :meth:`Assembly.load` and
    :meth:`Assembly.fixed` at a time ``t`` (Robin coefficients ``a``, ``b`` stay functions of
    (x, y)). None where the coefficients cannot be evaluated numerically or the second-order part
    is not definite with one sign; with ``steady``, also where a steady solution would be
    determined only up to a constant. Raises :class:`ProblemError` for a shape with no area or
    malformed conditions.
    """
    if degree not in (1, 2):
        raise ProblemError(f"finite elements of degree {degree}: only 1 (P1) and 2 (P2) are available")
    outline = outline_at(h)
    conditions = _checked_conditions(conditions, outline)
    mesh = triangulate(outline, h)  # first: a shape with no area is an error, whatever the equation
    coeffs = _weak_coefficients(form)
    if coeffs is None or (steady and not _determined(form, conditions)):
        return None
    basis, part_facets = _basis(mesh, outline, degree)
    sign = _definite_sign(coeffs, basis)
    if sign is None:
        return None
    return Assembly(degree, float(h), mesh, basis, part_facets, coeffs, sign, conditions)


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
    finest mesh about 80 000 triangles (5-10 s on one core with P2, the coarser two a
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
    return richardson(d1, d2, degree + 1)


def richardson(d1: float, d2: float, order: int) -> float:
    """The finest of three solutions' error, each resolution twice the last, from the differences
    d1 (coarse - middle) and d2 (middle - fine): ``d2 / (r - 1)`` with ``r = d1 / d2`` the measured
    ratio, never below ``d2 / (2^order - 1)`` (the method's ``order``: a faster observed rate is
    luck, not accuracy), and ``d2`` itself where ``r < 1.5`` (not yet converging)."""
    if d2 == 0 or not np.isfinite(d2) or not np.isfinite(d1):
        return d2
    ratio = d1 / d2
    if ratio < 1.5:
        return d2
    return max(d2 / (ratio - 1), d2 / (2**order - 1))


def default_h(outline_at: Callable[[float], Outline], triangles: int | None = None) -> float:
    """The middle ``h`` of :func:`fem_solution`: its finest mesh (``h/2``) has about ``triangles``
    triangles (default :data:`_DEFAULT_TRIANGLES`, read when called)."""
    import triangle

    triangles = _DEFAULT_TRIANGLES if triangles is None else triangles
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


class Assembly:
    """A finite-element discretisation of ``L u = source`` with its boundary conditions (:func:`assemble`).

    ``matrix @ u = load()`` is the weak form on the free dofs, with ``u = fixed()`` on
    :attr:`fixed_dofs` (the dofs of the value parts). ``matrix`` holds ``∫ K grad u·grad v -
    sign·((b - div A)·grad u + c u) v`` with ``K = sign·A`` positive definite, plus the Robin parts'
    boundary terms; ``load(t)`` is ``-sign ∫ source·v`` plus the flux and Robin parts' data terms,
    so that ``matrix @ u - load`` is the weak form of ``-sign·(L u - source)``. With ``sign = +1``
    the evolution ``u_t = L u - source`` is, in space, ``mass() @ u' = load(t) - matrix @ u``.

    Attributes:
        degree, h: the elements' degree and the mesh's target edge length.
        sign: the sign of the second-order part (+1: ``A`` positive definite).
        basis: the scikit-fem basis; ``part_facets`` the boundary facets of each part.
        matrix: the operator (sparse CSR, n_dofs × n_dofs).
        fixed_dofs, free_dofs: the dofs of value parts (a dof shared by two takes the later
            part's value) and the others, each sorted.
        n_triangles, n_dofs, centroids: the mesh's size and element centroids (n_triangles, 2).
    """

    def __init__(self, degree: int, h: float, mesh: _Mesh, basis, part_facets: dict, coeffs: dict, sign: int,
                 conditions: dict):  # fmt: skip
        from skfem import FacetBasis, asm

        self.degree, self.h, self.sign, self.basis, self.part_facets = degree, h, sign, basis, part_facets
        self.n_triangles, self.n_dofs = len(mesh.triangles), basis.N
        self.centroids = mesh.points[mesh.triangles].mean(axis=1)
        self._coeffs = coeffs
        self.matrix = asm(_operator_form(basis, coeffs, sign), basis)
        # the source's load as a matrix on its values at the quadrature points: a new load (a new
        # time) is then a function evaluation and a sparse product, not an assembly
        self._source = None if "f" in coeffs["zero"] else _quadrature_load(basis, -sign)
        self._data = []  # (matrix, points, g) of each flux and Robin part
        owner = {}  # dof -> the value part that sets it (a later part wins a shared dof)
        values = {}
        for part, (kind, *fns) in sorted(conditions.items()):
            if part not in part_facets:
                continue  # a part with no edge in this mesh (too small to mesh at this h)
            if kind == "value":
                owner.update(dict.fromkeys(basis.get_dofs(facets=part_facets[part]).all().tolist(), part))
                values[part] = fns[0]
                continue
            fb = FacetBasis(basis.mesh, basis.elem, facets=part_facets[part], intorder=_intorder(degree))
            weight = _conormal(fb, coeffs, sign)
            if kind == "robin":
                a, b, g = fns
                xy = np.asarray(fb.global_coordinates())
                weight = weight / _nonzero_b(b, *xy)
                robin = _quadrature_form(fb, weight * a(*xy))
                self.matrix = self.matrix + robin
            self._data.append((*_quadrature_load(fb, weight), fns[-1]))
        self.matrix = self.matrix.tocsr()
        dofs = np.array(sorted(owner), int)
        parts = np.array([owner[d] for d in dofs.tolist()], int)
        self._values = [(np.flatnonzero(parts == part), basis.doflocs[:, dofs[parts == part]], g)
                        for part, g in values.items()]  # fmt: skip
        self.fixed_dofs = dofs
        self.free_dofs = np.setdiff1d(np.arange(self.n_dofs), dofs)
        self._mass = None
        self._locator = None

    def load(self, t: float | None = None, source: Callable | None = None) -> np.ndarray:
        """The load vector (n_dofs,): of the form's source, or of ``source(x, y, t)`` at time ``t``;
        the flux and Robin data are called as ``g(x, y)``, or ``g(x, y, t)`` at a time ``t``."""
        extra = () if t is None else (t,)
        rhs = np.zeros(self.n_dofs)
        if source is not None or self._source is not None:
            if self._source is None:
                self._source = _quadrature_load(self.basis, -self.sign)
            matrix, points = self._source
            values = self._coeffs["f"](*points) if source is None else _function(source)(*points, *extra)
            rhs += matrix @ values.ravel()
        for matrix, points, g in self._data:
            rhs += matrix @ g(*points, *extra).ravel()
        return rhs

    def fixed(self, t: float | None = None) -> np.ndarray:
        """The values (len(fixed_dofs),) of the value parts' data at their dofs (at time ``t``)."""
        out = np.zeros(len(self.fixed_dofs))
        extra = () if t is None else (t,)
        for rows, points, g in self._values:
            out[rows] = g(*points, *extra)
        return out

    def mass(self):
        """The mass matrix ``∫ u v`` (sparse CSR)."""
        if self._mass is None:
            from skfem import BilinearForm, asm

            self._mass = asm(BilinearForm(lambda u, v, w: u * v), self.basis).tocsr()
        return self._mass

    def factorised(self, matrix) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
        """``solve(rhs, fixed_values) -> u``: the solution of ``matrix @ u = rhs`` on the free dofs
        with ``u[fixed_dofs] = fixed_values``, factorised once (SuperLU); None if singular."""
        from scipy.sparse.linalg import splu

        matrix = matrix.tocsr()
        free, fixed = self.free_dofs, self.fixed_dofs
        rows = matrix[free]
        try:
            # SuperLU with its default COLAMD ordering: the fastest of its orderings on these matrices
            lu = splu(rows[:, free].tocsc())
        except RuntimeError:  # exactly singular: no unique solution
            return None
        coupling = rows[:, fixed].tocsr()

        def solve(rhs: np.ndarray, values: np.ndarray) -> np.ndarray | None:
            u = np.empty(self.n_dofs)
            u[fixed] = values
            u[free] = lu.solve(rhs[free] - coupling @ values)
            return u if np.isfinite(u).all() else None

        return solve

    def locator(self) -> _Locator:
        """Where points lie in this mesh (shared by every solution on it)."""
        if self._locator is None:
            self._locator = _Locator(self.basis)
        return self._locator

    def solution(self, u: np.ndarray) -> FemSolution:
        """The :class:`FemSolution` of the dof vector ``u``."""
        return FemSolution(self.degree, self.h, self.n_triangles, self.n_dofs, self.centroids,
                           _Evaluator(self.basis, u, self.locator()))  # fmt: skip


def _operator_form(basis, coeffs: dict, sign: int):
    """The bilinear form of the operator, its coefficients taken at the quadrature points once."""
    from skfem import BilinearForm

    # the coefficients at the quadrature points once (the form runs once per pair of basis
    # functions); identically zero ones drop out of the form
    x = basis.mapping.F(basis.X)
    names = ("kxx", "kxy", "kyy", "bx", "by", "c")
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

    return operator


def _quadrature_load(basis, weight) -> tuple:
    """``(matrix, (x, y))``: ``matrix @ g(x, y).ravel()`` is the load ``∫ weight·g·v`` of the
    values of ``g`` at the basis's quadrature points (x and y of shape (elements, points))."""
    from scipy.sparse import coo_matrix

    x, y = np.asarray(basis.global_coordinates())
    w = np.broadcast_to(weight * basis.dx, x.shape)
    columns = np.arange(x.size).reshape(x.shape)
    rows, cols, data = [], [], []
    for i in range(basis.Nbfun):
        rows.append(np.broadcast_to(basis.element_dofs[i][:, None], x.shape).ravel())
        cols.append(columns.ravel())
        data.append((np.asarray(basis.basis[i][0]) * w).ravel())
    matrix = coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(basis.N, x.size))
    return matrix.tocsr(), (x, y)


def _quadrature_form(basis, weight):
    """The matrix of ``∫ weight·u·v`` with ``weight`` given at the basis's quadrature points."""
    from skfem import BilinearForm, asm

    return asm(BilinearForm(lambda u, v, w: weight * u * v), basis)


def _conormal(fb, coeffs: dict, sign: int) -> np.ndarray:
    """``nᵀ K n`` at the facet quadrature points: a flux g is imposed as the conormal flux (nᵀKn)·g."""
    n = np.asarray(fb.normals)
    xy = np.asarray(fb.global_coordinates())
    kxx, kxy, kyy = (sign * coeffs[c](*xy) for c in ("kxx", "kxy", "kyy"))
    return kxx * n[0] ** 2 + 2 * kxy * n[0] * n[1] + kyy * n[1] ** 2


def _nonzero_b(b, x, y) -> np.ndarray:
    bv = b(x, y)
    if np.any(np.abs(bv) < 1e-300):
        raise ProblemError("a Robin condition a·u + b·du/dn = g needs b ≠ 0 on its part "
                           "(b = 0 everywhere is a value condition: give b as the number 0)")
    return bv


