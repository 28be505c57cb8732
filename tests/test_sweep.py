"""Sweeps: the members of a sweep, and solving them on Ray through the faults clusters have — a
dead worker node, a killed driver — with nothing finished lost or solved again."""

import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import BURGERS_OPERATOR

from neuralsolve.cluster import sweep as sweeps
from neuralsolve.cluster.members import Member, member_text, members, parse_seeds, parse_sets

CLI = [sys.executable, "-m", "neuralsolve.cli.main"]
# Small: a member spends most of its time tracing and compiling. 300 Adam + 200 L-BFGS steps give
# a checkpoint (every 100 steps with --checkpoint-every 0) well before a member ends.
PROBLEM = """\
name = "Poisson 1D, scaled"
fields = ["u"]
equations = ["-diff(u, x, 2) = a*pi**2*sin(pi*x)"]

[parameters]
a = 1

[domain]
x = [-1, 1]

[[conditions]]
on = "boundary"
set = "u = 0"

[exact]
u = "a*sin(pi*x)"

[solver]
network = {width = 8, depth = 1}
points = {interior = 32}
phases = [{method = "adam", steps = 300}, {method = "lbfgs", steps = 200}]
precision = "float64"
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> dict:
    """An environment whose compilation cache (off in tests) is a folder shared by this file's
    sweeps: members of one shape then compile once, not once per worker and test."""
    return {**os.environ, "NEURALSOLVE_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}


def _problem(tmp_path) -> pathlib.Path:
    path = tmp_path / "p.toml"
    path.write_text(PROBLEM)
    return path


def _close(a: dict, b: dict) -> bool:
    """Two members' metrics equal to 1e-10 relative (errors, residual, steps)."""
    pairs = [(a["l2_relative_error"]["u"], b["l2_relative_error"]["u"]), (a["residual_rms"], b["residual_rms"])]
    return a["steps"] == b["steps"] and all(abs(x - y) <= 1e-10 * abs(y) for x, y in pairs)


# --- the members -------------------------------------------------------------------------------------


def test_swept_names_are_parameters_or_solver_settings_and_values_are_toml():
    table = {"parameters": {"a": 1}, "solver": {}}
    swept = parse_sets(["a=1,2.5", "network.width=8,16", "solver.weighting=fixed,adaptive"], table)
    assert swept == {"parameters.a": [1, 2.5], "solver.network.width": [8, 16], "solver.weighting": ["fixed", "adaptive"]}
    assert parse_seeds("0:3") == [0, 1, 2] and parse_seeds("4,1") == [4, 1] and parse_seeds(None) is None
    chosen = members({"parameters.a": [1, 2]}, [0, 1])
    assert [(m.values["parameters.a"], m.seed) for m in chosen] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert chosen[3].name == "003_a-2_seed-1" and chosen[3].label() == "a=2 seed=1"


def test_a_members_problem_file_is_the_file_with_its_values(tmp_path):
    from neuralsolve.spec.load import load

    path = tmp_path / "m.toml"
    path.write_text(member_text(PROBLEM, Member(0, {"parameters.a": 3, "solver.network.width": 12}, None), "p.toml"))
    problem = load(path)
    assert problem.parameters["a"] == 3 and problem.solver["network"].width == 12
    assert problem.solver["network"].depth == 1  # the rest of the table is kept


@pytest.mark.parametrize("args, says", [
    (["--set", "parameters.b=1,2"], "no parameter 'b' (its [parameters]: a)"),
    (["--set", "a"], "expected NAME=V1,V2"),
    (["--set", "a=1,2", "--seeds", "3:1"], "--seeds '3:1'"),
    (["--set", "network.width=8,-1"], "sweep member network.width=-1:"),
    (["--set", "bogus=1,2"], "bogus: neither a parameter of the problem file (its [parameters]: a) nor a [solver]"),
    ([], "nothing to sweep"),
])  # fmt: skip
def test_a_bad_sweep_is_refused_with_one_line_and_nothing_written(tmp_path, args, says):
    from click.testing import CliRunner

    from neuralsolve.cli.main import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(_problem(tmp_path)), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert not out.exists()


