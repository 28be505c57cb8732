"""The spectral-element reference eigensolver against closed forms and independent matching equations."""

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize

from neuralsolve.reference.eigen import EigenReference, solve_eigen

ONE_1D = {(0,): lambda x: 1.0}
LAPLACE_1D = {(2,): lambda x: -1.0}


def _up_to_sign(values: np.ndarray, exact: np.ndarray) -> float:
    """Max abs error of ``values`` against ``exact`` or ``-exact``, whichever is closer."""
    return float(min(np.abs(values - exact).max(), np.abs(values + exact).max()))


def _cosh_sinh(kappa2: float, t: float) -> tuple[float, float]:
    """c(t), s(t): the even and odd solutions of u'' = kappa2 u with c(0) = 1, s'(0) = 1 (either sign of kappa2)."""
    if kappa2 > 0:
        k = np.sqrt(kappa2)
        return np.cosh(k * t), np.sinh(k * t) / k
    q = np.sqrt(-kappa2)
    return np.cos(q * t), np.sin(q * t) / q


def _brentq_near(f, guess: float, width: float = 0.5) -> float:
    lo, hi = guess - width, guess + width
    assert np.sign(f(lo)) != np.sign(f(hi))  # exactly one root expected in a bracket this small
    return scipy.optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-15)


def _finite_well(v0: float = 50.0, a: float = 0.25, b: float = 0.25) -> tuple[float, float]:
    """E_0, E_1 of V = v0 outside the well [0.5 - a, 0.5 + a] in the box [0, 1] (b = 0.5 - a), by matching.

    Inside, psi = cos(k (x - 1/2)) (even) or sin(k (x - 1/2)) (odd), k^2 = E; between the well and the
    wall at 1, psi = s(1 - x) with s'' = (v0 - E) s, s(0) = 0. At x = 1/2 + a the Wronskian must vanish.
    """

    def even(E):
        k, (c, s) = np.sqrt(E), _cosh_sinh(v0 - E, b)
        return -np.cos(k * a) * c + k * np.sin(k * a) * s

    def odd(E):
        k, (c, s) = np.sqrt(E), _cosh_sinh(v0 - E, b)
        return -np.sin(k * a) * c - k * np.cos(k * a) * s

    return _brentq_near(even, 16.385952), _brentq_near(odd, 60.629133)


def _barrier(v0: float = 50.0, half: float = 0.05) -> tuple[float, float]:
    """E_0, E_1 of a barrier v0 on [1/2 - half, 1/2 + half] in the box [0, 1], by matching.

    Left of the barrier psi = sin(k x), k^2 = E; inside it c(x - 1/2) (even) or s(x - 1/2) (odd) with
    u'' = (v0 - E) u; the Wronskian at x = 1/2 - half must vanish (c' = (v0 - E) s, s' = c).
    """
    L = 0.5 - half

    def even(E):
        k, (c, s) = np.sqrt(E), _cosh_sinh(v0 - E, half)
        return -np.sin(k * L) * (v0 - E) * s - k * np.cos(k * L) * c

    def odd(E):
        k, (c, s) = np.sqrt(E), _cosh_sinh(v0 - E, half)
        return np.sin(k * L) * c + k * np.cos(k * L) * s

    return _brentq_near(even, 18.190951), _brentq_near(odd, 39.787969)


def test_infinite_well_eigenpairs():
    """-psi'' = E psi on [0, 1]: E_n = (n+1)^2 pi^2 to 1e-10 (we get ~1e-12), sqrt(2) sin to 1e-8 (~5e-13)."""
    ref = solve_eigen([(0.0, 1.0)], LAPLACE_1D, ONE_1D, 4)
    assert isinstance(ref, EigenReference) and ref.method == "spectral elements (12 elements, degree 24)"
    n = np.arange(1, 5)
    np.testing.assert_allclose(ref.eigenvalues, (n * np.pi) ** 2, rtol=1e-10)
    x = np.linspace(0, 1, 200)
    psi = ref.values(x[:, None])
    assert psi.shape == (4, 200)
    for k in range(4):
        assert _up_to_sign(psi[k], np.sqrt(2) * np.sin((k + 1) * np.pi * x)) < 1e-8


