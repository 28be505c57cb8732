"""The issue-15 runs for a short GPU lease, in one call that ends inside ``--seconds``:

    python benchmarks/operators_gpu.py --seconds 520 --out DIR

1. generate both bundled data sets (Darcy and Burgers, 1200 samples each) side by side;
2. time a few epochs of each model (MgNO and FNO on Darcy, the FNO on Burgers), side by side;
3. from those timings, train MgNO and the FNO on Darcy for the same number of epochs (at most the
   bundled file's 300) and the Burgers FNO for as many epochs as fit (at most ``--burgers-max``),
   the three side by side, each with the bundled file's recipe.

Each run is one ``benchmarks/operators.py`` process (its JSON lines land in
results-operators.jsonl, copied to DIR with every log as each run ends). The three trainings
share the GPU, so their times per epoch are upper bounds for a GPU of their own. Set
``JAX_DEFAULT_MATMUL_PRECISION=highest`` for float32 products as on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results-operators.jsonl"
MARGIN = 1.15  # the planned epochs' time, and the 20 s after, kept inside the deadline by this much


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, required=True, help="everything ends within this many seconds")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="logs and results are copied here")
    parser.add_argument("--burgers-max", type=int, default=3000, help="most epochs for the Burgers FNO")
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    args.out.mkdir(parents=True, exist_ok=True)
    # the generators are classical (NumPy, SciPy): their worker processes need no GPU context each
    together(args.out, deadline, {"gen-darcy": ["generate", "darcy"], "gen-burgers": ["generate", "burgers"]},
             env={**os.environ, "JAX_PLATFORMS": "cpu"})
    # 20 epochs: two chunks of 10, the first holding the compilation, the second timed alone
    probes = {"probe-mgno": ["train", "darcy", "--model", "mgno", "--epochs", "20", "--quiet"],
              "probe-fno-darcy": ["train", "darcy", "--epochs", "20", "--quiet"],
              "probe-fno-burgers": ["train", "burgers", "--epochs", "20", "--quiet"]}  # fmt: skip
    timed = together(args.out, deadline, probes)
    left = deadline - time.monotonic()
    darcy = min(300, min(epochs_within(left, timed[k]) for k in ("probe-mgno", "probe-fno-darcy")))
    burgers = min(args.burgers_max, epochs_within(left, timed["probe-fno-burgers"]) // 100 * 100)
    print(f"planned: Darcy {darcy} epochs (MgNO and FNO), Burgers {burgers} epochs, {left:.0f} s left", flush=True)
    runs = {}
    if darcy >= 10:
        runs["mgno-darcy"] = ["train", "darcy", "--model", "mgno", "--epochs", str(darcy)]
        runs["fno-darcy"] = ["train", "darcy", "--epochs", str(darcy)]
    if burgers >= 100:
        runs["fno-burgers"] = ["train", "burgers", "--epochs", str(burgers)]
    together(args.out, deadline, runs)


def epochs_within(seconds: float, probe: dict | None) -> int:
    """How many epochs fit in ``seconds``, given a probe's record (its wall time less its epochs
    being what a run costs besides them: compilation, data, evaluation)."""
    if not probe or not probe.get("epoch_seconds"):
        print(f"no time per epoch from the probe: {probe and probe['case']}", flush=True)
        return 0
    fixed = probe["wall_seconds"] - probe["epochs"] * probe["epoch_seconds"]
    return max(0, int((seconds / MARGIN - fixed - 20) / probe["epoch_seconds"]))


def together(out: pathlib.Path, deadline: float, runs: dict, env: dict | None = None) -> dict:
    """Run the ``operators.py`` cases side by side, each stopped at the deadline; the last JSON
    record each wrote (None if it wrote none)."""
    before = _lines()
    procs = {}
    for name, case in runs.items():
        log = (out / f"{name}.log").open("w")
        procs[name] = subprocess.Popen([sys.executable, "-u", str(HERE / "operators.py"), *case], stdout=log,
                                       stderr=subprocess.STDOUT, env=env)  # fmt: skip
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(f"{name}: stopped at the deadline", flush=True)
        print(f"{name}: exit {proc.returncode} at {time.strftime('%H:%M:%S')}", flush=True)
        if RESULTS.exists():
            shutil.copyfile(RESULTS, out / RESULTS.name)
    return {name: _record(before, runs[name]) for name in runs}


def _lines() -> int:
    return len(RESULTS.read_text().splitlines()) if RESULTS.exists() else 0


def _record(before: int, case: list) -> dict | None:
    """The newest record of ``case`` written since ``before`` lines."""
    if not RESULTS.exists():
        return None
    tag = f"{case[0]}-{case[1]}" + (f"-{case[case.index('--model') + 1]}" if "--model" in case else
                                     "-fno" if case[0] == "train" else "")  # fmt: skip
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()[before:]]
    epochs = int(case[case.index("--epochs") + 1]) if "--epochs" in case else None
    found = [r for r in rows if r["case"] == tag and (epochs is None or r.get("epochs") == epochs)]
    return found[-1] if found else None


if __name__ == "__main__":
    main()
