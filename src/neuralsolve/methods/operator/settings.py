"""The settings of a neural-operator solve: the model (``[solver.model]``: :class:`FNO`,
:class:`DeepONet`, :class:`MgNO`), its training (``[solver.training]``: :class:`Training`) and the
rest of ``[solver]`` that applies (precision, seed, time limit)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..._errors import ProblemError
from ...nn.grid import carried_modes  # plain Python: checking a file builds no network
from ...train.fit import check_time_limit
from ...train.phases import Adam

LOSSES = ("relative-l2", "relative-h1", "mse")
# what [solver.training] augment may name (.augment says which problems take which)
SYMMETRIES = ("translation", "galilean", "reflection", "odd-reflection", "rotation")
# the keys of metrics.json an operator solve fills (docs/neural-operators.md)
METRIC_KEYS = ("test_relative_l2", "test_relative_l2_std", "test_relative_l2_unsymmetrised", "zero_shot", "parameters",
               "epoch_seconds", "inference_seconds", "samples", "grid", "data", "model", "reference_error_estimate",
               "sampling_floor")  # fmt: skip
# what an operator solve reads from [solver]
SOLVER_KEYS = {"method", "model", "training", "precision", "seed", "time_limit"}


def _whole(what: str, name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ProblemError(f"{what}: {name} must be a whole number >= {low}, got {value!r}")


@dataclass(frozen=True)
class FNO:
    """A Fourier neural operator (Li et al. 2021): ``layers`` Fourier layers of ``width``
    channels keeping ``modes`` Fourier modes per axis, GELU. Defaults: the paper's 1-D sizes;
    2-D problems use ``width = 32, modes = 12`` unless given (:func:`sized`). ``channel_mlp``
    adds neuraloperator's pointwise MLP with a gated skip after each Fourier layer and lifts
    through an MLP (:class:`neuralsolve.nn.fno.FNO`)."""

    width: int | None = None
    modes: int | None = None
    layers: int = 4
    channel_mlp: bool = False

    kind = "fno"

    def __post_init__(self):
        for name in ("width", "modes"):
            if getattr(self, name) is not None:
                _whole("model", name, getattr(self, name), 1)
        _whole("model", "layers", self.layers, 1)
        if not isinstance(self.channel_mlp, bool):
            raise ProblemError(f"model: channel_mlp must be true or false, got {self.channel_mlp!r}")

    def sizes(self, dim: int) -> dict:
        """The network sizes in ``dim`` dimensions (the paper's where not given)."""
        return {"width": self.width or (64 if dim == 1 else 32), "modes": self.modes or (16 if dim == 1 else 12),
                "layers": self.layers, "channel_mlp": self.channel_mlp}  # fmt: skip


@dataclass(frozen=True)
class DeepONet:
    """A DeepONet (Lu et al. 2021): a branch network on the input sampled at the training grid's
    points and a trunk network on the coordinates, ``basis`` functions combined per output."""

    width: int = 128
    depth: int = 4
    basis: int = 128

    kind = "deeponet"

    def __post_init__(self):
        for name in ("width", "depth", "basis"):
            _whole("model", name, getattr(self, name), 1)

    def sizes(self, dim: int) -> dict:
        return {"width": self.width, "depth": self.depth, "basis": self.basis}


@dataclass(frozen=True)
class MgNO:
    """A multigrid neural operator (He, Liu & Xu 2024): ``layers`` layers whose linear part is a
    learned multigrid V-cycle over ``levels`` grids (default: down to about 4 points), ``width``
    channels."""

    width: int = 24
    layers: int = 5
    levels: int | None = None

    kind = "mgno"

    def __post_init__(self):
        _whole("model", "width", self.width, 1)
        _whole("model", "layers", self.layers, 1)
        if self.levels is not None:
            _whole("model", "levels", self.levels, 1)

    def sizes(self, dim: int) -> dict:
        return {"width": self.width, "layers": self.layers, **({"levels": self.levels} if self.levels else {})}


MODELS = {m.kind: m for m in (FNO, DeepONet, MgNO)}


def check_modes(model, dim: int, resolution: int, periodic: bool) -> None:
    """ProblemError when an FNO keeps more Fourier modes per axis than its training grid carries
    (:func:`neuralsolve.nn.grid.carried_modes`): the weights of the modes beyond would never be
    trained, yet a finer zero-shot grid has those modes and would be multiplied by them."""
    if not isinstance(model, FNO):
        return
    modes, most = model.sizes(dim)["modes"], carried_modes(resolution, periodic)
    if modes > most:
        grid = f"{resolution}-point training grid" + ("" if periodic else " (padded)")
        raise ProblemError(f"model.modes: {modes} Fourier modes per axis, but the {grid} carries {most}: the "
                           f"weights of the others would never be trained (set modes <= {most})")  # fmt: skip


@dataclass(frozen=True)
class Training:
    """How an operator is trained (``[solver.training]``): ``epochs`` passes over the training
    set in shuffled mini-batches of ``batch`` samples, Adam(W) at ``learning_rate`` with
    ``weight_decay``, the rate multiplied by ``decay_factor`` every ``decay_every`` epochs
    (``schedule = "step"``, the FNO paper's) or following half a cosine (``"cosine"``), on the
    per-sample relative L2 error (``loss = "relative-l2"``, the paper's), the relative H1 error
    (``"relative-h1"``: values and grid differences, MgNO's default) or the mean squared error of
    the normalised outputs (``"mse"``). ``augment`` names symmetries of the equation
    (``"translation"``, ``"galilean"``, ``"reflection"``, ``"odd-reflection"``, ``"rotation"``)
    whose transformed copies of the training pairs each mini-batch draws; each is verified on the
    equation (:mod:`.augment`). ``symmetrise = true`` also averages every prediction over those
    symmetries (translations excepted), each input transformed and the output transformed back:
    a few times the inference cost for a lower error (docs/neural-operators.md)."""

    epochs: int = 500
    batch: int = 20
    learning_rate: float = 1e-3
    schedule: str = "step"
    decay_every: int = 100
    decay_factor: float = 0.5
    weight_decay: float = 1e-4
    loss: str = "relative-l2"
    augment: tuple[str, ...] = ()
    symmetrise: bool = False

    def __post_init__(self):
        _whole("training", "epochs", self.epochs, 1)
        augment = (self.augment,) if isinstance(self.augment, str) else self.augment
        if not isinstance(augment, (tuple, list)) or any(a not in SYMMETRIES for a in augment):
            raise ProblemError(f"training: augment must be a list of {', '.join(SYMMETRIES)}, got {self.augment!r}")
        object.__setattr__(self, "augment", tuple(dict.fromkeys(augment)))
        if not isinstance(self.symmetrise, bool):
            raise ProblemError(f"training: symmetrise must be true or false, got {self.symmetrise!r}")
        if self.symmetrise and not set(self.augment) - {"translation"}:
            raise ProblemError("training: symmetrise averages predictions over the symmetries in augment, and "
                               f"augment names none besides translation; name one of {', '.join(SYMMETRIES[1:])}")  # fmt: skip
        _whole("training", "batch", self.batch, 1)
        _whole("training", "decay_every", self.decay_every, 1)
        if self.schedule not in ("step", "cosine", "constant"):
            raise ProblemError(f"training: schedule must be one of step, cosine, constant, got {self.schedule!r}")
        if self.loss not in LOSSES:
            raise ProblemError(f"training: loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        for name, value in (("learning_rate", self.learning_rate), ("decay_factor", self.decay_factor)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ProblemError(f"training: {name} must be a positive number, got {value!r}")

    def steps_per_epoch(self, samples: int) -> int:
        """Mini-batches per epoch (the last one short when ``batch`` does not divide ``samples``:
        drawn full from the next shuffle, so every step has the same shape)."""
        return max(1, math.ceil(samples / self.batch))

    def phase(self, samples: int) -> Adam:
        """The one Adam phase these settings make, in optimiser steps."""
        per = self.steps_per_epoch(samples)
        schedule = {"step": {"schedule": "step", "decay_every": self.decay_every * per, "decay_factor": self.decay_factor},
                    "cosine": {"schedule": "cosine"}, "constant": {}}[self.schedule]  # fmt: skip
        return Adam(steps=self.epochs * per, learning_rate=float(self.learning_rate),
                    weight_decay=float(self.weight_decay), **schedule)  # fmt: skip


def resolve(problem, given: dict) -> dict:
    """The resolved settings: ``given``, else the problem's ``[solver]`` table, else defaults
    (an FNO, :class:`Training` defaults, float32: operators are trained to errors of 1e-3, far
    above float32's rounding, and the paper's data are float32)."""
    table = {**problem.solver, **given}
    other = sorted(k for k, v in table.items() if k not in SOLVER_KEYS and v is not None)
    if other:
        raise ProblemError(f"solver: {', '.join(other)} do(es) not apply to a neural operator (it reads "
                           f"{', '.join(sorted(SOLVER_KEYS))})")  # fmt: skip
    if table.get("method", "operator") != "operator":
        raise ProblemError(f"method: a problem with an [operator] section is solved by method 'operator', got "
                           f"{table['method']!r}")  # fmt: skip
    model = table.get("model") or FNO()
    if not isinstance(model, tuple(MODELS.values())):
        raise ProblemError(f"model must be FNO(...), DeepONet(...) or MgNO(...), got {type(model).__name__}")
    training = table.get("training") or Training()
    if not isinstance(training, Training):
        raise ProblemError(f"training must be a Training(...), got {type(training).__name__}")
    precision = table.get("precision", "float32")
    if precision not in ("float32", "float64"):
        raise ProblemError(f"precision must be 'float32' or 'float64', got {precision!r}")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ProblemError(f"seed must be a whole number in [0, 2^32), got {seed!r}")
    time_limit = check_time_limit(table.get("time_limit"))
    return {"method": "operator", "model": model, "training": training, "precision": precision, "seed": seed,
            "time_limit": time_limit}  # fmt: skip
