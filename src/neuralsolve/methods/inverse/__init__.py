"""Inverse problems: unknown constants and hidden terms learned from data (see ``train``)."""

from __future__ import annotations

from ..._errors import ProblemError
from ...pinn.settings import resolve_settings
from ...problem.problem import Problem
from ..base import Family
from .solution import InverseSolution
from .train import METRIC_KEYS, reopen, solve_inverse


class Inverse(Family):
    """Problems with unknowns, data or hidden terms (``[unknowns]``, ``[data]``, ``[hidden]``)."""

    name = "inverse"
    metric_keys = METRIC_KEYS

    def accepts(self, problem: Problem, settings: dict) -> bool:
        return bool(problem.inverse)

    def settings(self, problem: Problem, given: dict) -> dict:
        settings = resolve_settings(problem, given)
        if settings["sampling"] is not None:
            raise ProblemError("adaptive sampling is not available for inverse problems yet")
        if settings["windows"] > 1:
            raise ProblemError("windows (time marching) is not available for inverse problems")
        return settings

    def solve(self, problem: Problem, settings: dict, **run) -> InverseSolution:
        return solve_inverse(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict) -> InverseSolution | None:
        return reopen(problem, settings, checkpoint, saved)


FAMILY = Inverse()
