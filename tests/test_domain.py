"""Domains: interior and boundary sampling, outward normals, faces."""

import numpy as np
import pytest

import neuralsolve as ns


@pytest.mark.parametrize("method", ["uniform", "sobol", "halton"])
def test_rectangle_sampling_stays_inside_with_outward_unit_normals(method):
    d = ns.Rectangle((0, 2), (-1, 1))
    x, _ = d.interior().sample(500, method, 0)
    assert x.shape == (500, 2) and d.contains(x).all()
    b, n = d.boundary().sample(400, method, 1)
    assert d.contains(b).all()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0)
    # every boundary point lies on a face, and its normal points out of that face
    on_left, on_right = np.isclose(b[:, 0], 0), np.isclose(b[:, 0], 2)
    on_bottom, on_top = np.isclose(b[:, 1], -1), np.isclose(b[:, 1], 1)
    assert (on_left | on_right | on_bottom | on_top).all()
    assert (n[on_left, 0] == -1).all() and (n[on_right, 0] == 1).all()
    assert (n[on_top, 1] == 1).all() and (n[on_bottom, 1] == -1).all()
    # points are shared by face length: x-faces have length 2, y-faces length 2 -> about equal
    assert abs(on_left.sum() - on_bottom.sum()) <= 2


def test_disk_sampling_is_uniform_in_area_and_normals_are_radial():
    d = ns.Disk(center=(1.0, -1.0), radius=2.0)
    x, _ = d.interior().sample(4096, "sobol", 0)
    r = np.hypot(x[:, 0] - 1, x[:, 1] + 1)
    assert (r <= 2 + 1e-12).all()
    assert abs(np.mean(r <= 1.0) - 0.25) < 0.02  # a quarter of the area lies within half the radius
    b, n = d.boundary().sample(256, "sobol", 0)
    np.testing.assert_allclose(np.hypot(b[:, 0] - 1, b[:, 1] + 1), 2.0)
    np.testing.assert_allclose(n, (b - [1.0, -1.0]) / 2.0, atol=1e-12)


def test_space_time_boundary_is_spatial_and_start_face_is_at_t0():
    d = ns.SpaceTime(ns.Interval(-1, 1), (0, 0.99))
    assert d.coords == ("x", "t") and d.has_time
    b, n = d.boundary().sample(100, "sobol", 0)
    assert np.isin(b[:, 0], [-1, 1]).all() and ((b[:, 1] >= 0) & (b[:, 1] <= 0.99)).all()
    assert (n[:, 1] == 0).all()
    s, _ = d.face("t", 0.0).sample(50, "sobol", 0)
    assert (s[:, 1] == 0).all() and ((s[:, 0] >= -1) & (s[:, 0] <= 1)).all()


def test_box_and_one_dimensional_ends():
    box = ns.Box([(0, 1), (0, 2), (0, 3)])
    assert box.coords == ("x", "y", "z") and box.dim == 3
    x, _ = box.interior().sample(100, "halton", 0)
    assert box.contains(x).all()
    ends, normals = ns.Interval(-1, 1).boundary().sample(64, "sobol", 0)
    assert sorted(ends[:, 0]) == [-1, 1] and sorted(normals[:, 0]) == [-1, 1]


def test_time_only_domain_has_no_spatial_boundary():
    with pytest.raises(ns.ProblemError, match="only the time coordinate"):
        ns.Interval(0, 1, "t").boundary()


def test_disk_has_no_flat_faces():
    with pytest.raises(ns.ProblemError, match="not on the boundary of the disk"):
        ns.Disk().face("x", 1.0)
