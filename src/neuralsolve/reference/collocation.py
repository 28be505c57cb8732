"""Spectral collocation in one dimension: Chebyshev points on an interval, equispaced points on a period.

Each grid gives its nodes, differentiation matrices and interpolation weights at any point, all
NumPy. The spectral references (the method of lines of :mod:`.mol`, the eigensolver of :mod:`.eigen`)
build on them: a smooth function sampled on ``n`` nodes is differentiated and interpolated with an
error that falls exponentially in ``n``, where finite differences fall as a power of the spacing.
"""

from __future__ import annotations

import numpy as np


def chebyshev(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss–Lobatto nodes ascending on [-1, 1], the differentiation matrix and Clenshaw–Curtis weights."""
    j = np.arange(p + 1)
    t = -np.cos(np.pi * j / p)
    # node differences from a product of sines: no cancellation between nearly equal cosines
    diff = 2 * np.sin((j[:, None] + j) * np.pi / (2 * p)) * np.sin((j[:, None] - j) * np.pi / (2 * p))
    np.fill_diagonal(diff, 1.0)
    c = np.where((j == 0) | (j == p), 2.0, 1.0) * (-1.0) ** j
    D = np.outer(c, 1 / c) / diff
    np.fill_diagonal(D, 0.0)
    D -= np.diag(D.sum(axis=1))  # rows of D annihilate constants exactly: better-conditioned diagonal
    # weights integrating T_0..T_p exactly; T_k at these nodes is a well-conditioned cosine matrix
    k = j[:, None]
    moments = np.zeros(p + 1)
    moments[::2] = 2 / (1 - j[::2].astype(float) ** 2)
    weights = np.linalg.solve(np.cos(k * (np.pi - np.pi * j / p)), moments)
    return t, D, weights


def barycentric(p: int, t: np.ndarray) -> np.ndarray:
    """Interpolation weights (n, p+1) at reference points t in [-1, 1] for the Gauss–Lobatto nodes."""
    nodes = -np.cos(np.pi * np.arange(p + 1) / p)
    w = (-1.0) ** np.arange(p + 1)
    w[[0, -1]] *= 0.5
    d = np.asarray(t, float)[:, None] - nodes
    hit = d == 0
    d[hit] = 1.0
    r = w / d
    r /= r.sum(axis=1, keepdims=True)
    on_node = hit.any(axis=1)
    r[on_node] = hit[on_node]  # the formula is 0/0 exactly on a node: take the nodal value
    return r


class ChebyshevGrid:
    """``p + 1`` Chebyshev–Gauss–Lobatto nodes on [a, b], both ends among them.

    Attributes:
        x: the nodes, ascending (x[0] = a, x[-1] = b).
        D: ``(D[1], D[2])``, the first and second derivative matrices on the nodes.
    """

    periodic = False

    def __init__(self, a: float, b: float, p: int):
        t, D1, _ = chebyshev(p)
        self.a, self.b, self.p = float(a), float(b), p
        self.x = a + (b - a) * (t + 1) / 2
        D1 = D1 * (2 / (b - a))
        self.D = (D1, D1 @ D1)

    def weights(self, x: np.ndarray) -> np.ndarray:
        """Interpolation weights (n, nodes) at points x of [a, b] (barycentric: stable for any p)."""
        return barycentric(self.p, 2 * (np.asarray(x, float) - self.a) / (self.b - self.a) - 1)


class FourierGrid:
    """``n`` equispaced nodes on the period [a, b) (n even): trigonometric collocation.

    Attributes:
        x: the nodes a, a + h, ..., b - h.
        D: ``(D[1], D[2])``, the first and second derivative matrices of the trigonometric interpolant.
    """

    periodic = True

    def __init__(self, a: float, b: float, n: int):
        if n % 2:
            raise ValueError(f"a Fourier grid needs an even number of nodes, got {n}")
        self.a, self.b, self.n = float(a), float(b), n
        self.x = a + (b - a) * np.arange(n) / n
        h = 2 * np.pi / n
        k = np.arange(1, n)
        sign = (-1.0) ** k
        # first columns of the circulant matrices on a period of 2 pi (Trefethen, Spectral Methods in MATLAB)
        col1 = np.r_[0.0, 0.5 * sign / np.tan(k * h / 2)]
        col2 = np.r_[-np.pi**2 / (3 * h**2) - 1 / 6, -0.5 * sign / np.sin(k * h / 2) ** 2]
        scale = 2 * np.pi / (b - a)
        index = (np.arange(n)[:, None] - np.arange(n)) % n
        self.D = (col1[index] * scale, col2[index] * scale**2)

    def weights(self, x: np.ndarray) -> np.ndarray:
        """Interpolation weights (n_points, n): the periodic cardinal functions at points x."""
        y = 2 * np.pi * (np.asarray(x, float)[:, None] - self.x) / (self.b - self.a)
        half = np.sin(y / 2)
        hit = np.abs(half) < 1e-14
        with np.errstate(divide="ignore", invalid="ignore"):
            # even n: sin(n y / 2) / (n tan(y / 2)), which is 1 on its own node and 0 on the others
            w = np.sin(self.n * y / 2) * np.cos(y / 2) / (self.n * half)
        w[hit] = 1.0  # the limit on a node (y = 0 mod 2 pi)
        return w
