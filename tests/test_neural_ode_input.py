"""Bad input to a neural-ODE problem ([solver] method = "neural-ode", [solver.ode], the
``trajectory`` column, hidden ``activation`` and ``network``) gets one line naming the file, the
key (with its line) and the cause, and exit status 2, from ``neuralsolve check``, before anything
compiles; the same settings through the Python API resolve, or raise a ProblemError saying what is
wrong, and a problem built in Python saves as a file that reads back to the same settings.
Nothing here trains.
"""

import dataclasses
import pathlib
import re
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner
from jax import monitoring

import neuralsolve as ns
from neuralsolve.cli.main import main
from neuralsolve.dispatch import prepare
from neuralsolve.methods.neural_ode.settings import default_phases
from neuralsolve.spec.dump import data_texts, problem_table, solver_table, to_toml

_COMPILES: list = []
monitoring.register_event_duration_secs_listener(
    lambda name, seconds, **_: _COMPILES.append(name) if name.endswith("backend_compile_duration") else None)

# A valid file: a fully neural vector field (two hidden terms, one network) learned from four
# trajectories; every bad case below changes one piece of it.
BASE = """\
name = "oscillator"
fields = ["x", "y"]
equations = ["diff(x, t) = y + F", "diff(y, t) = -x + G"]

[domain]
t = [0, 2]

[hidden]
F = { inputs = ["x", "y"], network = "net", activation = "softplus" }
G = { inputs = ["x", "y"], network = "net", activation = "softplus" }

[data]
file = "obs.csv"

[solver]
method = "neural-ode"

[solver.ode]
batch = 2
holdout = 0.25
"""
G_LINE = 'G = { inputs = ["x", "y"], network = "net", activation = "softplus" }'
NO_SOLVER = BASE[: BASE.index("[solver]")].replace(', network = "net"', "")  # method "pinn", the default


def _series(amplitudes=(0.5, 1.0, 1.5, 2.0), ids=None) -> str:
    """Circles of several amplitudes, five samples each, one trajectory per amplitude."""
    ids = list(range(len(amplitudes))) if ids is None else ids
    rows = [f"{t:g},{a * np.cos(t):.6f},{-a * np.sin(t):.6f},{k}" for k, a in zip(ids, amplitudes)
            for t in np.linspace(0, 2, 5)]  # fmt: skip
    return "t,x,y,trajectory\n" + "\n".join(rows) + "\n"


OBS = _series()


def _edit(text: str, old: str, new: str) -> str:
    assert old in text  # a case that no longer changes its base would test the base
    return text.replace(old, new, 1)


def _ode(line: str) -> str:
    """The base with ``line`` added to its [solver.ode] table."""
    return _edit(BASE, "batch = 2\n", f"batch = 2\n{line}\n")


def _write(folder: pathlib.Path, text: str, obs: str = OBS) -> pathlib.Path:
    (folder / "obs.csv").write_text(obs)
    path = folder / "p.toml"
    path.write_text(text)
    return path


