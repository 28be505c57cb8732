"""Training methods for hard problems: gradient-based loss balancing, causal weighting in time,
and residual-based adaptive sampling (RAR, RAD). Each test checks the mechanics on a small
problem against a hand computation."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner

import neuralsolve as ns
from neuralsolve.cli.main import main
from neuralsolve.loss.terms import make_terms, residuals
from neuralsolve.sampling import adaptive
from neuralsolve.sampling.adaptive import RAD, RAR, Resampler, event_seed
from neuralsolve.train.fit import Schedule, fit
from neuralsolve.train.weighting import Annealing, Causal, GradNorm

# --- gradient-based loss balancing --------------------------------------------------------------


def _tiny_terms(p, data):
    w = p["w"]
    return jnp.stack([jnp.sum((w - 1) ** 2), 3 * jnp.sum(w**2), (w[0] * w[1]) ** 2])


# the terms' gradients at w = (0.5, 2), by hand: 2(w - 1), 6w, (2 w0 w1², 2 w0² w1)
GRADS = np.array([[-1.0, 2.0], [3.0, 12.0], [4.0, 1.0]])


def _balances(strategy, masks=None):
    """Balance factors logged at steps 1, 2, 3 of an Adam phase too slow to move the parameters
    (learning rate 1e-300), with updates after steps 1 and 2 (none at the phase's end)."""
    with jax.enable_x64(True):
        params = {"w": jnp.array([0.5, 2.0])}
        result = fit(_tiny_terms, params, lambda draw: {}, [ns.Adam(3, learning_rate=1e-300)], weights=jnp.ones(3),
                     masks=masks, schedule=Schedule(1, strategy), reference=[1, 0, 0])  # fmt: skip
    return np.array([r["balance"] for r in result.history])


def _after_two_updates(target, alpha=0.5):
    return np.stack([np.ones(3), alpha + (1 - alpha) * target, alpha**2 + (1 - alpha**2) * target])


def test_gradnorm_weights_match_a_hand_computation():
    norms = np.linalg.norm(GRADS, axis=1)
    np.testing.assert_allclose(_balances(GradNorm(every=1, alpha=0.5)), _after_two_updates(norms.sum() / norms), rtol=1e-12)
    # a term masked out of the phase is left out of the sum and keeps its factor
    masked = _balances(GradNorm(every=1, alpha=0.5), masks=[[1, 1, 0]])
    target = np.array([*(norms[:2].sum() / norms[:2]), 1.0])
    np.testing.assert_allclose(masked, _after_two_updates(target), rtol=1e-12)


def test_annealing_weights_match_a_hand_computation():
    # λ̂_i = max|∇L_residual| / mean|∇L_i|; the residual (term 0) keeps factor 1
    top, means = np.max(np.abs(GRADS[0])), np.mean(np.abs(GRADS), axis=1)
    target = np.array([1.0, top / means[1], top / means[2]])
    np.testing.assert_allclose(_balances(Annealing(every=1, alpha=0.5)), _after_two_updates(target), rtol=1e-12)


# the network these solves train: one hidden layer compiles in about two thirds of the default's
# time, and compiling is most of each solve here
SMALL = ns.MLP(16, 1)


def _penalty_ode():
    # trained for at most 120 steps: these tests follow the training aids, not the accuracy, so any
    # error short of nonsense counts as agreement
    return ns.Problem(ns.Interval(0, 1), "u", "diff(u, x) = cos(x)", [ns.Dirichlet("u", 0.0, on="x = 0", impose="penalty")],
                      exact={"u": "sin(x)"}, tolerance=1.0)  # fmt: skip


@pytest.mark.parametrize("weighting", ["gradnorm", "annealing"])
def test_gradient_weights_move_during_adam_and_are_frozen_after(weighting):
    strategy = {"gradnorm": GradNorm, "annealing": Annealing}[weighting](every=20)
    sol = ns.solve(_penalty_ode(), weighting=strategy, phases=[ns.Adam(100), ns.LBFGS(20)], log_every=20,
                   points=ns.Points(interior=32, boundary=4), network=SMALL)  # fmt: skip
    adam = [r["balance"] for r in sol.history if r["phase"] == "adam"]
    lbfgs = [r["balance"] for r in sol.history if r["phase"] == "lbfgs"]
    assert len({tuple(b) for b in adam}) >= 4  # updated at steps 20, 40, 60, 80
    assert lbfgs and all(b == adam[-1] for b in lbfgs)  # frozen for L-BFGS
    if weighting == "annealing":
        assert all(b[0] == 1.0 for b in adam)  # the residual term is the reference
    assert sol.status == "ok"


def test_quasi_newton_phases_minimise_the_fixed_terms():
    """``fixed_terms`` replaces a changing loss in quasi-Newton phases: Adam minimises L + 5
    (logged above 5), L-BFGS minimises L itself (logged near 0)."""
    with jax.enable_x64(True):
        params = {"w": jnp.array([0.5, 2.0])}
        plain = lambda p, d: jnp.stack([jnp.sum((p["w"] - 1) ** 2)])
        shifted = lambda p, d: plain(p, d) + 5.0
        result = fit(shifted, params, lambda draw: {}, [ns.Adam(5), ns.LBFGS(20)], weights=jnp.ones(1),
                     schedule=Schedule(5), fixed_terms=plain)  # fmt: skip
    adam = [r["loss"] for r in result.history if r["phase"] == "adam"]
    lbfgs = [r["loss"] for r in result.history if r["phase"] == "lbfgs"]
    assert min(adam) > 5 and lbfgs[-1] < 1e-12


# --- causal weighting ---------------------------------------------------------------------------


def test_causal_weights_are_one_then_non_increasing_in_time():
    rule = Causal(slices=8, epsilon=2.0)
    rng = np.random.default_rng(0)
    t = rng.random(4000)
    squares = rng.random((4000, 2)) * (1 + 3 * t[:, None])
    with jax.enable_x64(True):
        w = np.asarray(rule.weights(rule.slice_losses(jnp.asarray(squares), jnp.asarray(t), jnp.ones(4000), (0.0, 1.0))))
        assert w.shape == (8, 2)
        np.testing.assert_array_equal(w[0], 1.0)
        assert np.all(np.diff(w, axis=0) <= 0) and w[-1].max() < 0.01
        # no residual before t = 0.5: the weights of the first half are exactly 1
        early = np.where(t[:, None] < 0.5, 0.0, squares)
        w = np.asarray(rule.weights(rule.slice_losses(jnp.asarray(early), jnp.asarray(t), jnp.ones(4000), (0.0, 1.0))))
        np.testing.assert_array_equal(w[:4], 1.0)
        assert np.all(w[5:] < 1)


def _heat(conditions=()):
    return ns.Problem(ns.SpaceTime(ns.Interval(0, 1), (0, 1)), "u", "diff(u, t) = diff(u, x, 2)", list(conditions),
                      exact={"u": "exp(-pi**2*t)*sin(pi*x)"})  # fmt: skip


def test_causal_loss_and_gradient_match_a_hand_computation():
    """The exact heat solution plus a(t − 1/2)₊³ sin(πx): no residual before t = 1/2, so those
    slices weigh 1; the loss is (1/M)Σ w_k L_k and its gradient holds w fixed (L_k ∝ a²)."""
    problem, rule = _heat(), Causal(slices=8, epsilon=50.0)

    def model(p, y):
        x, t = y[0], y[1]
        return jnp.stack([jnp.exp(-jnp.pi**2 * t) * jnp.sin(jnp.pi * x) + p["a"] * jnp.maximum(t - 0.5, 0) ** 3 * jnp.sin(jnp.pi * x)])

    with jax.enable_x64(True):
        params = {"a": jnp.asarray(3.0)}
        x = jnp.asarray(np.random.default_rng(1).random((2000, 2)))
        data = {"interior": x, "penalties": []}
        squares = np.asarray(residuals(problem, model, params, x))[:, 0] ** 2
        k = np.minimum((np.asarray(x[:, 1]) * 8).astype(int), 7)
        losses = np.array([squares[k == j].mean() for j in range(8)])
        weights = np.exp(-50.0 * (np.cumsum(losses) - losses))
        assert np.all(weights[:4] == 1.0) and weights[-1] < 0.5
        terms = make_terms(problem, model, causal=rule)
        np.testing.assert_allclose(float(terms(params, data)[0]), np.mean(weights * losses), rtol=1e-10)
        grad = float(jax.grad(lambda p: terms(p, data)[0])(params)["a"])
        np.testing.assert_allclose(grad, np.mean(weights * 2 * losses / 3.0), rtol=1e-10)
        # an exact model has no residual: every weight is 1 and the loss is ~0
        exact = make_terms(problem, lambda p, y: model({"a": 0.0}, y), causal=rule)
        assert float(exact(params, data)[0]) < 1e-20


def test_causal_weighting_needs_a_time_axis():
    with pytest.raises(ns.ProblemError, match=r"^causal weighting needs a time coordinate 't'; this problem's coordinates are x$"):
        ns.solve(_penalty_ode(), causal=Causal())


# --- adaptive sampling --------------------------------------------------------------------------


def test_rar_adds_exactly_m_points_at_the_largest_residuals():
    rar = RAR(every=10, add=3, pool=10)
    data = rar.prepare({"interior": np.arange(4.0)[:, None] / 10, "penalties": []}, events=2)
    assert data["interior"].shape == (10, 1) and list(data["mask"]) == [1] * 4 + [0] * 6
    candidates = np.linspace(0, 1, 10)[:, None] + 5
    size = np.array([0.1, 9.0, 0.3, 7.0, 0.2, 0.0, 8.0, 0.5, 0.4, 0.6])
    once = rar.resample(data, candidates, size, None)
    assert once["mask"].sum() == 7
    np.testing.assert_array_equal(once["interior"][:4], data["interior"][:4])  # old points stay
    np.testing.assert_array_equal(once["interior"][4:7, 0], candidates[[1, 6, 3], 0])  # the 3 largest
    twice = rar.resample(once, candidates, size[::-1], None)
    np.testing.assert_array_equal(twice["interior"][7:10, 0], candidates[[8, 3, 6], 0])
    full = rar.resample(twice, candidates, size, None)  # no room left: nothing changes
    np.testing.assert_array_equal(full["interior"], twice["interior"])
    assert full["mask"].sum() == 10


def test_rar_in_a_solve_adds_the_worst_candidates_of_the_current_network(monkeypatch):
    calls = []
    original = Resampler.__call__

    def spy(self, params, data, event):
        out = original(self, params, data, event)
        calls.append((self, params, data, out, event))
        return out

    monkeypatch.setattr(Resampler, "__call__", spy)
    sol = ns.solve(_penalty_ode(), sampling=RAR(every=20, add=4, pool=200), phases=[ns.Adam(60), ns.LBFGS(10)],
                   points=ns.Points(interior=32, boundary=4), log_every=20, network=SMALL)  # fmt: skip
    assert sol.status == "ok" and [c[4] for c in calls] == [1, 2]  # events at steps 20 and 40
    with jax.enable_x64(True):
        for resampler, params, before, after, event in calls:
            assert before["interior"].shape == after["interior"].shape == (40, 1)  # room for 2 x 4 points
            assert float(after["mask"].sum()) == float(before["mask"].sum()) + 4
            pool = np.asarray(resampler.candidates(200, event_seed(0, event)))
            size = np.asarray(resampler.magnitude(params, jnp.asarray(pool)))
            added = np.asarray(after["interior"])[np.asarray(after["mask"] - before["mask"]) > 0, 0]
            np.testing.assert_array_equal(np.sort(added), np.sort(pool[np.argsort(-size)[:4], 0]))


def test_rad_density_follows_the_residual():
    rad = RAD(k=2, c=0.5)
    p = rad.density(np.array([0.0, 1.0, 2.0, 3.0]))  # |r|^2 = 0, 1, 4, 9 with mean 3.5
    expected = np.array([0, 1, 4, 9]) / 3.5 + 0.5
    np.testing.assert_allclose(p, expected / expected.sum(), rtol=1e-14)
    np.testing.assert_allclose(rad.density(np.zeros(4)), 0.25)  # no residual: uniform


def test_rad_draws_concentrate_where_the_residual_is_large():
    """|r| = 1 on x > 0.9 and 0 elsewhere, k = c = 1: p is 11 times larger there, so 55% of the
    draws land in a tenth of the pool (binomial sd about 2% for 500 draws)."""
    pool = np.random.default_rng(5).random((20000, 1))
    size = (pool[:, 0] > 0.9).astype(float)
    rad = RAD(every=1, k=1, c=1, pool=20000)
    drawn = rad.resample({"interior": np.zeros((500, 1))}, pool, size, np.random.default_rng(11))["interior"]
    assert drawn.shape == (500, 1) and len(np.unique(drawn)) == 500  # without replacement
    assert abs(np.mean(drawn > 0.9) - 0.55) < 0.08


def test_adaptive_sampling_is_repeated_exactly_on_resume(tmp_path):
    """A solve interrupted after RAD has moved the points, resumed from its checkpoint, ends
    exactly like an uninterrupted one: the adapted points travel with the checkpoint."""
    problem, phases = _penalty_ode(), [ns.Adam(40)]  # (an L-BFGS phase would add compile time only)
    settings = {"sampling": RAD(every=10, pool=200), "phases": phases, "points": ns.Points(interior=32, boundary=4),
                "log_every": 10, "network": SMALL}  # fmt: skip
    full = ns.solve(problem, **settings)

    def interrupt(record):  # at step 30: the checkpoint holds step 20 and the points drawn then
        if record["step"] == 30:
            raise KeyboardInterrupt

    stopped = ns.solve(problem, **settings, callback=interrupt, checkpoint=ns.Checkpoint(tmp_path, every=0))
    assert stopped.status == "interrupted"
    resumed = ns.solve(problem, **settings, checkpoint=ns.Checkpoint(tmp_path), resume=True)
    assert resumed.phases == full.phases
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in full.history], rel=1e-10)
    assert resumed.metrics["l2_relative_error"]["u"] == pytest.approx(full.metrics["l2_relative_error"]["u"], rel=1e-10)


