"""Learning the SSOR relaxation parameter across a sequence of linear systems.

After "Learning to Relax: Setting Solver Parameters Across a Sequence of Linear System Instances"
(Khodak, Chow, Balcan, Talwalkar, ICLR 2024). In a simulation many related systems are solved one
after another, and the only feedback from a solve is how many iterations it took. A bandit,
Tsallis-INF (Zimmert & Seldin), learns which relaxation parameter ω of the SSOR preconditioner to
use among 20 values in [1, 1.95]. Its total cost is compared with:

- the best fixed ω in hindsight (the bandit's regret is measured against this one);
- the textbook default ω = 1 (symmetric Gauss–Seidel);
- the instance-optimal policy (the best ω for every system), which is a lower bound.

The sequence (:func:`heat_systems`) is the 2-D heat equation ``u_t = div(a(x, y, t) grad u) + f``
on the unit square with ``u = 0`` on the edge, discretised with the five-point finite volumes of
:func:`neuralsolve.reference.darcy.darcy_stencil` and stepped with Crank–Nicolson:
``(I + dt/2 A_{n+1/2}) u^{n+1} = (I - dt/2 A_{n+1/2}) u^n + dt f``. The diffusivity
``a = exp(c(t) g(x, y))`` has a fixed smooth random field ``g`` with values in [0, 1], and ``c(t)``
oscillates slowly between 0 and ``log(contrast)``. As a stiffens and softens, the best ω drifts.

The solver (:func:`ssor_pcg`) is conjugate gradients preconditioned by SSOR(ω). The sequence does
not depend on ω: u is advanced by one direct solve per step, so every ω's solve of system n starts
from the same u^n (the warm start). :func:`iteration_table` builds the table ``iterations[n, k]``
for all 20 ω at once.

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

import itertools
import math
import time

import numpy as np
import scipy.sparse.linalg as splinalg

from ..reference.darcy import darcy_stencil
from ..reference.stencil import Stencil

OMEGAS = np.linspace(1.0, 1.95, 20)

# The heat-equation sequence (see relaxation_benchmark's docstring for why these values).
DT = 1e-2
CONTRAST = 100.0
PERIOD = 10.0  # physical time of one oscillation of c(t): 1000 steps at DT
MAX_ITERATIONS = 200  # the CG cap
_ELEMENTS_PER_CHUNK = 250_000  # grid values per batched array (larger chunks were slower on a 2-core CPU)


# ----------------------------------------------------------------------------------------------
# the heat-equation sequence
# ----------------------------------------------------------------------------------------------
def heat_coefficient_field(cells: int, seed: int = 0) -> np.ndarray:
    """The fixed smooth random field g in [0, 1] on the (cells + 1)^2 vertex grid (a = exp(c(t) g)).

    A sum of 16 low Fourier modes with random amplitudes decaying like 1/|k|², drawn in the
    continuum, then rescaled to [0, 1] by its extremes on the grid.
    """
    rng = np.random.default_rng([seed, 7321])
    x = np.linspace(0.0, 1.0, cells + 1)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    g = np.zeros_like(xx)
    for kx in range(1, 5):
        for ky in range(1, 5):
            amp, phase_x, phase_y = rng.standard_normal(), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
            g += amp / (kx * kx + ky * ky) * np.cos(np.pi * kx * xx + phase_x) * np.cos(np.pi * ky * yy + phase_y)
    return (g - g.min()) / (g.max() - g.min())


def heat_contrast_exponent(t: float, contrast: float = CONTRAST, period: float = PERIOD) -> float:
    """c(t) = log(contrast) (1 - cos(2 pi t / period)) / 2: from 0 (a = 1) to log(contrast) and back."""
    return 0.5 * math.log(contrast) * (1.0 - math.cos(2.0 * math.pi * t / period))


def heat_source(cells: int) -> np.ndarray:
    """The fixed source f on the vertex grid: a positive sine bump plus a narrow off-centre Gaussian."""
    x = np.linspace(0.0, 1.0, cells + 1)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    return 10.0 * np.sin(np.pi * xx) * np.sin(np.pi * yy) + 20.0 * np.exp(-((xx - 0.3) ** 2 + (yy - 0.7) ** 2) / 0.02)


def heat_systems(cells: int, steps: int, *, dt: float = DT, seed: int = 0, contrast: float = CONTRAST,
                 period: float = PERIOD):
    """The Crank–Nicolson systems of the heat-equation sequence, one at a time.

    Yields ``(stencil, b, x0)`` for steps n = 0 .. steps - 1. The stencil (a
    :class:`~neuralsolve.reference.stencil.Stencil`) is ``I + dt/2 A_{n+1/2}`` with
    ``A = darcy_stencil(a(., t_n + dt/2))``. The right-hand side is
    ``b = (I - dt/2 A_{n+1/2}) u^n + dt f``, and ``x0 = u^n`` is the warm start, shaped (m, m) with
    ``m = cells - 1``. The sequence starts from ``u^0 = 0``. Each u^{n+1} comes from a direct
    sparse solve (SuperLU), so the sequence, and every warm start, is the same whatever ω the
    iterative solver uses.
    """
    if cells < 3:
        raise ValueError(f"cells must be at least 3, got {cells}")
    m = cells - 1
    g = heat_coefficient_field(cells, seed)
    source = dt * heat_source(cells)[1:-1, 1:-1].ravel()
    scale = 0.5 * dt
    u = np.zeros(m * m)
    for n in range(steps):
        stiffness = darcy_stencil(np.exp(heat_contrast_exponent((n + 0.5) * dt, contrast, period) * g))
        half = Stencil(scale * stiffness.diag, scale * stiffness.cx, scale * stiffness.cy, stiffness.mask)
        left = Stencil(1.0 + half.diag, half.cx, half.cy, half.mask)
        b = u - half.matrix() @ u + source
        yield left, b.reshape(m, m), u.reshape(m, m).copy()
        u = splinalg.spsolve(left.matrix().tocsc(), b, permc_spec="MMD_AT_PLUS_A")


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


def table_for_systems(systems, omegas=OMEGAS, *, rtol: float = 1e-8,
                      max_iterations: int = MAX_ITERATIONS) -> np.ndarray:
    """Iteration counts (len(systems), len(omegas)) of :func:`ssor_pcg` on a list of ``(stencil, b, x0)``.

    Every (system, ω) pair is solved in one batch: the same arithmetic as a single solve, so the
    counts are identical.
    """
    omegas = np.asarray(omegas, dtype=float)
    if not systems:
        return np.zeros((0, len(omegas)), dtype=np.int64)
    stencils, b, x0 = zip(*systems)
    k = len(omegas)
    iterations, _ = _pcg(_batch(stencils, omegas), _repeated(b, k), _repeated(x0, k), rtol, max_iterations)
    return iterations.reshape(len(systems), k)


def iteration_table(cells: int, steps: int, *, rtol: float = 1e-8, seed: int = 0, omegas=OMEGAS, dt: float = DT,
                    contrast: float = CONTRAST, period: float = PERIOD, max_iterations: int = MAX_ITERATIONS,
                    progress=None) -> np.ndarray:
    """The table ``iterations[n, k]``: SSOR(ω_k)-PCG iterations on system n of :func:`heat_systems`.

    The systems come in chunks (at most 1% of the steps, and at most 250 000 grid values per batched
    array). Each chunk is solved for every ω at once by :func:`table_for_systems`. ``progress(done, total)`` is
    called about every 1% of the steps, and at the end.
    """
    m = cells - 1
    per_chunk = max(1, min(math.ceil(steps / 100), _ELEMENTS_PER_CHUNK // (len(omegas) * m * m)))
    table = np.zeros((steps, len(omegas)), dtype=np.int64)
    systems = heat_systems(cells, steps, dt=dt, seed=seed, contrast=contrast, period=period)
    reported = 0
    for start in range(0, steps, per_chunk):
        chunk = list(itertools.islice(systems, per_chunk))
        end = start + len(chunk)
        table[start:end] = table_for_systems(chunk, omegas, rtol=rtol, max_iterations=max_iterations)
        if progress is not None and (100 * (end - reported) >= steps or end == steps):
            progress(end, steps)
            reported = end
    return table


# ----------------------------------------------------------------------------------------------
# the bandit and the benchmark
# ----------------------------------------------------------------------------------------------


def tsallis_inf_weights(cumulative_losses: np.ndarray, eta: float) -> np.ndarray:
    """The 1/2-Tsallis OMD step: ``w_i = 4 / (eta (L_i - x))^2`` with the normaliser x making sum(w) = 1.

    Newton's method on x (Zimmert & Seldin, Algorithm 2). It starts at ``x = min L - 2/eta``, where
    the largest weight is already 1, so sum(w) >= 1. The function is convex and increasing in x,
    so the iterates decrease monotonically to the root.
    """
    losses = np.asarray(cumulative_losses, dtype=float)
    x = losses.min() - 2.0 / eta
    for _ in range(100):
        w = 4.0 / (eta * (losses - x)) ** 2
        excess = w.sum() - 1.0
        if abs(excess) < 1e-12:
            break
        x -= excess / (eta * np.sum(w**1.5))
    w = 4.0 / (eta * (losses - x)) ** 2
    return w / w.sum()


def tsallis_inf(table: np.ndarray, seed: int = 0, *, scale: float | None = None, return_probabilities: bool = False):
    """Tsallis-INF (1/2-Tsallis entropy, Zimmert & Seldin 2021) on a table (T, K) of costs >= 0.

    An online bandit. At round t it draws an arm from ``w_t`` and sees only that arm's cost
    ``table[t, arm]``. Its loss is the cost divided by ``scale``, or by default by the largest cost
    observed so far (itself included), which keeps losses in [0, 1] without knowing the costs in
    advance. It adds the importance-weighted estimate ``loss / w_t[arm]`` to that arm's cumulative
    estimate. The table only stores the costs every arm would have had. The learning rate is
    ``eta_t = 2 / sqrt(t)`` (t = 1, 2, ...), the schedule of Zimmert & Seldin's Theorem 1 for
    α = 1/2. That theorem bounds the adversarial pseudo-regret against the best fixed arm by
    ``4 sqrt(K T) + 1`` in units of the loss, for losses in [0, 1]: a fixed scale far above the
    costs (such as an iteration cap of 200 for costs of 10-30) makes the losses, and the learning,
    small. The random generator is seeded.

    Returns the chosen arms (T,), and with ``return_probabilities`` also the probabilities (T, K).
    """
    table = np.asarray(table, dtype=float)
    steps, arms = table.shape
    rng = np.random.default_rng(seed)
    estimates = np.zeros(arms)
    choices = np.zeros(steps, dtype=np.int64)
    probabilities = np.zeros((steps, arms)) if return_probabilities else None
    seen = 0.0
    for t in range(steps):
        w = tsallis_inf_weights(estimates, 2.0 / math.sqrt(t + 1))
        arm = int(rng.choice(arms, p=w))
        cost = table[t, arm]
        seen = max(seen, cost)
        divisor = scale if scale is not None else seen
        estimates[arm] += (cost / divisor if divisor > 0 else 0.0) / w[arm]
        choices[t] = arm
        if return_probabilities:
            probabilities[t] = w
    return (choices, probabilities) if return_probabilities else choices


def _thinned(length: int, points: int = 500) -> np.ndarray:
    """About ``points`` evenly spaced indices into ``length`` entries, the last one included."""
    return np.unique(np.linspace(0, length - 1, min(points, length)).round().astype(int))


def _curve(values: np.ndarray) -> list[int]:
    """Cumulative sums, thinned by :func:`_thinned`."""
    cumulative = np.cumsum(values)
    return [int(v) for v in cumulative[_thinned(len(cumulative))]]


def _reference_columns(table: np.ndarray, omegas) -> tuple[int, int]:
    """The columns of the best fixed ω (least total) and of ω = 1 (the closest ω to it)."""
    return int(np.argmin(table.sum(axis=0))), int(np.argmin(np.abs(np.asarray(omegas, dtype=float) - 1.0)))


def policy_totals(table: np.ndarray, choices: np.ndarray, omegas=OMEGAS) -> dict:
    """Totals of the bandit's choices, the best fixed ω, ω = 1 and the instance-optimal policy on a table."""
    table = np.asarray(table)
    columns = table.sum(axis=0)
    best, one = _reference_columns(table, omegas)
    bandit = int(table[np.arange(len(table)), choices].sum())
    return {
        "bandit": bandit,
        "best_fixed": int(columns[best]),
        "best_fixed_omega": round(float(omegas[best]), 6),
        "omega_one": int(columns[one]),
        "instance_optimal": int(table.min(axis=1).sum()),
        "bandit_over_best_fixed": bandit / max(int(columns[best]), 1),
        "omega_one_over_bandit": int(columns[one]) / max(bandit, 1),
    }


