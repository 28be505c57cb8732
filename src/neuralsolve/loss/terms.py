"""Loss terms: mean squared residuals of the equations and of the penalty conditions.

All equations share one pass over the interior points (one set of derivatives per point); each
penalty condition is evaluated on its own points. Terms are returned unweighted, as a vector, so
that weighting strategies and progress reports see each term. Interior data may carry a ``mask``
(1 for points in use, 0 for room kept free by adaptive refinement) and the equation terms may be
weighted causally in time (:class:`~neuralsolve.train.weighting.Causal`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from ..ops.derivatives import DEFAULT, at_points
from ..ops.point import Point
from ..problem.domain import TIME
from ..problem.problem import Problem
from ..sampling import METHODS


@dataclass(frozen=True)
class Points:
    """How many collocation points to draw, and how.

    ``interior`` and ``boundary`` (per boundary condition) default by dimension;
    ``sampler`` is ``"sobol"``, ``"halton"`` or ``"uniform"``.
    """

    interior: int | None = None
    boundary: int | None = None
    sampler: str = "sobol"

    def __post_init__(self):
        for name in ("interior", "boundary"):
            n = getattr(self, name)
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
                raise ProblemError(f"point counts must be positive whole numbers, got {name}={n!r}")
        if self.sampler not in METHODS:
            raise ProblemError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(METHODS)}")

    def counts(self, dim: int) -> tuple[int, int]:
        """(interior, per-condition boundary) counts for a domain of dimension ``dim``."""
        interior = self.interior or {1: 256, 2: 2048}.get(dim, 4096)
        boundary = self.boundary or {1: 64, 2: 256}.get(dim, 1024)
        return interior, boundary


def term_names(problem: Problem) -> list[str]:
    """Names of the loss terms, in the order of :func:`make_terms`' vector."""
    return [f"equation: {e.label}" for e in problem.equations] + [p.name for p in problem.penalties]


def sample_data(problem: Problem, points: Points, seed: int, targets: dict | None = None) -> dict:
    """Draw the collocation points of every term (NumPy arrays, a pytree); ``targets`` replace
    the targets of penalties on fixed points, by penalty index."""
    n_in, n_bd = points.counts(problem.domain.dim)
    data = {"interior": problem.domain.interior().sample(n_in, points.sampler, seed)[0], "penalties": []}
    for k, pen in enumerate(problem.penalties):
        if pen.points is not None:
            pts, nrm = pen.points, np.zeros_like(pen.points)
            tgt = (targets or {}).get(k, pen.targets)
        else:
            pts, nrm = pen.region.sample(pen.count or n_bd, points.sampler, seed + 7919 * (k + 1))
            tgt = np.zeros(len(pts))
        entry = {"points": pts, "normals": nrm, "targets": tgt}
        if pen.partner is not None:
            entry["partner"] = pen.partner(pts)
        data["penalties"].append(entry)
    return data


def make_terms(problem: Problem, model: Callable, method: str = DEFAULT, unknowns: dict | None = None,
               causal=None) -> Callable:  # fmt: skip
    """Return ``terms(params, data) -> (k,) mean squared residuals``.

    ``model(params, x)`` gives all field values at one point ``x``; ``unknowns`` gives scalar
    unknowns (an eigenvalue) by name, or is a function ``unknowns(x, values)`` of the point and
    the field values and derivatives there (hidden terms are); ``causal`` (a :class:`~neuralsolve.train.weighting.Causal`)
    weights the equation terms by time slice.
    """
    equation_loss = interior_loss(problem, causal)

    def terms(params, data):
        x = data["interior"]
        r = residuals(problem, model, params, x, method, unknowns)
        out = list(equation_loss(r**2, x, data.get("mask")))
        out += [jnp.mean(penalty_residuals(problem, pen, model, params, e, method, unknowns) ** 2)
                for pen, e in zip(problem.penalties, data["penalties"])]  # fmt: skip
        return jnp.stack(out)

    return terms


def penalty_residuals(problem: Problem, pen, model: Callable, params, entry: dict, method: str = DEFAULT,
                      unknowns: dict | None = None) -> jax.Array:  # fmt: skip
    """The residuals (n, m) of penalty condition ``pen`` at its ``entry``'s n points (m values
    each: one per component of a vector condition); ``unknowns`` as in :func:`make_terms`."""
    coords, fields = problem.domain.coords, problem.fields

    def point(x, values, normal=None):
        return Point(coords, fields, x, values, normal, unknowns=at_point(unknowns, x, values))

    values = at_points(model, params, entry["points"], pen.needed, method)
    if pen.partner is not None:
        partner = at_points(model, params, entry["partner"], pen.needed, method)
        fn = lambda x, v, y, w: pen.residual(point(x, v), point(y, w))
        r = jax.vmap(fn)(entry["points"], values, entry["partner"], partner)
    else:
        fn = lambda x, v, n: pen.residual(point(x, v, n))
        r = jax.vmap(fn)(entry["points"], values, entry["normals"]) - entry["targets"]
    return jnp.reshape(r, (r.shape[0], -1))


def interior_loss(problem: Problem, causal=None) -> Callable:
    """``loss(squares, x, mask) -> (n_equations,)``: each equation's mean squared residual over
    the interior points in use, or its causally weighted mean over time slices."""
    if causal is not None:
        check_causal(problem)
        column = problem.domain.coords.index(TIME)
        lo, hi = problem.domain.bounds()
        span = (float(lo[column]), float(hi[column]))

    def loss(squares, x, mask=None):
        if causal is not None:
            mask = jnp.ones(squares.shape[0], squares.dtype) if mask is None else mask
            return causal.loss(squares, x[:, column], mask, span)
        if mask is None:
            return jnp.mean(squares, axis=0)
        return jnp.sum(squares * mask[:, None], axis=0) / jnp.sum(mask)

    return loss


def check_causal(problem: Problem) -> None:
    """Causal weighting orders the residual in time: the problem needs a time coordinate."""
    if not problem.domain.has_time:
        raise ProblemError(f"causal weighting needs a time coordinate '{TIME}'; this problem's coordinates are "
                           f"{', '.join(problem.domain.coords)}")  # fmt: skip
    if problem.eigen is not None:
        raise ProblemError("causal weighting is for evolution problems, not eigenproblems")


def residuals(problem: Problem, model: Callable, params, x: jax.Array, method: str = DEFAULT,
              unknowns: dict | None = None) -> jax.Array:  # fmt: skip
    """Equation residuals (n, n_equations) at interior points ``x`` (with scalar ``unknowns``,
    such as an eigenvalue, by name, or a function of the point; see :func:`make_terms`)."""
    coords, fields = problem.domain.coords, problem.fields
    needed = frozenset().union(*(e.needed for e in problem.equations))
    values = at_points(model, params, x, needed, method)

    def one(y, at_y):
        p = Point(coords, fields, y, at_y, unknowns=at_point(unknowns, y, at_y))
        return jnp.stack([e.residual(p) for e in problem.equations])

    return jax.vmap(one)(x, values)


def at_point(unknowns, x, values) -> dict | None:
    """The scalar unknowns at one point: ``unknowns`` itself, or its value there when it is a
    function of the point and the field values (see :func:`make_terms`)."""
    return unknowns(x, values) if callable(unknowns) else unknowns
