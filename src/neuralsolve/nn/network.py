"""The network as an Equinox module: an MLP on inputs scaled to [-1, 1] (built from its settings,
:class:`neuralsolve.nn.mlp.MLP`, which is kept apart so that reading settings does not import
Equinox)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..ops.derivatives import derivatives
from ..ops.taylor import mlp_streams

ACTIVATIONS = {"tanh": jnp.tanh, "sin": jnp.sin, "gelu": jax.nn.gelu, "softplus": jax.nn.softplus}


class ScaledMLP(eqx.Module):
    """An MLP whose inputs are first mapped from the domain's bounding box to [-1, 1] (each
    ``periodic`` axis to the cosine and sine of its angle, so that the network is periodic there),
    then through the embedding ``features`` if there is one (kink features bypass it: they must
    stay exact)."""

    mlp: eqx.nn.MLP
    lo: tuple = eqx.field(static=True)
    hi: tuple = eqx.field(static=True)
    kinks: tuple = eqx.field(static=True, default=())
    features: eqx.Module | None = None  # no leaves when None: older checkpoints still load
    periodic: tuple = eqx.field(static=True, default=())

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.mlp(self.embed(x))

    def embed(self, x: jax.Array) -> jax.Array:
        """The MLP's inputs at one point: scaled coordinates, periodic angles, features, kinks."""
        lo, hi = jnp.asarray(self.lo, x.dtype), jnp.asarray(self.hi, x.dtype)
        inputs = 2 * (x - lo) / (hi - lo) - 1
        if self.periodic:
            angles = jnp.pi * (inputs[jnp.asarray(self.periodic)] + 1)  # 2π (x - lo) / (hi - lo)
            others = [i for i in range(x.shape[0]) if i not in self.periodic]
            inputs = jnp.concatenate([inputs[jnp.asarray(others, int)], jnp.cos(angles), jnp.sin(angles)])
        if self.features is not None:
            inputs = self.features(inputs)
        if self.kinks:
            kinks = [jnp.where(x[i] > a, ((x[i] - a) / (self.hi[i] - self.lo[i])) ** 2, 0.0) for i, a in self.kinks]
            inputs = jnp.concatenate([inputs, 4 * jnp.stack(kinks)])  # 4: about unit size, like the inputs
        return inputs

    def streams(self, xs: jax.Array, alphas: tuple) -> dict:
        """Taylor streams ``{α: (out, points)}`` of the network at the points ``xs`` (n, d), for
        the closed set of multi-indices ``alphas`` (:mod:`neuralsolve.ops.taylor`)."""
        return mlp_streams(self.mlp, self._input_streams(xs, alphas), alphas)

    def _input_streams(self, xs: jax.Array, alphas: tuple) -> dict:
        if self.periodic or self.features is not None or self.kinks:
            per_point = jax.vmap(lambda x: derivatives(self.embed, x, alphas, "jvp"))(xs)
            return {a: v.T for a, v in per_point.items()}
        # Affine scaling alone: constant first derivatives, none higher (left out: known zeros).
        lo, hi = jnp.asarray(self.lo, xs.dtype), jnp.asarray(self.hi, xs.dtype)
        streams = {(): (2 * (xs - lo) / (hi - lo) - 1).T}
        for i in range(xs.shape[1]):
            if (i,) in alphas:
                streams[(i,)] = jnp.zeros((xs.shape[1], 1), xs.dtype).at[i, 0].set(2 / (hi[i] - lo[i]))
        return streams
