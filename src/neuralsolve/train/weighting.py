"""Adaptive loss weighting: weights that follow how each loss term changes.

Every ``every`` Adam steps the balance factors are recomputed from the change of each term since
the previous update, ``λ_i ∝ exp(η·Δ_i)``, normalised so that they sum to the number of active
terms. A term that grew (or fell least) gets more weight; one that fell fast gets less. Δ_i is the
change of ``log L_i`` (a relative change), so η needs no tuning to the terms' units: η = 1 and a
term that doubled while another halved gives them weights in the ratio 4 : 1. The factors multiply
the terms' fixed weights; quasi-Newton phases keep the last factors unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import ProblemError


@dataclass(frozen=True)
class Adaptive:
    """Loss weights λ_i ∝ exp(η·Δlog L_i), updated every ``every`` Adam steps."""

    eta: float = 1.0
    every: int = 100

    def __post_init__(self):
        if not (isinstance(self.eta, (int, float)) and self.eta > 0):
            raise ProblemError(f"adaptive weighting eta must be a positive number, got {self.eta!r}")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ProblemError(f"adaptive weighting 'every' must be a whole number of steps >= 1, got {self.every!r}")

    def update(self, previous: np.ndarray, current: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Balance factors from the term values at the previous and at this update."""
        active = mask > 0
        if not np.all(np.isfinite(previous[active])):  # the first update only records the terms
            return np.ones_like(current)
        tiny = np.finfo(float).tiny
        change = np.log(np.maximum(current, tiny)) - np.log(np.maximum(previous, tiny))
        z = np.where(active, self.eta * change, -np.inf)
        z = np.exp(z - np.max(z[active]))
        return np.where(active, z * active.sum() / z.sum(), 1.0)
