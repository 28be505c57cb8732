"""Training the direction network on a family of systems, and saving and loading it.

The loss is the one the solver feels. For a right-hand side ``b = A x`` the line search along the
network's direction ``f`` leaves the error ``min_a ||x - a f||_A^2 = ||x||_A^2 (1 - cos_A^2(f, x))``,
so each sample's loss is ``1 - (f.b)^2 / ((f.Af)(x.b))``: scale-free, as DCDM's, but measured in the
energy norm that conjugate-direction methods minimise rather than in the residual norm (which
weights the high frequencies a network handles easily). No solve is needed: ``x`` is drawn first
(Gaussian random fields from rough to smooth, on systems drawn from the family) and ``b = A x``.
"""

from __future__ import annotations

import json
import pathlib
import time
from dataclasses import asdict, dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..reference.stencil import Stencil
from ..train.checkpoint import Checkpoint
from ..train.fit import Schedule, fit
from ..train.phases import Adam
from . import systems
from .dcdm import apply, direction
from .network import Cycle, context

PROGRESS_SAMPLES = 64
SMOOTHNESS = (1.05, 3.0)  # the GRF exponents of the training errors x (alpha > 1 in 2-D)


@dataclass(frozen=True)
class Recipe:
    """How a direction network is trained: the family, its grids, the data and the optimiser.

    The network sees ``sizes`` grids, ``cells``, ``2 cells``, ...: half the systems and samples on
    the first, half of what is left on the next, and so on (each mini-batch likewise, the batch
    halving per grid: a finer grid holds four times the unknowns). Training on two grids teaches
    the shared weights one level more than a single grid would, the step from which the network
    extrapolates to finer grids.
    """

    kind: str = "diffusion"
    cells: int = 64
    systems: int = 64
    samples: int = 2048
    steps: int = 2000
    batch: int = 16
    learning_rate: float = 2e-3
    width: int = 12
    smoothing: int = 2
    sizes: int = 2
    seed: int = 0

    def __post_init__(self):
        systems.check_kind(self.kind)
        if self.cells < 8 or self.cells & (self.cells - 1):
            raise ValueError(f"cells must be a power of two >= 8 (so every level halves exactly), got {self.cells}")


def shares(total: int, sizes: int) -> list[int]:
    """``total`` split over ``sizes`` grids, halving from one to the next (at least 1 each)."""
    out = [max(1, total >> (k + 1)) for k in range(sizes)]
    out[0] += max(0, total - sum(out))
    return out


def training_data(recipe: Recipe, rng: np.random.Generator) -> list[dict]:
    """One group of arrays per training grid (see :class:`Recipe`)."""
    counts = zip(shares(recipe.systems, recipe.sizes), shares(recipe.samples, recipe.sizes))
    return [grid_data(recipe.kind, recipe.cells << k, n, m, rng) for k, (n, m) in enumerate(counts)]


def grid_data(kind: str, cells: int, n_systems: int, samples: int, rng: np.random.Generator) -> dict:
    """Systems of the family and (x, b = A x) samples on them, as float32 arrays."""
    family = [systems.draw(kind, cells, rng) for _ in range(n_systems)]
    which = rng.integers(0, n_systems, samples)
    x = np.stack([_error(family[k], rng) for k in which])
    b = np.stack([family[k].apply(v) for k, v in zip(which, x)])
    stack = {name: np.stack([getattr(s, name) for s in family]) for name in ("diag", "cx", "cy", "mask")}
    f32 = {name: v.astype(np.float32) for name, v in stack.items() if name != "mask"}
    return {**f32, "mask": stack["mask"], "which": which.astype(np.int32), "x": x.astype(np.float32),
            "b": b.astype(np.float32)}  # fmt: skip


def _error(system: Stencil, rng: np.random.Generator) -> np.ndarray:
    n = system.shape[0]
    field = systems.smooth_field(n + 2, rng, alpha=rng.uniform(*SMOOTHNESS))[1:-1, 1:-1]
    return np.where(system.mask, field, 0.0)


def sample_loss(network, diag, cx, cy, mask, x, b):
    """``1 - cos_A^2(f, x)`` for the network's direction ``f`` on ``b = A x`` (module docstring)."""
    ctx = context(diag, cx, cy, mask)
    f = direction(network, b, ctx, diag, mask)
    fb, faf, xb = jnp.vdot(f, b), jnp.vdot(f, apply(diag, cx, cy, f)), jnp.vdot(x, b)
    return 1.0 - fb**2 / (jnp.maximum(faf, 1e-30) * xb)


