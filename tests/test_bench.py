"""The benchmark registry, its references and the ``neuralsolve bench`` command."""

import importlib.util
import json
import pathlib
import sys
import tomllib
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner

from neuralsolve.bench import peer as peers
from neuralsolve.bench import runner
from neuralsolve.bench.problems import BENCHMARKS
from neuralsolve.bench.recipes import RECIPES
from neuralsolve.bench.record import budget_cell, steps_cell, table
from neuralsolve.cli.main import main
from neuralsolve.loss.terms import residuals
from neuralsolve.ops.point import value_at

NAMES = ["burgers", "burgers_quick", "allen_cahn", "allen_cahn_periodic", "poisson_2d", "helmholtz_2d", "convection", "convection_50",
         "wave", "klein_gordon", "diffusion_reaction"]  # fmt: skip
EXAMPLES = pathlib.Path(__file__).parents[1] / "src/neuralsolve/examples"
EXACT = [n for n in NAMES if not n.startswith(("burgers", "allen_cahn"))]


def test_registry_lists_the_eleven_problems_each_with_a_recipe():
    assert list(BENCHMARKS) == NAMES
    assert set(RECIPES) == set(NAMES)
    assert all(r.precision == "float64" for r in RECIPES.values())


def test_recipes_parse_and_each_is_its_bundled_example():
    """Recipes are [solver] tables read by the problem-file parser; each benchmark runs exactly the
    problem and recipe that src/neuralsolve/examples/<name>.toml gives users."""
    for name, recipe in RECIPES.items():
        settings = recipe.settings()
        assert settings["precision"] == "float64" and settings["phases"]
        example = tomllib.loads((EXAMPLES / f"{name}.toml").read_text())
        assert recipe.solver == example["solver"], name
        assert BENCHMARKS[name].build().name == example["name"], name
    capped = RECIPES["burgers"].capped(7)
    assert [p["steps"] for p in capped.solver["phases"]] == [7, 7] and RECIPES["burgers"].adam == 1000


def test_periodic_allen_cahn_reference_starts_from_its_initial_values_and_converges():
    """The pseudo-spectral reference on Raissi's grid (x slowest), here from 1024 and 512 points:
    the initial row is x² cos πx, and halving the points changes the solution by the algebraic
    amount the slope's jump at the wrap allows (1.7e-5 at 512 against 2048 points)."""
    from neuralsolve.bench.problems import AC_PERIODIC_GRID, _allen_cahn_periodic_spectral

    problem = BENCHMARKS["allen_cahn_periodic"].build()  # the equation the reference solves
    (equation,) = problem.equations
    assert str(equation.expr) == "5*u(x, t)**3 - 5*u(x, t) + Derivative(u(x, t), t) - 0.0001*Derivative(u(x, t), (x, 2))"
    points, values, difference = _allen_cahn_periodic_spectral(1024)
    assert points.shape == (AC_PERIODIC_GRID[0] * AC_PERIODIC_GRID[1], 2) and values.shape == (len(points),)
    start = points[:, 1] == 0
    np.testing.assert_allclose(values[start], points[start, 0] ** 2 * np.cos(np.pi * points[start, 0]), atol=1e-15)
    assert 1e-6 < difference < 1e-4
    assert np.all(np.abs(values) <= 1 + 1e-6)


@pytest.mark.parametrize(("name", "n"), [("burgers", 256 * 100), ("allen_cahn", 201 * 101)])
def test_deepxde_references_load_on_their_grids(name, n):
    points, values = BENCHMARKS[name].reference()
    assert points.shape == (n, 2) and values.shape == (n,)
    assert np.all(np.isfinite(values))
    lo, hi = BENCHMARKS[name].build().domain.bounds()
    assert np.all(points >= np.asarray(lo) - 1e-12) and np.all(points <= np.asarray(hi) + 1e-12)


def test_deepxde_references_match_their_initial_values():
    """Grid orientation: at t = 0 each reference equals its problem's initial condition."""
    initials = {"burgers": lambda x: -np.sin(np.pi * x), "allen_cahn": lambda x: x**2 * np.cos(np.pi * x)}
    for name, initial in initials.items():
        points, values = BENCHMARKS[name].reference()
        start = points[:, 1] == 0
        assert start.sum() > 100
        np.testing.assert_allclose(values[start], initial(points[start, 0]), atol=1e-6)


