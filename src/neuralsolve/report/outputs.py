"""What a solve leaves on disk: metrics.json, solution.npz, PNG plots and a self-contained report.html.

Plots use matplotlib, imported only here and only when writing.
"""

from __future__ import annotations

import base64
import html
import json
import pathlib

import numpy as np

from ..methods.base import Family
from ..problem.problem import Problem
from ..solution import Solution


def evaluation_grid(problem: Problem) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Points to report on: a grid in 1-D and 2-D (its shape returned too), Sobol points above."""
    lo, hi = problem.domain.bounds()
    if problem.domain.dim == 1:
        return np.linspace(lo[0], hi[0], 401)[:, None], (401,)
    if problem.domain.dim == 2:
        axes = [np.linspace(a, b, 121) for a, b in zip(lo, hi)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1), (121, 121)
    return problem.domain.interior().sample(4096, "sobol", 12345)[0], None


def metrics_record(problem: Problem, family: Family, sol: Solution, wall_time: float, seed: int) -> dict:
    """The documented metrics.json keys (docs/problem-files.md): the run's, then the family's own."""
    m = sol.metrics
    record = {
        "problem": problem.name, "fields": list(problem.fields),
        "l2_relative_error": m.get("l2_relative_error"), "max_abs_error": m.get("max_abs_error"),
        "residual_rms": m["residual_rms"], "residual_rms_per_equation": m["residual_rms_per_equation"],
        "reference": m["reference"], "reference_method": m.get("reference_method"), "steps": sol.steps,
        "wall_time_s": round(wall_time, 3), "precision": sol.precision, "seed": seed,
        "status": sol.status, "message": sol.message, "phases": sol.phases,
    }  # fmt: skip
    return {**record, **{k: m[k] for k in family.metric_keys if k in m and k not in record}}


def write_data(out: pathlib.Path, problem: Problem, sol: Solution, metrics: dict) -> list[pathlib.Path]:
    """Write the solve's data: metrics.json, history.json and solution.npz (the report is rendered
    from them by :func:`render_report`)."""
    out.mkdir(parents=True, exist_ok=True)
    points, _ = evaluation_grid(problem)
    inside = problem.domain.contains(points)
    values = sol(points)  # (n, fields), or (states, n, fields) for an eigenproblem
    values[..., ~inside, :] = np.nan  # outside a disk, say: not part of the solution
    arrays = {"points": points, "coords": np.array(problem.domain.coords), "fields": np.array(problem.fields), "values": values}
    reference = _reference_values(sol, points)
    if reference is not None:
        reference[..., ~inside, :] = np.nan
        arrays["reference"] = reference
    np.savez(out / "solution.npz", **arrays)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "history.json").write_text(json.dumps({"terms": sol.term_names, "records": sol.history}))
    return [out / "metrics.json", out / "history.json", out / "solution.npz"]


def render_report(out: pathlib.Path, problem: Problem, family: Family) -> list[pathlib.Path]:
    """Plots and report.html from the saved data in ``out`` (no training, no network needed)."""
    from .plots import plot_history, plot_solution

    data = np.load(out / "solution.npz")
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    _, shape = evaluation_grid(problem)
    reference = data["reference"] if "reference" in data else None
    panels = family.panels(problem, data["values"], reference, metrics)
    images = [plot_solution(out / name, problem, data["points"], shape, v, r, title) for name, title, v, r in panels]
    images.append(plot_history(out / "loss_history.png", history["records"], history["terms"]))
    report = out / "report.html"
    report.write_text(_html(problem, metrics, images))
    return [*images, report]


def _reference_values(sol: Solution, points: np.ndarray) -> np.ndarray | None:
    if sol.reference is None:
        return None
    import jax

    with jax.enable_x64(True):
        return np.array(sol.reference(points.astype(np.float64)), dtype=float)


def _html(problem: Problem, metrics: dict, images: list[pathlib.Path]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>" for k, v in metrics.items())
    figs = "".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in images
    )
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(problem.name)}</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}th{text-align:left;padding-right:1em}"
            "img{max-width:100%}</style></head>"
            f"<body><h1>{html.escape(problem.name)}</h1><table>{rows}</table>{figs}</body></html>")  # fmt: skip
