"""Neural-operator models (FNO, DeepONet, MgNO): shapes at any resolution, resolution invariance,
interpolation to the sensors, parameter counts, gradients, and a small learning run.

Tiny sizes throughout: compiling is what costs here, so the models share their sizes and each
forward pass is one jitted, vmapped call.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from neuralsolve._errors import ProblemError
from neuralsolve.nn.deeponet import resample
from neuralsolve.nn.fno import FNO
from neuralsolve.nn.mgno import VCycle
from neuralsolve.nn.operators import build, count_parameters

KEY = jax.random.PRNGKey(0)
# test data from NumPy: XLA on CPU takes seconds to compile JAX's generator for a 3- or 4-D shape
RNG = np.random.default_rng(0)
TINY = {
    "fno": {"width": 8, "modes": 6, "layers": 2, "projection": 16},
    "deeponet": {"width": 8, "depth": 2, "basis": 4},
    "mgno": {"width": 4, "layers": 2, "projection": 8},
}
S = 8  # training grid: DeepONet's sensors per axis, MgNO's levels (2: 8 → 4 points)


@eqx.filter_jit
def apply(model, a):
    """The model on a batch of samples."""
    return jax.vmap(model)(a)


def _tiny(kind, dim, periodic=True, *, abstract=False):
    """A tiny model with one input and one output channel (``abstract``: shapes only, no values)."""
    make = eqx.filter_eval_shape if abstract else (lambda f, *args, **kw: f(*args, **kw))
    return make(build, kind, dim, 1, 1, periodic=periodic, sensors=S, key=KEY, **TINY[kind])


def _relative_l2(model, a, u):
    error = jax.vmap(model)(a) - u
    axes = tuple(range(1, u.ndim))
    return jnp.mean(jnp.sqrt(jnp.sum(error**2, axis=axes) / jnp.sum(u**2, axis=axes)))


def _output_shape(model, batch_shape):
    """The shape of the model's output on a batch, found by tracing alone (nothing compiled)."""
    a = jax.ShapeDtypeStruct(batch_shape, jnp.float32)
    return jax.eval_shape(lambda m, a: jax.vmap(m)(a), model, a).shape


@pytest.mark.parametrize(
    ("kind", "periodic", "sensors", "sizes"),
    [("fno", True, S, (S, 2 * S)), ("fno", False, 61, (61, 13, 2 * S)), ("deeponet", True, S, (S, 2 * S)),
     ("deeponet", False, S, (S, 13)), ("mgno", True, S, (S, 13, 2 * S)), ("mgno", False, 61, (61, 121, 13))],
)  # fmt: skip
@pytest.mark.parametrize("dim", [1, 2])
def test_each_model_maps_a_batch_to_the_same_grid_at_any_resolution(kind, periodic, sensors, sizes, dim):
    # default sizes (FNO: 16 modes, more than a coarse grid has; MgNO: 2 or 5 levels, odd grids)
    model = eqx.filter_eval_shape(build, kind, dim, 3, 2, periodic=periodic, sensors=sensors, key=KEY)
    for s in sizes:
        assert _output_shape(model, (2, 3) + (s,) * dim) == (2, 2) + (s,) * dim


def test_a_sample_of_the_wrong_dimension_is_refused():
    with pytest.raises(ValueError, match="expects one sample"):
        _output_shape(eqx.filter_eval_shape(FNO, 2, 1, 1, key=KEY), (1, 1, S))


