"""Solution: the trained fields, callable on points, with their history and accuracy metrics."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import ProblemError
from .train.checkpoint import FILE, Checkpoint, TrainState


class Solution:
    """A solved problem.

    Call it on an (n, d) array of points (columns in the domain's coordinate order) to get field
    values of shape (n, n_fields), or (n,) for one named ``field``.

    Attributes:
        fields, coords: names of the fields and of the coordinates.
        status: ``"ok"``, ``"disagrees"`` (trained, but further from its reference than the
            problem's ``tolerance``), ``"nonfinite"`` (training stopped on a NaN/inf loss) or
            ``"interrupted"``.
        message: a sentence explaining the status.
        history: progress records (phase, step, loss, per-term losses, elapsed seconds).
        phases: per-phase log: steps taken and why the phase stopped.
        metrics: residual RMS on fresh points and, with an exact or classical reference, per-field errors.
        reference: ``values(points) -> (n, n_fields)`` of the reference solution, or None.
        spans: where the solve's time went: ``(part, start, end)`` in ``time.perf_counter``
            seconds, for the parts ``"setup"``, ``"training"``, ``"reference"``, ``"metrics"``
            (a part may occur several times: one per time window or eigenstate), and ``"steps"``:
            each compiled chunk of optimiser steps within training.
        problem, settings: the problem solved and the resolved settings used (set by
            :func:`neuralsolve.solve` and :func:`neuralsolve.open`; None otherwise).
    """

    def __init__(self, model: Callable, params, fields, coords, precision: str, *, fit, metrics, term_names,
                 reference: Callable | None = None, evaluator: Callable | None = None):  # fmt: skip
        self._model, self._params = model, params
        self.fields, self.coords, self.precision = tuple(fields), tuple(coords), precision
        self.status, self.message = fit.status, fit.message
        self.history, self.phases = fit.history, fit.phases
        self.metrics, self.term_names, self.reference = metrics, term_names, reference
        self.spans: list[tuple[str, float, float]] = []
        self.problem, self.settings, self._checkpoint = None, None, None
        # evaluator: the same, compiled for batches of BATCH points (prepared while training)
        self._batched = evaluator or jax.jit(jax.vmap(model, in_axes=(None, 0)))

    @property
    def model(self) -> Callable:
        """The pure function ``model(params, x) -> field values (n_fields,)`` at one point."""
        return self._model

    @property
    def params(self):
        """The trained network (an Equinox module)."""
        return self._params

    @property
    def steps(self) -> int:
        return sum(p["steps"] for p in self.phases)

    def __call__(self, points, field: str | None = None) -> np.ndarray:
        values = self._evaluate(points, field)
        return values if field is None else values[:, self.fields.index(field)]

    def _evaluate(self, points, field: str | None) -> np.ndarray:
        """The model's output at points (n, d), after checking the arguments."""
        points = np.asarray(points, float)
        if points.ndim != 2 or points.shape[1] != len(self.coords):
            raise ProblemError(
                f"points must have shape (n, {len(self.coords)}) with columns {', '.join(self.coords)}; "
                f"got {points.shape}"
            )
        if field is not None and field not in self.fields:
            raise ProblemError(f"unknown field {field!r} (fields: {', '.join(self.fields)})")
        with jax.enable_x64(self.precision == "float64"):
            dtype = jnp.float64 if self.precision == "float64" else jnp.float32
            return in_batches(self._batched, self._params, points.astype(dtype))

    def report_arrays(self) -> dict[str, np.ndarray] | None:
        """Arrays this kind of solution saves in solution.npz for its report beyond the fields on
        the grid (None: nothing of its own)."""
        return None

    def hidden_along(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """Each hidden network's values along the solution at ``points``, for the report's curve
        against its formula, where this kind of solution gives them itself (with
        :meth:`report_arrays`); an inverse solve's are read by the report from its networks."""
        return {}

    def remember(self, problem, settings: dict, checkpoint: Checkpoint | None) -> None:
        """Keep what :meth:`save` needs: the problem, the resolved settings and where the training
        state was saved (a :class:`Checkpoint`, or a :class:`Recorder` that kept it in memory)."""
        self.problem, self.settings, self._checkpoint = problem, settings, checkpoint

    @property
    def checkpoint(self) -> Checkpoint | None:
        """Where this solve's training state was saved (None if nowhere)."""
        return self._checkpoint

    def save(self, directory, *, overwrite: bool = False):
        """Write this solve as a run directory — the one ``neuralsolve solve`` writes: problem.toml,
        run.json, checkpoints, metrics.json, history.json, solution.npz, plots and report.html — so
        that ``neuralsolve report DIR``, ``neuralsolve resume DIR`` and :func:`neuralsolve.open`
        work on it. Returns the directory's path. See :func:`neuralsolve.save`, which this calls.

        Raises:
            ProblemError: for a problem with no problem-file form yet (a Python function as an
                equation, ...), naming it; or a ``directory`` that holds another run (unless
                ``overwrite``).
        """
        # Run directories are a layer above solutions (docs/architecture.md): looked up when called,
        # the one call up the layers, so that importing this module never imports that layer.
        rundir = import_module("neuralsolve.rundir")
        return rundir.save(self, directory, overwrite=overwrite)

    def __repr__(self) -> str:
        errs = self.metrics.get("l2_relative_error")
        extra = f", l2_relative_error={errs}" if errs else ""
        return f"Solution(fields={list(self.fields)}, status={self.status!r}, steps={self.steps}{extra})"


class Estimates:
    """What a solve learned about its equations, read from its ``metrics``: mixed into the
    solutions of the families that estimate constants and discover formulas."""

    metrics: dict

    @property
    def unknowns(self) -> dict[str, float]:
        """The estimated constants by name."""
        return dict(self.metrics.get("unknowns") or {})

    @property
    def unknowns_stderr(self) -> dict[str, float]:
        """Their standard errors by name (see docs/inverse-problems.md)."""
        return dict(self.metrics.get("unknowns_stderr") or {})

    @property
    def discovered(self) -> dict[str, str]:
        """Each hidden term's formula (a SymPy-parsable string), after verification's refit."""
        return dict(self.metrics.get("discovered") or {})


class Recorder(Checkpoint):
    """A checkpoint kept in memory. :func:`neuralsolve.solve` given no checkpoint records the final
    training state(s) here (never during training), so that :meth:`Solution.save` can write them."""

    def __init__(self, states: dict | None = None, name: str = FILE):
        super().__init__(".", float("inf"), name)  # every = inf: only the saves at the end and on Ctrl-C
        self.states = {} if states is None else states  # file name -> TrainState, shared by the children

    def for_state(self, n: int) -> Recorder:
        return Recorder(self.states, super().for_state(n).path.name)

    def for_window(self, k: int) -> Recorder:
        return Recorder(self.states, super().for_window(k).path.name)

    def exists(self) -> bool:
        return self.path.name in self.states

    def steps(self) -> int | None:
        return None  # never resumed from

    def save(self, state: TrainState) -> None:
        """Keep a host copy of the state (device memory is freed when training ends)."""
        carry = jax.tree_util.tree_map(np.asarray, state.carry)
        self.states[self.path.name] = TrainState(state.phase, carry, list(state.history), list(state.phases))

    def write(self, directory) -> None:
        """Write every recorded state as the checkpoint file a run directory holds."""
        for name, state in self.states.items():
            Checkpoint(directory, name=name).save(state)


# points per evaluation: a solution is evaluated at any number of points by one compiled program
BATCH = 4096


def in_batches(batched: Callable, params, points: np.ndarray) -> np.ndarray:
    """``batched(params, points)`` (n, ...) as a writable array, run on batches of :data:`BATCH`
    points (the last one padded; NumPy does the padding, so nothing else compiles): one compilation
    serves every number of points (metrics, plot grids, a user's calls), where each new count would
    compile anew."""
    n = len(points)
    last = points[-1:] if n else np.zeros((1, points.shape[1]), points.dtype)
    padded = np.concatenate([points, np.repeat(last, -n % BATCH if n else BATCH, axis=0)])
    parts = [np.asarray(batched(params, jax.device_put(padded[i : i + BATCH]))) for i in range(0, len(padded), BATCH)]
    return np.concatenate(parts)[:n]
