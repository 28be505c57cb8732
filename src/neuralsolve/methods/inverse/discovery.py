"""Hidden terms -> formulas, and the verification that the formulas explain the data.

1. The hidden networks are sampled where the solution goes (collocation and measurement points),
   and PySINDy's STLSQ (bagged) regresses them on the candidate terms: ``discovered_regression``.
2. Along one solution the candidate terms are nearly collinear, so a network's values alone can
   rarely tell the true terms from a mix of others once the data are noisy. Verification settles
   it by thresholding *inside the equations*: the problem is re-solved with every candidate term
   in place of the networks, the coefficients fitted together with the fields (an inverse
   problem for constants, so the formula must produce a solution of the equations that fits the
   data); each formula's term of smallest share (and every term below the threshold) is dropped,
   and the re-solve repeats on the terms left, down to one term per formula (backward
   elimination with the equations in the loop). The formulas of the round with the lowest
   Bayesian information criterion of the data misfit win: fewer terms, unless more terms fit
   clearly better. The rounds share one compiled solve: a dropped term's coefficient is held at
   0 (``support``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...discover import candidate_terms, regress
from ...discover.sparse import Formula, evaluate_terms
from ...problem.problem import Problem
from ...train.phases import LBFGS
from .model import Learned, measured, misfit_rms
from .variants import coefficient_names, with_formulas

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
    full = {k: _least_squares(t, f, values[k]) for k, (t, f) in library.items()}
    verified = with_formulas(problem, full, constants) if spec.refit else None
    if verified is None:
        out["discovered"] = dict(out["discovered_regression"])
        out["verification"] = "not run" if not spec.refit else "not available for equations given as Python functions"
        return out
    rounds = _threshold_in_equations(problem, verified, learned, params, full, library, settings, train)
    best = min(rounds, key=lambda r: r["bic"])
    out["discovered"], out["discovered_misfit_rms"] = best["formulas"], best["misfit_rms"]
    out["discovery_candidates"] = [{k: r[k] for k in ("formulas", "misfit_rms", "bic")} for r in rounds]
    out["verification"] = (f"re-solved with the formulas in place of the networks, {len(rounds)} times, dropping the "
                           f"least important terms each time; chose the formulas with the lowest information "
                           f"criterion ({best['stop']})")  # fmt: skip
    return out


def _least_squares(terms: list[str], features: np.ndarray, target: np.ndarray) -> Formula:
    """Every candidate term with its least-squares coefficient (the verification's start)."""
    coef = np.linalg.lstsq(features, target, rcond=None)[0]
    misfit = float(np.linalg.norm(features @ coef - target) / max(np.linalg.norm(target), 1e-300))
    return Formula(tuple(terms), tuple(float(c) for c in coef), misfit)


def _threshold_in_equations(problem, verified, learned, params, full, library, settings, train) -> list[dict]:
    """Backward elimination with the equations in the loop: re-solve, record the data misfit, drop
    each formula's term of smallest share (every term below the threshold at once), repeat down
    to one term per formula. One record per round, with its information criterion."""
    spec = problem.inverse.discover
    refit = Learned(verified, settings["network"], learned.dtype, settings["seed"], floor=False)
    # the equations weigh more than in training: a candidate formula is judged by how well a
    # solution *of the equations with it* fits the data, so the fields must not bend off them
    refit.sizes = [s / EQUATIONS_FIRST for s in learned.sizes or [1.0] * len(problem.equations)]
    names = {k: dict(zip(f.terms, coefficient_names(problem, k, len(f.terms)))) for k, f in full.items()}
    support = {c: 1.0 for k in names for c in names[k].values()}
    current = {**refit.params, "net": params["net"]}
    rounds = []
    while True:
        result = train(verified, refit, current, settings, (LBFGS(spec.refit, plateau=200),), support)
        current = result.params
        fitted = {c: float(v) for c, v in refit.constants(current, support).items()}
        formulas, drop = {}, []
        for k, (terms, features) in library.items():
            coef = np.array([fitted[names[k][t]] for t in terms])
            total = np.sqrt(np.mean((features @ coef) ** 2)) or 1.0
            share = np.where(coef != 0, np.abs(coef) * np.sqrt(np.mean(features**2, axis=0)) / total, np.inf)
            kept = [i for i in range(len(terms)) if coef[i] != 0]
            if len(kept) > 1:
                drop += [names[k][terms[i]] for i in kept if share[i] < spec.threshold or share[i] == share.min()]
            formulas[k] = Formula(tuple(terms[i] for i in kept), tuple(float(coef[i]) for i in kept), 0.0).text()
        misfit = _misfits(verified, refit, current)
        rounds.append({"formulas": formulas, "misfit_rms": {f: m for f, (m, _) in misfit.items()},
                       "bic": _bic(misfit, int(sum(support.values()))),
                       "stop": result.phases[-1]["stop"] if result.phases else "no steps"})  # fmt: skip
        if not drop:
            return rounds
        support.update(dict.fromkeys(drop, 0.0))


def _bic(misfit: dict[str, tuple[float, int]], k: int) -> float:
    """Bayesian information criterion of a formula model: each field's Gaussian likelihood with
    its own variance, and ``k`` coefficients."""
    n = sum(c for _, c in misfit.values())
    return float(sum(c * np.log(max(m, 1e-300) ** 2) for m, c in misfit.values()) + k * np.log(n))


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
