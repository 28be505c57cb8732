"""How far apart two solutions are: the error estimates of the classical references.

A reference estimates its own error by solving twice — at two resolutions, or two tolerances — and
comparing the two on many points of the domain. :func:`relative_difference` is that comparison.
"""

from __future__ import annotations

import numpy as np


def relative_difference(values: np.ndarray, other: np.ndarray) -> float:
    """The largest relative L2 difference of any field (column) between two solutions on the same points.

    Each field's difference is relative to its norm in ``values`` (the solution whose error is
    estimated); a field that is zero in both differs by 0. Anything not finite gives inf.
    """
    a = np.asarray(values, float).reshape(len(values), -1)
    b = np.asarray(other, float).reshape(len(other), -1)
    if a.shape != b.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    diff = np.linalg.norm(a - b, axis=0)
    norm = np.linalg.norm(a, axis=0)
    return float(np.max(np.where(diff == 0, 0.0, diff / np.maximum(norm, 1e-300))))
