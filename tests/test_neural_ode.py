"""Neural ODEs (method = "neural-ode"): the system built from the equations, the solver's counts
and failures, and small solves that recover a constant, keep going through save and open, and
stop honestly when the vector field blows up. Accuracy and speed at scale: benchmarks/neural_ode.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import neuralsolve as ns
from conftest import NEURAL_ODE_K
from neuralsolve._errors import ProblemError
from neuralsolve.methods.neural_ode.integrate import STIFF, GradientCount, Integrator, count_forward, evaluations_per_step
from neuralsolve.methods.neural_ode.system import OdeSystem

K = 0.7  # the decay rate the small solves recover


def _decay_data(times_by_trajectory, y0s, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t, y, k = [], [], []
    for i, (ts, y0) in enumerate(zip(times_by_trajectory, y0s)):
        t += list(ts)
        y += list(y0 * np.exp(-K * np.asarray(ts)) + noise * rng.normal(size=len(ts)))
        k += [i] * len(ts)
    return ns.Data({"t": t, "y": y, "trajectory": k})


def _decay_problem(data, **kw):
    return ns.Problem(ns.Interval(0, 2, "t"), "y", "diff(y, t) = -k*y", unknowns={"k": ns.Unknown(0.3, positive=True)},
                      data=data, exact={"k": K}, **kw)  # fmt: skip


def test_second_order_equations_become_a_first_order_system():
    p = ns.Problem(ns.Interval(0, 1, "t"), "x", "2*diff(x, t, 2) + 0.5*diff(x, t) + 3*x = 0",
                   data=ns.Data({"t": [0.0, 1.0], "x": [1.0, 0.5]}))  # fmt: skip
    system = OdeSystem(p)
    assert system.states == ("x", "x_t")
    f = system.vector_field({})
    rates = f(0.0, jnp.asarray([2.0, 4.0]), ({}, {}, None))
    np.testing.assert_allclose(rates, [4.0, -(0.5 * 4.0 + 3 * 2.0) / 2])


def test_equations_that_do_not_give_every_rate_are_refused():
    data = ns.Data({"t": [0.0, 1.0], "x": [1.0, 0.5], "y": [0.0, 1.0]})
    p = ns.Problem(ns.Interval(0, 1, "t"), ["x", "y"], ["diff(x, t) + diff(y, t) = x", "2*diff(x, t) + 2*diff(y, t) = y"],
                   data=data)  # fmt: skip
    with pytest.raises(ProblemError, match="do not determine"):
        OdeSystem(p)


def test_counted_evaluations_match_the_per_step_count():
    """NFE during training is start + per_step * steps; a counted solve of another equation agrees."""
    start, per_step = evaluations_per_step("tsit5")
    assert per_step == 6  # Tsit5: seven stages, the first reused from the step before (FSAL)
    with jax.enable_x64(True):
        n, steps = count_forward(lambda t, y, a: a * jnp.cos(t) * y, ns.ODE(), 2.0, 0.0, jnp.linspace(0, 3, 4), jnp.ones(3))
    assert n == start + per_step * steps and steps > 5


def test_a_gradient_count_compiled_ahead_counts_as_one_compiled_on_the_spot():
    """The NFE count is compiled while training runs, with the initial parameters; called with
    others of the same structure it counts what a count compiled for them counts, call after call."""
    def f(t, y, a):
        return -a * y

    with jax.enable_x64(True):
        ts = jnp.linspace(0.0, 3.0, 4)
        ahead = GradientCount(f, ns.ODE(), 0.0, ts).compile(jnp.asarray(0.1), jnp.ones(2))
        on_the_spot = GradientCount(f, ns.ODE(), 0.0, ts)  # compiled at its first call
        counts = [on_the_spot(jnp.asarray(rate), jnp.ones(2)) for rate in (0.1, 5.0)]
        assert [ahead(jnp.asarray(rate), jnp.ones(2)) for rate in (0.1, 5.0)] == counts
    slow, fast = counts
    assert fast["steps"] > slow["steps"] > 0 and fast["evaluations"] > fast["steps"] and fast["vjps"] > 0


def test_a_blow_up_is_reported_as_stiff_not_a_hang():
    with jax.enable_x64(True):
        integrator = Integrator(lambda t, y, a: y**2, ns.ODE(max_steps=64))
        ys, steps, outcome, _ = jax.jit(integrator.solve)(None, 0.0, jnp.linspace(0, 2, 3), jnp.ones(1))
    assert int(outcome) == STIFF and int(steps) == 64 and not np.isfinite(np.asarray(ys)[-1]).all()


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_a_constant_and_initial_states_are_recovered_through_the_solver(neural_ode_run):
    """The shared oscillator solve (conftest.py): k, the held-out series, NFE and the regulariser."""
    sol = ns.open(neural_ode_run)
    assert sol.status == "ok", sol.message
    assert abs(sol.unknowns["k"] - NEURAL_ODE_K) / NEURAL_ODE_K < 1e-5  # clean data: the solver's tolerance is left
    assert sol.metrics["trajectories"] == {"train": 2, "heldout": 1}
    assert max(sol.metrics["heldout_relative_error"].values()) < 1e-4  # the held-out series, from its first sample
    assert sol.metrics["nfe"]["forward"] > 0 and sol.metrics["nfe"]["backward"] > sol.metrics["nfe"]["forward"]
    assert sol.history[-1]["terms"][2] > 0 and sol.history[0]["terms"][1] > 0  # NFE and the regulariser recorded


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_a_reopened_neural_ode_gives_its_trajectories(neural_ode_run):
    """ns.open rebuilds the learned system from the checkpoint: the first trajectory from its
    trained initial state is the exact solution with the estimated k."""
    sol = ns.open(neural_ode_run)
    ts = np.linspace(0, 3, 7)
    (x0, y0), w = sol.metrics["initial_states"][0], np.sqrt(sol.unknowns["k"])
    exact = np.c_[x0 * np.cos(w * ts) + y0 / w * np.sin(w * ts), -x0 * w * np.sin(w * ts) + y0 * np.cos(w * ts)]
    np.testing.assert_allclose(sol(ts[:, None]), exact, atol=1e-6)
    np.testing.assert_allclose(sol.predict([1.0, 0.0], ts)[:, 0], np.cos(w * ts), atol=1e-6)


@pytest.mark.slow  # two more solves of the shared one (make accuracy)
def test_ctrl_c_then_resume_ends_as_the_uninterrupted_solve(neural_ode_files, neural_ode_run, tmp_path, monkeypatch):
    """``neuralsolve solve`` stopped by Ctrl-C at the end of its Adam phase keeps the steps done, and
    ``neuralsolve resume`` trains on from them to the uninterrupted run's constant and misfit."""
    import json
    import os
    import signal

    from click.testing import CliRunner

    from neuralsolve.cli.main import main
    from neuralsolve.cli.progress import Progress

    update = Progress.update

    def interrupted(self, record):
        update(self, record)
        if record["step"] == 100:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Progress, "update", interrupted)
    out = tmp_path / "run"
    stopped = CliRunner().invoke(main, ["solve", str(neural_ode_files / "oscillator.toml"), "--out", str(out),
                                        "--checkpoint-every", "0"])  # fmt: skip
    assert stopped.exit_code == 130, stopped.output
    assert json.loads((out / "metrics.json").read_text())["steps"] == 100
    monkeypatch.undo()
    resumed = CliRunner().invoke(main, ["resume", str(out)])
    assert resumed.exit_code == 0 and "resuming from step 100 of 300" in resumed.output, resumed.output
    after, full = (json.loads((d / "metrics.json").read_text()) for d in (out, neural_ode_run))
    assert after["phases"] == full["phases"]
    assert after["unknowns"]["k"] == pytest.approx(full["unknowns"]["k"], rel=1e-10)
    assert after["data_misfit_rms"] == pytest.approx(full["data_misfit_rms"], rel=1e-8)


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_a_diverging_vector_field_stops_with_status_and_finite_parameters():
    """y' = k y^2 with k started at 5 blows up at t = 0.2 < 2: the first solve fails, training
    stops at once and says why, keeping the starting parameters."""
    t = np.linspace(0, 2, 8)
    data = ns.Data({"t": t, "y": 1 / (1 + 0.1 * t)})
    p = ns.Problem(ns.Interval(0, 2, "t"), "y", "diff(y, t) = k*y**2", unknowns={"k": ns.Unknown(5.0)}, data=data)
    sol = ns.solve(p, method="neural-ode", ode=ns.ODE(max_steps=200), phases=[ns.Adam(20)])
    assert sol.status in ("stiff", "diverged") and "kept the last parameters" in sol.message
    assert sol.unknowns["k"] == pytest.approx(5.0)


