"""Reference eigenpairs of linear second-order operators with Dirichlet conditions, by spectral elements.

Solves ``sum_alpha a_alpha(x) D^alpha psi = E sum_beta b_beta(x) D^beta psi`` on an interval or a
rectangle with ``psi = 0`` on the whole boundary, accurately enough (~1e-9 relative or better on the
eigenvalues) to judge a network's claims.

Each axis is cut at the given break points (where a coefficient jumps) and into a few equal elements; on
each element psi is a polynomial of degree p held by its values at the Chebyshev–Gauss–Lobatto nodes.
The equation is collocated at the element-interior nodes only; at the element ends psi vanishes on the
boundary and is C1 across interfaces (value and first derivative continuous) — the right matching for a
second-order operator whose coefficients jump by a bounded amount, so convergence stays spectral where
finite differences drop to O(h), and a coefficient is never evaluated at a jump. In 2-D the space is the
tensor product of the 1-D spaces, which is C1 across every grid line of both axes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from itertools import pairwise

import numpy as np
import scipy.linalg as sl

from .collocation import barycentric as _barycentric
from .collocation import chebyshev as _chebyshev
from .estimate import relative_difference
from .threads import single_threaded

Terms = Mapping[tuple[int, ...], Callable]

_DEFAULTS = {1: (24, 12), 2: (16, 2)}  # dimension -> (degree, elements per axis); see solve_eigen
_CHUNK = 2048  # points per batch when interpolating in 2-D, to bound the gathered nodal blocks


@dataclass(frozen=True)
class EigenReference:
    """Lowest eigenpairs from the spectral-element solver.

    Attributes:
        eigenvalues: (k,) real eigenvalues, ascending.
        method: how they were computed, e.g. ``"spectral elements (12 elements, degree 24)"``.
        eigenvalue_errors: (k,) estimated relative errors of the eigenvalues, or None (not estimated).
        state_errors: (k,) estimated relative L2 errors of the eigenfunctions (of the space a
            degenerate eigenvalue spans), or None.
    """

    eigenvalues: np.ndarray
    method: str
    _evaluate: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    eigenvalue_errors: np.ndarray | None = None
    state_errors: np.ndarray | None = None

    def values(self, points) -> np.ndarray:
        """Eigenfunctions (k, n) at points (n, d).

        Each is normalised so that the integral of psi^2 over the domain is 1 (element quadrature), with
        its sign fixed so that psi is positive at the first element node (axes in order, last fastest)
        where |psi| exceeds half its maximum over the nodes. Points within ~1e-12 outside the domain are
        clipped onto it; points further outside give NaN. Degenerate eigenvalues get an arbitrary basis.
        """
        return self._evaluate(np.asarray(points, float))


@dataclass(frozen=True)
class _Axis:
    """The 1-D element structure of one axis.

    Global nodes are numbered element by element, an interface node shared by its two elements
    (``G = elements * p + 1``). The unknowns are the ``M = elements * (p - 1)`` element-interior values;
    ``Z`` (G, M) extends them to all nodes (zero at the boundary, interface values from C1 matching),
    and ``L[k]`` (M, M) is the k-th derivative at the interior nodes of the function so extended.
    """

    edges: np.ndarray  # (elements + 1,)
    p: int
    interior: np.ndarray  # (M,) coordinates of the unknowns
    Z: np.ndarray
    L: tuple[np.ndarray, np.ndarray, np.ndarray]
    quad: np.ndarray  # (G,) quadrature weights at the global nodes

    def locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global node indices (n, p+1) of each point's element and the interpolation weights there."""
        e = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, len(self.edges) - 2)
        h = self.edges[e + 1] - self.edges[e]
        t = np.clip(2 * (x - self.edges[e]) / h - 1, -1.0, 1.0)
        return e[:, None] * self.p + np.arange(self.p + 1), _barycentric(self.p, t)


