"""EigenSolution: the lowest states of an eigenproblem, callable on points with a leading state axis."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ...solution import Solution
from ...train.fit import FitResult


class EigenSolution(Solution):
    """The lowest states of an eigenproblem.

    Calling it on points (n, d) gives values of shape (states, n, n_fields), or (states, n) for one
    ``field``: a leading state axis. States are orthogonal, normalised (``∫ψ² = 1``) when the
    problem asks for it, and signed positive where each first exceeds half its largest magnitude.

    Attributes:
        eigenvalues: the trained eigenvalues, lowest state first.
        states: how many states were found (fewer than asked if training stopped early).
    """

    def __init__(self, *args, eigenvalues, **kwargs):
        super().__init__(*args, **kwargs)
        self.eigenvalues = np.asarray(eigenvalues, float)

    @property
    def states(self) -> int:
        return len(self.eigenvalues)

    @classmethod
    def build(cls, problem, model, params, T, eigenvalues, fits, precision: str, term_names) -> EigenSolution:
        """One solution from the states' parameters (all of one ``model``), their combination
        matrix T and fit logs."""
        def states(p, x):
            raw = jnp.stack([model(q["net"], x) for q in p["nets"]])  # (states, n_fields)
            return p["T"] @ raw

        history = [{**r, "state": n} for n, f in enumerate(fits) for r in f.history]
        phases = [{**ph, "state": n} for n, f in enumerate(fits) for ph in f.phases]
        failed = next((f for f in fits if f.status != "ok"), None)
        status, message = (failed.status, failed.message) if failed else ("ok", "training completed")
        fit = FitResult({"nets": list(params), "T": T}, history, phases, status, message)
        return cls(states, fit.params, problem.fields, problem.domain.coords, precision, fit=fit, metrics={},
                   term_names=term_names, eigenvalues=eigenvalues)  # fmt: skip

    def __call__(self, points, field: str | None = None) -> np.ndarray:
        values = self._evaluate(points, field)  # (n, states, n_fields)
        values = np.moveaxis(values, 0, 1)
        return values if field is None else values[..., self.fields.index(field)]

    def __repr__(self) -> str:
        return f"EigenSolution(fields={list(self.fields)}, status={self.status!r}, eigenvalues={self.eigenvalues.tolist()})"
