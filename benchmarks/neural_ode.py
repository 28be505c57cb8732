"""Neural-ODE benchmarks (issue 14), each peer run in the same invocation on the same machine.

    python benchmarks/neural_ode.py spiral [--peer torchdiffeq]   # time to torchdiffeq's error
    python benchmarks/neural_ode.py diffrax [--seeds 3] [--inputs scaled,raw] [--recipes example,lbfgs]
                                                                  # diffrax's example, side by side
    python benchmarks/neural_ode.py regularisation                # NFE with and without regulariser
    python benchmarks/neural_ode.py short-spiral --regularisation 0.1 [--regularisation-final 0.01]
                                      [--width 128 --depth 2] [--polish 1000]  # Pal et al.'s spiral; the true field's NFE
    python benchmarks/neural_ode.py robertson [--seeds 3]         # stiff hybrid: one rate constant
    python benchmarks/neural_ode.py ude [--seeds 3] [--noise 0.05]  # Lotka-Volterra, hidden terms

Every result is one JSON line appended to benchmarks/results-neural-ode.jsonl (with the machine,
date and commit). The torchdiffeq peer runs with the benchmark environment's Python
(``.venv-bench``, ``NEURALSOLVE_PEER_PYTHON`` overrides); the diffrax peer with this one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.integrate import solve_ivp

import neuralsolve as ns
from neuralsolve.bench import spiral as bench_spiral
from results import append_result  # benchmarks/results.py, beside this script

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = ROOT / "src" / "neuralsolve" / "bench" / "peers"
RESULTS = HERE / "results-neural-ode.jsonl"
BENCH_PYTHON = os.environ.get("NEURALSOLVE_PEER_PYTHON", str(ROOT / ".venv-bench" / "bin" / "python"))


def spiral(args) -> dict:
    """torchdiffeq's ode_demo recipe on both sides (``neuralsolve bench spiral --peer torchdiffeq``
    runs the same functions): our wall time to the test error torchdiffeq has after its 2000
    iterations."""
    ours = bench_spiral.run_neuralsolve()
    result = {"ours": {k: v for k, v in ours.items() if k != "test_l1"}}
    if args.peer == "torchdiffeq":
        theirs = bench_spiral.run_torchdiffeq(BENCH_PYTHON, threads=args.threads)
        result["torchdiffeq"] = {k: v for k, v in theirs.items() if k != "test_l1"}
        result["torchdiffeq"]["median_last5_test_l1"] = float(np.median([e for _, _, e in theirs["test_l1"][-5:]]))
        result["ours_to_target"] = bench_spiral.time_to_peer(ours, theirs)
    result["ours"]["median_last5_test_l1"] = float(np.median([e for _, _, e in ours["test_l1"][-5:]]))
    return append_result(RESULTS, "spiral", result)


def _spiral_ours(regularise: str = "none", weight: float = 0.01, seed: int = 0, final: float | None = None) -> dict:
    problem = bench_spiral.problem()
    ode = dataclasses.replace(problem.solver["ode"], regularise=regularise, regularisation=weight,
                              regularisation_final=final)  # fmt: skip
    began = time.perf_counter()
    sol = ns.solve(problem, ode=ode, log_every=20, seed=seed)
    wall = time.perf_counter() - began
    if sol.status != "ok":
        raise RuntimeError(f"the spiral solve (regularise {regularise}, weight {weight}) ended {sol.status}: {sol.message}")
    records = [{"step": r["step"], "elapsed": r["elapsed"], "terms": r["terms"]} for r in sol.history]
    compile_s = sol.history[0]["elapsed"] if sol.history else None
    return {"status": sol.status, "regularise": regularise, "regularisation": weight, "final": final, "seed": seed,
            "final_test_l1": records[-1]["terms"][0], "median_last5_test_l1": float(np.median([r["terms"][0] for r in records[-5:]])),
            "train_seconds": records[-1]["elapsed"], "first_record_seconds": compile_s, "wall_seconds": wall,
            "nfe_prediction": sol.metrics["nfe"], "nfe_training": bench_spiral.window_nfe(sol), "records": records}  # fmt: skip


def regularisation(args) -> dict:
    """NFE of the trained spiral at prediction with and without the error-estimate regulariser,
    and the test error (median of the last five test points) of each, over seeds."""
    rows = []
    for seed in range(args.seeds):
        plain = _spiral_ours("none", 0.0, seed)
        reg = _spiral_ours(args.regularise if args.regularise != "none" else "error", args.regularisation, seed,
                           args.regularisation_final)  # fmt: skip
        for r in (plain, reg):
            r.pop("records")
        rows.append({"seed": seed, "plain": plain, "regularised": reg,
                     "nfe_ratio": plain["nfe_prediction"]["forward"] / reg["nfe_prediction"]["forward"],
                     "error_change": reg["median_last5_test_l1"] / plain["median_last5_test_l1"] - 1})  # fmt: skip
    return append_result(RESULTS, "regularisation", {"runs": rows, "nfe_ratio_median": float(np.median([r["nfe_ratio"] for r in rows])),
                                      "error_change_median": float(np.median([r["error_change"] for r in rows]))})  # fmt: skip


def true_field_nfe(t1: float, rtol: float, atol: float) -> int:
    """Evaluations SciPy's RK45 (the Dormand–Prince pair of dopri5) spends on the *true* spiral
    field from y0 = [2, 0] over [0, t1]: about what an accurate learned field must cost too."""
    a = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    return int(solve_ivp(lambda _, y: (y**3) @ a, (0, t1), [2.0, 0.0], method="RK45", rtol=rtol, atol=atol).nfev)


def short_spiral(args) -> dict:
    """The spiral as in Pal et al. 2021 (the published 1083 -> 676 NFE): y0 = [2, 0], 30 samples on
    [0, 1.5], tolerances 1.4e-8; our model Linear(2, 50)-tanh-Linear(50, 2) on y^3 (raw inputs;
    ``--width``/``--depth`` change it), Tsit5, whole trajectory, Adam 0.01 for ``--steps`` (1000),
    then ``--polish`` Adam steps at 1e-3 if given (an annealed weight stays at its final value
    there), float64; plain and with the error regulariser (``--regularisation W
    [--regularisation-final W1]``; ``--regularise local`` for another). NFE at prediction against
    the true field's, and the relative error on 301 times of [0, 1.5] (271 of them not trained on)."""
    a = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    exact = lambda ts: solve_ivp(lambda _, y: (y**3) @ a, (0, 1.5), [2.0, 0.0], t_eval=ts, method="DOP853",
                                 rtol=1e-12, atol=1e-12).y.T  # fmt: skip
    t, dense = np.linspace(0, 1.5, 30), np.linspace(0, 1.5, 301)
    data, truth = exact(t), exact(dense)
    hidden = {k: ns.Hidden(["y1**3", "y2**3"], width=args.width, depth=args.depth, network="f", scale_inputs=False)
              for k in ("F1", "F2")}  # fmt: skip
    rows = []
    for seed in range(args.seeds):
        regulariser = args.regularise if args.regularise != "none" else "error"
        for reg, weight, final in (("none", 0.01, None), (regulariser, args.regularisation, args.regularisation_final)):
            problem = ns.Problem(ns.Interval(0.0, 1.5, "t"), ["y1", "y2"], ["diff(y1, t) = F1", "diff(y2, t) = F2"],
                                 hidden=hidden, data=ns.Data({"t": t, "y1": data[:, 0], "y2": data[:, 1]}),
                                 scale={"y1": 1, "y2": 1})  # fmt: skip
            ode = ns.ODE(integrator="tsit5", rtol=1.4e-8, atol=1.4e-8, initial="data", regularise=reg,
                         regularisation=weight, regularisation_final=final)  # fmt: skip
            phases = [ns.Adam(args.steps, learning_rate=0.01)] + [ns.Adam(args.polish, learning_rate=1e-3)] * bool(args.polish)
            sol = ns.solve(problem, method="neural-ode", ode=ode, phases=phases, precision="float64", seed=seed,
                           log_every=args.steps)  # fmt: skip
            pred = sol.predict(np.array([2.0, 0.0]), dense)
            error = float(np.sqrt(np.mean((pred - truth) ** 2) / np.mean(truth**2)))
            rows.append({"seed": seed, "width": args.width, "depth": args.depth, "steps": args.steps, "polish": args.polish,
                         "regularise": reg, "regularisation": weight, "final": final, "status": sol.status, "nfe_prediction": sol.metrics["nfe"],
                         "relative_error": error})  # fmt: skip
            print(f"seed {seed} {reg} {weight} -> {final}: NFE {sol.metrics['nfe']['forward']}, error {error:.3e}", flush=True)
    return append_result(RESULTS, "short-spiral", {"runs": rows, "true_field_nfe": true_field_nfe(1.5, 1.4e-8, 1.4e-8),
                                                  "long_spiral_true_field_nfe": true_field_nfe(25.0, 1e-7, 1e-9)})  # fmt: skip


