"""Each forward bench row reproduced from the command line, as a user would run it.

For every name, ``neuralsolve solve src/neuralsolve/examples/NAME.toml --out DIR`` runs in a
subprocess (the file's own ``[solver]`` table is the bench recipe), then the saved solution is
opened (``neuralsolve.open``) and measured on the bench's reference points exactly as
``neuralsolve bench`` measures its row. ``--jobs 2`` runs two solves at once: the errors do not
depend on it (no recipe has a time limit), the wall times do.

    python benchmarks/cli_rows.py [NAMES ...] [--jobs 1] [--json FILE] [--out DIR] [--steps N]
"""

import argparse
import concurrent.futures
import json
import pathlib
import subprocess
import sys
import time

import neuralsolve as ns
from neuralsolve.bench import BENCHMARKS
from neuralsolve.bench.recipes import FORWARD, example_file
from neuralsolve.bench.record import record
from neuralsolve.bench.runner import relative_l2

ROOT = pathlib.Path(__file__).resolve().parent.parent


def solve_file(name: str, out: pathlib.Path, steps: int | None) -> dict:
    """Run the command line on the bundled example ``name``; its wall time and exit status."""
    cli = pathlib.Path(sys.executable).parent / "neuralsolve"
    command = [str(cli), "solve", str(example_file(name)), "--out", str(out / name), "--force"]
    start = time.perf_counter()
    done = subprocess.run(command + (["--steps", str(steps)] if steps else []), capture_output=True, text=True, cwd=ROOT)
    return {"problem": name, "exit": done.returncode, "wall_s": time.perf_counter() - start,
            "last_lines": done.stdout.strip().splitlines()[-3:] + done.stderr.strip().splitlines()[-3:]}  # fmt: skip


def measure(row: dict, out: pathlib.Path) -> dict:
    """The saved solution's relative L2 error on the bench's reference points (exit status 1 is a
    finished solve whose own check failed: measured too)."""
    if row["exit"] not in (0, 1):
        return row
    points, values = BENCHMARKS[row["problem"]].reference()
    sol = ns.open(out / row["problem"])
    predicted = sol(points) if values.ndim == 2 else sol(points, "u")
    own = json.loads((out / row["problem"] / "metrics.json").read_text())
    return {**row, "l2_relative_error": relative_l2(predicted, values), "train_s": own["wall_time_s"],
            "own_check": {k: own[k] for k in ("l2_relative_error", "reference", "status", "message")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=list(FORWARD))
    parser.add_argument("--jobs", type=int, default=1, help="solves at once")
    parser.add_argument("--out", default="runs/cli-rows", help="where the runs go")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--steps", type=int, help="cap the steps (smoke tests; the rows then mean nothing)")
    args = parser.parse_args()
    out = pathlib.Path(args.out).resolve()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        solved = list(pool.map(lambda n: solve_file(n, out, args.steps), args.names))
    rows = [measure(r, out) for r in solved]
    print(f"{'problem':<22} {'relative L2':>12} {'train s':>8} {'wall s':>8}  the solve's own check")
    for r in rows:
        err = f"{r['l2_relative_error']:.3e}" if "l2_relative_error" in r else f"exit {r['exit']}"
        own = r.get("own_check", {"message": " / ".join(r["last_lines"])})
        print(f"{r['problem']:<22} {err:>12} {r.get('train_s', float('nan')):>8.1f} {r['wall_s']:>8.1f}  {own}")
    if args.json:
        options = {"jobs": args.jobs, "steps": args.steps}
        pathlib.Path(args.json).write_text(json.dumps(record(rows, options), indent=1))


if __name__ == "__main__":
    sys.exit(main())
