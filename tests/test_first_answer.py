"""Time to the first answer: checking a problem file compiles nothing and imports no training
library; a solve reports where its time went; a repeated solve reuses compiled programs."""

import json
import os
import pathlib
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

import neuralsolve as ns
from neuralsolve.pinn.measure import BackgroundReference, reference_for

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "src/neuralsolve/examples").glob("*.toml"))
_COMPILES: list = []
monitoring.register_event_duration_secs_listener(
    lambda name, seconds, **_: _COMPILES.append(name) if name.endswith("backend_compile_duration") else None)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_loading_a_problem_file_compiles_nothing(path):
    """Equations are traced, never run, to learn their derivatives; only a scale that is a
    function of the coordinates is evaluated (its positivity is a property of values)."""
    _COMPILES.clear()
    problem = ns.load(path)
    function_scales = sum(1 for v in problem.scale if callable(v))
    assert len(_COMPILES) <= 2 * function_scales, (path.name, _COMPILES)


def test_check_imports_no_training_library():
    code = ("import sys, neuralsolve.spec.load as spec; spec.load(sys.argv[1]); "
            "print([m for m in ('equinox', 'optax', 'scipy.stats', 'matplotlib') if m in sys.modules])")
    heat = str(ROOT / "src/neuralsolve/examples/heat.toml")
    out = subprocess.run([sys.executable, "-c", code, heat], capture_output=True,
                         text=True, check=True, timeout=120)  # fmt: skip
    assert out.stdout.strip() == "[]"



def test_the_profiles_start_up_is_no_longer_than_the_process_ran():
    """The process's start is read to the clock tick, not to the whole second of the boot time."""
    code = ("import sys, time; sys.argv[0] = 'neuralsolve'; from neuralsolve.cli.profile import process_start; "
            "print(time.perf_counter() - process_start())")  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    wall = time.perf_counter() - start
    assert 0.0 < float(out.stdout) <= wall + 0.02  # one clock tick (10 ms) of rounding, twice

def test_an_exact_solution_is_one_compiled_program_per_field():
    """Run op by op, heat's exact solution was ten compilations for each new number of points."""
    problem = ns.load(ROOT / "src/neuralsolve/examples" / "heat.toml")  # u = exp(-pi^2 t) sin(pi x)
    points = np.random.default_rng(0).random((37, 2))
    _COMPILES.clear()
    with jax.enable_x64(True):
        values = np.asarray(problem.exact_at("u", points))
        assert len(_COMPILES) == 1
        np.testing.assert_allclose(values, np.exp(-np.pi**2 * points[:, 1]) * np.sin(np.pi * points[:, 0]), rtol=1e-13)
        problem.exact_at("u", points[:20])  # the same program, traced for a new shape
    assert len(_COMPILES) == 2


def test_an_inverse_solves_data_misfit_is_one_program_compiled_once():
    """Run op by op, the network's evaluation for the misfit was about 40 compilations."""
    from neuralsolve.methods.inverse.model import Learned, _as_arrays, misfit_rms

    problem = ns.load(ROOT / "src/neuralsolve/examples" / "decay_rate.toml")
    with jax.enable_x64(True):
        learned = Learned(problem, ns.MLP(width=8, depth=2), jnp.float64, 0)
        _as_arrays(problem, jnp.float64)  # the data's casts, compiled once per shape
        moved = jax.tree_util.tree_map(lambda a: a + 0.01, learned.params)
        _COMPILES.clear()
        first = misfit_rms(problem, learned, learned.params)
        assert len(_COMPILES) == 1
        again = misfit_rms(problem, learned, moved)  # as elimination does once a round
    assert len(_COMPILES) == 1
    assert set(first) == {"u"} and first["u"] != again["u"]


def test_a_background_reference_is_the_same_reference():
    problem = ns.load(ROOT / "src/neuralsolve/examples" / "ode_system.toml")  # solve_ivp: no exact solution given
    pending = BackgroundReference(problem, x64=True)
    pending.start()
    points = np.linspace(0, 10, 57)[:, None]
    np.testing.assert_array_equal(pending()(points), reference_for(problem)(points))


SMALL = """name = "decay"
fields = ["u"]
equations = ["diff(u, t) = -u"]
[domain]
t = [0, 1]
[[conditions]]
on = "t = 0"
set = "u = 1"
[exact]
u = "exp(-t)"
[reference]
tolerance = 1  # 50 steps: these tests time the process, they do not judge its accuracy
[solver]
network = {width = 8, depth = 2}
phases = [{method = "adam", steps = 30}, {method = "lbfgs", steps = 20}]
"""


