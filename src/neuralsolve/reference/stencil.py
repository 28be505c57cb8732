"""Symmetric five-point operators on a rectangular grid of unknowns (NumPy/SciPy only).

A :class:`Stencil` holds a sparse symmetric matrix in the shape of its grid, which is how both the
classical solvers (a CSR matrix) and the learned ones (array shifts, an image a network can read)
see the same system::

    (A x)[i, j] = diag[i, j] x[i, j] - cx[i-1, j] x[i-1, j] - cx[i, j] x[i+1, j]
                                     - cy[i, j-1] x[i, j-1] - cy[i, j] x[i, j+1]

``cx[i, j]`` couples unknowns ``(i, j)`` and ``(i+1, j)``, ``cy[i, j]`` couples ``(i, j)`` and
``(i, j+1)``; a coupling to a node outside the grid (a Dirichlet boundary) only adds to ``diag``.
``mask`` marks the unknowns that belong to the problem: the others (inside a Dirichlet obstacle, say)
are decoupled rows whose solution is 0 for a right-hand side that is 0 there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse


@dataclass(frozen=True)
class Stencil:
    """A symmetric five-point operator on an ``(n1, n2)`` grid (see the module docstring)."""

    diag: np.ndarray  # (n1, n2)
    cx: np.ndarray  # (n1 - 1, n2), couplings along the first axis
    cy: np.ndarray  # (n1, n2 - 1), couplings along the second axis
    mask: np.ndarray  # (n1, n2) bool, the unknowns of the problem

    @property
    def shape(self) -> tuple[int, int]:
        return self.diag.shape

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``A x`` for x shaped like the grid (or with leading batch axes)."""
        y = self.diag * x
        y[..., :-1, :] -= self.cx * x[..., 1:, :]
        y[..., 1:, :] -= self.cx * x[..., :-1, :]
        y[..., :, :-1] -= self.cy * x[..., :, 1:]
        y[..., :, 1:] -= self.cy * x[..., :, :-1]
        return y

    def matrix(self) -> sparse.csr_matrix:
        """The CSR matrix, unknowns numbered row-major over the grid (``x.ravel()``)."""
        n1, n2 = self.shape
        index = np.arange(n1 * n2).reshape(n1, n2)
        rows = [index.ravel(), index[:-1, :].ravel(), index[1:, :].ravel(), index[:, :-1].ravel(), index[:, 1:].ravel()]
        cols = [index.ravel(), index[1:, :].ravel(), index[:-1, :].ravel(), index[:, 1:].ravel(), index[:, :-1].ravel()]
        vals = [self.diag.ravel(), -self.cx.ravel(), -self.cx.ravel(), -self.cy.ravel(), -self.cy.ravel()]
        coo = sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                shape=(n1 * n2, n1 * n2))  # fmt: skip
        coo.sum_duplicates()
        coo.eliminate_zeros()
        return coo.tocsr()


def from_faces(fx: np.ndarray, fy: np.ndarray, mask: np.ndarray | None = None) -> Stencil:
    """The stencil of ``-div(k grad u)`` from face conductances (k / h^2 of each face).

    ``fx`` (n1 + 1, n2): faces across the first axis, ``fx[i]`` between unknown rows ``i - 1`` and ``i``
    (rows ``0`` and ``n1`` are the faces to the boundary); ``fy`` (n1, n2 + 1) likewise. Each unknown's
    diagonal is the sum of its four faces; interior faces couple neighbours.
    """
    diag = fx[:-1, :] + fx[1:, :] + fy[:, :-1] + fy[:, 1:]
    mask = np.ones(diag.shape, bool) if mask is None else mask
    return Stencil(diag, fx[1:-1, :].copy(), fy[:, 1:-1].copy(), mask)
