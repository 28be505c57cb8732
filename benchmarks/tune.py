"""`neuralsolve tune` on Helmholtz 2D against the hand-tuned benchmark recipe, on this machine.

1. tune the bundled helmholtz_2d.toml for --budget (default 20m) with two trials at once;
2. solve the best recipe found alone (its trial ran beside another: its time there is not its own);
3. solve the hand-tuned benchmark recipe (src/neuralsolve/bench/recipes.py) alone, same problem.
Each result is a line of benchmarks/results-tune.jsonl.

    .venv/bin/python -u benchmarks/tune.py [--budget 20m]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time
import tomllib

from results import ROOT, append_result

from neuralsolve.bench.recipes import RECIPES
from neuralsolve.spec.dump import to_toml

EXAMPLE = ROOT / "src/neuralsolve/examples/helmholtz_2d.toml"
OUT = ROOT / "benchmarks/tune/helmholtz_2d"
RESULTS = ROOT / "benchmarks/results-tune.jsonl"
CLI = [sys.executable, "-m", "neuralsolve.cli.main"]


def solve_alone(text: str, name: str) -> dict:
    """Solve a problem file's text alone; its error against the exact solution and wall time."""
    folder = OUT / "alone" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "problem.toml").write_text(text)
    began = time.monotonic()
    subprocess.run(CLI + ["solve", str(folder / "problem.toml"), "--out", str(folder / "run"), "--force"], check=False)
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    return {"error": metrics["l2_relative_error"]["u"], "wall_time_s": metrics["wall_time_s"],
            "command_s": round(time.monotonic() - began, 1), "status": metrics["status"]}  # fmt: skip


def with_solver(solver: dict) -> str:
    table = tomllib.loads(EXAMPLE.read_text())
    table["solver"] = solver
    return to_toml(table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", default="20m")
    args = parser.parse_args()
    began = time.monotonic()
    subprocess.run(CLI + ["tune", str(EXAMPLE), "--budget", args.budget, "--workers", "2", "--out", str(OUT)], check=False)
    tuned = json.loads((OUT / "tune.json").read_text())
    tune_s = round(time.monotonic() - began, 1)
    ended = [t for t in tuned["trials"] if t["error"] is not None]
    row = {"budget": args.budget, "tune_s": tune_s, "trials": len(tuned["trials"]), "ended": len(ended),
           "stopped": sum(t["outcome"] == "stopped" for t in tuned["trials"]), "best_in_tune": tuned["best"],
           "recipe": tuned["recipe"]}  # fmt: skip
    if tuned["recipe"] is not None:
        row["best_alone"] = solve_alone(with_solver(tuned["recipe"]), "tuned")
    row["bench_recipe"] = RECIPES["helmholtz_2d"].solver
    row["bench_alone"] = solve_alone(with_solver(RECIPES["helmholtz_2d"].solver), "bench")
    append_result(RESULTS, "tune-helmholtz_2d", row)


if __name__ == "__main__":
    main()
