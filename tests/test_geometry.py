"""Plane shapes: reading them safely, their boundary pieces and parts, sampling, distance functions,
and boundary values imposed exactly on them."""

import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neuralsolve as ns
from neuralsolve.geometry import Disk, Rectangle, parse_shape

L_SHAPE = "rectangle(0, 0, 2, 2) - rectangle(1, 1, 2, 2)"
PLATE = "rectangle(0, 0, 2, 1) - disk(0.5, 0.5, 0.2) - disk(1.5, 0.5, 0.2)"


def test_l_shape_boundary_is_its_six_edges_with_the_right_lengths():
    shape = parse_shape(L_SHAPE)
    assert shape.area == pytest.approx(3.0, rel=1e-3)
    assert shape.length == pytest.approx(8.0, abs=1e-9)
    # the cut quarter's two edges face out of the L (into the cut): flip -1
    assert sorted(p.flip for p in shape.pieces) == [-1, -1, 1, 1, 1, 1]
    assert shape.names() == ["rectangle1", "rectangle2"]
    assert len(shape.on_line(0, 1.0, "x")) == 1 and len(shape.on_line(1, 0.0, "y")) == 1


def test_union_keeps_only_the_outer_arcs_and_edges():
    shape = parse_shape("rectangle(0, 0, 1, 1) + disk(1, 0.5, 0.3)")
    assert shape.area == pytest.approx(1 + np.pi * 0.09 / 2, rel=2e-3)
    assert shape.length == pytest.approx(3 + 0.4 + np.pi * 0.3, abs=1e-9)


def test_python_shapes_combine_like_the_text():
    node = Rectangle(0, 0, 2, 1) - Disk(0.5, 0.5, 0.2) - Disk(1.5, 0.5, 0.2)
    domain = ns.Shape2D(node)
    assert domain.plane().shape.length == pytest.approx(parse_shape(PLATE).length)


def test_named_parts_and_lines():
    shape = parse_shape("plate - hole", shapes={"plate": "rectangle(0, 0, 4, 1)", "hole": "disk(1, 0.5, 0.15)"})
    assert shape.names() == ["plate", "hole"]
    assert len(shape.part("plate")) == 4 and len(shape.part("hole")) == 1
    with pytest.raises(ns.ProblemError, match="no part 'wall'"):
        shape.part("wall")
    with pytest.raises(ns.ProblemError, match="no straight part .* x = 2"):
        shape.on_line(0, 2.0, "x")


@pytest.mark.parametrize("text, match", [
    ("rectangle(0, 0, 1, 1) - rectangle(-1, -1, 2, 2)", "empty"),
    ("polygon([0, 0], [1, 1], [1, 0], [0, 1])", "not simple"),
    ("polygon([0, 0], [1, 0])", "at least three"),
    ("disc(0, 0, 1)", "unknown shape 'disc'"),
    ("rectangle(0, 0, 1)", "takes 4 numbers"),
    ("rectangle(1, 0, 0, 1)", "second corner"),
    ("disk(0, 0, -1)", "positive"),
    ("__import__('os').system('true')", "not a shape|unknown shape"),
    ("rectangle(0, 0, 1, 1) * 2", "not a shape"),
    ("disk(0, 0, 1/0)", "no finite value"),
    ("rectangle(0, 0, 1, 1) -", "cannot be read"),
    ("(" * 4000 + "disk(0, 0, 1)" + ")" * 4000, "nested too deeply|cannot be read"),
    ("disk(0, 0, r)", "'r' is not a number"),
])  # fmt: skip
def test_bad_shapes_get_one_clear_line(text, match):
    with pytest.raises(ns.ProblemError, match=match) as err:
        parse_shape(text)
    assert "\n" not in str(err.value)