def test_adam_events_count_the_steps_inside_adam_phases():
    assert adaptive.adam_events([ns.Adam(100)], 20) == 4  # 20, 40, 60, 80 (not 100, the end)
    assert adaptive.adam_events([ns.Adam(50), ns.LBFGS(30), ns.Adam(50)], 20) == 2 + 2  # 20, 40 | 80, 100, 120


# --- bad settings -------------------------------------------------------------------------------


def test_bad_settings_in_python_give_one_clear_error():
    problem = _penalty_ode()
    cases = [
        (lambda: ns.solve(problem, weighting="magic"), r"weighting must be 'fixed' or one of adaptive, gradnorm, annealing, got 'magic'"),
        (lambda: GradNorm(alpha=1.0), r"gradnorm weighting alpha must be a number in \[0, 1\), got 1.0"),
        (lambda: Annealing(every=0), r"annealing weighting 'every' must be a whole number of steps >= 1"),
        (lambda: Causal(slices=0), r"causal 'slices' must be a whole number >= 1"),
        (lambda: RAR(add=0), r"rar sampling 'add' must be a whole number >= 1"),
        (lambda: RAD(c=-1), r"rad sampling 'c' must be a non-negative number"),
        (lambda: ns.solve(problem, sampling="rar", redraw=10), r"sampling = 'rar' and redraw cannot be combined"),
        (lambda: ns.solve(problem, sampling=RAD(pool=10)), r"rad sampling pool \(10\) must be at least the number of interior points \(256\)"),
        (lambda: ns.solve(problem, causal={"slices": 4}), r"causal must be Causal\(slices=..., epsilon=...\) or None, got dict"),
    ]
    for call, pattern in cases:
        with pytest.raises(ns.ProblemError, match=pattern):
            call()


