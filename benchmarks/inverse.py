"""Inverse-problem benchmarks (issue 13): constants and hidden terms from sparse, noisy data.

    python benchmarks/inverse.py lorenz --noise 0 0.01 0.05 --seeds 0 1 2
    python benchmarks/inverse.py calibration --seeds 0 ... 19      # Lorenz at 1 % noise
    python benchmarks/inverse.py lv --points 30 --noise 0.05 --seeds 0 1 2
    python benchmarks/inverse.py burgers --points 2000 --noise 0 0.01 --seeds 0
    python benchmarks/inverse.py summary results.jsonl

Each run appends one JSON line to ``--out`` (default benchmarks/results-inverse.jsonl): the case,
its settings, the estimates, standard errors, errors and wall time. Noise definitions follow the
published protocols, and each is stated: Lorenz and Burgers, a fraction of each field's standard
deviation (Raissi et al.); Lotka–Volterra, of each field's mean (the UPINN reproduction). Data are
generated here with SciPy (Lorenz, Lotka–Volterra) or drawn from DeepXDE's Burgers grid (the
Cole–Hopf solution to 5e-12), so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

import neuralsolve as ns

HERE = pathlib.Path(__file__).parent
BURGERS = HERE.parent / "src" / "neuralsolve" / "bench" / "data" / "burgers_deepxde.npz"  # = ../shared/data/
LV_TRUE = {"F": {"x*y": -0.9}, "G": {"x*y": 0.8}}


def lorenz(noise: float, seed: int) -> dict:
    """σ, ρ, β = 10, 15, 8/3 from 25 observation times on [0, 3], start (-8, 7, 27) known."""
    s, r, b = 10.0, 15.0, 8 / 3
    t = np.linspace(0, 3, 25)
    sol = solve_ivp(lambda _, z: [s * (z[1] - z[0]), z[0] * (r - z[2]) - z[1], z[0] * z[1] - b * z[2]], (0, 3),
                    [-8, 7, 27], t_eval=t, rtol=1e-12, atol=1e-12)  # fmt: skip
    rng = np.random.default_rng(seed)
    cols = {"t": t, **{f: v + noise * np.std(v) * rng.normal(size=v.size) for f, v in zip("xyz", sol.y)}}
    sigma = {f: noise * np.std(v) for f, v in zip("xyz", sol.y)} if noise else None
    problem = ns.Problem(ns.Interval(0, 3, coord="t"), ["x", "y", "z"],
                         ["diff(x, t) = C1*(y - x)", "diff(y, t) = x*(C2 - z) - y", "diff(z, t) = x*y - C3*z"],
                         [ns.Initial("x", -8), ns.Initial("y", 7), ns.Initial("z", 27)],
                         unknowns={c: ns.Unknown(1.0, positive=True) for c in ("C1", "C2", "C3")},
                         exact={"C1": "10", "C2": "15", "C3": "8/3"}, data=ns.Data(cols, noise=sigma),
                         name=f"Lorenz, {noise:.0%} noise, seed {seed}")  # fmt: skip
    return _solve(problem, {"case": "lorenz", "noise": noise, "seed": seed})


def lotka_volterra(points: int, noise: float, seed: int) -> dict:
    """x' = 1.3 x + F, y' = -1.8 y + G with F = -0.9 x y, G = 0.8 x y hidden; ``points``
    observation times on [0, 3], noise a fraction of each field's mean; no initial values given."""
    t = np.linspace(0, 3, points)
    sol = solve_ivp(lambda _, z: [1.3 * z[0] - 0.9 * z[0] * z[1], -1.8 * z[1] + 0.8 * z[0] * z[1]], (0, 3),
                    [0.44249296, 4.6280594], t_eval=t, rtol=1e-12, atol=1e-12)  # fmt: skip
    rng = np.random.default_rng(seed)
    cols = {"t": t, **{f: v + noise * np.mean(v) * rng.normal(size=v.size) for f, v in zip("xy", sol.y)}}
    sigma = {f: noise * np.mean(v) for f, v in zip("xy", sol.y)} if noise else None
    problem = ns.Problem(ns.Interval(0, 3, coord="t"), ["x", "y"], ["diff(x, t) = 1.3*x + F", "diff(y, t) = -1.8*y + G"],
                         hidden={"F": ns.Hidden(["x", "y"]), "G": ns.Hidden(["x", "y"])},
                         discover=ns.Discover(degree=2), data=ns.Data(cols, noise=sigma),
                         name=f"Lotka-Volterra, {points} points, {noise:.0%} noise, seed {seed}")  # fmt: skip
    record = _solve(problem, {"case": "lv", "points": points, "noise": noise, "seed": seed})
    record["exact_terms"] = _recovered(record["discovered"])
    record["pysindy_alone"] = pysindy_alone(t, np.stack([cols["x"], cols["y"]], axis=1))
    return record