def test_sampling_stays_inside_with_unit_outward_normals():
    shape = parse_shape(PLATE)
    x = shape.interior(5000, "sobol", 0)
    assert x.shape == (5000, 2) and shape.contains(x, 0).all()
    assert shape.distance_to_boundary(x).min() > 0
    b, n = shape.boundary(2000, "sobol", 1)
    assert shape.distance_to_boundary(b).max() < 1e-12
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0)
    # a step along the outward normal leaves the shape, a step against it enters
    assert not shape.contains(b + 1e-6 * n, 0).any() and shape.contains(b - 1e-6 * n, 0).all()
    # on the holes the outward normal of the plate points to the hole's centre
    hole = np.hypot(b[:, 0] - 0.5, b[:, 1] - 0.5) < 0.2 + 1e-9
    np.testing.assert_allclose(n[hole], -(b[hole] - 0.5) / 0.2, atol=1e-9)
    # points are shared by length: the two holes' share is their share of the perimeter
    assert hole.sum() / len(b) == pytest.approx(0.4 * np.pi / (6 + 0.8 * np.pi), abs=0.01)


def test_distance_function_vanishes_on_its_parts_and_is_normalised():
    with jax.enable_x64(True):
        shape = parse_shape(PLATE)
        phi = shape.distance(shape.part("disk1"))
        b, n = shape.boundary(400, "sobol", 2, shape.part("disk1"))
        assert float(jnp.abs(jax.vmap(phi)(jnp.asarray(b))).max()) < 1e-15
        x = shape.interior(500, "sobol", 3)
        assert float(jax.vmap(phi)(jnp.asarray(x)).min()) > 0
        # its gradient just inside the part is the inward normal (first-order normalised)
        grad = np.asarray(jax.vmap(jax.grad(phi))(jnp.asarray(b - 1e-7 * n)))
        np.testing.assert_allclose(grad, -n, atol=1e-5)


def test_boundary_values_are_exact_on_every_part_before_any_training():
    from neuralsolve.nn.mlp import MLP
    from neuralsolve.pinn.model import build_model

    with jax.enable_x64(True):
        problem = ns.load(_examples() / "plate_holes.toml")
        model, params = build_model(problem, MLP(width=16, depth=2), jnp.float64, seed=0)
        b, _ = problem.domain.boundary().sample(3000, "sobol", 5)
        u = np.asarray(jax.vmap(model, in_axes=(None, 0))(params, jnp.asarray(b)))[:, 0]
        exact = np.exp(-(b[:, 0] - 1) ** 2) * np.cos(np.pi * b[:, 1]) + b[:, 0] / 2
        assert np.abs(u - exact).max() < 1e-12
        inside = problem.domain.interior().sample(200, "sobol", 6)[0]
        ui = np.asarray(jax.vmap(model, in_axes=(None, 0))(params, jnp.asarray(inside)))[:, 0]
        ei = np.exp(-(inside[:, 0] - 1) ** 2) * np.cos(np.pi * inside[:, 1]) + inside[:, 0] / 2
        assert np.abs(ui - ei).max() > 1e-6  # inside, the network is free


def test_different_values_on_different_parts_are_each_exact():
    with jax.enable_x64(True):
        from neuralsolve.nn.mlp import MLP
        from neuralsolve.pinn.model import build_model

        domain = ns.Shape2D("plate - hole", shapes={"plate": "rectangle(0, 0, 4, 1)", "hole": "disk(1, 0.5, 0.15)"})
        problem = ns.Problem(domain, "u", "diff(u, x, 2) + diff(u, y, 2) = 0",
                             [ns.Dirichlet("u", "x", on="plate"), ns.Dirichlet("u", 7.0, on="hole")])  # fmt: skip
        assert len(problem.shape_hard) == 2 and not problem.penalties
        model, params = build_model(problem, MLP(width=8, depth=2), jnp.float64, seed=1)
        for part, value in (("plate", lambda p: p[:, 0]), ("hole", lambda p: 7.0 + 0 * p[:, 0])):
            b, _ = domain.part(part).sample(500, "sobol", 0)
            u = np.asarray(jax.vmap(model, in_axes=(None, 0))(params, jnp.asarray(b)))[:, 0]
            assert np.abs(u - value(b)).max() < 1e-12


