"""The pure model: the network's output through the trial function, over trainable arrays."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp

from ..ops.taylor import closure, through_head


class Model:
    """``model(params, x)``: every field's value at one point ``x``.

    ``params`` are the network's trainable arrays; the rest of the network (``static``) and the
    ``trial`` function (``trial(net_out, x)``, with ``trial.identity`` when it passes the network
    through unchanged) are fixed. :meth:`taylor` gives derivatives at many points at once.
    """

    def __init__(self, static, trial: Callable):
        self.static, self.trial = static, trial

    def __call__(self, params, x: jax.Array) -> jax.Array:
        import equinox as eqx  # imported where used: settings and checks never build a model

        return self.trial(eqx.combine(params, self.static)(x), x)

    def taylor(self, params, xs: jax.Array, wanted: Iterable[tuple[int, ...]]) -> dict:
        """``{directions: (n, m)}`` at the points ``xs`` (n, d), by Taylor mode through the network."""
        import equinox as eqx

        wanted = tuple(wanted)
        alphas = closure(wanted)
        streams = eqx.combine(params, self.static).streams(xs, alphas)
        n = xs.shape[0]
        out = {a: jnp.broadcast_to(s, (s.shape[0], n)).T for a, s in streams.items()}
        zero = jnp.zeros_like(out[()])
        out = {a: out.get(a, zero) for a in alphas}
        if getattr(self.trial, "identity", False):
            return {a: out[a] for a in wanted}
        return through_head(self.trial, out, xs, wanted)


def split(network, trial: Callable) -> tuple[Model, object]:
    """Split a network into its trainable arrays and the :class:`Model` over them."""
    import equinox as eqx

    params, static = eqx.partition(network, eqx.is_inexact_array)
    return Model(static, trial), params
