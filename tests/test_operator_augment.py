"""Training pairs multiplied by the equation's symmetries: each symmetry verified on the equation,
and each transformed pair an exact pair of the solution operator."""

import re

import jax
import numpy as np
import pytest
from click.testing import CliRunner

import neuralsolve as ns
from neuralsolve._errors import ProblemError
from neuralsolve.cli.main import main
from neuralsolve.methods.operator.augment import Augmentation, augmentation, check
from neuralsolve.reference.operators import generator_for
from neuralsolve.reference.spectral import solve_periodic

from conftest import BURGERS_OPERATOR


def _problem(equation: str, tmp):
    return _load(tmp, BURGERS_OPERATOR.replace('"diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)"', f'"{equation}"'))


def _load(tmp, text):
    (tmp / "p.toml").write_text(text)
    return ns.load(tmp / "p.toml")


@pytest.mark.parametrize(("equation", "holds"), [
    ("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)", {"translation", "galilean", "odd-reflection"}),
    ("diff(u, t) = -diff(u**2/2, x) + 0.1*diff(u, x, 2)", {"translation", "galilean", "odd-reflection"}),  # conservative
    ("diff(u, t) + u*diff(u, x) + diff(u, x, 3) = 0", {"translation", "galilean"}),  # KdV
    ("diff(u, t) = 0.1*diff(u, x, 2)", {"translation", "reflection", "odd-reflection"}),  # heat: no boosts
    ("diff(u, t) = 0.1*diff(u, x, 2) - u**3 + diff(u, x)**2", {"translation", "reflection"}),
    ("diff(u, t) + diff(u, x) = 0", {"translation"}),  # advection at a fixed speed
    ("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2) + sin(x)*u", set()),  # forcing in x: none
    ("diff(u, t) = 0.1*diff(u, x, 2) + cos(x)*u", set()),  # even in x, but not shift-invariant: none claimed
])  # fmt: skip
def test_each_symmetry_is_verified_on_the_equation(tmp_path, equation, holds):
    problem = _problem(equation, tmp=tmp_path)
    for name in ("translation", "galilean", "reflection", "odd-reflection"):
        if name in holds:
            check(problem, (name,))
        else:
            with pytest.raises(ProblemError, match=f"training.augment: '{name}' does not hold"):
                check(problem, (name,))


def test_transformed_pairs_are_exact_pairs_of_the_operator(tmp_path):
    """Shift and boost pairs the ETDRK4 solver made, then solve the transformed inputs afresh."""
    problem = _problem("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)", tmp=tmp_path)
    gen = generator_for(problem)
    n = 64
    x = gen.grid(n)[0]
    a = np.stack([np.sin(x) + 0.3 * np.cos(2 * x) + 0.2, 0.5 * np.cos(x) - 0.4 * np.sin(3 * x) - 0.3])
    # one small step for every solve: the default step depends on max |u0|, and the solver's own
    # error would then differ between a pair and its transform
    solve = lambda row: solve_periodic(gen.rhs, gen.u, gen.x, row, gen.length, gen.span, dt=2e-3)  # noqa: E731
    u = np.stack([solve(row) for row in a])
    aug = augmentation(problem, ("translation", "galilean"), a)
    assert aug.translate and aug.max_boost >= 1
    assert aug.boost_step == pytest.approx(gen.length / n / gen.span)
    with jax.enable_x64(True):
        ta, tu = (np.asarray(v) for v in aug.apply(jax.random.PRNGKey(3), a, u))
    boosts = np.mean(ta, axis=1) - np.mean(a, axis=1)  # the input's mean moves by c
    assert np.all(np.abs(boosts) <= aug.max_boost * aug.boost_step + 1e-12) and np.any(boosts != 0)
    for row, out in zip(ta, tu):
        assert np.linalg.norm(solve(row) - out) < 1e-9 * np.linalg.norm(out)


def test_shifts_alone_keep_the_values_and_roll_input_and_output_together():
    a = np.arange(12.0).reshape(2, 6)
    u = a**2
    ta, tu = (np.asarray(v) for v in Augmentation(translate=True).apply(jax.random.PRNGKey(0), a, u))
    for row, t_row, t_out in zip(a, ta, tu):
        k = int(np.argmax(t_row == row[0]))
        np.testing.assert_array_equal(t_row, np.roll(row, k))
        np.testing.assert_array_equal(t_out, np.roll(row**2, k))


