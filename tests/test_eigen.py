"""Eigenproblems: trainable eigenvalues, exact normalisation and orthogonality, kink features at
potential jumps, the spectral-element reference, problem files and reopened run directories."""

import json
import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

import neuralsolve as ns
from neuralsolve.cli.main import main
from neuralsolve.problem.eigen import Eigen, jumps, pencil

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def _well(states=2, **kwargs):
    return ns.Problem(ns.Interval(0, 1), "psi", "-diff(psi, x, 2) = E*psi", [ns.Dirichlet("psi", 0)],
                      eigen=Eigen("E", states), exact={"E": "(n + 1)**2*pi**2", "psi": "sin((n + 1)*pi*x)"}, **kwargs)  # fmt: skip


def test_infinite_well_two_states_to_issue_tolerances():
    sol = ns.solve(_well(), phases=[ns.Adam(500), ns.LBFGS(1500)])
    m = sol.metrics
    assert m["eigenvalue_reference"] == "exact" and m["reference"] == "exact"
    assert max(m["eigenvalue_errors"]) <= 1e-6, m["eigenvalue_errors"]
    assert max(m["l2_relative_error"].values()) <= 1e-4, m["l2_relative_error"]
    np.testing.assert_allclose(sol.eigenvalues, [np.pi**2, 4 * np.pi**2], rtol=1e-6)
    # states are orthonormal by quadrature, with a leading state axis
    x = np.linspace(0, 1, 2001)[:, None]
    values = sol(x, "psi")
    assert values.shape == (2, 2001)
    gram = np.trapezoid(values[:, None, :] * values[None, :, :], x[:, 0], axis=-1)
    np.testing.assert_allclose(gram, np.eye(2), atol=1e-6)
    assert sol(x).shape == (2, 2001, 1)


def test_finite_well_file_kink_features_and_spectral_reference(tmp_path):
    """The bundled finite well, solved from the command line with its own budget: the potential
    jumps at 0.25 and 0.75, and the eigenvalues still reach 1e-5 against the issue's values."""
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["solve", str(EXAMPLES / "finite_well.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "eigenvalues: 16.3859" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eigenvalue_reference"] == "classical"
    assert metrics["reference_method"].startswith("spectral elements")
    np.testing.assert_allclose(metrics["reference_eigenvalues"], [16.385952, 60.629133], rtol=1e-7)
    np.testing.assert_allclose(metrics["eigenvalues"], [16.385952, 60.629133], rtol=1e-5)
    assert max(metrics["l2_relative_error"].values()) < 1e-4
    assert {p.name for p in out.glob("solution_psi_*.png")} == {"solution_psi_0.png", "solution_psi_1.png"}
    reopened = ns.open(out)
    np.testing.assert_allclose(reopened.eigenvalues, metrics["eigenvalues"], rtol=1e-12)
    assert reopened(np.array([[0.5]])).shape == (2, 1, 1)
    assert abs(reopened(np.array([[0.5]]), "psi")[0, 0]) > 1.0  # the ground state peaks mid-well


def test_pencil_splits_the_operator_and_finds_jumps():
    p = ns.Problem(ns.Interval(0, 1), "psi", "-diff(psi, x, 2) + V*psi = E*psi", [ns.Dirichlet("psi", 0)],
                   parameters={"V0": 50}, functions={"V": "V0*Piecewise((0, (x > 0.25) & (x < 0.75)), (1, True))"},
                   eigen=Eigen("E", 2))  # fmt: skip
    A, B = p.pencil
    assert set(A) == {(2,), (0,)} and A[(2,)] == -1 and B == {(0,): 1}
    assert p.jumps == {0: [0.25, 0.75]}
    import sympy as sp

    x = sp.Symbol("x", real=True)
    assert jumps([sp.Heaviside(x - 0.3) + sp.sin(x)], x) == [0.3]


@pytest.mark.parametrize("equation, message", [
    ("-diff(psi, x, 2) = E*psi**2", "linear in psi"),
    ("-diff(psi, x, 2) = E**2*psi", "linear in the eigenvalue"),
    ("-diff(psi, x, 2) = E*psi + 1", "homogeneous in psi"),
    ("-diff(psi, x, 2) = psi", "does not contain the eigenvalue"),
])  # fmt: skip
def test_eigen_equation_must_be_a_linear_pencil(equation, message):
    with pytest.raises(ns.ProblemError, match=message):
        ns.Problem(ns.Interval(0, 1), "psi", equation, [ns.Dirichlet("psi", 0)], eigen=Eigen("E", 1))


def test_eigen_settings_are_checked():
    with pytest.raises(ns.ProblemError, match="states must be a whole number"):
        Eigen("E", 0)
    with pytest.raises(ns.ProblemError, match="cannot be 'n'"):
        Eigen("n", 1)
    with pytest.raises(ns.ProblemError, match="exactly one field"):
        ns.Problem(ns.Interval(0, 1), ["a", "b"], ["diff(a, x, 2) = E*a", "b = 0"], eigen=Eigen("E", 1))
    # the constant E (Euler's number) is shadowed by the eigenvalue symbol only in eigenproblems
    assert pencil(_well(1).equations[0].expr, "psi", "E", ("x",))[1] == {(0,): 1}


def test_oscillator_with_an_envelope_scale():
    """A scale that is a function of x (an envelope decaying at half the true rate) lets the
    network skip the Gaussian tail: two oscillator states within the issue's 1e-5 on a short
    budget (measured: 6.7e-10 and 7.6e-7)."""
    p = ns.Problem(ns.Interval(-8, 8), "psi", "-diff(psi, x, 2) + x^2*psi = E*psi", [ns.Dirichlet("psi", 0)],
                   eigen=Eigen("E", 2), exact={"E": "2*n + 1"}, scale={"psi": "exp(-x^2/4)"})  # fmt: skip
    sol = ns.solve(p, points=ns.Points(interior=512), phases=[ns.Adam(300), ns.LBFGS(700)])
    assert max(sol.metrics["eigenvalue_errors"]) <= 1e-5, sol.metrics["eigenvalue_errors"]
    x = np.array([[-8.0], [0.0], [8.0]])
    values = sol(x, "psi")
    assert np.all(values[:, [0, 2]] == 0.0)  # the Dirichlet ends stay exact under the envelope
    assert abs(values[0, 1]) > 0.5  # the ground state peaks at 0 (π^(-1/4) ≈ 0.75)
