"""Residual-based adaptive sampling (Wu, Zhu, Tan, Kartha & Lu 2023): collocation points that go
where the equation residual is large.

- :class:`RAR` (residual-based adaptive refinement, greedy): every ``every`` Adam steps the
  residual is evaluated on a pool of ``pool`` fresh candidate points and the ``add`` points with
  the largest residual join the interior points, for good.
- :class:`RAD` (residual-based adaptive distribution): every ``every`` Adam steps all interior
  points are redrawn from a fresh pool with density p(x) ∝ |r(x)|^k / mean|r|^k + c: ``k``
  sharpens the focus on large residuals, ``c`` keeps a share of points everywhere.

Compiled training steps are specialised to the shapes of their data, so the point set keeps one
shape: RAR preallocates room for every point it may add (copies of existing points, masked out
of the loss until they are replaced) and RAD draws as many points as it replaces. Only interior
(equation) points adapt; condition points stay as drawn. |r| is the Euclidean norm of the
equations' residuals at a point; a point where it is not finite counts as |r| = 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError


def _whole(name: str, key: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ProblemError(f"{name} sampling {key!r} must be a whole number >= {minimum}, got {value!r}")


def _number(name: str, key: str, value, positive: bool) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and (value > 0 if positive else value >= 0)
    if not ok:
        raise ProblemError(f"{name} sampling {key!r} must be a {'positive' if positive else 'non-negative'} number, got {value!r}")


@dataclass(frozen=True)
class RAR:
    """Every ``every`` Adam steps, add the ``add`` points of a ``pool`` of candidates with the
    largest residuals to the interior points (they stay there)."""

    every: int = 500
    add: int = 10
    pool: int = 10000

    name = "rar"

    def __post_init__(self):
        _whole("rar", "every", self.every)
        _whole("rar", "add", self.add)
        _whole("rar", "pool", self.pool)

    def prepare(self, data: dict, events: int) -> dict:
        """Room for the points of ``events`` refinements: the interior points followed by copies
        of them (valid points, so their residuals stay finite), with ``mask`` 0 until replaced."""
        points = np.asarray(data["interior"])
        room = self.add * events
        padding = points[np.arange(room) % len(points)]
        mask = np.concatenate([np.ones(len(points)), np.zeros(room)])
        return {**data, "interior": np.concatenate([points, padding]), "mask": mask}

    def resample(self, data: dict, candidates: np.ndarray, magnitude: np.ndarray, rng) -> dict:
        """The points with the ``add`` largest residuals fill the first free slots (no more once
        the room is full)."""
        points, mask = np.array(data["interior"]), np.array(data["mask"])
        free = np.flatnonzero(mask == 0)
        count = min(self.add, len(free), len(candidates))
        worst = np.argsort(-magnitude, kind="stable")[:count]
        points[free[:count]] = candidates[worst]
        mask[free[:count]] = 1
        return {**data, "interior": points, "mask": mask}


@dataclass(frozen=True)
class RAD:
    """Every ``every`` Adam steps, redraw all interior points from a ``pool`` of candidates with
    probability p ∝ |r|^k / mean|r|^k + c (without replacement)."""

    every: int = 500
    k: float = 1.0
    c: float = 1.0
    pool: int = 10000

    name = "rad"

    def __post_init__(self):
        _whole("rad", "every", self.every)
        _number("rad", "k", self.k, positive=False)
        _number("rad", "c", self.c, positive=False)
        _whole("rad", "pool", self.pool)

    def prepare(self, data: dict, events: int) -> dict:
        """RAD keeps the number of points: nothing to prepare."""
        return data

    def density(self, magnitude: np.ndarray) -> np.ndarray:
        """Sampling probabilities of the candidates, p ∝ |r|^k / mean|r|^k + c (summing to 1);
        uniform when the residual vanishes everywhere."""
        e = np.asarray(magnitude, float) ** self.k
        scale = np.mean(e)
        if not (np.isfinite(scale) and scale > 0):
            return np.full(len(e), 1.0 / len(e))
        p = e / scale + self.c
        return p / p.sum()

    def resample(self, data: dict, candidates: np.ndarray, magnitude: np.ndarray, rng) -> dict:
        """As many fresh interior points as there were, drawn by :meth:`density`."""
        n = len(data["interior"])
        chosen = rng.choice(len(candidates), size=n, replace=False, p=self.density(magnitude))
        return {**data, "interior": candidates[np.sort(chosen)]}


SAMPLINGS = {"rar": RAR, "rad": RAD}  # names in problem files


def sampling_method(value):
    """A method from ``None``, a name in :data:`SAMPLINGS` or an instance of one of them."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in SAMPLINGS:
            raise ProblemError(f"sampling must be one of {', '.join(SAMPLINGS)} or None, got {value!r}")
        return SAMPLINGS[value]()
    if not isinstance(value, (RAR, RAD)):
        raise ProblemError(f"sampling must be RAR(...), RAD(...), a name or None, got {type(value).__name__}")
    return value


def adam_events(phases, every: int) -> int:
    """How many adaptive-sampling events ``phases`` hold: the fit loop's events fall on global
    steps that are multiples of ``every`` strictly inside an Adam phase."""
    count, start = 0, 0
    for phase in phases:
        if not phase.fixed_loss and phase.steps > 0:
            count += (start + phase.steps - 1) // every - start // every
        start += phase.steps
    return count


def event_seed(seed: int, event: int) -> int:
    """The seed of adaptive-sampling event ``event``: a fixed function of the run's seed, so a
    resumed run draws the same candidates."""
    return int(np.random.SeedSequence([seed, 0x5A3D, event]).generate_state(1)[0])


class Resampler:
    """An adaptive sampling method bound to a problem, called by the fit loop every ``every``
    Adam steps as ``resample(params, data, event) -> data``.

    ``magnitude(params, x) -> (n,)`` gives |r| at points ``x``; ``candidates(n, seed) -> (n, d)``
    draws a pool of interior points.
    """

    def __init__(self, method, magnitude: Callable, candidates: Callable, seed: int, dtype):
        self.method, self.every = method, method.every
        self.magnitude, self.candidates, self.seed, self.dtype = magnitude, candidates, seed, dtype

    def __call__(self, params, data: dict, event: int) -> dict:
        seed = event_seed(self.seed, event)
        pool = np.asarray(self.candidates(self.method.pool, seed))
        size = np.asarray(self.magnitude(params, jnp.asarray(pool, self.dtype)))
        size = np.where(np.isfinite(size), size, 0.0)
        new = self.method.resample(data, pool, size, np.random.default_rng(seed))
        return {**data, **{k: jnp.asarray(new[k], self.dtype) for k in ("interior", "mask") if k in new}}
