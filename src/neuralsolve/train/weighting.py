"""Loss weighting strategies: balance factors that multiply the terms' fixed weights.

Each strategy is a frozen settings object with ``every`` (Adam steps between updates) and
``balance(stats, mask) -> factors``: the fit loop gathers :class:`TermStats` at an update event
(term values always; per-term gradients only for strategies with ``uses_gradients``, since they
cost one backward pass per term) and stores the new factors in its carry. Quasi-Newton phases
keep the last factors unchanged: their curvature model needs one fixed loss.

- :class:`Adaptive`: λ_i ∝ exp(η·Δlog L_i), from how each term changed since the last update.
- :class:`GradNorm`: λ_i = Σ_j‖∇L_j‖ / ‖∇L_i‖ (Wang, Sankaran, Wang & Perdikaris 2023), so every
  weighted term pulls on the parameters with the same gradient norm.
- :class:`Annealing`: λ_i = max|∇L_r| / mean|∇L_i| (learning-rate annealing, Wang, Teng &
  Perdikaris 2021), which lifts condition terms whose gradients are drowned by the residual's.

The gradient-based rules are smoothed by a moving average, λ ← α·λ + (1 − α)·λ̂, starting from 1.

:class:`Causal` is different in kind: it weights the residual *within* the equation terms by
time slice (Wang, Sankaran & Perdikaris 2022), inside the loss function itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError


@dataclass(frozen=True)
class TermStats:
    """What a strategy may read at an update event, all of shape (k,) for k terms.

    ``values``: the terms now; ``previous``: at the last update (NaN before the first);
    ``factors``: the balance factors in use; ``grad_norm`` and ``grad_mean``: the L2 norm and the
    mean absolute entry of each term's gradient in the parameters; ``reference_max``: the largest
    absolute entry of the gradient of the sum of the active reference terms, marked 1 in
    ``reference`` (the equation residuals). Gradient fields are None unless the strategy
    ``uses_gradients``.
    """

    values: np.ndarray
    previous: np.ndarray
    factors: np.ndarray
    grad_norm: np.ndarray | None = None
    grad_mean: np.ndarray | None = None
    reference_max: float | None = None
    reference: np.ndarray | None = None


def _check_every(name: str, every) -> None:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ProblemError(f"{name} weighting 'every' must be a whole number of steps >= 1, got {every!r}")


def _check_alpha(name: str, alpha) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
        raise ProblemError(f"{name} weighting alpha must be a number in [0, 1), got {alpha!r}")


@dataclass(frozen=True)
class Adaptive:
    """Loss weights λ_i ∝ exp(η·Δlog L_i), updated every ``every`` Adam steps.

    Δ_i is the change of ``log L_i`` since the previous update (a relative change, so η needs no
    tuning to the terms' units): a term that grew or stalled gets more weight, one that fell fast
    gets less. The factors are normalised to sum to the number of active terms.
    """

    eta: float = 1.0
    every: int = 100

    name = "adaptive"
    uses_gradients = False

    def __post_init__(self):
        if isinstance(self.eta, bool) or not (isinstance(self.eta, (int, float)) and self.eta > 0):
            raise ProblemError(f"adaptive weighting eta must be a positive number, got {self.eta!r}")
        _check_every("adaptive", self.every)

    def balance(self, stats: TermStats, mask: np.ndarray) -> np.ndarray:
        """Balance factors at an update event."""
        return self.update(stats.previous, stats.values, mask)

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


def _smoothed(factors: np.ndarray, target: np.ndarray, alpha: float, update: np.ndarray) -> np.ndarray:
    """Moving average towards ``target`` where ``update`` holds; elsewhere the factor is kept
    (a masked-out term, or a term whose gradient vanished and so gives no ratio)."""
    return np.where(update, alpha * factors + (1 - alpha) * np.where(update, target, 1.0), factors)


@dataclass(frozen=True)
class _GradientBalance:
    """Settings and checks shared by the gradient-based rules: an update every ``every`` Adam
    steps, smoothed by :func:`_smoothed` with weight ``alpha`` on the old factor. Subclasses give
    ``name`` (as in problem files and error messages) and ``balance``."""

    every: int = 100
    alpha: float = 0.9

    uses_gradients = True

    def __post_init__(self):
        _check_every(self.name, self.every)
        _check_alpha(self.name, self.alpha)


@dataclass(frozen=True)
class GradNorm(_GradientBalance):
    """Gradient-norm balancing: λ̂_i = Σ_j‖∇L_j‖ / ‖∇L_i‖ over the active terms, smoothed by
    λ ← α·λ + (1 − α)·λ̂ every ``every`` Adam steps.

    After an update every weighted term λ̂_i·L_i has the same gradient norm, so no term can
    dominate the parameter updates because of its units or its number of points.
    """

    name = "gradnorm"

    def balance(self, stats: TermStats, mask: np.ndarray) -> np.ndarray:
        """Balance factors at an update event."""
        active = (mask > 0) & np.isfinite(stats.grad_norm)
        usable = active & (stats.grad_norm > 0)
        total = np.sum(np.where(active, stats.grad_norm, 0.0))
        target = total / np.where(usable, stats.grad_norm, 1.0)
        return _smoothed(stats.factors, target, self.alpha, usable)


@dataclass(frozen=True)
class Annealing(_GradientBalance):
    """Learning-rate annealing: λ̂_i = max|∇L_r| / mean|∇L_i| for the non-residual terms (the
    residual terms L_r keep factor 1), smoothed by λ ← α·λ + (1 − α)·λ̂ every ``every`` Adam
    steps. (The paper writes the average as (1 − α)·λ + α·λ̂ with α = 0.1; here α is the weight
    of the old value, as in :class:`GradNorm`, so the default 0.9 is the paper's setting.)
    """

    name = "annealing"

    def balance(self, stats: TermStats, mask: np.ndarray) -> np.ndarray:
        """Balance factors at an update event."""
        reference = np.zeros_like(mask) if stats.reference is None else stats.reference
        others = (mask > 0) & (reference == 0) & np.isfinite(stats.grad_mean) & (stats.grad_mean > 0)
        if not (np.isfinite(stats.reference_max) and stats.reference_max > 0):
            return stats.factors  # the residual gives no scale (e.g. already exact)
        target = stats.reference_max / np.where(others, stats.grad_mean, 1.0)
        return _smoothed(stats.factors, target, self.alpha, others)


WEIGHTINGS = {"adaptive": Adaptive, "gradnorm": GradNorm, "annealing": Annealing}  # names in problem files


def weighting_strategy(value):
    """A strategy from ``None``/``"fixed"`` (no balancing), a name in :data:`WEIGHTINGS`, or an
    instance of one of them."""
    if value is None:
        return None
    if isinstance(value, str):
        if value == "fixed":
            return None
        if value not in WEIGHTINGS:
            raise ProblemError(f"weighting must be 'fixed' or one of {', '.join(WEIGHTINGS)}, got {value!r}")
        return WEIGHTINGS[value]()
    if not isinstance(value, tuple(WEIGHTINGS.values())):
        raise ProblemError(f"weighting must be Adaptive(...), GradNorm(...), Annealing(...), a name or None, "
                           f"got {type(value).__name__}")  # fmt: skip
    return value


@dataclass(frozen=True)
class Causal:
    """Causal weighting of the residual in time (Wang, Sankaran & Perdikaris 2022).

    The interior points are split into ``slices`` equal time slices; with L_k the mean squared
    residual of slice k, the residual loss is (1/M)·Σ_k w_k·L_k with w_k = exp(−ε·Σ_{j<k} L_j)
    held constant in the gradient. A slice is trained only once the slices before it fit, as
    information flows forward in time. Each equation of a system is weighted by its own residual.
    """

    slices: int = 32
    epsilon: float = 1.0

    def __post_init__(self):
        if isinstance(self.slices, bool) or not isinstance(self.slices, int) or self.slices < 1:
            raise ProblemError(f"causal 'slices' must be a whole number >= 1, got {self.slices!r}")
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float)) or not self.epsilon > 0:
            raise ProblemError(f"causal 'epsilon' must be a positive number, got {self.epsilon!r}")

    def slice_losses(self, squares, t, mask, span: tuple[float, float]):
        """Mean squared residual per time slice, (slices, n_equations); an empty slice gives 0.

        ``squares`` (n, n_equations) are squared residuals at points with times ``t`` (n,) in
        ``span``; ``mask`` (n,) is 1 for points in use and 0 for padding.
        """
        t0, t1 = span
        index = jnp.clip(jnp.floor((t - t0) / (t1 - t0) * self.slices), 0, self.slices - 1).astype(jnp.int32)
        sums = jax.ops.segment_sum(squares * mask[:, None], index, self.slices)
        counts = jax.ops.segment_sum(mask, index, self.slices)
        return sums / jnp.maximum(counts, 1)[:, None]

    def weights(self, losses):
        """w_k = exp(−ε·Σ_{j<k} L_j) for slice losses (slices, n_equations): 1 in the first
        slice, non-increasing in time, and held constant in the gradient."""
        before = jnp.cumsum(losses, axis=0) - losses
        return jax.lax.stop_gradient(jnp.exp(-self.epsilon * before))

    def loss(self, squares, t, mask, span: tuple[float, float]):
        """The causally weighted residual loss of each equation, (n_equations,)."""
        losses = self.slice_losses(squares, t, mask, span)
        return jnp.mean(self.weights(losses) * losses, axis=0)
