"""The neural-ODE benchmark of ``neuralsolve bench``: torchdiffeq's spiral, with torchdiffeq as its peer."""

import json
import pathlib
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from neuralsolve.bench import peer as peers
from neuralsolve.bench import runner, spiral
from neuralsolve.cli.main import main

BENCH_PYTHON = pathlib.Path(__file__).parents[1] / ".venv-bench" / "bin" / "python"


def _has_torchdiffeq() -> bool:
    if not BENCH_PYTHON.is_file():
        return False
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torchdiffeq') is None)"
    return subprocess.run([str(BENCH_PYTHON), "-c", probe], check=False).returncode == 0


def test_spiral_is_registered_with_its_peer_and_runs_only_when_named():
    (bench,) = runner.select(["spiral"])
    assert bench.peer == "torchdiffeq" and bench.reference_error() == spiral.REFERENCE_ERROR
    assert "spiral" not in [b.name for b in runner.select([])]
    points, values = bench.reference()
    assert points.shape == (1000, 1) and values.shape == (1000, 2)
    np.testing.assert_allclose(values[0], spiral.Y0)
    problem = bench.build()  # the bundled problem file, its data beside it
    assert problem.solver["method"] == "neural-ode" and problem.solver["phases"][0].steps == 2000


@pytest.mark.parametrize(("args", "words"), [
    (["spiral", "--peer", "deepxde"], ("--peer deepxde", "spiral (torchdiffeq)")),
    (["burgers", "spiral", "--peer", "torchdiffeq"], ("--peer torchdiffeq", "burgers (deepxde)")),
    (["spiral", "--time-limit", "5"], ("--time-limit", "spiral")),
    (["spiral", "--peer", "torchdiffeq", "--peer-time", "full"], ("--peer-time", "spiral")),
])  # fmt: skip
def test_mismatched_peer_or_time_options_exit_2_with_one_line(args, words):
    result = CliRunner().invoke(main, ["bench", *args])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert all(w in line for w in words), line


def _row(tool, history, status="ok", train_s=100.0):
    return {"tool": tool, "status": status, "test_l1": history, "train_s": train_s}


def test_time_to_peer_is_the_first_test_point_at_or_below_the_peers_final_error():
    theirs = _row("torchdiffeq 0.2.5", [(0, 0.0, 1.0), (20, 50.0, 0.3), (40, 100.0, 0.2)])
    ours = _row("neuralsolve", [(0, 5.0, 0.9), (20, 6.0, 0.25), (40, 8.0, 0.2), (60, 9.0, 0.1)])
    assert spiral.time_to_peer(ours, theirs) == {"target": 0.2, "step": 40, "seconds": 8.0, "speedup": 12.5}
    slower = _row("neuralsolve", [(0, 5.0, 0.9), (20, 6.0, 0.3)])
    assert spiral.time_to_peer(slower, theirs)["step"] is None
    assert spiral.time_to_peer(ours, _row("torchdiffeq", [], status="failed")) is None


def test_bench_spiral_runs_neuralsolve_and_compares_with_the_peer(monkeypatch, tmp_path):
    """A real two-iteration neuralsolve run; the peer stubbed (it needs torch)."""
    def torchdiffeq(python, steps=None, seed=0, threads=None):
        return {"problem": "spiral", "tool": "torchdiffeq 0.2.5 (torch 2.13.0)", "l2_relative_error": 1.0,
                "reference_error_estimate": spiral.REFERENCE_ERROR, "wall_s": 3.0, "train_s": 2.0,
                "adam_steps_per_s": None, "steps": {"rmsprop": steps}, "status": "ok", "note": "",
                "test_l1": [(0, 0.0, 9.0), (steps, 2.0, 5.0)], "nfe_per_iteration": 26.0}  # fmt: skip

    monkeypatch.setattr(spiral, "run_torchdiffeq", torchdiffeq)
    monkeypatch.setattr(peers, "peer_python", lambda given: "python")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "spiral", "--peer", "torchdiffeq", "--steps", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["options"]["peer"] == "torchdiffeq" and record["options"]["peer_time"] is None
    ours, theirs = record["rows"]
    assert ours["tool"] == "neuralsolve" and ours["steps"] == {"rmsprop": 2} and ours["status"] == "ok"
    assert np.isfinite(ours["l2_relative_error"]) and ours["nfe_per_window_solve"] > 0
    assert ours["to_peer_error"]["target"] == 5.0  # the initial test L1 of this spiral is about 1.3
    assert ours["to_peer_error"]["step"] == 2 and "neuralsolve reached it at iteration 2" in result.output
    assert theirs["tool"].startswith("torchdiffeq") and "rmsprop 2" in result.output


@pytest.mark.skipif(not _has_torchdiffeq(), reason=".venv-bench with torchdiffeq is not installed")
def test_torchdiffeq_peer_runs_the_demo_and_returns_its_trajectory():
    row = spiral.run_torchdiffeq(str(BENCH_PYTHON), steps=2, threads=1)
    assert row["status"] == "ok", row["note"]
    assert row["steps"] == {"rmsprop": 2} and [h[0] for h in row["test_l1"]] == [0, 2]
    assert 0 < row["l2_relative_error"] < 10 and row["nfe_per_iteration"] > 0


def test_a_failing_peer_becomes_a_failed_row(tmp_path):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'ModuleNotFoundError: torchdiffeq' >&2\nexit 1\n")
    python.chmod(0o755)
    row = spiral.run_torchdiffeq(str(python), steps=2)
    assert row["status"] == "failed" and row["note"] == "ModuleNotFoundError: torchdiffeq"