def test_the_sweep_report_plots_each_metric_and_estimate_against_each_swept_value(tmp_path):
    """From sweep.json's record alone: the table (with an inverse problem's estimates) and, for each
    value swept, a plot whose points are the means over seeds."""
    from neuralsolve.report.sweep import rows, write_report

    chosen = members({"parameters.a": [1, 2]}, [0, 1])
    results = {m.name: {"status": "ok", "l2_relative_error": {"u": 1e-3 * (m.values["parameters.a"] + m.seed)},
                        "residual_rms": 1e-4, "wall_time_s": 2.0, "unknowns": {"k": 1.5 + 0.01 * m.seed}, "attempts": 1}
               for m in chosen}  # fmt: skip
    results[chosen[-1].name] = {"status": "lost", "message": "its node died", "attempts": 4}
    record = {"file": "p.toml", "set": {"parameters.a": [1, 2]}, "seeds": [0, 1], "results": results,
              "members": [{"name": m.name, "values": m.values, "seed": m.seed} for m in chosen]}  # fmt: skip
    files = write_report(tmp_path, record)
    assert [f.name for f in files] == ["sweep_a.png", "sweep.html"]
    page = (tmp_path / "sweep.html").read_text()
    assert "estimate k" in page and "lost" in page and "4 members: 1 lost, 3 ok" in page
    table = rows(record)
    assert [r["error"] for r in table[:3]] == [1e-3, 2e-3, 2e-3] and table[0]["estimate k"] == 1.5


def test_without_ray_a_sweep_runs_here_and_says_how_to_get_ray(monkeypatch):
    from neuralsolve._errors import ProblemError
    from neuralsolve.cluster.engines import InProcess, choose

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    engine, note = choose(None, 4, 10.0)
    assert isinstance(engine, InProcess) and "pip install 'neuralsolve[cluster]'" in note
    with pytest.raises(ProblemError, match="--address needs Ray"):
        choose("10.0.0.1:6379", None, 10.0)
    assert choose(None, 1, 10.0)[1] is None  # one worker runs here by choice: nothing to say


# --- faults ------------------------------------------------------------------------------------------


