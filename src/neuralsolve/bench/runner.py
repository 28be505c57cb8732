"""Runs benchmark problems with neuralsolve and measures them against their references.

A run gives one row per problem and tool: a plain dict (``problem``, ``tool``, ``l2_relative_error``,
``wall_s``, ``adam_steps_per_s``, ``steps``, ``status``, ``note``) that the table and the JSON
record share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from .._errors import ProblemError
from .problems import BENCHMARKS, Benchmark
from .recipes import Recipe


def select(names: Iterable[str]) -> list[Benchmark]:
    """The benchmarks named (all of them when none is), or ProblemError naming the unknown ones."""
    names = list(names) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ProblemError(f"unknown benchmark(s) {', '.join(map(repr, unknown))}; available: {', '.join(BENCHMARKS)}")
    return [BENCHMARKS[n] for n in dict.fromkeys(names)]  # in the order given, once each


def relative_l2(predicted: np.ndarray, reference: np.ndarray) -> float:
    """‖predicted − reference‖ / ‖reference‖ over the reference points."""
    return float(np.linalg.norm(predicted - reference) / np.linalg.norm(reference))


def adam_rate(records: list[dict]) -> float | None:
    """Adam steps per second between the first and the last Adam progress record, so that
    compilation (before the first record) is not counted."""
    adam = [r for r in records if r["phase"] == "adam"]
    if len(adam) < 2 or adam[-1]["elapsed"] <= adam[0]["elapsed"]:
        return None
    return (adam[-1]["step"] - adam[0]["step"]) / (adam[-1]["elapsed"] - adam[0]["elapsed"])


def run_neuralsolve(bench: Benchmark, recipe: Recipe, callback: Callable | None = None) -> dict:
    """Solve ``bench`` with ``recipe`` and measure the solution on the reference points."""
    from .._solve import solve

    records = []

    def record(r):
        records.append(r)
        if callback is not None:
            callback(r)

    points, values = bench.reference()
    start = time.perf_counter()
    sol = solve(bench.build(), **recipe.settings(), callback=record, log_every=max(recipe.adam // 20, 1))
    wall = time.perf_counter() - start
    steps = {}
    for phase in sol.phases:
        steps[phase["phase"]] = steps.get(phase["phase"], 0) + phase["steps"]
    return {"problem": bench.name, "tool": "neuralsolve", "l2_relative_error": relative_l2(sol(points, "u"), values),
            "wall_s": wall, "adam_steps_per_s": adam_rate(records), "steps": steps, "status": sol.status,
            "note": sol.message, "precision": recipe.precision, "recipe": recipe.record()}  # fmt: skip