@pytest.mark.parametrize("name", EXACT)
def test_exact_solutions_satisfy_their_equations(name):
    """The PDE residual of the exact solution vanishes at scattered points (float64, jvp derivatives)."""
    problem = BENCHMARKS[name].build()
    exact, coords = problem.exact["u"], problem.domain.coords
    with jax.enable_x64(True):
        x = jnp.asarray(problem.domain.interior().sample(200, "sobol", 0)[0])
        r = residuals(problem, lambda _, y: jnp.atleast_1d(value_at(exact, coords, y)), None, x)
        assert float(jnp.max(jnp.abs(r))) < 1e-9


@pytest.mark.parametrize("name", EXACT)
def test_exact_references_are_finite_grids(name):
    points, values = BENCHMARKS[name].reference()
    assert points.ndim == 2 and points.shape[1] == 2 and values.shape == (len(points),)
    assert len(points) >= 10_000 and np.all(np.isfinite(values)) and np.max(np.abs(values)) > 0.5


@pytest.mark.slow  # 20 s (suite budget); the bench command's other tests here stay in make test
def test_bench_command_writes_the_json_record(tmp_path):
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--steps", "20", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "poisson_2d" in result.output and "neuralsolve" in result.output
    record = json.loads(out.read_text())
    assert record["machine"]["cpu_count"] >= 1 and "cpu" in record["machine"] and record["date"] and "git_commit" in record
    (row,) = record["rows"]
    assert row["problem"] == "poisson_2d" and row["steps"] == {"adam": 20, "ssbroyden": row["steps"]["ssbroyden"]}
    assert 0 < row["steps"]["ssbroyden"] <= 20
    assert row["recipe"]["phases"][0] == {"method": "adam", "steps": 20}
    assert row["recipe"]["points"] == RECIPES["poisson_2d"].solver["points"]
    assert 0 < row["l2_relative_error"] < 0.5  # 40 steps of a smooth problem already get close
    assert row["reference_error_estimate"] == 0.0  # an exact reference
    assert row["wall_s"] > 0


def test_unknown_benchmark_exits_2_with_one_line():
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "nosuch"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "nosuch" in line and "burgers" in line


def test_missing_peer_python_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURALSOLVE_PEER_PYTHON", raising=False)
    missing = tmp_path / "no" / "python"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--peer-python", str(missing)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert str(missing) in line and "neuralsolve[bench]" in line


# --- the peer's time budget (--peer-time) -------------------------------------------------------


@pytest.fixture
def peer_script(monkeypatch):
    """The DeepXDE peer script as a module: importable without DeepXDE (it imports it only in main)."""
    monkeypatch.setenv("DDE_BACKEND", "pytorch")  # the script's setdefault then changes nothing for good
    spec = importlib.util.spec_from_file_location("deepxde_peer", peers.SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("given", "parsed"), [(None, "matched"), ("matched", "matched"), ("FULL", "full"),
                                                ("30", 30.0), ("2.5", 2.5)])  # fmt: skip
def test_peer_time_parses_matched_full_and_seconds(given, parsed):
    assert peers.parse_peer_time(given) == parsed


@pytest.mark.parametrize("given", ["0", "-3", "nan", "inf", "soon", ""])
def test_peer_time_rejects_other_values(given):
    with pytest.raises(ValueError):
        peers.parse_peer_time(given)


def test_time_budget_per_mode():
    row = {"wall_s": 12.5}
    assert peers.time_budget("matched", row) == 12.5  # neuralsolve's wall time on the same problem
    assert peers.time_budget("full", row) is None
    assert peers.time_budget(40.0, row) == 40.0
    assert peers.time_budget("matched", {"wall_s": None}) is None  # nothing to match


def test_bad_peer_time_exits_2_before_training():
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--peer-time", "soon"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "--peer-time" in line and "soon" in line


def test_peer_time_without_peer_exits_2():
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer-time", "10"])
    assert result.exit_code == 2 and "--peer" in result.output


