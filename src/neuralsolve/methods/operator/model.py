"""A neural operator as the training layer sees it: parameters, a loss on mini-batches, and
predictions on any grid in physical units.

Inputs and outputs are normalised by one mean and one standard deviation each, taken over every
value of the training set: unlike a per-point normaliser, this means the same at every resolution,
so a model trained at one grid is applied at another unchanged. Complex weights (an FNO's spectral
weights) are held as real and imaginary parts, so that optimisers and the fit loop's finiteness
checks see real arrays only.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

PROGRESS_SAMPLES = 200  # the progress records' loss is on this many training samples (a fixed subset)
EVAL_BATCH = 50  # samples per compiled evaluation batch (bounds memory at high resolution)


@dataclass(frozen=True)
class Scales:
    """The normalisation: ``(value - mean) / std`` of inputs (``a``) and outputs (``u``)."""

    a_mean: float
    a_std: float
    u_mean: float
    u_std: float

    @classmethod
    def of(cls, inputs: np.ndarray, outputs: np.ndarray) -> Scales:
        # a constant input (a source that never varies) would give std 0: its scale is then 1
        def std(v):
            s = float(np.std(v))
            return s if s > 1e-12 * max(1.0, float(np.max(np.abs(v)))) else 1.0

        return cls(float(np.mean(inputs)), std(inputs), float(np.mean(outputs)), std(outputs))

    def as_array(self) -> np.ndarray:
        return np.array([self.a_mean, self.a_std, self.u_mean, self.u_std])


def split_complex(tree):
    """Complex leaves as ``(real, imag)`` pairs."""
    return jax.tree_util.tree_map(lambda x: (jnp.real(x), jnp.imag(x)) if jnp.iscomplexobj(x) else x, tree)


def join_complex(tree, like):
    """The inverse of :func:`split_complex`, shaped as ``like``."""
    flat, treedef = jax.tree_util.tree_flatten(like)
    parts = treedef.flatten_up_to(tree)
    return treedef.unflatten([jax.lax.complex(*p) if jnp.iscomplexobj(x) else p for p, x in zip(parts, flat)])


class OperatorModel:
    """The network, its normalisation and its loss.

    Args:
        network: the Equinox operator (``(1, *grid) -> (1, *grid)`` per sample).
        scales: the normalisation of inputs and outputs.
        loss: ``"relative-l2"`` (per-sample relative L2 error of the outputs, averaged) or ``"mse"``.
        batch, per_epoch: mini-batch size and mini-batches per epoch.
        seed: seeds the shuffles (and the augmentation's draws).
        augment: transforms each mini-batch by the equation's symmetries
            (:class:`~neuralsolve.methods.operator.augment.Augmentation`), or None.
        spacing, periodic: the training grid's step per axis and whether it wraps around (what
            the ``"relative-h1"`` loss differentiates with).
    """

    def __init__(self, network, scales: Scales, loss: str, batch: int, per_epoch: int, seed: int, augment=None,
                 spacing: tuple[float, ...] = (), periodic: bool = True):  # fmt: skip
        arrays, self.static = eqx.partition(network, eqx.is_inexact_array)
        self.like = arrays
        self.params = split_complex(arrays)
        self.scales, self.loss, self.batch, self.per_epoch, self.seed = scales, loss, batch, per_epoch, seed
        self.augment, self.spacing, self.periodic = augment, spacing, periodic
        self.symmetrise = None  # an Augmentation whose views predictions are averaged over, or None

    def network(self, params):
        """The Equinox operator with ``params``."""
        return eqx.combine(join_complex(params, self.like), self.static)

    def apply(self, params, a: jax.Array) -> jax.Array:
        """Outputs ``(n, *grid)`` in physical units for inputs ``(n, *grid)`` in physical units."""
        s = self.scales
        net = self.network(params)
        x = ((a - s.a_mean) / s.a_std)[:, None]
        return jax.vmap(net)(x)[:, 0] * s.u_std + s.u_mean

    def misfit(self, params, a: jax.Array, u: jax.Array) -> jax.Array:
        """The loss of a batch."""
        pred = self.apply(params, a)
        if self.loss == "mse":
            return jnp.mean(((pred - u) / self.scales.u_std) ** 2)
        if self.loss == "relative-h1":
            return jnp.mean(relative_h1(pred, u, self.spacing, self.periodic))
        return jnp.mean(relative_l2(pred, u))

    def terms(self, params, data, step=None):
        """``[loss]`` on the mini-batch of ``step`` (an epoch's shuffle, then consecutive batches),
        or on the fixed progress subset (``step=None``)."""
        a, u = data["a"], data["u"]
        if step is None:
            return jnp.stack([self.misfit(params, data["a_progress"], data["u_progress"])])
        n = a.shape[0]
        epoch, within = step // self.per_epoch, step % self.per_epoch
        order = jax.random.permutation(jax.random.fold_in(jax.random.PRNGKey(self.seed), epoch), n)
        start = jnp.minimum(within * self.batch, n - self.batch)
        pick = jax.lax.dynamic_slice_in_dim(order, start, self.batch)
        a, u = a[pick], u[pick]
        if self.augment is not None:  # it returns the batch on the training grid
            a, u = self.augment.apply(jax.random.fold_in(jax.random.PRNGKey(self.seed + 1), step), a, u)
        return jnp.stack([self.misfit(params, a, u)])

    def data(self, inputs: np.ndarray, outputs: np.ndarray, dtype, held=None) -> dict:
        """The training arrays on the device, with the progress subset; ``held``: the same pairs
        on the finer grid the augmentation draws its batches from (default: these)."""
        k = min(PROGRESS_SAMPLES, len(inputs))
        a, u = (jnp.asarray(v, dtype) for v in held or (inputs, outputs))
        return {"a": a, "u": u, "a_progress": jnp.asarray(inputs[:k], dtype),
                "u_progress": jnp.asarray(outputs[:k], dtype)}  # fmt: skip


def relative_l2(pred: jax.Array, truth: jax.Array) -> jax.Array:
    """Per-sample relative L2 errors ``||pred - truth|| / ||truth||`` (over the grid)."""
    axes = tuple(range(1, truth.ndim))
    return jnp.sqrt(jnp.sum((pred - truth) ** 2, axis=axes) / jnp.maximum(jnp.sum(truth**2, axis=axes), 1e-30))


def relative_h1(pred: jax.Array, truth: jax.Array, spacing: tuple[float, ...], periodic: bool) -> jax.Array:
    """Per-sample relative H1 errors: ``||e||² + Σ ||Δ_i e / h_i||²`` over the same for the truth,
    square-rooted, ``e = pred − truth``, ``Δ_i`` the forward difference along axis ``i`` (around the
    wrap when ``periodic``); each sum a mean over its points."""

    def square(v):
        total = jnp.mean(v**2, axis=tuple(range(1, v.ndim)))
        for axis, h in enumerate(spacing, start=1):
            step = jnp.roll(v, -1, axis) - v if periodic else jnp.diff(v, axis=axis)
            total = total + jnp.mean((step / h) ** 2, axis=tuple(range(1, v.ndim)))
        return total

    return jnp.sqrt(square(pred - truth) / jnp.maximum(square(truth), 1e-30))


def predict(model: OperatorModel, params, inputs: np.ndarray, dtype, batch: int = EVAL_BATCH,
            plain: bool = False) -> np.ndarray:  # fmt: skip
    """Outputs for many inputs, in compiled batches of ``batch`` (the last one padded); averaged
    over the model's symmetries when it has them (``model.symmetrise``), unless ``plain``."""
    fn = _compiled(model, plain or model.symmetrise is None)
    out = []
    for i in range(0, len(inputs), batch):
        chunk = np.asarray(inputs[i: i + batch])
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], batch - len(chunk), 0)]) if len(chunk) < batch else chunk
        out.append(np.asarray(fn(params, jnp.asarray(padded, dtype)))[: len(chunk)])
    return np.concatenate(out)


def _compiled(model: OperatorModel, plain: bool):
    cache = model.__dict__.setdefault("_predict", {})
    if plain not in cache:
        views = model.symmetrise
        apply = model.apply if plain else lambda params, a: views.average(lambda v: model.apply(params, v), a)
        cache[plain] = jax.jit(apply)
    return cache[plain]
