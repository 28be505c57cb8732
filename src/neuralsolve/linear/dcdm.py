"""Learned conjugate directions (Deep Conjugate Direction Method, Kaneda et al., ICML 2023).

Each iteration asks the network for a direction from the normalised residual, A-orthogonalises it
against the last ``memory`` directions (16 by default; DCDM keeps two), takes the exact line search
step, and recomputes the true residual ``b - A x`` (not the recurrence, so round-off cannot hide a
stall). The network is nonlinear, so its directions are not the Krylov directions of CG and
conjugacy against the last few is not CG's conjugacy against all: a longer memory keeps more of it
(as in flexible CG), for 2m dot products an iteration against one network pass (measured on the
diffusion family, trained to 256² cells: 24 → 19 iterations at 256², 32 → 23 at 512², with 2 → 16
kept). Nothing guarantees progress: when the residual has not reached a new low for ``patience`` iterations the
solver falls back to plain conjugate gradients from where it is, and says so in its record.

Vectors and the system are float64; the network runs in its own precision (float32) on the residual
divided by its root mean square, so its input looks the same at every grid size and every stage of
the solve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..reference.stencil import Stencil
from .baselines import SolveRecord
from .network import context

PATIENCE = 10  # iterations without a new lowest residual before falling back to CG
MEMORY = 16  # earlier directions each new one is made A-orthogonal to (DCDM keeps 2; see the docstring)


@dataclass(frozen=True)
class Learned:
    """What a learned solve adds to its :class:`SolveRecord`: iterations that used the network, and
    the iteration at which it fell back to CG (None if it never did)."""

    learned_iterations: int
    fell_back_at: int | None


def apply(diag, cx, cy, x):
    """``A x`` for the stencil arrays (JAX; see :class:`~neuralsolve.reference.stencil.Stencil`)."""
    zx, zy = jnp.zeros((1, x.shape[1]), x.dtype), jnp.zeros((x.shape[0], 1), x.dtype)
    up = jnp.concatenate([cx * x[1:, :], zx])  # coupling to (i+1, j)
    down = jnp.concatenate([zx, cx * x[:-1, :]])
    right = jnp.concatenate([cy * x[:, 1:], zy], axis=1)
    left = jnp.concatenate([zy, cy * x[:, :-1]], axis=1)
    return diag * x - up - down - right - left


def direction(network, residual, ctx, diag, mask):
    """The network's direction for ``residual``, in the residual's dtype, zero off the mask."""
    rms = jnp.sqrt(jnp.mean(residual**2))
    q = network((residual / jnp.where(rms > 0, rms, 1.0)).astype(ctx.dtype), ctx)
    return jnp.where(mask, q.astype(residual.dtype) / diag, 0.0)


def _iterate(network, diag, cx, cy, mask, b, rtol, maxiter, patience, memory):
    ctx = context(diag.astype(jnp.float32), cx.astype(jnp.float32), cy.astype(jnp.float32), mask)
    bnorm = jnp.linalg.norm(b)
    dot = jnp.vdot
    zero = jnp.zeros_like(b)
    kept = jnp.zeros((memory, *b.shape), b.dtype)  # the last `memory` directions, newest first

    def step(c):
        x, r, ps, aps, k, best, since, learned, fell = c
        q = jax.lax.cond(fell < 0, lambda r: direction(network, r, ctx, diag, mask), lambda r: r, r)
        aq = apply(diag, cx, cy, q)
        for i in range(memory):  # A-orthogonal to the kept directions (modified Gram-Schmidt)
            pap = dot(ps[i], aps[i])
            beta = jnp.where(pap > 0, dot(q, aps[i]) / jnp.where(pap > 0, pap, 1.0), 0.0)
            q, aq = q - beta * ps[i], aq - beta * aps[i]
        qaq = dot(q, aq)
        alpha = jnp.where(qaq > 0, dot(q, r) / jnp.where(qaq > 0, qaq, 1.0), 0.0)
        x = x + alpha * q
        r = b - apply(diag, cx, cy, x)
        rn = jnp.linalg.norm(r)
        improved = rn < best
        since = jnp.where(improved, 0, since + 1)
        learned = learned + (fell < 0).astype(learned.dtype)
        fell = jnp.where((fell < 0) & (since >= patience), k + 1, fell)
        ps, aps = jnp.concatenate([q[None], ps[:-1]]), jnp.concatenate([aq[None], aps[:-1]])
        return x, r, ps, aps, k + 1, jnp.minimum(rn, best), since, learned, fell

    def going(c):
        return (jnp.linalg.norm(c[1]) > rtol * bnorm) & (c[4] < maxiter)

    i0 = jnp.zeros((), jnp.int32)
    start = (zero, b, kept, kept, i0, bnorm, i0, i0, i0 - 1)
    x, _, _, _, k, _, _, learned, fell = jax.lax.while_loop(going, step, start)
    return x, k, learned, fell


class LearnedSolver:
    """Solves stencil systems with a trained direction network; compiles once per grid shape."""

    def __init__(self, network, patience: int = PATIENCE, memory: int = MEMORY):
        if isinstance(memory, bool) or not isinstance(memory, int) or memory < 1:
            raise ValueError(f"memory must be a whole number of at least 1, got {memory!r}")
        self.params, self.static = eqx.partition(network, eqx.is_array)
        self.patience, self.memory = patience, memory
        self._compiled = {}

    def compile(self, shape: tuple[int, int]) -> float:
        """Compile for ``shape`` ahead of the solves; returns the seconds it took (0 if done before)."""
        if shape in self._compiled:
            return 0.0
        start = time.perf_counter()
        with jax.enable_x64(True):
            f64 = jax.ShapeDtypeStruct(shape, jnp.float64)
            args = (f64, jax.ShapeDtypeStruct((shape[0] - 1, shape[1]), jnp.float64),
                    jax.ShapeDtypeStruct((shape[0], shape[1] - 1), jnp.float64),
                    jax.ShapeDtypeStruct(shape, jnp.bool_), f64, 1.0, 1, self.patience, self.memory)  # fmt: skip
            fn = jax.jit(self._run, static_argnums=(8, 9)).lower(self.params, *args).compile()
        self._compiled[shape] = fn
        return time.perf_counter() - start

    def _run(self, params, diag, cx, cy, mask, b, rtol, maxiter, patience, memory):
        return _iterate(eqx.combine(params, self.static), diag, cx, cy, mask, b, rtol, maxiter, patience, memory)

    def solve(self, system: Stencil, b: np.ndarray, rtol: float, maxiter: int | None = None):
        """``(x, SolveRecord, Learned)`` for ``A x = b`` to relative residual ``rtol``."""
        b = np.asarray(b, float).reshape(system.shape)
        maxiter = maxiter or 40 * max(system.shape)
        self.compile(system.shape)
        start = time.perf_counter()
        with jax.enable_x64(True):
            arrays = [jnp.asarray(v) for v in (system.diag, system.cx, system.cy, system.mask, b)]
            setup = time.perf_counter()
            x, k, learned, fell = self._compiled[system.shape](self.params, *arrays, rtol, maxiter)
            x = np.asarray(jax.block_until_ready(x))
        done = time.perf_counter()
        residual = float(np.linalg.norm(b - system.apply(x)) / np.linalg.norm(b))
        record = SolveRecord("learned", int(k), setup - start, done - setup, residual, residual <= rtol)
        return x, record, Learned(int(learned), None if int(fell) < 0 else int(fell))
