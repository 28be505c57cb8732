"""The network: an MLP acting on one point, with inputs scaled to [-1, 1] over the domain."""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp

from .._errors import ProblemError

ACTIVATIONS = {"tanh": jnp.tanh, "sin": jnp.sin, "gelu": jax.nn.gelu}


@dataclass(frozen=True)
class MLP:
    """Settings of a fully connected network: ``depth`` hidden layers of ``width`` units."""

    width: int = 32
    depth: int = 3
    activation: str = "tanh"

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ProblemError(f"unknown activation {self.activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        if self.width < 1 or self.depth < 1:
            raise ProblemError(f"network width and depth must be at least 1, got {self.width} and {self.depth}")

    def build(self, in_size: int, out_size: int, lo, hi, dtype, key) -> ScaledMLP:
        """Initialise the network for points in the box [lo, hi] (one entry per coordinate)."""
        mlp = eqx.nn.MLP(in_size, out_size, self.width, self.depth, activation=ACTIVATIONS[self.activation],
                         dtype=dtype, key=key)  # fmt: skip
        return ScaledMLP(mlp, tuple(float(v) for v in lo), tuple(float(v) for v in hi))


class ScaledMLP(eqx.Module):
    """An MLP whose inputs are first mapped from the domain's bounding box to [-1, 1]."""

    mlp: eqx.nn.MLP
    lo: tuple = eqx.field(static=True)
    hi: tuple = eqx.field(static=True)

    def __call__(self, x: jax.Array) -> jax.Array:
        lo, hi = jnp.asarray(self.lo, x.dtype), jnp.asarray(self.hi, x.dtype)
        return self.mlp(2 * (x - lo) / (hi - lo) - 1)
