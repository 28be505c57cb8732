"""One quasi-Newton step: a search direction from a curvature model, then a Wolfe line search.

The phases L-BFGS, BFGS, SSBFGS and SSBroyden share this step. The line search is optax's zoom
search, written with the loss evaluated at one place (:mod:`~neuralsolve.train.linesearch`): its
first trial, which a quasi-Newton direction passes in more than 99% of steps, is its first
iteration. Nothing here evaluates the loss inside a ``lax.cond`` branch: XLA's CPU backend compiles a
loss there into much slower code (the gradient of the Burgers loss on 3000 points took 6.6 ms in a
branch against 2.3 ms outside one, 2-core Xeon, float64), so loops of at most one trip stand in
for conditionals.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import linesearch


class QuasiNewtonState(NamedTuple):
    direction: optax.OptState  # the curvature model's state
    stepsize: jax.Array  # the last accepted step size (the next first trial where guess="keep")
    value: jax.Array  # the loss at the current parameters; inf before the first evaluation
    grad: optax.Params  # its gradient


def init(direction: optax.GradientTransformation, params) -> QuasiNewtonState:
    """The state before the first step: the loss is evaluated by that step."""
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    return QuasiNewtonState(direction.init(params), jnp.asarray(1.0, dtype), jnp.asarray(jnp.inf, dtype),
                            jax.tree_util.tree_map(jnp.zeros_like, params))  # fmt: skip


def step(direction: optax.GradientTransformation, params, state: QuasiNewtonState, loss, *, guess: str,
         max_linesearch_steps: int):  # fmt: skip
    """One step: ``(new params, new state, loss at params, gradient at params)``.

    ``direction.update(grad, state, params)`` gives the preconditioned gradient (the step is its
    negative); ``guess``: the first trial step size, ``"one"`` or ``"keep"`` (the last accepted).
    """
    value, grad = _at_most_once(~jnp.isfinite(state.value), lambda: jax.value_and_grad(loss)(params),
                                (state.value, state.grad))  # fmt: skip
    scaled, direction_state = direction.update(grad, state.direction, params)
    descent = jax.tree_util.tree_map(jnp.negative, scaled)
    first = state.stepsize if guess == "keep" else jnp.ones_like(state.stepsize)
    t, new_value, new_grad = linesearch.search(loss, params, descent, value, grad, _slope(grad, descent), first,
                                               max_linesearch_steps)  # fmt: skip
    t, new_value, new_grad = jax.tree_util.tree_map(lambda a, b: jnp.asarray(a, b.dtype), (t, new_value, new_grad),
                                                    (state.stepsize, state.value, state.grad))  # fmt: skip
    new_params = optax.tree.add_scale(params, t, descent)
    return new_params, QuasiNewtonState(direction_state, t, new_value, new_grad), value, grad


def _slope(grad, direction) -> jax.Array:
    return optax.tree.real(optax.tree.vdot(grad, direction))


def _at_most_once(needed, compute, otherwise):
    """``compute()`` where ``needed``, else ``otherwise``: a while loop of at most one trip, not a
    ``lax.cond``, whose branches XLA's CPU backend compiles into slower code."""
    needed = jnp.asarray(needed)
    return jax.lax.while_loop(lambda c: c[0], lambda c: (jnp.zeros_like(needed), compute()), (needed, otherwise))[1]