def benchmark_summary(table: np.ndarray, seed: int = 0, *, loss_scale: float | None = None, omegas=OMEGAS,
                      table_seconds: float = 0.0) -> dict:
    """Run :func:`tsallis_inf` on the iteration table (losses: iterations over ``loss_scale``, by
    default over the most iterations observed so far) and compare it with the fixed policies.

    This is the part of :func:`relaxation_benchmark` after the table is built. Its keys are
    described there.
    """
    table = np.asarray(table)
    started = time.perf_counter()
    choices = tsallis_inf(table, seed, scale=loss_scale)
    bandit_seconds = time.perf_counter() - started
    totals = policy_totals(table, choices, omegas)
    best, one = _reference_columns(table, omegas)
    return {
        "omegas": [round(float(w), 6) for w in omegas],
        "loss_scale": "most iterations observed so far" if loss_scale is None else float(loss_scale),
        "learning_rate": "2/sqrt(t)",
        "totals": totals,
        "best_fixed_omega": totals["best_fixed_omega"],
        "bandit_over_best_fixed": totals["bandit_over_best_fixed"],
        "omega_one_over_bandit": totals["omega_one_over_bandit"],
        "seconds": {"table": table_seconds, "bandit": bandit_seconds, "total": table_seconds + bandit_seconds},
        "choices": [int(c) for c in choices],
        "curves": {
            "step": [int(i) + 1 for i in _thinned(len(table))],
            "bandit": _curve(table[np.arange(len(table)), choices]),
            "best_fixed": _curve(table[:, best]),
            "omega_one": _curve(table[:, one]),
            "instance_optimal": _curve(table.min(axis=1)),
        },
    }


