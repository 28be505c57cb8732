"""Classical data generators for neural operators: random fields, pseudo-spectral ETDRK4, Darcy flow."""

import dataclasses
import pickle

import numpy as np
import pytest
import scipy.fft
import sympy as sp
from scipy.integrate import solve_ivp

from neuralsolve.reference import darcy, grf, spectral

X, T, Y = sp.symbols("x t y")
U = sp.Function("u")(X, T)
TWO_PI = 2 * np.pi


# --- Gaussian random fields ---------------------------------------------------------------------


def test_periodic_field_has_the_covariance_of_the_operator():
    """Var u(x) = (1/L) sum_{k in Z} sigma^2 (lambda_k + tau^2)^-alpha; the covariance at lag s likewise."""
    sigma, tau, alpha, points, n, length = 25.0, 5.0, 2.0, 64, 20000, TWO_PI
    u = grf.periodic_1d(n, points, length, sigma, tau, alpha, np.random.default_rng(0))
    k = np.arange(-(10**6), 10**6 + 1)
    spectrum = sigma**2 * ((2 * np.pi * k / length) ** 2 + tau**2) ** (-alpha) / length
    variance = spectrum.sum()  # the untruncated sum: the grid's modes |k| <= 32 hold all but 0.2 %
    # a variance estimate from n Gaussian samples has relative standard deviation sqrt(2/n); the
    # field is stationary, so pooling the points can only make it more precise
    tolerance = 4 * np.sqrt(2 / n)
    assert abs(u.var(axis=0).mean() / variance - 1) < tolerance
    lags = np.arange(1, 6)
    grid_k = np.arange(-points // 2, points // 2 + 1)
    expected = [(spectrum[10**6 + grid_k] * np.cos(2 * np.pi * grid_k * lag / points)).sum() for lag in lags]
    measured = [(u * np.roll(u, -lag, axis=1)).mean() for lag in lags]
    np.testing.assert_allclose(measured, expected, atol=tolerance * variance)


@pytest.mark.parametrize("points", [4, 5])
def test_coarse_periodic_field_has_the_truncated_covariance(points):
    """On 4 or 5 points the grid's modes (the Nyquist cosine included) carry a large share of the variance."""
    sigma, tau, alpha, n = 1.0, 0.0, 0.75, 40000
    u = grf.periodic_1d(n, points, 1.0, sigma, tau, alpha, np.random.default_rng(5))
    k = np.arange(-(points // 2), points // 2 + 1)
    k = k[k != 0]  # tau = 0: no constant mode
    spectrum = sigma**2 * ((2 * np.pi * k) ** 2) ** (-alpha)
    lags = np.arange(points)
    expected = [(spectrum * np.cos(2 * np.pi * k * lag / points)).sum() for lag in lags]
    measured = [(u * np.roll(u, -lag, axis=1)).mean() for lag in lags]
    np.testing.assert_allclose(measured, expected, atol=4 * np.sqrt(2 / n) * expected[0])


def _neumann_variance(points, sigma, tau, alpha, lengths, i, j):
    """sum over the grid's modes of sigma^2 (lambda + tau^2)^-alpha c_k1(x_i)^2 c_k2(y_j)^2."""
    k = np.arange(points)
    basis = []
    for length, node in zip(lengths, (i, j)):
        x = node * length / (points - 1)
        basis.append(np.where(k == 0, 1 / length, 2 / length) * np.cos(np.pi * k * x / length) ** 2)
    lam = np.pi**2 * ((k[:, None] / lengths[0]) ** 2 + (k[None, :] / lengths[1]) ** 2)
    return (sigma**2 * (lam + tau**2) ** (-alpha) * np.outer(*basis)).sum()


@pytest.mark.parametrize("lengths", [(1.0, 1.0), (1.0, 2.0)])
def test_neumann_field_has_the_covariance_of_the_operator(lengths):
    """Pointwise variance at the centre, a corner and an edge point, against the eigenfunction sum."""
    points, n = 17, 20000
    u = grf.neumann_2d(n, points, 1.0, 3.0, 2.0, np.random.default_rng(1), lengths=lengths)
    assert u.shape == (n, points, points)
    for i, j in [(8, 8), (0, 0), (16, 5)]:
        expected = _neumann_variance(points, 1.0, 3.0, 2.0, lengths, i, j)
        assert abs(u[:, i, j].var() / expected - 1) < 4 * np.sqrt(2 / n), (i, j)


def test_without_tau_the_constant_mode_is_left_out():
    """tau = 0: (-Laplacian)^-alpha is not defined on constants, so every sample has zero mean."""
    rng = np.random.default_rng(2)
    periodic = grf.periodic_1d(50, 32, 1.0, 1.0, 0.0, 2.0, rng)
    assert np.abs(periodic.mean(axis=1)).max() < 1e-14 * np.abs(periodic).max()
    neumann = grf.neumann_2d(20, 9, 1.0, 0.0, 2.0, rng)
    # the trapezoidal rule integrates the grid's cosines exactly: their integral is zero for k > 0
    weights = np.ones(9)
    weights[[0, -1]] = 0.5
    assert np.abs(np.einsum("nij,i,j->n", neumann, weights, weights)).max() < 1e-13


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: grf.periodic_1d(2, 16, 1.0, 1.0, 1.0, 0.5, r), "infinite pointwise variance"),
        (lambda r: grf.neumann_2d(2, 16, 1.0, 1.0, 1.0, r), "alpha must be > d/2 = 1"),
        (lambda r: grf.periodic_1d(2, 16, 1.0, 0.0, 1.0, 2.0, r), "sigma must be > 0"),
        (lambda r: grf.neumann_2d(2, 16, 1.0, -1.0, 2.0, r), "tau must be >= 0"),
        (lambda r: grf.periodic_1d(2, 1, 1.0, 1.0, 1.0, 2.0, r), "points must be an integer >= 2"),
    ],
)
def test_field_parameters_are_checked(make, message):
    """Parameters without a finite-variance field on the grid are refused, with the reason."""
    with pytest.raises(ValueError, match=message):
        make(np.random.default_rng(0))