def diffrax_example(args) -> dict:
    """diffrax's neural-ODE example script and the same model as a neuralsolve problem, on the
    example's own data: final MSE on the whole data set and training wall time. ``--seeds N`` runs
    the example's seeds 5678 .. 5678 + N - 1 (each seed draws the data, the example's network and
    ours); ``--inputs scaled,raw`` trains ours with its hidden network's inputs mapped onto [-1, 1]
    (the default) and raw, as the example's MLP sees them; ``--recipes`` trains ours with other
    optimiser recipes than the example's (``DIFFRAX_RECIPES``). Each row also holds the solver
    steps the *true* field takes from the first series' start, against the trained model's."""
    rows = []
    for seed in range(5678, 5678 + args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            out, data = pathlib.Path(tmp) / "peer.json", pathlib.Path(tmp) / "data.npz"
            subprocess.run([sys.executable, str(PEERS / "diffrax_neural_ode.py"), "--out", str(out), "--save-data",
                            str(data), "--steps-scale", str(args.steps_scale), "--seed", str(seed)], check=True)  # fmt: skip
            peer, arrays = json.loads(out.read_text()), dict(np.load(data))
        row = {"seed": seed, "diffrax": peer, "true_field_steps": _oscillator_steps(arrays["ts"], arrays["ys"][0, 0])}
        for inputs in args.inputs.split(","):
            for recipe in args.recipes.split(","):
                key = inputs if recipe == "example" else f"{inputs}, {recipe}"
                row[key] = _diffrax_ours(arrays["ts"], arrays["ys"], seed, inputs == "scaled", args.steps_scale, recipe)
                row[key]["time_ratio"] = row[key]["train_seconds"] / peer["train_seconds"]
                print(f"seed {seed}: diffrax MSE {peer['final_mse']:.4g} in {peer['train_seconds']:.1f} s; ours ({key}) "
                      f"{row[key]['final_mse']:.4g} in {row[key]['train_seconds']:.1f} s", flush=True)  # fmt: skip
        rows.append(row)
    return append_result(RESULTS, "diffrax-example", {"runs": rows})


# Optimiser recipes for our side of the diffrax example (each run per stage of the series' growth):
# the example's own, more steps, a decaying rate, and L-BFGS on the whole data to finish.
DIFFRAX_RECIPES = {
    "example": lambda n: [ns.AdaBelief(n, learning_rate=3e-3)],
    "longer": lambda n: [ns.AdaBelief(int(1.4 * n), learning_rate=3e-3)],
    "cosine": lambda n: [ns.AdaBelief(n, learning_rate=3e-3, schedule="cosine", final_learning_rate=1e-4)],
    "lbfgs": lambda n: [ns.AdaBelief(int(0.8 * n), learning_rate=3e-3), ns.LBFGS(n // 5)],
}


def _oscillator_steps(ts, y0) -> int:
    """Tsit5 steps (accepted and rejected, rtol 1e-3, atol 1e-6, as in training) of the example's
    *true* vector field from ``y0``: what an accurate learned field must spend too."""
    import diffrax
    import jax.numpy as jnp

    from neuralsolve.bench.peers.diffrax_neural_ode import oscillator  # the data's own field

    sol = diffrax.diffeqsolve(diffrax.ODETerm(oscillator), diffrax.Tsit5(), float(ts[0]), float(ts[-1]), float(ts[1] - ts[0]),
                              jnp.asarray(y0), saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
                              stepsize_controller=diffrax.PIDController(rtol=1e-3, atol=1e-6))  # fmt: skip
    return int(sol.stats["num_steps"])


def _diffrax_ours(ts, ys, seed: int, scale_inputs: bool, steps_scale: float, recipe: str = "example") -> dict:
    k, n = ys.shape[:2]
    columns = {"t": np.tile(ts, k), "y1": ys[..., 0].ravel(), "y2": ys[..., 1].ravel(), "trajectory": np.repeat(np.arange(k), n)}
    hidden = {f: ns.Hidden(["y1", "y2"], width=64, depth=2, activation="softplus", network="f", scale_inputs=scale_inputs)
              for f in ("F1", "F2")}  # fmt: skip
    problem = ns.Problem(ns.Interval(float(ts[0]), float(ts[-1]), "t"), ["y1", "y2"],
                         ["diff(y1, t) = s*tanh(F1)", "diff(y2, t) = s*tanh(F2)"], unknowns={"s": ns.Unknown(1.0)},
                         hidden=hidden, data=ns.Data(columns), scale={"y1": 1, "y2": 1})  # fmt: skip
    steps = int(round(500 * steps_scale))
    ode = ns.ODE(rtol=1e-3, atol=1e-6, batch=32, grow=0.1, initial="data")
    began = time.perf_counter()
    sol = ns.solve(problem, method="neural-ode", ode=ode, phases=DIFFRAX_RECIPES[recipe](steps), precision="float32",
                   seed=seed, log_every=steps)  # fmt: skip
    wall = time.perf_counter() - began
    train = sum(b - a for part, a, b in sol.spans if part == "training")
    mse = float(np.mean([v**2 for v in sol.metrics["data_misfit_rms"].values()]))
    return {"recipe": recipe, "status": sol.status, "final_mse": mse, "train_seconds": train, "wall_seconds": wall,
            "nfe_prediction": sol.metrics["nfe"], "s": sol.unknowns["s"]}  # fmt: skip


def robertson(args) -> dict:
    """Robertson's kinetics with k1 unknown, from 30 log-spaced samples with 1 % noise, an
    implicit solver (Kvaerno5): the rate's error and the wall time, over seeds."""
    from scipy.integrate import solve_ivp

    k1, k2, k3 = 0.04, 3e7, 1e4
    rhs = lambda t, y: [-k1 * y[0] + k3 * y[1] * y[2], k1 * y[0] - k2 * y[1] ** 2 - k3 * y[1] * y[2], k2 * y[1] ** 2]
    t = np.logspace(-4, 5, 30)
    exact = solve_ivp(rhs, (0, 1e5), [1, 0, 0], method="Radau", t_eval=t, rtol=1e-12, atol=1e-16).y.T
    rows = []
    for seed in range(args.seeds):
        noisy = exact * (1 + 0.01 * np.random.default_rng(seed).normal(size=exact.shape))
        problem = ns.Problem(ns.Interval(0, 1e5, "t"), ["a", "b", "c"],
                             ["diff(a, t) = -k1*a + 1e4*b*c", "diff(b, t) = k1*a - 3e7*b**2 - 1e4*b*c", "diff(c, t) = 3e7*b**2"],
                             [ns.Initial("a", 1.0), ns.Initial("b", 0.0), ns.Initial("c", 0.0)],
                             unknowns={"k1": ns.Unknown(0.01, positive=True)}, exact={"k1": k1},
                             data=ns.Data({"t": t, "a": noisy[:, 0], "b": noisy[:, 1], "c": noisy[:, 2]}))  # fmt: skip
        began = time.perf_counter()
        sol = ns.solve(problem, method="neural-ode", ode=ns.ODE(integrator="kvaerno5", rtol=1e-6, atol=1e-10),
                       phases=[ns.Adam(200, learning_rate=0.05), ns.LBFGS(200, plateau=50)], seed=seed)  # fmt: skip
        rows.append({"seed": seed, "status": sol.status, "k1": sol.unknowns["k1"], "stderr": sol.unknowns_stderr["k1"],
                     "relative_error": sol.metrics["unknown_errors"]["k1"], "wall_seconds": time.perf_counter() - began,
                     "nfe": sol.metrics["nfe"]})  # fmt: skip
    return append_result(RESULTS, "robertson", {"runs": rows})


def ude(args) -> dict:
    """Lotka-Volterra with the interaction terms hidden, on the very problems of the inverse
    benchmark (``benchmarks/inverse.py lv``: the same data, networks, noise given, degree-2
    library), solved as a neural ODE; success as there: exactly the term x y in both formulas,
    each coefficient within 2 %."""
    from scipy.integrate import solve_ivp

    sys.path.insert(0, str(HERE))
    from inverse import _recovered  # the inverse benchmark's own criterion

    t = np.linspace(0, 3, args.points)
    sol = solve_ivp(lambda _, z: [1.3 * z[0] - 0.9 * z[0] * z[1], -1.8 * z[1] + 0.8 * z[0] * z[1]], (0, 3),
                    [0.44249296, 4.6280594], t_eval=t, rtol=1e-12, atol=1e-12)  # fmt: skip
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rng = np.random.default_rng(seed)
        cols = {"t": t, **{f: v + args.noise * np.mean(v) * rng.normal(size=v.size) for f, v in zip("xy", sol.y)}}
        sigma = {f: args.noise * np.mean(v) for f, v in zip("xy", sol.y)} if args.noise else None
        problem = ns.Problem(ns.Interval(0, 3, coord="t"), ["x", "y"], ["diff(x, t) = 1.3*x + F", "diff(y, t) = -1.8*y + G"],
                             hidden={"F": ns.Hidden(["x", "y"]), "G": ns.Hidden(["x", "y"])},
                             discover=ns.Discover(degree=args.degree), data=ns.Data(cols, noise=sigma))  # fmt: skip
        began = time.perf_counter()
        out = ns.solve(problem, method="neural-ode", seed=seed)
        rows.append({"seed": seed, "status": out.status, "discovered": out.discovered,
                     "regression": out.metrics.get("discovered_regression"), "recovered": _recovered(out.discovered),
                     "rounds": len(out.metrics.get("discovery_candidates", [])),
                     "wall_seconds": time.perf_counter() - began})  # fmt: skip
        print(f"seed {seed}: {out.discovered} in {rows[-1]['wall_seconds']:.0f} s", flush=True)
    return append_result(RESULTS, "ude-lotka-volterra", {"points": args.points, "noise": args.noise, "degree": args.degree, "runs": rows,
                                          "success": sum(r["recovered"]["success_2pct"] for r in rows)})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("spiral", "diffrax", "regularisation", "short-spiral", "robertson", "ude"))
    parser.add_argument("--peer", choices=("torchdiffeq", "none"), default="torchdiffeq")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument("--regularise", default="none")
    parser.add_argument("--regularisation", type=float, default=0.01)
    parser.add_argument("--regularisation-final", type=float, default=None, help="anneal the weight down to this")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="ude: the seeds are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--degree", type=int, default=2)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--width", type=int, default=50, help="short-spiral: hidden network width")
    parser.add_argument("--depth", type=int, default=1, help="short-spiral: hidden layers")
    parser.add_argument("--steps", type=int, default=1000, help="short-spiral: Adam steps at learning rate 0.01")
    parser.add_argument("--polish", type=int, default=0, help="short-spiral: Adam steps at 1e-3 after them")
    parser.add_argument("--steps-scale", type=float, default=1.0)
    parser.add_argument("--inputs", default="scaled,raw", help="diffrax: how our hidden network sees its inputs")
    parser.add_argument("--recipes", default="example", help=f"diffrax: our recipes ({', '.join(DIFFRAX_RECIPES)})")
    args = parser.parse_args()
    {"spiral": spiral, "diffrax": diffrax_example, "regularisation": regularisation, "short-spiral": short_spiral,
     "robertson": robertson, "ude": ude}[args.case](args)  # fmt: skip


if __name__ == "__main__":
    main()
