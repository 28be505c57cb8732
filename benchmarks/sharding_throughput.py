"""Steps per second with the collocation points on one device and split over two, in one run.

The host CPU is made into two XLA devices (``--xla_force_host_platform_device_count=2``, set here
before JAX starts), so both settings run in the same process on the same cores: the 2-D Helmholtz
example (src/neuralsolve/examples/helmholtz_2d.toml, with its network) on 4096 interior points,
float64, Adam then L-BFGS. Rates exclude compilation: they are measured between the first and the
last progress record of each phase. On a CPU the two "devices" share the same cores, so this
measures what the split costs or gains there (the figures in docs/problem-files.md, "Several
devices"); on GPUs each device brings its own compute.

    python benchmarks/sharding_throughput.py [--adam 300] [--lbfgs 100] [--repeat 1] [--json FILE]
"""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402

import jax  # noqa: E402

import neuralsolve as ns  # noqa: E402

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "src/neuralsolve/examples/helmholtz_2d.toml"


def rates(devices: int, adam: int, lbfgs: int, log_every: int) -> dict:
    """Adam and L-BFGS steps per second of one solve on ``devices`` devices."""
    records = []
    ns.solve(ns.load(EXAMPLE), points=ns.Points(interior=4096), phases=[ns.Adam(adam), ns.LBFGS(lbfgs)],
             precision="float64", devices=devices, callback=records.append, log_every=log_every)  # fmt: skip
    out = {"devices": devices}
    for phase in ("adam", "lbfgs"):
        mine = [r for r in records if r["phase"] == phase]
        first, last = mine[0], mine[-1]
        out[f"{phase}_steps_per_s"] = (last["step"] - first["step"]) / (last["elapsed"] - first["elapsed"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adam", type=int, default=300, help="Adam steps per solve")
    parser.add_argument("--lbfgs", type=int, default=100, help="L-BFGS steps per solve")
    parser.add_argument("--repeat", type=int, default=1, help="solves per setting, alternating")
    parser.add_argument("--json", help="append the results to this file as one JSON line")
    args = parser.parse_args()
    log_every = min(50, args.adam // 3, args.lbfgs // 2)
    results = [rates(d, args.adam, args.lbfgs, log_every) for _ in range(args.repeat) for d in (1, 2)]
    for r in results:
        print(f"devices {r['devices']}: Adam {r['adam_steps_per_s']:.1f} steps/s, L-BFGS {r['lbfgs_steps_per_s']:.1f} steps/s")
    if args.json:
        record = {"benchmark": "sharding_throughput", "machine": platform.processor() or platform.machine(),
                  "cpus": os.cpu_count(), "jax": jax.__version__, "results": results}  # fmt: skip
        with open(args.json, "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
