"""Points in the unit hypercube [0, 1)^k: the one source of randomness for every sampler.

Domains map these points onto interiors, boundaries and faces, so a low-discrepancy method
(Sobol, Halton) stays low-discrepancy on every region.
"""

import warnings
from importlib import metadata

import numpy as np

from .._errors import ProblemError
from ..compile_cache import points_directory, write_whole

METHODS = ("uniform", "sobol", "halton")


def unit_points(n: int, dim: int, method: str, seed: int) -> np.ndarray:
    """Return ``n`` points in ``[0, 1)^dim`` drawn by ``method`` with the integer ``seed``."""
    if method not in METHODS:
        raise ProblemError(f"unknown sampling method {method!r}; expected one of {', '.join(METHODS)}")
    if dim == 0:
        return np.zeros((n, 0))
    if method == "uniform":
        return np.random.default_rng(seed).random((n, dim))
    directory = points_directory()
    if directory is None:
        return _sequence(n, dim, method, seed)
    # keyed by SciPy's version too: a point set is exactly the one this SciPy draws
    path = directory / f"{method}-d{dim}-n{n}-seed{seed}-scipy{metadata.version('scipy')}.npy"
    try:
        cached = np.load(path)
        if cached.shape == (n, dim):
            return cached
    except (OSError, ValueError):  # absent or unreadable: draw it again
        pass
    points = _sequence(n, dim, method, seed)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:  # a cache that cannot be written only costs time
        return points
    write_whole(path, lambda f: np.save(f, points))
    return points


def _sequence(n: int, dim: int, method: str, seed: int) -> np.ndarray:
    """``n`` points of SciPy's scrambled Sobol or Halton sequence in ``[0, 1)^dim``."""
    from scipy.stats import qmc  # here: importing scipy.stats costs 0.7 s, and checks never sample

    engine = (qmc.Sobol if method == "sobol" else qmc.Halton)(d=dim, scramble=True, seed=seed)
    with warnings.catch_warnings():
        # Sobol prefers powers of two; any n is still a valid, well-spread sample.
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(n)
