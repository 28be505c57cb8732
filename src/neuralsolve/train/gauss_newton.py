"""Levenberg–Marquardt steps on a sum-of-squares loss ‖ρ(θ)‖² (Gauss–Newton with a trust region).

Each step solves (JᵀJ + λ·s·I) δ = −Jᵀρ with the residual rows ρ and their Jacobian J
(:mod:`neuralsolve.loss.rows`), s the mean of JᵀJ's diagonal (so λ is free of the loss's units),
then keeps θ + δ if it lowers the loss. λ follows Nielsen's rule: shrunk by up to 3x when the step
achieved what the Gauss–Newton model predicted, multiplied by ν (doubling on consecutive failures)
when the step failed. On small networks the Gauss–Newton matrix is the curvature quasi-Newton
methods have to learn from hundreds of gradients; a dense solve of n parameters costs n³/3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


class LMState(NamedTuple):
    damping: jax.Array  # λ
    growth: jax.Array  # ν: λ's factor at the next failed step


def init_state(damping: float, dtype) -> LMState:
    return LMState(jnp.asarray(damping, dtype), jnp.asarray(2.0, dtype))


def lm_step(params, state: LMState, loss: Callable, rows: Callable, bounds: tuple[float, float]):
    """One step from ``params``: ``(params, state, value, grad)`` with the loss and its gradient at
    the incoming parameters (the fit loop's convention). ``rows(params) -> (ρ, J)``;
    ``loss(params)`` equals ‖ρ‖²; ``bounds``: the smallest and largest λ."""
    flat, unravel = ravel_pytree(params)
    rho, jac = rows(params)
    value = rho @ rho
    half_grad = jac.T @ rho
    gram = jac.T @ jac
    scale = jnp.mean(jnp.diag(gram))
    delta = -_solve_spd(gram + state.damping * scale * jnp.eye(flat.size, dtype=flat.dtype), half_grad)
    trial = unravel(flat + delta)
    new = loss(trial)
    predicted = -(2 * half_grad @ delta + delta @ (gram @ delta))  # the decrease the model promises
    ratio = (value - new) / predicted
    accept = jnp.isfinite(new) & (new < value) & (predicted > 0)
    shrink = jnp.maximum(1 / 3, 1 - (2 * ratio - 1) ** 3)
    damping = jnp.where(accept, state.damping * shrink, state.damping * state.growth)
    growth = jnp.where(accept, 2.0, 2 * state.growth)
    damping = jnp.clip(damping, *bounds)
    params = jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), trial, params)
    return params, LMState(damping, growth.astype(state.growth.dtype)), value, unravel(2 * half_grad)


def _solve_spd(matrix: jax.Array, rhs: jax.Array) -> jax.Array:
    """Solve with a symmetric positive definite ``matrix`` (Cholesky; NaN where it is not, which
    the step then rejects and damps harder)."""
    factor = jax.scipy.linalg.cho_factor(matrix)
    return jax.scipy.linalg.cho_solve(factor, rhs)
