"""Every solver on the same held-out systems: iterations, set-up and solve seconds, one table.

The held-out systems are drawn with a seed the training never used (``HELD_OUT`` + the seed), a new
system for every solve, so AMG and incomplete LU build their set-up each time, as they must when the
coefficients or the geometry change from one solve to the next.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import systems
from .baselines import BASELINES, solve_baseline

HELD_OUT = 10_000  # added to the seed: the training draws never reach it


def compare(kind: str, grids, rtols, count: int = 3, seed: int = 0, learned=None, solvers=BASELINES,
            progress: Callable | None = None) -> list[dict]:  # fmt: skip
    """Rows ``{cells, rtol, solver, iterations, ...}`` averaged over ``count`` systems per grid.

    ``learned``: a :class:`~neuralsolve.linear.dcdm.LearnedSolver` (its compilation is timed once per
    grid, in ``compile_s``, and not charged to each solve).
    """
    names = list(solvers) + (["learned"] if learned is not None else [])
    total, done, rows = len(grids) * len(rtols) * count * len(names), 0, []
    for cells in grids:
        rng = np.random.default_rng(seed + HELD_OUT + cells)
        cases = [(s, systems.source(s, rng)) for s in (systems.draw(kind, cells, rng) for _ in range(count))]
        compile_s = learned.compile(cases[0][0].shape) if learned is not None else 0.0
        for rtol in rtols:
            for name in names:
                records, extra = [], []
                for stencil, b in cases:
                    if name == "learned":
                        _, record, info = learned.solve(stencil, b, rtol)
                        extra.append(info)
                    else:
                        _, record = solve_baseline(name, stencil.matrix(), b.ravel(), rtol)
                    records.append(record)
                    done += 1
                    if progress is not None:
                        progress(done, total)
                rows.append(_row(cells, rtol, name, records, extra, compile_s if name == "learned" else None))
    return rows


def _row(cells, rtol, name, records, extra, compile_s) -> dict:
    iterations = [r.iterations for r in records if r.iterations is not None]
    row = {"cells": cells, "unknowns": (cells - 1) ** 2, "rtol": rtol, "solver": name,
           "iterations": float(np.mean(iterations)) if iterations else None,
           "max_iterations": max(iterations) if iterations else None,
           "setup_s": float(np.mean([r.setup_s for r in records])),
           "solve_s": float(np.mean([r.solve_s for r in records])),
           "converged": all(r.converged for r in records),
           "worst_residual": max(r.relative_residual for r in records)}  # fmt: skip
    row["total_s"] = row["setup_s"] + row["solve_s"]
    if extra:
        row["fell_back"] = sum(e.fell_back_at is not None for e in extra)
        row["learned_iterations"] = float(np.mean([e.learned_iterations for e in extra]))
        row["compile_s"] = compile_s
    return row


def break_even(rows: list[dict], training_s: float) -> list[dict]:
    """Solves after which training has paid for itself against each baseline, grid and tolerance:
    ``training_s / (baseline total - learned total)``, or None where the learned solve is not faster."""
    out = []
    for row in rows:
        if row["solver"] == "learned":
            continue
        mine = next(r for r in rows if r["solver"] == "learned" and r["cells"] == row["cells"] and r["rtol"] == row["rtol"])
        saved = row["total_s"] - mine["total_s"]
        out.append({"cells": row["cells"], "rtol": row["rtol"], "against": row["solver"], "saved_s": saved,
                    "solves": training_s / saved if saved > 0 else None})  # fmt: skip
    return out