# --- splitting u_t = rhs --------------------------------------------------------------------------


def test_split_turns_constant_coefficient_terms_into_a_fourier_multiplier():
    """0.1 u_xx - u_xxx -> -0.1 k^2 + i k^3; the rest (products, x-dependence, sources) stays in N."""
    parts = spectral.split(0.1 * U.diff(X, 2) - U.diff(X, 3) - U * U.diff(X) + sp.sin(X) * U + 3, U, X)
    k = np.arange(17.0)
    np.testing.assert_allclose(parts.multiplier(k), -0.1 * k**2 + 1j * k**3, rtol=1e-15)
    n = 32
    x = TWO_PI / n * np.arange(n)
    u_hat = scipy.fft.rfft(np.cos(x))[None]
    n_physical = scipy.fft.irfft(parts.nonlinear(u_hat, k, x), n=n)
    # -u u_x + sin(x) u + 3 at u = cos(x): every mode is below n/3, so this is exact
    np.testing.assert_allclose(n_physical[0], np.sin(2 * x) / 2 + np.sin(x) * np.cos(x) + 3, atol=1e-13)


def test_products_are_dealiased_by_the_two_thirds_rule():
    """-u u_x at u = cos(10 x) is 5 sin(20 x): kept on 64 points, dropped on 32 (20 >= 32/3)."""
    parts = spectral.split(-U * U.diff(X), U, X)
    for n, expected in [(64, lambda x: 5 * np.sin(20 * x)), (32, lambda x: 0 * x)]:
        x = TWO_PI / n * np.arange(n)
        k = np.arange(n // 2 + 1.0)
        n_hat = parts.nonlinear(scipy.fft.rfft(np.cos(10 * x))[None], k, x)
        np.testing.assert_allclose(scipy.fft.irfft(n_hat, n=n)[0], expected(x), atol=1e-12)


def test_a_used_split_travels_to_worker_processes():
    """A Split pickles after use (its lambdified cache stays behind) and evaluates the same on arrival."""
    parts = spectral.split(-U * U.diff(X) + sp.cos(X), U, X)
    n = 24
    x, k = TWO_PI / n * np.arange(n), np.arange(n // 2 + 1.0)
    u_hat = scipy.fft.rfft(np.sin(x) + 0.5)[None]
    before = parts.nonlinear(u_hat, k, x)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(parts)).nonlinear(u_hat, k, x), before)