def solve_eigen(bounds, operator: Terms, mass: Terms, states: int, *, breaks=None, degree=None,
                elements=None, estimate: bool = False) -> EigenReference:  # fmt: skip
    """The ``states`` lowest eigenpairs of ``A psi = E B psi`` with psi = 0 on the boundary.

    Args:
        bounds: ``[(lo, hi)]`` per axis, one or two axes.
        operator: A as ``{derivative counts per axis: coefficient}``, e.g. ``{(2,): lambda x: -1.0,
            (0,): V}``; a coefficient ``coef(*columns)`` gets one coordinate array per axis and may
            return a scalar. Total derivative order at most 2 per term.
        mass: B in the same format, usually ``{(0,): lambda x: 1.0}``.
        states: how many of the lowest (by real part) real eigenvalues to keep.
        breaks: per axis, interior points where a coefficient jumps; element boundaries are placed
            there, so coefficients are only evaluated strictly inside the pieces they describe.
        degree: polynomial degree per element (int, or one per axis); default 24 in 1-D, 16 in 2-D.
        elements: elements per axis (int, or one per axis), spread over the pieces between breaks in
            proportion to their length, at least one each; default 12 in 1-D, 2 in 2-D.
        estimate: also solve at a degree 4 lower (4 higher below degree 9) and attach the differences
            as ``eigenvalue_errors`` and ``state_errors``: estimates of the lower degree's errors, so
            overestimates of these (spectral convergence).

    The discrete problem is dense: ``prod(elements * (degree - 1))`` unknowns, fine up to a few thousand.
    """
    bounds = [tuple(float(v) for v in b) for b in bounds]
    dim = len(bounds)
    if dim not in (1, 2):
        raise ValueError(f"bounds must give one or two axes as (lo, hi); got {len(bounds)}")
    if any(len(b) != 2 or not np.isfinite(b).all() or b[0] >= b[1] for b in bounds):
        raise ValueError(f"each axis needs finite bounds (lo, hi) with lo < hi; got {bounds}")
    if int(states) != states or states < 1:
        raise ValueError(f"states must be a positive integer; got {states!r}")
    terms = _check_terms(operator, dim, "operator"), _check_terms(mass, dim, "mass")
    degrees = _per_axis(degree, _DEFAULTS[dim][0], dim, "degree", minimum=2)
    counts = _per_axis(elements, _DEFAULTS[dim][1], dim, "elements", minimum=1)
    breaks = [[]] * dim if breaks is None else breaks
    if len(breaks) != dim:
        raise ValueError(f"breaks must give one list per axis ({dim}); got {len(breaks)}")
    with single_threaded():
        ref = _solve(bounds, terms, states, breaks, counts, degrees)
        if not estimate:
            return ref
        try:
            check = _solve(bounds, terms, states, breaks, counts, [p - 4 if p > 8 else p + 4 for p in degrees])
        except ValueError:  # too few real eigenvalues at the other degree: no estimate, the reference stands
            return ref
        return _with_estimates(ref, check, bounds)


def _solve(bounds, terms, states: int, breaks, counts, degrees) -> EigenReference:
    """The eigenpairs on one discretisation (arguments checked by :func:`solve_eigen`)."""
    dim = len(bounds)
    terms_a, terms_b = terms
    axes = [_axis(*b, cuts, n, p) for b, cuts, n, p in zip(bounds, breaks, counts, degrees)]
    size = int(np.prod([len(ax.interior) for ax in axes]))
    if states > size:
        raise ValueError(f"states={states} exceeds the {size} unknowns of the discretisation")

    A, B = _assemble(terms_a, axes, "operator"), _assemble(terms_b, axes, "mass")
    eigenvalues, W = _lowest(A, B, states, diagonal_mass=all(not any(k) for k in terms_b))

    U = np.stack([_normalised(_expand(w, axes), axes) for w in W.T])  # (k, G1[, G2])

    def evaluate(points: np.ndarray) -> np.ndarray:
        if points.ndim != 2 or points.shape[1] != dim:
            raise ValueError(f"points must have shape (n, {dim}); got {points.shape}")
        out = np.full((len(U), len(points)), np.nan)
        lo, hi = np.array(bounds).T
        slack = 1e-12 * np.maximum(1.0, np.maximum(abs(lo), abs(hi)))
        ok = np.all((points >= lo - slack) & (points <= hi + slack), axis=1)
        inside = np.clip(points[ok], lo, hi)
        if dim == 1:
            idx, wts = axes[0].locate(inside[:, 0])
            out[:, ok] = np.einsum("nj,knj->kn", wts, U[:, idx])
        else:
            vals = []
            for start in range(0, len(inside), _CHUNK):  # gathering (k, n, p+1, p+1) blocks: bound n
                (ix, wx), (iy, wy) = (ax.locate(inside[start : start + _CHUNK, i]) for i, ax in enumerate(axes))
                vals.append(np.einsum("ni,nj,knij->kn", wx, wy, U[:, ix[:, :, None], iy[:, None, :]]))
            out[:, ok] = np.concatenate(vals, axis=1) if vals else np.empty((len(U), 0))
        return out

    shape = " x ".join(str(len(ax.edges) - 1) for ax in axes)
    degs = " x ".join(dict.fromkeys(str(ax.p) for ax in axes))  # one figure when all axes agree
    method = f"spectral elements ({shape} elements, degree {degs})"
    return EigenReference(eigenvalues, method, evaluate)


