"""The `make demo` example: 1-D Poisson, -u'' = pi^2 sin(pi x) on [-1, 1] with u(±1) = 0.

Solves it, checks the answer against the exact solution u = sin(pi x), and writes
runs/demo/metrics.json, runs/demo/solution.npz and runs/demo/solution.png.
"""

import json
import pathlib

import numpy as np

import neuralsolve as ns

OUT = pathlib.Path("runs/demo")


def main() -> None:
    problem = ns.Problem(
        ns.Interval(-1, 1), "u", "-diff(u, x, 2) = pi**2*sin(pi*x)",
        [ns.Dirichlet("u", 0.0)], exact={"u": "sin(pi*x)"}, name="Poisson 1D",
    )  # fmt: skip
    print(f"Solving {problem.name}: -u'' = pi^2 sin(pi x), u(-1) = u(1) = 0 (float64)")
    sol = ns.solve(problem, callback=ns.print_progress, log_every=500)
    OUT.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-1, 1, 401)[:, None]
    u, exact = sol(x, field="u"), np.sin(np.pi * x[:, 0])
    np.savez(OUT / "solution.npz", points=x, u=u, exact=exact)
    metrics = {"problem": problem.name, "status": sol.status, "steps": sol.steps, "phases": sol.phases, **sol.metrics}
    (OUT / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _plot(x[:, 0], u, exact)
    print(f"status: {sol.status}; relative L2 error vs exact: {sol.metrics['l2_relative_error']['u']:.2e}")
    print(f"results: {OUT.resolve()}/ (metrics.json, solution.npz, solution.png)")


def _plot(x, u, exact) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(x, exact, "k-", lw=3, alpha=0.3, label="exact")
    a.plot(x, u, "C0--", label="neuralsolve")
    a.set(xlabel="x", ylabel="u", title="solution")
    a.legend()
    b.semilogy(x, np.abs(u - exact) + 1e-300)
    b.set(xlabel="x", ylabel="|u - exact|", title="pointwise error")
    fig.tight_layout()
    fig.savefig(OUT / "solution.png", dpi=110)


if __name__ == "__main__":
    main()
