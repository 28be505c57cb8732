"""Optimiser phases: each is a step budget, an optax optimiser and its own stop tests.

A phase gives ``init(params)`` and ``step(params, state, loss) -> (params, state, value, grad)``,
where ``value`` and ``grad`` belong to the parameters *before* the step. The fit loop owns the
bookkeeping (best parameters, non-finite losses, progress) so phases stay small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from .._errors import ProblemError

if TYPE_CHECKING:
    import optax

# optax (and the dense BFGS built on it) is imported where a phase builds its optimiser, so
# that reading settings (neuralsolve check) does not import it


def _check_steps(name: str, steps: int) -> None:
    if not isinstance(steps, int) or steps < 0:
        raise ProblemError(f"{name} steps must be a non-negative integer, got {steps!r}")


SCHEDULES = ("constant", "exponential", "cosine", "step")  # Adam learning-rate schedules


def _check_plateau(name: str, plateau, factor) -> None:
    """``plateau`` steps (0: off) and the ``factor`` the loss must fall by over them."""
    if isinstance(plateau, bool) or not isinstance(plateau, int) or plateau < 0:
        raise ProblemError(f"{name} plateau must be a whole number of steps >= 0 (0: off), got {plateau!r}")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 1 < factor < float("inf"):
        raise ProblemError(f"{name} plateau_factor must be a number > 1, got {factor!r}")


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ProblemError(f"Adam {name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class Adam:
    """Adam for ``steps`` steps with a learning-rate ``schedule``:

    - ``"constant"``: ``learning_rate`` throughout (the default without ``final_learning_rate``);
    - ``"exponential"``: decays exponentially from ``learning_rate`` to ``final_learning_rate``
      at the last step (the default when ``final_learning_rate`` is given);
    - ``"cosine"``: half a cosine from ``learning_rate`` down to ``final_learning_rate`` (0 if
      not given);
    - ``"step"``: multiplied by ``decay_factor`` every ``decay_every`` steps (PyTorch's StepLR).

    ``weight_decay`` (0 by default) shrinks the weights by ``learning_rate * weight_decay`` per
    step, decoupled from the gradient (AdamW).

    ``warmup`` steps (0 by default) first raise the rate linearly from 0 to ``learning_rate``;
    the schedule then spans the remaining steps. A warm-up longer than the phase (the CLI's
    ``--steps`` can shorten phases) is cut to the phase's length.

    ``plateau`` (steps, 0 by default: off) stops the phase once the loss has fallen less than
    ``plateau_factor`` times over the last ``plateau`` steps (every phase has these two settings;
    a phase whose loss changes as it trains, with adaptive weights or fresh points, never stops so).
    """

    steps: int = 2000
    learning_rate: float = 1e-3
    final_learning_rate: float | None = None
    schedule: str | None = None
    warmup: int = 0
    plateau: int = 0
    plateau_factor: float = 2.0
    decay_every: int = 0
    decay_factor: float = 0.5
    weight_decay: float = 0.0

    name = "adam"
    patience = None  # Adam is stopped by its budget only
    fixed_loss = False  # its steps tolerate a loss that changes (adaptive weights, fresh points)
    uses_rows = False
    gtol = 0.0

    def __post_init__(self):
        _check_steps("Adam", self.steps)
        _check_positive("learning_rate", self.learning_rate)
        if self.final_learning_rate is not None:
            _check_positive("final_learning_rate", self.final_learning_rate)
        if self.schedule is not None and self.schedule not in SCHEDULES:
            raise ProblemError(f"Adam schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.schedule == "exponential" and self.final_learning_rate is None:
            raise ProblemError("Adam schedule 'exponential' needs a final_learning_rate to decay to")
        if self.schedule == "step" and (isinstance(self.decay_every, bool) or not isinstance(self.decay_every, int)
                                        or self.decay_every < 1):  # fmt: skip
            raise ProblemError(f"Adam schedule 'step' needs decay_every >= 1 (steps), got {self.decay_every!r}")
        if not (isinstance(self.decay_factor, (int, float)) and 0 < self.decay_factor <= 1):
            raise ProblemError(f"Adam decay_factor must be in (0, 1], got {self.decay_factor!r}")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or not 0 <= self.weight_decay < 1:
            raise ProblemError(f"Adam weight_decay must be a number in [0, 1), got {self.weight_decay!r}")
        if self.schedule in ("constant", "step") and self.final_learning_rate is not None:
            raise ProblemError(f"Adam schedule {self.schedule!r} takes no final_learning_rate; use 'exponential' or 'cosine'")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ProblemError(f"Adam warmup must be a whole number of steps >= 0, got {self.warmup!r}")
        _check_plateau("Adam", self.plateau, self.plateau_factor)

    @property
    def kind(self) -> str:
        """The schedule in force: the one named, else exponential if a final rate is given."""
        if self.schedule is not None:
            return self.schedule
        return "constant" if self.final_learning_rate is None else "exponential"

    def learning_rates(self) -> optax.Schedule:
        """The learning rate as a function of the step number within this phase."""
        import optax

        warmup = min(self.warmup, self.steps)
        decay = max(self.steps - warmup, 1)
        rate, final = self.learning_rate, self.final_learning_rate
        if self.kind == "exponential":
            main = optax.exponential_decay(rate, decay, final / rate)
        elif self.kind == "cosine":
            main = optax.cosine_decay_schedule(rate, decay, (final or 0.0) / rate)
        elif self.kind == "step":
            main = optax.exponential_decay(rate, self.decay_every, self.decay_factor, staircase=True)
        else:
            main = optax.constant_schedule(rate)
        if warmup == 0:
            return main
        return optax.join_schedules([optax.linear_schedule(0.0, rate, warmup), main], [warmup])

    def optimizer(self) -> optax.GradientTransformation:
        import optax

        if self.weight_decay:
            return optax.adamw(self.learning_rates(), weight_decay=self.weight_decay)
        return optax.adam(self.learning_rates())

    def init(self, params):
        return self.optimizer().init(params)

    def step(self, params, state, loss):
        import optax

        value, grad = jax.value_and_grad(loss)(params)
        updates, state = self.optimizer().update(grad, state, params)
        return optax.apply_updates(params, updates), state, value, grad


@dataclass(frozen=True)
class RMSprop(Adam):
    """RMSprop with PyTorch's defaults (``alpha = 0.99``, ``eps = 1e-8`` added outside the square
    root), so that a recipe written for ``torch.optim.RMSprop`` runs as written; the settings and
    learning-rate schedules are Adam's."""

    name = "rmsprop"

    def optimizer(self) -> optax.GradientTransformation:
        import optax

        return optax.rmsprop(self.learning_rates(), decay=0.99, eps=1e-8, eps_in_sqrt=False)


