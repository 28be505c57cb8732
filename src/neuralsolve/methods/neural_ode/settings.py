"""The settings of a neural-ODE solve: the ``[solver.ode]`` table (:class:`ODE`) and the rest of
``[solver]`` that applies (phases, precision, seed, time limit)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..._errors import ProblemError
from ...train.fit import check_time_limit
from ...train.phases import Adam, LBFGS

METHODS = ("pinn", "neural-ode", "operator")
EXPLICIT = ("tsit5", "dopri5", "dopri8", "bosh3", "heun", "midpoint", "ralston", "euler")
IMPLICIT = ("kvaerno3", "kvaerno4", "kvaerno5", "kencarp3", "kencarp4", "kencarp5", "implicit_euler")
INTEGRATORS = EXPLICIT + IMPLICIT
ADJOINTS = ("recursive", "backsolve", "direct")
REGULARISERS = ("none", "error", "stiffness", "local")
LOSSES = ("mse", "l1")
INITIALS = ("trained", "data")
# the keys of metrics.json a neural-ODE solve fills (docs/neural-odes.md)
METRIC_KEYS = ("unknowns", "unknowns_stderr", "unknowns_stderr_method", "unknown_errors", "unknown_deviations",
               "data_misfit_rms", "heldout_rms", "heldout_relative_error", "trajectories", "nfe", "initial_states",
               "discovered", "discovered_regression", "discovered_misfit_rms", "hidden_formula_misfit",
               "discovery_candidates", "verification")  # fmt: skip
# what a neural-ODE solve reads from [solver]; the collocation network's settings do not apply
SOLVER_KEYS = {"method", "ode", "phases", "precision", "seed", "time_limit"}


def _whole(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ProblemError(f"ode: {name} must be a whole number >= {low}, got {value!r}")


def _positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ProblemError(f"ode: {name} must be a positive, finite number, got {value!r}")


@dataclass(frozen=True)
class ODE:
    """How a neural ODE is integrated and trained (``[solver.ode]``; docs/neural-odes.md).

    Args:
        integrator: a diffrax solver: explicit ``"tsit5"`` (default), ``"dopri5"``, ``"dopri8"``,
            ...; implicit, for stiff problems, ``"kvaerno5"``, ``"kencarp4"``, ...
        rtol, atol: the adaptive step controller's tolerances.
        max_steps: steps one solve may take; a vector field that needs more stops training with
            status ``"stiff"`` (the last good parameters are kept), never a hang.
        adjoint: how gradients pass through the solver: ``"recursive"`` (checkpointed
            backpropagation, the default), ``"direct"`` or ``"backsolve"`` (the continuous
            adjoint: O(1) memory, inexact gradients; not with regularisers).
        batch: trajectories (or windows) per optimiser step (default: all trajectories, one window).
        window: train on windows of this many consecutive samples, each started from its first
            observation (torchdiffeq's recipe; default: whole series from the initial states).
        grow: train first on this fraction of each series, then on the whole (1: whole at once).
        regularise: ``"error"`` (the solver's local error estimates), ``"stiffness"`` or
            ``"local"`` (the error estimate of one step at a random time); ``"none"`` by default.
        regularisation: the regulariser's weight against the data term.
        regularisation_final: anneal the weight: it moves exponentially from ``regularisation`` at
            the first step to this at the end of the first phase (and of each stage's), then stays
            there (Pal et al. anneal 100 -> 10); ``None`` (default) keeps it constant.
        holdout: the fraction of trajectories held out of training, for the held-out errors.
        loss: ``"mse"`` (default) or ``"l1"`` misfit of the data.
        initial: ``"trained"`` (default: every trajectory's initial state is fitted, started
            from its first sample) or ``"data"`` (each starts from its first sample as measured:
            clean data, and diffrax's examples).
    """

    integrator: str = "tsit5"
    rtol: float = 1e-6
    atol: float = 1e-8
    max_steps: int = 4096
    adjoint: str = "recursive"
    batch: int | None = None
    window: int | None = None
    grow: float = 1.0
    regularise: str = "none"
    regularisation: float = 0.01
    regularisation_final: float | None = None
    holdout: float = 0.0
    loss: str = "mse"
    initial: str = "trained"

    def __post_init__(self):
        for name, choices in (("integrator", INTEGRATORS), ("adjoint", ADJOINTS), ("regularise", REGULARISERS),
                              ("loss", LOSSES), ("initial", INITIALS)):  # fmt: skip
            if getattr(self, name) not in choices:
                raise ProblemError(f"ode: {name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        _positive("rtol", self.rtol)
        _positive("atol", self.atol)
        _whole("max_steps", self.max_steps, 1)
        for name, low in (("batch", 1), ("window", 2)):
            if getattr(self, name) is not None:
                _whole(name, getattr(self, name), low)
        _positive("grow", self.grow)
        if self.grow > 1:
            raise ProblemError(f"ode: grow must be a fraction in (0, 1], got {self.grow!r}")
        if isinstance(self.regularisation, bool) or not isinstance(self.regularisation, (int, float)) or \
                not 0 <= self.regularisation < math.inf:  # fmt: skip
            raise ProblemError(f"ode: regularisation must be a finite number >= 0, got {self.regularisation!r}")
        final = self.regularisation_final
        if final is not None and (isinstance(final, bool) or not isinstance(final, (int, float)) or
                                  not 0 < final < math.inf or self.regularisation == 0):  # fmt: skip
            raise ProblemError(f"ode: regularisation_final must be a positive, finite number (and regularisation > 0), "
                               f"got {final!r}")  # fmt: skip
        if isinstance(self.holdout, bool) or not isinstance(self.holdout, (int, float)) or not 0 <= self.holdout < 1:
            raise ProblemError(f"ode: holdout must be a fraction in [0, 1), got {self.holdout!r}")
        if self.adjoint == "backsolve" and self.regularise != "none":
            raise ProblemError("ode: the regularisers need adjoint = 'recursive' or 'direct' (backsolve cannot "
                               "differentiate the solver's error estimates)")  # fmt: skip

    @property
    def stages(self) -> tuple[float, ...]:
        """The fraction of each series trained on, stage by stage."""
        return (self.grow, 1.0) if self.grow < 1 else (1.0,)


def default_phases() -> tuple:
    """Adam to bring the vector field near the data, then L-BFGS on the whole data to converge
    (the constants of a hybrid model settle only there)."""
    return (Adam(steps=1000, learning_rate=3e-3), LBFGS(steps=1000, plateau=200))


def resolve(problem, given: dict) -> dict:
    """The settings of a neural-ODE solve: ``given``, else ``[solver]``, else the defaults."""
    settings = {**problem.solver, **{k: v for k, v in given.items() if v is not None}}
    unused = sorted(k for k in settings if k not in SOLVER_KEYS)
    if unused:
        raise ProblemError(f"method 'neural-ode' does not use the solver setting(s) {', '.join(unused)} "
                           f"(it reads {', '.join(sorted(SOLVER_KEYS))})")  # fmt: skip
    ode = settings.get("ode") or ODE()
    if not isinstance(ode, ODE):
        raise ProblemError(f"ode must be ODE(...), got {type(ode).__name__}")
    precision = settings.get("precision", "float64")
    if precision not in ("float32", "float64"):
        raise ProblemError(f"precision must be float32 or float64, got {precision!r}")
    seed = settings.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ProblemError(f"seed must be a whole number >= 0, got {seed!r}")
    phases = settings.get("phases")
    return {"method": "neural-ode", "ode": ode, "phases": tuple(phases) if phases is not None else default_phases(),
            "precision": precision, "seed": seed, "time_limit": check_time_limit(settings.get("time_limit"))}  # fmt: skip


def check_stages(settings: dict) -> None:
    """Refuse settings that cannot run together."""
    if settings["ode"].window is not None and settings["ode"].batch is None:
        raise ProblemError("ode: window needs batch (how many windows per step)")