def test_a_burgers_pair_under_every_symmetry_at_once_is_exact(tmp_path):
    problem = _problem("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)", tmp=tmp_path)
    gen = generator_for(problem)
    x = gen.grid(48)[0]
    a = np.stack([np.sin(x) + 0.3 * np.cos(2 * x) + 0.2 * k for k in range(-2, 3)])
    solve = lambda row: solve_periodic(gen.rhs, gen.u, gen.x, row, gen.length, gen.span, dt=2e-3)  # noqa: E731
    u = np.stack([solve(row) for row in a])
    aug = augmentation(problem, ("translation", "galilean", "odd-reflection"), a)
    with jax.enable_x64(True):
        ta, tu = (np.asarray(v) for v in aug.apply(jax.random.PRNGKey(5), a, u))
    for row, out in zip(ta, tu):
        assert np.linalg.norm(solve(row) - out) < 1e-9 * np.linalg.norm(out)


def test_shifts_by_fractions_of_a_grid_step_stay_exact_pairs(tmp_path):
    """Batches held on a grid 4 times finer, shifted and boosted there, then subsampled: pairs on
    the training grid that no whole-step shift makes, each still an exact pair."""
    problem = _problem("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)", tmp=tmp_path)
    gen = generator_for(problem)
    x = gen.grid(4 * 48)[0]
    fine = np.stack([np.sin(x) + 0.3 * np.cos(2 * x) + 0.2 * k for k in range(-2, 3)])
    solve = lambda row: solve_periodic(gen.rhs, gen.u, gen.x, row, gen.length, gen.span, dt=2e-3)  # noqa: E731
    u = np.stack([solve(row) for row in fine])
    aug = augmentation(problem, ("translation", "galilean"), fine[:, ::4], fine=4)
    assert aug.boost_step == pytest.approx(gen.length / (4 * 48) / gen.span)
    with jax.enable_x64(True):
        ta, tu = (np.asarray(v) for v in aug.apply(jax.random.PRNGKey(5), fine, u))
    assert ta.shape == tu.shape == (5, 48)
    steps = (np.mean(ta, axis=1) - np.mean(fine, axis=1)) / aug.boost_step
    assert np.any(np.round(steps) % 4 != 0)  # boosts by fractions of a training-grid step
    for row, out in zip(ta, tu):  # the input, a trigonometric polynomial, is its interpolant on the fine grid
        finer = np.fft.irfft(np.fft.rfft(row), 4 * 48) * 4
        assert np.linalg.norm(solve(finer)[::4] - out) < 1e-9 * np.linalg.norm(out)


def test_band_limited_batches_are_the_band_limited_pairs_of_shifted_and_boosted_inputs(tmp_path):
    """With ``coarsen = "spectral"`` the batches on the finer grid are shifted and boosted there,
    then cut to the training grid's modes: each is the cut of an exact pair, a mode beyond the
    training grid's reach (mode 30 on 48 points) dropped, not folded."""
    from neuralsolve.reference.datasets import band_limited

    problem = _problem("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)", tmp=tmp_path)
    gen = generator_for(problem)
    x = gen.grid(4 * 48)[0]
    fine = np.stack([np.sin(x) + 0.3 * np.cos(2 * x) + 0.02 * np.sin(30 * x) + 0.2 * k for k in range(-2, 3)])
    solve = lambda row: solve_periodic(gen.rhs, gen.u, gen.x, row, gen.length, gen.span, dt=2e-3)  # noqa: E731
    u = np.stack([solve(row) for row in fine])
    aug = augmentation(problem, ("translation", "galilean"), band_limited(fine, 48), fine=4, spectral=True)
    with jax.enable_x64(True):
        ta, tu = (np.asarray(v) for v in aug.apply(jax.random.PRNGKey(5), fine, u))
    assert ta.shape == tu.shape == (5, 48)
    boosts = np.round((np.mean(ta, axis=1) - np.mean(fine, axis=1)) / aug.boost_step)
    for row, boost, a_cut, u_cut in zip(fine, boosts, ta, tu):
        moved = [np.roll(row + boost * aug.boost_step, m) for m in range(4 * 48)]
        m = int(np.argmin([np.linalg.norm(band_limited(v[None], 48)[0] - a_cut) for v in moved]))
        np.testing.assert_allclose(band_limited(moved[m][None], 48)[0], a_cut, atol=1e-12)
        exact = band_limited(solve(moved[m])[None], 48)[0]
        assert np.linalg.norm(exact - u_cut) < 1e-9 * np.linalg.norm(u_cut)


