"""Steady Darcy flow ``-div(a grad u) = f`` on (0, L1) x (0, L2) with ``u = 0`` on the boundary.

Second-order five-point finite volumes on the vertex grid ``x_i = i h1``, ``y_j = j h2`` (first
array axis x, second y; boundary nodes included): the flux through the face between two nodes
uses the harmonic mean of their coefficients, ``2 a_P a_Q / (a_P + a_Q)``. With a constant on each
node's half of the segment the two halves are resistances in series, so the harmonic mean is the
exact flux coefficient when a jumps at the face — as it does for the piecewise-constant
(thresholded) coefficients of the Darcy benchmark; for smooth a it differs from the value at the
face by O(h^2), so the scheme stays second order. Only interior nodes are unknowns; the sparse
symmetric positive definite system is solved directly (SuperLU).

No JAX here: data generators call these in spawned worker processes.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as splinalg

from .stencil import Stencil, from_faces


def solve_darcy(a: np.ndarray, f, lengths: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """u (s, s) on the vertex grid, zero on the boundary, from a (s, s) > 0 and f (s, s) or a number."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 3:
        raise ValueError(f"a must be a square (s, s) array with s >= 3, got shape {a.shape}")
    if not np.all(a > 0):
        raise ValueError("the coefficient a must be positive everywhere")
    if len(lengths) != 2 or not all(float(v) > 0 for v in lengths):
        raise ValueError(f"lengths must be two positive numbers, got {lengths!r}")
    f = np.broadcast_to(np.asarray(f, dtype=float), a.shape)
    matrix, s = darcy_matrix(a, lengths), a.shape[0]
    u = np.zeros_like(a)
    # the pattern is symmetric: minimum degree on A^T + A orders it faster than the default COLAMD
    # (0.66 s against 0.9 s for s = 241 on this project's 2-core machine)
    u[1:-1, 1:-1] = splinalg.spsolve(matrix, f[1:-1, 1:-1].ravel(), permc_spec="MMD_AT_PLUS_A").reshape(s - 2, s - 2)
    return u


def solve_many(a_batch: np.ndarray, f, lengths: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """:func:`solve_darcy` for each coefficient in a_batch (n, s, s): returns (n, s, s)."""
    return np.stack([solve_darcy(a, f, lengths) for a in a_batch])


def darcy_matrix(a: np.ndarray, lengths: tuple[float, float] = (1.0, 1.0)) -> sparse.csr_matrix:
    """The (s-2)^2 x (s-2)^2 CSR matrix of ``-div(a grad .)`` on the interior nodes, row-major (x, y)."""
    return darcy_stencil(a, lengths).matrix()


def darcy_stencil(a: np.ndarray, lengths: tuple[float, float] = (1.0, 1.0)) -> Stencil:
    """The same operator as a :class:`~neuralsolve.reference.stencil.Stencil` on the interior nodes."""
    s = a.shape[0]
    h1, h2 = (float(length) / (s - 1) for length in lengths)
    # face conductances: x-faces between node rows i and i+1, y-faces between columns j and j+1; a
    # boundary neighbour holds u = 0, so its face adds to the diagonal and couples nothing
    fx = _harmonic(a[:-1, :], a[1:, :]) / h1**2  # (s-1, s)
    fy = _harmonic(a[:, :-1], a[:, 1:]) / h2**2  # (s, s-1)
    return from_faces(fx[:, 1:-1], fy[1:-1, :])


def _harmonic(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Harmonic mean ``2 p q / (p + q)`` of neighbouring node coefficients."""
    return 2 * p * q / (p + q)
