"""Multigrid neural operator (He, Liu & Xu, "MgNO: efficient parameterization of linear operators via
multigrid", ICLR 2024), in Equinox, with the interface of the other operator models: one sample
``a`` of shape ``(c_in, *grid)`` maps to ``(c_out, *grid)`` on the same grid, for any ``s``.

Each layer is ``u ← σ(W u + b + MG(u))``: ``W`` pointwise, and ``MG`` a linear operator given by
one multigrid V-cycle (MgNet style) that treats ``u`` as the right-hand side ``f`` of a learned
system ``A x = f`` solved from ``x = 0``:

* down, on each level ℓ: smooth ``x_ℓ = S_ℓ f_ℓ``, restrict the residual
  ``f_{ℓ+1} = R_ℓ (f_ℓ - A_ℓ x_ℓ)`` (stride-2 convolution);
* up: add the coarse-grid correction ``x_ℓ ← x_ℓ + P_ℓ x_{ℓ+1}`` (stride-2 transposed convolution).

All operators are 3 (×3) convolutions from ``width`` to ``width`` channels without bias, with
zero padding on a vertex grid and wrap-around padding on a periodic one. Coarse point ``i`` sits on
fine point ``2i``, so an axis of ``s`` points coarsens to ``ceil(s/2)`` and prolongation returns to
``s`` points: odd sizes work as well as even ones. (On a periodic axis of odd length the wrap-around
of the coarse grid is off by one fine spacing; the learned operators absorb it.)

Lifting (with the positional embedding) and projection are those of
:class:`neuralsolve.nn.fno.FNO`.
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from .fno import (Linear, PointwiseMLP, activation_function, check_sizes, embedding_size, positional_channels, subkeys,
                  uniform)  # fmt: skip


def levels_for(s: int, coarsest: int = 4) -> int:
    """The most V-cycle levels for which an axis of ``s`` points still has at least ``coarsest``
    points on the coarsest grid (at least one level)."""
    levels = 1
    while -(-s // 2) >= coarsest:
        s, levels = -(-s // 2), levels + 1
    return levels


class VCycle(eqx.Module):
    """One multigrid V-cycle with learned smoothers S, system operators A, restrictions R and
    prolongations P (see the module docstring).

    All kernels sit in one array ``kernels`` (4·levels - 3, width, width, 3, ...): the smoothers of
    the levels, then A, R and P of every level but the coarsest (which needs no residual). They are
    drawn like Equinox's convolutions, uniform in ±1/√fan-in (by :func:`neuralsolve.nn.fno.uniform`,
    which keeps the compilations few).
    """

    kernels: jax.Array
    levels: int = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)

    def __init__(self, dim: int, width: int, levels: int, periodic: bool, *, key, dtype):
        shape = (4 * levels - 3, width, width) + (3,) * dim
        bound = 1 / math.sqrt(width * 3**dim)
        self.kernels = uniform(key, shape, dtype, -bound, bound)
        self.levels, self.periodic = levels, periodic

    def __call__(self, f: jax.Array) -> jax.Array:
        n = self.levels
        smooth, system = self.kernels[:n], self.kernels[n : 2 * n - 1]
        restrict, prolong = self.kernels[2 * n - 1 : 3 * n - 2], self.kernels[3 * n - 2 :]
        xs = []
        for level in range(n):
            xs.append(_conv(f, smooth[level], self.periodic))
            if level < n - 1:
                f = _conv(f - _conv(xs[-1], system[level], self.periodic), restrict[level], self.periodic, stride=2)
        x = xs.pop()
        for level in reversed(range(n - 1)):
            fine = xs.pop()
            x = fine + _onto_grid(_conv_transpose(x, prolong[level]), fine.shape[1:], self.periodic)
        return x


def _conv(x, kernel, periodic, stride=1):
    """Convolution of ``x`` (channels, *grid) with a 3 (×3) ``kernel`` (out, in, 3, ...), padded by
    one point (wrapping around or with zeros): ``s`` points give ``ceil(s/stride)``.

    Written as one matrix product over the 3^d shifted copies of ``x`` rather than as
    ``lax.conv_general_dilated`` (equal to it to rounding, a test): inside the training loop's
    compiled ``scan`` XLA's CPU convolutions ran 2.4× slower than outside it (a step on 20 Darcy
    samples at s = 61: 5.4 s against 2.0 s), the matrix products as fast (2.2 s)."""
    d = x.ndim - 1
    x = jnp.pad(x, [(0, 0)] + [(1, 1)] * d, mode="wrap" if periodic else "constant")
    out = [-(-(n - 2) // stride) for n in x.shape[1:]]
    shifted = []
    for offsets in itertools.product(range(3), repeat=d):  # the kernel's points, in its own order
        v = x
        for axis, (k, m) in enumerate(zip(offsets, out), start=1):
            v = jax.lax.slice_in_dim(v, k, k + stride * (m - 1) + 1, stride, axis)
        shifted.append(v)
    return jnp.tensordot(kernel.reshape(kernel.shape[0], -1), jnp.stack(shifted, 1).reshape((-1, *out)), 1)


def _conv_transpose(x, kernel):
    """Stride-2 transposed convolution of the coarse ``x`` (n points per axis → 2n + 1): coarse
    point ``i`` feeds output index ``2i + 2 - k`` through kernel point ``k`` (as
    ``lax.conv_general_dilated`` with ``lhs_dilation=2`` and padding 2 would; a test). One matrix
    product, then each kernel point's part spread onto every other output point."""
    d = x.ndim - 1
    out, inp = kernel.shape[:2]
    parts = jnp.tensordot(kernel.reshape(out, inp, -1).transpose(0, 2, 1), x, ((2,), (0,)))  # (out, 3^d, *n)
    zero = jnp.zeros((), x.dtype)
    return sum(jax.lax.pad(parts[:, q], zero, [(0, 0, 0)] + [(2 - k, k, 1) for k in offsets])
               for q, offsets in enumerate(itertools.product(range(3), repeat=d)))


