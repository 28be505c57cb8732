"""SSOR(ω)-preconditioned conjugate gradients on five-point grid systems, batched over systems and ω.

The solver of the learned relaxation (:mod:`neuralsolve.linear.relax`). :func:`ssor_pcg` solves one
system; :func:`ssor_pcg_iterations` solves every (system, ω) pair of a list of systems in one batch,
with the same arithmetic as the single solves, so the iteration counts are identical;
:func:`ssor_preconditioner` applies ``M^-1``.

Ordering. The triangular sweeps use the natural (row-major) order of the unknowns, vectorised along
anti-diagonals: with the five-point stencil the unknowns on one anti-diagonal ``i + j = const``
depend only on the previous one, so a sweep is ``2m - 1`` array operations over a batch of systems
and ω, and the preconditioner is exactly lexicographic SSOR. Red–black ordering would be simpler to
vectorise, but with it ω = 1 is the best SSOR-CG preconditioner for every system, so there is
nothing to learn. On each singular value σ of the scaled red–black coupling the preconditioned
matrix has eigenvalues ``q/2 (2 - q σ² ± σ sqrt(4(1 - q) + q² σ²))``, ``q = ω(2 - ω)``, whatever
the coefficient and time step, and the condition number is smallest at ω = 1 (for σ up to 0.999:
500 at ω = 1, 780 at 1.5, 1640 at 1.9). Measured at cells=32, dt=1e-2 over 300 steps, ω = 1 was
the best red–black ω on every system.

All arrays here are NumPy. Internally the batched solver stores each grid of unknowns in a
"folded" layout, ``F[k, i] = u[i, (k - i) mod m]``: row k holds anti-diagonal k, followed by
anti-diagonal k + m. No storage is wasted, and each anti-diagonal is a contiguous slice.
"""

from __future__ import annotations

import numpy as np

from ..reference.stencil import Stencil

MAX_ITERATIONS = 200  # the CG cap


# ----------------------------------------------------------------------------------------------
# the folded layout and the batched operators
# ----------------------------------------------------------------------------------------------


def fold(grid: np.ndarray) -> np.ndarray:
    """(..., m, m) natural grids -> (..., m, m) folded layout: ``F[k, i] = u[i, (k - i) mod m]``."""
    i = np.arange(grid.shape[-1])
    return np.ascontiguousarray(grid[..., i, (i[:, None] - i) % len(i)])


def unfold(folded: np.ndarray) -> np.ndarray:
    """Inverse of :func:`fold`: ``u[i, j] = F[(i + j) mod m, i]``."""
    i = np.arange(folded.shape[-1])[:, None]
    return np.ascontiguousarray(folded[..., (i + i.T) % len(i), i])


def _segments(m: int) -> list[tuple[int, int, int]]:
    """Anti-diagonals 0 .. 2m - 2 in the folded layout: (row, first column, end column)."""
    return [(k, 0, k + 1) if k < m else (k - m, k - m + 1, m) for k in range(2 * m - 1)]


