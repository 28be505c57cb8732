"""Data-parallel training (``devices``): the collocation points split over two devices give the
one-device solve, the fit loop really gets them split, and a bad value gets one clear error."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import POISSON_1D

import neuralsolve as ns
from neuralsolve.dispatch import prepare
from neuralsolve.spec.dump import solver_table
from neuralsolve.spec.load import solver_settings

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "src/neuralsolve/examples"
GOOD = POISSON_1D + '\n[exact]\nu = "sin(pi*x)"\n'  # [solver] appended to it starts at line 15
BAD_VALUE = "expected 'all' or a whole number >= 1"

# Run in a fresh interpreter: XLA splits the host into two devices only if told before JAX starts.
# The fit loop's result is kept through a wrapper of pinn.train's ``fit``: its ``data_sharding``
# is the ``.sharding`` of the collocation arrays its compiled steps ran on.
TWO_DEVICES = r"""
import json, sys
import jax, numpy as np
import neuralsolve as ns
import neuralsolve.pinn.train as train
from jax.sharding import PartitionSpec as P
from neuralsolve.train.sharding import placement

fits, fit = [], train.fit
train.fit = lambda *a, **k: fits.append(fit(*a, **k)) or fits[-1]
problem = ns.load(sys.argv[1])
settings = dict(network=ns.MLP(width=16, depth=1), points=ns.Points(interior=128), phases=[ns.Adam(100), ns.LBFGS(50)],
                precision="float64", seed=0)
x = np.linspace(-1, 1, 101)[:, None]
out = {"devices": len(jax.devices()), "all": placement("all").count}
cores = {**settings, "points": ns.Points(interior=1024), "phases": [ns.Adam(150)]}  # 512 points a core
runs = {1: dict(devices=1), 2: dict(devices=2), "cores": dict(cores), "cores_off": dict(cores, devices=1),
        "cores_qn": dict(cores, phases=settings["phases"]), "cores_qn_off": dict(cores, phases=settings["phases"], devices=1),
        "cores_small": {}, "cores_rows": dict(cores, phases=[ns.Adam(100), ns.LevenbergMarquardt(steps=20)]),
        "rows_1": dict(devices=1, phases=[ns.Adam(100), ns.LevenbergMarquardt(steps=20)])}
runs["rows_2"] = dict(runs["rows_1"], devices=2)  # no plain mean: XLA splits the program itself
for name, given in runs.items():
    sol = ns.solve(problem, log_every=25, **{**settings, **given})
    where, params = fits[-1].data_sharding, jax.tree_util.tree_leaves(fits[-1].params)
    at = None if where is None else where["interior"]
    count = {**settings, **given}["points"].interior
    interior = None if at is None else {"split": at.spec == P("points"), "devices": len(at.device_set),
                                        "shard": list(at.shard_shape((count, 1)))}
    out[name] = {"status": sol.status, "steps": sol.steps, "loss": [r["loss"] for r in sol.history],
                 "l2": sol.metrics["l2_relative_error"]["u"], "u": sol(x)[:, 0].tolist(), "interior": interior,
                 "params": [[len(p.sharding.device_set), p.sharding.is_fully_replicated] for p in params]}
errors = [("three", dict(devices=3), sys.argv[1]), ("split", dict(devices=2, points=ns.Points(interior=129)), sys.argv[1]),
          ("file", {}, sys.argv[2])]
for name, given, path in errors:
    try:
        ns.solve(ns.load(path), **given)
        out[name] = None
    except ns.ProblemError as err:
        out[name] = str(err)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory) -> dict:
    """One run with two CPU devices: the same small solve on one and on two devices, and the errors."""
    three = tmp_path_factory.mktemp("sharding") / "three.toml"
    three.write_text(GOOD + "\n[solver]\ndevices = 3\n")
    flags = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    run = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(EXAMPLES / "poisson_1d.toml"), str(three)], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_two_devices_give_the_one_device_solve(two_devices):
    one, two = two_devices["1"], two_devices["2"]
    assert two_devices["devices"] == 2 and two_devices["all"] == 2
    assert one["status"] == two["status"] == "ok" and one["steps"] == two["steps"] == 150
    loss_one, loss_two = np.array(one["loss"]), np.array(two["loss"])
    assert loss_one.shape == loss_two.shape == (6,)  # a record every 25 steps
    np.testing.assert_allclose(loss_two, loss_one, rtol=1e-10, atol=0)
    np.testing.assert_allclose(two["u"], one["u"], rtol=0, atol=1e-10 * np.max(np.abs(one["u"])))
    # the error is relative to the exact solution's norm: it moves no more than the outputs do
    # relative to it (as a ratio of two errors it would magnify the outputs' 1e-13 by 1/error)
    assert abs(two["l2"] - one["l2"]) <= 1e-10 and one["l2"] < 1e-2


