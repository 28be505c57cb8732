"""Neural operators: the solution operator of a PDE family (FNO, DeepONet, MgNO), trained on data
the classical solvers generate from the equation as written (see docs/neural-operators.md)."""

from __future__ import annotations

from ...problem.problem import Problem
from ..base import Family, Panel
from .settings import FNO, METRIC_KEYS, DeepONet, MgNO, Training, check_modes, resolve

# Equinox, the generators and the training loop are imported when a solve starts (.train), not
# with the family: checking a problem file (neuralsolve check) reads the settings only

__all__ = ["FAMILY", "FNO", "DeepONet", "MgNO", "Training"]


class NeuralOperator(Family):
    """Problems with an ``[operator]`` section."""

    name = "operator"
    metric_keys = METRIC_KEYS

    def accepts(self, problem: Problem, settings: dict) -> bool:
        return problem.operator is not None

    def settings(self, problem: Problem, given: dict) -> dict:
        from . import augment, data

        settings = resolve(problem, given)
        data.check(problem)
        augment.check(problem, settings["training"].augment)
        if problem.operator.resolution:  # else the grid of the user's file, checked when it is read
            dim = len([c for c in problem.domain.coords if c != "t"])
            check_modes(settings["model"], dim, problem.operator.resolution, data.periodic(problem))
        return settings

    def total_steps(self, problem: Problem, settings: dict) -> int:
        training = settings["training"]
        return training.epochs * training.steps_per_epoch(problem.operator.train)

    def solve(self, problem: Problem, settings: dict, **run):
        from .train import solve_operator

        return solve_operator(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict):
        from .train import reopen

        return reopen(problem, settings, checkpoint, saved)

    def panels(self, problem: Problem, values, reference, metrics: dict) -> list[Panel]:
        return []  # the report's operator figures show test samples (report/operators.py)


FAMILY = NeuralOperator()
