"""How well can the Burgers inverse data determine λ1 and ν at all?

Issue 13's Burgers case (Raissi et al. 2019): u_t + λ1 u u_x = ν u_xx on [-1, 1] x [0, 0.99], λ1 = 1,
ν = 0.01/π, N points drawn from DeepXDE's 256 x 100 reference grid, noise a fraction of std(u) (the
same draws as ``benchmarks/inverse.py burgers``). Here the *whole model* is given: the initial
value -sin(πx) and the boundary values are known, and u(x, t; λ1, ν) is computed exactly by the
Cole–Hopf transform (v = λ1 u solves the standard Burgers equation from -λ1 sin(πx)):

    u = -∫ sin(π(x - η)) e^{-λ1 cos(π(x - η)) / (2πν)} e^{-η²/(4νt)} dη / ∫ e^{-λ1 cos(π(x - η)) / (2πν)} e^{-η²/(4νt)} dη,

by Gauss–Hermite quadrature in η = 2√(νt) z. Only (λ1, ν) are fitted, by maximum likelihood
(least squares, SciPy's Levenberg–Marquardt on the exact model). A PINN knows less (no initial or
boundary values, u itself learnt), so no method on these data can beat this fit's errors; its
standard errors bound what the issue's targets (λ1 within 0.5 %, ν within 1 %) can ask.

    python benchmarks/burgers_bound.py [--seeds 5] [--json FILE]

Checks the quadrature against the reference grid first (it is the Cole–Hopf solution to 5e-12).
"""

import argparse
import json
import pathlib
import sys

import numpy as np
from scipy.optimize import least_squares

DATA = pathlib.Path(__file__).resolve().parent.parent / "src" / "neuralsolve" / "bench" / "data" / "burgers_deepxde.npz"
TRUE = np.array([1.0, 0.01 / np.pi])  # λ1, ν
CELLS = [(n, noise) for n in (2000, 500) for noise in (0.0, 0.01, 0.05, 0.10)]
NODES, WEIGHTS = np.polynomial.hermite.hermgauss(200)  # 100 and 200 nodes agree with the reference to 4.2e-11


def cole_hopf(x: np.ndarray, t: np.ndarray, lam: float, nu: float) -> np.ndarray:
    """u(x, t) for u_t + lam u u_x = nu u_xx from -sin(πx), u(±1, t) = 0 (module docstring)."""
    x, t = np.asarray(x, float)[:, None], np.asarray(t, float)[:, None]
    y = x - 2.0 * np.sqrt(nu * t) * NODES[None, :]
    exponent = -lam * np.cos(np.pi * y) / (2 * np.pi * nu)
    w = WEIGHTS[None, :] * np.exp(exponent - exponent.max(axis=1, keepdims=True))  # scaled: no overflow
    return -np.sum(np.sin(np.pi * y) * w, axis=1) / np.sum(w, axis=1)


def grid():
    data = np.load(DATA)
    X, T = np.meshgrid(data["x"].ravel(), data["t"].ravel(), indexing="ij")
    return X.ravel(), T.ravel(), data["usol"].ravel()


def observations(points: int, noise: float, seed: int):
    """The same draws as benchmarks/inverse.py's Burgers case: (x, t, noisy u, noise std)."""
    x, t, u = grid()
    rng = np.random.default_rng(seed)
    pick = rng.choice(u.size, points, replace=False)
    sigma = noise * np.std(u)
    return x[pick], t[pick], u[pick] + sigma * rng.normal(size=points), sigma


def fit(x, t, obs, sigma):
    """(λ1, ν) by least squares on the exact model, and their standard errors (Gauss–Newton; with
    no noise, the errors are the fit's own and no standard error is given)."""
    fit = least_squares(lambda p: cole_hopf(x, t, p[0], p[1]) - obs, TRUE * [0.9, 1.2], method="lm",
                        x_scale=TRUE, xtol=1e-14, ftol=1e-14)  # fmt: skip
    se = np.sqrt(np.diag(np.linalg.inv(fit.jac.T @ fit.jac))) * sigma if sigma > 0 else np.zeros(2)
    return fit.x, se


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", help="also write every figure here")
    args = parser.parse_args()
    x, t, u = grid()
    check = np.abs(cole_hopf(x, t, *TRUE) - u).max()
    print(f"quadrature against the reference grid: max |difference| {check:.1e}")
    records = []
    for points, noise in CELLS:
        rows = [fit(*observations(points, noise, seed)) for seed in range(args.seeds)]
        est, se = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
        error, relative_se = 100 * np.abs(est / TRUE - 1), 100 * se / TRUE
        records.append({"points": points, "noise": noise, "estimates": est.tolist(), "stderr": se.tolist(),
                        "median_error_pct": np.median(error, axis=0).tolist(),
                        "median_stderr_pct": np.median(relative_se, axis=0).tolist()})  # fmt: skip
        print(f"N = {points}, {noise:.0%} noise: median error λ1 {np.median(error[:, 0]):.3f} %, ν {np.median(error[:, 1]):.3f} %;"
              f" median standard error λ1 {np.median(relative_se[:, 0]):.3f} %, ν {np.median(relative_se[:, 1]):.3f} %", flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"quadrature_check": check, "cells": records}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