class _Batch:
    """N five-point systems with one ω each, in the folded layout with the items last: (m, m, N).

    ``west``/``south`` couple each unknown to (i - 1, j)/(i, j - 1). With the items last, every
    anti-diagonal segment of every item is one contiguous block.
    """

    def __init__(self, diag: np.ndarray, west: np.ndarray, south: np.ndarray, omega: np.ndarray):
        self.diag, self.west, self.south, self.omega = diag, west, south, omega
        self.m = diag.shape[0]
        self.segments = _segments(self.m)
        # couplings to (i + 1, j) and (i, j + 1): the neighbours' west and south, one anti-diagonal on
        self.east = np.zeros_like(west)
        self.east[:, :-1] = np.roll(west, -1, axis=0)[:, 1:]
        self.north = np.roll(south, -1, axis=0)
        self.inv_diag = 1.0 / diag
        scaled = omega * self.inv_diag
        self.fw, self.fs = scaled * west, scaled * south  # forward sweep: omega D^-1 L
        self.be, self.bn = scaled * self.east, scaled * self.north  # backward sweep: omega D^-1 U
        self.factor = omega * (2.0 - omega)

    def take(self, keep: np.ndarray) -> _Batch:
        """The items where keep is True (the derived arrays are recomputed: elementwise, so identical)."""
        return _Batch(*(_keep(a, keep) for a in (self.diag, self.west, self.south)), self.omega[keep])

    def matvec(self, x: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
        """out = A x for every item; tmp is scratch of the same shape."""
        south, north, west, east = self.south, self.north, self.west, self.east
        # anti-diagonal k - 1 is row k - 1 (cyclically); so is k + 1. Couplings across the edge are 0.
        np.multiply(south[1:], x[:-1], out=out[1:])
        np.multiply(south[0], x[-1], out=out[0])
        np.multiply(north[:-1], x[1:], out=tmp[:-1])
        np.multiply(north[-1], x[0], out=tmp[-1])
        out += tmp
        np.multiply(west[1:, 1:], x[:-1, :-1], out=tmp[1:, 1:])
        np.multiply(west[0, 1:], x[-1, :-1], out=tmp[0, 1:])
        out[:, 1:] += tmp[:, 1:]
        np.multiply(east[:-1, :-1], x[1:, 1:], out=tmp[:-1, :-1])
        np.multiply(east[-1, :-1], x[0, 1:], out=tmp[-1, :-1])
        out[:, :-1] += tmp[:, :-1]
        np.multiply(self.diag, x, out=tmp)
        np.subtract(tmp, out, out=out)
        return out

    def precondition(self, r: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
        """out = SSOR: ``omega (2 - omega) (D + omega U)^-1 D (D + omega L)^-1 r`` for every item."""
        m, fw, fs, be, bn = self.m, self.fw, self.fs, self.be, self.bn
        y = np.multiply(r, self.inv_diag, out=out)
        t = tmp[0]  # (m, N) scratch for one anti-diagonal
        for row, lo, hi in self.segments:  # forward: (D + omega L) y = r, anti-diagonal by anti-diagonal
            prev = (row - 1) % m
            y[row, lo:hi] += np.multiply(fs[row, lo:hi], y[prev, lo:hi], out=t[lo:hi])
            lo1 = max(lo, 1)  # the west neighbour of column 0 is on the boundary
            if lo1 < hi:
                y[row, lo1:hi] += np.multiply(fw[row, lo1:hi], y[prev, lo1 - 1 : hi - 1], out=t[lo1:hi])
        for row, lo, hi in reversed(self.segments):  # backward, in place: (D + omega U) z = D y
            nxt = (row + 1) % m
            y[row, lo:hi] += np.multiply(bn[row, lo:hi], y[nxt, lo:hi], out=t[lo:hi])
            hi1 = min(hi, m - 1)  # the east neighbour of column m - 1 is on the boundary
            if lo < hi1:
                y[row, lo:hi1] += np.multiply(be[row, lo:hi1], y[nxt, lo + 1 : hi1 + 1], out=t[lo:hi1])
        y *= self.factor
        return y


def _keep(values: np.ndarray | None, keep: np.ndarray) -> np.ndarray | None:
    """The items (last axis) where keep is True, C-contiguous (``values[..., keep]`` would not be)."""
    return None if values is None else np.compress(keep, values, axis=-1)


def _items_last(grids: np.ndarray) -> np.ndarray:
    """(N, m, m) natural grids -> (m, m, N) folded."""
    return np.ascontiguousarray(np.moveaxis(fold(grids), 0, -1))


def _items_first(folded: np.ndarray) -> np.ndarray:
    """(m, m, N) folded -> (N, m, m) natural grids."""
    return unfold(np.moveaxis(folded, -1, 0))


def _repeated(grids, count: int) -> np.ndarray:
    """Each of the (m, m) grids ``count`` times in a row, as batch items (m, m, len(grids) * count)."""
    return _items_last(np.repeat(np.stack(grids), count, axis=0))


def _batch(stencils, omegas) -> _Batch:
    """One item per (stencil, ω) pair, stencil-major with ω fastest."""
    omegas = np.asarray(omegas, dtype=float)
    coefficients = zip(*(_west_south(s) for s in stencils))
    return _Batch(*(_repeated(c, len(omegas)) for c in coefficients), np.tile(omegas, len(stencils)))


def _west_south(stencil: Stencil) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(diag, west, south): each unknown's couplings to (i - 1, j) and (i, j - 1), 0 on the boundary.

    The sweeps want every unknown's lower neighbours at its own index, not the Stencil's per-edge
    cx/cy.
    """
    if stencil.shape[0] != stencil.shape[1]:
        raise ValueError(f"the anti-diagonal sweeps need a square grid, got {stencil.shape}")
    west, south = np.zeros(stencil.shape), np.zeros(stencil.shape)
    west[1:], south[:, 1:] = stencil.cx, stencil.cy
    return stencil.diag, west, south


def _dot(a: np.ndarray, b: np.ndarray, tmp: np.ndarray | None = None) -> np.ndarray:
    """Dot products of every item of (m, m, N) arrays.

    Summed by an explicit pairwise tree of array additions, so every item's sum is the same
    whatever N is (NumPy's own reductions change order with the shape).
    """
    count = a.shape[-1]
    terms = np.multiply(a, b, out=tmp).reshape(-1, count)
    while len(terms) > 1:
        half = len(terms) // 2
        pairs = terms[:half] + terms[half : 2 * half]
        if len(terms) % 2:
            pairs[-1] += terms[-1]
        terms = pairs
    return terms[0].copy()


def _pcg(batch: _Batch, b: np.ndarray, x0: np.ndarray, rtol: float, max_iterations: int,
         solution: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """SSOR-preconditioned CG on every item of the batch (arrays (m, m, N)).

    Returns the iteration counts (N,) and, if ``solution``, the iterates (m, m, N) (else None). An
    item converges at the first iteration where ``|b - A x| <= rtol |b|``; one that has not after
    ``max_iterations`` gets ``max_iterations``. Without ``solution`` the iterates are not formed.
    Every item's arithmetic is independent of the others, so dropping converged items (which saves
    work) changes no result.
    """
    iterations = np.full(b.shape[-1], max_iterations, dtype=np.int64)
    x_out = x0.copy() if solution else None
    q, tmp = np.empty_like(b), np.empty_like(b)
    threshold = (rtol**2) * _dot(b, b)
    r = b - batch.matvec(x0, q, tmp)
    done = _dot(r, r) <= threshold
    iterations[done] = 0
    live = ~done
    ids, threshold, r, x = (_keep(v, live) for v in (np.arange(len(iterations)), threshold, r, x_out))
    batch = batch.take(live)
    if len(ids) == 0 or max_iterations == 0:
        return iterations, x_out
    q, z, tmp = np.empty_like(r), np.empty_like(r), np.empty_like(r)
    batch.precondition(r, z, tmp)
    p = z.copy()
    rz = _dot(r, z, tmp)
    active = np.ones(len(ids), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # finished items may break down
        for it in range(1, max_iterations + 1):
            batch.matvec(p, q, tmp)
            alpha = rz / _dot(p, q, tmp)
            if solution:
                x += np.multiply(alpha, p, out=tmp)
            r -= np.multiply(alpha, q, out=tmp)
            converged = active & (_dot(r, r, tmp) <= threshold)
            if converged.any():
                iterations[ids[converged]] = it
                if solution:
                    x_out[..., ids[converged]] = x[..., converged]
                active &= ~converged
                if not active.any():
                    break
                if active.sum() <= 0.85 * len(active):  # worth copying the rest into a smaller batch
                    ids, rz, threshold, r, p, x = (_keep(v, active) for v in (ids, rz, threshold, r, p, x))
                    batch = batch.take(active)
                    active = np.ones(len(ids), dtype=bool)
                    q, z, tmp = np.empty_like(r), np.empty_like(r), np.empty_like(r)
            if it == max_iterations:
                break
            batch.precondition(r, z, tmp)
            rz_new = _dot(r, z, tmp)
            p *= rz_new / rz
            p += z
            rz = rz_new
    if solution:
        x_out[..., ids[active]] = x[..., active]
    return iterations, x_out


# ----------------------------------------------------------------------------------------------
# public solver pieces
# ----------------------------------------------------------------------------------------------


def ssor_preconditioner(stencil: Stencil, r: np.ndarray, omega: float) -> np.ndarray:
    """Apply the SSOR(ω) preconditioner ``M^-1`` to ``r`` (m, m) or a batch (N, m, m) of grids.

    ``M = (D + ω L) D^-1 (D + ω U) / (ω (2 - ω))``, with L the strictly lower part in natural
    (row-major) order. M is symmetric positive definite for 0 < ω < 2.
    """
    r = np.asarray(r, dtype=float)
    grids = r[None] if r.ndim == 2 else r
    folded = _items_last(grids)
    batch = _batch([stencil], np.full(len(grids), float(omega)))
    out = _items_first(batch.precondition(folded, np.empty_like(folded), np.empty_like(folded)))
    return out[0] if r.ndim == 2 else out


def ssor_pcg(stencil: Stencil, b: np.ndarray, omega: float, *, x0: np.ndarray | None = None, rtol: float = 1e-8,
             max_iterations: int = MAX_ITERATIONS) -> tuple[np.ndarray, int]:
    """Solve ``stencil u = b`` (b: (m, m)) by SSOR(ω)-preconditioned CG from ``x0`` (default 0).

    Returns ``(u, iterations)``. Stops at the first iteration where ``|b - A u| <= rtol |b|``. If it
    has not got there after ``max_iterations``, it returns that iterate and ``max_iterations``.
    """
    b = np.asarray(b, dtype=float)
    x0 = np.zeros_like(b) if x0 is None else np.asarray(x0, dtype=float)
    iterations, x = _pcg(_batch([stencil], [omega]), _repeated([b], 1), _repeated([x0], 1), rtol, max_iterations,
                         solution=True)
    return _items_first(x)[0], int(iterations[0])


def ssor_pcg_iterations(stencils, b, x0, omegas, *, rtol: float = 1e-8,
                        max_iterations: int = MAX_ITERATIONS) -> np.ndarray:
    """Iteration counts (len(stencils), len(omegas)) of :func:`ssor_pcg` on every (system, ω) pair.

    ``stencils``, ``b`` and ``x0`` are sequences of the same length (b and x0: (m, m) grids). Every
    pair is solved in one batch: the same arithmetic as a single solve, so the counts are identical.
    """
    omegas = np.asarray(omegas, dtype=float)
    k = len(omegas)
    iterations, _ = _pcg(_batch(stencils, omegas), _repeated(b, k), _repeated(x0, k), rtol, max_iterations)
    return iterations.reshape(len(stencils), k)
