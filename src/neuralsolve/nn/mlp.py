"""The network: an MLP acting on one point, with inputs scaled to [-1, 1] over the domain.

Where a coefficient of the equation jumps at ``x_i = a`` (a discontinuous potential), the solution's
second derivative jumps there too, which no smooth network can follow. Each such jump adds a *kink
feature* ``((x_i - a)_+ / L)²`` to the inputs: its second derivative is a step, so the network can
match the jump of every derivative from the second on, and stays C¹ as the solution is.

An optional input embedding (``features``: Fourier or trainable Gaussian features, see
:mod:`neuralsolve.nn.features`) sits between the scaled inputs and the MLP.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp

from .._errors import ProblemError
from ..ops.derivatives import derivatives
from ..ops.taylor import mlp_streams
from .features import Features, FourierFeatures, GaussianFeatures

ACTIVATIONS = {"tanh": jnp.tanh, "sin": jnp.sin, "gelu": jax.nn.gelu}


@dataclass(frozen=True)
class MLP:
    """Settings of a fully connected network: ``depth`` hidden layers of ``width`` units, fed by an
    optional input embedding ``features`` (:class:`FourierFeatures` or :class:`GaussianFeatures`)."""

    width: int = 32
    depth: int = 3
    activation: str = "tanh"
    features: Features | None = None

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ProblemError(f"unknown activation {self.activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        if self.width < 1 or self.depth < 1:
            raise ProblemError(f"network width and depth must be at least 1, got {self.width} and {self.depth}")
        if self.features is not None and not isinstance(self.features, (FourierFeatures, GaussianFeatures)):
            raise ProblemError(f"features must be FourierFeatures(...), GaussianFeatures(...) or None, "
                               f"got {type(self.features).__name__}")  # fmt: skip

    def build(self, in_size: int, out_size: int, lo, hi, dtype, key, kinks=(), periodic=()) -> ScaledMLP:
        """Initialise the network for points in the box [lo, hi] (one entry per coordinate), with a
        kink feature for each ``(axis, position)`` in ``kinks``, exactly periodic in the axes
        ``periodic`` (each such input becomes the cosine and sine of its angle)."""
        kinks = tuple((int(i), float(a)) for i, a in kinks)
        periodic = tuple(sorted(int(i) for i in periodic))
        embedding, scaled_size = None, in_size + len(periodic)
        embedded_size = scaled_size
        if self.features is not None:  # without features, the key is used as before: same networks
            key, feature_key = jax.random.split(key)
            embedding = self.features.build(scaled_size, dtype, feature_key)
            embedded_size = self.features.out_size(scaled_size)
        mlp = eqx.nn.MLP(embedded_size + len(kinks), out_size, self.width, self.depth,
                         activation=ACTIVATIONS[self.activation], dtype=dtype, key=key)  # fmt: skip
        return ScaledMLP(mlp, tuple(float(v) for v in lo), tuple(float(v) for v in hi), kinks, embedding, periodic)


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
