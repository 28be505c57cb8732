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
    def phases(self) -> list[dict]:
        """The optimiser phases as ``[solver]`` entries: the recipe's, else the forward default's
        (method and steps). The inverse family runs a longer L-BFGS by default, but both begin with
        the same Adam phase, and Adam's steps and the methods are all that ``adam`` and ``capped``
        (smoke tests) read."""
        if "phases" in self.solver:
            return self.solver["phases"]
        from ..train.phases import default_phases

        return [{"method": p.name, "steps": p.steps} for p in default_phases()]

    @property
    def adam(self) -> int:
        """Adam steps in all (progress is logged about 20 times over them)."""
        return sum(p.get("steps", 0) for p in self.phases if p.get("method") == "adam")

    def capped(self, steps: int | None) -> Recipe:
        """This recipe with every optimiser phase cut to at most ``steps`` (for smoke tests; a
        recipe on the default phases gets them written out, cut)."""
        if steps is None:
            return self
        solver = {**copy.deepcopy(self.solver), "phases": copy.deepcopy(self.phases)}
        for phase in solver["phases"]:
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

INVERSE_RECIPES: dict[str, Recipe] = {
    # the issue asks for neuralsolve on its defaults: an empty [solver] table
    name: Recipe({}) for name in ("lorenz_inverse", "lorenz_inverse_noise0", "lorenz_inverse_noise5")
}
"""The inverse benchmarks' recipes (kept apart from :data:`RECIPES`, the forward suite's)."""


def recipe_for(name: str) -> Recipe:
    """The recipe of the benchmark ``name``, forward or inverse."""
    return RECIPES[name] if name in RECIPES else INVERSE_RECIPES[name]
