"""Fourier neural operator (Li et al., "Fourier neural operator for parametric partial differential
equations", ICLR 2021; JMLR 2023 "Neural operator" version), in Equinox.

One sample ``a`` of shape ``(c_in, *grid)`` (channel-first, ``grid = (s,)`` or ``(s, s)``) maps to
``(c_out, *grid)`` on the same grid, for any ``s``:

1. positional embedding: the grid coordinates are appended as channels. On a periodic grid they
   enter as ``cos 2πx, sin 2πx`` per axis: the plain coordinate jumps from 1 back to 0 at the wrap,
   which makes the lifted field discontinuous, its discrete Fourier coefficients depend on ``s``
   (aliasing of a 1/k spectrum) and the output non-periodic;
2. lifting: one pointwise linear map to ``width`` channels (the paper), or with ``channel_mlp`` a
   pointwise MLP ``→ 2·width → width`` (as neuraloperator's library);
3. ``layers`` Fourier layers ``v ← σ(K v + W v)``, no σ after the last one; with ``channel_mlp``
   each is followed by ``v ← σ(M v + g ⊙ v₀)``: a pointwise MLP ``width → width/2 → width`` and a
   learned per-channel gate on the layer's input ``v₀`` (neuraloperator's "channel MLP" with
   "soft-gating" skip). The pointwise MLPs sharpen what the few kept Fourier modes can carry: the
   steep fronts of a Burgers solution;
4. projection: pointwise MLP ``width → projection → c_out``.

The shared pieces (grid coordinates, linear maps, activations) live here too: the
DeepONet and MgNO modules use them.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from .grid import PADDING, pad_points
from .network import ACTIVATIONS


def activation_function(name: str):
    """The activation called ``name`` (one of :data:`neuralsolve.nn.network.ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ProblemError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def check_sizes(**sizes) -> None:
    """Raise a :class:`ProblemError` unless every named size is a whole number of at least 1."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ProblemError(f"{name} must be a whole number of at least 1, got {value!r}")


def coordinates(shape: tuple, periodic: bool, dtype) -> list:
    """Normalised coordinates of a uniform grid of ``shape``, one array of ``shape`` per axis:
    ``x_j = j/s`` on a periodic grid (the endpoint is the first point again), ``j/(s-1)`` on a
    vertex grid that includes both ends."""
    axes = [np.arange(s) / (s if periodic else max(s - 1, 1)) for s in shape]
    return [jnp.asarray(x, dtype) for x in np.meshgrid(*axes, indexing="ij")]


def positional_channels(shape: tuple, periodic: bool, dtype) -> jax.Array:
    """The channels the positional embedding appends: ``(2·dim, *shape)`` periodic (cosine and
    sine of each angle), ``(dim, *shape)`` otherwise."""
    xs = coordinates(shape, periodic, dtype)
    if periodic:
        return jnp.stack([f(2 * jnp.pi * x) for x in xs for f in (jnp.cos, jnp.sin)])
    return jnp.stack(xs)


def embedding_size(dim: int, periodic: bool) -> int:
    """How many channels :func:`positional_channels` appends."""
    return 2 * dim if periodic else dim


def subkeys(key, n: int) -> list:
    """``n`` independent keys from ``key`` (by ``fold_in``: one compilation serves every ``n``,
    where ``split(key, n)`` and indexing its result compile anew for each ``n``)."""
    return [jax.random.fold_in(key, i) for i in range(n)]


def uniform(key, shape: tuple, dtype, low=0.0, high=1.0) -> jax.Array:
    """Uniform random values in [low, high) of ``shape``, drawn flat in a power-of-two count.

    XLA on CPU compiles JAX's generator once per shape, in up to seconds for a multi-dimensional
    one: drawn flat and in few distinct counts, a model's parameters cost a handful of compilations
    however many layers and shapes it has (the values differ from a draw in ``shape``).
    """
    n = math.prod(shape)
    values = jax.random.uniform(key, (1 << max(n - 1, 0).bit_length(),), dtype, low, high)
    return values[:n].reshape(shape)


class Linear(eqx.Module):
    """A linear map with bias acting on the first axis of its input: on a vector, or on the channel
    vector at every grid point of a channel-first field.

    Initialised like ``eqx.nn.Linear``: weight and bias uniform in ±1/√in_size (drawn by
    :func:`uniform`).
    """

    weight: jax.Array
    bias: jax.Array

    def __init__(self, in_size: int, out_size: int, *, key, dtype):
        bound = 1 / math.sqrt(in_size)
        values = uniform(key, (out_size, in_size + 1), dtype, -bound, bound)
        self.weight, self.bias = values[:, :-1], values[:, -1]

    def __call__(self, v: jax.Array) -> jax.Array:
        return jnp.tensordot(self.weight, v, axes=1) + self.bias.reshape(-1, *([1] * (v.ndim - 1)))


class PointwiseMLP(eqx.Module):
    """Two pointwise linear maps with an activation between them (the projection)."""

    hidden: Linear
    out: Linear
    activation: str = eqx.field(static=True)

    def __init__(self, in_size: int, hidden: int, out_size: int, activation: str, *, key, dtype):
        k1, k2 = subkeys(key, 2)
        self.hidden = Linear(in_size, hidden, dtype=dtype, key=k1)
        self.out = Linear(hidden, out_size, dtype=dtype, key=k2)
        self.activation = activation

    def __call__(self, v: jax.Array) -> jax.Array:
        return self.out(activation_function(self.activation)(self.hidden(v)))


class SpectralConv(eqx.Module):
    """The Fourier integral operator K: multiply the lowest Fourier modes by learned complex
    ``width × width`` matrices, drop the others.

    Fourier coefficients are taken with ``norm="forward"`` (the sum divided by the point count) and
    summed back without a factor: they are the coefficients of the underlying function, whatever
    ``s``, so the layer acts on the function and not on its sampling.

    The weights are stored as real arrays (real and imaginary parts on a leading axis of 2): every
    optimiser, weight decay and line search then sees plain real parameters.
    """

    weights: jax.Array  # (blocks, 2, width, width, modes, ...); 2-D: blocks 0/1 = positive/negative first-axis modes
    modes: int = eqx.field(static=True)

    def __init__(self, dim: int, width: int, modes: int, *, key, dtype):
        blocks = 1 if dim == 1 else 2
        # The paper: scale · uniform[0, 1) for the real and the imaginary part, scale = 1/width²
        shape = (blocks, 2, width, width) + (modes,) * dim
        self.weights = uniform(key, shape, dtype) / (width * width)
        self.modes = modes

    def __call__(self, v: jax.Array) -> jax.Array:
        w = jax.lax.complex(self.weights[:, 0], self.weights[:, 1])
        return _spectral_1d(v, w[0], self.modes) if v.ndim == 2 else _spectral_2d(v, w, self.modes)


def _spectral_1d(v, w, modes):
    """K on a 1-D grid: the kept modes' coefficients by real matrix products (:func:`_kept_modes`),
    mixed, and summed back the same way. Equal to the rFFT definition to rounding (a test); a
    training step of the Burgers benchmark's FNO (s = 256, 24 modes) took 25 ms instead of 28–32
    on two CPU cores: it keeps 24 of 129 modes, which a full rFFT computes."""
    s = v.shape[-1]
    m = min(modes, s // 2 + 1)  # a coarse grid has fewer modes than the layer keeps
    return _field_from(jnp.einsum("iok,ik->ok", w[..., :m], _kept_modes(v, m)), s)


def _spectral_2d(v, w, modes):
    """K on a 2-D grid: the kept modes along the second axis by real matrix products (as in 1-D),
    then a discrete Fourier transform as a matrix product along the first, for the kept rows only
    (and back the same way). A full rFFT2 transforms every column along the first axis, of which
    the layer keeps ``m2``: with the first axis so, a training step of the Darcy benchmark's FNO
    (padded 69 x 69 grid) took 350 ms instead of 406 (Xeon); with the second too, 402–455 ms
    instead of 512–622 (AMD)."""
    s1, s2 = v.shape[-2:]
    # modes 0..m1-1 and -m1..-1 along the first axis must not overlap: 2·m1 ≤ s1
    m1, m2 = min(modes, s1 // 2), min(modes, s2 // 2 + 1)
    to_modes, from_modes = _fourier_rows(s1, m1, jnp.result_type(v.dtype, jnp.complex64))
    columns = _kept_modes(v, m2)  # (i, s1, m2)
    coeffs = jnp.einsum("kp,ipl->ikl", to_modes, columns)  # (i, 2·m1, m2): rows 0..m1-1, then -m1..-1
    weights = jnp.concatenate([w[0][..., :m1, :m2], w[1][..., :m1, :m2]], axis=2)
    out = jnp.einsum("pk,okl->opl", from_modes, jnp.einsum("iokl,ikl->okl", weights, coeffs))  # (o, s1, m2)
    return _field_from(out, s2)


def _kept_modes(v, m: int):
    """The Fourier coefficients (with 1/s) of the wavenumbers 0..m-1 along ``v``'s last axis, as
    an rFFT's first ``m``: one real matrix product gives their real and imaginary parts."""
    forward, _ = _real_fourier(v.shape[-1], m, v.dtype)
    return jax.lax.complex(*jnp.split(v @ forward, 2, axis=-1))


def _field_from(coeffs, s: int):
    """The real field on ``s`` points whose coefficients of the wavenumbers 0..m-1 (last axis) are
    ``coeffs`` and the others zero, as an inverse rFFT sums them (one real matrix product)."""
    _, back = _real_fourier(s, coeffs.shape[-1], jnp.real(coeffs).dtype)
    return jnp.concatenate([jnp.real(coeffs), jnp.imag(coeffs)], axis=-1) @ back


def _real_fourier(s: int, m: int, dtype):
    """The real forms of the forward DFT (with 1/s) from ``s`` points to the wavenumbers 0..m-1,
    real parts then imaginary parts, and of the sum back (a real field's: each wavenumber but 0
    and s/2 counted twice, for its conjugate; their imaginary parts dropped, as an inverse rFFT
    drops them)."""
    k, x = np.arange(m), np.arange(s)
    phase = 2 * np.pi * np.outer(x, k) / s  # (s, m)
    twice = np.where((k == 0) | (2 * k == s), 1.0, 2.0)[:, None]
    forward = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) / s
    back = np.concatenate([twice * np.cos(phase.T), -twice * np.sin(phase.T)], axis=0)
    return jnp.asarray(forward, dtype), jnp.asarray(back, dtype)


def _fourier_rows(s: int, m: int, dtype):
    """The forward (with 1/s) and inverse DFT matrices between ``s`` points and the wavenumbers
    0..m-1, -m..-1."""
    k = np.concatenate([np.arange(m), np.arange(-m, 0)])
    phase = 2j * np.pi * np.outer(k, np.arange(s)) / s
    return jnp.asarray(np.exp(-phase) / s, dtype), jnp.asarray(np.exp(phase).T, dtype)


class FNO(eqx.Module):
    """Fourier neural operator for 1-D or 2-D fields (see the module docstring).

    ``periodic=False`` (data on a vertex grid, e.g. Darcy flow with zero boundary values): the
    lifted field is padded with zeros at the far end of each axis, by ``padding`` points (an int)
    or by that fraction of ``s`` (a float; default 1/8, rounded up — a fraction keeps the
    operator resolution invariant), so that the Fourier layers need not treat the field as
    periodic; the padding is cropped after the last Fourier layer.
    """

    lift: Linear | PointwiseMLP
    spectral: list
    linear: list
    mlps: list | None
    gates: list | None
    project: PointwiseMLP
    dim: int = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)
    padding: int | float = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(self, dim: int, in_channels: int, out_channels: int, *, width: int = 64, modes: int = 16,
                 layers: int = 4, periodic: bool = True, padding: int | float | None = None,
                 activation: str = "gelu", projection: int = 128, channel_mlp: bool = False, key,
                 dtype=jnp.float32):  # fmt: skip
        if dim not in (1, 2):
            raise ProblemError(f"FNO: dim must be 1 or 2, got {dim!r}")
        check_sizes(in_channels=in_channels, out_channels=out_channels, width=width, modes=modes, layers=layers,
                    projection=projection)  # fmt: skip
        activation_function(activation)
        self.padding = _check_padding(padding)
        keys = subkeys(key, 3 * layers + 2)
        lifted = in_channels + embedding_size(dim, periodic)
        self.lift = PointwiseMLP(lifted, 2 * width, width, activation, key=keys[0], dtype=dtype) if channel_mlp \
            else Linear(lifted, width, dtype=dtype, key=keys[0])  # fmt: skip
        self.spectral = [SpectralConv(dim, width, modes, key=k, dtype=dtype) for k in keys[1 : layers + 1]]
        self.linear = [Linear(width, width, dtype=dtype, key=k) for k in keys[layers + 1 : 2 * layers + 1]]
        self.mlps = [PointwiseMLP(width, max(1, width // 2), width, activation, key=k, dtype=dtype)
                     for k in keys[2 * layers + 1 : 3 * layers + 1]] if channel_mlp else None  # fmt: skip
        self.gates = [jnp.ones(width, dtype) for _ in range(layers)] if channel_mlp else None
        self.project = PointwiseMLP(width, projection, out_channels, activation, key=keys[-1], dtype=dtype)
        self.dim, self.periodic, self.activation = dim, periodic, activation

    def __call__(self, a: jax.Array) -> jax.Array:
        grid = a.shape[1:]
        if len(grid) != self.dim:
            raise ValueError(f"FNO({self.dim}-D) expects one sample (channels, *grid), got shape {a.shape}")
        v = jnp.concatenate([a, positional_channels(grid, self.periodic, a.dtype)])
        v = self.lift(v)
        if not self.periodic:
            v = jnp.pad(v, [(0, 0)] + [(0, self.pad_points(s)) for s in grid])
        sigma = activation_function(self.activation)
        for i, (k, w) in enumerate(zip(self.spectral, self.linear)):
            last = i == len(self.spectral) - 1
            v0, v = v, k(v) + w(v)
            v = v if last else sigma(v)
            if self.mlps is not None:
                v = self.mlps[i](v) + self.gates[i].reshape(-1, *([1] * self.dim)) * v0
                v = v if last else sigma(v)
        v = v[(slice(None),) + tuple(slice(0, s) for s in grid)]
        return self.project(v)

    def pad_points(self, s: int) -> int:
        """How many zero points the non-periodic operator appends to an axis of ``s`` points."""
        return pad_points(s, self.padding)


def _check_padding(padding):
    if padding is None:
        return PADDING
    if isinstance(padding, bool) or not isinstance(padding, (int, float)) or padding < 0:
        raise ProblemError(f"FNO: padding must be a number of points (int) or a fraction of s (float), got {padding!r}")
    return padding
