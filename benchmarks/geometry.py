"""Shapes (issue 19) on this machine, each result a line of benchmarks/results-geometry.jsonl.

    .venv/bin/python -u benchmarks/geometry.py shapes      # the three shape examples
    .venv/bin/python -u benchmarks/geometry.py sampling    # 10^6 interior + boundary points
    .venv/bin/python -u benchmarks/geometry.py deepxde     # DeepXDE's L-shape, side by side

``shapes``: each bundled shape example (an exact solution is known) is solved twice over in one
run: the solve is given *no* exact solution, so it checks itself against the finite-element
reference as a user's solve would (the reference is computed during training, and its time is in
the wall time); the exact solution then measures the network's true error on the same points, the
reference's true error, and the boundary values on every part with a value condition.

``deepxde``: DeepXDE's own L-shaped Poisson example (-Δu = 1, u = 0; its settings, run by
benchmarks/geometry/deepxde_lshape.py in the peers' environment) against neuralsolve on the same
problem (benchmarks/geometry/lshape_deepxde.toml): neuralsolve runs first, then DeepXDE for the
same wall time (its 50000 Adam steps take hours on this machine: ~0.09 s a step), both measured
against one finite-element reference on the same 120 801 points of a grid.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
from results import ROOT, append_result

import neuralsolve as ns
from neuralsolve.pinn.measure import fresh_points
from neuralsolve.reference.plane import plane_reference

RESULTS = ROOT / "benchmarks/results-geometry.jsonl"
EXAMPLES = ["poisson_lshape", "plate_holes", "channel_cylinder"]
FOLDER = ROOT / "benchmarks/geometry"


def without_exact(problem: ns.Problem) -> ns.Problem:
    """The same problem with no exact solution: it is checked against its classical reference."""
    args = {**problem.arguments, "exact": None}
    return ns.Problem(problem.domain, solver=problem.solver, **args)


def boundary_error(problem: ns.Problem, sol, n: int = 20000) -> float:
    """The largest |u - exact| on boundary points of every part with a value condition imposed
    exactly (the examples' boundary values are the exact solution there)."""
    shape = problem.domain.plane().shape
    worst = 0.0
    for h in problem.shape_hard:
        points, _ = shape.boundary(n, "sobol", 11, h.pieces)
        with jax.enable_x64(True):
            exact = np.asarray(problem.exact_at(problem.fields[h.field], points))
        worst = max(worst, float(np.max(np.abs(sol(points)[:, h.field] - exact))))
    return worst


def shapes() -> None:
    for name in EXAMPLES:
        problem = ns.load(ROOT / f"src/neuralsolve/examples/{name}.toml")
        blind = without_exact(problem)
        began = time.perf_counter()
        sol = ns.solve(blind)
        wall = time.perf_counter() - began
        field = problem.fields[0]
        points = fresh_points(problem, 0)  # the points the solve's metrics were measured on
        with jax.enable_x64(True):
            exact = np.asarray(problem.exact_at(field, points))
        true = float(np.linalg.norm(sol(points)[:, 0] - exact) / np.linalg.norm(exact))
        reported = sol.metrics["l2_relative_error"][field]
        began = time.perf_counter()
        reference = plane_reference(problem)
        reference_s = time.perf_counter() - began
        ref_values = reference.values(points)[:, 0]
        append_result(RESULTS, f"shape {name}", {
            "wall_time_s": round(wall, 1), "status": sol.status, "true_error": true, "reported_error": reported,
            "reported_over_true": reported / true, "reference": sol.metrics.get("reference_method"),
            "reference_true_error": float(np.linalg.norm(ref_values - exact) / np.linalg.norm(exact)),
            "reference_error_estimate": reference.error_estimate, "reference_s": round(reference_s, 1),
            "boundary_max_error": boundary_error(problem, sol), "residual_rms": sol.metrics["residual_rms"],
        })  # fmt: skip


def sampling() -> None:
    shape = ns.load(ROOT / "src/neuralsolve/examples/plate_holes.toml").domain.plane().shape
    shape.interior(1000, "sobol", 0)  # SciPy's samplers imported and warmed
    rows = {}
    for method in ("sobol", "uniform"):
        began = time.perf_counter()
        inside = shape.interior(10**6, method, 1)
        middle = time.perf_counter()
        boundary, _ = shape.boundary(10**6, method, 2)
        ended = time.perf_counter()
        assert shape.contains(inside, 0).all() and len(inside) == 10**6 and len(boundary) >= 10**6 - 10
        rows[method] = {"interior_s": round(middle - began, 3), "boundary_s": round(ended - middle, 3),
                        "total_s": round(ended - began, 3)}  # fmt: skip
    append_result(RESULTS, "sampling plate_holes 1e6 + 1e6", rows)


def deepxde() -> None:
    """neuralsolve first (its recipe in lshape_deepxde.toml), then DeepXDE's example settings for
    the same wall time (its Adam phase cut there), both against one finite-element reference."""
    import subprocess

    points = np.load(FOLDER / "lshape_points.npy")
    problem = ns.load(FOLDER / "lshape_deepxde.toml")
    began = time.perf_counter()
    sol = ns.solve(problem)
    wall = time.perf_counter() - began
    ours = sol(points)[:, 0]
    peer_file = FOLDER / "deepxde_lshape_timed.npz"
    subprocess.run([str(ROOT / ".venv-bench/bin/python"), "-u", str(FOLDER / "deepxde_lshape.py"), "--time-limit",
                    f"{wall:.1f}", "--out", str(peer_file)], check=True)  # fmt: skip
    peer = np.load(peer_file)
    began = time.perf_counter()
    reference = plane_reference(problem)
    reference_s = time.perf_counter() - began
    ref = reference.values(points)[:, 0]
    error = lambda u: float(np.linalg.norm(u - ref) / np.linalg.norm(ref))  # noqa: E731
    append_result(RESULTS, "deepxde L-shape side by side", {
        "reference": reference.method, "reference_error_estimate": reference.error_estimate,
        "reference_s": round(reference_s, 1), "points": len(points),
        "neuralsolve": {"error": error(ours), "wall_time_s": round(wall, 1), "status": sol.status,
                        "reported_error": sol.metrics["l2_relative_error"]["u"],
                        "settings": "lshape_deepxde.toml: 32x3 tanh, 1200 points, Adam 1000 + L-BFGS 2000"},
        "deepxde": {"error": error(np.asarray(peer["u"]).ravel()), "wall_time_s": round(float(peer["wall_s"]), 1),
                    "adam_iterations": int(peer["adam_iterations"]), "precision": str(peer["precision"]),
                    "settings": "its example: 50x4 tanh, 1200 + 120 points, Adam lr 1e-3 (50000, cut at equal time)"},
    })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["shapes", "sampling", "deepxde"])
    args = parser.parse_args()
    {"shapes": shapes, "sampling": sampling, "deepxde": deepxde}[args.what]()


if __name__ == "__main__":
    main()
