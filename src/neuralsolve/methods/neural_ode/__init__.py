"""Neural ODEs and universal differential equations: a vector field, wholly or partly networks,
fitted to measured trajectories by differentiating through diffrax's solvers (see ``train``)."""

from __future__ import annotations

from ...problem.problem import Problem
from ..base import Family, Panel
from .settings import METRIC_KEYS, ODE, check_stages, default_phases, resolve
from .system import OdeSystem

# diffrax and Equinox are imported when a solve starts (.train), not with the family: checking a
# problem file (neuralsolve check) reads the settings only

__all__ = ["ODE", "FAMILY"]


class NeuralODE(Family):
    """Problems in t alone with ``[solver] method = "neural-ode"``."""

    name = "neural-ode"
    metric_keys = METRIC_KEYS

    def accepts(self, problem: Problem, settings: dict) -> bool:
        return settings.get("method") == "neural-ode"

    def settings(self, problem: Problem, given: dict) -> dict:
        settings = resolve(problem, given)
        OdeSystem(problem)  # the equations as a first-order system, checked before anything compiles
        if not problem.inverse.data:
            from ..._errors import ProblemError

            raise ProblemError("method 'neural-ode' learns from trajectories: give data ([data])")
        check_stages(settings)
        formed = next((i for h in problem.inverse.hidden.values() for i in h.inputs if not i.isidentifier()), None)
        if problem.inverse.discover is not None and formed:
            from ..._errors import ProblemError

            raise ProblemError(f"discover: formulas are written in fields and coordinates; the hidden input {formed!r} "
                               "is an expression (give the networks plain inputs to discover their formulas)")  # fmt: skip
        return settings

    def default_phases(self, problem: Problem) -> tuple:
        return default_phases()

    def rounds(self, problem: Problem, settings: dict) -> int:
        return len(settings["ode"].stages)

    def steps_saved(self, problem: Problem, settings: dict, checkpoint) -> int | None:
        stages = settings["ode"].stages
        if len(stages) == 1:
            return checkpoint.steps()
        done = [checkpoint.for_window(k).steps() for k in range(len(stages))]
        return None if done[0] is None else sum(d or 0 for d in done)

    def solve(self, problem: Problem, settings: dict, **run):
        from .train import solve_neural_ode

        return solve_neural_ode(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict):
        from .train import reopen

        return reopen(problem, settings, checkpoint, saved)

    def panels(self, problem: Problem, values, reference, metrics: dict) -> list[Panel]:
        return []  # the report's trajectory figures show every trajectory (report/trajectories.py)


FAMILY = NeuralODE()
