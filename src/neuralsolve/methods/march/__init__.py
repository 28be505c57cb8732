"""Time marching: evolution problems in ``windows`` > 1 time windows solved one after another
(see ``train``; each window's problem and start: ``window``)."""

from __future__ import annotations

from ...pinn.measure import METRICS
from ...pinn.settings import resolve_settings
from ...problem.problem import Problem
from ...solution import Solution
from ..base import Family, saved_outcome
from .train import reopen, solve_windows
from .window import check_windows


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


FAMILY = March()