def _recovered(discovered: dict) -> dict:
    """Whether each formula has exactly the true terms, and its coefficients' relative errors."""
    out = {}
    for name, truth in LV_TRUE.items():
        terms = _terms(discovered.get(name, "0"))
        errors = {t: abs(terms[t] - c) / abs(c) for t, c in truth.items() if t in terms}
        out[name] = {"terms": set(terms) == set(truth), "errors": errors}
    out["success_2pct"] = all(v["terms"] and max(v["errors"].values()) <= 0.02 for v in out.values())
    return out


def _terms(formula: str) -> dict:
    """``"-0.9*x*y + 0.1*x"`` -> ``{"x*y": -0.9, "x": 0.1}`` (parsed as mathematics by neuralsolve)."""
    from neuralsolve.problem.parse import Namespace, parse_expression

    expr = parse_expression(formula, Namespace(("x", "y")), "formula").expand()
    return {str(term).replace(" ", ""): float(c) for term, c in expr.as_coefficients_dict().items() if c != 0}


def pysindy_alone(t: np.ndarray, X: np.ndarray) -> dict:
    """PySINDy on the same samples: finite-difference derivatives, degree-2 library, STLSQ; the
    known linear parts (1.3 x, -1.8 y) are subtracted so that it looks for F and G as we do."""
    import pysindy as ps

    dX = ps.FiniteDifference()._differentiate(X, t)
    target = dX - np.stack([1.3 * X[:, 0], -1.8 * X[:, 1]], axis=1)
    lib = ps.PolynomialLibrary(degree=2).fit(X)
    theta = lib.transform(X)
    names = [n.replace(" ", "*").replace("x0", "x").replace("x1", "y") for n in lib.get_feature_names()]
    found = {}
    for k, name in enumerate(("F", "G")):
        opt = ps.STLSQ(threshold=0.05, normalize_columns=True)
        opt.fit(np.asarray(theta), target[:, k : k + 1])
        coef = np.asarray(opt.coef_)[0]
        found[name] = " + ".join(f"{c:.6g}*{_power(n)}" for n, c in zip(names, coef) if c != 0) or "0"
    return {"discovered": found, **_recovered(found)}


def _power(name: str) -> str:
    """PySINDy's ``x^2*y`` -> ``x**2*y``; ``1`` stays."""
    return name.replace("^", "**")


def burgers(points: int, noise: float, seed: int) -> dict:
    """λ1 = 1, ν = 0.01/π from ``points`` draws of DeepXDE's 256 x 100 Burgers grid (Raissi et
    al. 2019), noise a fraction of std(u); no initial or boundary values (data only)."""
    data = np.load(BURGERS)
    X, T = np.meshgrid(data["x"].ravel(), data["t"].ravel(), indexing="ij")
    u = data["usol"]
    rng = np.random.default_rng(seed)
    pick = rng.choice(u.size, points, replace=False)
    values = u.ravel()[pick] + noise * np.std(u) * rng.normal(size=points)
    cols = {"x": X.ravel()[pick], "t": T.ravel()[pick], "u": values}
    problem = ns.Problem(ns.Rectangle((-1, 1), (0, 0.99), coords=("x", "t")), "u",
                         "diff(u, t) + lambda1*u*diff(u, x) = nu*diff(u, x, 2)",
                         unknowns={"nu": ns.Unknown(0.1, positive=True), "lambda1": ns.Unknown(0.5)},
                         exact={"nu": "0.01/pi", "lambda1": "1"},
                         data=ns.Data(cols, noise=noise * np.std(u) if noise else None),
                         name=f"Burgers, N = {points}, {noise:.0%} noise, seed {seed}")  # fmt: skip
    return _solve(problem, {"case": "burgers", "points": points, "noise": noise, "seed": seed})


