"""Learned relaxation (neuralsolve.linear.relax): the heat-equation systems, SSOR-PCG
(neuralsolve.linear.ssor), the batched iteration table, Tsallis-INF, and the benchmark's summary."""

import json

import numpy as np
import pytest
import scipy.sparse as sparse
import scipy.sparse.linalg as splinalg

from neuralsolve.linear import relax, ssor
from neuralsolve.reference.darcy import darcy_matrix
from neuralsolve.reference.stencil import Stencil


def _systems(cells: int, steps: int) -> list:
    return list(relax.heat_systems(cells, steps))


def _sparse_ssor(matrix, omega: float):
    """SSOR(ω)^-1 by sparse triangular solves in natural order: the textbook definition."""
    matrix = sparse.csr_matrix(matrix)
    diag = matrix.diagonal()
    lower = (sparse.diags(diag) + omega * sparse.tril(matrix, -1)).tocsr()
    upper = (sparse.diags(diag) + omega * sparse.triu(matrix, 1)).tocsr()

    def apply(r):
        y = splinalg.spsolve_triangular(lower, r, lower=True)
        return splinalg.spsolve_triangular(upper, diag * y, lower=False) * omega * (2 - omega)

    return apply


def test_heat_system_is_crank_nicolson_on_the_darcy_operator():
    cells, dt = 8, relax.DT
    stencil, b, x0 = next(relax.heat_systems(cells, 1))
    assert stencil.shape == b.shape == x0.shape == (7, 7) and np.all(x0 == 0)
    a = np.exp(relax.heat_contrast_exponent(0.5 * dt) * relax.heat_coefficient_field(cells))
    expected = sparse.identity(49) + 0.5 * dt * darcy_matrix(a)
    assert abs(stencil.matrix() - expected).max() == 0
    assert np.array_equal(b.ravel(), dt * relax.heat_source(cells)[1:-1, 1:-1].ravel())  # b = dt f from u = 0
    # the sweeps' lower-neighbour couplings: cx/cy moved to the upper unknown, 0 on the boundary
    diag, west, south = ssor._west_south(stencil)
    assert np.array_equal(west[1:], stencil.cx) and np.array_equal(south[:, 1:], stencil.cy)
    assert np.all(west[0] == 0) and np.all(south[:, 0] == 0) and diag is stencil.diag
    with pytest.raises(ValueError, match="square"):
        ssor._west_south(Stencil(np.ones((3, 4)), np.zeros((2, 4)), np.zeros((3, 3)), np.ones((3, 4), bool)))


@pytest.mark.parametrize("omega", [1.0, 1.5])
def test_ssor_pcg_solves_a_heat_system(omega):
    stencil, b, x0 = _systems(16, 3)[-1]
    exact = splinalg.spsolve(stencil.matrix().tocsc(), b.ravel()).reshape(b.shape)
    u, iterations = ssor.ssor_pcg(stencil, b, omega, x0=x0, rtol=1e-8)
    residual = np.linalg.norm(stencil.matrix() @ u.ravel() - b.ravel()) / np.linalg.norm(b)
    assert 0 < iterations < 100
    assert residual <= 1e-8
    assert np.abs(u - exact).max() <= 1e-7 * np.abs(exact).max()
    # from zero instead of the warm start: more iterations, same answer
    u0, cold = ssor.ssor_pcg(stencil, b, omega, rtol=1e-8)
    assert cold >= iterations and np.abs(u0 - exact).max() <= 1e-7 * np.abs(exact).max()


@pytest.mark.parametrize("omega", [1.0, 1.5, 1.9])
def test_ssor_preconditioner_is_the_textbook_one_and_spd(omega):
    stencil, _, _ = _systems(16, 2)[-1]
    rng = np.random.default_rng(1)
    v, w = rng.standard_normal((2, *stencil.shape))
    mv, mw = ssor.ssor_preconditioner(stencil, np.stack([v, w]), omega)
    reference = _sparse_ssor(stencil.matrix(), omega)
    assert np.allclose(mv.ravel(), reference(v.ravel()), rtol=1e-12, atol=1e-14)
    # symmetric: v^T M^-1 w = w^T M^-1 v; positive definite: v^T M^-1 v > 0
    assert np.vdot(v, mw) == pytest.approx(np.vdot(w, mv), rel=1e-12)
    assert np.vdot(v, mv) > 0 and np.vdot(w, mw) > 0
    # one grid or a batch of them
    assert np.array_equal(ssor.ssor_preconditioner(stencil, v, omega), mv)