def test_a_loss_that_is_no_plain_mean_is_split_by_xla_and_gives_the_one_device_solve(two_devices):
    one, two = two_devices["rows_1"], two_devices["rows_2"]  # Levenberg–Marquardt's residual rows
    assert two["interior"] == {"split": True, "devices": 2, "shard": [64, 1]}
    assert one["status"] == two["status"] == "ok" and one["steps"] == two["steps"]
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-10, atol=0)


def test_the_fit_loop_gets_the_points_split_and_the_parameters_replicated(two_devices):
    one, two = two_devices["1"], two_devices["2"]
    assert one["interior"] is None  # one device: nothing placed
    assert two["interior"] == {"split": True, "devices": 2, "shard": [64, 1]}
    assert two["params"] and all(p == [2, True] for p in two["params"])


def test_more_devices_than_there_are_or_points_that_do_not_split_are_refused(two_devices):
    assert two_devices["three"] == ("devices: 3 asked for, but there are only 2 cpu device(s) here; use devices = 'all' "
                                    "or a number up to 2")  # fmt: skip
    assert two_devices["file"] == two_devices["three"]  # [solver] devices = 3: the same one line
    assert two_devices["split"] == ("devices: 129 interior points do not split evenly over 2 devices; use "
                                    "points.interior = 128 or 130")  # fmt: skip


@pytest.mark.parametrize("value", [0, -2, "many", 2.5, True])
def test_a_bad_value_is_refused_in_python(value):
    with pytest.raises(ns.ProblemError, match=rf"^devices must be 'all' or a whole number >= 1, got {value!r}$"):
        ns.solve(ns.load(EXAMPLES / "poisson_1d.toml"), devices=value)


@pytest.mark.parametrize("value, shown", [("0", r"a whole number \(0\)"), ('"many"', r"a string \('many'\)"),
                                          ("2.5", r"a number \(2.5\)"), ("true", r"a boolean \(True\)")])  # fmt: skip
def test_a_bad_value_in_a_problem_file_gets_one_line_naming_the_key(tmp_path, value, shown):
    path = tmp_path / "p.toml"
    path.write_text(GOOD + f"\n[solver]\ndevices = {value}\n")
    with pytest.raises(ns.SpecError) as err:
        ns.load(path)
    assert "\n" not in str(err.value)
    assert err.match(rf"^{path}:16: solver.devices: {BAD_VALUE}, got {shown}$")


def test_more_devices_than_this_process_has(tmp_path):
    wanted = len(jax.devices()) + 1
    with pytest.raises(ns.ProblemError, match=rf"^devices: {wanted} asked for, but there are only {wanted - 1} "):
        ns.solve(ns.load(EXAMPLES / "poisson_1d.toml"), devices=wanted)


def test_a_family_that_trains_on_one_device_refuses_several(tmp_path):
    message = "devices: the eigen family trains on one device"
    with pytest.raises(ns.ProblemError, match=f"^{message}"):
        ns.solve(ns.load(EXAMPLES / "infinite_well.toml"), devices="all")
    path, text = tmp_path / "well.toml", (EXAMPLES / "infinite_well.toml").read_text()
    path.write_text(text + "devices = 2\n")  # the last line, in its [solver] table
    line = len(text.splitlines()) + 1
    with pytest.raises(ns.SpecError, match=rf"^{path}:{line}: solver.devices: {message} .*, got 2$"):
        ns.load(path)
    ns.load(EXAMPLES / "infinite_well.toml")  # and without devices (or with 1) it solves as before
    _, settings = prepare(ns.load(EXAMPLES / "infinite_well.toml"), {"devices": 1})
    assert settings["devices"] == 1


