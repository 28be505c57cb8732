"""The contract every method family keeps (see docs/architecture.md, "How to add a method family").

A family is a value that says which problems it takes, resolves and checks its settings, solves a
problem, reopens a saved run, and names the metrics it writes. ``neuralsolve.solve``, run
directories and reports talk to a family only through this contract.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import numpy as np

from ..problem.problem import Problem
from ..solution import Solution


class Panel(NamedTuple):
    """One solution plot of a report: file name, title, values and reference values on the grid."""

    name: str
    title: str
    values: np.ndarray
    reference: np.ndarray | None


class Family(abc.ABC):
    """A method family.

    Attributes:
        name: a short name (``"forward"``, ``"eigen"``, ...).
        metric_keys: the keys of ``metrics.json`` it fills beyond the run's own (status, steps, ...),
            which a reopened run keeps as saved.
        multi_device: whether it can split its collocation points over several devices (the
            ``devices`` setting); ``neuralsolve.solve`` refuses ``devices`` for a family that cannot.
    """

    name: str
    metric_keys: tuple[str, ...]
    multi_device: bool = False

    @abc.abstractmethod
    def accepts(self, problem: Problem, settings: dict) -> bool:
        """Whether this family solves ``problem`` with ``settings`` (the problem's ``[solver]``
        table overlaid with the settings given, not yet checked). Families are asked in the
        order of ``neuralsolve.dispatch.FAMILIES``; the first that accepts solves."""

    @abc.abstractmethod
    def settings(self, problem: Problem, given: dict) -> dict:
        """The resolved settings: ``given``, else the problem's ``[solver]`` table, else defaults.

        Raises:
            ProblemError: for a setting that is invalid, or that this family does not support.
        """

    @abc.abstractmethod
    def solve(self, problem: Problem, settings: dict, *, derivatives: str, callback, log_every: int, checkpoint,
              resume: bool) -> Solution:  # fmt: skip
        """Solve ``problem`` with resolved ``settings`` (see :func:`neuralsolve.solve` for the rest)."""

    @abc.abstractmethod
    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict) -> Solution | None:
        """The solution saved by ``checkpoint`` (and its files) with the run's ``saved`` metrics
        (empty: none were written, so measure again); None when nothing was saved yet."""

    def default_phases(self, problem: Problem) -> tuple:
        """The optimiser phases of a solve whose settings name none (the collocation default;
        a family that trains otherwise says its own). Run directories resolve ``--steps`` from them."""
        from ..train.phases import default_phases

        return default_phases(problem.domain.dim)

    def rounds(self, problem: Problem, settings: dict) -> int:
        """How many times training runs through all the phases (for a progress bar's total)."""
        return 1

    def total_steps(self, problem: Problem, settings: dict) -> int:
        """Optimiser steps of the whole solve (a progress bar's total)."""
        return self.rounds(problem, settings) * sum(p.steps for p in settings["phases"])

    def steps_saved(self, problem: Problem, settings: dict, checkpoint) -> int | None:
        """Where a resumed solve starts, on the scale of the progress records' ``step``: the steps
        that ``checkpoint`` (and the family's other checkpoints) saved; None when none was saved."""
        return checkpoint.steps()

    def panels(self, problem: Problem, values: np.ndarray, reference: np.ndarray | None, metrics: dict) -> list[Panel]:
        """The report's solution plots from the saved values (and reference values) on the grid."""
        return [Panel(f"solution_{f}.png", f, values[:, i], None if reference is None else reference[:, i])
                for i, f in enumerate(problem.fields)]  # fmt: skip


def saved_outcome(saved: dict) -> tuple[str, str]:
    """A reopened run's status and message: as its ``metrics.json`` saved them, else those of an
    unfinished solve."""
    return saved.get("status", "interrupted"), saved.get("message", "reopened from the checkpoint of an unfinished solve")