def test_a_sweep_on_two_nodes_finishes_every_member_after_one_node_dies(tmp_path, monkeypatch, cache):
    """4 members on a local two-node Ray cluster; the worker node is removed while it trains a
    member that has saved a checkpoint. Ray runs that member again on the head node, where it resumes
    from its checkpoint; every member equals the same member solved alone, in this process."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from neuralsolve.cluster.engines import RayEngine

    file = _problem(tmp_path)
    # the nodes' workers share a compilation cache: members of one shape compile once per worker
    monkeypatch.setenv("NEURALSOLVE_CACHE_DIR", cache["NEURALSOLVE_CACHE_DIR"])
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        on_cluster = sweeps.create(file, ["a=1,2"], "0:2", tmp_path / "cluster")
        killed = []
        watcher = threading.Thread(target=_remove_when_training, args=(cluster, worker, on_cluster, killed), daemon=True)
        watcher.start()
        sweeps.run(on_cluster, RayEngine(checkpoint_every=0, poll=0.2))
        watcher.join(timeout=5)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert killed, "the worker node was never seen training a member with a checkpoint"
    # each member solved alone: one after another in a process of its own, without Ray
    alone = tmp_path / "alone"
    subprocess.run(CLI + ["sweep", str(file), "--set", "a=1,2", "--seeds", "0:2", "--out", str(alone), "--workers", "1"],
                   check=True, capture_output=True, env=cache)  # fmt: skip
    assert len(on_cluster.results) == 4
    for m in on_cluster.members:
        ours, theirs = on_cluster.results[m.name], json.loads((alone / m.name / "metrics.json").read_text())
        assert ours["status"] == "ok", ours
        assert _close(ours, theirs), (m.label(), ours, theirs)
    assert on_cluster.results[killed[0]]["attempts"] == 2  # started on the dead node, finished on the head


def _remove_when_training(cluster, worker, sweep, killed: list, timeout: float = 120) -> None:
    """Remove ``worker`` once it trains a member that has a checkpoint and no results yet."""
    from neuralsolve.cluster.member import finished, running

    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in sweep.members:
            path = sweep.path(m)
            now = running(path)
            if now and now["where"] == worker.node_id and (path / "checkpoint.npz").exists() and not finished(path):
                cluster.remove_node(worker)
                killed.append(m.name)
                return
        time.sleep(0.02)


def test_a_killed_driver_is_continued_by_resume_without_solving_finished_members_again(tmp_path, cache):
    file, out = _problem(tmp_path), tmp_path / "sweep"
    sweep_cmd = CLI + ["sweep", str(file), "--seeds", "0:3", "--out", str(out), "--workers", "1", "--checkpoint-every", "0"]
    proc = subprocess.Popen(sweep_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cache)
    deadline = time.time() + 120
    first, second = out / "000_seed-0", out / "001_seed-1"
    while not (second / "checkpoint.npz").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it could be killed"
    assert (first / "metrics.json").exists() and not (second / "metrics.json").exists()
    finished_at = (first / "metrics.json").stat().st_mtime_ns

    result = subprocess.run(CLI + ["sweep", "--resume", str(out), "--workers", "1"], capture_output=True, text=True, env=cache)
    assert result.returncode == 0, result.stderr
    assert "1 of 3 members finished, 2 to go" in result.stdout
    saved = json.loads((out / "sweep.json").read_text())["results"]
    assert [saved[m]["status"] for m in sorted(saved)] == ["ok"] * 3
    assert (first / "metrics.json").stat().st_mtime_ns == finished_at  # not solved again
    assert saved["000_seed-0"]["attempts"] == 1 and saved["001_seed-1"]["attempts"] == 2
    assert (out / "sweep.html").exists()


def test_a_sweep_runs_on_a_cluster_started_separately(tmp_path, cache):
    """``ray start --head`` on loopback, then ``neuralsolve sweep --address``."""
    pytest.importorskip("ray")
    port = _free_port()
    ray_cli = pathlib.Path(sys.executable).parent / "ray"
    # token authentication, with the token given to both sides: `ray start` refuses to start when
    # none is found (it does not make one), and ~/.ray/auth_token exists only once some earlier
    # local instance has written it, which made this test depend on the order and the machine
    env = {**cache, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
                             "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # fmt: skip
    try:
        out = tmp_path / "sweep"
        result = subprocess.run(CLI + ["sweep", str(_problem(tmp_path)), "--seeds", "0:2", "--out", str(out),
                                       "--address", f"127.0.0.1:{port}"], capture_output=True, text=True, env=env)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"ray, 127.0.0.1:{port}" in result.stdout
        saved = json.loads((out / "sweep.json").read_text())["results"]
        assert [r["status"] for r in saved.values()] == ["ok", "ok"]
    finally:
        head.send_signal(signal.SIGTERM)  # --block: stops the processes it started
        head.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- tuning ------------------------------------------------------------------------------------------


def test_tune_prints_the_best_recipe_as_a_solver_table_that_reproduces_its_trial(tmp_path, monkeypatch, cache):
    """Two trials (random, seeded; a small space keeps them short), both allowed to end; the best
    is the one of lowest error, and the printed [solver] table, pasted into the file, gives that
    trial's settings."""
    pytest.importorskip("ray.tune")
    import tomllib

    from click.testing import CliRunner

    from neuralsolve import rundir
    from neuralsolve.cli.main import main
    from neuralsolve.cluster import tune
    from neuralsolve.spec.load import load

    monkeypatch.setitem(tune.SPACE, "network.width", [8, 12])
    monkeypatch.setitem(tune.SPACE, "network.depth", [1])
    monkeypatch.setitem(tune.SPACE, "features", ["none"])
    monkeypatch.setenv("NEURALSOLVE_CACHE_DIR", cache["NEURALSOLVE_CACHE_DIR"])  # the trials' (Ray workers')
    file, out = _problem(tmp_path), tmp_path / "tune"
    result = CliRunner().invoke(main, ["tune", str(file), "--budget", "5m", "--samples", "2", "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "tune.json").read_text())
    ended = [t for t in record["trials"] if t["error"] is not None]
    assert len(record["trials"]) == 2 and ended
    assert record["best"]["error"] == min(t["error"] for t in ended)
    printed = result.stdout[result.stdout.index("[solver]"):result.stdout.index("report in")]
    pasted = tmp_path / "pasted.toml"
    pasted.write_text(PROBLEM[: PROBLEM.index("[solver]")] + printed)
    assert tomllib.loads(printed)["solver"] == record["recipe"]
    best_run = next(d for d in (out / "trials").iterdir() if json.loads((d / "metrics.json").read_text())
                    ["l2_relative_error"]["u"] == record["best"]["error"])  # fmt: skip
    assert load(pasted).solver == rundir.settings(best_run)[0].solver
    assert (out / "tune.html").exists()


# --- an operator's data set ----------------------------------------------------------------------


def test_an_operator_data_set_generated_as_ray_tasks_equals_the_one_generated_here(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from neuralsolve.cluster.engines import RayExecutor
    from neuralsolve.reference.datasets import dataset, draw_inputs, generator_for, solve_all
    from neuralsolve.spec.load import load

    monkeypatch.setenv("NEURALSOLVE_DATA_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "op.toml"
    path.write_text(OPERATOR)
    problem = load(path)
    executor = RayExecutor(workers=2)
    try:
        on_ray = dataset(problem, executor=executor)
        assert ray.is_initialized()
    finally:
        executor.close()
    gen = generator_for(problem)
    inputs = draw_inputs(problem, gen)
    here = solve_all(gen, inputs, problem.operator.generate, None, workers=1)
    np.testing.assert_array_equal(on_ray.inputs, inputs)
    np.testing.assert_allclose(on_ray.outputs, here, rtol=0, atol=1e-13)
    assert dataset(problem).source == "cache"  # solve reads what generate wrote


OPERATOR = BURGERS_OPERATOR.replace("train = 80", "train = 12").replace("test = 8", "test = 4")
