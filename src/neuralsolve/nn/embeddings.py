"""The input embeddings as Equinox modules, built from their settings in :mod:`neuralsolve.nn.features`
(kept apart so that reading settings does not import Equinox)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


class FourierEmbedding(eqx.Module):
    """``z -> [cos(2π B z), sin(2π B z)]`` with B held as a static (hashable) constant.

    B is kept out of the array leaves on purpose: the fit loop trains every inexact array leaf of
    the parameters, and a static field is neither trained, nor counted by BFGS, nor checkpointed.
    """

    frequencies: tuple = eqx.field(static=True)

    def __call__(self, z: jax.Array) -> jax.Array:
        angles = 2 * jnp.pi * (jnp.asarray(self.frequencies, z.dtype) @ z)
        return jnp.concatenate([jnp.cos(angles), jnp.sin(angles)])


class GaussianEmbedding(eqx.Module):
    """``z -> Σ_i f_i exp(-|(z - μ_i) / s_i|² / 2)`` with every array trainable."""

    centres: jax.Array  # (count, d)
    log_widths: jax.Array  # (count, d): widths s = exp(log_widths) stay positive under any update
    features: jax.Array  # (count, size)

    def __call__(self, z: jax.Array) -> jax.Array:
        r = (z - self.centres) * jnp.exp(-self.log_widths)
        weights = jnp.exp(-0.5 * jnp.sum(r * r, axis=1))  # r * r, not r**2: Taylor mode (jet) traces products
        return weights @ self.features