def _line(text: str, start: str) -> int:
    """The number of the first line of ``text`` that starts with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith(start))


def _check(path: pathlib.Path):
    _COMPILES.clear()
    result = CliRunner().invoke(main, ["check", str(path)])
    assert not _COMPILES, _COMPILES  # checking reads and traces, it never compiles
    return result


# name: (problem file, obs.csv, key, start of the key's line, cause as a regular expression)
BAD = {
    # [solver.ode], key by key
    "solver_ode_unknown_key": (_ode("speed = 3"), OBS, "solver.ode.speed", "speed =",
                               r"unknown key; expected one of integrator, rtol, atol, max_steps, adjoint, batch, "
                               r"window, grow, regularise, regularisation, regularisation_final, holdout, loss, initial"),
    "integrator_unknown": (_ode('integrator = "rk99"'), OBS, "solver.ode.integrator", "integrator =",
                           r"expected one of 'tsit5', .*'kvaerno5'.*, got a string \('rk99'\)"),
    "rtol_zero": (_ode("rtol = 0"), OBS, "solver.ode.rtol", "rtol =",
                  r"expected a finite number > 0, got a whole number \(0\)"),
    "max_steps_zero": (_ode("max_steps = 0"), OBS, "solver.ode.max_steps", "max_steps =",
                       r"expected a whole number >= 1 and <= 10000000, got a whole number \(0\)"),
    "adjoint_unknown": (_ode('adjoint = "x"'), OBS, "solver.ode.adjoint", "adjoint =",
                        r"expected one of 'recursive', 'backsolve', 'direct', got a string \('x'\)"),
    "batch_zero": (_edit(BASE, "batch = 2", "batch = 0"), OBS, "solver.ode.batch", "batch =",
                   r"expected a whole number >= 1 .*, got a whole number \(0\)"),
    "window_one": (_ode("window = 1"), OBS, "solver.ode.window", "window =", r"expected a whole number >= 2 .*\(1\)"),
    "grow_zero": (_ode("grow = 0"), OBS, "solver.ode.grow", "grow =",
                  r"expected a finite number > 0 and <= 1, got a whole number \(0\)"),
    "grow_above_one": (_ode("grow = 1.5"), OBS, "solver.ode.grow", "grow =", r"> 0 and <= 1, got a number \(1\.5\)"),
    "regularise_unknown": (_ode('regularise = "x"'), OBS, "solver.ode.regularise", "regularise =",
                           r"expected one of 'none', 'error', 'stiffness', 'local', got a string \('x'\)"),
    "regularisation_negative": (_ode("regularisation = -1"), OBS, "solver.ode.regularisation", "regularisation =",
                                r"expected a finite number >= 0, got a whole number \(-1\)"),
    "holdout_one": (_edit(BASE, "holdout = 0.25", "holdout = 1.0"), OBS, "solver.ode.holdout", "holdout =",
                    r"expected a finite number >= 0 and < 1, got a number \(1\.0\)"),
    "loss_unknown": (_ode('loss = "l3"'), OBS, "solver.ode.loss", "loss =",
                     r"expected one of 'mse', 'l1', got a string \('l3'\)"),
    # [solver.ode], keys together
    "backsolve_with_regulariser": (_ode('adjoint = "backsolve"\nregularise = "error"'), OBS, "solver.ode",
                                   "[solver.ode]", r"regularisers need adjoint = 'recursive' or 'direct'"),
    "window_without_batch": (_edit(BASE, "batch = 2", "window = 3"), OBS, "solver", "[solver]", r"window needs batch"),
    # the problem does not fit the method
    "two_coordinates": (_edit(BASE, "t = [0, 2]", "t = [0, 2]\nz = [0, 1]"), "t,z,x,y\n0,0,1,0\n1,0.5,0.5,-0.8\n",
                        "solver", "[solver]", r"only coordinate is t; this one has z, t \(use method = 'pinn'\)"),
    "no_data": (_edit(BASE, '[data]\nfile = "obs.csv"\n\n', ""), OBS, "solver", "[solver]",
                r"method 'neural-ode' learns from trajectories: give data \(\[data\]\)"),
    "no_time_derivative": (_edit(BASE, "diff(x, t) = y + F", "x = y + F"), OBS, "solver", "[solver]",
                           r"no equation gives the time derivative of x"),
    "nonlinear_in_derivative": (_edit(BASE, "diff(x, t) = y + F", "diff(x,t)**2 = x + F"), OBS, "solver", "[solver]",
                                r"must be linear in the highest time derivatives"),
    "boundary_condition": (_edit(BASE, "[data]", '[[conditions]]\non = "t = 2"\nset = "x = 0"\n\n[data]'), OBS,
                           "conditions[1]", "[[conditions]]", r"method 'neural-ode' takes initial conditions only"),
    # settings of the other method
    "pinn_points_with_neural_ode": (_edit(BASE, "[solver.ode]", "[solver.points]\ninterior = 100\n\n[solver.ode]"),
                                    OBS, "solver", "[solver]", r"does not use the solver setting\(s\) points"),
    "pinn_windows_with_neural_ode": (_edit(BASE, 'method = "neural-ode"', 'method = "neural-ode"\nwindows = 2'), OBS,
                                     "solver", "[solver]", r"does not use the solver setting\(s\) windows"),
    "solver_ode_with_pinn": (_edit(BASE, 'method = "neural-ode"', 'method = "pinn"'), OBS, "solver", "[solver]",
                             r"ode settings are for method = 'neural-ode'; this solve uses method = 'pinn'"),
    "pinn_with_trajectories": (NO_SOLVER, OBS, "data.file", "file =",
                               r"4 trajectories .*several need \[solver\] method = 'neural-ode'"),
    "pinn_with_shared_network": (BASE[: BASE.index("[solver]")], _series(ids=[0] * 4), "hidden.F", "F =",
                                 r"a shared network is for \[solver\] method = 'neural-ode'"),
    # hidden terms and the trajectory column
    "hidden_activation_relu": (_edit(BASE, G_LINE, G_LINE.replace("softplus", "relu")), OBS, "hidden.G.activation",
                               "G =", r"expected one of 'tanh', 'softplus', 'gelu', 'sin', got a string \('relu'\)"),
    "shared_network_differing_inputs": (_edit(BASE, G_LINE, G_LINE.replace('["x", "y"]', '["x"]')), OBS, "hidden.G",
                                        "G =", r"'F' and 'G' share the network 'net' but differ in inputs"),
    "scale_inputs_not_a_flag": (_edit(BASE, G_LINE, G_LINE.replace("}", ", scale_inputs = 1 }")), OBS,
                                "hidden.G.scale_inputs", "G =", r"expected true or false"),
    "trajectory_not_whole": (BASE, _series(ids=[0, 1, 1.5, 2]), "data.file", "file =",
                             r"row 11: trajectory is 1\.5; expected a whole number naming the series"),
}  # fmt: skip


@pytest.mark.parametrize("text", [BASE, NO_SOLVER], ids=["neural_ode", "pinn"])
def test_the_valid_bases_pass_check(text, tmp_path):
    """Each bad case breaks one thing of a valid file: the error is that thing's."""
    obs = OBS if text is BASE else _series(ids=[0] * 4)  # one series: the collocation method's data
    result = _check(_write(tmp_path, text, obs))
    assert result.exit_code == 0 and ": ok" in result.output, result.output


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_neural_ode_input_gets_one_line_with_file_line_key_and_cause(name, tmp_path):
    text, obs, key, line, cause = BAD[name]
    path = _write(tmp_path, text, obs)
    result = _check(path)
    assert result.exit_code == 2, result.output
    (message,) = result.output.strip().splitlines()  # one line, no traceback
    prefix = f"error: {path}:{_line(text, line)}: {key}: "
    assert message.startswith(prefix), message
    assert re.search(cause, message[len(prefix):]), message


