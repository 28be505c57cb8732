"""Classical solvers for sparse symmetric positive definite systems ``A x = b``: the baselines a
learned solver is measured against.

:func:`solve_baseline` runs one of :data:`BASELINES` from ``x0 = 0`` to the relative residual
``||b - A x|| / ||b|| <= rtol`` and returns x with a :class:`SolveRecord`. Every record's residual
is recomputed in float64 from the returned x (``converged`` is that check, not the solver's own
claim, which for the Krylov methods rests on the recursively updated residual); times are
``time.perf_counter`` seconds, split into setup (everything that depends on A only) and the
iteration.

- ``"cg"``: ``scipy.sparse.linalg.cg``, no preconditioner, ``atol = 0``; setup 0.
- ``"ilu-pcg"``: the same CG preconditioned by SuperLU's incomplete LU (:data:`ILU_OPTIONS`, see
  there for the choice); setup = ``spilu``.
- ``"amg"``: PyAMG smoothed aggregation with its defaults, as a stand-alone V-cycle iteration;
  iterations are cycles; setup = building the hierarchy.
- ``"amg-pcg"``: that hierarchy's V-cycle as the preconditioner of SciPy's CG; setup = the hierarchy.
- ``"jax-cg"``: ``jax.scipy.sparse.linalg.cg`` in float64 (inside ``jax.enable_x64(True)``, nothing
  global), the matrix as a ``jax.experimental.sparse.BCOO``, jitted; see :func:`_jax_cg` for how
  its iterations are counted and what its setup and solve times hold.

``maxiter`` (None) defaults to ``10 n`` iterations for the CG methods (SciPy's and JAX's own
default) and :data:`AMG_MAXITER` cycles for ``"amg"``; a solve that reaches it returns its last
iterate with ``converged = False`` and does not raise.

SciPy, PyAMG and JAX are imported here lazily (PyAMG and JAX only by the solvers that need them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as splinalg

BASELINES = ("cg", "ilu-pcg", "amg", "amg-pcg", "jax-cg")

AMG_MAXITER = 500
"""Default cap on stand-alone AMG cycles (PyAMG's default smoothed aggregation takes 13, 16, 18
and 22 V-cycles to 1e-8 on 2-D Poisson at 64^2 ... 512^2 cells, so 500 only stops a hierarchy that
has stagnated)."""

ILU_OPTIONS = {"drop_tol": 1e-2, "drop_rule": "basic", "fill_factor": 20.0, "permc_spec": "NATURAL",
               "diag_pivot_thresh": 0.0}  # fmt: skip
"""``scipy.sparse.linalg.spilu`` settings of ``"ilu-pcg"``: a threshold ILU a little richer than ILU(0).

- ``permc_spec="NATURAL"`` and ``diag_pivot_thresh=0``: no column reordering and no row pivoting,
  so for a symmetric matrix L and U^T come out nearly equal (``v.M^-1 w`` and ``w.M^-1 v`` agree to
  about 1e-4 relative), and CG, which needs a symmetric preconditioner, behaves.
- ``drop_tol=1e-2`` with ``drop_rule="basic"``: drop entries under 1 % of their column's size
  (SuperLU's rule), with no cap on the fill. SuperLU's default rule adds ``"area"``, which enforces
  ``fill_factor`` by dropping more from one factor than from the other; once the cap binds, the
  preconditioner is far from symmetric and CG diverges. SciPy's own defaults (``drop_tol=1e-4``,
  ``fill_factor=10``, area rule) do exactly that on 2-D Poisson at 64^2 cells and up (no
  convergence in 300 / 1000 / 1000 iterations at 64^2 / 128^2 / 256^2, the residual growing).
  Under "basic" the factors are the same for ``fill_factor`` 1, 2 or 20 (checked at 64^2): 20 is
  a nominal value.

Measured on the 5-point Poisson matrix (``darcy_matrix`` of a constant coefficient) to rtol 1e-8,
b = 1, one thread: nnz(L + U) / nnz(A), CG iterations at 128^2 / 256^2 cells (plain CG: 237 / 468):

