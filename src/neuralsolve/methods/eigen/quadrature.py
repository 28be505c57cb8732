"""The quadrature of an eigenproblem: for normalisation, orthogonality and the Rayleigh quotient."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...ops.point import Point

from ...problem.problem import Problem
from ...sampling.quadrature import gauss_box


def quadrature(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes and weights over the problem's box, split at the jumps of its coefficients."""
    lo, hi = problem.domain.bounds()
    panels = 32 if problem.domain.dim == 1 else 6
    order = 12 if problem.domain.dim == 1 else 10
    return gauss_box(list(zip(lo, hi)), problem.jumps, panels, order)


def rayleigh_quotient(problem: Problem, values: dict, x, w):
    """<ψ, Aψ>/<ψ, Bψ> by the quadrature (nodes ``x``, weights ``w``), from a state's ``values`` and
    derivatives there (``{directions: (nodes, fields)}``)."""
    a, a_minus_b = pencil_parts(problem, values, x)
    u = values[()][:, 0]
    return jnp.sum(w * u * a) / jnp.sum(w * u * (a - a_minus_b))


def pencil_parts(problem: Problem, values: dict, x):
    """The residual at points ``x``, given the state's ``values`` and derivatives there, with
    the eigenvalue set to 0 and to 1 (Aψ and (A − B)ψ, up to one sign)."""
    equation = problem.equations[0]
    coords, fields = problem.domain.coords, problem.fields

    def one(y, v):
        return tuple(equation.residual(Point(coords, fields, y, v, unknowns={problem.eigen.symbol: e}))
                     for e in (0.0, 1.0))  # fmt: skip

    return jax.vmap(one)(x, values)
