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

The solver, :func:`~neuralsolve.linear.ssor.ssor_pcg`, is conjugate gradients preconditioned by
SSOR(ω); it lives in :mod:`neuralsolve.linear.ssor` (ssor.py), whose docstring explains its
natural ordering (and why not red–black) and its batched layout. The sequence does
not depend on ω: u is advanced by one direct solve per step, so every ω's solve of system n starts
from the same u^n (the warm start). :func:`iteration_table` builds the table ``iterations[n, k]``
for all 20 ω at once.

All arrays here are NumPy.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import scipy.sparse.linalg as splinalg

from ..reference.darcy import darcy_stencil
from ..reference.stencil import Stencil
from .ssor import MAX_ITERATIONS, ssor_pcg_iterations

OMEGAS = np.linspace(1.0, 1.95, 20)

# The heat-equation sequence (see relaxation_benchmark's docstring for why these values; the CG cap,
# MAX_ITERATIONS, is ssor.py's).
DT = 1e-2
CONTRAST = 100.0
PERIOD = 10.0  # physical time of one oscillation of c(t): 1000 steps at DT
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
# the iteration table
# ----------------------------------------------------------------------------------------------


def table_for_systems(systems, omegas=OMEGAS, *, rtol: float = 1e-8,
                      max_iterations: int = MAX_ITERATIONS) -> np.ndarray:
    """Iteration counts (len(systems), len(omegas)) of SSOR-PCG on a list of ``(stencil, b, x0)``.

    Every (system, ω) pair is solved in one batch by :func:`~neuralsolve.linear.ssor.ssor_pcg_iterations`:
    the same arithmetic as a single :func:`~neuralsolve.linear.ssor.ssor_pcg` solve, so the counts
    are identical.
    """
    omegas = np.asarray(omegas, dtype=float)
    if not systems:
        return np.zeros((0, len(omegas)), dtype=np.int64)
    stencils, b, x0 = zip(*systems)
    return ssor_pcg_iterations(stencils, b, x0, omegas, rtol=rtol, max_iterations=max_iterations)


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


ESTIMATORS = ("reduced-variance", "importance")


def tsallis_inf(table: np.ndarray, seed: int = 0, *, scale: float | None = None, estimator: str = "reduced-variance",
                return_probabilities: bool = False):  # fmt: skip
    """Tsallis-INF (1/2-Tsallis entropy, Zimmert & Seldin 2021) on a table (T, K) of costs >= 0.

    An online bandit. At round t it draws an arm from ``w_t`` and sees only that arm's cost
    ``table[t, arm]``. Its loss is the cost divided by ``scale``, or by default by the largest cost
    observed so far (itself included), which keeps losses in [0, 1] without knowing the costs in
    advance. Each arm's cumulative loss estimate grows by an unbiased estimate of its loss:

    - ``estimator = "reduced-variance"`` (the paper's choice for its best bounds):
      ``B + 1[arm = i] (loss - B) / w_i`` with ``B = 1/2`` where ``w_i >= eta_t^2``, else 0, and the
      learning rate ``eta_t = 4 / sqrt(t)``. Centring on 1/2 matters here: iteration counts sit in a
      narrow band well inside [0, 1] once scaled (0.4-0.8), so the plain estimate's variance is
      mostly the loss's size, not its differences between arms;
    - ``"importance"``: ``1[arm = i] loss / w_i``, ``eta_t = 2 / sqrt(t)``.

    These are the two settings of the paper's Theorem 1 (t = 1, 2, ...), which bounds the
    adversarial pseudo-regret against the best fixed arm for losses in [0, 1]: a fixed scale far
    above the costs (such as an iteration cap of 200 for costs of 10-30) makes the losses, and the
    learning, small. The random generator is seeded.

    Returns the chosen arms (T,), and with ``return_probabilities`` also the probabilities (T, K).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    reduced = estimator == "reduced-variance"
    table = np.asarray(table, dtype=float)
    steps, arms = table.shape
    rng = np.random.default_rng(seed)
    estimates = np.zeros(arms)
    choices = np.zeros(steps, dtype=np.int64)
    probabilities = np.zeros((steps, arms)) if return_probabilities else None
    seen = 0.0
    for t in range(steps):
        eta = (4.0 if reduced else 2.0) / math.sqrt(t + 1)
        w = tsallis_inf_weights(estimates, eta)
        arm = int(rng.choice(arms, p=w))
        cost = table[t, arm]
        seen = max(seen, cost)
        divisor = scale if scale is not None else seen
        loss = cost / divisor if divisor > 0 else 0.0
        centre = np.where(w >= eta * eta, 0.5, 0.0) if reduced else np.zeros(arms)
        estimates += centre
        estimates[arm] += (loss - centre[arm]) / w[arm]
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
                      table_seconds: float = 0.0, estimator: str = "reduced-variance") -> dict:
    """Run :func:`tsallis_inf` on the iteration table (losses: iterations over ``loss_scale``, by
    default over the most iterations observed so far) and compare it with the fixed policies.

    This is the part of :func:`relaxation_benchmark` after the table is built. Its keys are
    described there.
    """
    table = np.asarray(table)
    started = time.perf_counter()
    choices = tsallis_inf(table, seed, scale=loss_scale, estimator=estimator)
    bandit_seconds = time.perf_counter() - started
    totals = policy_totals(table, choices, omegas)
    best, one = _reference_columns(table, omegas)
    return {
        "omegas": [round(float(w), 6) for w in omegas],
        "loss_scale": "most iterations observed so far" if loss_scale is None else float(loss_scale),
        "estimator": estimator,
        "learning_rate": "4/sqrt(t)" if estimator == "reduced-variance" else "2/sqrt(t)",
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


def relaxation_benchmark(cells: int, steps: int, rtol: float = 1e-8, seed: int = 0, progress=None,
                         estimator: str = "reduced-variance", bandit_seeds: int = 1) -> dict:  # fmt: skip
    """Tsallis-INF choosing ω for SSOR-PCG over ``steps`` heat-equation systems, against fixed policies.

    Builds the table with :func:`iteration_table`: 20 ω in linspace(1, 1.95, 20), ``dt = 1e-2``,
    contrast up to 100, one oscillation of c(t) every 1000 steps, warm starts, relative residual
    ``rtol``, at most 200 CG iterations. Then it runs :func:`tsallis_inf` on the iteration counts
    (losses: iterations over the most observed so far; a fixed scale of 200, the cap, was measured
    too: see docs/linear-solvers.md; reduced-variance estimates unless ``estimator`` says otherwise). ``seed`` seeds both the random field g and the bandit. The
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
    - ``estimators``: for each of :data:`ESTIMATORS`, the ``totals`` of the bandit run with seeds
      ``seed .. seed + bandit_seeds - 1`` on the same table (how much the result owes to the draw);
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
    summary = benchmark_summary(table, seed, table_seconds=time.perf_counter() - start, estimator=estimator)
    settings = {"cells": cells, "steps": steps, "rtol": rtol, "seed": seed, "dt": DT, "contrast": CONTRAST,
                "period": PERIOD, "max_iterations": MAX_ITERATIONS}
    # the summary's own run is the first of its estimator's: not run twice
    estimators = {name: [summary["totals"] if (name, k) == (estimator, 0) else
                         policy_totals(table, tsallis_inf(table, seed + k, estimator=name)) for k in range(bandit_seeds)]
                  for name in ESTIMATORS}  # fmt: skip
    return {**settings, **summary, "estimators": estimators}
