"""Exact periodicity through the network's inputs, and time marching (``windows``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve._errors import ProblemError
from neuralsolve.pinn.model import build_model
from neuralsolve.reference import classical_reference


def _advection(conditions=None, t1=2.0, **kwargs):
    """u_t + u_x = 0, periodic on [0, 2π]: u = sin(x − t)."""
    domain = ns.SpaceTime(ns.Interval(0, 2 * np.pi), (0, t1))
    conditions = conditions if conditions is not None else [ns.Periodic("x"), ns.Initial("u", "sin(x)")]
    return ns.Problem(domain, "u", "diff(u, t) + diff(u, x) = 0", conditions, exact={"u": "sin(x - t)"}, **kwargs)


def test_exact_periodicity_holds_for_values_and_derivatives_of_an_untrained_network():
    with jax.enable_x64(True):
        model, params = build_model(_advection(), ns.MLP(16, 2), jnp.float64, 3)
        t = jnp.linspace(0, 2, 7)
        left = jnp.stack([jnp.zeros_like(t), t], 1)
        right = left.at[:, 0].set(2 * np.pi)
        f = jax.vmap(lambda y: model(params, y)[0])
        dx = jax.vmap(lambda y: jax.jvp(lambda z: model(params, z)[0], (y,), (jnp.array([1.0, 0.0]),))[1])
        np.testing.assert_allclose(f(left), f(right), rtol=0, atol=1e-13)
        np.testing.assert_allclose(dx(left), dx(right), rtol=0, atol=1e-12)
        assert float(jnp.std(f(left))) > 1e-3  # not periodic by being constant


def test_exact_periodicity_has_no_loss_term_and_penalty_keeps_one():
    from neuralsolve.loss.terms import term_names

    assert term_names(_advection()) == ["equation: diff(u, t) + diff(u, x) = 0"]
    penalty = _advection([ns.Periodic("x", impose="penalty"), ns.Initial("u", "sin(x)")])
    assert len(term_names(penalty)) == 2 and "periodic in x" in term_names(penalty)[1]


def test_exact_periodicity_keeps_the_classical_reference():
    points = np.random.default_rng(0).random((500, 2)) * [2 * np.pi, 2]
    values = classical_reference(_advection()).values(points)[:, 0]
    exact = np.sin(points[:, 0] - points[:, 1])
    assert np.linalg.norm(values - exact) / np.linalg.norm(exact) <= 1e-4


@pytest.mark.parametrize("conditions, match", [
    ([ns.Periodic("x", impose="sideways")], "impose must be 'exact' or 'penalty'"),
    ([ns.Periodic("x"), ns.Periodic("x")], "already periodic"),
    ([ns.Periodic("x"), ns.Dirichlet("u", 0.0)], "conflicts with its exact periodicity"),
])  # fmt: skip
def test_periodic_misuse_is_one_clear_error(conditions, match):
    with pytest.raises(ProblemError, match=match):
        _advection(conditions)


@pytest.fixture(scope="module")
def march(tmp_path_factory):
    """The advection marched in two windows, saved in a run directory with its checkpoints: the
    solve that three tests read (a solve per test took most of this file's time, nearly all of it
    compiling). Returns the solution and the run directory."""
    from neuralsolve import rundir

    file = tmp_path_factory.mktemp("march") / "p.toml"
    file.write_text(ADVECTION_FILE.replace("WINDOWS", "2") + MARCH_SOLVER)
    run = rundir.create(file.parent / "run", file)
    problem, kwargs = rundir.settings(run)
    return ns.solve(problem, **kwargs, checkpoint=ns.Checkpoint(run)), run


@pytest.mark.slow  # moved out of make test for the CI budget (issue 17's cluster tests); make accuracy runs it
def test_marching_in_two_windows_solves_advection_and_logs_both_windows(march):
    sol, _ = march
    assert sol.status == "ok" and sol.message.startswith("2 time windows solved")
    assert sol.metrics["l2_relative_error"]["u"] < 1e-2
    assert [p["window"] for p in sol.phases] == [0, 0, 1, 1]
    assert {r["window"] for r in sol.history} == {0, 1}
    steps = [r["step"] for r in sol.history]
    assert steps == sorted(steps) and steps[-1] == sol.steps
    assert "u continues the previous window" in sol.term_names  # window 1 starts from window 0 at t = 1
    late = np.array([[1.0, 1.5], [4.0, 1.9]])
    np.testing.assert_allclose(sol(late, "u"), np.sin(late[:, 0] - late[:, 1]), atol=3e-2)


def test_a_march_out_of_time_before_its_first_window_still_answers():
    """A deadline already past when marching starts (the bench reruns a march within a peer's
    short wall time): the first window still trains, briefly, and the answer says how far it got."""
    sol = ns.solve(_advection(), network=ns.MLP(8, 1), points=ns.Points(interior=64), windows=2,
                   phases=[ns.Adam(5)], time_limit=1e-9)  # fmt: skip
    assert "1 of 2 time windows solved (t <= 1; later times extrapolate)" in sol.message, sol.message
    assert sol.status == "disagrees"  # an untrained network: the verdict says so
    assert np.all(np.isfinite(sol(np.array([[1.0, 0.5], [1.0, 1.5]]), "u")))


@pytest.mark.slow  # about 35 s on a 2-core CPU: run by `make accuracy`
def test_marching_a_wave_carries_the_rate_across_windows():
    """u_tt = u_xx on [0, π], u = 0 at the ends, u(x, 0) = sin x, u_t(x, 0) = 0: u = sin x cos t."""
    domain = ns.SpaceTime(ns.Interval(0, np.pi), (0, 3))
    problem = ns.Problem(domain, "u", "diff(u, t, 2) = diff(u, x, 2)",
                         [ns.Dirichlet("u", 0.0), ns.Initial("u", "sin(x)"), ns.InitialRate("u", 0.0)],
                         exact={"u": "sin(x)*cos(t)"})  # fmt: skip
    sol = ns.solve(problem, network=ns.MLP(16, 2), points=ns.Points(interior=256), windows=3,
                   phases=[ns.Adam(200), ns.LBFGS(400)])  # fmt: skip
    assert sol.metrics["l2_relative_error"]["u"] < 1e-2
    continuity = [name for name in sol.term_names if "continues the previous window" in name]
    assert continuity == ["u continues the previous window", "u_t continues the previous window"]


@pytest.mark.slow  # moved out of make test for the CI budget (issue 17's cluster tests); make accuracy runs it
def test_a_marching_run_resumes_from_its_windows_checkpoints(march):
    from neuralsolve import rundir

    first, run = march
    assert sorted(p.name for p in run.glob("checkpoint*")) == ["checkpoint.window0.npz", "checkpoint.window1.npz"]
    problem, kwargs = rundir.settings(run)
    again = ns.solve(problem, **kwargs, checkpoint=ns.Checkpoint(run), resume=True)
    assert again.steps == first.steps and len(again.history) == len(first.history)
    x = np.array([[1.0, 0.5], [2.0, 1.5]])
    np.testing.assert_array_equal(again(x), first(x))


@pytest.mark.parametrize("make, windows, match", [
    (lambda: _advection(), 0, "windows must be a whole number >= 1"),
    (lambda: ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = -1", [ns.Dirichlet("u", 0.0)]), 2,
     "needs a problem in space and time"),
    (lambda: _advection([ns.Periodic("x"), ns.Initial("u", "sin(x)"),
                         ns.Observations("u", [[1.0, 1.0]], [0.0])]), 2, "observations cannot be combined"),
    (lambda: _advection([ns.Periodic("x"), ns.Dirichlet("u", "sin(x - 2)", on="t = 2")]), 2,
     "every condition in time at the start time"),
])  # fmt: skip
def test_windows_misuse_is_one_clear_error(make, windows, match):
    with pytest.raises(ProblemError, match=match):
        ns.solve(make(), windows=windows, phases=[ns.Adam(1)])


ADVECTION_FILE = """name = "advection"
fields = ["u"]
equations = ["diff(u, t) + diff(u, x) = 0"]