LINE_FILE = """\
fields = ["u"]
equations = ["diff(u, x) = cos(x)"]

[domain]
x = [0, 1]

[[conditions]]
on = "x = 0"
set = "u = 0"
"""
HEAT_FILE = LINE_FILE.replace("diff(u, x) = cos(x)", "diff(u, t) = diff(u, x, 2)").replace("x = [0, 1]", "x = [0, 1]\nt = [0, 1]")

MALFORMED = {
    "gradnorm_alpha": (LINE_FILE, 'weighting = {method = "gradnorm", alpha = 1.5}', r":12: solver.weighting.alpha: expected a finite number >= 0 and < 1, got a number \(1.5\)"),
    "gradnorm_eta": (LINE_FILE, 'weighting = {method = "gradnorm", eta = 1}', r":12: solver.weighting.eta: unknown key for gradnorm; expected one of method, every, alpha"),
    "annealing_every": (LINE_FILE, 'weighting = {method = "annealing", every = 0}', r"solver.weighting.every: expected a whole number >= 1, got a whole number \(0\)"),
    "weighting_fixed_with_settings": (LINE_FILE, 'weighting = {method = "fixed", every = 3}', r":12: solver.weighting.every: fixed weighting takes no settings"),
    "weighting_method_not_a_string": (LINE_FILE, "weighting = {method = [1]}", r":12: solver.weighting.method: expected 'fixed' or 'adaptive' or 'gradnorm' or 'annealing', got a list"),
    "weighting_method": (LINE_FILE, 'weighting = "balanced"', r":12: solver.weighting.method: expected 'fixed' or 'adaptive' or 'gradnorm' or 'annealing'"),
    "causal_no_time": (LINE_FILE, "causal = {slices = 8}", r":12: solver.causal: causal weighting needs a time coordinate 't'; this problem's coordinates are x"),
    "causal_type": (HEAT_FILE, 'causal = "yes"', r":13: solver.causal: expected true, false or a table"),
    "causal_slices": (HEAT_FILE, "causal = {slices = 0}", r":13: solver.causal.slices: expected a whole number >= 1, got a whole number \(0\)"),
    "causal_unknown_key": (HEAT_FILE, "causal = {eps = 1}", r":13: solver.causal.eps: unknown key; expected one of slices, epsilon"),
    "sampling_method": (LINE_FILE, 'sampling = "random"', r":12: solver.sampling.method: expected 'rar' or 'rad', got a string"),
    "sampling_no_method": (LINE_FILE, "sampling = {every = 10}", r":12: solver.sampling.method: expected 'rar' or 'rad', got nothing"),
    "sampling_type": (LINE_FILE, "sampling = 3", r":12: solver.sampling: expected 'rar' or 'rad', or a table with 'method'"),
    "rad_k": (LINE_FILE, 'sampling = {method = "rad", k = -1}', r":12: solver.sampling.k: expected a finite number >= 0, got a whole number \(-1\)"),
    "rar_unknown_key": (LINE_FILE, 'sampling = {method = "rar", points = 5}', r":12: solver.sampling.points: unknown key for rar; expected one of method, every, add, pool"),
    "sampling_with_redraw": (LINE_FILE, 'sampling = "rar"\nredraw = 10', r"solver: sampling = 'rar' and redraw cannot be combined"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_solver_entry_gets_one_line_naming_the_key(name, tmp_path):
    base, entry, pattern = MALFORMED[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(f"{base}\n[solver]\n{entry}\n")
    for command in ("check", "solve"):
        result = CliRunner().invoke(main, [command, str(path), "--out", str(tmp_path / "out")][: 2 if command == "check" else 4])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), result.output
        assert re.search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()


def test_methods_load_from_a_problem_file(tmp_path):
    path = tmp_path / "heat.toml"
    path.write_text(HEAT_FILE + '\n[solver]\nweighting = {method = "annealing", every = 50, alpha = 0.8}\n'
                    "causal = {slices = 16, epsilon = 0.5}\n"
                    'sampling = {method = "rad", every = 200, k = 2, c = 0.5, pool = 5000}\n')  # fmt: skip
    solver = ns.load(path).solver
    assert solver["weighting"] == Annealing(every=50, alpha=0.8)
    assert solver["causal"] == Causal(slices=16, epsilon=0.5)
    assert solver["sampling"] == RAD(every=200, k=2, c=0.5, pool=5000)
    path.write_text(HEAT_FILE + '\n[solver]\nweighting = "gradnorm"\ncausal = true\nsampling = "rar"\n')
    solver = ns.load(path).solver
    assert (solver["weighting"], solver["causal"], solver["sampling"]) == (GradNorm(), Causal(), RAR())