def _fake_bench(monkeypatch):
    """Replace both tools by stubs: neuralsolve takes 7 s, DeepXDE records the budget it was given."""
    from neuralsolve.bench import runner

    calls = []

    def neuralsolve(bench, recipe, callback=None):
        return {"problem": bench.name, "tool": "neuralsolve", "l2_relative_error": 1e-4, "wall_s": 7.0,
                "adam_steps_per_s": 100.0, "steps": {"adam": 10}, "status": "ok", "note": ""}  # fmt: skip

    def deepxde(bench, python, steps, seed=0, mode="full", budget_s=None):
        calls.append((mode, budget_s))
        return {"problem": bench.name, "tool": "DeepXDE", "l2_relative_error": 1e-2, "wall_s": 7.3,
                "adam_steps_per_s": 50.0, "steps": {"adam": 300, "lbfgs": 0}, "status": "ok", "note": "",
                "peer_time": {"mode": peers.mode_name(mode), "budget_s": budget_s, "train_s": 7.1,
                              "planned": {"adam": 50000, "lbfgs": 15000}, "lbfgs_skipped": True,
                              "cut_short": budget_s is not None}}  # fmt: skip

    monkeypatch.setattr(runner, "run_neuralsolve", neuralsolve)
    monkeypatch.setattr(peers, "run_deepxde", deepxde)
    monkeypatch.setattr(peers, "peer_python", lambda given: "python")
    return calls


@pytest.mark.parametrize(("args", "expected", "recorded"), [([], ("matched", 7.0), "matched"),
                                                            (["--peer-time", "full"], ("full", None), "full"),
                                                            (["--peer-time", "3"], (3.0, 3.0), "cap")])  # fmt: skip
def test_peer_gets_its_budget_from_the_mode(monkeypatch, tmp_path, args, expected, recorded):
    calls = _fake_bench(monkeypatch)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--json", str(out), *args])
    assert result.exit_code == 0, result.output
    assert calls == [expected]  # matched is the default, with neuralsolve's wall time of this invocation
    record = json.loads(out.read_text())
    assert record["options"]["peer_time"] == recorded
    assert record["rows"][1]["peer_time"]["budget_s"] == expected[1]
    assert "time budget" in result.output


def test_table_shows_the_budget_and_the_steps_run():
    ns = {"problem": "p", "tool": "neuralsolve", "steps": {"adam": 100, "lbfgs": 100}}
    dx = {"problem": "p", "tool": "DeepXDE", "steps": {"adam": 32, "lbfgs": 0},
          "peer_time": {"mode": "matched", "budget_s": 28.6, "planned": {"adam": 100, "lbfgs": 100},
                        "lbfgs_skipped": True, "cut_short": True}}  # fmt: skip
    assert steps_cell(ns) == "adam 100 + lbfgs 100" and budget_cell(ns) == "—"
    assert steps_cell(dx) == "adam 32 of 100 + lbfgs 0 (skipped)"
    assert budget_cell(dx) == "matched 28.6 s, cut short"
    assert budget_cell({"peer_time": {"mode": "full", "budget_s": None}}) == "full"
    columns = [c.header for c in table([{**ns, "l2_relative_error": 1e-3, "wall_s": 1.0, "adam_steps_per_s": None,
                                         "status": "ok", "note": ""}]).columns]  # fmt: skip
    assert "time budget" not in columns  # neuralsolve alone: no peer, no budget column


def test_time_budget_clock(peer_script):
    budget = peer_script.TimeBudget(10.0, start=100.0)
    assert budget.left(now=104.0) == 6.0 and not budget.exhausted(now=104.0)
    assert budget.exhausted(now=110.0) and budget.exhausted(now=111.0)
    unlimited = peer_script.TimeBudget(None, start=100.0)
    assert unlimited.left(now=1e9) == float("inf") and not unlimited.exhausted(now=1e9)


