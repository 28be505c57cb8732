"""Inverse problems: unknown constants and hidden terms learned from data (see ``train``)."""

from __future__ import annotations

import dataclasses

from ..._errors import ProblemError
from ...pinn.settings import resolve_settings
from ...problem.problem import Problem
from ...train.phases import LBFGS, Adam
from ..base import Family
from .solution import InverseSolution
from .train import METRIC_KEYS, reopen, solve_inverse

# Estimates need training run further than a forward solve's answer: a constant settles only once
# the fields fit both the data and the equations (Lorenz at 1 % noise, noise seed 0: sigma 2.0 %
# off after the forward default's L-BFGS(5000, plateau=500), stopped at 1600 steps; 0.1 % after this)
# Not for hidden terms: there the equations cannot keep the fields from fitting the noise (a hidden
# network follows any path), so running on buys nothing (Lotka-Volterra at 5 % noise, 3 seeds:
# the same formulas on two, a closer one on the third with the forward default; BENCHMARKS.md)
PHASES = (Adam(1000), LBFGS(10000, plateau=2000))

# Where data points are few, the equations alone must resolve what lies between them (a shock
# front narrower than the data's spacing), and a constant of a PDE shows there: Burgers from 500
# points at 1 % noise, seeds 0-4, median nu error 1.89 % with the forward default's 2048 points,
# 0.51 % with these (BENCHMARKS.md). Training takes about twice as long.
INTERIOR_POINTS = 8192


class Inverse(Family):
    """Problems with unknowns, data or hidden terms (``[unknowns]``, ``[data]``, ``[hidden]``)."""

    name = "inverse"
    metric_keys = METRIC_KEYS

    def accepts(self, problem: Problem, settings: dict) -> bool:
        return bool(problem.inverse)

    def settings(self, problem: Problem, given: dict) -> dict:
        settings = resolve_settings(problem, given)
        if not problem.inverse.hidden:  # constants alone: the defaults for estimates (why: at PHASES, INTERIOR_POINTS)
            if given.get("phases") is None and problem.solver.get("phases") is None:
                settings["phases"] = PHASES
            if problem.domain.dim > 1 and settings["points"].interior is None:
                settings["points"] = dataclasses.replace(settings["points"], interior=INTERIOR_POINTS)
        if settings["sampling"] is not None:
            raise ProblemError("adaptive sampling is not available for inverse problems yet")
        if settings["windows"] > 1:
            raise ProblemError("windows (time marching) is not available for inverse problems")
        for i, d in enumerate(problem.inverse.data, 1):
            if len(d.trajectories()) > 1:
                raise ProblemError(f"data {i}: it holds {len(d.trajectories())} trajectories (a 'trajectory' column): one "
                                   "network of t follows one trajectory; several need [solver] method = 'neural-ode'")  # fmt: skip
        formed = next(((k, i) for k, h in problem.inverse.hidden.items() for i in h.inputs if not i.isidentifier()), None)
        if formed:
            raise ProblemError(f"hidden term {formed[0]!r}: an input expression ({formed[1]!r}) is for [solver] method = "
                               "'neural-ode'; here inputs are fields and coordinates")  # fmt: skip
        shared = next((k for k, h in problem.inverse.hidden.items() if h.network), None)
        if shared:
            raise ProblemError(f"hidden term {shared!r}: a shared network is for [solver] method = 'neural-ode'")
        return settings

    def solve(self, problem: Problem, settings: dict, **run) -> InverseSolution:
        return solve_inverse(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict) -> InverseSolution | None:
        return reopen(problem, settings, checkpoint, saved)


FAMILY = Inverse()
