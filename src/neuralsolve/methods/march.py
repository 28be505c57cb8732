"""Time marching: an evolution problem solved one time window after another.

A network trained on a whole time span at once can settle on a function that obeys the equation
late in time without carrying the initial condition there (strong advection, waves, long spans:
Krishnapriyan et al. 2021, "Characterizing possible failure modes in physics-informed neural
networks"). Marching splits [t0, t1] into ``windows`` equal windows and solves them in order, each a
short problem of its own:

* the first window keeps the problem's own initial conditions;
* each later window starts from the previous window's solution at its start time: the values of
  every field and, for equations of second order in time, their time derivatives. These enter as
  penalty terms on points of the window's start face rather than through the trial function, so
  a window's network evaluates only the previous window's, never the whole chain before it.

The windows' networks together form one :class:`~neuralsolve.solution.Solution` on the whole span
(at a window edge the later window's network answers), whose metrics are measured on the whole
problem. Each window saves its own checkpoint, so an interrupted march resumes in the window it was
in.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from ..loss.terms import term_names
from ..ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from ..pinn.measure import METRICS, BackgroundReference, evaluate_metrics, exact_values, has_exact, reference_for
from ..pinn.model import build_model
from ..pinn.settings import dtype_of, resolve_settings
from ..pinn.train import train_network
from ..problem.conditions import Initial, InitialRate, Observations, Periodic
from ..problem.domain import TIME, SpaceTime
from ..problem.problem import Problem
from ..solution import Solution
from ..train.fit import FitResult, carry_template
from .base import Family, saved_outcome

START_POINTS = 256  # points on each window's start face for the continuity terms


class March(Family):
    """Evolution problems solved in ``windows`` > 1 time windows, one after another."""

    name = "march"
    metric_keys = METRICS
    multi_device = True  # each window is a train_network solve

    def accepts(self, problem: Problem, settings: dict) -> bool:
        windows = settings.get("windows", 1)
        return isinstance(windows, int) and not isinstance(windows, bool) and windows > 1

    def settings(self, problem: Problem, given: dict) -> dict:
        settings = resolve_settings(problem, given)
        check_windows(problem)
        return settings

    def solve(self, problem: Problem, settings: dict, **run) -> Solution:
        return solve_windows(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict) -> Solution | None:
        metrics = {k: saved.get(k) for k in self.metric_keys} if saved else None  # the solve's own figures
        return reopen(problem, settings, checkpoint, metrics, saved_outcome(saved))

    def rounds(self, problem: Problem, settings: dict) -> int:
        return settings["windows"]

    def steps_saved(self, problem: Problem, settings: dict, checkpoint) -> int | None:
        """Window k's records count on from the steps of the windows before it (see ``_Log``)."""
        saved = [checkpoint.for_window(k).steps() for k in range(settings["windows"])]
        saved = [s for s in saved if s is not None]
        return sum(saved) if saved else None


def check_windows(problem: Problem) -> None:
    """ProblemError saying why ``problem`` cannot be marched in time windows, if it cannot."""
    if not problem.domain.has_time or not isinstance(problem.domain, SpaceTime):
        raise ProblemError("windows (time marching) needs a problem in space and time (a SpaceTime domain)")
    for i, cond in enumerate(problem.arguments["conditions"]):
        _role(problem, cond, f"condition {i + 1}")
    if time_order(problem) > 2:
        raise ProblemError("windows (time marching) supports equations of first or second order in time")


def time_order(problem: Problem) -> int:
    """The highest order of a time derivative in the equations."""
    axis = problem.domain.coords.index(TIME)
    return max((sum(1 for d in dirs if d == axis) for e in problem.equations for dirs in e.needed), default=0)


def _role(problem: Problem, cond, what: str) -> str:
    """``"start"`` for a condition at the start time (replaced in later windows), else ``"keep"``."""
    if isinstance(cond, Observations):
        raise ProblemError(f"{what}: observations cannot be combined with windows (time marching)")
    if isinstance(cond, Periodic) or cond.on == "boundary":
        return "keep"
    if cond.on == "start":
        return "start"
    where = problem.region_of(cond.on, what)
    if isinstance(where, str):  # a named part of a shape's boundary: in space, kept in every window
        return "keep"
    coord, value = where
    if coord != TIME:
        return "keep"
    if value != problem.domain.segments()[problem.domain.coords.index(TIME)].lo:
        raise ProblemError(f"{what}: windows (time marching) needs every condition in time at the start time")
    return "start"


FIRST_WINDOW_FLOOR = 1e-3  # seconds: the first window's time limit when the deadline has already passed