def test_lbfgs_calls_are_sized_to_the_time_left(peer_script):
    budget = peer_script.TimeBudget(10.0, start=0.0)
    assert budget.lbfgs_chunk(None, 50, now=1.0) == 2  # no cost measured yet: a two-iteration probe
    assert budget.lbfgs_chunk(0.1, 50, now=1.0) == 50  # 90 fit: the largest call
    assert budget.lbfgs_chunk(0.5, 50, now=1.0) == 18  # 9 s / 0.5 s
    assert budget.lbfgs_chunk(2.0, 50, now=8.5) == 0  # less than 2 iterations fit: stop, not "converge"
    assert budget.lbfgs_chunk(0.1, 50, now=10.0) == 0  # nothing left
    assert budget.lbfgs_chunk(0.5, 1, now=9.0) == 1  # --steps 1: one iteration is the whole stage
    assert peer_script.TimeBudget(None).lbfgs_chunk(None, 50) == 50  # no budget: full calls


class _Clock:
    """A perf_counter that advances only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _fake_dde():
    """Just what ``time_cap`` uses of DeepXDE: a Callback base and the L-BFGS options."""

    class Callback:
        def __init__(self):
            self.model = None

    config = types.SimpleNamespace(LBFGS_options={"iter_per_step": 1000})
    return types.SimpleNamespace(callbacks=types.SimpleNamespace(Callback=Callback),
                                 optimizers=types.SimpleNamespace(config=config))  # fmt: skip


class _FakeLBFGS:
    def __init__(self):
        self.param_groups = [{"max_iter": 1000, "max_eval": 1250}]
        self.n_iter = 0

    def state_dict(self):
        return {"state": {0: {"n_iter": self.n_iter}} if self.n_iter else {}}


def test_time_cap_stops_adam_once_the_budget_is_spent(peer_script, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(peer_script.time, "perf_counter", clock)
    cap = peer_script.time_cap(_fake_dde(), peer_script.TimeBudget(5.0))
    cap.model = types.SimpleNamespace(opt_name="adam", stop_training=False)
    cap.on_train_begin()
    clock.now = 4.9
    cap.on_epoch_end()
    assert not cap.model.stop_training and not cap.cut
    clock.now = 5.0
    cap.on_epoch_end()
    assert cap.model.stop_training and cap.cut


def test_time_cap_sizes_lbfgs_calls_and_stops_before_overrunning(peer_script, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(peer_script.time, "perf_counter", clock)
    cap = peer_script.time_cap(_fake_dde(), peer_script.TimeBudget(10.0), lbfgs_guess_s=0.1)
    opt = _FakeLBFGS()
    cap.model = types.SimpleNamespace(opt_name="L-BFGS", opt=opt, stop_training=False)
    cap.on_train_begin()
    assert opt.param_groups[0]["max_iter"] == 50  # the guess says 100 fit: one full call of the chunk size
    opt.n_iter, clock.now = 50, 8.0  # slower than guessed: 0.16 s an iteration
    cap.on_epoch_end()
    assert not cap.model.stop_training and opt.param_groups[0]["max_iter"] == 12  # 2 s / 0.16 s
    assert opt.param_groups[0]["max_eval"] >= 12
    opt.n_iter, clock.now = 62, 9.92  # 0.08 s left: not even two iterations fit
    cap.on_epoch_end()
    assert cap.model.stop_training and cap.cut


# --- neuralsolve's time limit (--time-limit) -----------------------------------------------------


@pytest.mark.parametrize(("given", "parsed"), [(None, None), ("peer", "peer"), ("PEER", "peer"), ("60", 60.0),
                                                ("2.5", 2.5)])  # fmt: skip
def test_time_limit_parses_peer_and_seconds(given, parsed):
    assert runner.parse_time_limit(given) == parsed


@pytest.mark.parametrize("given", ["0", "-3", "nan", "inf", "soon", ""])
def test_time_limit_rejects_other_values(given):
    with pytest.raises(ValueError):
        runner.parse_time_limit(given)


@pytest.mark.parametrize(("args", "expected"), [
    (["--time-limit", "soon"], ["--time-limit", "soon"]),
    (["--time-limit", "0"], ["--time-limit", "positive"]),
    (["--time-limit", "peer"], ["--time-limit peer needs --peer"]),
    (["--time-limit", "peer", "--peer", "deepxde", "--peer-time", "matched"], ["--peer-time matched"]),
])  # fmt: skip
def test_bad_time_limit_exits_2_with_one_line_before_training(monkeypatch, args, expected):
    monkeypatch.setattr(runner, "run_neuralsolve", lambda *a, **k: pytest.fail("trained"))
    result = CliRunner().invoke(main, ["bench", "poisson_2d", *args])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and all(e in line for e in expected), line


def _fake_tools(monkeypatch, peer_row: dict):
    """Stubs for both tools that log their calls: neuralsolve takes 5 s to train and 1 s outside
    training (its one-step probe 3 s), DeepXDE returns ``peer_row``."""
    calls = []

    def neuralsolve(bench, recipe, callback=None):
        probe = all(p["steps"] == 1 for p in recipe.solver["phases"])
        calls.append(("probe" if probe else "neuralsolve", recipe.solver.get("time_limit")))
        row = {"problem": bench.name, "tool": "neuralsolve", "l2_relative_error": 1e-4, "adam_steps_per_s": 100.0,
               "steps": {"adam": 10}, "status": "ok", "note": "", "recipe": recipe.record(),
               "wall_s": 3.0 if probe else 6.0, "train_s": 2.0 if probe else 5.0}  # fmt: skip
        if recipe.solver.get("time_limit") is not None:
            row["time_limit"] = {"limit_s": recipe.solver["time_limit"], "cut_short": True}
        return row

    def deepxde(bench, python, steps, seed=0, mode="full", budget_s=None):
        calls.append(("deepxde", mode, budget_s))
        return {"problem": bench.name, "tool": "DeepXDE", "adam_steps_per_s": 50.0, "steps": {"adam": 300},
                "note": "", "peer_time": {"mode": peers.mode_name(mode), "budget_s": budget_s}, **peer_row}  # fmt: skip

    monkeypatch.setattr(runner, "run_neuralsolve", neuralsolve)
    monkeypatch.setattr(peers, "run_deepxde", deepxde)
    monkeypatch.setattr(peers, "peer_python", lambda given: "python")
    return calls


def test_a_fixed_time_limit_reaches_every_problem_recipe(monkeypatch, tmp_path):
    calls = _fake_tools(monkeypatch, {})
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "wave", "--time-limit", "5", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert calls == [("neuralsolve", 5.0)] * 2
    record = json.loads(out.read_text())
    assert record["options"]["time_limit"] == 5.0
    for row in record["rows"]:
        assert row["recipe"]["time_limit"] == 5.0  # the recipe states exactly what was run
        assert row["time_limit"] == {"mode": "fixed", "limit_s": 5.0, "cut_short": True, "reason": "--time-limit 5"}


def test_time_limit_peer_runs_the_peer_first_and_fits_neuralsolve_within_its_wall(monkeypatch, tmp_path):
    calls = _fake_tools(monkeypatch, {"status": "ok", "l2_relative_error": 1e-2, "wall_s": 40.0})
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--time-limit", "peer",
                                       "--json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    allowance = 3.0 + runner.MARGIN_FRACTION * 40.0 + runner.MARGIN_S  # the probe's wall time, plus margin
    assert calls == [("deepxde", "full", None), ("probe", None), ("neuralsolve", pytest.approx(40.0 - allowance))]
    record = json.loads(out.read_text())
    assert record["options"]["time_limit"] == "peer" and record["options"]["peer_time"] == "full"
    ours, theirs = record["rows"]
    assert (ours["tool"], theirs["tool"]) == ("neuralsolve", "DeepXDE")  # the table's usual order
    limit = ours["time_limit"]
    assert limit["mode"] == "peer" and limit["peer_wall_s"] == 40.0
    assert limit["limit_s"] == pytest.approx(40 - allowance)
    assert limit["probe_s"] == 3.0 and limit["within_peer_wall"] and "DeepXDE's wall time 40.0 s" in limit["reason"]
    assert result.output.count("poisson_2d") >= 2  # both rows are in the table


def test_time_limit_peer_keeps_a_peer_time_cap(monkeypatch):
    calls = _fake_tools(monkeypatch, {"status": "ok", "l2_relative_error": 1e-2, "wall_s": 12.0})
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--time-limit", "peer",
                                       "--peer-time", "10"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls[0] == ("deepxde", 10.0, 10.0)


def test_time_limit_peer_runs_neuralsolve_uncapped_when_the_peer_failed(monkeypatch, tmp_path):
    calls = _fake_tools(monkeypatch, {"status": "failed", "l2_relative_error": None, "wall_s": None, "note": "boom"})
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--time-limit", "peer",
                                       "--json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls == [("deepxde", "full", None), ("neuralsolve", None)]  # no probe either
    ours = json.loads(out.read_text())["rows"][0]
    assert ours["time_limit"]["limit_s"] is None and "failed" in ours["time_limit"]["reason"]
    assert "time_limit" not in ours["recipe"]


def test_run_neuralsolve_stops_at_the_recipe_time_limit():
    """A real solve of a tiny problem: the recipe's limit reaches the fit loop, and the row says so."""
    from neuralsolve.bench.problems import Benchmark
    from neuralsolve.bench.recipes import Recipe
    from neuralsolve.problem.conditions import Dirichlet
    from neuralsolve.problem.domain import Interval
    from neuralsolve.problem.problem import Problem

    def build():  # half a second of training: the test is about the limit, not the accuracy
        return Problem(Interval(0, 1), "u", "diff(u, x) = cos(x)", [Dirichlet("u", 0.0, on="x = 0")],
                       exact={"u": "sin(x)"}, tolerance=1.0)  # fmt: skip

    x = np.linspace(0, 1, 11)[:, None]
    tiny = Benchmark("tiny", build, lambda: (x, np.sin(x[:, 0])), "exact")
    # far more steps than 2 s hold on any machine (20000 did not: a warm compile cache on a fast
    # machine ran them all in 1.3 s)
    recipe = Recipe({"network": {"width": 8, "depth": 1}, "points": {"interior": 32},
                     "phases": [{"method": "adam", "steps": 2_000_000}, {"method": "lbfgs", "steps": 100}]})  # fmt: skip
    row = runner.run_neuralsolve(tiny, runner.limited(recipe, 2.0))
    assert row["status"] == "ok" and "time limit of 2 s" in row["note"]
    assert row["time_limit"] == {"limit_s": 2.0, "cut_short": True} and row["recipe"]["time_limit"] == 2.0
    assert list(row["steps"]) == ["adam"] and 0 < row["steps"]["adam"] < 2_000_000
    assert 0 < row["train_s"] < row["wall_s"]


