"""One grid of the spectral method of lines: the semi-discrete system ``y' = rhs(t, y)`` and its solution.

The unknowns are the fields at the grid's inner nodes (every node of a periodic grid); the values at
the ends follow from the end conditions, affine rows in the end values and slopes (:mod:`.ends`),
which are solved for them once per grid: full nodal values are ``z = P y + Q gamma(t)``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .collocation import barycentric, chebyshev
from .ends import EndRows

_CHUNK = 2048  # points interpolated together: bounds memory at _CHUNK x fields x nodes


class Gammas:
    """The right-hand sides of the end rows at one time (NumPy in, NumPy out) or at many.

    The integrator asks for them at every evaluation of the right-hand side, thousands of times:
    values that do not change in time are computed once, and values that do are tabulated as a
    Chebyshev interpolant in t that matches them to rounding (checked between its nodes), which
    costs microseconds where a compiled JAX call costs tens to hundreds; data that no such
    interpolant matches (a jump in time) is evaluated directly.
    """

    def __init__(self, rows: tuple[EndRows, EndRows], span: tuple[float, float]):
        def both(t):
            return jnp.concatenate([rows[0].gamma(t), rows[1].gamma(t)])

        self.span = span
        self._one, self._many = jax.jit(both), jax.jit(jax.vmap(both, out_axes=1))
        self._constant, self._table = None, None
        for p in (32, 128):  # Chebyshev nodes in t, and test points between them
            nodes = span[0] + (span[1] - span[0]) * (chebyshev(p)[0] + 1) / 2
            between = (nodes[1:] + nodes[:-1]) / 2
            values = self.many(np.concatenate([nodes, between]))
            if np.all(values == values[:, :1]):
                self._constant = values[:, 0]
                return
            interpolated = values[:, : p + 1] @ barycentric(p, 2 * (between - span[0]) / (span[1] - span[0]) - 1).T
            if np.max(np.abs(interpolated - values[:, p + 1 :])) <= 1e-14 * (1 + np.max(np.abs(values))):
                self._table = p, values[:, : p + 1]
                return

    def __call__(self, t: float) -> np.ndarray:
        if self._constant is not None:
            return self._constant
        if self._table is not None:
            p, values = self._table
            a, b = self.span
            return values @ barycentric(p, np.array([2 * (t - a) / (b - a) - 1]))[0]
        with jax.enable_x64(True):
            return np.asarray(self._one(np.float64(t)))

    def many(self, ts: np.ndarray) -> np.ndarray:
        """(rows, len(ts)), evaluated directly (compiled for a few padded sizes, not for every length)."""
        if self._constant is not None:
            return np.repeat(self._constant[:, None], len(ts), axis=1)
        n = len(ts)
        padded = np.concatenate([ts, np.full(max(64, 1 << max(n - 1, 0).bit_length()) - n, ts[-1] if n else 0.0)])
        with jax.enable_x64(True):
            return np.asarray(self._many(np.asarray(padded, np.float64)))[:, :n]


class Lines:
    """The semi-discrete system on one grid: unknowns ``y`` (fields x unknown nodes), ``y' = rhs(t, y)``.

    Full nodal values are ``z = P y + Q gamma(t)`` (the end values solved from the end conditions);
    the k-th x-derivative at the unknown nodes is ``L[k] y + R[k] gamma(t)``.
    """

    def __init__(self, grid, nf: int, rows: tuple[EndRows, EndRows] | None, gammas: Gammas | None):
        self.grid, self.nf, self.gamma = grid, nf, gammas
        G = len(grid.x)
        if rows is None:  # periodic: every node is an unknown
            inner, P, Q = np.arange(G), np.eye(nf * G), np.zeros((nf * G, 0))
        else:
            inner = np.arange(1, G - 1)
            P, Q = eliminate(grid, nf, rows, inner)
        M = len(inner)
        self.x, self.P, self.Q = grid.x[inner], P, Q
        at_inner = [np.eye(G)[inner], grid.D[0][inner], grid.D[1][inner]]  # value, first, second derivative
        E = [np.kron(np.eye(nf), d) for d in at_inner]  # (nf M, nf G) each, fields one after another
        self.M, self.L = M, np.stack([e @ P for e in E])  # L: (3, nf M, nf M)
        self._L = self.L.reshape(3 * nf * M, nf * M)
        self._R = np.concatenate([e @ Q for e in E])  # (3 nf M, rows)

    def derivatives(self, t: float, y: np.ndarray) -> np.ndarray:
        """(3, fields, M): values, first and second x-derivatives at the unknown nodes."""
        U = self._L @ y
        if self.gamma is not None:
            U += self._R @ self.gamma(t)
        return U.reshape(3, self.nf, self.M)

    def full(self, ts: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Nodal values (len(ts), fields, nodes) from unknowns ys (nf M, len(ts))."""
        z = self.P @ ys
        if self.gamma is not None:
            z += self.Q @ self.gamma.many(ts)
        return z.T.reshape(len(ts), self.nf, -1)


