"""Time to the first answer: whole processes, side by side with DeepXDE, in one invocation.

The setup of issue 20: Burgers with DeepXDE's example settings (20x3 tanh, 2540 points, 6000 Adam
steps, float32; neuralsolve imposes the values exactly), ``benchmarks/first_answer/
burgers_deepxde_settings.toml``. Each tool runs as a whole process, timed from outside:

* DeepXDE: ``benchmarks/peers/deepxde_burgers.py`` (100 warm-up + 5900 Adam steps, then its
  error against the reference data), with the interpreter of ``--peer-python``;
* neuralsolve, first run: ``neuralsolve solve FILE --profile`` with an empty compilation cache;
* neuralsolve, repeated run: the same command again, the cache now warm (compiled programs, point
  sets, the classical reference's values);
* ``neuralsolve check`` on a bundled example (median of 5 runs).

The package's bytecode is compiled first, as ``make`` does at set-up and a wheel install does:
otherwise, where ``PYTHONDONTWRITEBYTECODE`` is set, every process compiles the sources it imports
(0.1 s on ``check``, 2026-12-05), a cost no installed copy has.

neuralsolve's own breakdown (``profile`` in metrics.json) gives the time spent besides the
optimiser steps. Prints a table and, with ``--json FILE``, writes every figure.

On a shared 2-core machine the same steps take from 9 to 16 s from one run to the next
(2026-12-03), so ``--rounds N`` runs the three processes N times, alternated, and reports each
round's ratios and their median.

    python benchmarks/first_answer.py [--peer-python PATH] [--json FILE] [--repeat N] [--rounds N]
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from neuralsolve.bench.record import cpu_model, git_commit

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
PROBLEM = HERE / "first_answer" / "burgers_deepxde_settings.toml"
DATA = ROOT / "src" / "neuralsolve" / "bench" / "data" / "burgers_deepxde.npz"
NEURALSOLVE = pathlib.Path(sys.executable).with_name("neuralsolve")


def timed(cmd: list, env: dict | None = None, ok=(0,)) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of a whole process, and the process (which must exit with a status in ``ok``)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}")
    return wall, done


def deepxde(python: str) -> dict:
    wall, done = timed([python, str(HERE / "peers" / "deepxde_burgers.py"), "--adam-steps", "5900",
                        "--warmup", "100", "--data", str(DATA)])  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"tool": f"DeepXDE {result['deepxde_version']} (torch {result['torch_version']})", "wall_s": wall,
            "l2_relative_error": result["l2_relative_error"], "adam_steps_per_s": result["adam_steps_per_s"]}


def neuralsolve(cache: pathlib.Path, out: pathlib.Path, label: str) -> dict:
    env = {**os.environ, "NEURALSOLVE_CACHE_DIR": str(cache)}
    # these settings stop short of the reference's tolerance: the solve says "disagrees" (status 1)
    wall, _ = timed([str(NEURALSOLVE), "solve", str(PROBLEM), "--out", str(out), "--profile"], env, ok=(0, 1))
    metrics = json.loads((out / "metrics.json").read_text())
    profile = metrics["profile"]
    return {"tool": f"neuralsolve ({label})", "wall_s": wall, "l2_relative_error": metrics["l2_relative_error"]["u"],
            "reference": metrics.get("reference_method"), "besides_steps_s": profile["besides_steps_s"],
            "profile": profile}  # fmt: skip


def check_seconds(repeat: int) -> list[float]:
    heat = str(ROOT / "src/neuralsolve/examples/heat.toml")
    return [timed([str(NEURALSOLVE), "check", heat])[0] for _ in range(repeat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--repeat", type=int, default=5, help="runs of neuralsolve check")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the three whole processes, alternated")
    args = parser.parse_args()
    commit = git_commit()  # at the start: the code that ran
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True, capture_output=True)
    print(f"# time to the first answer; {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}); "
          f"whole processes; commit {commit}")  # fmt: skip
    print(f"{'round':>5} {'tool':<44} {'wall s':>7} {'vs DeepXDE':>10} {'besides steps s':>16} {'L2 error':>9}")
    rows = []
    for k in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            peer = deepxde(args.peer_python)
            round_rows = [peer, neuralsolve(tmp / "cache", tmp / "first", "first run, empty cache"),
                          neuralsolve(tmp / "cache", tmp / "again", "repeated run, warm cache")]  # fmt: skip
        for r in round_rows:
            r["round"], r["speedup_vs_deepxde"] = k + 1, peer["wall_s"] / r["wall_s"]
            besides = f"{r['besides_steps_s']:.2f}" if "besides_steps_s" in r else "-"
            print(f"{k + 1:>5} {r['tool']:<44} {r['wall_s']:>7.1f} {r['speedup_vs_deepxde']:>9.2f}x {besides:>16} "
                  f"{r['l2_relative_error']:>9.2e}", flush=True)  # fmt: skip
        rows += round_rows
    medians = _medians(rows)
    for tool, m in medians.items():
        print(f"median over {args.rounds} round(s), {tool}: {m['wall_s']:.1f} s, {m['speedup_vs_deepxde']:.2f}x"
              + (f", besides the steps {m['besides_steps_s']:.2f} s" if "besides_steps_s" in m else ""))
    checks = check_seconds(args.repeat)
    print(f"neuralsolve check src/neuralsolve/examples/heat.toml: median {statistics.median(checks):.2f} s "
          f"(runs: {', '.join(f'{c:.2f}' for c in checks)})")
    for r in rows[-2:]:
        print(f"\n{r['tool']} (round {r['round']}):")
        for name, s in r["profile"]["seconds"].items():
            print(f"  {name:<34} {s:6.2f} s")
    if args.json:
        record = {"machine": {"platform": platform.platform(), "cores": os.cpu_count(), "cpu": cpu_model()},
                  "commit": commit, "rows": rows, "medians": medians, "check_s": checks,
                  "problem": str(PROBLEM.relative_to(ROOT))}  # fmt: skip
        pathlib.Path(args.json).write_text(json.dumps(record, indent=1))


def _medians(rows: list) -> dict:
    """Per tool, the median over rounds of the wall time, the ratio and the time besides the steps."""
    out = {}
    for tool in dict.fromkeys(r["tool"] for r in rows):
        mine = [r for r in rows if r["tool"] == tool]
        out[tool] = {key: statistics.median(r[key] for r in mine)
                     for key in ("wall_s", "speedup_vs_deepxde", "besides_steps_s") if key in mine[0]}  # fmt: skip
    return out


if __name__ == "__main__":
    sys.exit(main())
