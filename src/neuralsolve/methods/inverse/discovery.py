"""Hidden terms -> formulas, and the verification that the formulas explain the data.

1. The hidden networks are sampled where the solution goes (collocation and measurement points),
   and PySINDy's STLSQ (bagged) regresses them on the candidate terms: ``discovered_regression``.
2. Verification (:mod:`neuralsolve.discover.eliminate`): backward elimination with the
   equations in the loop, each round a re-solve of the collocation problem with the formulas in
   place of the networks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...discover import candidate_terms, regress
from ...discover.eliminate import eliminate, field_noise, least_squares, summary
from ...discover.sparse import evaluate_terms
from ...problem.problem import Problem
from ...train.phases import LBFGS
from .model import Learned, measured, misfit_rms
from ...problem.variants import coefficient_names, with_formulas

EQUATIONS_FIRST = 10.0  # how much more the equations weigh in verification than in training


def discover_and_verify(problem: Problem, learned: Learned, params, settings: dict, derivatives: str,
                        constants: dict, train) -> dict:  # fmt: skip
    """The discovery metrics: ``discovered`` (the verified formulas), ``discovered_regression``
    (the regression's, before verification), ``discovered_misfit_rms`` (data misfit of the
    formula model), ``hidden_formula_misfit`` (the regression's relative misfit to the network),
    ``discovery_candidates`` (each round of verification) and ``verification``.
    ``train(problem, learned, params, settings, phases, support)`` runs a quiet fit."""
    spec = problem.inverse.discover
    inputs, values = hidden_samples(problem, learned, params, settings, derivatives)
    library = {}
    for name, h in problem.inverse.hidden.items():
        terms = candidate_terms(h.inputs, spec)
        library[name] = (terms, evaluate_terms(terms, h.inputs, inputs[name]))
    regressed = {k: regress(t, f, values[k], spec, seed=settings["seed"]) for k, (t, f) in library.items()}
    out = {"discovered_regression": {k: f.text() for k, f in regressed.items()},
           "hidden_formula_misfit": {k: f.misfit for k, f in regressed.items()}}
    full = {k: least_squares(t, f, values[k]) for k, (t, f) in library.items()}
    verified = with_formulas(problem, full, constants) if spec.refit else None
    if verified is None:
        out["discovered"] = dict(out["discovered_regression"])
        out["verification"] = "not run" if not spec.refit else "not available for equations given as Python functions"
        return out
    out.update(summary(_threshold_in_equations(problem, verified, learned, params, full, library, settings, train)))
    return out


def _threshold_in_equations(problem, verified, learned, params, full, library, settings, train) -> list[dict]:
    """The elimination's rounds, each a quiet re-solve of the collocation problem from where the
    previous one ended."""
    spec = problem.inverse.discover
    # the formulas replace the hidden terms, but the data are weighed as in the training with them
    refit = Learned(verified, settings["network"], learned.dtype, settings["seed"], floor=False,
                    noise_aware=learned.noise_aware)  # fmt: skip
    # the equations weigh more than in training: a candidate formula is judged by how well a
    # solution *of the equations with it* fits the data, so the fields must not bend off them
    refit.sizes = [s / EQUATIONS_FIRST for s in learned.sizes or [1.0] * len(problem.equations)]
    names = {k: dict(zip(f.terms, coefficient_names(problem, k, len(f.terms)))) for k, f in full.items()}

    def solve(state, support, start):
        if start:  # a swap's newcomer, at its raw value (formula coefficients are signed unknowns)
            unknowns = verified.inverse.unknowns
            raw = {n: jnp.asarray(v / unknowns[n].scale(), refit.dtype) for n, v in start.items()}
            state = {**state, "theta": {**state["theta"], **raw}}
        result = train(verified, refit, state, settings, (LBFGS(spec.refit, plateau=200),), support)
        fitted = {c: float(v) for c, v in refit.constants(result.params, support).items()}
        stop = result.phases[-1]["stop"] if result.phases else "no steps"
        return fitted, _misfits(verified, refit, result.params), stop, result.params

    noise = field_noise(problem.inverse.data, problem.fields)
    return eliminate(library, names, spec.threshold, solve, {**refit.params, "net": params["net"]}, noise)


def hidden_samples(problem: Problem, learned: Learned, params, settings: dict, derivatives: str) -> tuple[dict, dict]:
    """Each hidden term's inputs and values where the solution goes: at the collocation points
    and the measurement points."""
    from ...loss.terms import sample_data
    from ...ops.derivatives import at_points

    x = sample_data(problem, settings["points"], settings["seed"])["interior"]
    xs = jnp.asarray(np.concatenate([x] + [d.points for d in problem.inverse.data]), learned.dtype)
    fields = at_points(learned.model, params, xs, [()], derivatives)
    inputs, outputs = {}, {}
    for name, (_, read) in learned.hidden.items():
        ins = jax.vmap(read)(xs, fields)
        inputs[name] = np.asarray(ins)
        outputs[name] = np.asarray(jax.vmap(lambda i, n=name: learned.hidden_value(params, n, i))(ins))
    return inputs, outputs


def _misfits(problem: Problem, learned: Learned, params) -> dict[str, tuple[float, int]]:
    """(RMS misfit, count) of each measured field over all data sets."""
    rms = misfit_rms(problem, learned, params)
    counts = {}
    for i, j in measured(problem):
        f = problem.fields[j]
        counts[f] = counts.get(f, 0) + int(np.isfinite(problem.inverse.data[i].values[:, j]).sum())
    return {f: (rms[f], counts[f]) for f in rms}