def _onto_grid(y, shape, periodic):
    """Place the output ``y`` of :func:`_conv_transpose` on the fine grid of ``shape``: output
    index ``o`` is fine point ``o-1``. What falls outside the grid is dropped on a vertex grid
    (zero padding's adjoint) and wraps around on a periodic one."""
    for axis, s in enumerate(shape, start=1):
        if not periodic:
            y = jax.lax.slice_in_dim(y, 1, 1 + s, axis=axis)
            continue
        fine = (np.arange(y.shape[axis]) - 1) % s
        moved = jnp.moveaxis(y, axis, -1)
        y = jnp.moveaxis(jnp.zeros(moved.shape[:-1] + (s,), y.dtype).at[..., fine].add(moved), -1, axis)
    return y


class MgNO(eqx.Module):
    """Multigrid neural operator for 1-D or 2-D fields (see the module docstring). ``levels``: the
    V-cycle's grids, the finest included (:func:`levels_for` gives the most for a training size)."""

    lift: Linear
    cycles: list
    linear: list
    project: PointwiseMLP
    dim: int = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(self, dim: int, in_channels: int, out_channels: int, *, width: int = 24, layers: int = 5,
                 levels: int = 4, periodic: bool = True, activation: str = "gelu", projection: int = 128, key,
                 dtype=jnp.float32):  # fmt: skip
        if dim not in (1, 2):
            raise ProblemError(f"MgNO: dim must be 1 or 2, got {dim!r}")
        check_sizes(in_channels=in_channels, out_channels=out_channels, width=width, layers=layers, levels=levels,
                    projection=projection)  # fmt: skip
        activation_function(activation)
        keys = subkeys(key, 2 * layers + 2)
        self.lift = Linear(in_channels + embedding_size(dim, periodic), width, dtype=dtype, key=keys[0])
        self.cycles = [VCycle(dim, width, levels, periodic, key=k, dtype=dtype) for k in keys[1 : layers + 1]]
        self.linear = [Linear(width, width, dtype=dtype, key=k) for k in keys[layers + 1 : 2 * layers + 1]]
        self.project = PointwiseMLP(width, projection, out_channels, activation, key=keys[-1], dtype=dtype)
        self.dim, self.periodic, self.activation = dim, periodic, activation

    def __call__(self, a: jax.Array) -> jax.Array:
        if a.ndim - 1 != self.dim:
            raise ValueError(f"MgNO({self.dim}-D) expects one sample (channels, *grid), got shape {a.shape}")
        v = self.lift(jnp.concatenate([a, positional_channels(a.shape[1:], self.periodic, a.dtype)]))
        sigma = activation_function(self.activation)
        for cycle, w in zip(self.cycles, self.linear):
            v = sigma(w(v) + cycle(v))
        return self.project(v)