@pytest.mark.parametrize("value", ["all", 2])
def test_devices_round_trip_through_a_solver_table(value):
    problem = ns.load(EXAMPLES / "poisson_1d.toml")
    _, settings = prepare(problem, {"devices": value})
    table = solver_table(settings)
    assert table["devices"] == value
    _, again = prepare(problem, solver_settings(table))
    assert again == settings


def test_left_out_is_the_default_and_writes_nothing_while_one_device_is_kept():
    problem = ns.load(EXAMPLES / "poisson_1d.toml")
    _, settings = prepare(problem, {})
    assert settings["devices"] is None and "devices" not in solver_table(settings)
    _, settings = prepare(problem, {"devices": 1})  # one device: no split over the cores either
    assert settings["devices"] == 1 and solver_table(settings)["devices"] == 1


def test_a_cpu_splits_its_points_over_its_cores_when_none_are_asked_for(two_devices):
    """The command line makes each core a device; with ``devices`` left out and 512 points or more
    a core, training splits them over the cores, each device running the steps on its half: the same
    solve as on one device, to the order of the sums, and the parameters back on one device after."""
    split, one = two_devices["cores"], two_devices["cores_off"]
    assert split["interior"] == {"split": True, "devices": 2, "shard": [512, 1]}
    assert one["interior"] is None  # devices = 1: one device, no split
    # 150 Adam steps do not reach the exact solution's tolerance: both say so alike
    assert split["status"] == one["status"] and split["steps"] == one["steps"] == 150
    np.testing.assert_allclose(split["loss"], one["loss"], rtol=1e-10, atol=0)
    np.testing.assert_allclose(split["u"], one["u"], rtol=0, atol=1e-10 * np.max(np.abs(one["u"])))
    assert split["params"] and all(p == [1, True] for p in split["params"])


def test_a_solve_with_a_quasi_newton_phase_stays_on_one_device(two_devices):
    """Every device would repeat the curvature update on the same cores: not split, and the solve
    is the one-device solve."""
    split, one = two_devices["cores_qn"], two_devices["cores_qn_off"]
    assert split["interior"] is None and split["status"] == one["status"] == "ok"
    np.testing.assert_array_equal(split["loss"], one["loss"])


def test_too_few_points_or_a_loss_that_is_no_plain_mean_stay_on_one_device(two_devices):
    assert two_devices["cores_small"]["interior"] is None  # 128 points: 64 a core would be slower
    # Levenberg–Marquardt's residual rows are not a mean of each device's: not split, and it solves
    assert two_devices["cores_rows"]["interior"] is None and two_devices["cores_rows"]["status"] == "ok"


def test_the_command_line_makes_each_core_a_device_unless_told_otherwise():
    from neuralsolve.cores import cores_as_devices, one_device

    assert cores_as_devices("", 4) == "--xla_force_host_platform_device_count=4"
    assert cores_as_devices("--xla_cpu_use_thunk_runtime=true", 2) == (
        "--xla_cpu_use_thunk_runtime=true --xla_force_host_platform_device_count=2")
    assert cores_as_devices("--xla_force_host_platform_device_count=1", 8) == "--xla_force_host_platform_device_count=1"
    assert cores_as_devices("", 1) == "" and cores_as_devices("", None) == ""
    # a sweep's workers, one CPU each, get one device (the rest of the flags kept)
    assert one_device("--a=1 --xla_force_host_platform_device_count=4 --b=2") == "--a=1 --b=2"


def test_the_cores_counted_are_those_a_cgroup_quota_allows(tmp_path):
    from neuralsolve.cores import usable_cores

    mine = usable_cores(str(tmp_path / "none"))  # no quota file: the process's affinity
    assert mine >= 1
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")  # one CPU's worth
    assert usable_cores(str(quota)) == 1
    quota.write_text("max 100000\n")
    assert usable_cores(str(quota)) == mine
