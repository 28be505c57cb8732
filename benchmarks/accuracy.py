"""Accuracy table: every reference case of neuralsolve.bench, its error, its target and wall time.

    python benchmarks/accuracy.py [NAMES ...] [--json FILE]
"""

import argparse
import json
import pathlib
import time

import neuralsolve as ns
from neuralsolve.bench import CASES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=sorted(CASES), help=f"cases (default all: {', '.join(sorted(CASES))})")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    print(f"{'case':<20} {'rel. L2 error':>14} {'target':>8} {'steps':>6} {'wall s':>7}")
    for name in args.names:
        case = CASES[name]()
        start = time.perf_counter()
        sol = ns.solve(case.problem, **case.settings)
        wall = time.perf_counter() - start
        row = {"case": name, "l2_relative_error": case.relative_error(sol), "target": case.target,
               "steps": sol.steps, "wall_time_s": round(wall, 1), "status": sol.status}  # fmt: skip
        rows.append(row)
        print(f"{name:<20} {row['l2_relative_error']:>14.2e} {case.target:>8.0e} {sol.steps:>6} {wall:>7.1f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
