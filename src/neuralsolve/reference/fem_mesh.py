"""Meshes for finite elements: Triangle's constrained quality triangulation of a shape's
outline, its boundary edges keeping their parts (:mod:`.fem`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import ProblemError
from ..geometry.outline import Outline

# Triangle gives boundary segments whose marker is 0 the marker 1: part k travels as k + 2
_MARKER_SHIFT = 2
# mean triangle area of Triangle's 'q30a' meshes over the area bound (measured: 0.63 on a square)
_FILL = 0.63


# ----------------------------------------------------------------------------------------------
# meshing


@dataclass(frozen=True)
class _Mesh:
    """A triangulation of the shape: vertices (n, 2), triangles (m, 3) and the part of each boundary edge."""

    points: np.ndarray
    triangles: np.ndarray
    edge_parts: dict  # (i, j) with i < j -> part index


def _no_area(outline: Outline) -> ProblemError:
    return ProblemError(f"the outline with parts {', '.join(outline.parts) or '(none)'} encloses no area: no triangle "
                        "of its triangulation has its centroid inside the shape (check the vertex loops and contains)")  # fmt: skip


def triangulate(outline: Outline, h: float) -> _Mesh:
    """A quality triangulation of ``outline`` with edges about ``h`` long (Triangle, 'pq30a').

    Triangles whose centroid ``outline.contains`` rejects are dropped; vertices Triangle inserts on
    boundary segments are moved onto their part's curve by ``outline.project``. Raises
    :class:`ProblemError` when no triangle is left.
    """
    import triangle

    vertices = np.asarray(outline.vertices, float)
    segments = np.asarray(outline.segments, np.int32).reshape(-1, 2)
    markers = np.asarray(outline.markers, np.int32).reshape(-1)
    if len(vertices) < 3 or len(segments) < 3 or not np.isfinite(vertices).all():
        raise _no_area(outline)
    pslg = {"vertices": vertices, "segments": segments, "segment_markers": markers[:, None] + _MARKER_SHIFT}
    # first a bare triangulation: the centroids the shape rejects seed Triangle's holes, so the
    # quality pass does not fill holes and the outside of re-entrant corners with small triangles
    coarse = triangle.triangulate(pslg, "p")
    if "triangles" not in coarse:
        raise _no_area(outline)
    centroids = coarse["vertices"][coarse["triangles"]].mean(axis=1)
    outside = ~np.asarray(outline.contains(centroids), bool)
    if outside.all():
        raise _no_area(outline)
    # no exponent notation in Triangle's switches: a fixed-point area with enough digits
    switches = f"pq30a{h * h * np.sqrt(3) / 4:.20f}"
    if not outside.any():
        return _keep_inside(outline, triangle.triangulate(pslg, switches), len(vertices))
    mesh = _keep_inside(outline, triangle.triangulate({**pslg, "holes": centroids[outside]}, switches), len(vertices))
    # a seed in a region the segments do not close off from the shape (contains and the loops
    # disagree) would eat part of the shape: then mesh without seeds and let contains sort it out
    if _area(mesh.points, mesh.triangles) < (1 - 1e-3) * _area(coarse["vertices"], coarse["triangles"][~outside]):
        mesh = _keep_inside(outline, triangle.triangulate(pslg, switches), len(vertices))
    return mesh


def _area(points: np.ndarray, triangles: np.ndarray) -> float:
    corners = points[triangles]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return float(np.sum(np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])) / 2)


def _keep_inside(outline: Outline, tri: dict, n_input: int) -> _Mesh:
    """Drop triangles outside the shape, project new boundary vertices, renumber the vertices used."""
    points = np.array(tri["vertices"], float)
    triangles = np.asarray(tri.get("triangles", np.zeros((0, 3), int)), np.int64)
    if len(triangles):
        triangles = triangles[np.asarray(outline.contains(points[triangles].mean(axis=1)), bool)]
    if not len(triangles):
        raise _no_area(outline)
    vmark = np.asarray(tri["vertex_markers"]).reshape(-1) - _MARKER_SHIFT
    new = np.flatnonzero((np.arange(len(points)) >= n_input) & (vmark >= 0))
    if len(new):
        # Triangle split a boundary segment: the new vertex lies on the chord, the boundary on the curve
        points[new] = outline.project(points[new], vmark[new])
    used, t = np.unique(triangles, return_inverse=True)
    edges = np.sort(np.asarray(tri["segments"], np.int64), axis=1)
    parts = np.asarray(tri["segment_markers"]).reshape(-1) - _MARKER_SHIFT
    renumber = np.full(len(points), -1)
    renumber[used] = np.arange(len(used))
    # np.unique sorts, so renumbering keeps each pair in increasing order
    edge_parts = {(int(renumber[a]), int(renumber[b])): int(p)
                  for (a, b), p in zip(edges, parts) if renumber[a] >= 0 and renumber[b] >= 0 and p >= 0}  # fmt: skip
    return _Mesh(points[used], t.reshape(-1, 3), edge_parts)


