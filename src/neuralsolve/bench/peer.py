"""Runs DeepXDE on the benchmark problems, in a subprocess with its own Python.

DeepXDE and PyTorch live in a separate environment (``pip install 'neuralsolve[bench]'`` there) so
that neuralsolve's own never carries them. The peer script (``peers/deepxde_peer.py``) gets the
reference points and values as an ``.npz`` (for an inverse benchmark, with the observations it
trains on) and returns its figures as JSON (with its estimates of the unknown constants); it never
imports neuralsolve.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile

import numpy as np

from .._errors import ProblemError
from .problems import Benchmark

PEERS = ("deepxde",)
PEER_TIMES = ("matched", "full")  # or a number of seconds
ENV_VAR = "NEURALSOLVE_PEER_PYTHON"
SCRIPT = pathlib.Path(__file__).with_name("peers") / "deepxde_peer.py"
# a checkout's .venv-bench (BENCHMARKS.md, "Setting up the DeepXDE peer"): src/neuralsolve/bench -> repo root
DEFAULT_PYTHON = pathlib.Path(__file__).resolve().parents[3] / ".venv-bench" / "bin" / "python"


def parse_peer_time(value: str | None) -> str | float:
    """``--peer-time``: "matched" (the default), "full", or a positive number of seconds.

    Raises ValueError for anything else, so that the command line can say what was wrong.
    """
    return "matched" if value is None else keyword_or_seconds(value, PEER_TIMES, "the peer's time cap")


def keyword_or_seconds(value: str, keywords: tuple[str, ...], what: str) -> str | float:
    """A time option's value: one of ``keywords`` (any case) or a positive, finite number of
    seconds; ValueError naming ``what`` otherwise."""
    text = value.strip().lower()
    if text in keywords:
        return text
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not {', '.join(map(repr, keywords))} or a number of seconds") from None
    if not 0 < seconds < float("inf"):  # also rejects nan
        raise ValueError(f"{value!r}: {what} must be a positive, finite number of seconds")
    return seconds


def time_budget(mode: str | float, neuralsolve_row: dict) -> float | None:
    """The peer's training time budget in seconds (None: no cap) for ``mode`` on one problem.

    "matched" takes neuralsolve's wall time on the same problem, measured in the same invocation;
    if neuralsolve has no wall time for it (it failed) there is nothing to match and the peer is
    not run under a cap.
    """
    if mode == "full":
        return None
    if mode == "matched":
        return neuralsolve_row.get("wall_s")
    return float(mode)


def peer_python(given: str | None) -> str:
    """The peer's interpreter: ``given``, else $NEURALSOLVE_PEER_PYTHON, else the checkout's
    ``.venv-bench``; ProblemError when it does not exist."""
    python = given or os.environ.get(ENV_VAR) or str(DEFAULT_PYTHON)
    if not pathlib.Path(python).is_file():
        raise ProblemError(f"no peer Python at {python}: create a separate environment with "
                           f"'pip install \"neuralsolve[bench]\"' (DeepXDE, torchdiffeq and PyTorch, CPU) and pass its "
                           f"interpreter with --peer-python or ${ENV_VAR}")  # fmt: skip
    return python


def run_deepxde(bench: Benchmark, python: str, steps: int | None, seed: int = 0, mode: str | float = "full",
                budget_s: float | None = None) -> dict:  # fmt: skip
    """Run DeepXDE's example for ``bench`` and return its row (status "failed" if the peer fails).

    ``budget_s`` caps DeepXDE's training time (``mode`` says where the cap came from, for the row).
    """
    points, values = bench.reference()
    with tempfile.TemporaryDirectory(prefix="neuralsolve-peer-") as tmp:
        ref, out = pathlib.Path(tmp) / "reference.npz", pathlib.Path(tmp) / "result.json"
        np.savez(ref, points=points, values=values, **(bench.peer_data() if bench.peer_data else {}))
        cmd = [python, str(SCRIPT), bench.name, "--reference", str(ref), "--out", str(out), "--seed", str(seed)]
        if steps is not None:
            cmd += ["--steps", str(steps)]
        if budget_s is not None:
            cmd += ["--time-budget", repr(float(budget_s))]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # a failure becomes a row
        if done.returncode != 0 or not out.exists():
            return _failed(bench, done, mode, budget_s)
        result = json.loads(out.read_text())
    steps_taken = {"adam": result["adam_steps"]}
    if result["lbfgs_steps"] is not None:
        steps_taken["lbfgs"] = result["lbfgs_steps"]
    row = {"problem": bench.name, "tool": result["tool"], "l2_relative_error": result["l2_relative_error"],
           "wall_s": result["wall_s"], "adam_steps_per_s": result["adam_steps_per_s"], "steps": steps_taken,
           "status": "ok", "note": "; ".join(result["settings"]["notes"]), "precision": result["precision"],
           "peer_time": peer_time(mode, budget_s, result), "peer": result}  # fmt: skip
    if bench.truth is not None:  # judged by the same function as neuralsolve's estimates
        row.update(unknowns=result["unknowns"], unknown_errors=bench.unknown_errors(result["unknowns"]))
    return row


def mode_name(mode: str | float) -> str:
    """The mode as recorded: "matched", "full", or "cap" for a fixed number of seconds."""
    return mode if isinstance(mode, str) else "cap"


def peer_time(mode: str | float, budget_s: float | None, result: dict) -> dict:
    """How the peer's time was set and spent: the mode, the budget, its training time, the steps
    planned against those run, and whether the budget cut training short."""
    planned = {"adam": result["adam_planned"]}
    if result["lbfgs_steps"] is not None:
        planned["lbfgs"] = result["lbfgs_maxiter"]  # an upper bound: L-BFGS also stops when it converges
    return {"mode": mode_name(mode), "budget_s": budget_s, "train_s": result["train_s"],
            "planned": planned, "lbfgs_skipped": result["lbfgs_skipped"], "cut_short": result["cut_short"]}  # fmt: skip


def _failed(bench: Benchmark, done: subprocess.CompletedProcess, mode: str | float, budget_s: float | None) -> dict:
    lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit status {done.returncode}"
    return {"problem": bench.name, "tool": "DeepXDE", "l2_relative_error": None, "wall_s": None,
            "adam_steps_per_s": None, "steps": {}, "status": "failed", "note": reason,
            "peer_time": {"mode": mode_name(mode), "budget_s": budget_s}}  # fmt: skip
