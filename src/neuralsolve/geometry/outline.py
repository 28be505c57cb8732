"""Outline: a plane shape's boundary as a planar straight-line graph, for meshing.

Vertices lie exactly on the boundary curves (a circle's vertices are on the circle); every boundary
segment carries the index of the named boundary *part* it belongs to, so a mesher can keep the
marker on each boundary edge and a finite-element solve can apply each part's condition there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Outline:
    """The boundary of a plane shape, ready for a constrained triangulation.

    Attributes:
        vertices: (n, 2) points on the boundary, each once.
        segments: (m, 2) vertex indices of the boundary edges (closed loops, in any order).
        markers: (m,) the part index of each segment: ``parts[markers[k]]`` names it.
        parts: the names of the boundary parts (``"x = 0"``, ``"hole"``, ...).
        contains: ``(k, 2) -> (k,) bool``: whether points lie in the closed shape; a mesher keeps
            the triangles whose centroids it contains (holes and re-entrant corners fall out).
        project: ``(k, 2), (k,) part index -> (k, 2)``: points near a part moved onto its curve
            (new boundary nodes of a refined or quadratic mesh).
    """

    vertices: np.ndarray
    segments: np.ndarray
    markers: np.ndarray
    parts: tuple[str, ...]
    contains: Callable[[np.ndarray], np.ndarray]
    project: Callable[[np.ndarray, np.ndarray], np.ndarray]
