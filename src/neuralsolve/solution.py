"""Solution: the trained fields, callable on points, with their history and accuracy metrics."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import ProblemError


class Solution:
    """A solved problem.

    Call it on an (n, d) array of points (columns in the domain's coordinate order) to get field
    values of shape (n, n_fields), or (n,) for one named ``field``.

    Attributes:
        fields, coords: names of the fields and of the coordinates.
        status: ``"ok"``, ``"nonfinite"`` (training stopped on a NaN/inf loss) or ``"interrupted"``.
        message: a sentence explaining the status.
        history: progress records (phase, step, loss, per-term losses, elapsed seconds).
        phases: per-phase log: steps taken and why the phase stopped.
        metrics: residual RMS on fresh points and, with an exact or classical reference, per-field errors.
        reference: ``values(points) -> (n, n_fields)`` of the reference solution, or None.
        spans: where the solve's time went: ``(part, start, end)`` in ``time.perf_counter``
            seconds, for the parts ``"setup"``, ``"training"``, ``"reference"``, ``"metrics"``
            (a part may occur several times: one per time window or eigenstate), and ``"steps"``:
            each compiled chunk of optimiser steps within training.
    """

    def __init__(self, model: Callable, params, fields, coords, precision: str, *, fit, metrics, term_names,
                 reference: Callable | None = None):  # fmt: skip
        self._model, self._params = model, params
        self.fields, self.coords, self.precision = tuple(fields), tuple(coords), precision
        self.status, self.message = fit.status, fit.message
        self.history, self.phases = fit.history, fit.phases
        self.metrics, self.term_names, self.reference = metrics, term_names, reference
        self.spans: list[tuple[str, float, float]] = []
        self._batched = jax.jit(jax.vmap(model, in_axes=(None, 0)))

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
            return np.array(self._batched(self._params, jnp.asarray(points, dtype)))  # a writable copy

    def __repr__(self) -> str:
        errs = self.metrics.get("l2_relative_error")
        extra = f", l2_relative_error={errs}" if errs else ""
        return f"Solution(fields={list(self.fields)}, status={self.status!r}, steps={self.steps}{extra})"