def relaxation_benchmark(cells: int, steps: int, rtol: float = 1e-8, seed: int = 0, progress=None) -> dict:
    """Tsallis-INF choosing ω for SSOR-PCG over ``steps`` heat-equation systems, against fixed policies.

    Builds the table with :func:`iteration_table`: 20 ω in linspace(1, 1.95, 20), ``dt = 1e-2``,
    contrast up to 100, one oscillation of c(t) every 1000 steps, warm starts, relative residual
    ``rtol``, at most 200 CG iterations. Then it runs :func:`tsallis_inf` on the iteration counts
    (losses: iterations over the most observed so far; a fixed scale of 200, the cap, was measured
    too: see docs/linear-solvers.md). ``seed`` seeds both the random field g and the bandit. The
    bandit is online: it sees only the count of the ω it chose. It is compared with the best fixed
    ω in hindsight, ω = 1, and the per-step best ω.

    Why dt = 1e-2. With ``dt = 1e-3`` at 32 cells, ``dt/2 λ_max(A) ≈ 4 max a``. While a is about 1,
    every ω converges in 4-5 iterations and ω = 1 is about the best. Over 5000 steps (with the
    same c(t) per step), ω = 1 costs 1.46 times the best fixed ω. ``dt = 1e-2`` and a up to 100
    give ``dt/2 λ_max`` from about 40 to 4000. Over that range the best ω moves between about 1.35
    and 1.75, and ω = 1 costs 1.69 times the best fixed ω (1.65).

    Returns a JSON-serialisable dict:

    - ``omegas``;
    - ``totals``: the iterations of ``bandit``, ``best_fixed``, ``omega_one`` and
      ``instance_optimal``, plus ``best_fixed_omega`` and the ratios ``bandit_over_best_fixed``
      and ``omega_one_over_bandit`` (these three also at the top level);
    - ``seconds``: ``table``, ``bandit`` and ``total``;
    - ``choices``: the bandit's ω index at each step;
    - ``curves``: ``step`` and the cumulative iterations of every policy, thinned to about 500
      points;
    - the settings: ``cells``, ``steps``, ``rtol``, ``seed``, ``dt``, ``contrast``, ``period``,
      ``max_iterations``, ``loss_scale`` and ``learning_rate``.

    ``progress(done, total)`` is called about every 1% of the steps while the table is built.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    start = time.perf_counter()
    table = iteration_table(cells, steps, rtol=rtol, seed=seed, progress=progress)
    summary = benchmark_summary(table, seed, table_seconds=time.perf_counter() - start)
    settings = {"cells": cells, "steps": steps, "rtol": rtol, "seed": seed, "dt": DT, "contrast": CONTRAST,
                "period": PERIOD, "max_iterations": MAX_ITERATIONS}
    return {**settings, **summary}