@pytest.mark.slow  # about a minute (make accuracy); mini-batches and the regulariser are in the shared solve
def test_windows_regularisers_and_batches_train():
    """ode_demo's recipe in small: random windows of consecutive samples, one trajectory; with the
    error-estimate regulariser the term is positive and training still lowers the misfit."""
    t = np.linspace(0, 2, 25)
    data = ns.Data({"t": t, "y": 1.3 * np.exp(-K * t)})
    ode = ns.ODE(window=5, batch=4, regularise="error", regularisation=1e-3)
    sol = ns.solve(_decay_problem(data), method="neural-ode", ode=ode, phases=[ns.RMSprop(60, learning_rate=0.02)],
                   log_every=20)
    first, last = sol.history[0]["terms"], sol.history[-1]["terms"]
    assert sol.status == "ok" and last[1] > 0 and last[0] < first[0]


@pytest.mark.slow  # about a minute: a hidden network trained, regressed and verified in rounds (make accuracy)
def test_a_hidden_decay_term_is_discovered_and_verified_through_the_solver():
    rng = np.random.default_rng(5)
    data = _decay_data([np.sort(rng.uniform(0, 2, 12)) for _ in range(2)], [1.0, 2.0])
    p = ns.Problem(ns.Interval(0, 2, "t"), "y", "diff(y, t) = F", hidden={"F": ns.Hidden(["y"], width=8, depth=1)},
                   discover=ns.Discover(degree=2, refit=100, ensemble=0), data=data)  # fmt: skip
    sol = ns.solve(p, method="neural-ode", phases=[ns.Adam(300, learning_rate=0.02), ns.LBFGS(200)])
    assert sol.status == "ok", sol.message
    (formula,) = sol.discovered.values()
    y = sympy.Symbol("y")
    found = sympy.sympify(formula)
    assert sympy.expand(found - found.coeff(y) * y) == 0, formula  # one term: a multiple of y
    assert float(found.coeff(y)) == pytest.approx(-K, rel=1e-3), formula
    assert sol.metrics["verification"].startswith("re-solved with the formulas") and len(sol.metrics["discovery_candidates"]) >= 2
    # the report draws the network along the first trajectory against the formula: it saves its values
    t = np.linspace(0, 2, 50)[:, None]
    network, y_t = sol.hidden_along(t)["F"], sol(t)[:, 0]
    assert network.shape == (50,)
    np.testing.assert_allclose(network, float(found.coeff(y)) * y_t, rtol=0.05, atol=0.02)


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_the_local_regulariser_is_finite_on_whole_series_and_batches():
    """The local regulariser draws its time from the step number (and from 0 for the whole data)."""
    t = np.linspace(0, 2, 8)
    p = _decay_problem(ns.Data({"t": t, "y": np.exp(-K * t)}))
    with jax.enable_x64(True):
        from neuralsolve.methods.neural_ode.model import NeuralODEModel
        from neuralsolve.methods.neural_ode.settings import resolve

        model = NeuralODEModel(p, resolve(p, {"method": "neural-ode", "ode": ns.ODE(regularise="local")}), jnp.float64)
        data = model.data(model.train, None, 0)
        terms = jax.jit(model.terms)
        whole, batch = terms(model.params, data), terms(model.params, data, jnp.asarray(3))
    assert np.all(np.isfinite(whole)) and whole[1] > 0 and batch[1] > 0