def test_a_solve_holds_its_batches_on_the_finest_grid_the_data_allow(tmp_path):
    from neuralsolve.methods.operator.train import finer_grid
    from neuralsolve.reference.datasets import Dataset

    data = Dataset(np.zeros((4, 96)), np.zeros((4, 96)), 2, True, key="k", source="s")
    assert finer_grid(data, 32, ("translation",)) == 3 and finer_grid(data, 12, ("galilean",)) == 8
    assert finer_grid(data, 32, ("odd-reflection",)) == 1  # nothing shifts
    square = Dataset(np.zeros((4, 9, 9)), np.zeros((4, 9, 9)), 2, False, key="k", source="s")
    assert finer_grid(square, 5, ("reflection",)) == 1


def test_augment_names_are_checked_and_other_problems_refused(tmp_path):
    assert ns.Training(augment="galilean").augment == ("galilean",)
    assert ns.Training(augment=["translation", "translation"]).augment == ("translation",)
    with pytest.raises(ProblemError, match="augment must be a list of translation, galilean, reflection, odd-reflection, rotation"):
        ns.Training(augment=["scaling"])
    darcy = (tmp_path / "d.toml")
    from test_operator import DARCY

    darcy.write_text(DARCY)
    for problem, names in ((ns.load(darcy), ("translation",)), (_problem("diff(u, t) = diff(u, x, 2)", tmp_path),
                                                                 ("rotation",))):  # fmt: skip
        with pytest.raises(ProblemError, match="does not apply here; 1-D periodic evolution problems .* take "
                                               "translation, galilean, reflection, odd-reflection, 2-D steady .* take reflection, rotation"):
            check(problem, names)


def test_check_refuses_a_symmetry_the_equation_lacks_in_one_line(tmp_path):
    text = BURGERS_OPERATOR.replace("u*diff(u, x) = 0.1", "diff(u, x) = 0.1").replace(
        "[solver.training]\n", '[solver.training]\naugment = ["galilean"]\n')
    (tmp_path / "bad.toml").write_text(text)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "bad.toml")])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert re.search(r"bad.toml:\d+: solver.training.augment: 'galilean' does not hold", line), line


def test_a_solve_trains_on_augmented_batches(tmp_path):
    text = BURGERS_OPERATOR.replace("epochs = 40", "epochs = 3").replace(
        "[solver.training]\n", '[solver.training]\naugment = ["translation", "galilean"]\n')
    sol = ns.solve(_load(tmp_path, text))
    assert sol.operator_model.augment.translate and sol.operator_model.augment.max_boost > 0
    assert np.isfinite(sol.metrics["test_relative_l2"]) and len(sol.history) > 0


def test_a_solve_trains_on_the_relative_h1_loss(tmp_path):
    sol = ns.solve(_load(tmp_path, BURGERS_OPERATOR.replace("epochs = 40", 'epochs = 3\nloss = "relative-h1"')))
    assert sol.operator_model.loss == "relative-h1" and sol.operator_model.spacing == pytest.approx((2 * np.pi / 32,))
    assert np.isfinite(sol.metrics["test_relative_l2"]) and len(sol.history) > 0
    assert set(sol.metrics["sampling_floor"]) == {"32", "64"}  # the solver itself from the test inputs at 32, 64


def test_check_names_the_augmentation(tmp_path):
    text = BURGERS_OPERATOR.replace("[solver.training]\n", '[solver.training]\naugment = ["translation", "galilean"]\n')
    (tmp_path / "p.toml").write_text(text)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "p.toml")])
    assert result.exit_code == 0, result.output
    assert "model: fno (width 8, modes 6, layers 2), trained 40 epochs" in result.output
    assert "on pairs augmented by translation and galilean" in result.output
    assert "in batches of 10 (float32)" in result.output
    (tmp_path / "p.toml").write_text(text.replace("batch = 10\n", "batch = 200\n"))  # more than the 80 samples
    result = CliRunner().invoke(main, ["check", str(tmp_path / "p.toml")])
    assert "in full batches of all 80 training samples (float32)" in result.output, result.output


