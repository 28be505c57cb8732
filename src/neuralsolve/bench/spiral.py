"""The neural-ODE benchmark of ``neuralsolve bench``: torchdiffeq's spiral (its ``examples/ode_demo.py``),
side by side with torchdiffeq itself (``--peer torchdiffeq``).

Both tools run the demo's recipe on the same data (``bench/data/spiral.csv``: dy/dt = (y³) A,
y(0) = (2, 0), 1000 samples on [0, 25], solved by DOP853 at 1e-12): an MLP 2-50-2 on y³, RMSprop
1e-3, 2000 iterations of 20 windows of 10 samples started from the data, L1 loss, dopri5 at rtol
1e-7 / atol 1e-9, float32 (neuralsolve's side is the problem file ``bench/data/spiral.toml``).
Every 20 iterations each tool solves the whole trajectory from its start and records the mean
absolute error (the demo's test loss; torchdiffeq keeps these solves off its clock, neuralsolve
counts them and its compilation on its own).

A row's ``l2_relative_error`` is the relative L2 error of the trained model's trajectory from the
true y(0) at the 1000 sample times, computed here for both tools. neuralsolve's row also says when
(wall time, iteration) it first reached the test error torchdiffeq ends with: the issue's measure,
time to torchdiffeq's error after its 2000 iterations.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import tempfile
import time
from importlib import resources

import numpy as np

NAME = "spiral"
PEER = "torchdiffeq"
SCRIPT = pathlib.Path(__file__).with_name("peers") / "torchdiffeq_spiral.py"
TEST_EVERY = 20  # iterations between test solves, on both sides (the demo's --test_freq)
Y0 = (2.0, 0.0)
# the data (DOP853 at rtol = atol = 1e-12) are 1.1e-11 from a solve at 3e-14 (relative L2, both
# states, measured by tests/test_reference_accuracy.py); 1e-10 bounds it, far below float32's errors
REFERENCE_ERROR = 1e-10
SOURCE = "torchdiffeq examples/ode_demo.py; data by SciPy DOP853 at 1e-12 (bench/data/spiral.csv)"


def data() -> tuple[np.ndarray, np.ndarray]:
    """The sample times (1000,) and states (1000, 2) of the bundled data set."""
    with resources.as_file(_bundled("spiral.csv")) as path:
        rows = np.loadtxt(path, delimiter=",", skiprows=1)
    return rows[:, 0], rows[:, 1:]


def reference() -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's reference: the sample times as points (1000, 1) and the states (1000, 2)."""
    t, y = data()
    return t[:, None], y


def problem():
    """The spiral problem file (``bench/data/spiral.toml``) as a Problem, its data read."""
    from ..spec.load import load

    with resources.as_file(_bundled("spiral.toml")) as path, resources.as_file(_bundled("spiral.csv")):
        return load(path)


def _bundled(name: str):
    return resources.files(__package__).joinpath("data", name)


def run_neuralsolve(steps: int | None = None, seed: int = 0) -> dict:
    """neuralsolve on the spiral (``steps`` caps the 2000 iterations): the row, with the test
    errors it recorded (``test_l1``: iteration, seconds, error)."""
    from ..dispatch import solve

    spiral = problem()
    phases = list(spiral.solver["phases"])
    if steps is not None:
        phases = [dataclasses.replace(p, steps=min(p.steps, steps)) for p in phases]
    start = time.perf_counter()
    sol = solve(spiral, phases=phases, seed=seed, log_every=TEST_EVERY)
    wall = time.perf_counter() - start
    t, y = data()
    predicted = sol.predict(np.array(Y0), t) if sol.status == "ok" else None
    history = [(r["step"], r["elapsed"], float(r["terms"][0])) for r in sol.history]
    nfe = sol.metrics.get("nfe") or {}
    return {"problem": NAME, "tool": "neuralsolve", "l2_relative_error": _relative(predicted, y),
            "reference_error_estimate": REFERENCE_ERROR, "wall_s": wall,
            "train_s": history[-1][1] if history else 0.0, "adam_steps_per_s": None,
            "steps": {p["phase"]: p["steps"] for p in sol.phases}, "status": sol.status, "note": sol.message,
            "precision": sol.precision, "test_l1": history, "nfe_prediction": nfe,
            "nfe_per_window_solve": window_nfe(sol) if sol.status == "ok" else None}  # fmt: skip


def window_nfe(sol, draws: int = 5) -> float:
    """Vector-field evaluations per window solve in training, forward: the mean over ``draws``
    batches drawn as in training (each window of a batch is its own solve, vmapped)."""
    import jax
    import jax.numpy as jnp

    m = sol.ode_model
    with jax.enable_x64(sol.precision == "float64"):
        arrays = m.data(m.train, None, sol.settings["seed"])
        terms = jax.jit(m.terms)  # one compilation for every draw (op by op, each draw took a second)
        return float(np.mean([terms(sol.params, arrays, jnp.asarray(k))[2] for k in range(draws)]))


