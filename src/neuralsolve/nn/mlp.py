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

import jax
import numpy as np

from .._errors import ProblemError
from .features import Features, FourierFeatures, GaussianFeatures

ACTIVATIONS = ("tanh", "sin", "gelu", "softplus")


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

    def build(self, in_size: int, out_size: int, lo, hi, dtype, seed, kinks=(), periodic=()):
        """Initialise the network for points in the box [lo, hi] (one entry per coordinate), from
        ``seed`` (an integer, or a JAX key), with a kink feature for each ``(axis, position)`` in
        ``kinks``, exactly periodic in the axes ``periodic`` (each such input becomes the cosine and
        sine of its angle). Weights and biases are drawn as Equinox draws them (uniform within
        ±1/√fan-in), by NumPy: by JAX, initialisation is a dozen small compilations (1 s on a first
        run)."""
        import equinox as eqx  # here: reading settings does not need Equinox

        from .network import ACTIVATIONS as FUNCTIONS
        from .network import ScaledMLP

        kinks = tuple((int(i), float(a)) for i, a in kinks)
        periodic = tuple(sorted(int(i) for i in periodic))
        embedding, scaled_size = None, in_size + len(periodic)
        embedded_size = scaled_size
        if self.features is not None:  # drawn by JAX: their keys and draws as before
            key = jax.random.PRNGKey(seed) if isinstance(seed, int) else seed
            embedding = self.features.build(scaled_size, dtype, jax.random.split(key)[1])
            embedded_size = self.features.out_size(scaled_size)
        key_shape = jax.ShapeDtypeStruct((2,), "uint32")  # the structure alone: nothing is drawn or compiled
        shape = eqx.filter_eval_shape(lambda k: eqx.nn.MLP(embedded_size + len(kinks), out_size, self.width, self.depth,
                                                           activation=FUNCTIONS[self.activation], dtype=dtype, key=k),
                                      key_shape)  # fmt: skip
        mlp = _drawn(shape, _rng(seed))
        return ScaledMLP(mlp, tuple(float(v) for v in lo), tuple(float(v) for v in hi), kinks, embedding, periodic)


def _rng(seed) -> np.random.Generator:
    """NumPy's generator for an integer seed or a JAX key (from its key data)."""
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng(int(seed))
    data = jax.random.key_data(seed) if jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key) else seed
    return np.random.default_rng(np.asarray(data, np.uint32).ravel().tolist())


def _drawn(shape, rng: np.random.Generator):
    """The MLP ``shape`` (leaves: shapes and dtypes) with each linear layer's weight and bias drawn
    uniformly within ±1/√(its inputs)."""
    import equinox as eqx

    layers = []
    for layer in shape.layers:
        bound = 1 / np.sqrt(layer.in_features)
        # device_put, not jnp.asarray: that compiles a copy for each new shape
        draw = lambda leaf: jax.device_put(rng.uniform(-bound, bound, leaf.shape).astype(leaf.dtype))  # noqa: E731
        layer = eqx.tree_at(lambda l: l.weight, layer, draw(layer.weight))
        if layer.bias is not None:
            layer = eqx.tree_at(lambda l: l.bias, layer, draw(layer.bias))
        layers.append(layer)
    return eqx.tree_at(lambda m: m.layers, shape, tuple(layers))