def test_natural_ordering_gains_from_over_relaxation():
    """Why there is something to learn: in natural order some ω > 1 beats ω = 1 on every system."""
    natural = relax.table_for_systems(_systems(16, 6)[3:], [1.0, 1.3, 1.6, 1.9])
    assert np.all(natural.min(axis=1) < natural[:, 0])


def test_batched_table_equals_single_solves():
    systems = _systems(16, 4)
    omegas = relax.OMEGAS[::3]
    table = relax.table_for_systems(systems, omegas)
    single = [[ssor.ssor_pcg(s, b, w, x0=x0)[1] for w in omegas] for s, b, x0 in systems]
    assert np.array_equal(table, np.array(single))
    # the streamed table of the whole sequence, in small chunks, is the same
    assert np.array_equal(relax.iteration_table(16, 4, omegas=omegas), table)
    assert table.min() > 2  # not trivially conditioned


def test_tsallis_weights_are_a_distribution():
    rng = np.random.default_rng(2)
    for eta in [2.0, 0.1, 0.01]:
        losses = rng.uniform(0, 50, 20)
        w = relax.tsallis_inf_weights(losses, eta)
        assert w.sum() == pytest.approx(1.0, abs=1e-12) and np.all(w > 0)
        assert np.all(np.diff(w[np.argsort(losses)]) <= 1e-15)  # lower estimated loss, higher weight


@pytest.mark.parametrize("estimator", relax.ESTIMATORS)
def test_tsallis_inf_finds_the_best_arm(estimator):
    rng = np.random.default_rng(3)
    steps, arms, best = 1000, 8, 5
    means = np.full(arms, 0.6)
    means[best] = 0.3
    losses = np.clip(means + 0.1 * rng.standard_normal((steps, arms)), 0, 1)
    choices, probabilities = relax.tsallis_inf(losses, seed=4, estimator=estimator, return_probabilities=True)
    assert choices.shape == (steps,) and probabilities.shape == (steps, arms)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-12) and np.all(probabilities >= 0)
    assert np.mean(choices[steps // 2 :] == best) > 0.7
    assert np.array_equal(relax.tsallis_inf(losses, seed=4, estimator=estimator), choices)  # seeded


def test_centred_estimates_regret_less_on_losses_in_a_narrow_band():
    """Losses of 0.45-0.55 (as scaled iteration counts are): the reduced-variance estimates, centred
    on 1/2, find the better arm sooner than plain importance weighting, over 8 draws each."""
    rng = np.random.default_rng(5)
    steps, arms = 2000, 10
    means = np.full(arms, 0.55)
    means[3] = 0.45
    losses = np.clip(means + 0.02 * rng.standard_normal((steps, arms)), 0, 1)
    regret = {name: np.mean([losses[np.arange(steps), relax.tsallis_inf(losses, seed=s, scale=1.0, estimator=name)].sum()
                             - losses[:, 3].sum() for s in range(8)]) for name in relax.ESTIMATORS}  # fmt: skip
    assert 0 < regret["reduced-variance"] < 0.7 * regret["importance"]
    with pytest.raises(ValueError, match="estimator must be one of"):
        relax.tsallis_inf(losses, estimator="plain")


def test_relaxation_benchmark_summary():
    calls = []
    result = relax.relaxation_benchmark(cells=12, steps=40, progress=lambda done, total: calls.append((done, total)))
    json.dumps(result)
    for key in ["omegas", "totals", "best_fixed_omega", "bandit_over_best_fixed", "omega_one_over_bandit",
                "seconds", "choices", "curves"]:
        assert key in result
    totals = result["totals"]
    assert totals["instance_optimal"] <= totals["best_fixed"] <= totals["omega_one"]
    assert totals["instance_optimal"] <= totals["bandit"]
    assert result["bandit_over_best_fixed"] == pytest.approx(totals["bandit"] / totals["best_fixed"])
    assert result["omega_one_over_bandit"] == pytest.approx(totals["omega_one"] / totals["bandit"])
    assert result["best_fixed_omega"] in result["omegas"] and len(result["omegas"]) == 20
    assert len(result["choices"]) == 40 and all(0 <= c < 20 for c in result["choices"])
    curves = result["curves"]
    assert curves["step"][-1] == 40
    for name in ["bandit", "best_fixed", "omega_one", "instance_optimal"]:
        assert len(curves[name]) == len(curves["step"]) and curves[name][-1] == totals[name]
    assert calls[-1] == (40, 40) and len(calls) <= 40
    assert result["seconds"]["total"] >= result["seconds"]["table"] > 0
    assert result["estimator"] == "reduced-variance" and result["learning_rate"] == "4/sqrt(t)"
    assert [len(runs) for runs in result["estimators"].values()] == [1, 1]
    assert result["estimators"]["reduced-variance"][0] == totals