@dataclass(frozen=True)
class AdaBelief(Adam):
    """AdaBelief (optax's defaults), the optimiser of diffrax's neural-ODE examples; the settings
    and learning-rate schedules are Adam's."""

    name = "adabelief"

    def optimizer(self) -> optax.GradientTransformation:
        import optax

        return optax.adabelief(self.learning_rates())


def _strong(x):
    """``x`` with the same dtype but not weakly typed (so a jit carry keeps one signature)."""
    return jnp.asarray(x, dtype=jnp.asarray(x).dtype)


class _QuasiNewton:
    """Shared step of line-search quasi-Newton phases (:mod:`neuralsolve.train.quasi_newton`);
    subclasses give ``direction()``, the optax transformation of their curvature model, and
    ``guess``, the line search's first trial step: 1, or the last accepted step size."""

    fixed_loss = True  # curvature pairs and line searches need one fixed loss
    uses_rows = False
    guess = "keep"
    max_linesearch_steps = 30

    def init(self, params):
        from . import quasi_newton

        # Weakly typed leaves would come back strongly typed from the first step, and the fit
        # loop's second chunk would compile again.
        return jax.tree_util.tree_map(_strong, quasi_newton.init(self.direction(), params))

    def step(self, params, state, loss):
        from . import quasi_newton

        return quasi_newton.step(self.direction(), params, state, loss, guess=self.guess,
                                 max_linesearch_steps=self.max_linesearch_steps)  # fmt: skip

    def _check(self, name: str) -> None:
        _check_steps(name, self.steps)
        if self.patience < 1:
            raise ProblemError(f"{name} patience must be at least 1, got {self.patience}")
        _check_plateau(name, self.plateau, self.plateau_factor)