def _with_estimates(ref: EigenReference, check: EigenReference, bounds) -> EigenReference:
    """``ref`` with the relative differences from ``check`` as its error estimates.

    Eigenfunctions are compared on a grid, each against the span of ``check``'s functions of the
    same (numerically equal) eigenvalue: the sign, and the basis of a degenerate eigenvalue, are
    arbitrary.
    """
    lam, other = ref.eigenvalues, check.eigenvalues
    eigenvalue_errors = np.abs(lam - other) / np.maximum(np.abs(lam), 1e-300)
    axes = [np.linspace(lo, hi, 2001 if len(bounds) == 1 else 101) for lo, hi in bounds]
    points = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    U, V = ref.values(points), check.values(points)  # (k, n)
    state_errors = np.empty(len(lam))
    start = 0
    while start < len(lam):
        stop = start + 1
        while stop < len(lam) and lam[stop] - lam[stop - 1] <= 1e-8 * max(1.0, abs(lam[stop])):
            stop += 1
        A, B = U[start:stop].T, V[start:stop].T
        projected = B @ np.linalg.lstsq(B, A, rcond=None)[0]
        for i in range(stop - start):
            state_errors[start + i] = relative_difference(A[:, i], projected[:, i])
        start = stop
    return EigenReference(ref.eigenvalues, ref.method, ref._evaluate, eigenvalue_errors, state_errors)


def _check_terms(terms: Terms, dim: int, what: str) -> dict[tuple[int, ...], Callable]:
    """The terms with keys as tuples of non-negative derivative counts, one per axis, total <= 2."""
    if not terms:
        raise ValueError(f"{what} has no terms")
    out = {}
    for key, coef in terms.items():
        key = (key,) if isinstance(key, (int, np.integer)) else tuple(key)
        if len(key) != dim or any(int(k) != k or k < 0 for k in key) or sum(key) > 2:
            raise ValueError(f"{what} term {key!r}: need {dim} non-negative derivative counts summing to at most 2")
        if not callable(coef):
            raise TypeError(f"{what} term {key!r}: the coefficient must be callable, got {coef!r}")
        out[tuple(int(k) for k in key)] = coef
    return out


def _per_axis(value, default: int, dim: int, what: str, minimum: int) -> list[int]:
    values = [default] * dim if value is None else [value] * dim if np.ndim(value) == 0 else list(value)
    if len(values) != dim or any(int(v) != v or v < minimum for v in values):
        raise ValueError(f"{what} must be an integer >= {minimum}, or one per axis; got {value!r}")
    return [int(v) for v in values]


def _axis(lo: float, hi: float, breaks, count: int, p: int) -> _Axis:
    """Elements, unknowns and derivative matrices of one axis (see :class:`_Axis`)."""
    breaks = np.asarray(breaks, float).ravel()
    if np.any((breaks <= lo) | (breaks >= hi)):
        raise ValueError(f"break points must lie strictly inside ({lo}, {hi}); got {breaks.tolist()}")
    cuts = np.unique(np.r_[lo, breaks, hi])
    edges = np.concatenate([np.linspace(a, b, max(1, round(count * (b - a) / (hi - lo))) + 1)[:-1]
                            for a, b in pairwise(cuts)] + [[hi]])  # fmt: skip
    ne, h = len(edges) - 1, np.diff(edges)
    t, D, weights = _chebyshev(p)
    G, M = ne * p + 1, ne * (p - 1)
    local = np.arange(ne)[:, None] * p + np.arange(p + 1)  # (ne, p+1) global index of each element node
    interior = local[:, 1:-1].ravel()

    # k-th derivative at the interior nodes, each from its own element's polynomial
    Dk = [np.zeros((M, G)) for _ in range(3)]
    for e in range(ne):
        rows, cols = slice(e * (p - 1), (e + 1) * (p - 1)), slice(e * p, e * p + p + 1)
        scaled = 2 / h[e] * D
        Dk[0][rows, cols] = np.eye(p + 1)[1:-1]
        Dk[1][rows, cols] = scaled[1:-1]
        Dk[2][rows, cols] = (scaled @ scaled)[1:-1]

    # C1 matching: left element's derivative at its right end = right element's at its left end.
    # Solved for the interface values (a diagonally dominant tridiagonal system in them).
    Z = np.zeros((G, M))
    Z[interior, np.arange(M)] = 1.0
    if ne > 1:
        C = np.zeros((ne - 1, G))
        for i in range(ne - 1):
            C[i, local[i]] += 2 / h[i] * D[-1]
            C[i, local[i + 1]] -= 2 / h[i + 1] * D[0]
        iface = local[1:, 0]
        Z[iface] = -np.linalg.solve(C[:, iface], C[:, interior])

    quad = np.zeros(G)
    np.add.at(quad, local, h[:, None] / 2 * weights)
    x = (edges[:-1, None] + (t + 1) / 2 * h[:, None])[:, 1:-1].ravel()
    return _Axis(edges, p, x, Z, tuple(d @ Z for d in Dk), quad)