def test_a_repeated_solve_reads_every_compiled_program_from_the_cache_and_profiles_itself(tmp_path):
    problem = tmp_path / "decay.toml"
    problem.write_text(SMALL)
    env = {**os.environ, "NEURALSOLVE_CACHE_DIR": str(tmp_path / "cache")}
    command = [str(pathlib.Path(sys.executable).with_name("neuralsolve")), "solve", str(problem), "--profile"]
    runs = []
    for k in range(2):
        out = subprocess.run(command + ["--out", str(tmp_path / f"run{k}")], capture_output=True, text=True,
                             env=env, timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        runs.append((out.stdout, json.loads((tmp_path / f"run{k}" / "metrics.json").read_text())["profile"]))
    (_, first), (printed, second) = runs
    assert any((tmp_path / "cache").iterdir())
    assert first["compilations"] > 0 and second["compilations"] == first["compilations"]
    assert second["from_cache"] == second["compilations"]  # nothing compiled again
    rows = second["seconds"]
    for row in ("start-up (interpreter, imports)", "problem file (read, check)", "training: compilation",
                "training: optimiser steps", "metrics (errors, discovery, verification)", "outputs: plots and report"):  # fmt: skip
        assert rows[row] >= 0, row
        assert row in printed
    assert sum(rows.values()) <= second["total_s"] + 0.05
    assert second["besides_steps_s"] == pytest.approx(second["total_s"] - rows["training: optimiser steps"], abs=2e-3)


def test_cached_point_sets_are_the_points_scipy_draws(tmp_path):
    from neuralsolve.compile_cache import cache_points
    from neuralsolve.sampling.unit import unit_points

    fresh = [unit_points(n, d, m, s) for n, d, m, s in [(100, 2, "sobol", 3), (37, 3, "halton", 0)]]
    cache_points(tmp_path)
    try:
        drawn = [unit_points(n, d, m, s) for n, d, m, s in [(100, 2, "sobol", 3), (37, 3, "halton", 0)]]
        assert len(list(tmp_path.glob("*.npy"))) == 2
        again = [unit_points(n, d, m, s) for n, d, m, s in [(100, 2, "sobol", 3), (37, 3, "halton", 0)]]
    finally:
        cache_points(None)
    for a, b, c in zip(fresh, drawn, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_a_network_is_drawn_without_compiling_anything_as_equinox_draws_it():
    import jax.numpy as jnp

    _COMPILES.clear()
    net = ns.MLP(20, 3).build(2, 1, (-1, 0), (1, 1), jnp.float32, 7)
    assert _COMPILES == []
    again = ns.MLP(20, 3).build(2, 1, (-1, 0), (1, 1), jnp.float32, 7)
    other = ns.MLP(20, 3).build(2, 1, (-1, 0), (1, 1), jnp.float32, 8)
    for layer, same, different in zip(net.mlp.layers, again.mlp.layers, other.mlp.layers):
        bound = 1 / np.sqrt(layer.in_features)  # Equinox's Linear: uniform within ±1/√fan-in
        for name in ("weight", "bias"):
            leaf, leaf2, leaf3 = (getattr(x, name) for x in (layer, same, different))
            values = np.asarray(leaf)
            assert leaf.dtype == jnp.float32 and np.all(np.abs(values) <= bound)
            if values.size >= 20:  # spread over the range, not squeezed
                assert np.abs(values).max() > 0.8 * bound
            np.testing.assert_array_equal(values, np.asarray(leaf2))  # one seed, one network
            assert not np.array_equal(values, np.asarray(leaf3))


@pytest.mark.parametrize("n", [0, 1, 4096, 5000])
def test_a_solution_evaluates_any_number_of_points_by_one_program(n):
    import jax
    import jax.numpy as jnp

    from neuralsolve.solution import in_batches

    weights = jnp.asarray(np.random.default_rng(0).random((3, 2)), jnp.float32)
    model = lambda w, x: jnp.tanh(w @ x)  # noqa: E731
    batched = jax.jit(jax.vmap(model, in_axes=(None, 0)))
    points = np.random.default_rng(n).random((n, 2)).astype(np.float32)
    values = in_batches(batched, weights, points)
    assert values.shape == (n, 3) and values.flags.writeable
    if n:
        np.testing.assert_allclose(values, np.tanh(points @ np.asarray(weights).T), rtol=1e-6, atol=1e-6)
    assert batched._cache_size() == 1  # every count of points: one compiled program


def test_metrics_prepared_while_training_are_the_metrics_measured_after():
    import jax
    import jax.numpy as jnp

    from neuralsolve.pinn.measure import PreparedMetrics, evaluate_metrics
    from neuralsolve.pinn.model import build_model

    problem = ns.load(ROOT / "src/neuralsolve/examples" / "heat.toml")
    with jax.enable_x64(True):
        model, params = build_model(problem, ns.MLP(8, 2), jnp.float64, 3)
        prepared = PreparedMetrics(problem, model, 3, "taylor", jnp.float64, x64=True)
        prepared.start(params)
        direct = evaluate_metrics(problem, model, params, 3, "taylor", jnp.float64)
        early = evaluate_metrics(problem, model, params, 3, "taylor", jnp.float64, prepared=prepared)
    assert early == direct and direct["l2_relative_error"]
    assert prepared.evaluator() is not None