@dataclass(frozen=True)
class LBFGS(_QuasiNewton):
    """L-BFGS with a zoom line search, run until its budget or its own convergence test.

    The default memory (100 pairs) is larger than the usual 10-20: PINN losses are ill-conditioned
    and the extra curvature pairs cost little next to a loss evaluation (the damped-oscillator test
    reaches 6e-5 with 100 pairs where 20 pairs stall near 1e-3 after the same steps).

    It stops early when the gradient's largest entry is below ``gtol``, when the loss has not
    decreased for ``patience`` consecutive steps (the line search can make no more progress), or,
    with ``plateau`` steps (0: off, as for :class:`Adam`), when the loss fell less than
    ``plateau_factor`` times over that many steps; the reason is recorded in the solution's phase log.
    """

    steps: int = 5000
    memory: int = 100
    gtol: float = 1e-13
    patience: int = 50
    plateau: int = 0
    plateau_factor: float = 2.0

    name = "lbfgs"
    guess = "one"  # as optax.lbfgs chains its line search
    max_linesearch_steps = 20

    def __post_init__(self):
        self._check("LBFGS")
        if self.memory < 1:
            raise ProblemError(f"LBFGS memory must be at least 1, got {self.memory}")

    def direction(self):
        import optax

        return optax.scale_by_lbfgs(memory_size=self.memory)


@dataclass(frozen=True)
class _Dense(_QuasiNewton):
    """Quasi-Newton phases that store a dense (n, n) inverse-Hessian estimate for n parameters;
    they refuse networks with more than ``max_params`` parameters (use :class:`LBFGS` there).

    BFGS and its self-scaled variants share these settings and checks; subclasses give ``name``
    and ``direction()``, and errors name them by their class name.
    """

    steps: int = 5000
    gtol: float = 1e-13
    patience: int = 50
    max_params: int = 20000
    plateau: int = 0
    plateau_factor: float = 2.0

    def __post_init__(self):
        self._check(type(self).__name__)

    def init(self, params):
        n = sum(x.size for x in jax.tree_util.tree_leaves(params))
        if n > self.max_params:
            raise ProblemError(
                f"{type(self).__name__} stores an {n} x {n} matrix for this network's {n} parameters "
                f"(limit {self.max_params}); use LBFGS or a smaller network"
            )
        return super().init(params)


@dataclass(frozen=True)
class BFGS(_Dense):
    """Dense BFGS with a zoom line search: for high accuracy in float64 on small networks.

    Stores an (n, n) inverse-Hessian estimate for n network parameters, so it refuses networks
    with more than ``max_params`` parameters (use :class:`LBFGS` there). Stops like :class:`LBFGS`.
    """

    name = "bfgs"

    def direction(self):
        from .bfgs import bfgs_factors, scale_by_self_scaled

        return scale_by_self_scaled(bfgs_factors)


@dataclass(frozen=True)
class SSBFGS(_Dense):
    """Self-scaled BFGS (Al-Baali; Urbán, Stefanou & Pons 2025): BFGS whose curvature model is
    shrunk by τ = min(1, y·s / s·Bs) before each update, so an over-large Hessian estimate (the
    usual state after a stiff stretch of a PINN loss) no longer forces tiny steps.

    Dense like :class:`BFGS` (same ``max_params`` guard) and stopped like :class:`LBFGS`.
    """

    name = "ssbfgs"

    def direction(self):
        from .bfgs import ssbfgs_factors, scale_by_self_scaled

        return scale_by_self_scaled(ssbfgs_factors)