def eliminate(grid, nf: int, rows: tuple[EndRows, EndRows], inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P, Q with full nodal values ``z = P y + Q gamma``: the end values solved from the end rows."""
    G, M = len(grid.x), len(inner)
    S_int, S_end = np.zeros((nf * G, nf * M)), np.zeros((nf * G, 2 * nf))
    for f in range(nf):
        S_int[f * G + inner, f * M + np.arange(M)] = 1.0
        S_end[f * G, 2 * f] = S_end[f * G + G - 1, 2 * f + 1] = 1.0
    functionals = []  # each condition as a linear functional of the full nodal values
    for side, end in enumerate(rows):
        node = 0 if side == 0 else G - 1
        for c in end.coefficients:
            ell = np.zeros(nf * G)
            for f in range(nf):
                ell[f * G + node] += c[f]
                ell[f * G : (f + 1) * G] += c[nf + f] * grid.D[0][node]
            functionals.append(ell)
    F = np.array(functionals)
    B, K = F @ S_end, F @ S_int
    if B.shape != (2 * nf, 2 * nf) or np.linalg.cond(B) > 1e12:
        raise np.linalg.LinAlgError("the end conditions do not determine the end values")
    Binv = np.linalg.inv(B)
    return S_int - S_end @ Binv @ K, S_end @ Binv


def rhs_and_jacobian(compiled: tuple[Callable, Callable], lines: Lines) -> tuple[Callable, Callable]:
    """NumPy ``rhs(t, y)`` and its exact Jacobian ``jac(t, y)`` for SciPy's stiff integrators, from the
    pointwise ``F`` and ``dF`` of :func:`~.evolution.pointwise_functions`."""
    x, nf, M = lines.x, lines.nf, lines.M
    F, dF = compiled
    L = lines.L.reshape(3, nf, M, nf * M)

    def rhs(t, y):
        return F(x, t, lines.derivatives(t, y)).ravel()

    def jac(t, y):
        d = dF(x, t, lines.derivatives(t, y))
        return np.einsum("kjim,kjmn->imn", d, L).reshape(nf * M, nf * M)

    return rhs, jac


def interpolate(lines: Lines, dense, parities, bounds, points: np.ndarray) -> np.ndarray:
    """Field values (n, fields) at points (n, 2): dense output in t, spectral interpolation in x.

    With ``parities`` (the grid covers the right half of [a, b] = ``bounds[:2]``), the left half is
    its mirror image, each field multiplied by its parity."""
    a, b = bounds[:2]
    x, t = points[:, 0].copy(), points[:, 1]
    sign = np.ones((len(points), lines.nf))
    if parities is not None:
        left = x < (a + b) / 2
        x[left] = a + b - x[left]
        sign[left] = parities
    out = np.empty((len(points), lines.nf))
    order = np.argsort(t, kind="stable")
    for lo in range(0, len(points), _CHUNK):
        sel = order[lo : lo + _CHUNK]
        times, which = np.unique(t[sel], return_inverse=True)
        nodal = lines.full(times, dense(times).reshape(-1, len(times)))  # (times, fields, nodes)
        weights = lines.grid.weights(x[sel])
        out[sel] = np.einsum("ng,nfg->nf", weights, nodal[which])
    return out * sign