[domain]
x = [0, 6.283185307179586]
t = [0, 2]

[[conditions]]
periodic = "x"

[[conditions]]
on = "t = 0"
set = "u = sin(x)"

[solver]
windows = WINDOWS
"""
MARCH_SOLVER = """network = {width = 16, depth = 2}
points = {interior = 256}
phases = [{method = "adam", steps = 200}, {method = "lbfgs", steps = 400}]

[exact]
u = "sin(x - t)"
"""


def _plan(problem, n):
    from neuralsolve.methods.march.window import plan

    return plan(problem, n)


def test_windows_of_a_problem_without_explicit_time_share_one_problem_moved_in_time():
    """u_t + u_x = 0 reads time only through u: windows 1, 2, 3 are window 1's problem, moved."""
    windows = _plan(_advection(), 4)
    assert windows[1].problem is windows[2].problem is windows[3].problem
    assert windows[0].problem is not windows[1].problem
    np.testing.assert_allclose([w.shift for w in windows], [0.0, 0.0, 0.5, 1.0], atol=1e-15)
    assert windows[1].problem.domain.segments()[1].lo == 0.5  # solved on [0.5, 1]


@pytest.mark.parametrize("equation, conditions", [
    ("diff(u, t) + diff(u, x) = cos(t)", None),  # a source in time
    ("diff(u, t) + diff(u, x) = 0", [ns.Dirichlet("u", "sin(t)", on="x = 0"), ns.Initial("u", "sin(x)")]),
    ("diff(u, t) + diff(u, x) = 0", [ns.Dirichlet("u", "sin(t)", on="x = 0", impose="penalty"),
                                     ns.Initial("u", "sin(x)")]),
    (lambda p: p.d("u", "t") + p.d("u", "x") - p["t"] * p["u"], None),  # a Python residual reading t
])  # fmt: skip
def test_windows_of_a_problem_depending_on_time_get_a_problem_each(equation, conditions):
    domain = ns.SpaceTime(ns.Interval(0, 2 * np.pi), (0, 2))
    conditions = conditions if conditions is not None else [ns.Periodic("x"), ns.Initial("u", "sin(x)")]
    windows = _plan(ns.Problem(domain, "u", equation, conditions), 3)
    assert windows[1].problem is not windows[2].problem
    assert [w.shift for w in windows] == [0.0, 0.0, 0.0]
    assert windows[2].problem.domain.segments()[1].lo == pytest.approx(4 / 3)


