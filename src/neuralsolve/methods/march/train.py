"""Time marching: an evolution problem solved one time window after another.

A network trained on a whole time span at once can settle on a function that obeys the equation
late in time without carrying the initial condition there (strong advection, waves, long spans:
Krishnapriyan et al. 2021, "Characterizing possible failure modes in physics-informed neural
networks"). Marching splits [t0, t1] into ``windows`` equal windows and solves them in order, each a
short problem of its own (:mod:`.window`): the first keeps the problem's own initial conditions,
each later one starts from the previous window's solution at its start time.

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

from ...loss.terms import term_names
from ...ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from ...pinn.measure import BackgroundReference, evaluate_metrics, exact_values, has_exact, reference_for
from ...pinn.settings import dtype_of
from ...pinn.train import Parts, build_parts, train_network
from ...problem.domain import TIME
from ...problem.problem import Problem
from ...solution import Solution
from ...train.fit import FitResult, carry_template
from .window import Window, edges, moved, plan, start_targets

FIRST_WINDOW_FLOOR = 1e-3  # seconds: the first window's time limit when the deadline has already passed


def solve_windows(problem: Problem, settings: dict, *, callback=None, checkpoint=None, **run) -> Solution:
    """Solve ``problem`` window by window with the resolved ``settings``; ``run`` holds
    :func:`~neuralsolve.solve`'s other keyword arguments. Each window's training starts from the
    previous window's network: the solution just before is a better start than a random one."""
    n = settings["windows"]
    pending = BackgroundReference(problem, settings["precision"] == "float64")
    pending.start()  # computed while the windows train
    derivatives = run.get("derivatives", DEFAULT_DERIVATIVES)
    windows, parts = plan(problem, n), _PartsByProblem(settings, derivatives)
    cuts = edges(problem, n)
    start, deadline = time.perf_counter(), settings.get("time_limit")
    pieces: list[Solution] = []
    log = _Log(callback)
    for k, window in enumerate(windows):
        # a time limit is shared out equally among the windows still to solve, so that the march
        # reaches the end of the span even when it has to stop each window early
        left = None if deadline is None else (deadline - (time.perf_counter() - start)) / (n - k)
        if left is not None and left <= 0:
            if pieces:
                break
            left = FIRST_WINDOW_FLOOR  # the first window always trains: a solution needs one network
        targets = None
        if pieces:
            with jax.enable_x64(settings["precision"] == "float64"):
                targets = start_targets(window, windows[k - 1], pieces[-1].model, pieces[-1].params)
        sol = train_network(window.problem, {**settings, "time_limit": left},
                            callback=log.for_window(k, time.perf_counter() - start),
                            checkpoint=checkpoint.for_window(k) if checkpoint is not None else None,
                            start=pieces[-1].params if pieces else None, measure=False,
                            parts=parts(window.problem), targets=targets, **run)  # fmt: skip
        log.add(k, sol)
        pieces.append(sol)
        if sol.status != "ok":
            break
    return combine(problem, pieces, windows, cuts, settings, derivatives, log, pending=pending)


class _PartsByProblem:
    """The training :class:`~neuralsolve.pinn.train.Parts` of each window problem, built once:
    windows that share a problem share its compiled programs."""

    def __init__(self, settings: dict, derivatives: str):
        self.settings, self.derivatives, self.built = settings, derivatives, {}

    def __call__(self, problem: Problem) -> Parts:
        if id(problem) not in self.built:
            with jax.enable_x64(self.settings["precision"] == "float64"):
                self.built[id(problem)] = build_parts(problem, self.settings, self.derivatives, dtype_of(self.settings))
        return self.built[id(problem)]


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
    n, precision = settings["windows"], settings["precision"]
    windows, parts, pieces, log = plan(problem, n), _PartsByProblem(settings, DEFAULT_DERIVATIVES), [], _Log(None)
    for k, window in enumerate(windows):
        saved_window = checkpoint.for_window(k)
        if not saved_window.exists():
            break
        built, n_terms = parts(window.problem), len(term_names(window.problem))
        with jax.enable_x64(precision == "float64"):
            state = saved_window.load(lambda j: carry_template(settings["phases"][j], built.params, n_terms))
        fit = FitResult(state.carry[3], state.history, state.phases)
        piece = Solution(built.model, state.carry[3], problem.fields, problem.domain.coords, precision, fit=fit,
                         metrics={}, term_names=term_names(window.problem))  # fmt: skip
        log.for_window(k, log.history[-1]["elapsed"] if log.history else 0.0)
        log.add(k, piece)
        pieces.append(piece)
    if not pieces:
        return None
    return combine(problem, pieces, windows, edges(problem, n), settings, DEFAULT_DERIVATIVES, log, metrics=metrics,
                   outcome=outcome)  # fmt: skip


def combine(problem: Problem, pieces: list, windows: list[Window], cuts: np.ndarray, settings: dict, derivatives: str,
            log: _Log, metrics: dict | None = None, outcome: tuple[str, str] | None = None, pending=None) -> Solution:  # fmt: skip
    """One Solution from the windows solved so far (each answering in its place in time), measured
    on the whole problem (unless ``metrics`` are given) against the reference that ``pending()``
    gives, with their status and message (unless ``outcome`` is)."""
    axis = problem.domain.coords.index(TIME)
    models = [moved(p.model, w.shift, axis) for p, w in zip(pieces, windows)]
    params = tuple(p.params for p in pieces)
    inner = tuple(float(e) for e in cuts[1 : len(pieces)])

    def model(ps, x):
        k = jnp.searchsorted(jnp.asarray(inner, x.dtype), x[axis], side="right")
        branches = [lambda q, y, m=m, j=j: m(q[j], y) for j, m in enumerate(models)]
        return jax.lax.switch(k, branches, ps, x)

    status, message = outcome or _outcome(pieces, len(cuts) - 1, cuts)
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


def _outcome(pieces: list, n: int, cuts: np.ndarray) -> tuple[str, str]:
    """The march's status and message from its windows'."""
    last = pieces[-1] if pieces else None
    if last is not None and len(pieces) == n and last.status == "ok":
        return "ok", f"{n} time windows solved; last window: {last.message}"
    reach = float(cuts[len(pieces)])
    status = last.status if last is not None and last.status != "ok" else "ok"
    detail = last.message if last is not None else "no window was solved"
    return status, f"{len(pieces)} of {n} time windows solved (t <= {reach:g}; later times extrapolate): {detail}"