def test_harmonic_oscillator():
    """-psi'' + x^2 psi = E psi on [-8, 8]: 1, 3, 5, 7 to 1e-9 (we get ~1e-12); ground state a Gaussian."""
    ref = solve_eigen([(-8.0, 8.0)], {(2,): lambda x: -1.0, (0,): lambda x: x**2}, ONE_1D, 4)
    np.testing.assert_allclose(ref.eigenvalues, [1, 3, 5, 7], rtol=1e-9)
    x = np.linspace(-8, 8, 301)
    assert _up_to_sign(ref.values(x[:, None])[0], np.pi**-0.25 * np.exp(-(x**2) / 2)) < 1e-8


def test_finite_well_with_jumps():
    """V = 50 outside [0.25, 0.75]: 16.385952, 60.629133 (E_1 above the walls) and the matching equation."""
    exact = _finite_well()
    np.testing.assert_allclose(exact, [16.385952, 60.629133], rtol=1e-7)
    V = lambda x: np.where((x < 0.25) | (x > 0.75), 50.0, 0.0)
    ref = solve_eigen([(0.0, 1.0)], {(2,): lambda x: -1.0, (0,): V}, ONE_1D, 2, breaks=[[0.25, 0.75]])
    np.testing.assert_allclose(ref.eigenvalues, [16.385952, 60.629133], rtol=1e-7)
    np.testing.assert_allclose(ref.eigenvalues, exact, rtol=1e-10)
    # the eigenfunctions are symmetric / antisymmetric about the middle and normalised
    x = np.linspace(0, 1, 401)
    psi = ref.values(x[:, None])
    np.testing.assert_allclose(psi[0], psi[0][::-1], atol=1e-9)
    np.testing.assert_allclose(psi[1], -psi[1][::-1], atol=1e-9)
    np.testing.assert_allclose(scipy.integrate.simpson(psi**2, x=x), 1.0, rtol=1e-6)


def test_barrier_with_jumps():
    """V = 50 on [0.45, 0.55]: 18.190951, 39.787969 and the matching equation to 1e-10."""
    exact = _barrier()
    np.testing.assert_allclose(exact, [18.190951, 39.787969], rtol=1e-7)
    V = lambda x: np.where((x > 0.45) & (x < 0.55), 50.0, 0.0)
    ref = solve_eigen([(0.0, 1.0)], {(2,): lambda x: -1.0, (0,): V}, ONE_1D, 2, breaks=[[0.45, 0.55]])
    np.testing.assert_allclose(ref.eigenvalues, [18.190951, 39.787969], rtol=1e-7)
    np.testing.assert_allclose(ref.eigenvalues, exact, rtol=1e-10)


def test_coefficient_value_at_a_break_never_used():
    """NaN at the jump points themselves (and outside the domain) changes nothing: only element interiors count."""

    def V(x):
        with np.errstate(invalid="ignore"):
            out = np.where((x > 0.45) & (x < 0.55), 50.0, 0.0)
        return np.where((x == 0.45) | (x == 0.55) | (x < 0) | (x > 1), np.nan, out)

    ref = solve_eigen([(0.0, 1.0)], {(2,): lambda x: -1.0, (0,): V}, ONE_1D, 2, breaks=[[0.45, 0.55]])
    np.testing.assert_allclose(ref.eigenvalues, _barrier(), rtol=1e-10)


def test_rectangle_infinite_well():
    """-Laplace psi = E psi on [0, 1] x [0, 2]: pi^2 (m^2 + n^2 / 4), lowest four, to 1e-9 (we get ~1e-12)."""
    lap = {(2, 0): lambda x, y: -1.0, (0, 2): lambda x, y: -1.0}
    ref = solve_eigen([(0, 1), (0, 2)], lap, {(0, 0): lambda x, y: 1.0}, 4)
    assert ref.method == "spectral elements (2 x 2 elements, degree 16)"
    exact = sorted(np.pi**2 * (m**2 + n**2 / 4) for m in range(1, 5) for n in range(1, 9))[:4]
    np.testing.assert_allclose(ref.eigenvalues, exact, rtol=1e-9)
    rng = np.random.default_rng(1)
    pts = rng.uniform([0, 0], [1, 2], size=(500, 2))
    psi = ref.values(pts)
    assert psi.shape == (4, 500)
    x, y = pts.T
    assert _up_to_sign(psi[0], np.sqrt(2) * np.sin(np.pi * x) * np.sin(np.pi * y / 2)) < 1e-8
    assert _up_to_sign(psi[1], np.sqrt(2) * np.sin(np.pi * x) * np.sin(np.pi * y)) < 1e-8