def test_conditions_on_parts_that_do_not_exist_are_refused():
    domain = ns.Shape2D(PLATE)
    with pytest.raises(ns.ProblemError, match="condition 1: .*not understood.*'disk1', 'disk2'"):
        ns.Problem(domain, "u", "diff(u, x, 2) + diff(u, y, 2) = 0", [ns.Dirichlet("u", 0.0, on="hole")])
    with pytest.raises(ns.ProblemError, match="no straight part"):
        ns.Problem(domain, "u", "diff(u, x, 2) + diff(u, y, 2) = 0", [ns.Dirichlet("u", 0.0, on="x = 1")])
    problem = ns.Problem(domain, "u", "diff(u, x, 2) + diff(u, y, 2) = 0",
                         [ns.Dirichlet("u", 0.0, on="x = 0"), ns.Neumann("u", 0.0, on="disk2")])  # fmt: skip
    assert len(problem.shape_hard) == 1 and len(problem.penalties) == 1


def test_problem_file_shape_errors_name_the_key_and_line(tmp_path):
    cases = {
        'shape = "rectangle(0, 0, 1, 1) - disc(0.5, 0.5, 0.2)"': ("domain.shape", "unknown shape 'disc'"),
        'shape = "polygon([0, 0], [1, 1], [1, 0], [0, 1])"': ("domain.shape", "not simple"),
        'shape = "plate"\n[domain.shapes]\nplate = 3': ("domain.shapes.plate", "expected a shape"),
        'shape = "plate - hole"\n[domain.shapes]\nplate = "rectangle(0, 0, 1, 1)"\nhole = "disk(0.5, 0.5)"':
            ("domain.shapes.hole", "disk(...) takes 3 numbers"),  # at the definition's line, not the shape's
        'shape = "plate - hole"\n[domain.shapes]\nplate = "rectangle(0, 0, 1, 1)"\nhole = "disk(0.5, 0.5, -1)"':
            ("domain.shapes.hole", "the radius must be positive"),
        'shape = 5': ("domain.shape", "expected 'box', 'disk' or a shape"),
    }
    for domain, (key, cause) in cases.items():
        path = tmp_path / "p.toml"
        path.write_text(f'fields = ["u"]\nequations = ["diff(u, x, 2) + diff(u, y, 2) = 0"]\n[domain]\n{domain}\n')
        with pytest.raises(ns.ProblemError) as err:
            ns.load(path)
        line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith(key.split(".")[-1]))
        assert re.search(rf"p\.toml:{line}: {re.escape(key)}: ", str(err.value)) and cause in str(err.value)
        assert "\n" not in str(err.value)


def test_a_shape_problem_file_loads_and_writes_back(tmp_path):
    from neuralsolve.spec.dump import problem_table, to_toml

    problem = ns.load(_examples() / "plate_holes.toml")
    assert problem.domain.coords == ("x", "y") and len(problem.shape_hard) == 3
    text = to_toml(problem_table(problem))
    assert 'shape = "plate - left - right"' in text and 'left = "disk(0.5, 0.5, 0.2)"' in text
    (tmp_path / "again.toml").write_text(text)
    again = ns.load(tmp_path / "again.toml")
    assert again.domain.plane().shape.length == pytest.approx(problem.domain.plane().shape.length)


def _examples():
    return pathlib.Path(__file__).parents[1] / "src/neuralsolve/examples"


def test_a_reentrant_corner_gets_the_singular_function_of_its_angle():
    with jax.enable_x64(True):
        shape = parse_shape("polygon([0, 0], [1, 0], [1, -1], [-1, -1], [-1, 1], [0, 1])")
        (singular,) = shape.singular_functions(range(len(shape.pieces)))
        b, _ = shape.boundary(2000, "sobol", 0)
        assert float(jnp.abs(jax.vmap(singular)(jnp.asarray(b))).max()) < 1e-15
        # along the bisector (into the L) it grows like r^(2/3): the 270-degree corner's exponent
        bisector = np.array([-1.0, -1.0]) / np.sqrt(2)
        near, far = (float(singular(jnp.asarray(r * bisector))) for r in (1e-6, 1e-3))
        assert near / far == pytest.approx(1e-3 ** (2 / 3), rel=1e-3)
        assert parse_shape(PLATE).singular_functions(range(6)) == []


