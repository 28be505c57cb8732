"""The solution of an operator problem: a trained operator, callable on input functions."""

from __future__ import annotations

import jax
import numpy as np

from ..._errors import ProblemError
from ...solution import Solution
from .model import OperatorModel, Scales, predict

SHOWN = 4  # test samples kept for the report


class OperatorSolution(Solution):
    """A trained neural operator.

    Call it on input functions sampled on a uniform grid — ``(s,)`` or ``(n, s)`` in 1-D,
    ``(s, s)`` or ``(n, s, s)`` in 2-D, at any resolution ``s`` (the grid of the problem's
    domain: a periodic one without its right end, else with both ends) — to get the outputs on
    the same grid, in the same shape.

    Attributes (beyond :class:`~neuralsolve.solution.Solution`'s): ``operator_model`` (the
    network, its normalisation and loss) and ``samples``: test inputs, predictions and truth at
    the training resolution, kept for the report.
    """

    def __init__(self, model: OperatorModel, params, precision: str, problem, *, fit, metrics, term_names,
                 samples: dict | None = None):  # fmt: skip
        space = [c for c in problem.domain.coords if c != "t"]
        super().__init__(_unusable, params, problem.fields, space, precision, fit=fit, metrics=metrics,
                         term_names=term_names)  # fmt: skip
        self.operator_model, self.samples = model, samples or {}
        self.dim = len(space)

    def __call__(self, inputs, field: str | None = None) -> np.ndarray:
        inputs = np.asarray(inputs, float)
        single = inputs.ndim == self.dim
        if inputs.ndim not in (self.dim, self.dim + 1) or (self.dim == 2 and inputs.shape[-1] != inputs.shape[-2]):
            raise ProblemError(f"inputs must be one function on a {self._grid} grid or a batch (n, {self._grid}); "
                               f"got shape {inputs.shape}")  # fmt: skip
        if not np.all(np.isfinite(inputs)):
            raise ProblemError("inputs must be finite")
        batch = inputs[None] if single else inputs
        with jax.enable_x64(self.precision == "float64"):
            out = predict(self.operator_model, self._params, batch, _dtype(self.precision))
        return out[0] if single else out

    @property
    def _grid(self) -> str:
        return "s" if self.dim == 1 else "s x s"

    def report_arrays(self) -> dict[str, np.ndarray]:
        """Test samples for the report (``operator_input``, ``operator_prediction``,
        ``operator_truth``: (k, *grid) at the training resolution) and the normalisation
        (``operator_scales``: input mean, std, output mean, std)."""
        arrays = {f"operator_{k}": v for k, v in self.samples.items()}
        arrays["operator_scales"] = self.operator_model.scales.as_array()
        return arrays

    def __repr__(self) -> str:
        err = self.metrics.get("test_relative_l2")
        return f"OperatorSolution(status={self.status!r}, steps={self.steps}, test_relative_l2={err})"


def scales_from(arrays) -> Scales | None:
    """The normalisation saved by :meth:`OperatorSolution.report_arrays`, or None."""
    if arrays is None or "operator_scales" not in arrays:
        return None
    return Scales(*(float(v) for v in arrays["operator_scales"]))


def _dtype(precision: str):
    import jax.numpy as jnp

    return jnp.float64 if precision == "float64" else jnp.float32


def _unusable(params, x):
    raise ProblemError("an operator solution maps input functions, not points: call it on inputs on a grid")