@pytest.mark.parametrize(
    ("rhs", "message"),
    [
        (U.diff(T) + U.diff(X, 2), "derivatives in x only, not in t"),
        (sp.Symbol("nu") * U.diff(X, 2), r"unknown parameters \['nu'\]"),
        (T * U, "explicit dependence on"),
        (sp.Function("w")(X, T) * U, "unknown functions"),
    ],
)
def test_split_refuses_what_it_cannot_solve(rhs, message):
    """Time derivatives, free parameters, explicit time and other functions are errors that say so."""
    with pytest.raises(ValueError, match=message):
        spectral.split(rhs, U, X)


def test_split_refuses_derivatives_in_another_coordinate():
    """u(x, y, t) with a y-derivative is not a 1-D problem."""
    v = sp.Function("u")(X, Y, T)
    with pytest.raises(ValueError, match="derivatives in x only, not in y"):
        spectral.split(v.diff(Y, 2), v, X)


# --- ETDRK4 ---------------------------------------------------------------------------------------


def test_heat_equation_is_solved_exactly():
    """u_t = u_xx, u0 = sin x -> exp(-t) sin x."""
    x = TWO_PI / 64 * np.arange(64)
    u = spectral.solve_periodic(U.diff(X, 2), U, X, np.sin(x)[None], TWO_PI, 1.0)
    np.testing.assert_allclose(u[0], np.exp(-1.0) * np.sin(x), atol=1e-10)


def test_sources_and_dispersion_at_the_save_times():
    """Constant N and an odd-derivative (complex) multiplier are exact: (1 - e^-t) sin x and sin(x - t)."""
    n, times = 48, np.array([0.25, 0.5, 1.5])
    x = TWO_PI / n * np.arange(n)
    source = spectral.split(U.diff(X, 2) + sp.sin(X), U, X)
    end, saved = spectral.etdrk4(source.multiplier, source.nonlinear, np.zeros((2, n)), TWO_PI, 1.5, 0.1, save=times)
    expected = (1 - np.exp(-times))[:, None, None] * np.sin(x)
    np.testing.assert_allclose(saved, np.broadcast_to(expected, (3, 2, n)), atol=1e-12)
    np.testing.assert_array_equal(end, saved[-1])
    advection = spectral.split(-U.diff(X), U, X)
    moved = spectral.etdrk4(advection.multiplier, advection.nonlinear, np.sin(x), TWO_PI, 1.0, 0.3)
    np.testing.assert_allclose(moved, np.sin(x - 1.0), atol=1e-12)


@pytest.mark.parametrize(("dt", "steps"), [(0.3, 4), (0.1, 10), (1.0, 1)])
def test_the_step_is_shrunk_to_hit_t_end(dt, steps):
    """ceil(t_end / dt) steps, four evaluations of N each; 1 / 0.1 does not round up to 11."""
    calls = []

    def counting(u_hat, k, x):
        calls.append(1)
        return np.zeros_like(u_hat)

    spectral.etdrk4(lambda k: -(k**2), counting, np.ones((1, 8)), TWO_PI, 1.0, dt)
    assert len(calls) == 4 * steps


