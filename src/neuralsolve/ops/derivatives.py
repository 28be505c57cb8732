"""Exact derivatives of a pointwise function f: R^d -> R^m by JAX autodiff.

A derivative is named by its *directions*: a sorted tuple of coordinate indices, so ``(0, 0)`` is
the second derivative in the first coordinate and ``(0, 1)`` the mixed one. :func:`derivatives`
computes a whole set at one point, sharing work:

* ``"jvp"``: nested forward mode, one nesting level per order; a chain such as (0, 0) also gives
  its prefixes ((0,)), so they are not traced again.
* ``"jet"``: one Taylor-mode pass per coordinate gives every pure derivative in that coordinate up
  to the highest order asked for; mixed derivatives use nested ``jvp``.
* ``"reverse"``: nested reverse mode (``jacrev``).

:func:`at_points` differentiates a model at many points; its default ``"taylor"`` pushes every
derivative through neuralsolve's network in one batched pass (:mod:`neuralsolve.ops.taylor`) and
falls back to nested ``jvp`` per point for any other function. ``benchmarks/derivatives.py``
justifies the default: on the 2-core CPU a training step's loss gradient is 1.1-2.4x faster than
with nested ``jvp`` (the next fastest) at orders 1, 2 and 4 and for the Laplacian (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
from jax.experimental import jet

METHODS = ("jet", "jvp", "reverse", "taylor")
DEFAULT = "taylor"


def at_points(model: Callable, params, xs: jax.Array, wanted: Iterable[tuple[int, ...]], method: str = DEFAULT) -> dict:
    """``{directions: (n, m) array}`` of ``model(params, x)`` at every row x of ``xs`` (n, d).

    ``"taylor"`` pushes every derivative through the network in one batched pass
    (:mod:`neuralsolve.ops.taylor`) when the model offers it (``model.taylor``); for any other
    model, and for the other methods, each point is differentiated on its own.
    """
    if method == "taylor" and hasattr(model, "taylor"):
        return model.taylor(params, xs, wanted)
    per_point = "jvp" if method == "taylor" else method
    return jax.vmap(lambda x: derivatives(lambda y: model(params, y), x, wanted, per_point))(xs)


def derivatives(f: Callable, x: jax.Array, wanted: Iterable[tuple[int, ...]], method: str = "jvp") -> dict:
    """Return ``{directions: (m,) array}`` for every entry of ``wanted`` (``()`` is the value) of
    ``f`` at one point; ``"taylor"`` has no per-point form here and means ``"jvp"``."""
    wanted = set(wanted)
    out = {(): f(x)} if () in wanted else {}
    rest = [w for w in wanted if w]
    if method == "jet":
        pure = {}
        for w in rest:
            if len(set(w)) == 1:
                pure[w[0]] = max(pure.get(w[0], 0), len(w))
        for i, order in pure.items():
            series = _taylor(f, x, i, order)
            out.update({(i,) * k: series[k - 1] for k in range(1, order + 1) if (i,) * k in wanted})
        rest = [w for w in rest if w not in out]
    if method == "reverse":
        out.update({w: _nested(f, x, w, _jacrev_along) for w in rest})
    else:
        out.update(_jvp_chains(f, x, rest))
    return out


def _jvp_chains(f: Callable, x: jax.Array, wanted: list) -> dict:
    """Every derivative in ``wanted`` by nested ``jvp``, one chain per derivative that is no other's
    prefix: the chain for (0, 0) also yields (0,), which costs no second trace (tracing is the
    cost that matters here: the trial function's derivatives are traced in every training step's
    program)."""
    out: dict = {}
    for w in sorted(wanted, key=len, reverse=True):
        if w in out:
            continue
        g = lambda y: (f(y),)  # noqa: E731
        for i in w:
            g = _with_derivative(g, i)
        values = g(x)
        out.update({w[:k]: values[k] for k in range(1, len(w) + 1) if w[:k] in wanted})
    return out


def _with_derivative(g: Callable, i: int) -> Callable:
    """``y -> (*g(y), ∂_i of g's last entry)``."""

    def h(y):
        primal, tangent = jax.jvp(g, (y,), (_unit(y, i),))
        return (*primal, tangent[-1])

    return h


def _unit(x: jax.Array, i: int) -> jax.Array:
    return jnp.zeros_like(x).at[i].set(1.0)


def _taylor(f: Callable, x: jax.Array, i: int, order: int) -> list[jax.Array]:
    """Derivatives of order 1..order of f along coordinate i, from one Taylor-mode pass."""
    series = (_unit(x, i),) + (jnp.zeros_like(x),) * (order - 1)
    _, terms = jet.jet(f, (x,), (series,))
    return terms  # jet's convention: terms[k-1] is the k-th derivative (no factorial)


def _nested(f: Callable, x: jax.Array, directions: tuple[int, ...], along: Callable) -> jax.Array:
    """Differentiate once per entry of ``directions``, each time with ``along(g, i)``."""
    g = f
    for i in directions:
        g = along(g, i)
    return g(x)


def _jacrev_along(g: Callable, i: int) -> Callable:
    return lambda y: jax.jacrev(g)(y)[..., i]
