"""Burgers benchmark: accuracy against DeepXDE's reference solution, and wall time.

u_t + u u_x = (0.01/pi) u_xx on x in [-1, 1], t in [0, 0.99], u(x, 0) = -sin(pi x), u(+-1, t) = 0.
The reference (benchmarks/data/burgers_deepxde.npz, 256 x 100 grid) is DeepXDE's. Prints one JSON
line with the relative L2 error on the full grid, the wall time and the phase log.

    python benchmarks/burgers.py [--precision float64] [--interior 8192] [--adam 1000] [--lbfgs 1500]
"""

import argparse
import json
import pathlib
import platform
import time

import numpy as np

import neuralsolve as ns

DATA = pathlib.Path(__file__).parent / "data" / "burgers_deepxde.npz"


def burgers_problem() -> ns.Problem:
    """The Burgers problem of DeepXDE's example."""
    domain = ns.SpaceTime(ns.Interval(-1, 1), (0, 0.99))
    return ns.Problem(domain, "u", "diff(u, t) + u*diff(u, x) = nu*diff(u, x, 2)",
                      [ns.Dirichlet("u", 0.0), ns.Initial("u", "-sin(pi*x)")],
                      parameters={"nu": 0.01 / np.pi}, name="Burgers")  # fmt: skip


def reference() -> tuple[np.ndarray, np.ndarray]:
    """Grid points (n, 2) in (x, t) order and the reference values (n,)."""
    d = np.load(DATA)
    xx, tt = np.meshgrid(d["x"][:, 0], d["t"][:, 0], indexing="ij")
    return np.stack([xx.ravel(), tt.ravel()], axis=1), d["usol"].ravel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="float64", choices=["float32", "float64"])
    parser.add_argument("--interior", type=int, default=8192)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--adam", type=int, default=1000)
    parser.add_argument("--lbfgs", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    sol = ns.solve(burgers_problem(), network=ns.MLP(args.width, args.depth), points=ns.Points(interior=args.interior),
                   phases=[ns.Adam(args.adam), ns.LBFGS(args.lbfgs)], precision=args.precision, seed=args.seed,
                   callback=None if args.quiet else ns.print_progress, log_every=500)  # fmt: skip
    wall = time.perf_counter() - start
    points, ref = reference()
    u = sol(points, "u")
    print(json.dumps({
        "benchmark": "burgers", "l2_relative_error": float(np.linalg.norm(u - ref) / np.linalg.norm(ref)),
        "max_abs_error": float(np.max(np.abs(u - ref))), "wall_time_s": round(wall, 1), "status": sol.status,
        "phases": sol.phases, "settings": vars(args), "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }))  # fmt: skip


if __name__ == "__main__":
    main()
