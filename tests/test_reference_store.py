"""Classical references kept on disk (neuralsolve.reference.stored): a repeated solve of the same
problem file reads the values it solved before, and anything that could change them solves again."""

import json
import pathlib

import numpy as np
import pytest

import neuralsolve as ns
import neuralsolve.reference
from neuralsolve.compile_cache import references_directory, store_references
from neuralsolve.pinn.measure import BackgroundReference, reference_for
from neuralsolve.reference.stored import stored

ROOT = pathlib.Path(__file__).resolve().parents[1]
ODE = (ROOT / "src/neuralsolve/examples/ode_system.toml").read_text()  # solve_ivp: no exact solution given
POINTS = np.linspace(0, 10, 57)[:, None]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The store in ``tmp_path``, and the number of classical solves made (``solves[0]``)."""
    solves = [0]
    solve = neuralsolve.reference.classical_reference

    def counted(problem, **kwargs):
        solves[0] += 1
        return solve(problem, **kwargs)

    monkeypatch.setattr(neuralsolve.reference, "classical_reference", counted)  # where measuring finds it
    before = references_directory()  # a command run earlier in this process may have set one
    store_references(tmp_path / "references")
    yield tmp_path / "references", solves
    store_references(before)


def load(tmp_path, text: str, name: str = "problem.toml"):
    path = tmp_path / name
    path.write_text(text)
    return ns.load(path)


def test_a_kept_reference_is_read_back_not_solved_again(tmp_path, store):
    folder, solves = store
    direct = reference_for(load(tmp_path, ODE))  # not kept: no expected points
    first = reference_for(load(tmp_path, ODE), [POINTS])
    assert solves[0] == 2
    values = first(POINTS)
    np.testing.assert_array_equal(values, direct(POINTS))
    again = reference_for(load(tmp_path, ODE), [POINTS])
    np.testing.assert_array_equal(again(POINTS), values)
    assert solves[0] == 2  # read back
    assert (again.method, again.error_estimate) == (direct.method, direct.error_estimate)
    other = np.linspace(0, 10, 31)[:, None]  # never asked for: solved now, once, then kept
    np.testing.assert_array_equal(again(other), direct(other))
    np.testing.assert_array_equal(again(other), direct(other))
    assert solves[0] == 3
    assert len(list(folder.iterdir())) == 1


def test_a_kept_reference_missing_the_expected_points_is_solved_at_once(tmp_path, store):
    _, solves = store
    reference_for(load(tmp_path, ODE), [POINTS])(POINTS)
    reference_for(load(tmp_path, ODE), [POINTS[:20]])  # points not kept: solved now (in the background)
    assert solves[0] == 2


def test_the_problem_not_its_solver_settings_names_the_kept_reference(tmp_path, store):
    folder, solves = store
    for text in (ODE, ODE.replace("width = 64", "width = 32"), ODE + "\n# a comment\n"):
        reference_for(load(tmp_path, text), [POINTS])(POINTS)
    assert solves[0] == 1 and len(list(folder.iterdir())) == 1
    changed = reference_for(load(tmp_path, ODE.replace("c = 0.5", "c = 0.25")), [POINTS])
    assert solves[0] == 2 and len(list(folder.iterdir())) == 2
    assert not np.allclose(changed(POINTS), reference_for(load(tmp_path, ODE), [POINTS])(POINTS))


def test_problems_with_data_or_built_in_python_are_not_kept(tmp_path, store):
    folder, _ = store
    solves = []

    def solve():  # a stand-in reference: the store only needs its values, method and estimate
        solves.append(1)
        values = lambda points: np.zeros((len(points), 1))  # noqa: E731
        values.method, values.error_estimate = "stand-in", None
        return values

    built = ns.Problem(ns.Interval(0, 1, "t"), "u", "diff(u, t) = -u", [ns.Initial("u", 1.0)])
    with_data = ns.load(ROOT / "src/neuralsolve/examples/decay_rate.toml")  # reads decay_rate.csv
    for problem in (built, with_data, built, with_data):
        stored(problem, solve, [POINTS])(POINTS)
    assert len(solves) == 4
    assert not folder.exists() or not any(folder.iterdir())


def test_a_damaged_store_solves_again(tmp_path, store):
    folder, solves = store
    values = reference_for(load(tmp_path, ODE), [POINTS])(POINTS)
    (kept,) = folder.iterdir()
    for path in kept.iterdir():
        path.write_bytes(b"not what it was")
    again = reference_for(load(tmp_path, ODE), [POINTS])
    np.testing.assert_array_equal(again(POINTS), values)
    assert solves[0] == 2
    assert json.loads((kept / "reference.json").read_text())["method"] == again.method


def test_a_background_reference_keeps_what_the_metrics_ask_for(tmp_path, store):
    _, solves = store
    for _ in range(2):
        pending = BackgroundReference(load(tmp_path, ODE), x64=True, expected=lambda: [POINTS])
        pending.start()
        values = pending()(POINTS)
    assert solves[0] == 1
    np.testing.assert_array_equal(values, reference_for(load(tmp_path, ODE))(POINTS))


def test_a_reference_that_cannot_be_solved_is_not_kept(tmp_path, store):
    """No classical method, or a solve that fails (with a warning saying why): nothing is kept, so
    a repeated solve tries again and says why again."""
    folder, _ = store
    failed = []

    def fails():
        failed.append(1)
        return None

    problem = load(tmp_path, ODE)
    assert stored(problem, fails, [POINTS]) is None
    assert stored(problem, fails, [POINTS]) is None
    assert len(failed) == 2 and not any(p.name == "reference.json" for p in folder.rglob("*"))