==========  =====  =============  =====================================
drop_tol    fill   iterations     note
==========  =====  =============  =====================================
0.1         1.0    >1000 / >1000  ILU(0)'s storage, but worse than no preconditioner
0.05        1.4    >1000 / >1000
0.03        1.8    85 / 279       iterations more than triple with h halved: unreliable
**0.01**    2.6    49 / 98        O(1/h) growth, as IC(0)/ILU(0) theory gives; setup 0.2 / 1.9 s
0.001       7.0    21 / 51        setup 0.3 / 2.0 s, three times the memory
==========  =====  =============  =====================================

1e-2 is the smallest fill that converges reliably, with the iteration counts an ILU(0)-class
preconditioner should have (about 4.8x fewer iterations than plain CG at 256^2; 226 against 939
at 512^2). SuperLU's setup dominates its cost and grows about 8x per halving of h (0.02, 0.16,
1.2, 9.8 s at 64^2 ... 512^2 cells), far faster than the O(n) of a textbook ILU(0).
"""


@dataclass(frozen=True)
class SolveRecord:
    """One solve: which solver, how many iterations, how long, and how well it did."""

    solver: str
    iterations: int | None  # Krylov iterations / multigrid cycles (None only if truly unknowable)
    setup_s: float  # building the preconditioner / hierarchy / compiled solve (0 for plain CG)
    solve_s: float  # the iteration itself
    relative_residual: float  # ||b - A x|| / ||b||, recomputed in float64 after the solve
    converged: bool  # relative_residual <= rtol (recomputed, not the solver's claim)


def solve_baseline(name: str, matrix: sparse.csr_matrix, b: np.ndarray, rtol: float,
                   maxiter: int | None = None) -> tuple[np.ndarray, SolveRecord]:  # fmt: skip
    """Solve ``matrix @ x = b`` (A symmetric positive definite) with baseline ``name`` from x0 = 0
    to relative residual ``rtol``: returns ``(x, SolveRecord)``. See the module docstring."""
    if name not in _SOLVERS:
        raise ValueError(f"unknown baseline solver {name!r}: the baselines are {', '.join(BASELINES)}")
    rtol = float(rtol)
    if not (np.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a positive number, got {rtol!r}")
    if maxiter is not None and (int(maxiter) != maxiter or maxiter < 1):
        raise ValueError(f"maxiter must be a positive integer or None, got {maxiter!r}")
    matrix = sparse.csr_matrix(matrix, dtype=np.float64)
    n = matrix.shape[0]
    b = np.asarray(b, dtype=np.float64)
    if matrix.shape != (n, n) or b.shape != (n,):
        raise ValueError(f"need a square matrix and a vector to match: got {matrix.shape} and b of shape {b.shape}")
    x, iterations, setup_s, solve_s = _SOLVERS[name](matrix, b, rtol, None if maxiter is None else int(maxiter))
    residual = relative_residual(matrix, x, b)
    return x, SolveRecord(name, iterations, setup_s, solve_s, residual, bool(residual <= rtol))


def relative_residual(matrix: sparse.csr_matrix, x: np.ndarray, b: np.ndarray) -> float:
    """``||b - A x|| / ||b||`` in float64 (``||b - A x||`` itself when b = 0)."""
    b = np.asarray(b, dtype=np.float64)
    r = float(np.linalg.norm(b - matrix @ np.asarray(x, dtype=np.float64)))
    nb = float(np.linalg.norm(b))
    return r / nb if nb > 0 else r


def _scipy_cg(matrix, b, rtol, maxiter, preconditioner=None):
    """SciPy's CG from x0 = 0: ``(x, iterations, seconds)``; the callback runs once per iteration."""
    count = 0

    def callback(_):
        nonlocal count
        count += 1

    maxiter = 10 * b.size if maxiter is None else maxiter
    start = time.perf_counter()
    x, _ = splinalg.cg(matrix, b, x0=np.zeros_like(b), rtol=rtol, atol=0.0, maxiter=maxiter,
                       M=preconditioner, callback=callback)  # fmt: skip
    return x, count, time.perf_counter() - start


def _cg(matrix, b, rtol, maxiter):
    x, iterations, solve_s = _scipy_cg(matrix, b, rtol, maxiter)
    return x, iterations, 0.0, solve_s