def test_matched_runs_neuralsolve_again_within_the_peer_time_when_the_peer_finished_first(monkeypatch, tmp_path):
    calls = _fake_tools(monkeypatch, {"status": "ok", "l2_relative_error": 1e-2, "wall_s": 4.5})
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde", "--json", str(out)])
    assert result.exit_code == 0, result.output
    allowance = 3.0 + runner.MARGIN_FRACTION * 4.5 + runner.MARGIN_S
    assert calls == [("neuralsolve", None), ("deepxde", "matched", 6.0), ("probe", None),
                     ("neuralsolve", pytest.approx(4.5 - allowance))]  # fmt: skip
    rows = json.loads(out.read_text())["rows"]
    assert [r["tool"] for r in rows] == ["neuralsolve", "DeepXDE", "neuralsolve (within DeepXDE's time)"]
    assert rows[2]["time_limit"]["peer_wall_s"] == 4.5


def test_matched_runs_neuralsolve_once_when_the_peer_used_its_whole_budget(monkeypatch):
    calls = _fake_tools(monkeypatch, {"status": "ok", "l2_relative_error": 1e-2, "wall_s": 6.1})
    result = CliRunner().invoke(main, ["bench", "poisson_2d", "--peer", "deepxde"])
    assert result.exit_code == 0, result.output
    assert calls == [("neuralsolve", None), ("deepxde", "matched", 6.0)]


