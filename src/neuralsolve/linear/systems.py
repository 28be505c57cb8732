"""Families of 2-D grid systems, drawn at random: the systems a learned solver trains and is tested on.

Every system is ``-div(k grad u) = f`` on the unit square with ``u = 0`` on its edge, discretised
by second-order finite volumes on the vertex grid of ``cells`` x ``cells`` cells (``cells - 1``
unknowns a side; :mod:`neuralsolve.reference.darcy` for the coefficient faces):

- ``"diffusion"``: ``k = contrast ** g`` with ``g`` a Gaussian random field (``tau = 3``,
  ``alpha = 2``, as the Darcy benchmark's) rescaled to [0, 1] and the contrast max k / min k drawn
  uniformly from [10, 100];
- ``"obstacles-dirichlet"`` / ``"obstacles-neumann"``: Poisson (``k = 1``) around 4-9 random discs,
  with ``u = 0`` on the obstacles or no flux through them. Nodes inside an obstacle (and, for
  no-flux obstacles, pockets of fluid the obstacles cut off from the outer edge, whose problem would
  be singular) are decoupled unknowns outside the mask.

A family at one grid size and another is the same family: the random fields and discs are drawn in
the continuum, then sampled on the grid.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndimage

from ..reference import grf
from ..reference.darcy import darcy_stencil
from ..reference.stencil import Stencil, from_faces

KINDS = ("diffusion", "obstacles-dirichlet", "obstacles-neumann")
CONTRAST = (10.0, 100.0)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown family {kind!r}: choose one of {', '.join(KINDS)}")
    return kind


def draw(kind: str, cells: int, rng: np.random.Generator) -> Stencil:
    """One random system of the family ``kind`` on a ``cells`` x ``cells`` grid."""
    check_kind(kind)
    if kind == "diffusion":
        g = smooth_field(cells + 1, rng)
        g = (g - g.min()) / (g.max() - g.min())
        return darcy_stencil(rng.uniform(*CONTRAST) ** g)
    return obstacles(cells, rng, no_flux=kind.endswith("neumann"))


def smooth_field(points: int, rng: np.random.Generator, alpha: float = 2.0, tau: float = 3.0) -> np.ndarray:
    """A Gaussian random field on the (points, points) vertex grid of the unit square."""
    return grf.neumann_2d(1, points, 1.0, tau, alpha, rng)[0]


def obstacles(cells: int, rng: np.random.Generator, no_flux: bool) -> Stencil:
    """Poisson around random discs (see the module docstring)."""
    h = 1.0 / cells
    x = np.arange(1, cells) * h
    xx, yy = np.meshgrid(x, x, indexing="ij")
    solid = np.zeros(xx.shape, bool)
    for _ in range(rng.integers(4, 10)):
        cx, cy = rng.uniform(0.1, 0.9, 2)
        solid |= (xx - cx) ** 2 + (yy - cy) ** 2 < rng.uniform(0.04, 0.12) ** 2
    fluid = ~solid
    if no_flux:
        fluid = _reachable(fluid)
    fx, fy = np.full((cells, cells - 1), 1 / h**2), np.full((cells - 1, cells), 1 / h**2)
    if no_flux:  # faces touching a decoupled node carry no flux
        pad = np.pad(fluid, 1, constant_values=True)
        fx *= pad[:-1, 1:-1] & pad[1:, 1:-1]
        fy *= pad[1:-1, :-1] & pad[1:-1, 1:]
    stencil = from_faces(fx, fy, fluid)
    diag = np.where(fluid, stencil.diag, 4 / h**2)  # decoupled rows: the scale of the others
    cx = stencil.cx * (fluid[:-1, :] & fluid[1:, :])
    cy = stencil.cy * (fluid[:, :-1] & fluid[:, 1:])
    return Stencil(diag, cx, cy, fluid)


def _reachable(fluid: np.ndarray) -> np.ndarray:
    """The fluid nodes connected to the outer edge (where ``u = 0`` makes the problem nonsingular)."""
    labels, _ = ndimage.label(fluid)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0])


def source(stencil: Stencil, rng: np.random.Generator) -> np.ndarray:
    """A smooth random right-hand side ``f`` (a Gaussian random field), zero off the mask, as ``b = f``
    on the grid (the finite-volume equations are scaled by 1/h^2, so ``b`` is ``f`` itself)."""
    n = stencil.shape[0]
    return np.where(stencil.mask, smooth_field(n + 2, rng)[1:-1, 1:-1], 0.0)