def test_an_initial_condition_in_a_file_is_taken(tmp_path):
    text = _edit(BASE, "[data]", '[[conditions]]\non = "t = 0"\nset = "x = 1"\n\n[data]')
    result = _check(_write(tmp_path, text))
    assert result.exit_code == 0, result.output


# --- the Python API -------------------------------------------------------------------------------

T = ns.Interval(0, 2, coord="t")
TIMES = np.tile(np.linspace(0, 2, 5), 2)
DATA = ns.Data({"t": TIMES, "x": np.cos(TIMES), "y": -np.sin(TIMES), "trajectory": np.repeat([0, 1], 5)})
SHARED = {"F": ns.Hidden(["x", "y"], network="net", activation="gelu"), "G": ns.Hidden(["x", "y"], network="net",
                                                                                       activation="gelu")}  # fmt: skip


def _problem(domain=T, data=DATA, hidden=None, **kwargs):
    return ns.Problem(domain, ["x", "y"], ["diff(x, t) = y + F", "diff(y, t) = -x + G"],
                      hidden=SHARED if hidden is None else hidden, data=data, **kwargs)  # fmt: skip


API_BAD = {
    "rtol_zero": (lambda: ns.ODE(rtol=0), r"ode: rtol must be a positive, finite number, got 0"),
    "integrator_unknown": (lambda: ns.ODE(integrator="rk99"), r"ode: integrator must be one of tsit5, .*got 'rk99'"),
    "grow_above_one": (lambda: ns.ODE(grow=1.5), r"ode: grow must be a fraction in \(0, 1\], got 1\.5"),
    "holdout_one": (lambda: ns.ODE(holdout=1.0), r"ode: holdout must be a fraction in \[0, 1\), got 1\.0"),
    "backsolve_with_regulariser": (lambda: ns.ODE(adjoint="backsolve", regularise="stiffness"),
                                   r"ode: the regularisers need adjoint = 'recursive' or 'direct'"),
    "hidden_activation_relu": (lambda: ns.Hidden(["x"], activation="relu"), r"hidden: activation must be one of tanh"),
    "scale_inputs_not_a_flag": (lambda: ns.Hidden(["x"], scale_inputs="no"),
                                r"hidden: scale_inputs must be true or false, got 'no'"),
    "shared_network_differing_scaling": (
        lambda: _problem(hidden={"F": ns.Hidden(["x", "y"], network="net"),
                                 "G": ns.Hidden(["x", "y"], scale_inputs=False, network="net")}),
        r"hidden terms 'F' and 'G' share the network 'net' but differ"),
    "shared_network_differing_width": (
        lambda: _problem(hidden={"F": ns.Hidden(["x", "y"], network="net"),
                                 "G": ns.Hidden(["x", "y"], width=8, network="net")}),
        r"hidden terms 'F' and 'G' share the network 'net' but differ"),
    "window_without_batch": (lambda: prepare(_problem(), {"method": "neural-ode", "ode": ns.ODE(window=3)}),
                             r"ode: window needs batch"),
    "ode_not_an_ode": (lambda: prepare(_problem(), {"method": "neural-ode", "ode": {"rtol": 1e-3}}),
                       r"ode must be ODE\(\.\.\.\), got dict"),
    "pinn_setting": (lambda: prepare(_problem(), {"method": "neural-ode", "points": ns.Points()}),
                     r"method 'neural-ode' does not use the solver setting\(s\) points"),
    "two_coordinates": (lambda: prepare(_problem(ns.SpaceTime(ns.Interval(0, 1, coord="z"), (0, 2)),
                                                 ns.Data({"t": [0, 1], "z": [0, 0], "x": [1, 0], "y": [0, 1]})),
                                        {"method": "neural-ode"}),
                        r"only coordinate is t; this one has z, t"),
    "pinn_with_trajectories": (lambda: prepare(_problem(hidden={"F": ns.Hidden(["x"]), "G": ns.Hidden(["y"])}), {}),
                               r"data 1: it holds 2 trajectories"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(API_BAD))
def test_bad_neural_ode_input_through_the_api_raises_problem_error(name):
    build, match = API_BAD[name]
    _COMPILES.clear()
    with pytest.raises(ns.ProblemError, match=match):
        build()
    assert not _COMPILES


def test_prepare_resolves_the_settings_given_over_the_problems_and_the_defaults():
    ode = ns.ODE(integrator="kvaerno5", rtol=1e-4, batch=1, window=3, grow=0.5, regularise="error", holdout=0.5)
    problem = _problem(solver={"method": "neural-ode", "seed": 3, "precision": "float32"})
    family, settings = prepare(problem, {"ode": ode, "precision": "float64"})
    assert family.name == "neural-ode"
    assert settings == {"method": "neural-ode", "ode": ode, "phases": default_phases(), "precision": "float64",
                        "seed": 3, "time_limit": None}  # fmt: skip
    assert prepare(_problem(), {"method": "neural-ode"})[1]["ode"] == ns.ODE()


@pytest.mark.parametrize("steps", [None, 500])
def test_a_run_directory_takes_the_neural_ode_defaults_not_the_collocation_ones(steps, tmp_path):
    """``neuralsolve solve FILE [--steps N]`` on a file that names no phases trains with the
    phases ``ns.solve`` uses for it (they once were the collocation method's: another rate, five
    times the L-BFGS budget)."""
    from neuralsolve import rundir

    run = rundir.create(tmp_path / "run", _write(tmp_path, BASE), steps=steps)
    problem, kwargs = rundir.settings(run)
    expected = list(default_phases()) if steps is None else rundir.rescale(list(default_phases()), steps)
    assert kwargs["phases"] == expected
    assert prepare(problem, kwargs)[1]["phases"] == tuple(expected)
    if steps is None:
        assert prepare(problem, kwargs)[1] == prepare(ns.load(tmp_path / "p.toml"), {})[1]


def test_a_problem_built_in_python_saves_and_reads_back_the_same(tmp_path):
    ode = ns.ODE(integrator="dopri5", atol=1e-7, max_steps=500, adjoint="direct", batch=2, window=4, grow=0.25,
                 regularise="local", regularisation=0.5, holdout=0.5, loss="l1")  # fmt: skip
    problem = _problem(name="shared")
    phases = [ns.Adam(steps=10), ns.LBFGS(steps=5)]
    _, settings = prepare(problem, {"method": "neural-ode", "ode": ode, "phases": phases})
    table = {**problem_table(problem), "solver": solver_table(settings)}
    for name, text in data_texts(problem).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "p.toml").write_text(to_toml(table))
    assert _check(tmp_path / "p.toml").exit_code == 0
    loaded = ns.load(tmp_path / "p.toml")
    assert prepare(loaded, {})[1] == settings
    assert loaded.inverse.hidden == problem.inverse.hidden
    np.testing.assert_array_equal(loaded.inverse.data[0].trajectory, np.repeat([0, 1], 5))