def test_values_at_the_corners_between_parts_are_finite_and_exact():
    """At a corner two pieces' distances vanish (0/0 in the R-equivalence): φ is 0 there, and a
    corner between parts with different values gets their mean."""
    from neuralsolve.nn.mlp import MLP
    from neuralsolve.pinn.model import build_model

    with jax.enable_x64(True):
        domain = ns.Shape2D(L_SHAPE)
        problem = ns.Problem(domain, "u", "diff(u, x, 2) + diff(u, y, 2) = 1",
                             [ns.Dirichlet("u", "x*y", on="boundary")])  # fmt: skip
        model, params = build_model(problem, MLP(width=8, depth=2), jnp.float64, seed=0)
        corners = jnp.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]])
        u = np.asarray(jax.vmap(model, in_axes=(None, 0))(params, corners))[:, 0]
        np.testing.assert_allclose(u, np.asarray(corners[:, 0] * corners[:, 1]), atol=1e-12)
        shape = domain.plane().shape
        g = shape.blend([(shape.on_line(0, 0.0, "x"), lambda x: 1.0 + 0 * x[0]),
                         (shape.on_line(1, 0.0, "y"), lambda x: 3.0 + 0 * x[0])])  # fmt: skip
        assert float(g(jnp.array([0.0, 0.0]))) == pytest.approx(2.0)


HEAT_ON_A_SHAPE = """
fields = ["u"]
equations = ["diff(u, t) = diff(u, x, 2) + diff(u, y, 2) + exp(-t)*sin(x)*cos(y) + x"]
[domain]
shape = "rectangle(0, 0, 2, 1) - disk(0.5, 0.5, 0.2) - rectangle(1, 0.5, 2, 1)"
t = [0, 1]
[[conditions]]
on = "boundary"
set = "u = exp(-t)*sin(x)*cos(y) + t*x"
[[conditions]]
on = "start"
set = "u = START"
"""


def test_in_time_values_on_a_shape_and_at_the_start_are_both_exact_when_they_agree(tmp_path):
    """u = g(x, t) + u0(x) - g(x, t0) + φ(x)·(t - t0)/T·N: exact on the boundary (the inner corner's
    singular function vanishes at t0 too) and at the start; with data that disagree at t0 the
    boundary values become penalty terms (the start value stays exact)."""
    from neuralsolve.nn.mlp import MLP
    from neuralsolve.pinn.model import build_model

    path = tmp_path / "heat.toml"
    path.write_text(HEAT_ON_A_SHAPE.replace("START", "sin(x)*cos(y)"))
    with jax.enable_x64(True):
        problem = ns.load(path)
        assert len(problem.shape_hard) == 1 and not problem.penalties
        model, params = build_model(problem, MLP(width=8, depth=2), jnp.float64, seed=0)
        run = jax.vmap(model, in_axes=(None, 0))
        b, _ = problem.domain.boundary().sample(2000, "sobol", 1)
        g = np.exp(-b[:, 2]) * np.sin(b[:, 0]) * np.cos(b[:, 1]) + b[:, 2] * b[:, 0]
        assert np.abs(np.asarray(run(params, jnp.asarray(b)))[:, 0] - g).max() < 1e-12
        s, _ = problem.domain.face("t", 0.0).sample(500, "sobol", 2)
        u0 = np.sin(s[:, 0]) * np.cos(s[:, 1])
        assert np.abs(np.asarray(run(params, jnp.asarray(s)))[:, 0] - u0).max() < 1e-12
    path.write_text(HEAT_ON_A_SHAPE.replace("START", "0"))
    disagreeing = ns.load(path)
    assert not disagreeing.shape_hard and [p.name for p in disagreeing.penalties] == ["condition 1 on boundary"]