def test_adam_rate_counts_each_adam_phase_of_each_window_apart():
    from neuralsolve.bench.runner import adam_rate

    records = [{"phase": "adam", "window": 0, "step": 10, "elapsed": 5.0}, {"phase": "adam", "window": 0, "step": 110, "elapsed": 6.0},
               {"phase": "lbfgs", "window": 0, "step": 200, "elapsed": 60.0},
               {"phase": "adam", "window": 1, "step": 210, "elapsed": 70.0}, {"phase": "adam", "window": 1, "step": 310, "elapsed": 71.0}]  # fmt: skip
    assert adam_rate(records) == pytest.approx(100.0)  # 200 steps in 2 s; the L-BFGS minute is not Adam's
    assert adam_rate(records[:1]) is None


# --- the Lorenz inverse benchmark ----------------------------------------------------------------


def _lorenz_path(t):
    """The Lorenz path of the issue (10, 15, 8/3 from (-8, 7, 27)), solved here with another SciPy
    method than the benchmark's, so that the comparison checks the benchmark's data, not itself."""
    from scipy.integrate import solve_ivp

    def rhs(_, s):
        return [10 * (s[1] - s[0]), s[0] * (15 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]

    return solve_ivp(rhs, (0, 3), [-8, 7, 27], method="Radau", t_eval=t, rtol=1e-12, atol=1e-12).y.T


def test_lorenz_inverse_is_registered_on_neuralsolve_defaults_and_run_only_when_named():
    from neuralsolve.bench.problems import INVERSE_BENCHMARKS
    from neuralsolve.bench.recipes import recipe_for

    names = ["lorenz_inverse", "lorenz_inverse_noise0", "lorenz_inverse_noise5"]
    assert [b.name for b in runner.select(names)] == names and list(INVERSE_BENCHMARKS) == names
    assert [b.name for b in runner.select([])] == NAMES  # a bare `neuralsolve bench`: the forward suite
    assert recipe_for("lorenz_inverse").solver == {}  # the terms: neuralsolve's defaults
    assert [p["method"] for p in recipe_for("lorenz_inverse").capped(5).phases] == ["adam", "lbfgs"]
    problem = INVERSE_BENCHMARKS["lorenz_inverse"].build()
    assert problem.fields == ("x", "y", "z") and set(problem.inverse.unknowns) == {"C1", "C2", "C3"}
    assert all(u.initial == 1.0 and u.positive for u in problem.inverse.unknowns.values())
    assert problem.inverse.exact == pytest.approx({"C1": 10, "C2": 15, "C3": 8 / 3})


def test_lorenz_observations_are_the_scipy_path_at_noise_0_and_the_same_for_both_tools():
    from neuralsolve.bench.problems import INVERSE_BENCHMARKS

    bench = INVERSE_BENCHMARKS["lorenz_inverse_noise0"]
    (data,) = bench.build().inverse.data
    t = np.linspace(0, 3, 25)
    np.testing.assert_allclose(data.points[:, 0], t)
    np.testing.assert_allclose(data.values, _lorenz_path(t), rtol=1e-8, atol=1e-8)
    given = bench.peer_data()  # what DeepXDE trains on
    np.testing.assert_array_equal(given["observe_t"][:, 0], data.points[:, 0])
    np.testing.assert_array_equal(given["observe_y"], data.values)
    points, values = bench.reference()  # the path both tools' fields are measured against
    np.testing.assert_allclose(values, _lorenz_path(points[:, 0]), rtol=1e-8, atol=1e-8)


def test_lorenz_noise_is_a_fraction_of_each_fields_spread_and_seeded():
    from neuralsolve.bench import lorenz

    clean = lorenz.observations(0.0)
    noisy = lorenz.observations(0.05)
    assert all(np.array_equal(noisy[f], lorenz.observations(0.05)[f]) for f in lorenz.FIELDS)  # seed 0 each time
    for f in lorenz.FIELDS:
        ratio = np.std(noisy[f] - clean[f]) / (0.05 * np.std(clean[f]))
        assert 0.6 < ratio < 1.5, (f, ratio)  # 25 draws of unit-variance noise, scaled per field


def test_unknown_errors_are_relative_to_the_truth_for_both_rows():
    from neuralsolve.bench.problems import INVERSE_BENCHMARKS
    from neuralsolve.bench.record import estimates_cell

    errors = INVERSE_BENCHMARKS["lorenz_inverse"].unknown_errors({"C1": 10.1, "C2": 14.7, "C3": 8 / 3})
    assert errors == pytest.approx({"C1": 0.01, "C2": 0.02, "C3": 0.0})
    row = {"unknowns": {"C1": 10.1, "C2": 14.7, "C3": 8 / 3}, "unknown_errors": errors}
    assert estimates_cell(row).splitlines() == ["C1 10.1 (1.00%)", "C2 14.7 (2.00%)", "C3 2.667 (0.00%)"]
    assert estimates_cell({}) == "—"
