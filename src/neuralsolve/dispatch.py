"""``solve(problem, ...) -> Solution``: the one entry point, with strategies as keyword arguments.

It asks the method families in :data:`FAMILIES`, in order, which one takes the problem, and hands
the problem to it. Nothing here knows what a family does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ._errors import ProblemError
from .discover.eliminate import field_noise
from .loss.terms import Points
from .methods import eigen, forward, inverse, march, neural_ode, operator
from .methods.base import Family
from .nn.mlp import MLP
from .ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from .ops.derivatives import METHODS as DERIVATIVE_METHODS
from .problem.problem import Problem
from .solution import Recorder, Solution
from .train.checkpoint import Checkpoint
from .train.sharding import check_devices
from .train.weighting import Causal

# asked in this order; the forward family takes whatever the others leave
FAMILIES: tuple[Family, ...] = (operator.FAMILY, neural_ode.FAMILY, eigen.FAMILY, inverse.FAMILY, march.FAMILY, forward.FAMILY)


def family_for(problem: Problem, given: dict) -> Family:
    """The family that solves ``problem`` with the settings ``given`` (over its ``[solver]`` table)."""
    settings = {**problem.solver, **given}
    return next(f for f in FAMILIES if f.accepts(problem, settings))


def prepare(problem: Problem, given: dict) -> tuple[Family, dict]:
    """The family that solves ``problem`` and its resolved settings (``given``, else the problem's
    ``[solver]`` table, else defaults). Raises ProblemError for settings it cannot use."""
    family = family_for(problem, given)
    check_devices_for(family, {**problem.solver, **given}.get("devices"))
    return family, family.settings(problem, given)


def check_devices_for(family: Family, devices) -> None:
    """ProblemError for a ``devices`` setting that is invalid, or that asks ``family`` to split its
    points over several devices when it cannot (families that can check it in full)."""
    if check_devices(devices) not in (None, 1) and not family.multi_device:
        raise ProblemError(f"devices: the {family.name} family trains on one device (only forward problems, time "
                           f"windows included, split their points over several); leave devices out, got {devices!r}")  # fmt: skip


def solve(problem: Problem, *, network: MLP | None = None, points: Points | None = None, phases=None,
          precision: str | None = None, seed: int | None = None, weighting=None, causal: Causal | None = None,
          sampling=None, redraw: int | None = None, derivatives: str = DEFAULT_DERIVATIVES, callback: Callable | None = None,
          log_every: int = 100, checkpoint: Checkpoint | None = None, resume: bool = False,
          time_limit: float | None = None, windows: int | None = None, method: str | None = None,
          ode=None, model=None, training=None, devices: int | str | None = None) -> Solution:  # fmt: skip
    """Solve ``problem`` with a physics-informed network.

    Settings left out (None) come from ``problem.solver`` (a problem file's ``[solver]`` table),
    then from the defaults below.

    Args:
        network: the network settings (default ``MLP(width=32, depth=3, activation="tanh")``).
        points: collocation point counts and sampler (defaults depend on the dimension).
        phases: optimiser phases in order (default ``Adam(1000)`` then ``LBFGS(5000, plateau=500)``).
        precision: ``"float64"`` (default, for accuracy) or ``"float32"`` (for speed).
        seed: seeds the network initialisation and the collocation points.
        weighting: balances the loss terms during Adam phases: :class:`Adaptive` (by how each
            term changes), :class:`GradNorm` (equal gradient norms) or :class:`Annealing`
            (learning-rate annealing), or their names ``"adaptive"``, ``"gradnorm"``,
            ``"annealing"`` (default ``"fixed"``: each condition's ``weight``). See
            docs/training-methods.md.
        causal: :class:`Causal` weights the residual by time slice during Adam phases so that
            early times are fitted first (problems with a time coordinate ``t`` only).
        sampling: residual-based adaptive sampling of the interior points during Adam phases:
            :class:`RAR` (add points where the residual is largest) or :class:`RAD` (redraw
            them with a density that follows the residual), or ``"rar"`` / ``"rad"``.
        redraw: draw fresh collocation points every ``redraw`` Adam steps (default: never).
        derivatives: ``"taylor"`` (default: every derivative in one pass through the network),
            ``"jvp"`` (nested forward mode per point), ``"jet"`` or ``"reverse"``.
        callback: called after every ``log_every`` steps with a progress record
            ``{"phase", "step", "loss", "terms", "elapsed"}`` (see :func:`print_progress`).
        checkpoint: a :class:`Checkpoint` that saves the training state every so often, on Ctrl-C
            and at the end.
        resume: continue from ``checkpoint``'s saved state (the same settings must be given).
        time_limit: stop training after about this many seconds (measured from the start of
            training, compilation included), before an optimiser chunk that would end past it;
            later phases are skipped and the status stays ``"ok"``, with a message saying so.
            Default: no limit. Not available for eigenproblems.
        windows: solve an evolution problem in this many equal time windows, one after another,
            each starting from the previous one's solution (time marching; default 1: the whole
            span at once). For strong advection, waves and long spans; see docs/training-methods.md.
        method: ``"pinn"`` (default: a physics-informed network of the coordinates) or
            ``"neural-ode"`` (problems in t alone, learned from trajectories: the equations are
            solved by diffrax and the unknowns fitted through the solver; docs/neural-odes.md).
        ode: the neural ODE's :class:`ODE` settings (integrator, tolerances, batches, regulariser).
        model: a neural operator's network, :class:`FNO`, :class:`DeepONet` or :class:`MgNO`
            (problems with an ``[operator]`` section; docs/neural-operators.md).
        training: a neural operator's :class:`Training` (epochs, batch, learning rate, schedule).
        devices: data-parallel training: split the collocation points over ``"all"`` the devices
            of JAX's default backend, or over the first N (``jax.sharding``; parameters are
            replicated, the result is the same up to the order of sums); 1: one device. Default:
            one device, or on a CPU that the command line made one device per core, the cores
            where each gets 512 points or more, the loss is a plain mean and every phase is
            first-order (docs/problem-files.md, "Several devices"). Forward problems and time
            windows only. Across hosts, call
            ``jax.distributed.initialize()`` first and give ``"all"``.

    Returns:
        A :class:`Solution`; check its ``status`` (a NaN loss stops training but still returns the
        last finite parameters). An eigenproblem gives an :class:`EigenSolution`, a neural ODE an
        :class:`ODESolution`, an operator problem an :class:`OperatorSolution` (callable on input
        functions).
    """
    if not isinstance(problem, Problem):
        raise ProblemError(f"solve needs a Problem, got {type(problem).__name__}")
    given = {"network": network, "points": points, "phases": phases, "precision": precision, "seed": seed,
             "weighting": weighting, "causal": causal, "sampling": sampling, "redraw": redraw,
             "time_limit": time_limit, "windows": windows, "method": method, "ode": ode, "model": model,
             "training": training, "devices": devices}  # fmt: skip
    family, settings = prepare(problem, {k: v for k, v in given.items() if v is not None})
    if derivatives not in DERIVATIVE_METHODS:
        raise ProblemError(f"derivatives must be one of {', '.join(DERIVATIVE_METHODS)}, got {derivatives!r}")
    if checkpoint is None and not resume:
        checkpoint = Recorder()  # the final training state, kept in memory for Solution.save
    sol = family.solve(problem, settings, derivatives=derivatives, callback=callback, log_every=log_every,
                       checkpoint=checkpoint, resume=resume)  # fmt: skip
    sol.remember(problem, settings, checkpoint)
    return judge(sol, problem.tolerance)


def judge(sol: Solution, tolerance: float) -> Solution:
    """The verdict: a solve that trained to the end (status ``"ok"``) but whose error against its
    own reference (exact or classical) exceeds ``tolerance`` gets status ``"disagrees"`` and a
    message saying by how much. Errors are relative L2 errors of the fields (of each state, for an
    eigenproblem), relative eigenvalue errors and relative errors of estimated constants (one
    within 3 of its standard errors of the true value agrees at any tolerance).

    Errors at the level of the reference's own estimated error (metrics ``error_below_reference``)
    are said to be so in the message, whatever the status: they show the solution is about as
    accurate as the reference, not that its error is as small as measured."""
    worst = _worst_error(sol.metrics)
    if sol.status == "ok" and worst is not None and worst[1] > tolerance:
        key = "reference" if sol.metrics.get("reference") else "eigenvalue_reference"
        against = reference_name(sol.metrics, key, method=False) or "its reference"
        if worst[0].startswith("unknown "):
            against = "the true value ([exact]) of " + worst[0].removeprefix("unknown ")
        sol.status = "disagrees"
        sol.message = (f"solved, but disagrees with {against} by {worst[1]:.2g} (relative error of {worst[0]}; "
                       f"tolerance {tolerance:g})" + ("" if sol.message == "training completed" else f"; {sol.message}"))  # fmt: skip
    miss = data_miss(sol.metrics, getattr(sol, "problem", None))  # stand-ins for a solution may lack one
    if sol.status == "ok" and miss is not None:
        sol.status, sol.message = "disagrees", f"solved, but {miss}"
    note = reference_level_note(sol.metrics)
    if note is not None:
        sol.message = f"{sol.message}; {note}"
    return sol


# A model that explains its data misses them by about their noise (RMS misfit / noise near 1, within
# a few 1/sqrt(2n) of it); three times the noise is far beyond chance for any data set
MISFIT_NOISE_LIMIT = 3.0


def data_miss(metrics: dict, problem: Problem | None) -> str | None:
    """Words for a data misfit more than ``MISFIT_NOISE_LIMIT`` times the data's known noise, in
    some field (None: none is, or no noise is known): when the data are the reference, a model
    that misses them by that much has not converged, or cannot explain them."""
    misfit = metrics.get("data_misfit_rms") or {}
    if not misfit or problem is None or not problem.inverse.data:
        return None
    noise = field_noise(problem.inverse.data, problem.fields)
    over = [f for f, m in misfit.items() if f in noise and m > MISFIT_NOISE_LIMIT * noise[f]]
    if not over:
        return None
    shown = ", ".join(f"{f} {misfit[f]:.2g} ({misfit[f] / noise[f]:.0f}x its noise {noise[f]:.2g})" for f in over)
    return (f"the model misses its data by more than {MISFIT_NOISE_LIMIT:g}x their known noise (misfit RMS {shown}): "
            "train longer, or the model cannot explain the data")  # fmt: skip


def reference_level_note(metrics: dict) -> str | None:
    """Words for the errors that are at the level of the reference's own estimated error (None: none are)."""
    names = metrics.get("error_below_reference") or []
    if not names:
        return None
    errors = dict(metrics.get("l2_relative_error") or {})
    errors.update({f"eigenvalue {k}": e for k, e in enumerate(metrics.get("eigenvalue_errors") or [])})
    shown = ", ".join(f"{n} ({errors[n]:.2g})" if n in errors else n for n in names)
    own = [metrics.get(k) for k in ("reference_error_estimate", "eigenvalue_reference_error_estimate")]
    own = [e for e in own if e is not None]
    level = f" (estimated {max(own):.2g})" if own else ""
    return (f"the error of {shown} is at the level of the reference's own accuracy{level}: the solution is "
            "about that accurate or better, and this reference cannot tell how much better")


