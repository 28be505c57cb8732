"""neuralsolve's settings for each benchmark problem, all in one table (:data:`RECIPES`).

A recipe is a problem file's ``[solver]`` table written as a dict, read by the same parser as
problem files: one spelling for settings everywhere, and the JSON record of a benchmark run states
exactly what was run. Tuning a problem means editing one entry; the Burgers entry is the
bundled ``examples/burgers.toml`` recipe (in this package; a test keeps the two equal).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """Solve settings for one benchmark, as a ``[solver]`` table (see docs/problem-files.md)."""

    solver: dict

    @property
    def precision(self) -> str:
        return self.solver.get("precision", "float64")

    @property
    def adam(self) -> int:
        """Adam steps in all (progress is logged about 20 times over them)."""
        return sum(p.get("steps", 0) for p in self.solver.get("phases", []) if p.get("method") == "adam")

    def capped(self, steps: int | None) -> Recipe:
        """This recipe with every optimiser phase cut to at most ``steps`` (for smoke tests)."""
        if steps is None:
            return self
        solver = copy.deepcopy(self.solver)
        for phase in solver.get("phases", []):
            phase["steps"] = min(phase.get("steps", steps), steps)
        return Recipe(solver)

    def settings(self) -> dict:
        """Keyword arguments of :func:`neuralsolve.solve`."""
        from ..spec.load import solver_settings

        return solver_settings(self.solver, "benchmark recipe")

    def record(self) -> dict:
        """The recipe as JSON-ready data."""
        return copy.deepcopy(self.solver)


def _plain(width: int, depth: int, interior: int, adam: int, second: str, steps: int, **extra) -> Recipe:
    """A tanh MLP, Sobol points, Adam then one quasi-Newton phase, float64."""
    return Recipe({"network": {"width": width, "depth": depth, "activation": "tanh"},
                   "points": {"interior": interior, **extra.pop("points", {})},
                   "phases": [{"method": "adam", "steps": adam}, {"method": second, "steps": steps}],
                   "precision": "float64", **extra})  # fmt: skip


RECIPES: dict[str, Recipe] = {
    # the bundled burgers.toml: self-scaled Broyden on a small network, 6.3e-5 (docs/optimizers.md)
    "burgers": _plain(20, 3, 12288, 1000, "ssbroyden", 4000),
    "allen_cahn": _plain(20, 3, 8192, 1000, "ssbroyden", 6000),
    "poisson_2d": _plain(32, 3, 1024, 1000, "lbfgs", 2000),
    # 1.35e-4 with 3000 self-scaled Broyden steps (measured under load, 637 s)
    "helmholtz_2d": _plain(32, 3, 2048, 1000, "ssbroyden", 4000),
    # exactly periodic in x; 3 time windows marched in order (one network over the whole span: 0.65);
    # = the bundled convection.toml. 5 windows reach 3.2e-3 but compile too often to fit DeepXDE's 38 s
    "convection": _plain(32, 3, 2048, 200, "lbfgs", 1500, windows=3),
    # 10 windows, each about one period of the faster mode; annealing lifts the start-time terms
    # above the residual (C² = 100 makes it large) during Adam
    "wave": _plain(32, 3, 1024, 1000, "lbfgs", 1000, windows=10, weighting="annealing"),
    "klein_gordon": _plain(32, 3, 2048, 1000, "lbfgs", 2000),
    "diffusion_reaction": _plain(32, 4, 2048, 1000, "lbfgs", 2000),
}
"""One recipe per benchmark problem; the only place to tune neuralsolve's benchmark settings."""