def _ilu_pcg(matrix, b, rtol, maxiter):
    start = time.perf_counter()
    factor = splinalg.spilu(matrix.tocsc(), **ILU_OPTIONS)
    preconditioner = splinalg.LinearOperator(matrix.shape, matvec=factor.solve, dtype=np.float64)
    setup_s = time.perf_counter() - start
    x, iterations, solve_s = _scipy_cg(matrix, b, rtol, maxiter, preconditioner)
    return x, iterations, setup_s, solve_s


def _hierarchy(matrix):
    """PyAMG's smoothed-aggregation hierarchy with its defaults, and the seconds it took."""
    import pyamg

    start = time.perf_counter()
    ml = pyamg.smoothed_aggregation_solver(matrix)
    return ml, time.perf_counter() - start


def _amg(matrix, b, rtol, maxiter):
    ml, setup_s = _hierarchy(matrix)
    residuals: list[float] = []
    maxiter = AMG_MAXITER if maxiter is None else maxiter
    start = time.perf_counter()
    # pyamg stops when the true residual ||b - A x|| < tol ||b||, recomputed after every cycle
    x = ml.solve(b, x0=np.zeros_like(b), tol=rtol, maxiter=maxiter, cycle="V", accel=None, residuals=residuals)
    solve_s = time.perf_counter() - start
    return np.asarray(x, dtype=np.float64), len(residuals) - 1, setup_s, solve_s


def _amg_pcg(matrix, b, rtol, maxiter):
    ml, setup_s = _hierarchy(matrix)
    x, iterations, solve_s = _scipy_cg(matrix, b, rtol, maxiter, ml.aspreconditioner(cycle="V"))
    return x, iterations, setup_s, solve_s


def _jax_cg(matrix, b, rtol, maxiter):
    """``jax.scipy.sparse.linalg.cg`` in float64 on the default JAX device.

    setup_s: ``BCOO.from_scipy_sparse`` (which puts the matrix on the device) plus
    ``jax.jit(...).lower(...).compile()`` of the whole solve; JAX's one-time backend start in a
    fresh process is left out (``jax.devices()`` runs before the clock starts). solve_s: one call of that compiled
    solve (b goes in from the host) until its result is ready; no compilation, no warm-up in it.

    Iterations: JAX's CG does not report them. Its ``_cg_solve`` applies the preconditioner M once
    before the loop and once per iteration, so a second, untimed run with an identity M that bumps
    a host counter (``jax.debug.callback``) counts ``calls - 1`` iterations. That run follows the
    same iterates as the timed one: with M given, JAX stops on ``r.r`` instead of ``r.M r``, which
    for the identity is the same number; on CPU the two solutions are bitwise equal, and the count
    matches SciPy's CG on the same system to within an iteration or two of rounding. The timed run
    has no callback in it (a host round trip per iteration would distort solve_s).
    """
    import jax
    from jax.experimental import sparse as jsparse

    n = b.size
    maxiter = 10 * n if maxiter is None else maxiter

    def solve(data, indices, rhs, preconditioner=None):
        operator = jsparse.BCOO((data, indices), shape=(n, n))
        x, _ = jax.scipy.sparse.linalg.cg(lambda v: operator @ v, rhs, tol=rtol, atol=0.0, maxiter=maxiter,
                                          M=preconditioner)  # fmt: skip
        return x

    jax.devices()  # start the backend, once per process, outside the timings
    with jax.enable_x64(True):
        start = time.perf_counter()
        operator = jsparse.BCOO.from_scipy_sparse(matrix)
        data, indices = operator.data, operator.indices
        rhs = jax.ShapeDtypeStruct((n,), np.float64)
        compiled = jax.jit(solve).lower(data, indices, rhs).compile()
        setup_s = time.perf_counter() - start

        start = time.perf_counter()
        x = compiled(data, indices, b).block_until_ready()
        solve_s = time.perf_counter() - start

        calls = 0

        def bump():
            nonlocal calls
            calls += 1

        def counting_identity(r):
            jax.debug.callback(bump)
            return r

        jax.jit(lambda d, i, r: solve(d, i, r, counting_identity))(data, indices, b).block_until_ready()
        jax.effects_barrier()  # every callback has run
        return np.asarray(x, dtype=np.float64), calls - 1, setup_s, solve_s


_SOLVERS = {"cg": _cg, "ilu-pcg": _ilu_pcg, "amg": _amg, "amg-pcg": _amg_pcg, "jax-cg": _jax_cg}
