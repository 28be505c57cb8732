"""Deep operator network (Lu, Jin, Pang, Zhang & Karniadakis, Nature Machine Intelligence 2021),
in Equinox, with the interface of the other operator models: one sample ``a`` of shape
``(c_in, *grid)`` maps to ``(c_out, *grid)`` on the same grid.

* Branch: an MLP on the input function at ``sensors`` equispaced points per axis (the training
  grid; in 2-D the flattened ``sensors × sensors`` grid). An input on another grid is first
  interpolated linearly to the sensors, axis by axis (wrapping around on a periodic grid).
* Trunk: an MLP on the output coordinates, activated after its last layer too. On a periodic grid
  it sees ``cos 2πx, sin 2πx`` per axis, so its basis functions are exactly periodic; otherwise
  the coordinates scaled to [-1, 1].
* Output: ``u_c(x) = Σ_k b_{c,k} t_{c,k}(x) + β_c``, with ``p = basis`` functions per output channel.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from .fno import Linear, activation_function, check_sizes, coordinates, subkeys


class Stack(eqx.Module):
    """A fully connected network with the hidden sizes ``hidden`` (any widths), activated between
    layers and, if ``final``, after the last one too. It acts on the first axis of its input: on
    one vector, or on many at once as columns (features, points)."""

    layers: list
    activation: str = eqx.field(static=True)
    final: bool = eqx.field(static=True)

    def __init__(self, in_size: int, hidden: tuple, out_size: int, activation: str, final: bool, *, key, dtype):
        sizes = (in_size, *hidden, out_size)
        keys = subkeys(key, len(sizes) - 1)
        self.layers = [Linear(m, n, dtype=dtype, key=k) for m, n, k in zip(sizes[:-1], sizes[1:], keys)]
        self.activation, self.final = activation, final

    def __call__(self, x: jax.Array) -> jax.Array:
        sigma = activation_function(self.activation)
        for layer in self.layers[:-1]:
            x = sigma(layer(x))
        x = self.layers[-1](x)
        return sigma(x) if self.final else x


def resample(a: jax.Array, n: int, periodic: bool) -> jax.Array:
    """Linear interpolation of the grid function ``a`` (channels, *grid) to ``n`` points per axis
    of the same (periodic or vertex) grid; exact where the new points are old ones."""
    for axis, s in enumerate(a.shape[1:], start=1):
        if s == n:
            continue
        i0, i1, w = _axis_weights(s, n, periodic)
        w = jnp.asarray(w, a.dtype).reshape((-1,) + (1,) * (a.ndim - axis - 1))
        a = jnp.take(a, i0, axis=axis) * (1 - w) + jnp.take(a, i1, axis=axis) * w
    return a


def _axis_weights(s: int, n: int, periodic: bool):
    """Left and right neighbours and the weight of the right one, for each of ``n`` new points."""
    if periodic:
        position = np.arange(n) * s / n
    else:
        position = np.arange(n) * (s - 1) / max(n - 1, 1)
    i0 = np.minimum(np.floor(position).astype(int), s - 1)
    w = position - i0
    i1 = (i0 + 1) % s if periodic else np.minimum(i0 + 1, s - 1)
    return i0, i1, w


class DeepONet(eqx.Module):
    """Deep operator network for 1-D or 2-D fields (see the module docstring).

    Sizes: ``depth`` hidden layers of ``width`` units in both networks unless ``branch`` or
    ``trunk`` give their hidden sizes explicitly; ``basis`` functions per output channel.
    """

    branch: Stack
    trunk: Stack
    bias: jax.Array
    dim: int = eqx.field(static=True)
    sensors: int = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)
    basis: int = eqx.field(static=True)

    def __init__(self, dim: int, in_channels: int, out_channels: int, *, sensors: int, width: int = 128,
                 depth: int = 4, basis: int = 128, branch: tuple | None = None, trunk: tuple | None = None,
                 periodic: bool = True, activation: str = "gelu", key, dtype=jnp.float32):  # fmt: skip
        if dim not in (1, 2):
            raise ProblemError(f"DeepONet: dim must be 1 or 2, got {dim!r}")
        check_sizes(in_channels=in_channels, out_channels=out_channels, sensors=sensors, width=width, depth=depth,
                    basis=basis)  # fmt: skip
        if not periodic and sensors < 2:
            raise ProblemError("DeepONet: a vertex grid needs at least 2 sensors per axis (both ends)")
        branch = tuple(branch) if branch is not None else (width,) * depth
        trunk = tuple(trunk) if trunk is not None else (width,) * depth
        check_sizes(**{f"hidden size {n}": v for n, v in enumerate(branch + trunk)})
        activation_function(activation)
        kb, kt = subkeys(key, 2)
        out = out_channels * basis
        self.branch = Stack(in_channels * sensors**dim, branch, out, activation, False, key=kb, dtype=dtype)
        self.trunk = Stack(2 * dim if periodic else dim, trunk, out, activation, True, key=kt, dtype=dtype)
        self.bias = jnp.zeros(out_channels, dtype)
        self.dim, self.sensors, self.periodic, self.basis = dim, sensors, periodic, basis

    def __call__(self, a: jax.Array) -> jax.Array:
        grid = a.shape[1:]
        if len(grid) != self.dim:
            raise ValueError(f"DeepONet({self.dim}-D) expects one sample (channels, *grid), got shape {a.shape}")
        c_out = self.bias.shape[0]
        b = self.branch(resample(a, self.sensors, self.periodic).reshape(-1)).reshape(c_out, self.basis)
        t = self.trunk(self.trunk_inputs(grid, a.dtype)).reshape(c_out, self.basis, -1)
        u = jnp.einsum("ck,ckn->cn", b, t) + self.bias[:, None]
        return u.reshape(c_out, *grid)

    def trunk_inputs(self, grid: tuple, dtype) -> jax.Array:
        """The trunk's inputs at every point of ``grid``, one column per point (row-major order)."""
        xs = [x.reshape(-1) for x in coordinates(grid, self.periodic, dtype)]
        if self.periodic:
            return jnp.stack([f(2 * jnp.pi * x) for x in xs for f in (jnp.cos, jnp.sin)])
        return jnp.stack([2 * x - 1 for x in xs])
