"""The direction network: a learned multigrid cycle that maps a residual to a search direction.

A U-Net shaped like a V-cycle (as the Deep Conjugate Direction Method's network is a two-level
multigrid cycle), with one difference that lets a model trained at one grid size serve others: the
levels share their weights, and the cycle coarsens until the grid is 7 or fewer unknowns a side.
A grid of ``2^k - 1`` unknowns a side (``2^k`` cells) halves exactly (a 3x3 convolution of stride 2
maps ``2m + 1`` nodes to ``m``, and its transpose maps them back), so 64² and 512² cells both end on
the same 7² coarsest grid, 3 and 6 levels below.

Besides the residual the network reads the system, scale-free: each unknown's four couplings
divided by its diagonal, and the mask; they gate the features (see :class:`Cycle`). The output is divided by the diagonal (a Jacobi scaling), so
coefficients that vary by a factor of 100 need not be learned as magnitudes.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

CONTEXT = 5  # channels read from the system: four coupling ratios and the mask
COARSEST = 7  # coarsen while the grid is larger than this and odd


class Cycle(eqx.Module):
    """``Cycle(residual (n1, n2), context (CONTEXT, n1, n2)) -> direction (n1, n2)``.

    Positively homogeneous in the residual (``f(c r) = c f(r)`` for ``c > 0``): no biases act on
    it, and the system enters only as gates, functions of the context multiplying the features. A
    level then cannot tell from the size of its input how deep it sits, which is what lets one set
    of shared weights act at every level of any grid.
    """

    lift: eqx.nn.Conv2d
    pre: list
    post: list
    coarse: list
    gates: list
    down: eqx.nn.Conv2d
    up: eqx.nn.ConvTranspose2d
    out: eqx.nn.Conv2d

    def __init__(self, width: int = 12, smoothing: int = 2, *, key: jax.Array):
        keys = iter(jax.random.split(key, 5 + 9 * smoothing))

        def conv(cin, cout, **kw):
            return eqx.nn.Conv2d(cin, cout, 3, padding=kw.pop("padding", 1), use_bias=False, key=next(keys), **kw)

        def block():
            return [(conv(width, width), conv(width, width)) for _ in range(smoothing)]

        self.lift = conv(1, width)
        self.pre, self.post, self.coarse = block(), block(), block()
        self.gates = [eqx.nn.Conv2d(CONTEXT, width, 1, key=next(keys)) for _ in range(3 * smoothing)]
        self.down = conv(width, width, stride=2, padding=0)
        self.up = eqx.nn.ConvTranspose2d(width, width, 3, stride=2, padding=0, use_bias=False, key=next(keys))
        self.out = conv(width, 1)

    def __call__(self, residual: jax.Array, context: jax.Array) -> jax.Array:
        return self.out(self._level(self.lift(residual[None]), context))[0]

    def _level(self, h: jax.Array, context: jax.Array) -> jax.Array:
        k = len(self.pre)
        h = self._smooth(self.pre, self.gates[:k], h, context)
        n1, n2 = h.shape[1:]
        if min(n1, n2) > COARSEST and n1 % 2 == 1 and n2 % 2 == 1:
            h = h + self.up(self._level(self.down(h), restrict(context)))
        else:  # the coarsest grid: more smoothing, which reaches across all of it
            h = self._smooth(self.coarse, self.gates[2 * k:], h, context)
        return self._smooth(self.post, self.gates[k: 2 * k], h, context)

    @staticmethod
    def _smooth(blocks: list, gates: list, h: jax.Array, context: jax.Array) -> jax.Array:
        for (first, second), gate in zip(blocks, gates):
            h = h + second(jax.nn.leaky_relu(first(h) * jax.nn.softplus(gate(context))))
        return h


def restrict(v: jax.Array) -> jax.Array:
    """Full weighting, channel by channel: ``(c, 2m+1, 2m+1) -> (c, m, m)``."""
    w = jnp.outer(jnp.array([1.0, 2.0, 1.0]), jnp.array([1.0, 2.0, 1.0])).astype(v.dtype) / 16
    out = jax.lax.conv_general_dilated(v[:, None], w[None, None], (2, 2), "VALID")
    return out[:, 0]


def context(diag: jax.Array, cx: jax.Array, cy: jax.Array, mask: jax.Array) -> jax.Array:
    """The network's view of a system: couplings to the four neighbours over the diagonal, and the mask."""
    zx, zy = jnp.zeros((1, diag.shape[1]), diag.dtype), jnp.zeros((diag.shape[0], 1), diag.dtype)
    west, east = jnp.concatenate([zx, cx]), jnp.concatenate([cx, zx])
    south, north = jnp.concatenate([zy, cy], axis=1), jnp.concatenate([cy, zy], axis=1)
    return jnp.concatenate([jnp.stack([west, east, south, north]) / diag, mask.astype(diag.dtype)[None]])
