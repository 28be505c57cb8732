"""Input embeddings placed between the scaled inputs z ∈ [-1, 1]^d and the MLP.

A plain MLP learns low frequencies first and high ones very slowly (spectral bias). Two embeddings
give it a head start:

* :class:`FourierFeatures` — random Fourier features (Tancik et al. 2020; Wang, Wang & Perdikaris
  2021 for PINNs): ``[cos(2π B z), sin(2π B z)]`` with a fixed ``B ~ N(0, σ²)`` of shape (m, d).
  ``σ`` sets the frequencies the network sees from the start.
* :class:`GaussianFeatures` — trainable Gaussians (Kang et al. 2024, "PIG"): ``Σ_i f_i
  exp(-|(z - μ_i)/s_i|²/2)`` with trainable centres μ_i, diagonal widths s_i and feature vectors
  f_i ∈ R^k, followed by a small MLP. The Gaussians act as an adaptive mesh: they move and
  narrow where the solution needs resolution.

Each settings class builds its module from ``(in_size, dtype, key)`` alone, so a saved run's
parameters can be rebuilt from the settings and the seed (checkpoints store only trainable arrays).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError

if TYPE_CHECKING:
    from .embeddings import FourierEmbedding, GaussianEmbedding

GAUSSIAN_INITS = ("grid", "random")


@dataclass(frozen=True)
class FourierFeatures:
    """Settings of random Fourier features: ``count`` frequencies drawn from N(0, ``sigma``²).

    The frequencies are fixed, not trained. ``sigma`` is in cycles per unit of the scaled
    inputs (the domain is mapped to [-1, 1]), so ``sigma = 1`` already reaches about two periods
    across the domain; raise it for solutions with higher frequencies.
    """

    count: int = 64
    sigma: float = 1.0

    def __post_init__(self):
        _check_whole("fourier", "count", self.count)
        _check_positive("fourier", "sigma", self.sigma)

    def out_size(self, in_size: int) -> int:
        """Width of the embedding: a cosine and a sine per frequency."""
        return 2 * self.count

    def build(self, in_size: int, dtype, key) -> FourierEmbedding:
        """Draw the frequency matrix B (count, in_size) from ``key``."""
        from .embeddings import FourierEmbedding

        b = self.sigma * jax.random.normal(key, (self.count, in_size), dtype)
        return FourierEmbedding(_frozen(b))


@dataclass(frozen=True)
class GaussianFeatures:
    """Settings of trainable Gaussian features: ``count`` Gaussians with ``size`` features each.

    ``init = "grid"`` puts the centres on a regular grid over the scaled domain where ``count``
    allows one (the largest n^d <= count) and the rest at random; ``"random"`` puts all at random.
    Widths start at ``width`` times the grid spacing (diagonal, trained through their logarithm so
    they stay positive); feature vectors start as N(0, 1) draws.
    """

    count: int = 256
    size: int = 4
    init: str = "grid"
    width: float = 2.0  # measured: 2 and 3 beat 1 (5x lower error) on Helmholtz 2D, docs/embeddings.md

    def __post_init__(self):
        _check_whole("gaussian", "count", self.count)
        _check_whole("gaussian", "size", self.size)
        if self.init not in GAUSSIAN_INITS:
            raise FeatureError("gaussian", "init", f"must be one of {', '.join(GAUSSIAN_INITS)}, got {self.init!r}")
        _check_positive("gaussian", "width", self.width)

    def out_size(self, in_size: int) -> int:
        """Width of the embedding: the feature vector length."""
        return self.size

    def build(self, in_size: int, dtype, key) -> GaussianEmbedding:
        """Place the centres over [-1, 1]^in_size and draw the feature vectors from ``key``."""
        from .embeddings import GaussianEmbedding

        k_centres, k_features = jax.random.split(key)
        centres, spacing = self._centres(in_size, dtype, k_centres)
        log_widths = jnp.full((self.count, in_size), math.log(self.width * spacing), dtype)
        features = jax.random.normal(k_features, (self.count, self.size), dtype)
        return GaussianEmbedding(centres, log_widths, features)

    def _centres(self, d: int, dtype, key) -> tuple[jax.Array, float]:
        """``count`` centres in [-1, 1]^d and the spacing of a grid of that many points."""
        n = _grid_side(self.count, d) if self.init == "grid" else 0
        axis = -1 + (2 * np.arange(n) + 1) / max(n, 1)  # cell midpoints: no Gaussian sits on the boundary
        grid = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), -1).reshape(-1, d) if n else np.zeros((0, d))
        rest = jax.random.uniform(key, (self.count - len(grid), d), dtype, -1.0, 1.0)
        return jnp.concatenate([jnp.asarray(grid, dtype), rest]), 2.0 / self.count ** (1.0 / d)


Features = FourierFeatures | GaussianFeatures
KINDS = {"fourier": FourierFeatures, "gaussian": GaussianFeatures}


class FeatureError(ProblemError):
    """An invalid embedding setting; ``name`` is the setting, so a problem file can point at its key."""

    def __init__(self, kind: str, name: str, cause: str):
        self.name, self.cause = name, cause
        super().__init__(f"{kind} features: {name} {cause}")


def _check_whole(kind: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FeatureError(kind, name, f"must be a whole number >= 1, got {value!r}")


def _check_positive(kind: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise FeatureError(kind, name, f"must be a positive number, got {value!r}")


def _grid_side(count: int, d: int) -> int:
    """The largest n with n^d <= count (exact for perfect powers despite float roots)."""
    n = round(count ** (1.0 / d))
    return n if n**d <= count else n - 1


def _frozen(array: jax.Array) -> tuple:
    """A nested tuple of Python floats: hashable, so it can live in a static field."""
    return tuple(tuple(float(v) for v in row) for row in np.asarray(array))
