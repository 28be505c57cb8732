"""The loss as a sum of squares: weighted residual rows and their Jacobian, for Gauss–Newton steps.

The loss the fit loop minimises is Σ_k w_k · mean_i r_ki² over the terms k (each equation on the
interior points, each penalty condition on its own points). Scaled by √(w_k / n_k), the residuals
become rows ρ with ‖ρ‖² equal to that loss, and a Gauss–Newton (Levenberg–Marquardt) step needs ρ
and its Jacobian J in the network's parameters.

J is built one point at a time: every residual depends on its own point only, so the gradient of
each point's residuals (reverse mode through one point, vectorised over the points) costs about
what a few loss gradients cost, where differentiating the whole residual vector in each parameter
direction (``jax.jacfwd``) costs one pass over all points per parameter: 60x slower on Burgers'
921-parameter network. The points go through in chunks of :data:`CHUNK` (``lax.map`` with
``batch_size``): vectorised over all 2048 points of the periodic Allen–Cahn window at once, the
per-point intermediates outgrow the CPU's caches and J took 107–156 ms; in chunks of 64, 43–70 ms
(2-core AMD EPYC, 941 parameters, repeated timings; Helmholtz's 2241: 211 ms against 77).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ..ops.derivatives import DEFAULT
from ..problem.problem import Problem
from .terms import penalty_residuals, residuals


def make_rows(problem: Problem, model: Callable, method: str = DEFAULT, unknowns: dict | None = None) -> Callable:
    """Return ``rows(params, data, weights) -> (ρ (m,), J (m, n))``: the weighted residual rows of
    :func:`~neuralsolve.loss.terms.make_terms`'s terms (not causally weighted) and their Jacobian in
    the n parameters, flattened as :func:`jax.flatten_util.ravel_pytree` orders them.

    ``‖ρ‖² = Σ_k weights_k · terms_k`` (a ``mask`` in the data counts as in the terms)."""
    n_eq = len(problem.equations)

    def rows(params, data, weights):
        flat, unravel = ravel_pytree(params)
        one = lambda f: lambda points: jax.lax.map(lambda a: _value_and_jacobian(lambda p: f(unravel(p), a), flat),
                                                   points, batch_size=CHUNK)  # fmt: skip
        x = data["interior"]
        r, jac = one(lambda p, y: residuals(problem, model, p, y[None], method, unknowns)[0])(x)
        mask = data.get("mask")
        share = 1.0 / x.shape[0] if mask is None else mask / jnp.sum(mask)  # each point's share of the mean
        scale = jnp.sqrt(weights[:n_eq] * jnp.reshape(share, (-1, 1)))  # (n or 1, n_eq)
        out_r, out_j = [jnp.ravel(r * scale)], [jnp.reshape(jac * scale[..., None], (-1, flat.size))]
        for k, (pen, entry) in enumerate(zip(problem.penalties, data["penalties"])):
            at_one = lambda p, e, pen=pen: penalty_residuals(problem, pen, model, p, _single(e), method, unknowns)[0]
            r, jac = one(at_one)(entry)
            scale = jnp.sqrt(weights[n_eq + k] / r.size)
            out_r.append(jnp.ravel(r) * scale)
            out_j.append(jnp.reshape(jac, (-1, flat.size)) * scale)
        return jnp.concatenate(out_r), jnp.concatenate(out_j)

    return rows


CHUNK = 64  # points per vectorised chunk of the Jacobian (see the module docstring)


def _value_and_jacobian(f: Callable, flat: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``f(flat)`` (a small vector) and its Jacobian, by one reverse pass per output."""
    value, pullback = jax.vjp(f, flat)
    (jac,) = jax.vmap(pullback)(jnp.eye(value.size, dtype=value.dtype))
    return value, jac


def _single(entry: dict) -> dict:
    """One point's penalty entry as a batch of one (the arrays of a vectorised point carry no batch axis)."""
    return jax.tree_util.tree_map(lambda a: a[None], entry)