def solve_windows(problem: Problem, settings: dict, *, callback=None, checkpoint=None, **run) -> Solution:
    """Solve ``problem`` window by window with the resolved ``settings``; ``run`` holds
    :func:`~neuralsolve.solve`'s other keyword arguments. Each window's training starts from the
    previous window's network: the solution just before is a better start than a random one."""
    n = settings["windows"]
    pending = BackgroundReference(problem, settings["precision"] == "float64")
    pending.start()  # computed while the windows train
    edges = _edges(problem, n)
    start, deadline = time.perf_counter(), settings.get("time_limit")
    pieces: list[Solution] = []
    log = _Log(callback)
    for k in range(n):
        window = window_problem(problem, edges[k], edges[k + 1], pieces[-1] if pieces else None)
        # a time limit is shared out equally among the windows still to solve, so that the march
        # reaches the end of the span even when it has to stop each window early
        left = None if deadline is None else (deadline - (time.perf_counter() - start)) / (n - k)
        if left is not None and left <= 0:
            if pieces:
                break
            left = FIRST_WINDOW_FLOOR  # the first window always trains: a solution needs one network
        sol = train_network(window, {**settings, "time_limit": left}, callback=log.for_window(k, time.perf_counter() - start),
                            checkpoint=checkpoint.for_window(k) if checkpoint is not None else None,
                            start=pieces[-1].params if pieces else None, measure=False, **run)  # fmt: skip
        log.add(k, sol)
        pieces.append(sol)
        if sol.status != "ok":
            break
    return combine(problem, pieces, edges, settings, run.get("derivatives", DEFAULT_DERIVATIVES), log, pending=pending)


def window_problem(problem: Problem, t0: float, t1: float, previous: Solution | None) -> Problem:
    """``problem`` on t ∈ [t0, t1]; after the first window, starting from ``previous`` at t0."""
    if previous is None:
        return _window_problem(problem, t0, t1, None)
    with jax.enable_x64(previous.precision == "float64"):  # building the problem probes previous's network
        return _window_problem(problem, t0, t1, previous)


def _window_problem(problem: Problem, t0: float, t1: float, previous: Solution | None) -> Problem:
    args = dict(problem.arguments)
    conditions = args.pop("conditions")
    if previous is not None:
        conditions = [c for i, c in enumerate(conditions) if _role(problem, c, f"condition {i + 1}") == "keep"]
        conditions += continuity(problem, previous, t0)
    return Problem(problem.domain.window(t0, t1), conditions=conditions, **{**args, "reference": "none"})


def continuity(problem: Problem, previous: Solution, t0: float) -> list:
    """Penalty conditions at t = t0: every field (and its rate, for second order in time) equals
    ``previous``'s there."""
    axis = problem.domain.coords.index(TIME)
    model, params = previous.model, previous.params
    second = time_order(problem) == 2
    conditions = []
    for i, field in enumerate(problem.fields):

        def value(p, i=i):
            return model(params, p.x.at[axis].set(t0))[i]

        def rate(p, i=i):
            y = p.x.at[axis].set(t0)
            return jax.jvp(lambda z: model(params, z)[i], (y,), (jnp.zeros_like(y).at[axis].set(1.0),))[1]

        conditions.append(Initial(field, value, impose="penalty", points=START_POINTS))
        if second:
            conditions.append(InitialRate(field, rate))
    return conditions


class _Log:
    """Progress across windows: steps and seconds continue from window to window, each record and
    phase entry says its window, and the loss terms of all windows share one list of names."""

    def __init__(self, callback):
        self.callback, self.history, self.phases, self.names = callback, [], [], []
        self.steps = 0

    def for_window(self, k: int, elapsed: float) -> Callable:
        """The callback of window ``k``, which starts ``elapsed`` seconds into the march."""
        steps = self.steps

        def shifted(record):
            record = {**record, "window": k, "step": record["step"] + steps, "elapsed": record["elapsed"] + elapsed}
            if self.callback is not None:
                self.callback(record)

        self._offset = (steps, elapsed)
        return shifted

    def add(self, k: int, sol: Solution) -> None:
        """Window ``k``'s history and phases, after :meth:`for_window` was called for it."""
        steps, elapsed = self._offset
        for name in sol.term_names:
            if name not in self.names:
                self.names.append(name)
        for r in sol.history:
            values = dict(zip(sol.term_names, r["terms"]))
            self.history.append({**r, "window": k, "step": r["step"] + steps, "elapsed": r["elapsed"] + elapsed,
                                 "terms": values})  # fmt: skip
        self.phases += [{**p, "window": k} for p in sol.phases]
        self.steps += sol.steps

    def records(self) -> list:
        """The history with every record's terms in the order of ``names`` (NaN: not in that window)."""
        return [{**r, "terms": [r["terms"].get(n, float("nan")) for n in self.names]} for r in self.history]


