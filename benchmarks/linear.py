"""Learned linear solvers (issue 16): training, the comparison with the classical solvers on held-out
systems, learned relaxation over a sequence of systems, and the Darcy data set generated both ways.

    python benchmarks/linear.py train diffusion [--cells 32] [--steps 2000]   # -> benchmarks/linear/<kind>.eqx
    python benchmarks/linear.py train diffusion --start diffusion --sizes 3 --name diffusion-128
                                  # go on from a saved model with one finer grid -> linear/diffusion-128.eqx
    python benchmarks/linear.py compare diffusion [--grids 64,128,256,512] [--rtol 1e-6,1e-8] [--count 3]
                                  [--model diffusion-128]
    python benchmarks/linear.py relax [--cells 32] [--steps 5000] [--rtol 1e-8]
    python benchmarks/linear.py darcy [--samples 40]     # SuperLU vs the learned solver vs AMG-PCG

Every result is one JSON line appended to benchmarks/results-linear.jsonl with the machine, load,
date and commit. The trained models are kept in benchmarks/linear/ (small: tens of kB), so
``compare`` and ``darcy`` reuse what ``train`` made.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
from results import append_result  # benchmarks/results.py, beside this script

from neuralsolve.linear.dcdm import MEMORY

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results-linear.jsonl"
MODELS = HERE / "linear"


def _progress(record: dict) -> None:
    print(f"step {record['step']}  loss {record['loss']:.4e}  {record['elapsed']:.0f} s", flush=True)


def train(args) -> dict:
    from neuralsolve.linear import learn

    recipe = learn.Recipe(kind=args.kind, cells=args.cells, steps=args.steps, systems=args.systems,
                          samples=args.samples, width=args.width, sizes=args.sizes,
                          learning_rate=args.learning_rate)  # fmt: skip
    name = args.name or args.kind
    start = learn.load(MODELS / args.start) if args.start else None
    network, info = learn.train(recipe, callback=_progress, checkpoint=MODELS / f"{name}.checkpoint",
                                resume=args.resume, start=start)  # fmt: skip
    learn.save(network, info, MODELS / name)
    return append_result(RESULTS, f"train {name}", info, hide=("history", "rows"))


def compare(args) -> dict:
    from neuralsolve.linear import compare as comparison
    from neuralsolve.linear import learn
    from neuralsolve.linear.dcdm import LearnedSolver

    network, info = learn.load(MODELS / (args.model or args.kind))
    grids = [int(v) for v in args.grids.split(",")]
    rtols = [float(v) for v in args.rtol.split(",")]
    rows = comparison.compare(args.kind, grids, rtols, count=args.count, learned=LearnedSolver(network, memory=args.memory),
                              progress=lambda d, t: print(f"solve {d}/{t}", flush=True))  # fmt: skip
    for r in rows:
        print(f"{r['cells']:>4}^2 {r['rtol']:g} {r['solver']:>8}: {r['iterations']} it, setup {r['setup_s']:.3f} s, "
              f"solve {r['solve_s']:.3f} s, converged {r['converged']}, fell back {r.get('fell_back', '-')}")  # fmt: skip
    even = comparison.break_even(rows, info["training_seconds"])
    return append_result(RESULTS, f"compare {args.kind}", {"model": args.model or args.kind, "memory": args.memory, "training_s": info["training_seconds"], "recipe": info["recipe"],
                                            "rows": rows, "break_even": even}, hide=("history", "rows"))  # fmt: skip


def relax(args) -> dict:
    """The bandit on one sequence (``--seed`` seeds its field and the first bandit), and both loss
    estimators with bandit seeds seed .. seed + N - 1 on the same table (``--bandit-seeds N``)."""
    from neuralsolve.linear.relax import relaxation_benchmark

    result = relaxation_benchmark(args.cells, args.steps, rtol=args.rtol, seed=args.seed, estimator=args.estimator,
                                  bandit_seeds=args.bandit_seeds)  # fmt: skip
    for name, runs in result["estimators"].items():
        ratios = [r["bandit_over_best_fixed"] for r in runs]
        print(f"{name}: bandit / best fixed {min(ratios):.4f} .. {max(ratios):.4f} (mean {np.mean(ratios):.4f}), "
              f"omega=1 / bandit at least {min(r['omega_one_over_bandit'] for r in runs):.3f}", flush=True)  # fmt: skip
    return append_result(RESULTS, "relax", result, hide=("history", "rows", "choices", "curves", "estimators"))


def darcy(args) -> dict:
    """The Darcy example's coefficients solved three ways: SuperLU (what the generator uses), the
    learned solver (the diffusion model; rtol 1e-8) and AMG-PCG (rtol 1e-8), timed end to end."""
    import neuralsolve as ns
    from neuralsolve.linear import learn
    from neuralsolve.linear.baselines import solve_baseline
    from neuralsolve.linear.dcdm import LearnedSolver
    from neuralsolve.reference.darcy import darcy_stencil, solve_darcy
    from neuralsolve.reference.datasets import draw_inputs
    from neuralsolve.reference.operators import generator_for

    problem = ns.load(ROOT / "src" / "neuralsolve" / "examples" / "darcy_operator.toml")
    gen = generator_for(problem)
    coefficients = draw_inputs(problem, gen)[: args.samples]
    solver = LearnedSolver(learn.load(MODELS / "diffusion")[0])
    compile_s = solver.compile((coefficients.shape[1] - 2,) * 2)
    times, errors, iterations = {"superlu": 0.0, "learned": 0.0, "amg-pcg": 0.0}, [], {"learned": [], "amg-pcg": []}
    for a in coefficients:
        start = time.perf_counter()
        exact = solve_darcy(a, 1.0)[1:-1, 1:-1]
        times["superlu"] += time.perf_counter() - start
        start = time.perf_counter()
        stencil = darcy_stencil(a)
        x, record, _ = solver.solve(stencil, np.ones(stencil.shape), 1e-8)
        times["learned"] += time.perf_counter() - start
        iterations["learned"].append(record.iterations)
        errors.append(float(np.abs(x - exact).max() / np.abs(exact).max()))
        start = time.perf_counter()
        _, amg = solve_baseline("amg-pcg", darcy_stencil(a).matrix(), np.ones(stencil.shape).ravel(), 1e-8)
        times["amg-pcg"] += time.perf_counter() - start
        iterations["amg-pcg"].append(amg.iterations)
    return append_result(RESULTS, "darcy generation", {"samples": len(coefficients), "points": coefficients.shape[1],
                                        "seconds": times, "learned_compile_s": compile_s,
                                        "mean_iterations": {k: float(np.mean(v)) for k, v in iterations.items()},
                                        "max_relative_difference_learned_vs_superlu": max(errors)}, hide=("history", "rows"))  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train")
    p.add_argument("kind")
    p.add_argument("--cells", type=int, default=32)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--systems", type=int, default=64)
    p.add_argument("--samples", type=int, default=2048)
    p.add_argument("--width", type=int, default=12)
    p.add_argument("--sizes", type=int, default=2, help="grids trained on: cells, 2 cells, ...")
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--start", help="a saved model (in benchmarks/linear/) to go on from")
    p.add_argument("--name", help="the saved model's name (default: the kind)")
    p.add_argument("--resume", action="store_true")
    p = sub.add_parser("compare")
    p.add_argument("kind")
    p.add_argument("--grids", default="64,128,256,512")
    p.add_argument("--rtol", default="1e-6,1e-8")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--model", help="the saved model to compare (default: the kind)")
    p.add_argument("--memory", type=int, default=MEMORY, help="earlier directions each new one is A-orthogonal to")
    p = sub.add_parser("relax")
    p.add_argument("--cells", type=int, default=32)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--estimator", default="reduced-variance", choices=("reduced-variance", "importance"))
    p.add_argument("--bandit-seeds", type=int, default=10)
    p = sub.add_parser("darcy")
    p.add_argument("--samples", type=int, default=40)
    args = parser.parse_args(argv)
    {"train": train, "compare": compare, "relax": relax, "darcy": darcy}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
