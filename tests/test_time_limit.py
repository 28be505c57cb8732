"""The training time limit: ``solve(..., time_limit=SECONDS)`` and ``[solver] time_limit``.

Most tests replace the fit loop's clock by one that advances one second per progress record, so
every chunk "takes" one second and where training stops is exact.
"""

import math
import re

import jax.numpy as jnp
import pytest
from click.testing import CliRunner
from conftest import POISSON_1D

import neuralsolve as ns
from neuralsolve.cli.main import main
from neuralsolve.problem.eigen import Eigen
from neuralsolve.train import fit as fit_module
from neuralsolve.train.checkpoint import Checkpoint


def _ode():
    # trained for a few hundred steps on a tiny network: these tests are about when training stops,
    # not about accuracy, so any error short of nonsense counts as agreement
    return ns.Problem(ns.Interval(0, 1), "u", "diff(u, x) = cos(x)", [ns.Dirichlet("u", 0.0, on="x = 0")],
                      exact={"u": "sin(x)"}, tolerance=1.0)  # fmt: skip


TINY = {"network": ns.MLP(width=8, depth=1), "points": ns.Points(interior=32), "log_every": 100}


class _ChunkClock:
    """A clock that advances one second at every progress record (its ``tick`` is the callback)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def tick(self, record):
        self.now += 1.0


@pytest.fixture
def clock(monkeypatch):
    clock = _ChunkClock()
    monkeypatch.setattr(fit_module, "_now", clock)
    return clock


def test_limit_stops_before_a_chunk_that_would_cross_it_and_skips_later_phases(clock):
    # chunks of 100 steps take 1 s: after 3 s the next would end at 4 s > 3.5 s
    sol = ns.solve(_ode(), phases=[ns.Adam(1000), ns.Adam(500)], time_limit=3.5, callback=clock.tick, **TINY)
    assert sol.status == "ok"
    assert sol.phases == [{"phase": "adam", "steps": 300, "stop": "time limit reached"}]  # the second never ran
    assert sol.message == "training stopped at its time limit of 3.5 s after 300 steps"
    assert [r["step"] for r in sol.history] == [100, 200, 300]  # the last record is the stopping point


def test_a_later_phase_starts_unless_the_limit_is_reached(clock):
    # the first phase ends at exactly 2 s: the second may not start
    sol = ns.solve(_ode(), phases=[ns.Adam(200), ns.Adam(300)], time_limit=2.0, callback=clock.tick, **TINY)
    assert [p["stop"] for p in sol.phases] == ["step budget reached", "time limit reached"]
    assert [p["steps"] for p in sol.phases] == [200, 0] and sol.message.endswith("after 200 steps")
    assert [r["step"] for r in sol.history] == [100, 200]  # no second record of step 200


def test_a_later_phase_first_chunk_is_not_predicted(clock):
    # at 2 s < 2.5 s the second phase's first chunk (which would include compilation) runs; its
    # second would end past the limit
    sol = ns.solve(_ode(), phases=[ns.Adam(200), ns.Adam(300)], time_limit=2.5, callback=clock.tick, **TINY)
    assert [p["steps"] for p in sol.phases] == [200, 100]
    assert sol.phases[1]["stop"] == "time limit reached" and sol.message.endswith("after 300 steps")


def test_a_stop_between_progress_records_gets_a_final_record(clock):
    """Chunks end at every redraw (50 steps) but progress is recorded every 100: the fit loop is
    called directly, with a sampler that makes every chunk take 1 s."""

    def sampler(draw):
        clock.now = float(draw)  # draw k starts after k chunks
        return jnp.full(3, 1.0 + draw)

    def terms(params, data):
        return jnp.stack([jnp.sum((params["w"] - data) ** 2)])

    records = []
    result = fit_module.fit(terms, {"w": jnp.zeros(3)}, sampler, [ns.Adam(1000)], weights=jnp.ones(1),
                            schedule=fit_module.Schedule(log_every=100, redraw=50), callback=records.append,
                            time_limit=3.5)  # fmt: skip
    assert result.phases == [{"phase": "adam", "steps": 150, "stop": "time limit reached"}]
    assert [r["step"] for r in records] == [100, 150] and result.history == records
    assert records[-1]["elapsed"] == 3.0


def test_no_limit_changes_nothing(clock):
    sol = ns.solve(_ode(), phases=[ns.Adam(300)], callback=clock.tick, **TINY)
    assert sol.phases == [{"phase": "adam", "steps": 300, "stop": "step budget reached"}]
    assert sol.message == "training completed"


def test_real_clock_stops_a_long_budget():
    sol = ns.solve(_ode(), phases=[ns.Adam(10**7), ns.LBFGS(100)], time_limit=1.0, **TINY)
    assert sol.status == "ok" and len(sol.phases) == 1 and sol.phases[0]["stop"] == "time limit reached"
    assert 0 < sol.steps < 10**7 and "time limit of 1 s" in sol.message


def test_resuming_a_run_that_reached_its_limit_trains_no_further(clock, tmp_path):
    problem, phases = _ode(), [ns.Adam(1000)]
    first = ns.solve(problem, phases=phases, time_limit=2.5, callback=clock.tick, checkpoint=Checkpoint(tmp_path),
                     **TINY)  # fmt: skip
    again = ns.solve(problem, phases=phases, time_limit=2.5, callback=clock.tick, checkpoint=Checkpoint(tmp_path),
                     resume=True, **TINY)  # fmt: skip
    assert first.phases == again.phases == [{"phase": "adam", "steps": 200, "stop": "time limit reached"}]
    assert again.message == first.message and again.history == first.history


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, True, "600"])
def test_solve_rejects_a_bad_time_limit(bad):
    with pytest.raises(ns.ProblemError, match=r"time_limit must be a positive, finite number of seconds"):
        ns.solve(_ode(), time_limit=bad)


def test_eigenproblems_refuse_a_time_limit():
    problem = ns.Problem(ns.Interval(0, 1), "psi", "-diff(psi, x, 2) = E*psi", [ns.Dirichlet("psi", 0)],
                         eigen=Eigen("E", 1))  # fmt: skip
    with pytest.raises(ns.ProblemError, match="time_limit is not available for eigenproblems"):
        ns.solve(problem, time_limit=10)


def test_problem_file_time_limit(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(POISSON_1D + "\n[solver]\ntime_limit = 600\n")
    assert ns.load(path).solver["time_limit"] == 600.0


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "true", '"600"'])
def test_problem_file_rejects_a_bad_time_limit_in_one_line(tmp_path, value):
    path = tmp_path / "p.toml"
    path.write_text(POISSON_1D + f"\n[solver]\ntime_limit = {value}\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert re.search(r":13: solver\.time_limit: expected a positive, finite number of seconds", line), line
