"""Taylor mode through the network ("taylor", the default) against nested forward mode ("jvp")."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.pinn.model import build_model
from neuralsolve.nn.model import split
from neuralsolve.ops.derivatives import DEFAULT, at_points
from neuralsolve.ops.taylor import activation_derivatives, closure, partitions

# value, first and second derivatives, a mixed one, third and fourth orders (pure and mixed)
WANTED = [(), (0,), (1,), (0, 0), (0, 1), (1, 1), (0, 0, 0), (0, 0, 1, 1), (0, 0, 0, 0)]
SPACE_TIME = ns.SpaceTime(ns.Interval(-1, 2), (0, 1))


def _max_relative_gap(model, params, x, wanted):
    a = at_points(model, params, x, wanted, "taylor")
    b = at_points(model, params, x, wanted, "jvp")
    assert set(a) == set(wanted) and all(a[k].shape == b[k].shape for k in wanted)
    return max(float(jnp.max(jnp.abs(a[k] - b[k])) / max(1.0, float(jnp.max(jnp.abs(b[k]))))) for k in wanted)


def _points(problem, n=40):
    return jnp.asarray(problem.domain.interior().sample(n, "sobol", 5)[0])


def test_closure_holds_every_lower_derivative():
    assert closure([(0, 0), (1,)]) == ((), (0,), (1,), (0, 0))
    assert closure([(0, 1, 1)]) == ((), (0,), (1,), (0, 1), (1, 1), (0, 1, 1))


def test_partitions_count_every_set_partition_once():
    assert dict((blocks, n) for n, blocks in partitions((0, 1))) == {((0,), (1,)): 1, ((0, 1),): 1}
    fourth = partitions((0, 0, 0, 0))
    assert sum(n for n, _ in fourth) == 15 and len(fourth) == 5  # Bell(4) partitions, 5 distinct shapes
    assert sum(n for n, _ in partitions((0, 1, 1, 1))) == 15


@pytest.mark.parametrize("activation", [jnp.tanh, jnp.sin, jax.nn.gelu])
def test_activation_derivatives_match_autodiff(activation):
    z = jnp.linspace(-2.0, 2.0, 9)
    with jax.enable_x64(True):
        z = z.astype(jnp.float64)
        got = activation_derivatives(activation, z, 4)
        f = activation
        for k in range(5):
            np.testing.assert_allclose(got[k], jax.vmap(f)(z), rtol=1e-12, atol=1e-12, err_msg=f"order {k}")
            f = jax.grad(f)


# tanh through the penalty path in make test (tanh's closed-form derivatives through a trial
# function: test_taylor_matches_nested_jvp_for_scaled_signed_fields_and_kinks; every solve of the
# suite differentiates by Taylor mode); the other five (150 s on the 2-core CPU) in make accuracy
# (suite budget)
SLOW = pytest.mark.slow


@pytest.mark.parametrize("activation, impose", [pytest.param("tanh", "exact", marks=SLOW), pytest.param("sin", "exact", marks=SLOW),
                                                pytest.param("gelu", "exact", marks=SLOW),
                                                ("tanh", "penalty"),
                                                pytest.param("sin", "penalty", marks=SLOW),
                                                pytest.param("gelu", "penalty", marks=SLOW)])  # fmt: skip
def test_taylor_matches_nested_jvp_to_rounding(activation, impose):
    """Both ways of imposing conditions: the network alone (penalty) and through a trial function."""
    problem = ns.Problem(SPACE_TIME, "u", "diff(u, t) = diff(u, x, 2)",
                         [ns.Dirichlet("u", "t", impose=impose), ns.Initial("u", "sin(pi*x)", impose=impose)])  # fmt: skip
    with jax.enable_x64(True):
        model, params = build_model(problem, ns.MLP(8, 3, activation), jnp.float64, 0)
        assert _max_relative_gap(model, params, _points(problem), WANTED) < 1e-13


@pytest.mark.parametrize(
    "network",
    [pytest.param(ns.MLP(8, 2, features=ns.FourierFeatures(4, 1.5)), marks=pytest.mark.slow),  # CI budget
     pytest.param(ns.MLP(8, 2, features=ns.GaussianFeatures(9, 3)), marks=pytest.mark.slow)],
    ids=["fourier", "gaussian"],
)
def test_taylor_matches_nested_jvp_with_embeddings_and_periodic_inputs(network):
    problem = ns.Problem(SPACE_TIME, "u", "diff(u, t) = diff(u, x, 2)", [ns.Periodic("x"), ns.Initial("u", "sin(x)")])
    with jax.enable_x64(True):
        model, params = build_model(problem, network, jnp.float64, 1)
        assert _max_relative_gap(model, params, _points(problem), WANTED) < 1e-12


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_taylor_matches_nested_jvp_for_scaled_signed_fields_and_kinks():
    """Two fields, one positive through exp, one scaled by a function; a kink feature in x."""
    problem = ns.Problem(SPACE_TIME, ["u", "v"], ["diff(u, t) = diff(u, x, 2)", "diff(v, t) = diff(v, x, 2)"],
                         [ns.Dirichlet("u", "1 + t"), ns.Initial("v", "cos(x)")],
                         scale={"v": "exp(-x^2)"}, sign={"u": "positive"})  # fmt: skip
    with jax.enable_x64(True):
        model, trial_params = build_model(problem, ns.MLP(8, 2), jnp.float64, 0)
        net = ns.MLP(8, 2).build(2, 2, (-1, 0), (2, 1), jnp.float64, jax.random.PRNGKey(2), kinks=[(0, 0.3)])
        kinked, params = split(net, model.trial)
        assert _max_relative_gap(model, trial_params, _points(problem), WANTED) < 1e-12
        assert _max_relative_gap(kinked, params, _points(problem), WANTED) < 1e-12


@SLOW  # 13 s (suite budget); two-dimensional cases stay in make test
def test_taylor_in_three_dimensions():
    box = ns.Box([(0, 1), (0, 2), (-1, 1)])
    problem = ns.Problem(box, "u", "diff(u, x, 2) + diff(u, y, 2) + diff(u, z, 2) = 0", [ns.Dirichlet("u", 0.0)])
    wanted = [(), (0, 0), (1, 1), (2, 2), (0, 1, 2)]
    with jax.enable_x64(True):
        model, params = build_model(problem, ns.MLP(8, 2), jnp.float64, 0)
        assert _max_relative_gap(model, params, _points(problem), wanted) < 1e-12


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_loss_gradients_agree_between_methods():
    """Training differentiates through the streams: the parameter gradients must agree too."""
    problem = ns.Problem(SPACE_TIME, "u", "diff(u, t) + u*diff(u, x) = 0.01*diff(u, x, 2)",
                         [ns.Dirichlet("u", 0.0, impose="penalty"), ns.Initial("u", "-sin(pi*x)")])  # fmt: skip
    with jax.enable_x64(True):
        model, params = build_model(problem, ns.MLP(8, 3), jnp.float64, 0)
        x = _points(problem)

        def loss(p, method):
            v = at_points(model, p, x, [(), (0,), (1,), (0, 0)], method)
            return jnp.mean((v[(1,)] + v[()] * v[(0,)] - 0.01 * v[(0, 0)]) ** 2)

        got, want = jax.grad(loss)(params, "taylor"), jax.grad(loss)(params, "jvp")
        for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)


def test_a_model_without_streams_falls_back_to_nested_jvp():
    def plain(params, x):
        return jnp.stack([jnp.sin(params * x[0]) * x[1] ** 3])

    x = jnp.array([[0.3, 0.5], [0.1, -0.2]])
    got = at_points(plain, 2.0, x, [(0, 0), (1, 1, 1)], "taylor")
    np.testing.assert_allclose(got[(0, 0)][:, 0], -4 * np.sin(2 * x[:, 0]) * x[:, 1] ** 3, rtol=1e-6)
    np.testing.assert_allclose(got[(1, 1, 1)][:, 0], 6 * np.sin(2 * x[:, 0]), rtol=1e-6)


def test_taylor_is_the_default_and_solves_alike():
    """The default method trains to the same solution as nested jvp (same steps, float64)."""
    assert DEFAULT == "taylor"
    problem = ns.Problem(ns.Interval(0, 1), "u", "diff(u, x, 2) = -pi^2*sin(pi*x)", [ns.Dirichlet("u", 0.0)],
                         exact={"u": "sin(pi*x)"})  # fmt: skip
    kwargs = dict(network=ns.MLP(8, 2), phases=[ns.Adam(200, 1e-2)], precision="float64")
    a = ns.solve(problem, **kwargs)
    b = ns.solve(problem, derivatives="jvp", **kwargs)
    assert math.isclose(a.metrics["l2_relative_error"]["u"], b.metrics["l2_relative_error"]["u"], rel_tol=1e-6)


# the L-shape (its corner term: one more network output) takes 17 s to trace: with the slow tests
@pytest.mark.parametrize("example", ["burgers", pytest.param("poisson_lshape", marks=pytest.mark.slow)])
def test_a_head_affine_in_the_outputs_gives_the_derivatives_nested_jvp_gives(example):
    """Leibniz's rule on A(y) + B(y) n(y) (values on faces in space and time; on a shape with a
    re-entrant corner) against nested jvp through the whole head."""
    import pathlib

    problem = ns.load(pathlib.Path(__file__).resolve().parents[1] / "src/neuralsolve/examples" / f"{example}.toml")
    with jax.enable_x64(True):
        model, params = build_model(problem, ns.MLP(8, 2), jnp.float64, 0)
        assert model.trial.affine
        d = problem.domain.dim
        xs = jnp.asarray(problem.domain.interior().sample(32, "sobol", 0)[0])
        wanted = [(), *[(i,) for i in range(d)], *[(i, i) for i in range(d)], (0, 1)]
        leibniz = jax.jit(lambda p, x: model.taylor(p, x, wanted))(params, xs)  # compiled: op by op is slow
        model.trial.affine = False
        nested = jax.jit(lambda p, x: model.taylor(p, x, wanted))(params, xs)
    for alpha in wanted:
        scale = float(jnp.max(jnp.abs(nested[alpha])))
        np.testing.assert_allclose(leibniz[alpha], nested[alpha], rtol=1e-12, atol=1e-12 * scale)


def test_a_heads_parts_are_traced_once_for_every_number_of_points():
    """The training points, the metrics' fresh points and the report's batches differ in number:
    the head (traced through nested jvp, the costliest part of a step's trace) is traced once."""
    from neuralsolve.ops.taylor import through_head

    calls = []

    def head(n, y):  # u = y0 (1 - y0) n + y1: affine in the network's output n
        calls.append(1)
        return y[0] * (1.0 - y[0]) * n + y[1]

    head.affine = True
    wanted = [(), (0,), (1,), (0, 0)]
    traced = []
    for count in (5, 7, 9):
        xs = jnp.linspace(0.0, 1.0, 2 * count).reshape(count, 2)
        values = {alpha: jnp.ones((count, 1)) for alpha in wanted}
        got = through_head(head, values, xs, wanted)
        assert got[(0, 0)].shape == (count, 1)
        np.testing.assert_allclose(got[(0,)][:, 0], 1.0 - 2.0 * xs[:, 0] + xs[:, 0] * (1.0 - xs[:, 0]), rtol=1e-6)
        traced.append(len(calls))
    assert traced[0] > 0 and traced[1:] == traced[:1] * 2  # the later numbers of points traced nothing more
