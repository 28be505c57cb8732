"""Measured trajectories as arrays an ODE solver can be batched over.

Every trajectory keeps its own sample times: they are padded to the longest series by repeating
the last time (a padded sample is masked out), so a batch of series with different, irregular
times costs memory linear in the samples (no union of all times).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._errors import ProblemError
from ...problem.inverse import data_scale
from ...problem.problem import Problem


@dataclass(frozen=True)
class Series:
    """Trajectories: ``times`` (K, L) and ``values`` (K, L, fields), NaN where a field was not
    measured and in padding; ``names`` says where each came from; ``noise`` (fields,) is the known
    noise standard deviation per field (NaN: not known); ``scales`` (fields,) the fields' sizes."""

    times: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]
    noise: np.ndarray
    scales: np.ndarray

    def take(self, index) -> Series:
        """The trajectories ``index`` (a list of positions)."""
        index = list(index)
        return Series(self.times[index], self.values[index], tuple(self.names[i] for i in index), self.noise, self.scales)

    def __len__(self) -> int:
        return len(self.times)

    def counts(self) -> np.ndarray:
        """Measured values per field over all trajectories."""
        return np.isfinite(self.values).sum(axis=(0, 1))

    def until(self, fraction: float, t0: float, t1: float) -> Series:
        """Only the samples up to ``t0 + fraction * (t1 - t0)`` (later ones masked out, their times
        clipped to the cut, so that a solve ends there)."""
        if fraction >= 1:
            return self
        cut = t0 + fraction * (t1 - t0)
        late = self.times > cut
        values = np.where(late[..., None], np.nan, self.values)
        return Series(np.minimum(self.times, cut), values, self.names, self.noise, self.scales)


def gather(problem: Problem) -> Series:
    """Every data set's trajectories (by its ``trajectory`` column, else one per set), each sorted
    by time."""
    rows = []
    for i, d in enumerate(problem.inverse.data):
        ids = d.trajectory if d.trajectory is not None else np.zeros(len(d.points), int)
        for k in np.unique(ids):
            pick = ids == k
            order = np.argsort(d.points[pick, 0], kind="stable")
            name = d.name if d.trajectory is None else f"{d.name}, trajectory {k}"
            rows.append((d.points[pick, 0][order], d.values[pick][order], name))
    length = max(len(t) for t, _, _ in rows)
    fields = len(problem.fields)
    times = np.stack([np.concatenate([t, np.full(length - len(t), t[-1])]) for t, _, _ in rows])
    values = np.stack([np.concatenate([v, np.full((length - len(v), fields), np.nan)]) for _, v, _ in rows])
    noise = np.full(fields, np.nan)
    for d in problem.inverse.data:
        noise = np.where(np.isnan(noise), d.noise, noise)
    given = problem.arguments.get("scale") or {}
    scales = np.asarray([float(given[f]) if isinstance(given.get(f), (int, float)) else data_scale(problem, j)
                         for j, f in enumerate(problem.fields)])  # fmt: skip
    return Series(times, values, tuple(n for _, _, n in rows), noise, scales)


def split(count: int, holdout: float, seed: int) -> tuple[list[int], list[int]]:
    """Training and held-out trajectories: ``holdout`` of ``count`` (at least one when asked, never
    all), drawn with ``seed``."""
    if holdout <= 0:
        return list(range(count)), []
    held = int(round(holdout * count)) or 1
    if held >= count:
        raise ProblemError(f"ode: holdout {holdout:g} of {count} trajectories leaves none to train on")
    order = np.random.default_rng(seed).permutation(count)
    return sorted(int(i) for i in order[held:]), sorted(int(i) for i in order[:held])


def first_values(series: Series, states: int, field_states: list[int], fixed: dict[int, float]) -> np.ndarray:
    """A start for each trajectory's initial state (K, states): a field's first measurement, a
    derivative state 0, and the values the conditions fix."""
    out = np.zeros((len(series), states))
    for j, s in enumerate(field_states):
        for k in range(len(series)):
            seen = series.values[k, :, j]
            finite = np.flatnonzero(np.isfinite(seen))
            out[k, s] = seen[finite[0]] if finite.size else 0.0
    for s, v in fixed.items():
        out[:, s] = v
    return out


def windows(series: Series, length: int) -> np.ndarray:
    """Every (trajectory, first sample) of a window of ``length`` consecutive samples within one
    series, as an (M, 2) array."""
    pairs = []
    for k in range(len(series)):
        n = int(np.sum(np.any(np.isfinite(series.values[k]), axis=1)))
        pairs += [(k, s) for s in range(max(n - length + 1, 0))]
    if not pairs:
        raise ProblemError(f"ode: window = {length} is longer than every trajectory")
    return np.asarray(pairs, np.int32)