def _burgers_mol(u0, nu):
    """Independent reference: Fourier differentiation without dealiasing, DOP853 at rtol 1e-10."""
    n = len(u0)
    k = np.arange(n // 2 + 1.0)  # wavenumbers on (0, 2 pi)
    ik = 1j * k
    ik[-1] = 0  # the Nyquist mode of a first derivative is not real: dropped, as usual

    def rhs(_, u):
        c = scipy.fft.rfft(u)
        return -u * scipy.fft.irfft(ik * c, n) + nu * scipy.fft.irfft(-(k**2) * c, n)

    with np.errstate(over="ignore", invalid="ignore"):  # an explicit method's rejected trial steps on a stiff system
        sol = solve_ivp(rhs, (0.0, 1.0), u0, method="DOP853", rtol=1e-10, atol=1e-12)
    assert sol.success
    return sol.y[:, -1]


def _burgers_agreement(n):
    """Relative L2 difference at t = 1 between ETDRK4 (default dt) and the method of lines."""
    u0 = grf.periodic_1d(1, n, TWO_PI, 25.0, 5.0, 2.0, np.random.default_rng(3))
    etd = spectral.solve_periodic(-U * U.diff(X) + sp.Rational(1, 10) * U.diff(X, 2), U, X, u0, TWO_PI, 1.0)
    ref = _burgers_mol(u0[0], 0.1)
    return np.linalg.norm(etd[0] - ref) / np.linalg.norm(ref)


def test_burgers_matches_the_method_of_lines():
    """u_t + u u_x = 0.1 u_xx from a N(0, 625 (-Delta + 25 I)^-2) sample, 256 points (5e-8 measured)."""
    assert _burgers_agreement(256) < 1e-6


@pytest.mark.slow
def test_burgers_matches_the_method_of_lines_on_1024_points():
    """The same on 1024 points, where DOP853 needs 50 000 evaluations (about 10 s)."""
    assert _burgers_agreement(1024) < 1e-6


# --- Darcy flow -----------------------------------------------------------------------------------


def _manufactured():
    """u = sin(pi x) sin(pi y), a = 1 + 0.5 sin(2 pi x) cos(pi y) and f = -div(a grad u), as NumPy functions."""
    u = sp.sin(sp.pi * X) * sp.sin(sp.pi * Y)
    a = 1 + sp.sin(2 * sp.pi * X) * sp.cos(sp.pi * Y) / 2
    f = -(sp.diff(a * sp.diff(u, X), X) + sp.diff(a * sp.diff(u, Y), Y))
    return [sp.lambdify((X, Y), e, modules="numpy") for e in (u, a, f)]


def test_darcy_is_second_order_for_a_smooth_coefficient():
    """Max-norm errors at s = 17, 33, 65 fall by 4 with each halving of h."""
    u, a, f = _manufactured()
    errors = []
    for s in (17, 33, 65):
        x, y = np.meshgrid(np.linspace(0, 1, s), np.linspace(0, 1, s), indexing="ij")
        errors.append(np.abs(darcy.solve_darcy(a(x, y), f(x, y)) - u(x, y)).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders >= 1.8) & (orders <= 2.2)), orders


def test_darcy_reproduces_a_discrete_eigenvector_on_a_rectangle():
    """Constant a: sin(pi x / L1) sin(2 pi y / L2) is an eigenvector of the five-point operator."""
    s, lengths, a = 9, (1.0, 2.0), 2.5
    h = [length / (s - 1) for length in lengths]
    x, y = np.meshgrid(np.linspace(0, 1, s), np.linspace(0, 2, s), indexing="ij")
    mode = np.sin(np.pi * x) * np.sin(np.pi * y)
    # mode numbers 1 and 2: the two directions' terms differ, so h1 and h2 cannot be swapped unseen
    eigenvalue = sum(4 / hi**2 * np.sin(m * np.pi * hi / (2 * li)) ** 2 for hi, li, m in zip(h, lengths, (1, 2)))
    u = darcy.solve_darcy(np.full((s, s), a), a * eigenvalue * mode, lengths)
    np.testing.assert_allclose(u, mode, atol=1e-13)


def test_solve_many_solves_each_thresholded_field():
    """A batch of benchmark coefficients (12 / 3 by the sign of a field), f = 1; zero on the boundary."""
    fields = grf.neumann_2d(3, 21, 1.0, 3.0, 2.0, np.random.default_rng(4))
    coeffs = np.where(fields >= 0, 12.0, 3.0)
    batch = darcy.solve_many(coeffs, 1.0)
    assert batch.shape == (3, 21, 21)
    for a, u in zip(coeffs, batch):
        np.testing.assert_array_equal(u, darcy.solve_darcy(a, np.ones((21, 21))))
        assert not u[[0, -1], :].any() and not u[:, [0, -1]].any()
        # the discrete maximum principle: a positive source gives a positive solution inside
        assert u[1:-1, 1:-1].min() > 0


def test_darcy_refuses_a_non_positive_coefficient():
    """a <= 0 anywhere is not an elliptic problem."""
    a = np.ones((5, 5))
    a[2, 2] = 0.0
    with pytest.raises(ValueError, match="positive everywhere"):
        darcy.solve_darcy(a, 1.0)


