"""Hidden terms of a neural ODE -> formulas: the same two steps as for inverse problems.

1. The hidden networks are sampled along the trained trajectories, and PySINDy's STLSQ (bagged)
   regresses them on the candidate terms (``discovered_regression``).
2. Verification (:mod:`neuralsolve.discover.eliminate`): backward elimination with the ODE in the
   loop: each round re-fits, through the solver, the system with the formulas in place of the
   networks (the coefficients and initial states), and scores it by the data misfit.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ...discover import candidate_terms, regress
from ...discover.eliminate import eliminate, field_noise, least_squares, summary
from ...discover.sparse import evaluate_terms
from ...problem.variants import coefficient_names, with_formulas
from ...train.phases import LBFGS
from .model import NeuralODEModel



def discover_and_verify(model: NeuralODEModel, params, settings: dict, constants: dict, train) -> dict:
    """The discovery metrics (keys as for inverse problems: ``discovered``,
    ``discovered_regression``, ``hidden_formula_misfit``, ``discovered_misfit_rms``,
    ``discovery_candidates``, ``verification``); ``train`` is the family's fit (``train.train``)."""
    problem = model.problem
    spec = problem.inverse.discover
    samples = hidden_samples(model, params)
    library, regressed = {}, {}
    for name, h in problem.inverse.hidden.items():
        x, y = samples[name]
        terms = candidate_terms(h.inputs, spec)
        library[name] = (terms, evaluate_terms(terms, h.inputs, x))
        regressed[name] = regress(terms, library[name][1], y, spec, seed=settings["seed"])
    out = {"discovered_regression": {k: f.text() for k, f in regressed.items()},
           "hidden_formula_misfit": {k: f.misfit for k, f in regressed.items()}}  # fmt: skip
    full = {k: least_squares(t, f, samples[k][1]) for k, (t, f) in library.items()}
    verified = with_formulas(problem, full, constants) if spec.refit else None
    if verified is None:
        out["discovered"] = dict(out["discovered_regression"])
        out["verification"] = "not run"
        return out
    refit = NeuralODEModel(verified, settings, model.dtype)
    names = {k: dict(zip(f.terms, coefficient_names(problem, k, len(f.terms)))) for k, f in full.items()}
    # L-BFGS alone, on whole series: the start (least squares on the network's values) is close
    phases = (LBFGS(spec.refit, plateau=200),)

    def fit(start, support):
        result = train(refit, start, {**settings, "time_limit": None}, phases=phases, support=support)
        return result, _misfits(refit, result.params, support)

    def solve(state, support, start):
        result, misfit = fit(_with_coefficients(refit, state, start), support)
        if not all(np.isfinite(m) for m, _ in misfit.values()):
            # the terms left, at the coefficients the last round gave them, can make the solution
            # blow up (then no step is finite): start them again from their own least-squares fit
            # to the networks' values, whose solution stays near the data
            start = _kept_least_squares(library, names, samples, support)
            result, misfit = fit(_with_coefficients(refit, result.params, start), support)
        fitted = {c: float(v) for c, v in refit.system.constants(result.params["theta"], support).items()}
        return fitted, misfit, result.phases[-1]["stop"] if result.phases else "no steps", result.params

    start, noise = {**refit.params, "y0": params["y0"]}, field_noise(problem.inverse.data, problem.fields)
    out.update(summary(eliminate(library, names, spec.threshold, solve, start, noise)))
    return out


def hidden_samples(model: NeuralODEModel, params) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each hidden term's inputs and values along the trained training trajectories."""
    solved, k = model.everything(params), len(model.train)
    points = np.concatenate([solved["grid"][:k].reshape(-1, 1), solved["dense"][:k].reshape(-1, len(model.system.states))],
                            axis=1)  # fmt: skip
    return model.system.hidden_values(model.statics, params["hidden"], points)


def _with_coefficients(model: NeuralODEModel, params, values: dict) -> dict:
    """``params`` with the formula coefficients in ``values`` (name -> value) set."""
    if not values:
        return params
    raw = {n: jnp.asarray(model.system.raw(n, v), model.dtype) for n, v in values.items()}
    return {**params, "theta": {**params["theta"], **raw}}


def _kept_least_squares(library: dict, names: dict, samples: dict, support: dict) -> dict[str, float]:
    """The coefficients of the terms ``support`` keeps, each formula's fitted by least squares to
    its network's values."""
    start = {}
    for k, (terms, features) in library.items():
        kept = [i for i, t in enumerate(terms) if support[names[k][t]]]
        fitted = least_squares([terms[i] for i in kept], features[:, kept], samples[k][1])
        start.update({names[k][t]: c for t, c in zip(fitted.terms, fitted.coefficients)})
    return start


def _misfits(model: NeuralODEModel, params, support: dict) -> dict[str, tuple[float, int]]:
    """(RMS misfit, count) of each measured field over the training trajectories, with the
    coefficients that ``support`` drops at 0 (their raw parameters keep stale values)."""
    pred, obs = model.trajectories(params, model.train, support=support), model.train.values
    out = {}
    for j, f in enumerate(model.problem.fields):
        seen = np.isfinite(obs[..., j])
        if seen.any():
            out[f] = (float(np.sqrt(np.mean((pred[..., j][seen] - obs[..., j][seen]) ** 2))), int(seen.sum()))
    return out
