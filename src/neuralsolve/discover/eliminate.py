"""Verification of discovered formulas with the equations in the loop, shared by every method
family that learns hidden terms.

Along one solution the candidate terms are nearly collinear, so a hidden network's values alone
can rarely tell the true terms from a mix of others once the data are noisy. Verification settles
it by thresholding *inside the equations*: the problem is re-solved with every candidate term in
place of the networks, the coefficients fitted together with the rest (an inverse problem for
constants, so a formula must produce a solution of the equations that fits the data); each
formula's term of smallest share (and every term below the threshold) is dropped and the re-solve
repeats on the terms left, down to one term per formula (backward elimination). Elimination
follows one path, and the term a formula ends with is the one that survived it, not necessarily
the one that fits best; so the sparsest formulas are then refined by swaps: each term in turn is
replaced by each candidate its formula lacks, re-solved, and the swap that lowers the criterion
most is kept, until none does. The formulas of the round with the lowest Bayesian information
criterion of the data misfit win: fewer terms, unless more terms fit clearly better. A dropped
term's coefficient is held at 0 (``support``), so the rounds share one compiled solve.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .sparse import Formula


def least_squares(terms: list[str], features: np.ndarray, target: np.ndarray) -> Formula:
    """Every candidate term with its least-squares coefficient (the verification's start)."""
    coef = np.linalg.lstsq(features, target, rcond=None)[0]
    misfit = float(np.linalg.norm(features @ coef - target) / max(np.linalg.norm(target), 1e-300))
    return Formula(tuple(terms), tuple(float(c) for c in coef), misfit)


SWAP_PASSES = 3  # swaps kept at most, one per pass (each pass re-solves every possible swap once)


def eliminate(library: dict, names: dict, threshold: float, refit: Callable, state, noise: dict | None = None) -> list[dict]:
    """Backward elimination, then swaps. ``refit(state, support, start) -> (coefficients by name,
    {field: (rms, count)}, stop, state)`` re-solves from ``state`` (the opaque parameters a
    refit returns; the first from the caller) with the coefficients whose support is 0 held at 0,
    and those in ``start`` (name -> value) set first. After each round, each formula's term of
    smallest share (every term below ``threshold`` at once) is dropped, down to one term per
    formula; then :func:`swap`. ``library``: hidden term -> (candidate terms, their values (n, k)
    where the solution goes); ``names``: hidden term -> {candidate term: coefficient name}. One
    record per round: ``formulas``, ``misfit_rms``, ``bic``, ``stop`` and ``sparse`` (every term
    kept has at least the ``threshold``'s share); ``noise``: field -> the data's known noise, for
    :func:`bic`."""
    support = {c: 1.0 for k in names for c in names[k].values()}
    rounds = []
    while True:
        rounds.append(_round(library, names, threshold, refit(state, dict(support), {}), support, noise))
        state = rounds[-1]["state"]
        if not rounds[-1]["drop"]:
            return rounds + swap(library, names, threshold, refit, rounds[-1], noise)
        support.update(dict.fromkeys(rounds[-1]["drop"], 0.0))


def swap(library: dict, names: dict, threshold: float, refit: Callable, best: dict, noise: dict | None = None) -> list[dict]:
    """Rounds that replace one term of ``best``'s formulas by a candidate the formula lacks, each
    re-solved from ``best``'s parameters with the newcomer started where it takes over as much of
    the replaced term's values as it can (their least-squares ratio along the solution); the swap
    that lowers the information criterion most becomes ``best``, for at most ``SWAP_PASSES``."""
    rounds, seen = [], {_key(best["support"])}
    for _ in range(SWAP_PASSES):
        trials = []
        for k, (terms, features) in library.items():
            kept = [i for i, t in enumerate(terms) if best["support"][names[k][t]]]
            for i in kept:
                for j in (j for j in range(len(terms)) if j not in kept):
                    old, new = names[k][terms[i]], names[k][terms[j]]
                    support = {**best["support"], old: 0.0, new: 1.0}
                    if _key(support) in seen:
                        continue
                    seen.add(_key(support))
                    ratio = features[:, i] @ features[:, j] / max(features[:, j] @ features[:, j], 1e-300)
                    done = refit(best["state"], dict(support), {new: best["fitted"][old] * float(ratio)})
                    trials.append(_round(library, names, threshold, done, support, noise))
        rounds += trials
        better = min((r for r in trials if np.isfinite(r["bic"])), key=lambda r: r["bic"], default=None)
        if better is None or better["bic"] >= best["bic"]:  # (a blown-up best's NaN: any finite swap is better)
            break
        best = better
    return rounds


def _round(library: dict, names: dict, threshold: float, done: tuple, support: dict, noise: dict | None) -> dict:
    """The record of one re-solve ``done`` (a refit's result) with ``support``: the public keys of
    :func:`eliminate`, and ``support``, ``fitted`` (coefficients by name), ``state`` and ``drop``
    (the coefficients elimination drops next) for the search."""
    fitted, misfit, stop, state = done
    formulas, drop, sparse = {}, [], True
    for k, (terms, features) in library.items():
        coef = np.array([fitted[names[k][t]] * support[names[k][t]] for t in terms])
        total = np.sqrt(np.mean((features @ coef) ** 2)) or 1.0
        share = np.where(coef != 0, np.abs(coef) * np.sqrt(np.mean(features**2, axis=0)) / total, np.inf)
        kept = [i for i in range(len(terms)) if coef[i] != 0]
        sparse &= bool(all(share[i] >= threshold for i in kept))
        if len(kept) > 1:
            drop += [names[k][terms[i]] for i in kept if share[i] < threshold or share[i] == share.min()]
        formulas[k] = Formula(tuple(terms[i] for i in kept), tuple(float(coef[i]) for i in kept), 0.0).text()
    return {"formulas": formulas, "misfit_rms": {f: m for f, (m, _) in misfit.items()},
            "bic": bic(misfit, int(sum(support.values())), noise), "stop": stop, "sparse": sparse,
            "support": dict(support), "fitted": fitted, "state": state, "drop": drop}  # fmt: skip


def _key(support: dict) -> frozenset:
    """The coefficients a support keeps: one per model tried."""
    return frozenset(c for c, on in support.items() if on)


def bic(misfit: dict[str, tuple[float, int]], k: int, noise: dict[str, float] | None = None) -> float:
    """Bayesian information criterion of a formula model with ``k`` coefficients: each field's
    Gaussian likelihood with the known ``noise`` (field -> standard deviation) when it is given
    for every field, else with the field's own variance estimated from the misfit.

    Why the known noise when there is one: with the variance estimated, the likelihood grows
    without bound as the misfit falls below the noise (n ln m²), so from few data a model with
    many terms that fits the noise itself wins (Lotka-Volterra from 10 points: six terms per
    formula, misfit far below the noise); with the noise known, fitting below it gains at most
    one unit per observation (n m² / sigma²)."""
    n = sum(c for _, c in misfit.values())
    if noise and all(f in noise for f in misfit):
        fit = sum(c * (m / noise[f]) ** 2 for f, (m, c) in misfit.items())
    else:
        fit = sum(c * np.log(max(m, 1e-300) ** 2) for m, c in misfit.values())
    return float(fit + k * np.log(n))


def field_noise(data: list, fields: list[str]) -> dict[str, float]:
    """Each measured field's noise standard deviation, where every data set measuring it gives a
    positive one (data sets with different noise: the root mean square over their measurements)."""
    out = {}
    for j, f in enumerate(fields):
        sets = [(d.noise[j], int(np.isfinite(d.values[:, j]).sum())) for d in data]
        sets = [(s, c) for s, c in sets if c]
        if sets and all(np.isfinite(s) and s > 0 for s, _ in sets):
            out[f] = float(np.sqrt(sum(c * s**2 for s, c in sets) / sum(c for _, c in sets)))
    return out


def summary(rounds: list[dict]) -> dict:
    """The discovery metrics of the elimination's rounds: the chosen formulas, their misfit, every
    round, and the verification in words. The choice is among the rounds whose every term has at
    least the threshold's share (the sparsity asked for): with clean data a term of 1e-8 may still
    lower the misfit enough to win on the information criterion alone."""
    best = min([r for r in rounds if r["sparse"]] or rounds, key=lambda r: r["bic"] if np.isfinite(r["bic"]) else np.inf)
    return {"discovered": best["formulas"], "discovered_misfit_rms": best["misfit_rms"],
            "discovery_candidates": [{k: r[k] for k in ("formulas", "misfit_rms", "bic")} for r in rounds],
            "verification": (f"re-solved with the formulas in place of the networks, {len(rounds)} times, dropping the "
                             f"least important terms each time, then swapping single terms; chose the formulas "
                             f"with the lowest information criterion ({best['stop']})")}  # fmt: skip
