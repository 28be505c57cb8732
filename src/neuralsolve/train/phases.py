"""Optimiser phases: each is a step budget, an optax optimiser and its own stop tests.

A phase gives ``init(params)`` and ``step(params, state, loss) -> (params, state, value, grad)``,
where ``value`` and ``grad`` belong to the parameters *before* the step. The fit loop owns the
bookkeeping (best parameters, non-finite losses, progress) so phases stay small.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import optax

from .._errors import ProblemError


def _check_steps(name: str, steps: int) -> None:
    if not isinstance(steps, int) or steps < 0:
        raise ProblemError(f"{name} steps must be a non-negative integer, got {steps!r}")


@dataclass(frozen=True)
class Adam:
    """Adam for ``steps`` steps; the learning rate decays exponentially to ``final_learning_rate``."""

    steps: int = 2000
    learning_rate: float = 1e-3
    final_learning_rate: float | None = None

    name = "adam"
    patience = None  # Adam is stopped by its budget only
    gtol = 0.0

    def __post_init__(self):
        _check_steps("Adam", self.steps)
        if not self.learning_rate > 0:
            raise ProblemError(f"Adam learning_rate must be positive, got {self.learning_rate}")

    def optimizer(self) -> optax.GradientTransformation:
        rate = self.learning_rate
        if self.final_learning_rate is not None and self.steps > 0:
            rate = optax.exponential_decay(rate, self.steps, self.final_learning_rate / rate)
        return optax.adam(rate)

    def init(self, params):
        return self.optimizer().init(params)

    def step(self, params, state, loss):
        value, grad = jax.value_and_grad(loss)(params)
        updates, state = self.optimizer().update(grad, state, params)
        return optax.apply_updates(params, updates), state, value, grad


@dataclass(frozen=True)
class LBFGS:
    """L-BFGS with a zoom line search, run until its budget or its own convergence test.

    It stops early only when the gradient's largest entry is below ``gtol`` or the loss has not
    decreased for ``patience`` consecutive steps (the line search can make no more progress); the
    reason is recorded in the solution's phase log.
    """

    steps: int = 5000
    memory: int = 20
    gtol: float = 1e-13
    patience: int = 50

    name = "lbfgs"

    def __post_init__(self):
        _check_steps("LBFGS", self.steps)
        if self.memory < 1 or self.patience < 1:
            raise ProblemError("LBFGS memory and patience must be at least 1")

    def optimizer(self):
        return optax.lbfgs(memory_size=self.memory)

    def init(self, params):
        return self.optimizer().init(params)

    def step(self, params, state, loss):
        opt = self.optimizer()
        value, grad = optax.value_and_grad_from_state(loss)(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(params, updates), state, value, grad


def default_phases() -> tuple:
    """Adam to find the basin, then L-BFGS to converge within it."""
    return (Adam(steps=2000, learning_rate=1e-3), LBFGS(steps=5000))
