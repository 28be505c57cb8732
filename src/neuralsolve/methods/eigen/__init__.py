"""Eigenproblems: the lowest states of ``A ψ = E B ψ``, one after another (see ``train``)."""

from __future__ import annotations

import numpy as np

from ..._errors import ProblemError
from ...pinn.settings import resolve_settings
from ...problem.problem import Problem
from ..base import Family, Panel
from .metrics import METRIC_KEYS
from .solution import EigenSolution
from .train import reopen, solve_eigen


class Eigenproblems(Family):
    """Problems with an ``[eigen]`` table (``Problem(..., eigen=Eigen(...))``)."""

    name = "eigen"
    metric_keys = METRIC_KEYS

    def accepts(self, problem: Problem, settings: dict) -> bool:
        return problem.eigen is not None

    def settings(self, problem: Problem, given: dict) -> dict:
        settings = resolve_settings(problem, given)
        if settings["sampling"] is not None:
            raise ProblemError("adaptive sampling is not available for eigenproblems")
        if settings["time_limit"] is not None:  # its states train in separate fits
            raise ProblemError("time_limit is not available for eigenproblems")
        if settings["windows"] > 1:
            raise ProblemError("windows (time marching) is not available for eigenproblems")
        return settings

    def solve(self, problem: Problem, settings: dict, **run) -> EigenSolution:
        return solve_eigen(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict) -> EigenSolution | None:
        return reopen(problem, settings, checkpoint, saved)

    def rounds(self, problem: Problem, settings: dict) -> int:
        return problem.eigen.states  # each state trains through all the phases

    def steps_saved(self, problem: Problem, settings: dict, checkpoint) -> int | None:
        """State n's records count from n times the phases' budget (see ``train._for_state``)."""
        total = sum(p.steps for p in settings["phases"])
        saved = [(n, checkpoint.for_state(n).steps()) for n in range(problem.eigen.states)]
        saved = [(n, s) for n, s in saved if s is not None]
        return None if not saved else saved[-1][0] * total + saved[-1][1]

    def panels(self, problem: Problem, values: np.ndarray, reference: np.ndarray | None, metrics: dict) -> list[Panel]:
        """One plot per state (values have a leading state axis), titled with its eigenvalue."""
        eigenvalues = metrics.get("eigenvalues") or [np.nan] * len(values)
        return [Panel(f"solution_{f}_{k}.png", f"{f}[{k}], {problem.eigen.symbol} = {eigenvalues[k]:.10g}",
                      values[k, :, i], None if reference is None else reference[k, :, i])
                for k in range(len(values)) for i, f in enumerate(problem.fields)]  # fmt: skip


FAMILY = Eigenproblems()
