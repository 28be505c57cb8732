"""Points in the unit hypercube [0, 1)^k: the one source of randomness for every sampler.

Domains map these points onto interiors, boundaries and faces, so a low-discrepancy method
(Sobol, Halton) stays low-discrepancy on every region.
"""

import warnings

import numpy as np

from .._errors import ProblemError

METHODS = ("uniform", "sobol", "halton")


def unit_points(n: int, dim: int, method: str, seed: int) -> np.ndarray:
    """Return ``n`` points in ``[0, 1)^dim`` drawn by ``method`` with the integer ``seed``."""
    if method not in METHODS:
        raise ProblemError(f"unknown sampling method {method!r}; expected one of {', '.join(METHODS)}")
    if dim == 0:
        return np.zeros((n, 0))
    if method == "uniform":
        return np.random.default_rng(seed).random((n, dim))
    from scipy.stats import qmc  # here: importing scipy.stats costs 0.7 s, and checks never sample

    engine = (qmc.Sobol if method == "sobol" else qmc.Halton)(d=dim, scramble=True, seed=seed)
    with warnings.catch_warnings():
        # Sobol prefers powers of two; any n is still a valid, well-spread sample.
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(n)