@pytest.mark.parametrize(("dim", "s"), [(1, 32), (2, 16)])
def test_periodic_fno_is_resolution_invariant_for_band_limited_inputs(dim, s):
    # The same function sampled at s and 2s gives the same output on the common points: the
    # spectral layers see Fourier coefficients (norm="forward"), the positional channels are
    # band-limited, and what the activations add above the kept modes aliases only at the level
    # of their (fast-decaying) spectrum far out.
    def field(*xs):
        return np.sin(2 * np.pi * xs[0]) + 0.5 * np.cos(2 * np.pi * (xs[-1] - 2 * xs[0])) + 0.3

    with jax.enable_x64(True):
        model = FNO(dim, 1, 2, width=8, modes=6, layers=3, projection=8, key=KEY, dtype=jnp.float64)
        outs = []
        for n in (s, 2 * s):
            xs = np.meshgrid(*[np.arange(n) / n] * dim, indexing="ij")
            outs.append(np.asarray(apply(model, jnp.asarray(field(*xs)[None, None])))[0])
    common = outs[1][(slice(None),) + (slice(None, None, 2),) * dim]
    assert np.linalg.norm(outs[0]) > 0.1
    assert np.linalg.norm(common - outs[0]) < 1e-6 * np.linalg.norm(outs[0])