def reopen(problem: Problem, settings: dict, checkpoint, metrics: dict | None, outcome: tuple[str, str]) -> Solution | None:
    """A march rebuilt from its windows' checkpoints, with the run's saved ``metrics`` (None:
    measure again) and ``outcome`` (status, message); None when no window saved anything."""
    edges, pieces, log = _edges(problem, settings["windows"]), [], _Log(None)
    precision = settings["precision"]
    for k in range(settings["windows"]):
        saved_window = checkpoint.for_window(k)
        if not saved_window.exists():
            break
        window = window_problem(problem, edges[k], edges[k + 1], pieces[-1] if pieces else None)
        with jax.enable_x64(precision == "float64"):
            dtype = dtype_of(settings)
            model, params = build_model(window, settings["network"], dtype, settings["seed"])
            n_terms = len(term_names(window))
            state = saved_window.load(lambda j: carry_template(settings["phases"][j], params, n_terms))
        fit = FitResult(state.carry[3], state.history, state.phases)
        piece = Solution(model, state.carry[3], problem.fields, problem.domain.coords, precision, fit=fit,
                         metrics={}, term_names=term_names(window))  # fmt: skip
        log.for_window(k, log.history[-1]["elapsed"] if log.history else 0.0)
        log.add(k, piece)
        pieces.append(piece)
    if not pieces:
        return None
    return combine(problem, pieces, edges, settings, DEFAULT_DERIVATIVES, log, metrics=metrics, outcome=outcome)


def _edges(problem: Problem, n: int) -> np.ndarray:
    """The ``n + 1`` window edges: equal windows over the problem's time interval."""
    segment = problem.domain.segments()[problem.domain.coords.index(TIME)]
    return np.linspace(segment.lo, segment.hi, n + 1)


def combine(problem: Problem, pieces: list, edges: np.ndarray, settings: dict, derivatives: str, log: _Log,
            metrics: dict | None = None, outcome: tuple[str, str] | None = None, pending=None) -> Solution:  # fmt: skip
    """One Solution from the windows solved so far, measured on the whole problem (unless
    ``metrics`` are given) against the reference that ``pending()`` gives, with their status and
    message (unless ``outcome`` is)."""
    models = [p.model for p in pieces]
    params = tuple(p.params for p in pieces)
    axis = problem.domain.coords.index(TIME)
    cuts = tuple(float(e) for e in edges[1 : len(pieces)])

    def model(ps, x):
        k = jnp.searchsorted(jnp.asarray(cuts, x.dtype), x[axis], side="right")
        branches = [lambda q, y, m=m, j=j: m(q[j], y) for j, m in enumerate(models)]
        return jax.lax.switch(k, branches, ps, x)

    status, message = outcome or _outcome(pieces, len(edges) - 1, edges)
    precision = settings["precision"]
    spans = [span for piece in pieces for span in piece.spans]
    if metrics is None:
        with jax.enable_x64(precision == "float64"):
            dtype = dtype_of(settings)
            start = time.perf_counter()
            reference = pending() if pending is not None else reference_for(problem)
            middle = time.perf_counter()
            metrics = evaluate_metrics(problem, model, params, settings["seed"], derivatives, dtype, reference)
            spans += [("reference", start, middle), ("metrics", middle, time.perf_counter())]
    else:  # reopened: the run's own figures; an exact solution is cheap, a classical one is not recomputed
        reference = exact_values(problem) if has_exact(problem) else None
    fit = FitResult(params, log.records(), log.phases, status, message)
    sol = Solution(model, params, problem.fields, problem.domain.coords, precision, fit=fit, metrics=metrics,
                   term_names=list(log.names), reference=reference)  # fmt: skip
    sol.spans = spans
    return sol


def _outcome(pieces: list, n: int, edges: np.ndarray) -> tuple[str, str]:
    """The march's status and message from its windows'."""
    last = pieces[-1] if pieces else None
    if last is not None and len(pieces) == n and last.status == "ok":
        return "ok", f"{n} time windows solved; last window: {last.message}"
    reach = float(edges[len(pieces)])
    status = last.status if last is not None and last.status != "ok" else "ok"
    detail = last.message if last is not None else "no window was solved"
    return status, f"{len(pieces)} of {n} time windows solved (t <= {reach:g}; later times extrapolate): {detail}"


FAMILY = March()
