"""Adam throughput on DeepXDE's Burgers example settings, neuralsolve next to DeepXDE, one run.

Settings (DeepXDE's examples/pinn_forward/Burgers.py): network 2-20-20-20-1 tanh, 2540 interior,
80 boundary and 160 initial points, float32, Adam with learning rate 1e-3. neuralsolve is timed in
two formulations:
  * ``penalty``: boundary and initial values as penalty terms on 80 + 160 points — the same loss
    DeepXDE minimises, so the same work per step;
  * ``exact``: neuralsolve's default, values imposed through the trial function (no boundary points).
Steps per second exclude compilation: they are measured between the first and the last progress
record of one Adam run. The problem is given no reference (``reference="none"``): otherwise
neuralsolve computes a classical one in a background thread while the first steps run, and that
SciPy work (1.2 s) takes a core from the steps being timed (2.5 s for 3000 steps). DeepXDE runs
in a subprocess (benchmarks/peers/deepxde_burgers.py), with the interpreter of ``--peer-python``
(default: .venv-bench/bin/python, see BENCHMARKS.md).

    python benchmarks/burgers_throughput.py [--steps 3000] [--peer-python PATH] [--json FILE]
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np

import neuralsolve as ns

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent


def burgers(impose: str) -> ns.Problem:
    domain = ns.SpaceTime(ns.Interval(-1, 1), (0, 0.99))
    return ns.Problem(domain, "u", "diff(u, t) + u*diff(u, x) = nu*diff(u, x, 2)",
                      [ns.Dirichlet("u", 0.0, impose=impose, points=80),
                       ns.Initial("u", "-sin(pi*x)", impose=impose, points=160)],
                      parameters={"nu": 0.01 / np.pi}, reference="none")  # fmt: skip


def neuralsolve_rate(impose: str, steps: int, log_every: int) -> dict:
    records = []
    ns.solve(burgers(impose), network=ns.MLP(20, 3, "tanh"), points=ns.Points(interior=2540),
             phases=[ns.Adam(steps, 1e-3)], precision="float32", callback=records.append, log_every=log_every)  # fmt: skip
    first, last = records[0], records[-1]
    rate = (last["step"] - first["step"]) / (last["elapsed"] - first["elapsed"])
    return {"tool": f"neuralsolve ({impose})", "adam_steps_per_s": rate, "timed_steps": last["step"] - first["step"]}


def deepxde_rate(python: str, steps: int) -> dict:
    cmd = [python, str(HERE / "peers" / "deepxde_burgers.py"), "--adam-steps", str(steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"tool": f"DeepXDE {result['deepxde_version']} (torch {result['torch_version']})",
            "adam_steps_per_s": result["adam_steps_per_s"], "timed_steps": result["adam_steps"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="Adam steps per tool")
    parser.add_argument("--peer-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = [deepxde_rate(args.peer_python, args.steps)]
    log_every = max(args.steps // 10, 1)
    rows += [neuralsolve_rate(impose, args.steps + log_every, log_every) for impose in ("penalty", "exact")]
    base = rows[0]["adam_steps_per_s"]
    print(f"# Burgers, DeepXDE example settings, float32 Adam; {platform.machine()}, {os.cpu_count()} cores")
    print(f"{'tool':<40} {'steps/s':>9} {'vs DeepXDE':>11}")
    for r in rows:
        r["ratio_vs_deepxde"] = r["adam_steps_per_s"] / base
        print(f"{r['tool']:<40} {r['adam_steps_per_s']:>9.1f} {r['ratio_vs_deepxde']:>10.2f}x")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
