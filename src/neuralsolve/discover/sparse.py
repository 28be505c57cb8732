"""Sparse regression of a hidden term's values over candidate terms, with PySINDy's STLSQ
(sequentially thresholded least squares) in a bagging ensemble (the median of models fitted to
resampled rows), which keeps a term only where most resamples keep it.

The regression runs on standardised columns: each candidate term and the target are divided by
their root mean square, so ``threshold`` is a fraction of the hidden term's size and does not
depend on the units of the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np
import sympy as sp

from .._errors import ProblemError
from ..problem.compile import compile_expression
from ..problem.inverse import Discover, candidate_terms
from ..problem.parse import Namespace, parse_expression


@dataclass(frozen=True)
class Formula:
    """A discovered formula: candidate terms kept and their coefficients, and the regression's
    relative misfit to the hidden network's values."""

    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    misfit: float

    def text(self, digits: int = 6) -> str:
        """The formula as a SymPy-parsable string, e.g. ``"-0.9001*x*y"`` (``"0"`` if empty)."""
        parts = []
        for term, c in zip(self.terms, self.coefficients):
            c = float(f"{c:.{digits}g}")
            parts.append(f"{c!r}" if term == "1" else f"{c!r}*{term}")
        return " + ".join(parts).replace("+ -", "- ") if parts else "0"


def evaluate_terms(terms: list[str], inputs: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """The candidate terms at rows of input ``values`` (n, len(inputs)) -> (n, len(terms))."""
    import jax
    import jax.numpy as jnp

    from ..ops.point import value_at

    ns = Namespace(tuple(inputs))
    columns = []
    with jax.enable_x64(True):
        x = jnp.asarray(values, jnp.float64)
        for t in terms:
            fn = compile_expression(parse_expression(t, ns, f"discover: term {t!r}"), tuple(inputs), f"term {t!r}")
            columns.append(np.asarray(jax.vmap(lambda y: value_at(fn, tuple(inputs), y))(x)))
    out = np.stack(columns, axis=1)
    if not np.all(np.isfinite(out)):
        bad = terms[int(np.argmax(~np.isfinite(out).all(axis=0)))]
        raise ProblemError(f"discover: the term {bad!r} is not finite where the hidden term was sampled")
    return out


def regress(terms: list[str], features: np.ndarray, target: np.ndarray, spec: Discover, seed: int = 0) -> Formula:
    """STLSQ of ``target`` (n,) on ``features`` (n, k), bagged over ``spec.ensemble`` resamples
    (none if 0), on standardised columns; coefficients in the original units."""
    col = np.sqrt(np.mean(features**2, axis=0))
    col[col == 0] = 1.0
    scale = float(np.sqrt(np.mean(target**2))) or 1.0
    with warnings.catch_warnings():  # "sparsity parameter is too big": a fit that keeps nothing says so itself
        warnings.simplefilter("ignore", UserWarning)
        coef = _standardised_fit(features / col, target / scale, spec, seed) * scale / col
    kept = [i for i in range(len(terms)) if coef[i] != 0]
    misfit = float(np.linalg.norm(features @ coef - target) / max(np.linalg.norm(target), 1e-300))
    return Formula(tuple(terms[i] for i in kept), tuple(float(coef[i]) for i in kept), misfit)


def _standardised_fit(X: np.ndarray, y: np.ndarray, spec: Discover, seed: int) -> np.ndarray:
    import pysindy as ps

    stlsq = ps.STLSQ(threshold=spec.threshold, alpha=1e-6)
    if not spec.ensemble:
        stlsq.fit(X, y[:, None])
        return np.asarray(stlsq.coef_)[0]
    # PySINDy's bagging draws rows with NumPy's global generator: seeded here and restored, so a
    # run is repeatable and the caller's random state is left as it was
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        opt = ps.EnsembleOptimizer(opt=stlsq, bagging=True, n_models=spec.ensemble)
        opt.fit(X, y[:, None])
        median = np.median(np.asarray(opt.coef_list)[:, 0, :], axis=0)
    finally:
        np.random.set_state(state)
    # a term most resamples dropped is dropped; the kept ones are refitted together
    keep = np.abs(median) >= spec.threshold
    coef = np.zeros(X.shape[1])
    if keep.any():
        coef[keep] = np.linalg.lstsq(X[:, keep], y, rcond=None)[0]
    return coef


def as_sympy(formula: Formula, inputs: tuple[str, ...]) -> sp.Expr:
    """The formula as a SymPy expression in the inputs (for reports)."""
    return parse_expression(formula.text(12), Namespace(tuple(inputs)), "formula") if formula.terms else sp.Integer(0)