@pytest.mark.parametrize(("equation", "name", "sign"), [
    ("diff(u, t) = 0.1*diff(u, x, 2) - u**3", "reflection", 1),
    ("diff(u, t) + u*diff(u, x) = 0.1*diff(u, x, 2)", "odd-reflection", -1),
])
def test_a_mirrored_pair_is_an_exact_pair_of_the_operator(tmp_path, equation, name, sign):
    problem = _problem(equation, tmp=tmp_path)
    gen = generator_for(problem)
    x = gen.grid(32)[0]
    a = np.stack([np.sin(x) + 0.4 * np.cos(2 * x) + 0.3 * np.sin(3 * x) + 0.1] * 8)  # eight draws of one pair
    solve = lambda row: solve_periodic(gen.rhs, gen.u, gen.x, row, gen.length, gen.span, dt=2e-3)  # noqa: E731
    u = np.stack([solve(a[0])] * 8)
    aug = augmentation(problem, (name,), a)
    assert (aug.reflect, aug.odd_reflect, aug.translate) == (sign == 1, sign == -1, False)
    with jax.enable_x64(True):
        ta, tu = (np.asarray(v) for v in aug.apply(jax.random.PRNGKey(0), a, u))
    mirrored = sign * np.roll(a[0][::-1], 1)  # ±u0(-x) on the periodic grid
    assert any(np.array_equal(r, mirrored) for r in ta) and any(np.array_equal(r, a[0]) for r in ta)
    for row, out in zip(ta, tu):
        assert np.linalg.norm(solve(row) - out) < 1e-9 * np.linalg.norm(out)


def _darcy(tmp, **changes):
    from test_operator import DARCY

    text = DARCY
    for old, new in changes.items():
        text = text.replace(old, new)
    return _load(tmp, text)


def test_the_squares_symmetries_map_darcy_pairs_to_darcy_pairs(tmp_path):
    """Flip and turn coefficient fields and their finite-volume solutions, then solve afresh."""
    from neuralsolve.reference.darcy import solve_darcy

    problem = _darcy(tmp_path)
    aug = augmentation(problem, ("reflection", "rotation"), np.ones((2, 9, 9)))
    assert aug.reflect and aug.rotate
    rng = np.random.default_rng(0)
    a = np.where(rng.standard_normal((16, 17, 17)) > 0, 12.0, 3.0)  # no symmetry of its own
    u = np.stack([solve_darcy(row, 1.0) for row in a])
    with jax.enable_x64(True):
        ta, tu = (np.asarray(v) for v in aug.apply(jax.random.PRNGKey(1), a, u))
    seen = set()
    for i, (row, out) in enumerate(zip(ta, tu)):
        images = {k: np.rot90(a[i], k) for k in range(4)} | {k + 4: np.rot90(a[i].T, k) for k in range(4)}
        (which,) = [k for k, image in images.items() if np.array_equal(image, row)]
        seen.add(which)
        assert np.linalg.norm(solve_darcy(row, 1.0) - out) < 1e-10 * np.linalg.norm(out)
    assert len(seen) >= 5  # 16 draws over the eight symmetries


@pytest.mark.parametrize(("changes", "names", "says"), [
    ({"y = [0, 1]": "y = [0, 2]"}, ("rotation",), "'rotation' does not hold: the box is 1 x 2, not a square"),
    ({"a*diff(u, x), x)": "a*(1 + x)*diff(u, x), x)", "a*diff(u, y), y)": "a*(1 + x)*diff(u, y), y)"},
     ("reflection",), "'reflection' does not hold: A = .* depends on the coordinates besides through the input"),
    ({"= 1\"]": "= y\"]"}, ("reflection",), "'reflection' does not hold: f = y depends on the coordinates"),
])  # fmt: skip
def test_the_squares_symmetries_are_verified(tmp_path, changes, names, says):
    problem = _darcy(tmp_path, **changes)
    with pytest.raises(ProblemError, match=says):
        check(problem, names)
    assert check(_darcy(tmp_path), ("reflection", "rotation")) is not None
