"""The classical baselines of neuralsolve.linear: each reaches the tolerance and the direct solution,
their iteration counts rank as the theory says, and failures are reported, not raised."""

import numpy as np
import pytest
import scipy.sparse.linalg as splinalg

from neuralsolve.linear.baselines import BASELINES, SolveRecord, solve_baseline
from neuralsolve.reference.darcy import darcy_matrix

RTOL = 1e-8


def smooth_coefficient(s: int, contrast: float, seed: int) -> np.ndarray:
    """exp of a smooth random field (a few low Fourier modes) on the s x s vertex grid, max/min = contrast."""
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(0, 1, s), np.linspace(0, 1, s), indexing="ij")
    field = sum(rng.standard_normal() * np.cos(np.pi * (k * x + m * y) + rng.uniform(0, 2 * np.pi))
                for k in range(3) for m in range(3))  # fmt: skip
    field = (field - field.min()) / (field.max() - field.min())  # in [0, 1]
    return np.exp(np.log(contrast) * (field - 0.5))


@pytest.fixture(scope="module")
def variable_system():
    """31^2 unknowns, coefficient contrast 50; the direct solution and the 2-norm condition number."""
    a = smooth_coefficient(33, 50.0, seed=3)
    assert a.max() / a.min() == pytest.approx(50.0)
    matrix = darcy_matrix(a)
    b = np.random.default_rng(4).standard_normal(matrix.shape[0])
    largest = splinalg.eigsh(matrix, k=1, which="LA", return_eigenvectors=False)[0]
    smallest = splinalg.eigsh(matrix.tocsc(), k=1, sigma=0, which="LM", return_eigenvectors=False)[0]
    assert smallest > 0
    return matrix, b, splinalg.spsolve(matrix.tocsc(), b), largest / smallest


@pytest.fixture(scope="module")
def poisson_records():
    """Every baseline on the 5-point Poisson matrix with 63^2 unknowns (64^2 cells) to RTOL."""
    matrix = darcy_matrix(np.ones((65, 65)))
    b = np.random.default_rng(5).standard_normal(matrix.shape[0])
    return {name: solve_baseline(name, matrix, b, RTOL)[1] for name in BASELINES}


@pytest.mark.parametrize("name", BASELINES)
def test_each_baseline_reaches_the_direct_solution(name, variable_system):
    matrix, b, exact, condition = variable_system
    x, record = solve_baseline(name, matrix, b, RTOL)
    assert isinstance(record, SolveRecord) and record.solver == name
    assert record.converged and record.relative_residual <= RTOL
    assert record.relative_residual == pytest.approx(np.linalg.norm(b - matrix @ x) / np.linalg.norm(b))
    assert isinstance(record.iterations, int) and record.iterations > 0
    assert record.setup_s >= 0 and record.solve_s > 0
    assert (record.setup_s == 0) == (name == "cg")
    # x - x* = A^-1 r, so ||x - x*|| / ||x*|| <= cond(A) ||r|| / ||b|| exactly; the margin covers
    # SuperLU's own error in x* (cond * eps ~ 3e-13: cond(A) is about 1.3e3 here)
    error = np.linalg.norm(x - exact) / np.linalg.norm(exact)
    assert error <= condition * record.relative_residual + 1e-10
    assert error > 0  # an iterative answer, not the direct one


def test_iteration_counts_rank_as_expected(poisson_records):
    iterations = {name: record.iterations for name, record in poisson_records.items()}
    assert all(record.converged for record in poisson_records.values()), poisson_records
    assert iterations["amg-pcg"] < iterations["ilu-pcg"] < iterations["cg"], iterations
    # the same algorithm in JAX: its count (see _jax_cg) differs from SciPy's by rounding only
    assert abs(iterations["jax-cg"] - iterations["cg"]) <= 2, iterations
    assert iterations["amg"] <= 30, iterations  # multigrid: about a digit a cycle


def test_unknown_name_lists_the_baselines():
    matrix = darcy_matrix(np.ones((5, 5)))
    with pytest.raises(ValueError, match="cg, ilu-pcg, amg, amg-pcg, jax-cg"):
        solve_baseline("gmres", matrix, np.ones(9), RTOL)


@pytest.mark.parametrize("name", BASELINES)
def test_running_out_of_iterations_is_reported_not_raised(name):
    matrix = darcy_matrix(np.ones((33, 33)))
    b = np.ones(matrix.shape[0])
    x, record = solve_baseline(name, matrix, b, RTOL, maxiter=3)
    assert not record.converged and record.relative_residual > RTOL
    assert record.iterations == 3
    assert np.all(np.isfinite(x))