def _solve(problem: ns.Problem, record: dict) -> dict:
    began = time.perf_counter()
    sol = ns.solve(problem)
    m = sol.metrics
    record.update(seconds=round(time.perf_counter() - began, 1), status=sol.status, steps=sol.steps,
                  truth=dict(problem.inverse.exact),
                  unknowns=m.get("unknowns"), stderr=m.get("unknowns_stderr"), stderr_method=m.get("unknowns_stderr_method"),
                  errors=m.get("unknown_errors"), deviations=m.get("unknown_deviations"),
                  misfit=m.get("data_misfit_rms"), discovered=m.get("discovered"),
                  regression=m.get("discovered_regression"))  # fmt: skip
    return record


def summary(path: pathlib.Path) -> None:
    """Medians per case and setting, and the calibration and success rates."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups: dict = {}
    for r in rows:
        key = (r["case"], r.get("points"), r["noise"])
        groups.setdefault(key, []).append(r)
    for (case, points, noise), rs in sorted(groups.items(), key=str):
        label = f"{case} N={points} noise={noise:.0%}" if points else f"{case} noise={noise:.0%}"
        secs = np.median([r["seconds"] for r in rs])
        if case == "lv":
            rates = {who: (sum(_right_terms(r[key]) for r in rs), sum(r[key]["success_2pct"] for r in rs))
                     for who, key in (("neuralsolve", "exact_terms"), ("PySINDy alone", "pysindy_alone"))}  # fmt: skip
            print(f"{label}: " + "; ".join(f"{who} exact terms {t}/{len(rs)}, and every coefficient within 2% {c}/{len(rs)}"
                                           for who, (t, c) in rates.items()) + f"; median {secs:.0f} s")  # fmt: skip
            continue
        errors = {k: 100 * np.median([r["errors"][k] for r in rs]) for k in rs[0]["errors"]}
        within = [d <= 2 for r in rs for d in _z(r).values()]
        print(f"{label}: median errors (%) " + ", ".join(f"{k} {v:.3f}" for k, v in errors.items())
              + f"; truth within 2 SE in {sum(within)}/{len(within)}; {len(rs)} seeds; median {secs:.0f} s")  # fmt: skip


def _right_terms(recovered: dict) -> bool:
    """Whether both formulas have exactly the true terms, whatever their coefficients."""
    return all(recovered[name]["terms"] for name in LV_TRUE)


def _z(record: dict) -> dict:
    """|estimate - truth| / reported standard error, per constant."""
    se = record["stderr"]
    return {k: abs(record["unknowns"][k] - v) / se[k] if se[k] else float("inf") for k, v in record["truth"].items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("lorenz", "calibration", "lv", "burgers", "summary"))
    parser.add_argument("file", nargs="?", default=str(HERE / "results-inverse.jsonl"))
    parser.add_argument("--noise", type=float, nargs="+", default=[0.01])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--points", type=int, nargs="+", default=[30])
    parser.add_argument("--out", default=str(HERE / "results-inverse.jsonl"))
    args = parser.parse_args(argv)
    if args.case == "summary":
        return summary(pathlib.Path(args.file))
    runs = []
    for noise in ([0.01] if args.case == "calibration" else args.noise):
        for seed in args.seeds:
            if args.case in ("lorenz", "calibration"):
                runs.append(lambda n=noise, s=seed: lorenz(n, s))
            else:
                for p in args.points:
                    fn = lotka_volterra if args.case == "lv" else burgers
                    runs.append(lambda n=noise, s=seed, p=p, fn=fn: fn(p, n, s))
    ns.enable_compilation_cache()
    for run in runs:
        record = run()
        with open(args.out, "a") as out:
            out.write(json.dumps(record, default=_plain) + "\n")
        print(json.dumps(record, default=_plain), file=sys.stderr)


def _plain(value):
    return sorted(value) if isinstance(value, set) else float(value)


if __name__ == "__main__":
    main()
