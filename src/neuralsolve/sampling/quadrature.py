"""Gauss–Legendre quadrature on boxes, with panels that split at given break points.

Eigenproblems integrate ψ² and ψ·Hψ by quadrature. Splitting panels at the jumps of a
discontinuous potential keeps each panel's integrand smooth, so the rule stays spectrally accurate.
"""

from __future__ import annotations

import numpy as np


def gauss_box(bounds, breaks: dict[int, list[float]] | None = None, panels: int = 16,
              order: int = 16) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Nodes (n, d) and weights (n,) of a tensor composite Gauss rule on the box ``bounds``.

    Each axis is cut at its ``breaks`` and the pieces share about ``panels`` equal panels (at
    least one each), with ``order`` Gauss nodes per panel.
    """
    axes = [_axis(lo, hi, (breaks or {}).get(i, []), panels, order) for i, (lo, hi) in enumerate(bounds)]
    nodes = np.meshgrid(*[a[0] for a in axes], indexing="ij")
    weights = np.meshgrid(*[a[1] for a in axes], indexing="ij")
    return np.stack([n.ravel() for n in nodes], axis=1), np.prod([w.ravel() for w in weights], axis=0)


def _axis(lo: float, hi: float, cuts: list[float], panels: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(order)
    edges = [lo, *sorted(c for c in cuts if lo < c < hi), hi]
    xs, ws = [], []
    for a, b in zip(edges, edges[1:]):
        count = max(1, round(panels * (b - a) / (hi - lo)))
        for p, q in zip(np.linspace(a, b, count + 1), np.linspace(a, b, count + 1)[1:]):
            xs.append((p + q) / 2 + (q - p) / 2 * t)
            ws.append((q - p) / 2 * w)
    return np.concatenate(xs), np.concatenate(ws)
