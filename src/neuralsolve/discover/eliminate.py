"""Verification of discovered formulas with the equations in the loop, shared by every method
family that learns hidden terms.

Along one solution the candidate terms are nearly collinear, so a hidden network's values alone
can rarely tell the true terms from a mix of others once the data are noisy. Verification settles
it by thresholding *inside the equations*: the problem is re-solved with every candidate term in
place of the networks, the coefficients fitted together with the rest (an inverse problem for
constants, so a formula must produce a solution of the equations that fits the data); each
formula's term of smallest share (and every term below the threshold) is dropped and the re-solve
repeats on the terms left, down to one term per formula (backward elimination). The formulas of
the round with the lowest Bayesian information criterion of the data misfit win: fewer terms,
unless more terms fit clearly better. A dropped term's coefficient is held at 0 (``support``),
so the rounds share one compiled solve.
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


def eliminate(library: dict, names: dict, threshold: float, refit: Callable) -> list[dict]:
    """Backward elimination: ``refit(support) -> (coefficients by name, {field: (rms, count)},
    stop)`` re-solves with the coefficients whose support is 0 held at 0; then each formula's
    term of smallest share (every term below ``threshold`` at once) is dropped, down to one term
    per formula. ``library``: hidden term -> (candidate terms, their values (n, k) where the
    solution goes); ``names``: hidden term -> {candidate term: coefficient name}. One record per
    round: ``formulas``, ``misfit_rms``, ``bic``, ``stop`` and ``sparse`` (every term kept has at
    least the ``threshold``'s share)."""
    support = {c: 1.0 for k in names for c in names[k].values()}
    rounds = []
    while True:
        fitted, misfit, stop = refit(dict(support))
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
        rounds.append({"formulas": formulas, "misfit_rms": {f: m for f, (m, _) in misfit.items()},
                       "bic": bic(misfit, int(sum(support.values()))), "stop": stop, "sparse": sparse})  # fmt: skip
        if not drop:
            return rounds
        support.update(dict.fromkeys(drop, 0.0))


def bic(misfit: dict[str, tuple[float, int]], k: int) -> float:
    """Bayesian information criterion of a formula model: each field's Gaussian likelihood with
    its own variance, and ``k`` coefficients."""
    n = sum(c for _, c in misfit.values())
    return float(sum(c * np.log(max(m, 1e-300) ** 2) for m, c in misfit.values()) + k * np.log(n))


def summary(rounds: list[dict]) -> dict:
    """The discovery metrics of the elimination's rounds: the chosen formulas, their misfit, every
    round, and the verification in words. The choice is among the rounds whose every term has at
    least the threshold's share (the sparsity asked for): with clean data a term of 1e-8 may still
    lower the misfit enough to win on the information criterion alone."""
    best = min([r for r in rounds if r["sparse"]] or rounds, key=lambda r: r["bic"])
    return {"discovered": best["formulas"], "discovered_misfit_rms": best["misfit_rms"],
            "discovery_candidates": [{k: r[k] for k in ("formulas", "misfit_rms", "bic")} for r in rounds],
            "verification": (f"re-solved with the formulas in place of the networks, {len(rounds)} times, dropping the "
                             f"least important terms each time; chose the formulas with the lowest information "
                             f"criterion ({best['stop']})")}  # fmt: skip
