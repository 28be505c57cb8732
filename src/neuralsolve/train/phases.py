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
from .bfgs import bfgs


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
    fixed_loss = False  # its steps tolerate a loss that changes (adaptive weights, fresh points)
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


class _QuasiNewton:
    """Shared step of line-search quasi-Newton phases; subclasses give ``optimizer()``."""

    fixed_loss = True  # curvature pairs and line searches need one fixed loss

    def init(self, params):
        return self.optimizer().init(params)

    def step(self, params, state, loss):
        opt = self.optimizer()
        value, grad = optax.value_and_grad_from_state(loss)(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(params, updates), state, value, grad

    def _check(self, name: str) -> None:
        _check_steps(name, self.steps)
        if self.patience < 1:
            raise ProblemError(f"{name} patience must be at least 1, got {self.patience}")


@dataclass(frozen=True)
class LBFGS(_QuasiNewton):
    """L-BFGS with a zoom line search, run until its budget or its own convergence test.

    The default memory (100 pairs) is larger than the usual 10-20: PINN losses are ill-conditioned
    and the extra curvature pairs cost little next to a loss evaluation (the damped-oscillator test
    reaches 6e-5 with 100 pairs where 20 pairs stall near 1e-3 after the same steps).

    It stops early only when the gradient's largest entry is below ``gtol`` or the loss has not
    decreased for ``patience`` consecutive steps (the line search can make no more progress); the
    reason is recorded in the solution's phase log.
    """

    steps: int = 5000
    memory: int = 100
    gtol: float = 1e-13
    patience: int = 50

    name = "lbfgs"

    def __post_init__(self):
        self._check("LBFGS")
        if self.memory < 1:
            raise ProblemError(f"LBFGS memory must be at least 1, got {self.memory}")

    def optimizer(self):
        return optax.lbfgs(memory_size=self.memory)


@dataclass(frozen=True)
class BFGS(_QuasiNewton):
    """Dense BFGS with a zoom line search: for high accuracy in float64 on small networks.

    Stores an (n, n) inverse-Hessian estimate for n network parameters, so it refuses networks
    with more than ``max_params`` parameters (use :class:`LBFGS` there). Stops like :class:`LBFGS`.
    """

    steps: int = 5000
    gtol: float = 1e-13
    patience: int = 50
    max_params: int = 20000

    name = "bfgs"

    def __post_init__(self):
        self._check("BFGS")

    def init(self, params):
        n = sum(x.size for x in jax.tree_util.tree_leaves(params))
        if n > self.max_params:
            raise ProblemError(
                f"BFGS stores an {n} x {n} matrix for this network's {n} parameters (limit {self.max_params}); "
                "use LBFGS or a smaller network"
            )
        return super().init(params)

    def optimizer(self):
        return bfgs()


PHASES = {"adam": Adam, "lbfgs": LBFGS, "bfgs": BFGS}  # problem files name phases by these keys


def default_phases() -> tuple:
    """Adam to find the basin, then L-BFGS to converge within it."""
    return (Adam(steps=2000, learning_rate=1e-3), LBFGS(steps=5000))