def _assemble(terms: dict, axes: list[_Axis], what: str) -> np.ndarray:
    """The matrix of ``sum coef * D^alpha`` on the unknowns, rows at the interior nodes (axis 0 slowest)."""
    columns = [g.ravel() for g in np.meshgrid(*(ax.interior for ax in axes), indexing="ij")]
    out = 0.0
    for key, coef in terms.items():
        with np.errstate(all="ignore"):
            c = np.broadcast_to(np.asarray(coef(*columns), dtype=float), columns[0].shape)
        if not np.isfinite(c).all():
            raise ValueError(f"{what} coefficient of {key} is not finite at some interior node")
        out = out + c[:, None] * reduce(np.kron, [ax.L[k] for ax, k in zip(axes, key)])
    return out


def _lowest(A: np.ndarray, B: np.ndarray, states: int, diagonal_mass: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ``states`` lowest real eigenvalues of the pencil (A, B) and real eigenvectors (columns).

    Eigenvalues alone are much cheaper than the full decomposition, so the vectors of the few wanted
    ones come from inverse iteration at those eigenvalues (a block one for a degenerate cluster).
    """
    if diagonal_mass:
        b = np.diag(B).copy()
        if np.any(b == 0):
            raise ValueError("the mass coefficient vanishes at an interior node")
        A, B = A / b[:, None], None  # B is now the identity
        lam = sl.eigvals(A)
    else:
        alpha, beta = sl.eigvals(A, B, homogeneous_eigvals=True)
        # B singular (constraint-like rows) gives infinite eigenvalues: beta ~ eps relative to alpha
        scale = np.linalg.norm(A, 1) / np.linalg.norm(B, 1)
        finite = np.abs(beta) * scale * 1e8 > np.abs(alpha)
        lam = alpha[finite] / beta[finite]
    # spurious modes of collocation come in complex pairs or far out; keep the (numerically) real ones
    lam = np.sort(lam[np.abs(lam.imag) <= 1e-7 * np.maximum(1.0, np.abs(lam.real))].real)
    if len(lam) < states:
        raise ValueError(f"only {len(lam)} real eigenvalues found; asked for {states}")
    chosen = lam[:states]

    vectors, start = [], 0
    rng = np.random.default_rng(0)  # deterministic start vectors
    while start < states:
        stop = start + 1
        while stop < len(lam) and lam[stop] - lam[stop - 1] <= 1e-8 * max(1.0, abs(lam[stop])):
            stop += 1  # a cluster may run past `states`: iterate on all of it, keep what is wanted
        sigma = lam[start:stop].mean()
        sigma += 1e-10 * max(1.0, abs(sigma))  # off the eigenvalue, so the factorisation is not singular
        lu = sl.lu_factor(A - sigma * (np.eye(len(A)) if B is None else B), check_finite=False)
        X = rng.standard_normal((len(A), stop - start))
        for _ in range(3):
            X = np.linalg.qr(sl.lu_solve(lu, X if B is None else B @ X, check_finite=False))[0]
        vectors.append(X[:, : min(stop, states) - start])
        start = stop
    return chosen, np.concatenate(vectors, axis=1)


def _expand(w: np.ndarray, axes: list[_Axis]) -> np.ndarray:
    """Nodal values on all global nodes (G1[, G2]) from the unknowns at the interior nodes."""
    u = w.reshape([len(ax.interior) for ax in axes])
    for i, ax in enumerate(axes):
        u = np.moveaxis(np.tensordot(ax.Z, u, axes=(1, i)), 0, i)
    return u


def _normalised(u: np.ndarray, axes: list[_Axis]) -> np.ndarray:
    """``u`` scaled to unit L2 norm (element quadrature), positive at its first node above half its max."""
    weight = reduce(np.multiply.outer, [ax.quad for ax in axes])
    u = u / np.sqrt(np.sum(weight * u**2))
    flat = u.ravel()
    first = np.argmax(np.abs(flat) > 0.5 * np.abs(flat).max())
    return u if flat[first] > 0 else -u