def test_a_window_starts_from_the_previous_networks_values_and_rates_at_its_end():
    """The continuity targets are the previous network at the end of the interval it was solved on."""
    from neuralsolve.methods.march.window import start_targets
    from neuralsolve.pinn.model import build_model

    domain = ns.SpaceTime(ns.Interval(0, np.pi), (0, 3))
    problem = ns.Problem(domain, "u", "diff(u, t, 2) = diff(u, x, 2)",
                         [ns.Dirichlet("u", 0.0), ns.Initial("u", "sin(x)"), ns.InitialRate("u", 0.0)])  # fmt: skip
    windows = _plan(problem, 3)
    with jax.enable_x64(True):
        model, params = build_model(windows[1].problem, ns.MLP(8, 2), jnp.float64, 0)
        targets = start_targets(windows[2], windows[1], model, params)
        starts = windows[2].starts
        face = windows[2].problem.penalties[starts[0]].points.copy()
        face[:, 1] = 2.0  # window 1 was solved on [1, 2]; window 2, solved there too, answers on [2, 3]
        y = jnp.asarray(face)
        values = jax.vmap(lambda z: model(params, z)[0])(y)
        rates = jax.vmap(lambda z: jax.jvp(lambda w: model(params, w)[0], (z,), (jnp.array([0.0, 1.0]),))[1])(y)
    assert windows[2].shift == pytest.approx(1.0) and len(starts) == 2
    np.testing.assert_allclose(targets[starts[0]], values, rtol=1e-14)
    np.testing.assert_allclose(targets[starts[1]], rates, rtol=1e-14)
    assert np.std(targets[starts[0]]) > 1e-3


def test_windows_in_a_problem_file(tmp_path):
    from neuralsolve.spec.load import load

    text = ADVECTION_FILE
    good = tmp_path / "good.toml"
    good.write_text(text.replace("WINDOWS", "4"))
    assert load(good).solver["windows"] == 4
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("WINDOWS", "0"))
    with pytest.raises(ProblemError, match=r"solver\.windows"):
        load(bad)


@pytest.mark.slow  # moved out of make test for the CI budget (issue 17's cluster tests); make accuracy runs it
def test_a_saved_march_reopens_to_the_same_solution(march):
    sol, run = march
    reopened = ns.open(run)
    x = np.array([[1.0, 0.5], [2.0, 1.5], [3.0, 2.0]])
    np.testing.assert_array_equal(reopened(x), sol(x))
    assert reopened.steps == sol.steps == 2 * (200 + 400)  # each window ran its whole budget
    assert [p["window"] for p in reopened.phases] == [0, 0, 1, 1]


@pytest.mark.slow  # about 25 s on a 2-core CPU: run by `make accuracy`
def test_marching_a_problem_with_a_source_in_time():
    """u_t + u_x = cos t, periodic: u = sin(x − t) + sin t. Each window is a problem of its own
    (the source reads t), moved nowhere."""
    domain = ns.SpaceTime(ns.Interval(0, 2 * np.pi), (0, 2))
    problem = ns.Problem(domain, "u", "diff(u, t) + diff(u, x) = cos(t)", [ns.Periodic("x"), ns.Initial("u", "sin(x)")],
                         exact={"u": "sin(x - t) + sin(t)"})  # fmt: skip
    sol = ns.solve(problem, network=ns.MLP(16, 2), points=ns.Points(interior=256), windows=3,
                   phases=[ns.Adam(200), ns.LBFGS(400)])  # fmt: skip
    assert sol.status == "ok" and sol.metrics["l2_relative_error"]["u"] < 2e-3