def test_a_dropped_terms_misfit_is_the_misfit_without_it():
    """Verification scores each round by the data misfit of the formulas it keeps: a coefficient
    the support drops counts as 0, whatever value its raw parameter kept from earlier rounds."""
    t = np.linspace(0, 2, 8)
    p = ns.Problem(ns.Interval(0, 2, "t"), "y", "diff(y, t) = a*y + b", data=ns.Data({"t": t, "y": np.exp(-K * t)}),
                   unknowns={"a": ns.Unknown(-K), "b": ns.Unknown(0.5)})  # fmt: skip
    with jax.enable_x64(True):
        from neuralsolve.methods.neural_ode.discovery import _misfits
        from neuralsolve.methods.neural_ode.model import NeuralODEModel
        from neuralsolve.methods.neural_ode.settings import resolve

        model = NeuralODEModel(p, resolve(p, {"method": "neural-ode"}), jnp.float64)
        dropped = _misfits(model, model.params, {"a": 1.0, "b": 0.0})["y"][0]
        zero = {**model.params, "theta": {**model.params["theta"], "b": jnp.asarray(0.0)}}
        assert dropped == pytest.approx(_misfits(model, zero, {"a": 1.0, "b": 1.0})["y"][0], rel=1e-9)
        assert dropped < 0.1 * _misfits(model, model.params, {"a": 1.0, "b": 1.0})["y"][0]  # b = 0.5 is far off


def test_a_blown_up_rounds_restart_is_each_formulas_fit_on_its_kept_terms():
    """The restart of a verification round that blew up: each formula's kept terms fitted by
    least squares to its own network's values, the dropped ones left out."""
    from neuralsolve.methods.neural_ode.discovery import _kept_least_squares

    rng = np.random.default_rng(0)
    features = {"F": rng.normal(size=(40, 3)), "G": rng.normal(size=(40, 2))}
    values = {"F": features["F"] @ [2.0, 0.0, -1.0] + 0.01 * rng.normal(size=40), "G": features["G"] @ [0.5, 3.0]}
    library = {"F": (["x", "y", "x*y"], features["F"]), "G": (["x", "y"], features["G"])}
    names = {"F": {"x": "F_1", "y": "F_2", "x*y": "F_3"}, "G": {"x": "G_1", "y": "G_2"}}
    samples = {k: (None, v) for k, v in values.items()}
    start = _kept_least_squares(library, names, samples, {"F_1": 1.0, "F_2": 0.0, "F_3": 1.0, "G_1": 1.0, "G_2": 1.0})
    expected = np.linalg.lstsq(features["F"][:, [0, 2]], values["F"], rcond=None)[0]
    assert set(start) == {"F_1", "F_3", "G_1", "G_2"}
    assert [start["F_1"], start["F_3"]] == pytest.approx(expected, rel=1e-12)
    assert [start["G_1"], start["G_2"]] == pytest.approx([0.5, 3.0], rel=1e-12)
