"""Where each state starts its search.

The variational search minimises the Rayleigh quotient over functions orthogonal to the states
found. From a network's random start, spread over the whole box, a state in a deep, narrow well
(a molecular potential) starts almost orthogonal to it: the gradient towards it is tiny, and the
search settles on a level of the flat region outside (a saddle of the quotient) instead. Each
state therefore starts from the best of several candidates, judged by the quotient itself after
projection off the lower states: the network's random start, and the network fitted to

- for the ground state, the Gaussian bump of lowest quotient among bumps centred on a grid over
  the box, of widths 1/64 to 1/8 of each side: it finds where the well is;
- for an excited state, the lowest (by its quotient, from φ_k's derivatives, before any fitting)
  of ``(x_i - <x_i>) φ_k`` for each coordinate ``x_i`` and each of the two highest states ``φ_k``
  found: the next state's shape in a harmonic well (a ladder step), and close to it in most wells.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from ...ops.derivatives import at_points, derivatives
from .quadrature import rayleigh_quotient

FIT_STEPS = 2000  # Adam steps fitting a candidate's network to its shape (at the quadrature nodes)
FIT_NODES = 1024  # at most about this many of the nodes (a 2-D quadrature has 3600)
LADDER_FROM = 2  # candidates from this many of the highest states found
BUMP_WIDTHS = (1 / 64, 1 / 32, 1 / 16, 1 / 8)  # of each side of the box
BUMP_CENTRES = {1: 32, 2: 8}  # per axis, by dimension (else 4)


def best_start(setup, n: int, lower: list, fixed: dict):
    """The starting network of state ``n``: the candidate (see the module) with the lowest
    Rayleigh quotient once projected off the ``lower`` states (``fixed``: the loss data of them)."""
    default = setup.nets[n]
    x, w = setup.quad_x, setup.quad_w
    if lower:
        k, shape = _lowest_ladder(setup, lower)
        # from that state's own network: already drawn in the well, it needs only the new node
        fitted = _fitted(setup.model, lower[k]["net"], x, w, shape, setup.method)
    else:
        shape = _lowest_bump(setup.problem, x, w)
        fitted = _fitted(setup.model, default, x, w, shape / jnp.sqrt(jnp.sum(w * shape**2)), setup.method)
    candidates = [default, fitted]
    energies = [float(setup.rayleigh({"net": c, "theta": jnp.zeros((), setup.dtype)}, fixed)) for c in candidates]
    finite = [k for k, e in enumerate(energies) if jnp.isfinite(e)]
    return candidates[min(finite, key=lambda k: energies[k])] if finite else default


def _lowest_ladder(setup, lower: list):
    """``(k, values at the nodes)`` of the ladder step ``(x_i - <x_i>) φ_k`` of lowest quotient once
    projected off the lower states; each candidate's derivatives come from φ's by Leibniz's rule,
    ``∂_d (ℓ φ) = ℓ ∂_d φ + (times i is in d) ∂_(d without one i) φ`` for the linear ``ℓ``, so only
    the one chosen is fitted."""
    problem, x, w = setup.problem, setup.quad_x, setup.quad_w
    needed = frozenset(problem.equations[0].needed) | {()}
    wanted, todo = set(needed), list(needed)
    while todo:  # every direction a derivative of the product needs: drop one index at a time
        d = todo.pop()
        for i in set(d):
            lower_d = _drop(d, i)
            if lower_d not in wanted:
                wanted.add(lower_d)
                todo.append(lower_d)
    at = setup.at(lower, setup.combination(lower), x, frozenset(wanted))
    phi = {d: v[:, :, 0] for d, v in at.items()}  # (slots, nodes) each, zero past the lower states
    best = None
    for k in range(max(0, len(lower) - LADDER_FROM), len(lower)):
        for i in range(x.shape[1]):
            q, shape = _ladder_step(problem, needed, i, phi, len(lower), k, x, w)
            q = float(q)
            if math.isfinite(q) and (best is None or q < best[0]):
                best = (q, k, shape)
    return (best[1], best[2]) if best is not None else (len(lower) - 1, phi[()][len(lower) - 1])


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _ladder_step(problem, needed: frozenset, i: int, phi: dict, n, k, x, w):
    """The Rayleigh quotient and the normalised values at the nodes of the ladder step
    ``(x_i - <x_i>) φ_k``, projected off the first ``n`` of the states ``phi`` (the rows past them
    are unused slots). ``n`` and ``k`` are traced: one program for every state and candidate, not
    some thirty operations each compiled for itself (0.8 s of infinite_well's first run)."""
    used = jnp.arange(phi[()].shape[0]) < n
    density = w * phi[()][k] ** 2
    line = x[:, i] - jnp.sum(density * x[:, i]) / jnp.sum(density)
    shape = {d: line * phi[d][k] + (d.count(i) * phi[_drop(d, i)][k] if i in d else 0.0) for d in needed}
    sizes = jnp.where(used, jnp.sum(w * phi[()] ** 2, axis=1), 1.0)
    c = jnp.where(used, (phi[()] @ (w * shape[()])) / sizes, 0.0)
    projected = {d: (shape[d] - c @ phi[d])[:, None] for d in needed}
    return rayleigh_quotient(problem, projected, x, w), shape[()] / jnp.sqrt(jnp.sum(w * shape[()] ** 2))


def _drop(d: tuple, i: int) -> tuple:
    """Direction ``d`` with one ``i`` fewer."""
    j = d.index(i)
    return d[:j] + d[j + 1 :]


def _fitted(model, net, x, w, shape, method: str):
    """``net`` fitted to the values ``shape`` at the nodes ``x`` (weights ``w``) by Adam, on at most
    about :data:`FIT_NODES` of them (evenly strided: a start needs the shape, not every digit)."""
    stride = max(1, x.shape[0] // FIT_NODES)
    return _fit(model, net, x[::stride], w[::stride], shape[::stride], method)


@functools.partial(jax.jit, static_argnums=(0, 5))
def _fit(model, net, x, w, shape, method: str):
    import optax

    optimiser = optax.adam(optax.exponential_decay(1e-2, FIT_STEPS, 0.01))

    def misfit(params):
        values = at_points(model, params, x, frozenset({()}), method)[()][:, 0]
        return jnp.sum(w * (values - shape) ** 2)

    def step(carry, _):
        params, state = carry
        updates, state = optimiser.update(jax.grad(misfit)(params), state, params)
        return (optax.apply_updates(params, updates), state), None

    (net, _), _ = jax.lax.scan(step, (net, optimiser.init(net)), None, length=FIT_STEPS)
    return net


def _lowest_bump(problem, x, w):
    """The values at the nodes ``x`` of the Gaussian bump of lowest Rayleigh quotient (see the module)."""
    import numpy as np

    lo, hi = (np.asarray(b, float) for b in problem.domain.bounds())
    count = BUMP_CENTRES.get(len(lo), 4)
    axes = [a + (b - a) * (np.arange(count) + 0.5) / count for a, b in zip(lo, hi)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(lo))
    grid = [(c, (hi - lo) * f) for c in centres for f in BUMP_WIDTHS]
    c, s = (jnp.asarray(np.stack(a), x.dtype) for a in zip(*grid))
    return _bump_values(problem, x, w, c, s)


@functools.partial(jax.jit, static_argnums=0)
def _bump_values(problem, x, w, centres, widths):
    needed = frozenset(problem.equations[0].needed) | {()}

    def values(c, s):
        bump = lambda y: jnp.exp(-0.5 * jnp.sum(((y - c) / s) ** 2))[None]
        return jax.vmap(lambda y: derivatives(bump, y, needed, "jvp"))(x)

    quotients = jax.vmap(lambda c, s: rayleigh_quotient(problem, values(c, s), x, w))(centres, widths)
    best = jnp.argmin(jnp.where(jnp.isfinite(quotients), quotients, jnp.inf))
    return values(centres[best], widths[best])[()][:, 0]
