"""Burgers benchmark: accuracy against DeepXDE's reference solution, and wall time.

u_t + u u_x = (0.01/pi) u_xx on x in [-1, 1], t in [0, 0.99], u(x, 0) = -sin(pi x), u(+-1, t) = 0.
The reference (DeepXDE's, 256 x 100 grid) is the one bundled with the package (src/neuralsolve/bench/data). Prints one JSON
line with the relative L2 error on the full grid, the wall time, the phase log and the machine load.

By default it runs the recipe of the bundled ``burgers.toml`` (the same settings ``neuralsolve solve``
uses); any option given overrides that part of the recipe:

    python benchmarks/burgers.py                                   # the example's recipe
    python benchmarks/burgers.py --method lbfgs --qn-steps 1500 --width 32 --depth 4   # the old one
"""

import argparse
import json
import os
import pathlib
import platform
import time

import numpy as np

import neuralsolve as ns
from neuralsolve.bench.problems import data_file
from neuralsolve.train.phases import PHASES

ROOT = pathlib.Path(__file__).parents[1]
DATA = data_file("burgers_deepxde.npz")
EXAMPLE = ROOT / "src/neuralsolve/examples" / "burgers.toml"


def burgers_problem() -> ns.Problem:
    """The Burgers problem of DeepXDE's example, with the settings of the bundled ``burgers.toml``."""
    return ns.load(EXAMPLE)


def reference() -> tuple[np.ndarray, np.ndarray]:
    """Grid points (n, 2) in (x, t) order and the reference values (n,)."""
    d = np.load(DATA)
    xx, tt = np.meshgrid(d["x"][:, 0], d["t"][:, 0], indexing="ij")
    return np.stack([xx.ravel(), tt.ravel()], axis=1), d["usol"].ravel()


def overrides(args, recipe: dict) -> dict:
    """``solve`` keyword arguments for the options given on the command line."""
    kwargs = {}
    if args.width or args.depth:
        net = recipe["network"]
        kwargs["network"] = ns.MLP(args.width or net.width, args.depth or net.depth, net.activation)
    if args.interior:
        kwargs["points"] = ns.Points(interior=args.interior)
    if args.adam is not None or args.method or args.qn_steps:
        adam, qn = recipe["phases"][0], recipe["phases"][-1]
        adam = adam if args.adam is None else ns.Adam(args.adam, adam.learning_rate, adam.final_learning_rate)
        method = args.method or qn.name
        kwargs["phases"] = [adam, PHASES[method](steps=args.qn_steps or qn.steps)]
    if args.precision:
        kwargs["precision"] = args.precision
    return kwargs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", choices=["float32", "float64"])
    parser.add_argument("--interior", type=int, help="interior collocation points")
    parser.add_argument("--width", type=int)
    parser.add_argument("--depth", type=int)
    parser.add_argument("--adam", type=int, help="Adam steps (learning rates as in the example)")
    parser.add_argument("--method", choices=[m for m in PHASES if m != "adam"], help="the quasi-Newton phase")
    parser.add_argument("--qn-steps", type=int, help="steps of the quasi-Newton phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    problem = burgers_problem()
    kwargs = overrides(args, problem.solver)
    start = time.perf_counter()
    sol = ns.solve(problem, seed=args.seed, callback=None if args.quiet else ns.print_progress, log_every=500, **kwargs)
    wall = time.perf_counter() - start
    points, ref = reference()
    u = sol(points, "u")
    settings = {**problem.solver, **kwargs}
    print(json.dumps({
        "benchmark": "burgers", "l2_relative_error": float(np.linalg.norm(u - ref) / np.linalg.norm(ref)),
        "max_abs_error": float(np.max(np.abs(u - ref))), "wall_time_s": round(wall, 1), "status": sol.status,
        "phases": sol.phases, "settings": {k: repr(v) for k, v in settings.items()}, "seed": args.seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average_1min": round(os.getloadavg()[0], 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
