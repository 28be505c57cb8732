"""Neural operators (maps from input fields to output fields on a grid): build one from settings.

The models (:class:`~neuralsolve.nn.fno.FNO`, :class:`~neuralsolve.nn.deeponet.DeepONet`,
:class:`~neuralsolve.nn.mgno.MgNO`) share one interface: an Equinox module whose call maps one
sample ``(c_in, *grid)`` to ``(c_out, *grid)`` on the same uniform grid of the unit interval or
square, for any number of points ``s`` per axis. This module and those it imports load JAX and
Equinox: import it only when a solve starts (``neuralsolve check`` stays fast).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .._errors import ProblemError
from .deeponet import DeepONet
from .fno import FNO
from .mgno import MgNO, levels_for

KINDS = ("fno", "deeponet", "mgno")


def build(kind: str, dim: int, in_channels: int, out_channels: int, *, periodic: bool, sensors: int, key,
          dtype=jnp.float32, **sizes) -> eqx.Module:  # fmt: skip
    """The operator model ``kind`` (one of :data:`KINDS`) for ``dim``-D fields with ``in_channels``
    input and ``out_channels`` output channels. ``sensors`` is the training grid's points per axis:
    DeepONet's branch samples its input there, and MgNO takes as many V-cycle levels as keep the
    coarsest grid at 4 points or more unless ``sizes`` sets ``levels``. ``sizes`` go to the model's
    constructor (``width``, ``modes``, ``layers``, ...)."""
    if kind == "fno":
        return FNO(dim, in_channels, out_channels, periodic=periodic, key=key, dtype=dtype, **sizes)
    if kind == "deeponet":
        return DeepONet(dim, in_channels, out_channels, sensors=sensors, periodic=periodic, key=key, dtype=dtype,
                        **sizes)  # fmt: skip
    if kind == "mgno":
        sizes = {"levels": levels_for(sensors), **sizes}
        return MgNO(dim, in_channels, out_channels, periodic=periodic, key=key, dtype=dtype, **sizes)
    raise ProblemError(f"unknown operator model {kind!r}; expected one of {', '.join(KINDS)}")


def count_parameters(model) -> int:
    """The number of real trainable parameters of ``model`` (a complex entry counts as two). Works
    on an abstract model too (``eqx.filter_eval_shape(FNO, ...)``): sizes without initialising."""
    leaves = [x for x in jax.tree_util.tree_leaves(model) if hasattr(x, "shape") and hasattr(x, "dtype")]
    inexact = [x for x in leaves if jnp.issubdtype(x.dtype, jnp.inexact)]
    return sum(math.prod(x.shape) * (2 if jnp.issubdtype(x.dtype, jnp.complexfloating) else 1) for x in inexact)