def reference_name(metrics: dict, key: str = "reference", method: bool = True) -> str | None:
    """What a solve's errors are measured against, in words, from its metrics (None: nothing);
    with ``method``, a classical reference names its method."""
    kind = metrics.get(key)
    if kind == "exact":
        return "the exact solution"
    if kind == "classical":
        named = metrics.get("reference_method") if method else None
        return "the classical reference" + (f" ({named})" if named else "")
    return None


def _worst_error(metrics: dict) -> tuple[str, float] | None:
    """The largest relative error in ``metrics`` and what it is of; None without a reference. A NaN
    error counts as the worst."""
    errors = dict(metrics.get("l2_relative_error") or {})
    errors.update({f"eigenvalue {k}": e for k, e in enumerate(metrics.get("eigenvalue_errors") or [])})
    errors.update({f"unknown {k}": e for k, e in (metrics.get("unknown_errors") or {}).items()
                   if not _within_error_bars(metrics, k)})  # fmt: skip
    errors = {k: (float("inf") if e != e else e) for k, e in errors.items() if e is not None}
    if not errors:
        return None
    name = max(errors, key=errors.get)
    return name, errors[name]


def _within_error_bars(metrics: dict, name: str) -> bool:
    """Whether an estimated constant lies within 3 standard errors (of the noise alone) of its true
    value: an estimate as good as the noisy data allow agrees, whatever the tolerance."""
    z = (metrics.get("unknown_deviations") or {}).get(name)
    return z is not None and z <= 3


def print_progress(record: dict, stream=sys.stderr) -> None:
    """A ready-made ``callback``: one line per progress record."""
    terms = " ".join(f"{v:.2e}" for v in record["terms"])
    print(f"{record['phase']:>6} step {record['step']:>6}  loss {record['loss']:.3e}  [{terms}]  "
          f"{record['elapsed']:.1f}s", file=stream)  # fmt: skip
