"""Checkpoints: the whole training state in one file, written atomically.

A checkpoint holds the fit loop's carry (parameters, optimiser state, best parameters and loss,
step counters) for the current phase, which phase that is, and the history so far. Resuming from it
reruns the same compiled steps from the same state, so a resumed solve ends exactly where an
uninterrupted one would (same machine, same settings).
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from dataclasses import dataclass, field

import jax
import numpy as np

from .._errors import ProblemError

FILE = "checkpoint.npz"


@dataclass
class TrainState:
    """Where training stands: ``phase`` index, that phase's loop ``carry``, and the logs so far."""

    phase: int
    carry: object
    history: list = field(default_factory=list)
    phases: list = field(default_factory=list)


class Checkpoint:
    """Saves the training state to ``directory`` at most every ``every`` seconds, and on demand."""

    def __init__(self, directory, every: float = 30.0, name: str = FILE):
        self.path = pathlib.Path(directory) / name
        self.every, self._last = float(every), time.monotonic()

    def for_state(self, n: int) -> Checkpoint:
        """The checkpoint of eigenstate ``n`` (states train one after another, each saved apart)."""
        return Checkpoint(self.path.parent, self.every, f"{self.path.stem}.state{n}.npz")

    def for_window(self, k: int) -> Checkpoint:
        """The checkpoint of time window ``k`` (windows train one after another, each saved apart)."""
        return Checkpoint(self.path.parent, self.every, f"{self.path.stem}.window{k}.npz")

    def exists(self) -> bool:
        return self.path.exists()

    def maybe_save(self, state: TrainState) -> None:
        if time.monotonic() - self._last >= self.every:
            self.save(state)

    def save(self, state: TrainState) -> None:
        """Write the state to a temporary file, then rename it over the checkpoint (atomic)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(state.carry)]
        meta = json.dumps({"phase": state.phase, "history": state.history, "phases": state.phases})
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, meta=np.array(meta), **{f"leaf_{i}": x for i, x in enumerate(leaves)})
        os.replace(tmp, self.path)
        self._last = time.monotonic()

    def steps(self) -> int | None:
        """The optimiser steps the saved state has reached over all its phases (None: no checkpoint),
        read without rebuilding the state."""
        if not self.exists():
            return None
        with np.load(self.path) as data:
            meta = json.loads(str(data["meta"]))
            done = sum(p["steps"] for p in meta["phases"])
            # leaf 0 is the carry's step counter within its phase, unless that phase has ended
            return done + (int(data["leaf_0"]) if meta["phase"] == len(meta["phases"]) else 0)

    def load(self, template_for) -> TrainState:
        """Read the state back; ``template_for(phase)`` gives a carry of the right structure."""
        with np.load(self.path) as data:
            meta = json.loads(str(data["meta"]))
            template = template_for(meta["phase"])
            leaves, treedef = jax.tree_util.tree_flatten(template)
            saved = [data[f"leaf_{i}"] for i in range(sum(k.startswith("leaf_") for k in data.files))]
            if [np.shape(x) for x in saved] != [np.shape(t) for t in leaves]:
                # a different layout of the training state: another version's optimiser, or other settings
                raise ProblemError(f"{self.path}: this checkpoint's training state does not fit this solve (written "
                                   "by another version of neuralsolve or for other settings); run without resume")  # fmt: skip
            loaded = [jax.numpy.asarray(x, dtype=t.dtype) for x, t in zip(saved, leaves)]
        return TrainState(meta["phase"], jax.tree_util.tree_unflatten(treedef, loaded), meta["history"], meta["phases"])