def test_first_derivative_term():
    """-(psi'' + 2 psi') = E psi on [0, pi]: E = n^2 + 1, psi = e^-x sin(n x), to 1e-9 (we get ~1e-12)."""
    op = {(2,): lambda x: -1.0, (1,): lambda x: -2.0}
    ref = solve_eigen([(0, np.pi)], op, ONE_1D, 4)
    n = np.arange(1, 5)
    np.testing.assert_allclose(ref.eigenvalues, n**2 + 1, rtol=1e-9)
    x = np.linspace(0, np.pi, 200)
    psi = ref.values(x[:, None])
    for k in n:
        norm = np.sqrt(scipy.integrate.quad(lambda s, k=k: np.exp(-2 * s) * np.sin(k * s) ** 2, 0, np.pi,
                                            epsabs=1e-14, epsrel=1e-14)[0])  # fmt: skip
        assert _up_to_sign(psi[k - 1], np.exp(-x) * np.sin(k * x) / norm) < 1e-8


def test_mass_with_derivatives_and_overrides():
    """-psi'' = E (psi - psi'') on [0, 1]: E = (n pi)^2 / (1 + (n pi)^2), a generalized eigenproblem."""
    mass = {(2,): lambda x: -1.0, (0,): lambda x: 1.0}
    ref = solve_eigen([(0, 1)], LAPLACE_1D, mass, 4, degree=20, elements=8)
    assert ref.method == "spectral elements (8 elements, degree 20)"
    k2 = (np.arange(1, 5) * np.pi) ** 2
    np.testing.assert_allclose(ref.eigenvalues, k2 / (1 + k2), rtol=1e-9)
    # a constant mass 4 scales the eigenvalues by 1/4
    ref = solve_eigen([(0, 1)], LAPLACE_1D, {(0,): lambda x: 4.0}, 2)
    np.testing.assert_allclose(ref.eigenvalues, k2[:2] / 4, rtol=1e-10)


def test_values_outside_and_on_the_boundary():
    ref = solve_eigen([(0.0, 1.0)], LAPLACE_1D, ONE_1D, 1)
    out = ref.values(np.array([[-1e-14], [0.0], [0.5], [1 + 1e-14], [1.1], [-0.2]]))
    np.testing.assert_allclose(out[0, :4], [0, 0, np.sqrt(2), 0], atol=1e-11)
    assert np.isnan(out[0, 4:]).all()
    with pytest.raises(ValueError, match="shape"):
        ref.values(np.zeros((3, 2)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"states": 0}, "states"),
        ({"states": 1.5}, "states"),
        ({"bounds": [(0, 1)] * 3}, "one or two axes"),
        ({"bounds": [(1, 0)]}, "lo < hi"),
        ({"breaks": [[1.5]]}, "strictly inside"),
        ({"breaks": [[0.5], [0.5]]}, "one list per axis"),
        ({"operator": {(2, 0): lambda x: -1.0}}, "derivative counts"),
        ({"operator": {(3,): lambda x: -1.0}}, "derivative counts"),
        ({"operator": {(2,): lambda x: np.full_like(x, np.nan)}}, "not finite"),
        ({"mass": {(0,): lambda x: 0.0}}, "vanishes"),
        ({"degree": 1}, "degree"),
        ({"elements": [2, 2]}, "elements"),
        ({"states": 10_000}, "exceeds"),
    ],
)
def test_bad_input_raises(kwargs, match):
    args = {"bounds": [(0.0, 1.0)], "operator": LAPLACE_1D, "mass": ONE_1D, "states": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        solve_eigen(args.pop("bounds"), args.pop("operator"), args.pop("mass"), args.pop("states"), **args)