@dataclass(frozen=True)
class SSBroyden(_Dense):
    """Self-scaled Broyden (Al-Baali & Khalfan; Urbán, Stefanou & Pons 2025): each update picks
    both the scaling τ and the Broyden-family member (between BFGS and DFP) from the latest
    curvature pair. The paper's most accurate optimiser for small float64 PINNs.

    Dense like :class:`BFGS` (same ``max_params`` guard) and stopped like :class:`LBFGS`.
    """

    name = "ssbroyden"

    def direction(self):
        from .bfgs import ssbroyden_factors, scale_by_self_scaled

        return scale_by_self_scaled(ssbroyden_factors)


@dataclass(frozen=True)
class LevenbergMarquardt:
    """Levenberg–Marquardt (damped Gauss–Newton) on the residuals themselves
    (:mod:`neuralsolve.train.gauss_newton`): for high accuracy in float64 on small networks.

    Each step builds the residuals' Jacobian and solves a dense n x n system for n parameters, so
    it refuses networks of more than ``max_params``. ``damping``: λ at the start, relative to the
    Gauss–Newton matrix's mean diagonal. Stops like :class:`LBFGS` (``patience`` counts
    consecutive rejected steps).
    """

    steps: int = 500
    damping: float = 1e-3
    gtol: float = 1e-13
    patience: int = 20
    max_params: int = 5000
    plateau: int = 0
    plateau_factor: float = 2.0

    name = "lm"
    fixed_loss = True  # a step is judged on the loss it was built from
    uses_rows = True  # the fit loop passes the residual rows (neuralsolve.loss.rows)

    def __post_init__(self):
        _check_steps("LevenbergMarquardt", self.steps)
        if isinstance(self.damping, bool) or not isinstance(self.damping, (int, float)) or not 0 < self.damping < 1e12:
            raise ProblemError(f"LevenbergMarquardt damping must be a positive number, got {self.damping!r}")
        if self.patience < 1:
            raise ProblemError(f"LevenbergMarquardt patience must be at least 1, got {self.patience}")
        _check_plateau("LevenbergMarquardt", self.plateau, self.plateau_factor)

    def init(self, params):
        from .gauss_newton import init_state

        leaves = jax.tree_util.tree_leaves(params)
        n = sum(x.size for x in leaves)
        if n > self.max_params:
            raise ProblemError(f"LevenbergMarquardt solves an {n} x {n} system for this network's {n} parameters "
                               f"(limit {self.max_params}); use SSBroyden, LBFGS or a smaller network")  # fmt: skip
        return init_state(self.damping, leaves[0].dtype)

    def step(self, params, state, loss, rows):
        from .gauss_newton import lm_step

        return lm_step(params, state, loss, rows, (1e-15, 1e8))


# problem files name phases by these keys
PHASES = {"adam": Adam, "rmsprop": RMSprop, "adabelief": AdaBelief, "lbfgs": LBFGS, "bfgs": BFGS, "ssbfgs": SSBFGS,
          "ssbroyden": SSBroyden, "lm": LevenbergMarquardt}  # fmt: skip


def default_phases(dim: int = 1) -> tuple:
    """Adam to find the basin, then L-BFGS to converge within it, stopped on a plateau: past it the
    steps cost more than they give. Adam's 1000 steps are enough for L-BFGS to take over: on the
    demo, 500, 1000 and 2000 Adam steps before 1500 L-BFGS steps end at errors of 1.9e-9, 2.7e-8
    and 2.5e-8.

    The plateau depends on the domain's dimension ``dim`` (time included), as a step's cost does.
    On an interval L-BFGS stops once its loss falls less than 2x in 500 steps (the demo's loss falls
    500x between L-BFGS steps 500 and 1000, then under 2x per 500 steps from about 2000: 2800
    steps, 2.5e-8, seconds). In two or more dimensions a step costs tens of milliseconds on a
    2-core CPU, and L-BFGS stops once its loss falls less than 3x in 200 steps: a 2-D Laplace
    problem stops at 1600 steps, 6.3e-6, in about a minute, where the 1-D rule ran 2300 steps to
    2.8e-6 in 83 s."""
    if dim <= 1:
        return (Adam(steps=1000, learning_rate=1e-3), LBFGS(steps=5000, plateau=500))
    return (Adam(steps=1000, learning_rate=1e-3), LBFGS(steps=5000, plateau=200, plateau_factor=3.0))
