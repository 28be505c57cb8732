"""Input embeddings: Fourier features (fixed) and trainable Gaussian features (PIG)."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve import FourierFeatures, GaussianFeatures, rundir
from neuralsolve.pinn.model import build_model

# -u'' = π² sin(πx), u = sin(πx)
POISSON = pathlib.Path(__file__).parents[1] / "src/neuralsolve/examples/poisson_1d.toml"
Z = np.array([[0.3, -0.7], [-1.0, 1.0], [0.0, 0.05]])


def _embedding(features, d=2, dtype=jnp.float64, seed=0):
    net = ns.MLP(8, 1, features=features).build(d, 1, [-1] * d, [1] * d, dtype, jax.random.PRNGKey(seed))
    return net.features


def _poisson(phases, features, precision="float64", width=16, depth=2):
    problem = ns.load(POISSON)
    network = ns.MLP(width, depth, features=features)
    return ns.solve(problem, network=network, phases=phases, points=ns.Points(interior=64), precision=precision,
                    seed=0)  # fmt: skip


def test_fourier_features_match_the_formula_with_normal_frequencies():
    with jax.enable_x64(True):
        emb = _embedding(FourierFeatures(count=2000, sigma=3.0))
        got = np.asarray(jax.vmap(emb)(jnp.asarray(Z)))
    b = np.asarray(emb.frequencies)
    assert b.shape == (2000, 2)
    np.testing.assert_allclose(np.std(b), 3.0, rtol=0.05)  # B ~ N(0, σ²)
    angles = 2 * np.pi * Z @ b.T
    np.testing.assert_allclose(got, np.concatenate([np.cos(angles), np.sin(angles)], axis=1), rtol=1e-12, atol=1e-12)


def test_fourier_frequencies_are_not_trained_and_are_rebuilt_from_the_seed():
    problem = ns.load(POISSON)
    network = ns.MLP(16, 2, features=FourierFeatures(count=8, sigma=1.0))
    sol = ns.solve(problem, network=network, phases=[ns.Adam(20, learning_rate=1e-2)], seed=3)
    plain = ns.MLP(16, 2).build(16, 1, [-1], [1], jnp.float32, jax.random.PRNGKey(0)).mlp  # 16 = 2 x count inputs
    trainable = sum(x.size for x in jax.tree_util.tree_leaves(sol.params))
    assert trainable == sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(plain, eqx.is_inexact_array)))
    with jax.enable_x64(True):  # the same settings and seed give the same B: the trained params fit it
        model, initial = build_model(problem, network, jnp.float64, 3)
        x = jnp.linspace(-1, 1, 7)[:, None]
        rebuilt = np.asarray(jax.vmap(lambda y: model(sol.params, y))(x))
        assert not np.allclose(rebuilt, np.asarray(jax.vmap(lambda y: model(initial, y))(x)))
    np.testing.assert_allclose(rebuilt, sol(np.asarray(x)), rtol=1e-13, atol=1e-15)


def test_gaussian_features_match_the_formula():
    with jax.enable_x64(True):
        emb = _embedding(GaussianFeatures(count=9, size=3))
        got = np.asarray(jax.vmap(emb)(jnp.asarray(Z)))
    mu, s, f = (np.asarray(a) for a in (emb.centres, np.exp(emb.log_widths), emb.features))
    weights = np.exp(-0.5 * np.sum(((Z[:, None, :] - mu[None]) / s[None]) ** 2, axis=2))
    np.testing.assert_allclose(got, weights @ f, rtol=1e-12, atol=1e-14)


def test_gaussian_centres_start_on_a_grid_with_widths_of_the_spacing():
    emb = _embedding(GaussianFeatures(count=18, size=2, width=0.5), dtype=jnp.float32)  # 4 x 4 grid, 2 at random
    centres = np.asarray(emb.centres)
    grid = np.array([-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(np.unique(centres[:16, 0]), grid)
    np.testing.assert_allclose(np.unique(centres[:16, 1]), grid)
    assert np.all(np.abs(centres[16:]) <= 1)
    np.testing.assert_allclose(np.exp(emb.log_widths), 0.5 * 2 / np.sqrt(18), rtol=1e-6)


def test_gaussian_centres_widths_and_features_move_under_training():
    problem = ns.load(POISSON)
    network = ns.MLP(8, 1, features=GaussianFeatures(count=16, size=2))
    sol = ns.solve(problem, network=network, phases=[ns.Adam(20, learning_rate=1e-2)], seed=0)
    with jax.enable_x64(True):
        _, initial = build_model(problem, network, jnp.float64, 0)
    for name in ("centres", "log_widths", "features"):
        moved = np.abs(np.asarray(getattr(sol.params.features, name)) - np.asarray(getattr(initial.features, name)))
        assert moved.max() > 1e-3, name


# Measured on the shared 2-core CPU (seed 0, 64 points, Adam 300 at 1e-2 then L-BFGS 300), relative L2
# error: Fourier 16 / 16x2 float64 1.4e-5; Gaussian 16x4 / 16x1 float64 2.6e-5, float32 9.7e-6
# (a plain 16x2 MLP: 2.0e-6: this smooth solution needs no embedding). Bounds leave about 10x.
@pytest.mark.parametrize(
    "features, depth, precision, bound",
    [
        # in make accuracy too (16 s, CI budget); a solve with them: test_a_saved_run_with_features_reopens
        pytest.param(FourierFeatures(count=16, sigma=1.0), 2, "float64", 2e-4, marks=pytest.mark.slow),
        # Gaussian features in make accuracy (17 s); a solve with them: test_a_saved_run_with_features_reopens
        pytest.param(GaussianFeatures(count=16, size=4), 1, "float64", 3e-4, marks=pytest.mark.slow),
        # float32 in make accuracy (35 s on the 2-core CPU; float32 solves are tested in test_accuracy.py)
        pytest.param(GaussianFeatures(count=16, size=4), 1, "float32", 2e-4, marks=pytest.mark.slow),
    ],
)
def test_poisson_1d_with_each_embedding(features, depth, precision, bound):
    sol = _poisson([ns.Adam(300, learning_rate=1e-2), ns.LBFGS(300)], features, precision, 16, depth)
    assert sol.status == "ok", sol.message
    assert sol.metrics["l2_relative_error"]["u"] < bound


@pytest.mark.parametrize("kind", ["fourier", "gaussian"])
def test_a_saved_run_with_features_reopens_to_the_same_solution(kind, tmp_path):
    features = (
        '{kind = "fourier", count = 8, sigma = 1.0}'
        if kind == "fourier"
        else '{kind = "gaussian", count = 8, size = 2}'
    )
    file = tmp_path / "p.toml"
    solver = f'\n[solver]\nnetwork = {{width = 8, depth = 1, features = {features}}}\nphases = [{{method = "adam", steps = 30}}]\nprecision = "float32"\n'
    file.write_text(POISSON.read_text() + solver)
    run = rundir.create(tmp_path / "run", file)
    problem, kwargs = rundir.settings(run)
    sol = ns.solve(problem, **kwargs, checkpoint=ns.Checkpoint(run))
    x = np.linspace(-1, 1, 11)[:, None]
    np.testing.assert_array_equal(ns.open(run)(x), sol(x))


def test_problem_file_features_parse(tmp_path):
    file = tmp_path / "p.toml"
    net = 'network = {width = 16, depth = 1, features = {kind = "gaussian", count = 64, size = 4, init = "random"}}'
    file.write_text(POISSON.read_text() + f"\n[solver]\n{net}\n")
    assert ns.load(file).solver["network"] == ns.MLP(16, 1, features=GaussianFeatures(64, 4, init="random"))
    file.write_text(POISSON.read_text() + '\n[solver]\nnetwork = {features = {kind = "fourier", sigma = 2.5}}\n')
    assert ns.load(file).solver["network"].features == FourierFeatures(count=64, sigma=2.5)


@pytest.mark.parametrize(
    "features, message",
    [
        (
            '{kind = "wavelet"}',
            r"solver\.network\.features\.kind: expected one of fourier, gaussian; got a string \('wavelet'\)",
        ),
        ("{count = 8}", r"solver\.network\.features\.kind: expected one of fourier, gaussian; missing"),
        ('{kind = "gaussian", count = -3}', r"solver\.network\.features\.count: expected a whole number >= 1 and <= 1000000, got a whole number \(-3\)"),
        ('{kind = "fourier", sigma = 0}', r"solver\.network\.features\.sigma: expected a finite number > 0, got a whole number \(0\)"),
        (
            '{kind = "fourier", size = 4}',
            r"solver\.network\.features\.size: unknown key for fourier features; expected one of kind, count, sigma",
        ),
        (
            '{kind = "gaussian", init = "hex"}',
            r"solver\.network\.features\.init: expected one of 'grid', 'random', got a string \('hex'\)",
        ),
        ('"fourier"', r"solver\.network\.features: expected a table such as"),
    ],
)
def test_malformed_features_give_one_line_naming_the_key(features, message, tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text(POISSON.read_text() + f"\n[solver]\nnetwork = {{width = 8, features = {features}}}\n")
    with pytest.raises(ns.SpecError, match=rf"bad\.toml:\d+: {message}") as err:
        ns.load(file)
    assert "\n" not in str(err.value)


def test_python_settings_are_checked():
    with pytest.raises(ns.ProblemError, match="gaussian features: size must be a whole number >= 1, got 0"):
        GaussianFeatures(count=16, size=0)
    with pytest.raises(ns.ProblemError, match="features must be FourierFeatures"):
        ns.MLP(features={"kind": "fourier"})
