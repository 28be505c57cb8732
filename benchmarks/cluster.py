"""Many solves on this machine, each result a line of benchmarks/results-cluster.jsonl.

    .venv/bin/python -u benchmarks/cluster.py sweep [--set k=1,2] [--seeds 0:4]
    .venv/bin/python -u benchmarks/cluster.py generate [--samples 200]

sweep: the same 8-member sweep (Poisson 1D, k in {1, 2} x seeds 0-3) one after another in one
process (--workers 1) and as Ray tasks on a local Ray (--workers 2), each with an empty compilation
cache, one after the other.
generate: the bundled Burgers operator's data generation (ETDRK4 on 8192 points), fewer samples, in
two local worker processes and as Ray tasks on a local Ray with two CPUs, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from results import ROOT, append_result

RESULTS = ROOT / "benchmarks/results-cluster.jsonl"
PROBLEM = """\
name = "Poisson 1D, scaled"
fields = ["u"]
equations = ["-diff(u, x, 2) = k*pi**2*sin(pi*x)"]

[parameters]
k = 1

[domain]
x = [-1, 1]

[[conditions]]
on = "boundary"
set = "u = 0"

[exact]
u = "k*sin(pi*x)"

[solver]
network = {width = 32, depth = 3}
points = {interior = 256}
phases = [{method = "adam", steps = 1000}, {method = "lbfgs", steps = 1000}]
"""


def run(folder, workers: int, sets: str, seeds: str) -> dict:
    """One sweep in ``folder`` with a compilation cache of its own (empty); its wall time and results."""
    env = {**os.environ, "NEURALSOLVE_CACHE_DIR": str(folder / "cache")}
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "neuralsolve.cli.main", "sweep", str(folder / "p.toml"), "--set", sets,
                    "--seeds", seeds, "--out", str(folder / "sweep"), "--workers", str(workers)],
                   check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    seconds = time.monotonic() - began
    results = json.loads((folder / "sweep" / "sweep.json").read_text())["results"]
    return {"wall_s": round(seconds, 1), "members": len(results),
            "ok": sum(r["status"] == "ok" for r in results.values()),
            "errors": {k: r["l2_relative_error"]["u"] for k, r in sorted(results.items())}}  # fmt: skip


def generate(samples: int) -> None:
    """The Burgers operator's data, ``samples`` of them, with local processes and with Ray."""
    import numpy as np

    from neuralsolve.cluster.engines import RayExecutor
    from neuralsolve.reference.datasets import draw_inputs, generator_for, solve_all
    from neuralsolve.spec.load import load

    text = (ROOT / "src/neuralsolve/examples/burgers_operator.toml").read_text()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="generate-bench-"))
    (folder / "p.toml").write_text(text.replace("train = 1000", f"train = {samples - samples // 6}")
                                   .replace("test = 200", f"test = {samples // 6}"))  # fmt: skip
    problem = load(folder / "p.toml")
    gen = generator_for(problem)
    inputs = draw_inputs(problem, gen)
    began = time.monotonic()
    local = solve_all(gen, inputs, problem.operator.generate, None, workers=2)
    local_s = time.monotonic() - began
    began = time.monotonic()
    executor = RayExecutor(workers=2)
    try:
        on_ray = solve_all(gen, inputs, problem.operator.generate, None, workers=2, executor=executor)
    finally:
        executor.close()
    ray_s = time.monotonic() - began  # Ray's start-up included
    shutil.rmtree(folder)
    append_result(RESULTS, "generate-burgers", {"samples": len(inputs), "points": problem.operator.generate,
                                                "processes_s": round(local_s, 1), "ray_s": round(ray_s, 1),
                                                "ratio": round(ray_s / local_s, 2),
                                                "max_difference": float(np.abs(on_ray - local).max())})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["sweep", "generate"])
    parser.add_argument("--set", dest="sets", default="k=1,2")
    parser.add_argument("--seeds", default="0:4")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    if args.case == "generate":
        generate(args.samples)
        return
    rows = {}
    for workers in (1, 2):
        folder = pathlib.Path(tempfile.mkdtemp(prefix="sweep-bench-"))
        (folder / "p.toml").write_text(PROBLEM)
        rows[workers] = run(folder, workers, args.sets, args.seeds)
        shutil.rmtree(folder)
    same = rows[1]["errors"] == rows[2]["errors"]
    append_result(RESULTS, "sweep-poisson-8", {"in_process": rows[1], "ray_2_workers": rows[2],
                                               "speedup": round(rows[1]["wall_s"] / rows[2]["wall_s"], 2),
                                               "identical_errors": same})  # fmt: skip


if __name__ == "__main__":
    main()