def test_documented_ode_defaults_are_the_defaults():
    docs = (pathlib.Path(__file__).parents[1] / "docs/problem-files.md").read_text()
    section = docs[docs.index("### Neural ODEs") :]
    documented = tomllib.loads(re.search(r"```toml\n(.*?)```", section, re.S).group(1))["solver"]
    assert documented["method"] == "neural-ode"
    assert ns.ODE(**documented["ode"]) == ns.ODE()
    assert set(documented["ode"]) | {"batch", "window", "regularisation_final"} == {f.name for f in dataclasses.fields(ns.ODE)}


def test_unscaled_hidden_inputs_reach_the_network_raw_and_read_back(tmp_path):
    from neuralsolve.methods.neural_ode.system import OdeSystem

    raw = {k: ns.Hidden(["x", "y"], network="net", activation="gelu", scale_inputs=False) for k in ("F", "G")}
    statics = {name: OdeSystem(_problem(hidden=h)).init_hidden(np.float64, 0)[1]["net"] for name, h in
               (("scaled", SHARED), ("raw", raw))}  # fmt: skip
    assert (statics["raw"].lo, statics["raw"].hi) == ((-1.0, -1.0), (1.0, 1.0))  # the identity map
    assert statics["scaled"].lo != (-1.0, -1.0)  # the data's range, widened
    problem = _problem(hidden=raw, solver={"method": "neural-ode"})
    for name, text in data_texts(problem).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "p.toml").write_text(to_toml({**problem_table(problem), "solver": {"method": "neural-ode"}}))
    assert ns.load(tmp_path / "p.toml").inverse.hidden == problem.inverse.hidden


def test_an_annealed_regulariser_weight_falls_exponentially_over_the_first_phase():
    from neuralsolve.methods.neural_ode.model import NeuralODEModel

    ode = ns.ODE(regularise="error", regularisation=1.0, regularisation_final=0.01)
    _, settings = prepare(_problem(), {"method": "neural-ode", "ode": ode, "phases": [ns.Adam(steps=101)]})
    model = NeuralODEModel(_problem(), settings, np.float64)
    assert [float(model._annealing(s)) for s in (0, 50, 100, 1000)] == pytest.approx([1.0, 0.1, 0.01, 0.01])
    assert model._annealing(None) == pytest.approx(0.01)  # full-batch phases and the records: the final weight
    _, settings = prepare(_problem(), {"method": "neural-ode", "ode": ns.ODE(regularise="error")})
    assert NeuralODEModel(_problem(), settings, np.float64)._annealing(7) == 1.0  # not annealed
    for bad in (0, -1.0, True):
        with pytest.raises(ns.ProblemError, match="regularisation_final must be a positive, finite number"):
            ns.ODE(regularise="error", regularisation_final=bad)
