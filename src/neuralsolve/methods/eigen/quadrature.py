"""The quadrature of an eigenproblem: for normalisation, orthogonality and the Rayleigh quotient."""

from __future__ import annotations

import numpy as np

from ...problem.problem import Problem
from ...sampling.quadrature import gauss_box


def quadrature(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes and weights over the problem's box, split at the jumps of its coefficients."""
    lo, hi = problem.domain.bounds()
    panels = 8 if problem.domain.dim == 1 else 6
    order = 12 if problem.domain.dim == 1 else 10
    return gauss_box(list(zip(lo, hi)), problem.jumps, panels, order)
