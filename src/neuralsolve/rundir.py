"""Run directories: everything a solve from a problem file needs to be resumed, reopened or reported.

A run directory holds ``problem.toml`` (a copy of the problem file), ``run.json`` (the command-line
overrides), ``checkpoint.npz`` (the training state) and the outputs (``metrics.json``,
``history.json``, ``solution.npz``, plots, ``report.html``).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil

from ._errors import ProblemError
from .problem.problem import Problem
from .solution import Solution
from .train.checkpoint import Checkpoint
from .train.phases import default_phases

PROBLEM, RUN, METRICS, HISTORY = "problem.toml", "run.json", "metrics.json", "history.json"


def create(directory, problem_file, *, steps=None, precision=None, seed=None) -> pathlib.Path:
    """Start a run directory for ``problem_file`` with the given overrides (None: the file's own)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(problem_file, directory / PROBLEM)
    for old in directory.glob("checkpoint*.npz"):  # a new solve never resumes an old one
        old.unlink()
    (directory / RUN).write_text(json.dumps({"steps": steps, "precision": precision, "seed": seed}))
    return directory


def settings(directory) -> tuple[Problem, dict]:
    """The problem of a run directory and the ``solve`` keyword arguments it was started with."""
    from .spec.load import load

    directory = pathlib.Path(directory)
    if not (directory / PROBLEM).exists() or not (directory / RUN).exists():
        raise ProblemError(f"{directory}: not a run directory (no {PROBLEM} and {RUN}); start one with 'neuralsolve solve'")
    problem = load(directory / PROBLEM)
    run = json.loads((directory / RUN).read_text())
    phases = list(problem.solver.get("phases") or default_phases())
    if run.get("steps") is not None:
        phases = rescale(phases, run["steps"])
    kwargs = {"phases": phases, "seed": run.get("seed") if run.get("seed") is not None else problem.solver.get("seed", 0)}
    if run.get("precision") is not None:
        kwargs["precision"] = run["precision"]
    return problem, kwargs


def rescale(phases: list, total: int) -> list:
    """Share ``total`` steps among phases in proportion to their budgets (each at least 1)."""
    budget = sum(p.steps for p in phases) or 1
    return [dataclasses.replace(p, steps=max(1, round(total * p.steps / budget))) for p in phases]


def open(directory) -> Solution:  # noqa: A001 - the public name is neuralsolve.open
    """Reopen a saved solve: a :class:`Solution` callable on points exactly like the one ``solve`` gave."""
    from .dispatch import prepare

    directory = pathlib.Path(directory)
    problem, kwargs = settings(directory)
    saved = json.loads((directory / METRICS).read_text()) if (directory / METRICS).exists() else {}
    family, resolved = prepare(problem, kwargs)
    sol = family.reopen(problem, resolved, Checkpoint(directory), saved)
    if sol is None:
        raise ProblemError(f"{directory}: no checkpoints: the solve saved nothing yet")
    return sol
