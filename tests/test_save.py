"""Solution.save: a solve made in Python written as the run directory the command line writes, which
``neuralsolve report`` re-renders and ``neuralsolve.open`` reopens with the same values; problems
are written as problem files (a file's own text when loaded from one), and what has no file form yet
is refused by name."""

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner

import neuralsolve as ns
from neuralsolve import rundir
from neuralsolve.cli.main import main
from neuralsolve.dispatch import prepare
from neuralsolve.loss.terms import term_names
from neuralsolve.spec.dump import problem_table, solver_table, to_toml
from neuralsolve.spec.load import load, solver_settings

OUTPUTS = ["problem.toml", "run.json", "checkpoint.npz", "metrics.json", "history.json", "solution.npz",
           "solution_u.png", "loss_history.png", "report.html"]  # fmt: skip


@pytest.fixture(scope="module")
def solved():
    """A tiny solve made in Python, with settings that differ from every default."""
    problem = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = -pi**2*sin(pi*x)", [ns.Dirichlet("u", 0.0)],
                         exact={"u": "sin(pi*x)"}, name="Poisson from Python")  # fmt: skip
    return ns.solve(problem, network=ns.MLP(8, 2), points=ns.Points(32), phases=[ns.Adam(30, learning_rate=3e-3)], seed=3)


def test_a_python_solve_saves_a_run_directory_that_report_and_open_read(solved, tmp_path):
    out = solved.save(tmp_path / "run")
    assert out == tmp_path / "run"
    assert all((out / name).exists() for name in OUTPUTS), sorted(p.name for p in out.iterdir())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["l2_relative_error"] == solved.metrics["l2_relative_error"]
    assert metrics["settings"]["network"] == {"width": 8, "depth": 2, "activation": "tanh"} and metrics["seed"] == 3

    (out / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "Poisson from Python" in (out / "report.html").read_text()

    reopened = ns.open(out)
    x = np.linspace(0, 1, 9)[:, None]
    np.testing.assert_array_equal(reopened(x), solved(x))
    assert reopened.settings == solved.settings and reopened.status == solved.status


def test_the_saved_problem_file_states_the_problem_and_run_json_the_settings(solved, tmp_path):
    solved.save(tmp_path)
    text = (tmp_path / "problem.toml").read_text()
    assert 'equations = ["diff(u, x, 2) = -pi**2*sin(pi*x)"]' in text and 'set = "u = 0.0"' in text
    problem, kwargs = rundir.settings(tmp_path)
    assert term_names(problem) == term_names(solved.problem)
    assert kwargs["phases"] == [ns.Adam(30, learning_rate=3e-3)] and kwargs["seed"] == 3


def test_a_problem_loaded_from_a_file_is_saved_as_its_own_text(tmp_path):
    text = '# my comment\nname = "P"\nfields = ["u"]\nequations = ["diff(u, x, 2) = 1"]\n[domain]\nx = [0, 2]\n'
    (tmp_path / "p.toml").write_text(text)
    assert rundir.problem_text(load(tmp_path / "p.toml")) == text


def test_saving_refuses_another_run_in_the_directory_unless_told(solved, tmp_path):
    solved.save(tmp_path)
    with pytest.raises(ns.ProblemError, match="already holds a run.*overwrite=True"):
        solved.save(tmp_path)
    solved.save(tmp_path, overwrite=True)


def test_what_has_no_problem_file_form_is_refused_by_name_before_anything_is_written(solved, tmp_path):
    other = copy.copy(solved)
    other.problem = ns.Problem(ns.Interval(0, 1), "u", lambda p: p.d("u", "x", 2), [ns.Dirichlet("u", 0.0)])
    with pytest.raises(ns.ProblemError, match="equation 1 is a Python function"):
        other.save(tmp_path / "run")
    assert not (tmp_path / "run").exists()
    value = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = 1", [ns.Dirichlet("u", lambda p: 0.0)])
    with pytest.raises(ns.ProblemError, match="condition 1 is a Python function"):
        problem_table(value)
    late = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = 1", [ns.Observations("u", [[0.5]], [1.0]),
                                                                   ns.Dirichlet("u", 0.0)])  # fmt: skip
    with pytest.raises(ns.ProblemError, match="observations must come after the other conditions"):
        problem_table(late)


def test_a_disk_in_time_with_observations_reads_back_as_the_same_problem(tmp_path):
    problem = ns.Problem(ns.SpaceTime(ns.Disk((0.5, 0), 2.0), (0, 1)), "u", "diff(u, t) = diff(u, x, 2) + diff(u, y, 2)",
                         [ns.Dirichlet("u", 0.0), ns.Initial("u", "1 - (x - 0.5)**2/4 - y**2/4"),
                          ns.Observations("u", [[0.5, 0, 0.5], [1, 1, 0.25]], [0.3, 0.1], weight=5)])  # fmt: skip
    (tmp_path / "p.toml").write_text(to_toml(problem_table(problem)))
    loaded = load(tmp_path / "p.toml")
    assert loaded.domain.coords == ("x", "y", "t") and loaded.domain.bounds()[1].tolist() == [2.5, 2.0, 1.0]
    assert term_names(loaded) == term_names(problem)
    observed = loaded.penalties[-1]
    np.testing.assert_array_equal(observed.points, [[0.5, 0, 0.5], [1, 1, 0.25]])
    np.testing.assert_array_equal(observed.targets, [0.3, 0.1])
    assert observed.weight == 5


def test_conditions_of_every_kind_read_back_as_the_same_loss_terms(tmp_path):
    problem = ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 2)), "u", "diff(u, t, 2) = c*diff(u, x, 2)", [
        ns.Dirichlet("u", "sin(pi*t)", on="x = 0"), ns.Neumann("u", 1.5, on="x = 0"), ns.Robin("u", 2, 3, 0, on="x = 1"),
        ns.Initial("u", "sin(pi*x)"), ns.InitialRate("u", 0), ns.Condition("u = 0", on="x = 1", weight=4.0)],
        parameters={"c": 2.0}, exact={"u": "0"}, name="wave", reference="none")  # fmt: skip
    (tmp_path / "p.toml").write_text(to_toml(problem_table(problem)))
    loaded = load(tmp_path / "p.toml")
    assert term_names(loaded) == term_names(problem)
    assert loaded.parameters == {"c": 2.0} and loaded.reference == "none" and list(loaded.exact) == ["u"]
    assert [(h.field, h.axis, h.side) for h in loaded.hard] == [(h.field, h.axis, h.side) for h in problem.hard]
    assert [p.weight for p in loaded.penalties] == [p.weight for p in problem.penalties]


def test_solver_settings_read_back_equal(solved):
    table = solver_table(solved.settings)
    assert table["weighting"] == "fixed" and table["causal"] is False
    again = solver_settings(json.loads(json.dumps(table)))  # through JSON, as run.json holds it
    assert prepare(solved.problem, again)[1] == solved.settings
