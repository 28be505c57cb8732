"""Standard errors of estimated constants: the Gauss–Newton (Laplace) approximation of the data
misfit around the estimate, ``cov = (Jᵀ W J)⁻¹`` with ``W`` the inverse noise variances.

Two ways to get the sensitivities ``J`` of the predictions at the data points:

* ``"classical sensitivities"`` (ODE problems a classical solver solves, all conditions known):
  the problem is solved classically with the estimates, and again with each constant nudged
  (central differences), so ``J`` is the solution's own sensitivity to the constants. This is
  the textbook standard error of nonlinear least squares, and the one checked for calibration.
  The trained estimate is not exactly the least-squares optimum (training stops somewhere near
  it): one Gauss–Newton step estimates how far it is, and that distance is added in quadrature,
  so the error bar covers the training's own error as well as the noise's.
* ``"gauss-newton (network)"`` (every other problem): ``J`` over all trained parameters, the
  network's included, with the equations' residuals at the collocation points as extra
  observations weighted as in training. The constants' block of the inverse is their covariance.
  This is an approximation: it depends on the weight the training gave the equations.

The noise variance of a field is the data's ``noise`` squared when given, else estimated from the
misfit: the sum of squared misfits over the measurements less the field's share of the estimated
constants.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ...loss.terms import residuals
from ...reference.plan import BVP, IVP, classical_method
from .model import Learned, data_weights, measured

CLASSICAL, NETWORK = "classical sensitivities", "gauss-newton (network)"


def standard_errors(problem, learned: Learned, params, known, settings: dict, method: str) -> tuple[dict, dict, str | None]:
    """``({name: standard error}, {name: the noise's part of it}, how)`` of the unknown constants;
    ``known(constants)`` is the problem with those constants as parameters. ``({}, {}, None)``
    without unknown constants."""
    names = learned.names
    if not names:
        return {}, {}, None
    values = {k: float(v) for k, v in learned.constants(params).items()}
    rows = _rows(problem)
    classical = _classical_jacobian(known, values, rows) if classical_method(known(values)) in (IVP, BVP) else None
    if classical is not None:
        J, predicted = classical
        noise = _covariance(J, predicted - rows["values"], rows, len(names))
        # the estimate's own distance from the least-squares optimum counts too
        cov = None if noise is None else noise + np.diag(_gauss_newton_step(J, predicted - rows["values"], rows, noise) ** 2)
        how = CLASSICAL
    else:
        cov = noise = _network_covariance(problem, learned, params, rows, settings, method)
        how = NETWORK
    return _diagonal(names, cov), _diagonal(names, noise), how


def _diagonal(names, cov) -> dict[str, float]:
    errors = np.sqrt(np.clip(np.diag(cov), 0, None)) if cov is not None else np.full(len(names), np.nan)
    return {k: float(e) for k, e in zip(names, errors)}


def _rows(problem) -> dict:
    """Every measurement as a row: point, field index, value, noise (NaN: unknown)."""
    pts, field, vals, noise = [], [], [], []
    for i, j in measured(problem):
        d = problem.inverse.data[i]
        seen = np.isfinite(d.values[:, j])
        pts.append(d.points[seen])
        field += [j] * int(seen.sum())
        vals.append(d.values[seen, j])
        noise += [d.noise[j]] * int(seen.sum())
    return {"points": np.concatenate(pts), "field": np.asarray(field), "values": np.concatenate(vals),
            "noise": np.asarray(noise, float)}  # fmt: skip


def _variances(misfit: np.ndarray, rows: dict, n_constants: int) -> np.ndarray:
    """Each row's noise variance: given, else its field's mean squared misfit with the field's
    share of the constants' degrees of freedom taken off."""
    var = rows["noise"] ** 2
    for j in np.unique(rows["field"]):
        at = (rows["field"] == j) & ~np.isfinite(var)
        if at.any():
            n, share = at.sum(), n_constants * at.sum() / len(misfit)
            var[at] = np.sum(misfit[at] ** 2) / max(n - share, 1.0)
    return np.maximum(var, 1e-300)


def _covariance(J: np.ndarray, misfit: np.ndarray, rows: dict, n: int) -> np.ndarray | None:
    w = 1.0 / _variances(misfit, rows, n)
    H = J.T @ (w[:, None] * J)
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None


def _gauss_newton_step(J: np.ndarray, misfit: np.ndarray, rows: dict, cov: np.ndarray) -> np.ndarray:
    """One Gauss–Newton step from the estimate towards the classical least-squares optimum: how far
    the trained constants are from where the data, through the classical solution, put them."""
    w = 1.0 / _variances(misfit, rows, J.shape[1])
    return -cov @ (J.T @ (w * misfit))


def _classical_jacobian(known, values: dict, rows: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """(J, predictions) of the classical solution at the measurements, J by central differences
    in each constant (steps of 1e-4 of its size: well above the solver's 1e-11 tolerance)."""
    from ...reference import classical_reference

    def predict(constants):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = classical_reference(known(constants))
        if ref is None:
            return None
        u = np.asarray(ref.values(rows["points"]))
        return u[np.arange(len(u)), rows["field"]]

    base = predict(values)
    if base is None:
        return None
    columns = []
    for k, v in values.items():
        h = 1e-4 * max(abs(v), 1e-8)
        up, down = predict({**values, k: v + h}), predict({**values, k: v - h})
        if up is None or down is None:
            return None
        columns.append((up - down) / (2 * h))
    return np.stack(columns, axis=1), base


def _network_covariance(problem, learned: Learned, params, rows: dict, settings: dict, method: str) -> np.ndarray | None:
    """The constants' block of the inverse Gauss–Newton matrix over every trained parameter."""
    from jax.flatten_util import ravel_pytree

    from ...loss.terms import sample_data

    flat, unravel = ravel_pytree(params)
    dtype = flat.dtype
    model, cols = learned.model, jnp.asarray(rows["field"])
    pts = jnp.asarray(rows["points"], dtype)

    def predicted(p):
        return jax.vmap(model, in_axes=(None, 0))(unravel(p), pts)[jnp.arange(len(pts)), cols]

    misfit = np.asarray(jax.jit(predicted)(flat)) - rows["values"]
    var = _variances(misfit, rows, len(learned.names))
    jacobian = jax.jacfwd if flat.size < len(pts) else jax.jacrev
    J_d = np.asarray(jax.jit(jacobian(predicted))(flat))
    H = J_d.T @ (J_d / var[:, None])
    # the equations as observations, weighted relative to the data as in training
    x = jnp.asarray(sample_data(problem, settings["points"], settings["seed"])["interior"], dtype)
    c = _likelihood_scale(problem, learned.noise_aware, var, rows)

    def residual_at(p, y):
        q = unravel(p)
        return residuals(problem, model, q, y[None], method, learned.unknowns(q))[0]

    J_r = np.asarray(jax.jit(jax.vmap(jax.jacrev(residual_at), in_axes=(None, 0)))(flat, x))  # (M, equations, P)
    H += c * np.einsum("mep,meq->pq", J_r, J_r) / len(x)
    H += 1e-10 * np.trace(H) / len(H) * np.eye(len(H))  # directions no observation sees
    theta = _theta_indices(params, unravel, flat)
    try:
        cov = np.linalg.inv(H)[np.ix_(theta, theta)]
    except np.linalg.LinAlgError:
        return None
    scale = np.array([_value_scale(learned, k, params) for k in learned.names])
    return cov * np.outer(scale, scale)


def _likelihood_scale(problem, noise_aware: bool, var: np.ndarray, rows: dict) -> float:
    """The factor that turns the training loss into a negative log-likelihood whose data part
    is Σ misfit² / (2 variance): the median over fields of count / (weight · variance)."""
    weights = data_weights(problem, noise_aware)
    ratios = []
    for (i, j), w in zip(measured(problem), weights):
        at = rows["field"] == j
        ratios.append(at.sum() / (w * np.mean(var[at])))
    return float(np.median(ratios))


def _theta_indices(params, unravel, flat) -> list[int]:
    """Positions of the constants' raw values in the flattened parameters."""
    from jax.flatten_util import ravel_pytree

    marker = jax.tree_util.tree_map(jnp.zeros_like, params)
    out = []
    for name in params["theta"]:
        probe = {**marker, "theta": {**marker["theta"], name: jnp.ones_like(marker["theta"][name])}}
        out.append(int(np.argmax(np.asarray(ravel_pytree(probe)[0]))))
    return out


def _value_scale(learned: Learned, name: str, params) -> float:
    """d(value)/d(raw value) of a constant: the value itself for a positive (log) one."""
    u = learned.problem.inverse.unknowns[name]
    return float(jnp.exp(params["theta"][name])) if u.positive else u.scale()