@pytest.mark.parametrize(("s", "modes"), [(256, 24), (64, 16), (10, 6), (9, 12), (7, 3)])
def test_spectral_layer_1d_equals_its_definition_by_rfft(s, modes):
    """The layer's kept modes by real matrix products: the same as keeping the modes of a full
    rFFT, the imaginary parts of the zero and s/2 modes dropped as an inverse rFFT drops them
    (coarse grids keep fewer modes than asked, s = 10 keeps its s/2 mode; even and odd sizes)."""
    from neuralsolve.nn.fno import _spectral_1d

    rng = np.random.default_rng(0)
    v = rng.standard_normal((3, s))
    w = rng.standard_normal((3, 4, modes)) + 1j * rng.standard_normal((3, 4, modes))
    m = min(modes, s // 2 + 1)
    out = np.zeros((4, s // 2 + 1), complex)
    out[:, :m] = np.einsum("iok,ik->ok", w[..., :m], np.fft.rfft(v, norm="forward")[:, :m])
    expected = np.fft.irfft(out, n=s, norm="forward")
    with jax.enable_x64(True):
        got = np.asarray(_spectral_1d(jnp.asarray(v), jnp.asarray(w), modes))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))


@pytest.mark.parametrize(("s1", "s2", "modes"), [(69, 69, 12), (16, 10, 6), (9, 9, 12), (8, 7, 3)])
def test_spectral_layer_2d_equals_its_definition_by_rfft2(s1, s2, modes):
    """The layer transforms the kept rows by matrix products: the same as keeping the modes of a
    full rFFT2 (coarse grids keep fewer modes than asked; even and odd sizes)."""
    from neuralsolve.nn.fno import _spectral_2d

    rng = np.random.default_rng(0)
    v = rng.standard_normal((3, s1, s2))
    w = rng.standard_normal((2, 3, 4, modes, modes)) + 1j * rng.standard_normal((2, 3, 4, modes, modes))
    m1, m2 = min(modes, s1 // 2), min(modes, s2 // 2 + 1)
    c = np.fft.rfft2(v, norm="forward")
    out = np.zeros((4, s1, s2 // 2 + 1), complex)
    out[:, :m1, :m2] = np.einsum("ioxy,ixy->oxy", w[0][..., :m1, :m2], c[:, :m1, :m2])
    out[:, s1 - m1:, :m2] = np.einsum("ioxy,ixy->oxy", w[1][..., :m1, :m2], c[:, s1 - m1:, :m2])
    expected = np.fft.irfft2(out, s=(s1, s2), norm="forward")
    with jax.enable_x64(True):
        got = np.asarray(_spectral_2d(jnp.asarray(v), jnp.asarray(w), modes))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("s", [8, 9])
def test_mgno_convolutions_equal_xlas_by_their_definition(dim, s):
    """MgNO's convolutions as matrix products over shifted copies: the same as
    lax.conv_general_dilated (stride 1 and 2, zero and wrap-around padding; the transposed one
    with lhs_dilation 2 and padding 2), odd and even sizes."""
    from neuralsolve.nn.mgno import _conv, _conv_transpose

    rng = np.random.default_rng(dim * 10 + s)
    x, k = rng.standard_normal((5,) + (s,) * dim), rng.standard_normal((4, 5) + (3,) * dim)
    coarse = rng.standard_normal((5,) + ((s + 1) // 2,) * dim)
    with jax.enable_x64(True):
        for periodic in (False, True):
            padded = jnp.pad(x, [(0, 0)] + [(1, 1)] * dim, mode="wrap" if periodic else "constant")
            for stride in (1, 2):
                expected = jax.lax.conv_general_dilated(padded[None], k, (stride,) * dim, "VALID")[0]
                np.testing.assert_allclose(_conv(jnp.asarray(x), jnp.asarray(k), periodic, stride), expected, atol=1e-12)
        expected = jax.lax.conv_general_dilated(coarse[None], k, (1,) * dim, [(2, 2)] * dim, lhs_dilation=(2,) * dim)[0]
        np.testing.assert_allclose(_conv_transpose(jnp.asarray(coarse), jnp.asarray(k)), expected, atol=1e-12)


def test_non_periodic_fno_pads_by_a_fraction_of_the_grid():
    model = eqx.filter_eval_shape(FNO, 1, 1, 1, periodic=False, key=KEY)
    assert [model.pad_points(s) for s in (8, 13, 64)] == [1, 2, 8]  # ceil(s/8)
    assert eqx.filter_eval_shape(FNO, 1, 1, 1, padding=5, periodic=False, key=KEY).pad_points(64) == 5
    assert eqx.filter_eval_shape(FNO, 1, 1, 1, padding=0.25, periodic=False, key=KEY).pad_points(13) == 4


@pytest.mark.parametrize(("dim", "periodic", "s"), [(1, True, 16), (2, False, 9)])
def test_the_modes_a_grid_carries_are_the_ones_whose_weights_train(dim, periodic, s):
    # check_modes refuses more modes than carried_modes: beyond them the weights get no gradient
    from neuralsolve.nn.grid import carried_modes

    most = carried_modes(s, periodic)
    model = FNO(dim, 1, 1, width=2, modes=most + 2, layers=1, projection=2, periodic=periodic, key=KEY)
    a = jnp.asarray(RNG.normal(size=(1,) + (s,) * dim), jnp.float32)
    grads = eqx.filter_grad(lambda m: jnp.sum(m(a) ** 2))(model).spectral[0].weights
    beyond = grads[..., most + 1 :] if dim == 1 else grads[..., most:, :]  # 1-D: mode s/2 (Nyquist) in part
    assert np.all(np.asarray(beyond) == 0) and np.any(np.asarray(grads[..., : most - 1]) != 0)


@pytest.mark.parametrize(("dim", "periodic", "fine"), [(1, True, 2 * S), (2, False, 2 * S - 1)])
def test_deeponet_gives_the_same_output_from_a_finer_sampling_of_the_input(dim, periodic, fine):
    # a finer grid that contains the sensors (periodic: 2s points; vertex grid: 2s - 1 points):
    # the interpolation to the sensors is exact, so the outputs agree on the common points
    def field(*xs):
        return np.sin(2 * np.pi * xs[0]) * np.cos(2 * np.pi * xs[-1]) + xs[0]

    model = _tiny("deeponet", dim, periodic)
    outs = []
    for n in (S, fine):
        xs = np.meshgrid(*[np.arange(n) / (n if periodic else n - 1)] * dim, indexing="ij")
        outs.append(np.asarray(apply(model, jnp.asarray(field(*xs)[None, None], jnp.float32)))[0])
    assert np.abs(outs[0]).max() > 1e-3
    np.testing.assert_allclose(outs[1][(slice(None),) + (slice(None, None, 2),) * dim], outs[0], rtol=1e-6, atol=1e-6)


def test_resample_is_linear_interpolation_periodic_aware():
    interpolate = jax.jit(resample, static_argnums=(1, 2))
    # vertex grid, 7 points to 5 (not nested): a linear function is reproduced exactly
    x7, x5 = np.linspace(0, 1, 7), np.linspace(0, 1, 5)
    got = interpolate(jnp.asarray(3 * x7 - 1, jnp.float32)[None], 5, False)
    np.testing.assert_allclose(got[0], 3 * x5 - 1, rtol=0, atol=1e-6)
    # periodic, 8 points to 12: the last new point (11/12) lies between the last old one (7/8) and
    # the first one again; all within the linear interpolation bound h²/8·max|f''| (without the
    # wrap-around the last point would be off by 0.2)
    x8, x12 = np.arange(8) / 8, np.arange(12) / 12
    got = interpolate(jnp.asarray(np.sin(2 * np.pi * x8), jnp.float32)[None], 12, True)
    error = np.abs(np.asarray(got[0]) - np.sin(2 * np.pi * x12))
    assert 0 < error.max() <= (1 / 8) ** 2 / 8 * (2 * np.pi) ** 2
    # a 2-D field is interpolated along both axes
    assert jax.eval_shape(lambda a: resample(a, 8, True), jnp.ones((3, 12, 10))).shape == (3, 8, 8)


def _fno_count(dim, c_in, c_out, width, modes, layers, projection, periodic):
    lift = (c_in + (2 * dim if periodic else dim)) * width + width
    spectral = 2 * width * width * modes**dim * (1 if dim == 1 else 2)  # complex: 2 reals; 2-D: ± first-axis modes
    project = width * projection + projection + projection * c_out + c_out
    return lift + layers * (spectral + width * width + width) + project


def test_fno_parameter_counts_match_the_hand_formula_and_the_paper_sizes():
    model = eqx.filter_eval_shape(FNO, 1, 1, 1, width=4, modes=3, layers=2, projection=8, key=KEY)
    # lift (1 + cos, sin)·4 + 4 = 16; per layer 2·4·4·3 + 4·4 + 4 = 116; projection 4·8 + 8 + 8 + 1 = 49
    assert count_parameters(model) == 16 + 2 * 116 + 49 == _fno_count(1, 1, 1, 4, 3, 2, 8, True)
    for dim, width, modes, periodic in [(2, 4, 3, False), (2, 5, 2, True), (1, 6, 4, False)]:
        abstract = eqx.filter_eval_shape(FNO, dim, 2, 3, width=width, modes=modes, layers=3, projection=7,
                                         periodic=periodic, key=KEY)  # fmt: skip
        assert count_parameters(abstract) == _fno_count(dim, 2, 3, width, modes, 3, 7, periodic)
    # paper sizes (vertex-grid positional channels, as in the original code, which counts a
    # complex weight as two reals): 1-D width 64, 16 modes; 2-D width 32, 12 modes
    assert count_parameters(eqx.filter_eval_shape(FNO, 1, 1, 1, periodic=False, key=KEY)) == 549_569
    fno_2d = eqx.filter_eval_shape(FNO, 2, 1, 1, width=32, modes=12, periodic=False, key=KEY)
    assert count_parameters(fno_2d) == 2_368_001
    # a complex leaf counts twice
    assert count_parameters([jnp.ones((2, 3), jnp.complex64), jnp.ones(4), jnp.ones(5, int)]) == 16


def test_channel_mlp_fno_counts_its_mlps_and_gates_and_stays_resolution_invariant():
    plain = eqx.filter_eval_shape(FNO, 1, 1, 1, width=4, modes=3, layers=2, projection=8, key=KEY)
    model = eqx.filter_eval_shape(FNO, 1, 1, 1, width=4, modes=3, layers=2, projection=8, channel_mlp=True, key=KEY)
    # lift 3 -> 8 -> 4: 3·8 + 8 + 8·4 + 4 = 68 (not 16); per layer an MLP 4 -> 2 -> 4 (10 + 12) and 4 gates
    assert count_parameters(model) == count_parameters(plain) - 16 + 68 + 2 * (10 + 12 + 4)
    # neuraloperator 2.0's FNO at these sizes has 575,041 (its peer run): its positional channel is x,
    # ours cos 2πx and sin 2πx, one more input to the lift's first layer of 2·64 units: +128
    assert count_parameters(eqx.filter_eval_shape(FNO, 1, 1, 1, channel_mlp=True, key=KEY)) == 575_169
    with jax.enable_x64(True):
        real = FNO(1, 1, 1, width=8, modes=6, layers=3, projection=8, channel_mlp=True, key=KEY, dtype=jnp.float64)
        outs = []
        for n in (32, 64):
            x = np.arange(n) / n
            outs.append(np.asarray(apply(real, jnp.asarray((np.sin(2 * np.pi * x) + 0.3)[None, None])))[0, 0])
    assert np.linalg.norm(outs[1][::2] - outs[0]) < 1e-6 * np.linalg.norm(outs[0])


def test_mgno_and_deeponet_parameter_counts_match_their_hand_formulas():
    # MgNO, 2-D: per layer (levels smoothers, levels - 1 each of system, restriction, prolongation)
    # 3×3 convolutions without bias, plus W and b
    width, layers, levels = 24, 5, 5
    # the training grid 61 → 31 → 16 → 8 → 4 points: 5 levels
    mgno = eqx.filter_eval_shape(build, "mgno", 2, 1, 1, periodic=False, sensors=61, key=KEY)
    per_layer = (4 * levels - 3) * width * width * 9 + width * width + width
    lift, project = 3 * width + width, width * 128 + 128 + 128 + 1
    assert count_parameters(mgno) == lift + layers * per_layer + project == 447_065
    fno_2d = eqx.filter_eval_shape(FNO, 2, 1, 1, width=32, modes=12, key=KEY)
    assert count_parameters(mgno) < count_parameters(fno_2d) / 5
    # DeepONet, 1-D periodic: branch 8 sensors → 8 → 8 → 4 basis functions, trunk (cos, sin) → 8 → 8
    # → 4, one bias
    branch = (8 * 8 + 8) + (8 * 8 + 8) + (8 * 4 + 4)
    trunk = (2 * 8 + 8) + (8 * 8 + 8) + (8 * 4 + 4)
    assert count_parameters(_tiny("deeponet", 1, abstract=True)) == branch + trunk + 1


def test_build_takes_the_mgno_levels_from_the_training_grid_and_refuses_unknown_models():
    def levels(dim, sensors, **sizes):
        model = eqx.filter_eval_shape(build, "mgno", dim, 1, 1, periodic=True, sensors=sensors, key=KEY, **sizes)
        return model.cycles[0].levels

    assert (levels(2, 61), levels(1, 256), levels(1, 64, levels=2)) == (5, 7, 2)
    with pytest.raises(ProblemError, match="unknown operator model"):
        build("unet", 1, 1, 1, periodic=True, sensors=8, key=KEY)
    with pytest.raises(ProblemError, match="activation"):
        FNO(1, 1, 1, activation="relu6", key=KEY)


@pytest.mark.parametrize("dim", [1, 2])
def test_periodic_v_cycle_commutes_with_shifts_that_every_level_resolves(dim):
    # a shift by 2^(levels-1) fine points is a whole number of points on every grid: if the
    # wrap-around padding of every convolution and the fold of the prolongation are right, the
    # V-cycle commutes with it exactly (a shift by 1 point does not: coarse grids cannot follow)
    cycle = VCycle(dim, 2, 3, True, key=KEY, dtype=jnp.float32)
    f = jnp.asarray(RNG.normal(size=(2,) + (16,) * dim), jnp.float32)
    axes = tuple(range(1, dim + 1))

    @jax.jit
    def commutators(f):
        out = cycle(f)
        return out, [cycle(jnp.roll(f, n, axis=axes)) - jnp.roll(out, n, axis=axes) for n in (4, 1)]

    out, whole, one = (np.asarray(x) for x in jax.tree_util.tree_leaves(commutators(f)))
    assert np.abs(out).max() > 0.1
    np.testing.assert_allclose(whole, 0, atol=1e-5)
    assert np.abs(one).max() > 1e-2


# (the periodic 1-D FNO's gradients are exercised by the learning run below and by tests/test_operator.py,
# which also trains a 2-D MgNO: that case is left to make accuracy)
@pytest.mark.parametrize(("kind", "dim", "periodic", "s"), [("fno", 2, False, 13), ("deeponet", 2, False, S),
                                                           pytest.param("mgno", 2, False, 13, marks=pytest.mark.slow)])  # fmt: skip
def test_gradients_of_a_relative_l2_loss_are_finite_and_nonzero(kind, dim, periodic, s):
    model = _tiny(kind, dim, periodic)
    a, u = jnp.asarray(RNG.normal(size=(2, 3, 1) + (s,) * dim), jnp.float32)
    grads = eqx.filter_jit(eqx.filter_grad(_relative_l2))(model, a, u)
    leaves = [np.asarray(g) for g in jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_inexact_array))]
    assert all(np.isfinite(g).all() for g in leaves)
    assert sum(np.abs(g).sum() for g in leaves) > 0


def _heat_pairs(n, seed, s=32, kappa_t=0.002):
    """Random periodic initial states (modes 1..5, amplitudes ~1/k) and the solution of
    u_t = κ u_xx at time t, κ t = ``kappa_t``: each mode k damped by exp(-κ t (2πk)²)."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, 6)
    c, d = rng.normal(size=(2, n, 5)) / k
    angles = 2 * np.pi * k[:, None] * (np.arange(s) / s)
    modes = c[..., None] * np.cos(angles) + d[..., None] * np.sin(angles)
    damping = np.exp(-kappa_t * (2 * np.pi * k) ** 2)[:, None]
    return jnp.asarray(modes.sum(1)[:, None], jnp.float32), jnp.asarray((damping * modes).sum(1)[:, None], jnp.float32)


@pytest.mark.slow  # tests/test_operator.py trains an FNO end to end in make test
def test_fno_learns_the_heat_semigroup_in_a_few_hundred_steps():
    a, u = _heat_pairs(64, seed=0)
    a_test, u_test = _heat_pairs(32, seed=1)
    params, static = eqx.partition(_tiny("fno", 1), eqx.is_inexact_array)
    optimiser = optax.adam(optax.cosine_decay_schedule(1e-2, 300))

    def held_out_error(params):
        return _relative_l2(eqx.combine(params, static), a_test, u_test)

    @jax.jit
    def train(params):
        def step(carry, _):
            params, state = carry
            grads = jax.grad(lambda p: _relative_l2(eqx.combine(p, static), a, u))(params)
            updates, state = optimiser.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (trained, _), _ = jax.lax.scan(step, (params, optimiser.init(params)), None, length=300)
        return held_out_error(params), held_out_error(trained)

    before, after = (float(e) for e in train(params))
    assert before > 0.5
    assert after < 0.05


def test_relative_h1_adds_the_grid_differences_exactly():
    from neuralsolve.methods.operator.model import relative_h1, relative_l2

    s, m = 32, 3
    h = 2 * np.pi / s
    x = np.arange(s) * h
    truth = jnp.asarray(np.stack([np.cos(x) + 2.0, np.sin(2 * x)]))
    error = 0.1 * np.sin(m * x)  # its forward difference over h has mean square (2 sin(m h / 2) / h)² / 2
    pred = truth + error
    np.testing.assert_allclose(relative_h1(pred, truth, (), True), relative_l2(pred, truth), rtol=1e-6)
    got = np.asarray(relative_h1(pred, truth, (h,), True))
    d2 = (2 * np.sin(m * h / 2) / h) ** 2
    truth_d2 = [(2 * np.sin(h / 2) / h) ** 2 / 2, (2 * np.sin(h) / h) ** 2 / 2]
    truth_sq = [4.5, 0.5]
    want = [np.sqrt(0.005 * (1 + d2) / (t + d)) for t, d in zip(truth_sq, truth_d2)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    wall = jnp.asarray(np.arange(12.0).reshape(1, 3, 4))  # not periodic: differences inside the box only
    assert float(relative_h1(wall + 1, wall, (1.0, 1.0), False)[0]) == pytest.approx(np.sqrt(1 / (np.mean(wall**2) + 16 + 1)))
