"""What a solve leaves on disk: metrics.json, solution.npz, PNG plots and a self-contained report.html.

Plots use matplotlib, imported only here and only when writing.
"""

from __future__ import annotations

import html
import json
import pathlib

import numpy as np

from .._errors import ProblemError
from ..methods.base import Family
from ..problem.problem import Problem
from ..solution import Solution
from ..spec.dump import solver_table
from . import operators, trajectories
from .drawing import Helpers, draw
from .page import Figure, page, reference_name


def evaluation_grid(problem: Problem) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Points to report on: a grid in 1-D and 2-D (its shape returned too), Sobol points above."""
    lo, hi = problem.domain.bounds()
    if problem.domain.dim == 1:
        return np.linspace(lo[0], hi[0], 401)[:, None], (401,)
    if problem.domain.dim == 2:
        # a plane shape: finer, with equal spacing on both axes, so holes and corners look as they are
        counts = (121, 121) if problem.domain.plane() is None else _shape_counts(hi - lo)
        axes = [np.linspace(a, b, n) for a, b, n in zip(lo, hi, counts)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1), tuple(counts)
    return problem.domain.interior().sample(4096, "sobol", 12345)[0], None


def _shape_counts(widths: np.ndarray, longest: int = 241, least: int = 41) -> tuple[int, int]:
    """Grid points per axis with about equal spacing: ``longest`` along the longer side."""
    counts = np.maximum(least, np.round(longest * widths / widths.max()).astype(int))
    return int(counts[0]), int(counts[1])


def metrics_record(problem: Problem, family: Family, sol: Solution, wall_time: float, seed: int) -> dict:
    """The documented metrics.json keys (docs/problem-files.md): the run's, then the family's own."""
    m = sol.metrics
    record = {
        "problem": problem.name, "fields": list(problem.fields),
        "l2_relative_error": m.get("l2_relative_error"), "max_abs_error": m.get("max_abs_error"),
        "residual_rms": m.get("residual_rms"), "residual_rms_per_equation": m.get("residual_rms_per_equation"),
        "reference": m.get("reference"), "reference_method": m.get("reference_method"), "steps": sol.steps,
        "wall_time_s": round(wall_time, 3), "precision": sol.precision, "seed": seed,
        "status": sol.status, "message": sol.message, "phases": sol.phases,
    }  # fmt: skip
    if sol.settings is not None:  # what the report shows under "Settings"
        try:
            record["settings"] = solver_table(sol.settings)
        except ProblemError:  # a setting with no problem-file form: the report says none were recorded
            pass
    return {**record, **{k: m[k] for k in family.metric_keys if k in m and k not in record}}


def write_data(out: pathlib.Path, problem: Problem, sol: Solution, metrics: dict) -> list[pathlib.Path]:
    """Write the solve's data: metrics.json, history.json and solution.npz (the report is rendered
    from them by :func:`render_report`)."""
    out.mkdir(parents=True, exist_ok=True)
    if problem.operator is not None:  # an operator maps functions: its test samples stand for "the solution"
        return _write(out, sol, sol.report_arrays(), metrics)
    points, _ = evaluation_grid(problem)
    inside = problem.domain.contains(points)
    values = sol(points)  # (n, fields), or (states, n, fields) for an eigenproblem
    values[..., ~inside, :] = np.nan  # outside a disk, say: not part of the solution
    arrays = {"points": points, "coords": np.array(problem.domain.coords), "fields": np.array(problem.fields), "values": values}
    reference = _reference_values(sol, points)
    if reference is not None:
        reference[..., ~inside, :] = np.nan
        arrays["reference"] = reference
    own = sol.report_arrays()  # what a family's solution adds itself (a neural ODE's trajectories)
    if own is not None:
        from .inverse import HIDDEN

        arrays.update(own)
        arrays.update({HIDDEN.format(name): v for name, v in sol.hidden_along(points).items()})
    elif problem.inverse:  # what only the trained networks can tell the report
        from .inverse import saved_arrays

        arrays.update(saved_arrays(problem, sol, points, values))
    return _write(out, sol, arrays, metrics)


def _write(out: pathlib.Path, sol: Solution, arrays: dict, metrics: dict) -> list[pathlib.Path]:
    np.savez(out / "solution.npz", **arrays)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "history.json").write_text(json.dumps({"terms": sol.term_names, "records": sol.history}))
    return [out / "metrics.json", out / "history.json", out / "solution.npz"]


def render_report(out: pathlib.Path, problem: Problem, family: Family,
                  helpers: Helpers | None = None) -> list[pathlib.Path]:  # fmt: skip
    """Plots and report.html from the saved data in ``out`` (no training, no network needed). The
    solution's plots and the loss history are drawn by ``helpers`` (processes) when given."""
    data = np.load(out / "solution.npz")
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    learned_operator = operators.saved(data)
    odes = trajectories.saved(data)  # a learned ODE's trajectories: their own plots and measures of accuracy
    figures = operators.figures(out, problem, data) if learned_operator else []
    plots = [] if learned_operator else _solution_plots(out, problem, family, data, metrics)
    if not odes:
        from .plots import plot_history

        plots.append((plot_history, (out / "loss_history.png", history["records"], history["terms"]), LOSS_CAPTION))
    paths = draw([(function, args) for function, args, _ in plots], helpers)
    figures += [Figure(path, caption) for path, (_, _, caption) in zip(paths, plots)]
    if odes:
        figures += trajectories.training_figures(out, history, metrics, LOSS_CAPTION)
    estimates, estimate_plots = "", []
    if problem.inverse:
        from .inverse_page import section

        estimates, estimate_plots = section(out, problem, metrics, data)
    report = out / "report.html"
    measured = trajectories.accuracy(metrics) if odes else None  # by its data: no reference, no residual
    measured = operators.accuracy(metrics) if learned_operator else measured
    report.write_text(page(problem, metrics, figures, estimates, measured=measured))
    return [*estimate_plots, *(f.path for f in figures), report]