def run_torchdiffeq(python: str, steps: int | None = None, seed: int = 0, threads: int | None = None) -> dict:
    """torchdiffeq's demo on the same data, in the peer's Python: its row (status "failed" with
    the peer's last line of errors if it fails)."""
    iterations = 2000 if steps is None else min(steps, 2000)
    threads = threads or os.cpu_count() or 1
    t, y = data()
    with tempfile.TemporaryDirectory(prefix="neuralsolve-peer-") as tmp, \
            resources.as_file(_bundled("spiral.csv")) as csv:  # fmt: skip
        out = pathlib.Path(tmp) / "result.json"
        cmd = [python, str(SCRIPT), "--data", str(csv), "--out", str(out), "--iterations", str(iterations),
               "--test-every", str(TEST_EVERY), "--seed", str(seed), "--threads", str(threads)]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0 or not out.exists():
            lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
            return {"problem": NAME, "tool": PEER, "l2_relative_error": None, "reference_error_estimate": REFERENCE_ERROR,
                    "wall_s": None, "adam_steps_per_s": None, "steps": {}, "status": "failed",
                    "note": lines[-1] if lines else f"exit status {done.returncode}"}  # fmt: skip
        result = json.loads(out.read_text())
    history = list(zip(result["iterations"], result["train_seconds"], result["test_l1"]))
    return {"problem": NAME, "tool": f"{PEER} {result['version']} (torch {result['torch']})",
            "l2_relative_error": _relative(np.asarray(result["trajectory"]), y),
            "reference_error_estimate": REFERENCE_ERROR, "wall_s": wall, "train_s": result["total_train_seconds"],
            "adam_steps_per_s": None, "steps": {"rmsprop": iterations}, "status": "ok", "note": "",
            "precision": "float32", "test_l1": history,
            "nfe_per_iteration": result["nfe_forward_per_iteration"], "threads": result["threads"]}  # fmt: skip


def _relative(predicted: np.ndarray | None, truth: np.ndarray) -> float | None:
    if predicted is None or not np.all(np.isfinite(predicted)):
        return None
    return float(np.linalg.norm(predicted - truth) / np.linalg.norm(truth))


def time_to_peer(ours: dict, theirs: dict) -> dict | None:
    """When neuralsolve first reached the test error torchdiffeq ends with: ``target`` (that
    error), ``step``, ``seconds`` (neuralsolve's training clock, compilation included) and
    ``speedup`` (torchdiffeq's training time over those seconds); None if either failed, and
    ``step`` None if neuralsolve never reached it."""
    if ours["status"] != "ok" or theirs["status"] != "ok" or not theirs["test_l1"]:
        return None
    target = theirs["test_l1"][-1][2]
    reached = next(((step, seconds) for step, seconds, error in ours["test_l1"] if error <= target), None)
    if reached is None:
        return {"target": target, "step": None, "seconds": None, "speedup": None}
    seconds = reached[1]
    return {"target": target, "step": reached[0], "seconds": seconds,
            "speedup": theirs["train_s"] / seconds if seconds > 0 else None}  # fmt: skip


def summary(row: dict, peer: dict) -> str:
    """One line for the terminal: the time to the peer's error and the speed-up."""
    reached = row.get("to_peer_error")
    if reached is None:
        return f"{NAME}: no comparison ({peer['tool']} {peer['status']}, neuralsolve {row['status']})"
    if reached["step"] is None:
        return f"{NAME}: neuralsolve did not reach {peer['tool'].split()[0]}'s final test L1 {reached['target']:.3g}"
    return (f"{NAME}: {peer['tool'].split()[0]}'s final test L1 {reached['target']:.3g} after {peer['train_s']:.1f} s; "
            f"neuralsolve reached it at iteration {reached['step']} after {reached['seconds']:.1f} s: "
            f"{reached['speedup']:.1f}x faster. NFE per iteration: {peer['nfe_per_iteration']:.1f} (one batched solve "
            f"of the windows, forward), neuralsolve {row['nfe_per_window_solve']:.1f} per window solve")  # fmt: skip


def run(python: str | None, steps: int | None, echo) -> list[dict]:
    """The spiral's rows: neuralsolve's, then (with ``python``) torchdiffeq's, neuralsolve's
    carrying ``to_peer_error``."""
    echo(f"{NAME}: neuralsolve ...")
    rows = [run_neuralsolve(steps)]
    if python is not None:
        echo(f"{NAME}: {PEER} ...")
        rows.append(run_torchdiffeq(python, steps))
        rows[0]["to_peer_error"] = time_to_peer(rows[0], rows[1])
        echo(summary(rows[0], rows[1]))
    return rows