def test_refined_inputs_are_the_same_functions_on_a_grid_twice_as_fine():
    """Estimating the generated data's error solves again on a finer grid: a band-limited periodic
    field is refined exactly (Fourier), a vertex-grid field keeps its values at the old points."""
    from types import SimpleNamespace

    from neuralsolve.reference.datasets import _refined

    x = np.arange(16) / 16
    fine = _refined(np.sin(2 * np.pi * 3 * x)[None], SimpleNamespace(dim=1))
    np.testing.assert_allclose(fine[0], np.sin(2 * np.pi * 3 * np.arange(32) / 32), atol=1e-13)
    field = np.random.default_rng(0).random((2, 5, 7))
    refined = _refined(field, SimpleNamespace(dim=2))
    assert refined.shape == (2, 9, 13)
    np.testing.assert_array_equal(refined[:, ::2, ::2], field)
    np.testing.assert_allclose(refined[:, 1, 0], (field[:, 0, 0] + field[:, 1, 0]) / 2)


def test_the_sampling_floor_is_the_solver_itself_from_the_coarse_inputs(tmp_path):
    """Inputs with no modes beyond the coarse grid's reach: the floor is the solver's rounding.
    The tiny problem's random fields are rough: sampling them coarser leaves a floor that grows."""
    import neuralsolve as ns
    from conftest import BURGERS_OPERATOR
    from neuralsolve.methods.operator.data import load
    from neuralsolve.reference.datasets import Dataset, sampling_floor, solve_chunk
    from neuralsolve.reference.operators import generator_for

    (tmp_path / "b.toml").write_text(BURGERS_OPERATOR)
    problem = ns.load(tmp_path / "b.toml")
    gen = generator_for(problem)
    x = gen.grid(128)[0]
    smooth = np.stack([np.sin(x) + 0.3 * np.cos(2 * x) + 0.1 * k for k in range(3)])
    data = Dataset(smooth, solve_chunk(gen, smooth), 0, True, key="k")  # all test: solved as one batch, one step
    assert sampling_floor(problem, data, 32) < 1e-12
    rough = load(problem)
    f32, f64 = sampling_floor(problem, rough, 32), sampling_floor(problem, rough, 64)
    assert 0 < f64 < f32 < 0.5 and sampling_floor(problem, rough, 128) is None


def test_a_spectral_cut_keeps_the_modes_below_the_coarse_nyquist_frequency_and_drops_the_rest():
    """Modes a coarse grid can carry come through exactly (where subsampling agrees); a mode above
    its Nyquist frequency is dropped, where subsampling folds it onto a low mode. Axis by axis in 2-D."""
    from neuralsolve.reference.datasets import band_limited, subsample

    x = np.arange(64) * TWO_PI / 64
    low = np.sin(x) + 0.3 * np.cos(7 * x) + 0.2
    np.testing.assert_allclose(band_limited(low[None], 16)[0], low[::4], atol=1e-13)
    high = low + 0.5 * np.cos(15 * x)  # folds onto mode 1 of 16 points when subsampled
    np.testing.assert_allclose(band_limited(high[None], 16)[0], low[::4], atol=1e-13)
    assert np.max(np.abs(subsample(high[None], 16, True)[0] - low[::4])) > 0.4
    plane = low[:, None] * np.cos(2 * x)[None, :] + np.cos(20 * x)[None, :]
    np.testing.assert_allclose(band_limited(plane[None], 32)[0], (low[:, None] * np.cos(2 * x)[None, :])[::2, ::2],
                               atol=1e-13)  # fmt: skip


def test_band_limited_coarse_inputs_leave_no_folding_floor(tmp_path):
    """The tiny problem's rough inputs taken to 32 points by the spectral cut: the classical solver
    from them errs far less than from the subsampled ones (what is left is what the cut modes did)."""
    import neuralsolve as ns
    from conftest import BURGERS_OPERATOR
    from neuralsolve.methods.operator.data import load
    from neuralsolve.reference.datasets import sampling_floor

    (tmp_path / "b.toml").write_text(BURGERS_OPERATOR.replace("[operator]\n", '[operator]\ncoarsen = "spectral"\n'))
    problem = ns.load(tmp_path / "b.toml")
    data = load(problem)
    assert data.spectral and np.ptp(data.split(32)[0][0] - data.inputs[: data.train, ::4]) > 0
    subsampled = sampling_floor(problem, dataclasses.replace(data, spectral=False), 32)
    assert sampling_floor(problem, data, 32) < subsampled / 100