LOSS_CAPTION = ("Training loss against the optimiser step: the total (black) and each term of the loss, at each "
                "progress record. A dotted vertical line marks where an optimiser phase starts, labelled with its "
                "method.")  # fmt: skip


def _solution_plots(out: pathlib.Path, problem: Problem, family: Family, data, metrics: dict) -> list[tuple]:
    """The family's solution plots on the evaluation grid (and slices in time), each as
    ``(plotting function, its arguments, caption)``, to be drawn by :func:`~neuralsolve.report.drawing.draw`."""
    from .plots import frame_of, plot_slices, plot_solution, time_slices

    points, (_, shape) = data["points"], evaluation_grid(problem)
    reference = data["reference"] if "reference" in data else None
    against = reference_name(metrics)
    label = {"exact": "exact solution", "classical": "classical reference"}.get(metrics.get("reference"), "reference")
    frame = frame_of(problem)
    plots = []
    for name, title, v, r in family.panels(problem, data["values"], reference, metrics):
        r = r if against else None  # reference values with no name to give them are not shown
        args = (frame, points, shape, v, r, title, label)
        caption = _caption(problem, title, shape, r is not None, against, len(points))
        plots.append((plot_solution, (out / name, *args), caption))
        if time_slices(frame, shape):
            slices = out / name.replace("solution_", "slices_", 1)
            plots.append((plot_slices, (slices, *args), _slices_caption(problem, title, r is not None, against)))
    return plots


def _caption(problem: Problem, title: str, shape, with_reference: bool, against: str | None, n: int) -> str:
    """What a solution plot shows, in words."""
    name = f"<strong>{html.escape(title)}</strong>"
    coords = problem.domain.coords
    if shape is None:
        return f"{name}: histogram of the network's values at {n} quasi-random points of the {len(coords)}-dimensional domain."
    where = f"{shape[0]} evenly spaced points in {coords[0]}" if len(shape) == 1 else \
        f"a {shape[0]} × {shape[1]} grid in ({coords[0]}, {coords[1]})"  # fmt: skip
    if not with_reference:
        return f"{name}: the network's solution on {where} (no reference to compare with)."
    if len(shape) == 1:
        return (f"{name}, left: the network's solution (solid) and {against} (dashed); right: the pointwise "
                f"error |network − reference| on a log scale; on {where}.")  # fmt: skip
    return (f"{name} on {where}: the network's solution (left), {against} (middle) and the pointwise error "
            f"|network − reference| (right).")  # fmt: skip


def _slices_caption(problem: Problem, title: str, with_reference: bool, against: str | None) -> str:
    space = next(c for c in problem.domain.coords if c != "t")
    text = f"<strong>{html.escape(title)}</strong> against {html.escape(space)} at four times (one colour each): the network"
    return text + (f" (solid) and {against} (dashed) on the same axes." if with_reference else ".")


def _reference_values(sol: Solution, points: np.ndarray) -> np.ndarray | None:
    if sol.reference is None:
        return None
    import jax

    with jax.enable_x64(True):
        return np.array(sol.reference(points.astype(np.float64)), dtype=float)