class Trainer:
    """The network and its loss in the form the shared fit loop takes."""

    def __init__(self, recipe: Recipe, network: Cycle | None = None):
        self.recipe = recipe
        net = network if network is not None else Cycle(recipe.width, recipe.smoothing, key=jax.random.PRNGKey(recipe.seed))
        self.params, self.static = eqx.partition(net, eqx.is_inexact_array)

    def network(self, params):
        return eqx.combine(params, self.static)

    def batch_loss(self, params, data, pick):
        net = self.network(params)
        k = data["which"][pick]
        losses = jax.vmap(lambda k, x, b: sample_loss(net, data["diag"][k], data["cx"][k], data["cy"][k],
                                                      data["mask"][k], x, b))(k, data["x"][pick], data["b"][pick])  # fmt: skip
        return jnp.mean(losses)

    def terms(self, params, groups, step=None):
        """``[loss]``: the mean over the grids of each grid's mean loss on its mini-batch of ``step``
        (drawn with replacement), or on its first samples (``step=None``, the progress records)."""
        losses = []
        for k, (data, batch) in enumerate(zip(groups, shares(self.recipe.batch, len(groups)))):
            if step is None:
                pick = jnp.arange(min(PROGRESS_SAMPLES, len(data["x"])))
            else:
                key = jax.random.fold_in(jax.random.PRNGKey(self.recipe.seed + 1 + k), step)
                pick = jax.random.randint(key, (batch,), 0, data["x"].shape[0])
            losses.append(self.batch_loss(params, data, pick))
        return jnp.stack([jnp.mean(jnp.stack(losses))])


def train(recipe: Recipe, *, callback=None, checkpoint: pathlib.Path | None = None, resume: bool = False,
          log_every: int | None = None, start: tuple | None = None):  # fmt: skip
    """Train a direction network for ``recipe``: ``(network, info)`` with the loss history (a record
    every ``log_every`` steps, by default every twentieth of the steps) and seconds.

    ``start``: ``(network, info)`` of a trained model (:func:`load`) to go on from, e.g. on one more,
    finer grid (its width and smoothing must be the recipe's). ``info["training_seconds"]`` then
    counts both trainings (what a break-even count must repay); ``info["started_from"]`` keeps the
    first one's recipe and seconds."""
    if start is not None:
        check_start(recipe, start[1])
    log_every = log_every or max(1, recipe.steps // 20)
    began = time.perf_counter()
    data = training_data(recipe, np.random.default_rng(recipe.seed))
    prepared = time.perf_counter()
    trainer = Trainer(recipe, start[0] if start is not None else None)
    device = [{k: jnp.asarray(v) for k, v in group.items()} for group in data]
    phase = Adam(steps=recipe.steps, learning_rate=recipe.learning_rate, schedule="cosine")
    result = fit(trainer.terms, trainer.params, lambda draw: device, [phase], weights=[1.0],
                 schedule=Schedule(log_every), callback=callback, resume=resume, stochastic=True,
                 checkpoint=Checkpoint(checkpoint) if checkpoint is not None else None)  # fmt: skip
    done = time.perf_counter()
    info = {"recipe": asdict(recipe), "data_seconds": prepared - began, "training_seconds": done - prepared,
            "final_loss": result.history[-1]["loss"] if result.history else None, "status": result.status,
            "history": [{"step": h["step"], "loss": h["loss"]} for h in result.history]}  # fmt: skip
    if start is not None:
        first = start[1]
        info["started_from"] = {"recipe": first["recipe"], "training_seconds": first["training_seconds"]}
        info["training_seconds"] += first["training_seconds"]
    return trainer.network(result.params), info


def check_start(recipe: Recipe, info: dict) -> None:
    """Raise a ValueError unless the saved model of ``info`` can go on training under ``recipe``."""
    first = info["recipe"]
    for name in ("kind", "width", "smoothing"):
        if first[name] != getattr(recipe, name):
            raise ValueError(f"the model to start from has {name} = {first[name]!r}, the recipe {getattr(recipe, name)!r}")


def save(network, info: dict, path: pathlib.Path) -> None:
    """The weights (``.eqx``) and what made them (``.json``) side by side."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    eqx.tree_serialise_leaves(path.with_suffix(".eqx"), network)
    path.with_suffix(".json").write_text(json.dumps(info, indent=1))


def load(path: pathlib.Path):
    """``(network, info)`` saved by :func:`save`."""
    path = pathlib.Path(path)
    info = json.loads(path.with_suffix(".json").read_text())
    recipe = Recipe(**info["recipe"])
    skeleton = Cycle(recipe.width, recipe.smoothing, key=jax.random.PRNGKey(0))
    return eqx.tree_deserialise_leaves(path.with_suffix(".eqx"), skeleton), info
