"""The time windows of a march: each window's problem, where it sits in time, and what it starts from.

Windows after the first start from the previous window's solution: every field's value at the
window's start and, for equations of second order in time, its time derivative. These are penalty
terms on fixed points of the start face whose *targets are data* (computed from the previous
window's network before training), so a window's loss never evaluates the previous network.

A problem that does not depend on time explicitly (no equation, kept condition or scale reads ``t``)
is the same problem in every window after the first, moved in time. All those windows are then
solved as one problem, the second window's, with other targets and other starting parameters, and
each answers ``shift`` later than it was solved: their training programs compile once for the
whole march instead of once per window (the 20 windows of the periodic Allen–Cahn benchmark spent
70 % of a short march compiling). A problem that does depend on time gets a problem per window.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..._errors import ProblemError
from ...ops.point import Point, value_at
from ...problem.conditions import Observations, Penalty, Periodic
from ...problem.domain import TIME, SpaceTime
from ...problem.problem import Problem

START_POINTS = 256  # points on each window's start face for the continuity terms
START_SEED = 7  # the start face's points: the same in every window


@dataclass(frozen=True)
class Window:
    """A window solved as ``problem`` (on its own time interval, or on the second window's) and
    answering ``shift`` later; ``starts`` are the indices of its continuity penalties, value
    terms first (one per field), then rate terms for second order in time."""

    problem: Problem
    shift: float = 0.0
    starts: tuple[int, ...] = ()

    @property
    def end(self) -> float:
        """The end of the interval the window is solved on (before the shift)."""
        return float(self.problem.domain.segments()[_axis(self.problem)].hi)


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
    axis = _axis(problem)
    return max((sum(1 for d in dirs if d == axis) for e in problem.equations for dirs in e.needed), default=0)


def edges(problem: Problem, n: int) -> np.ndarray:
    """The ``n + 1`` window edges: equal windows over the problem's time interval."""
    segment = problem.domain.segments()[_axis(problem)]
    return np.linspace(segment.lo, segment.hi, n + 1)


def plan(problem: Problem, n: int) -> list[Window]:
    """The ``n`` windows of ``problem``: the first keeps the problem's own start; the others share
    the second window's problem when the problem does not depend on time explicitly."""
    cuts = edges(problem, n)
    first = Window(_on(problem, cuts[0], cuts[1]))
    if n == 1:
        return [first]
    second = _later(problem, cuts[1], cuts[2])
    if time_invariant(second.problem):
        return [first] + [Window(second.problem, float(cuts[k] - cuts[1]), second.starts) for k in range(1, n)]
    return [first, second] + [_later(problem, cuts[k], cuts[k + 1]) for k in range(2, n)]


def _on(problem: Problem, t0: float, t1: float, conditions: list | None = None) -> Problem:
    """``problem`` on t in [t0, t1], with its own conditions or ``conditions``."""
    args = dict(problem.arguments)
    own = args.pop("conditions")
    return Problem(problem.domain.window(t0, t1), conditions=own if conditions is None else conditions,
                   **{**args, "reference": "none"})  # fmt: skip


def later_problem(problem: Problem, t0: float, t1: float) -> Problem:
    """``problem`` on [t0, t1] with the conditions kept in every window after the first, before
    its continuity terms are added (they read only the fields, so they never make a window depend
    on time): what ``neuralsolve check`` needs to say whether the windows share one problem,
    without drawing the start face's points."""
    conditions = problem.arguments["conditions"]
    kept = [c for i, c in enumerate(conditions) if _role(problem, c, f"condition {i + 1}") == "keep"]
    return _on(problem, t0, t1, kept)


def _later(problem: Problem, t0: float, t1: float) -> Window:
    """A window after the first on [t0, t1]: the conditions kept in every window, and continuity
    terms at t0 whose targets each window fills in (:func:`start_targets`)."""
    window = later_problem(problem, t0, t1)
    axis = _axis(problem)
    face = window.domain.face(TIME, t0).sample(START_POINTS, "sobol", START_SEED)[0]
    zeros = np.zeros(len(face))
    added = [Penalty(f"{f} continues the previous window", lambda p, f=f: p[f], frozenset({()}), 1.0,
                     points=face, targets=zeros) for f in problem.fields]  # fmt: skip
    if time_order(problem) == 2:
        added += [Penalty(f"{f}_t continues the previous window", lambda p, f=f: p.d(f, TIME), frozenset({(axis,)}),
                          1.0, points=face, targets=zeros) for f in problem.fields]  # fmt: skip
    first = len(window.penalties)
    window.penalties.extend(added)
    return Window(window, 0.0, tuple(range(first, first + len(added))))


def start_targets(window: Window, previous: Window, model, params) -> dict[int, np.ndarray]:
    """The targets of ``window``'s continuity terms: the previous window's network (``model`` with
    ``params``) at the end of its interval, on the start face's points."""
    problem = window.problem
    axis = _axis(problem)
    points = problem.penalties[window.starts[0]].points.copy()
    points[:, axis] = previous.end
    second = len(window.starts) > len(problem.fields)
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    values, rates = _start_values(model, axis, second)(params, jnp.asarray(points, dtype))
    columns = [values[:, i] for i in range(len(problem.fields))]
    if second:
        columns += [rates[:, i] for i in range(len(problem.fields))]
    return {k: np.asarray(c) for k, c in zip(window.starts, columns)}


@functools.lru_cache(maxsize=8)
def _start_values(model, axis: int, rates: bool):
    """A compiled ``(params, points) -> (values, rates or None)`` of ``model``: one program per
    model, so a march of shared windows compiles it twice (after the first window, after the others)."""

    def at(params, points):
        values = jax.vmap(lambda y: model(params, y))(points)
        if not rates:
            return values, None
        along = jnp.zeros(points.shape[1], points.dtype).at[axis].set(1.0)
        return values, jax.vmap(lambda y: jax.jvp(lambda z: model(params, z), (y,), (along,))[1])(points)

    return jax.jit(at)


def moved(model, shift: float, axis: int):
    """``model`` answering ``shift`` later in time than it was trained."""
    if shift == 0.0:
        return model
    return lambda params, x: model(params, x.at[axis].add(-shift))


def time_invariant(problem: Problem) -> bool:
    """Whether ``problem`` reads time only through its fields: its equations, penalties, exactly
    imposed values and scales give the same result at two times for the same field values (checked
    on random points and values). Unknown constants, hidden terms and operator inputs count as
    depending on time."""
    if problem.inverse or problem.inputs:
        return False
    axis = _axis(problem)
    checks = [(e.residual, e.needed, 1) for e in problem.equations]
    checks += [(p.residual, p.needed, 2 if p.partner is not None else 1) for p in problem.penalties]
    checks += [(h.value, None, 1) for h in problem.hard] + [(h.value, None, 1) for h in problem.shape_hard]
    checks += [(s, None, 1) for s in problem.scale if callable(s)]
    rng = np.random.default_rng(0)
    lo, hi = (np.asarray(b, float) for b in problem.domain.bounds())
    with jax.enable_x64(True):
        return all(_same_at_two_times(problem, fn, needed, arity, axis, lo + (hi - lo) * rng.random(len(lo)), rng)
                   for fn, needed, arity in checks for _ in range(2))  # fmt: skip


def _same_at_two_times(problem: Problem, fn, needed, arity: int, axis: int, x: np.ndarray, rng) -> bool:
    coords, fields = problem.domain.coords, problem.fields
    # positive values: a residual such as sqrt(u) is defined for them (NaN would read as a difference)
    values = {dirs: jnp.asarray(0.5 + rng.random(len(fields))) for dirs in needed} if needed is not None else None
    normal = jnp.asarray(rng.normal(size=len(x)))
    times = rng.random(2)

    def at(t):
        y = jnp.asarray(x).at[axis].set(t)
        if values is None:
            return value_at(fn, coords, y)
        return fn(*[Point(coords, fields, y, values, normal)] * arity)

    return bool(np.array_equal(np.asarray(at(times[0])), np.asarray(at(times[1]))))


def _axis(problem: Problem) -> int:
    return problem.domain.coords.index(TIME)


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
    if value != problem.domain.segments()[_axis(problem)].lo:
        raise ProblemError(f"{what}: windows (time marching) needs every condition in time at the start time")
    return "start"
