"""Gaussian random fields ``N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))`` on grids (NumPy/SciPy only).

The covariance operator acts on L^2 of the domain. Its eigenfunctions are those of the Laplacian
with the domain's boundary conditions, normalised in L^2; a field is the random series
``u = sum_k xi_k sigma (lambda_k + tau^2)^(-alpha/2) phi_k`` with independent standard normal
``xi_k``, so ``Var u(x) = sum_k sigma^2 (lambda_k + tau^2)^(-alpha) phi_k(x)^2``. That sum is
finite only for ``alpha > d/2`` (d the dimension); the series is truncated at the modes the grid
can show. With ``tau = 0`` the constant mode (``lambda = 0``) would have infinite variance: it is
left out, so every sample then has zero mean.

No JAX here: data generators call these in spawned worker processes.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def periodic_1d(n_samples: int, points: int, length: float, sigma: float, tau: float, alpha: float,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Samples (n_samples, points) of a periodic field on (0, length) at ``x_j = j * length / points``.

    Basis ``1/sqrt(L)``, ``sqrt(2/L) cos(2 pi k x / L)``, ``sqrt(2/L) sin(2 pi k x / L)`` with
    ``lambda_k = (2 pi k / L)^2``, for ``k`` up to the grid's Nyquist number ``points // 2``. The
    pointwise variance of the samples is ``(1/L) sum_{|k| <= points/2} sigma^2 (lambda_k + tau^2)^(-alpha)``,
    which tends to the untruncated sum over all integers k as the grid is refined.
    """
    _check(sigma, tau, alpha, points, dims=1)
    k = np.arange(points // 2 + 1)
    std = _std(sigma, tau, alpha, (2 * np.pi * k / length) ** 2)
    a = rng.standard_normal((n_samples, len(k))) * std
    b = rng.standard_normal((n_samples, len(k))) * std
    # irfft with norm="forward" sums C_0 + 2 Re sum_k C_k e^{i theta_k j} (+ C_Nyq (-1)^j): the
    # factor 2 of the conjugate pair is built in, so C_k = sqrt(2/L)/2 (a_k - i b_k) gives
    # sqrt(2/L)(a_k cos + b_k sin); the constant and Nyquist modes appear once, and are real
    coeffs = np.sqrt(0.5 / length) * (a - 1j * b)
    coeffs[:, 0] = a[:, 0] / np.sqrt(length)
    if points % 2 == 0:
        # the sine at the Nyquist number vanishes at every node; the cosine there is (-1)^j
        coeffs[:, -1] = a[:, -1] * np.sqrt(2 / length)
    return np.fft.irfft(coeffs, n=points, axis=1, norm="forward")


def neumann_2d(n_samples: int, points: int, sigma: float, tau: float, alpha: float, rng: np.random.Generator,
               lengths: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:  # fmt: skip
    """Samples (n_samples, points, points) for the Neumann Laplacian on (0, L1) x (0, L2).

    Vertex grid including both ends, ``x_i = i * L1 / (points - 1)`` (first axis) and likewise y
    (second axis). Basis ``c_k1(x) c_k2(y)`` with ``c_0 = 1/sqrt(L)``, ``c_k = sqrt(2/L) cos(pi k x / L)``,
    ``lambda = pi^2 (k1^2/L1^2 + k2^2/L2^2)``, ``0 <= k1, k2 < points``. The pointwise variance is
    ``sum_{k1, k2} sigma^2 (lambda + tau^2)^(-alpha) c_k1(x)^2 c_k2(y)^2``.
    """
    _check(sigma, tau, alpha, points, dims=2)
    lx, ly = (float(v) for v in lengths)
    k = np.arange(points)
    lam = np.pi**2 * ((k[:, None] / lx) ** 2 + (k[None, :] / ly) ** 2)
    coeffs = rng.standard_normal((n_samples, points, points)) * _std(sigma, tau, alpha, lam)
    coeffs *= np.outer(_cos_norm(points, lx), _cos_norm(points, ly))
    # DCT-I without scaling (scipy's idct type 1 with norm="forward") is
    # y_i = x_0 + (-1)^i x_{P-1} + 2 sum_{0<k<P-1} x_k cos(pi k i / (P-1)): halving the inner
    # coefficients leaves exactly sum_k c_k cos(pi k x_i / L) on the vertex grid
    coeffs[:, 1:-1, :] *= 0.5
    coeffs[:, :, 1:-1] *= 0.5
    return scipy.fft.idctn(coeffs, type=1, axes=(1, 2), norm="forward", workers=-1)


def _cos_norm(points: int, length: float) -> np.ndarray:
    """L^2 normalisation of ``cos(pi k x / L)`` on (0, L): ``1/sqrt(L)`` for k = 0, else ``sqrt(2/L)``."""
    norm = np.full(points, np.sqrt(2 / length))
    norm[0] = np.sqrt(1 / length)
    return norm


def _std(sigma: float, tau: float, alpha: float, lam: np.ndarray) -> np.ndarray:
    """Standard deviation of each mode's coefficient; 0 for a zero eigenvalue when tau = 0 (see module)."""
    shifted = lam + tau**2
    out = np.zeros_like(shifted, dtype=float)
    positive = shifted > 0
    out[positive] = sigma * shifted[positive] ** (-alpha / 2)
    return out


def _check(sigma: float, tau: float, alpha: float, points: int, dims: int) -> None:
    """Reject parameters for which the field is not defined (or not on this grid)."""
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if not tau >= 0:
        raise ValueError(f"tau must be >= 0, got {tau!r}")
    if not alpha > dims / 2:
        raise ValueError(f"alpha must be > d/2 = {dims / 2:g} in {dims} dimension(s), got {alpha!r}: otherwise "
                         "the field has infinite pointwise variance (the covariance is not trace-class)")  # fmt: skip
    if not isinstance(points, (int, np.integer)) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
