"""neuralsolve's settings for each benchmark problem, all in one table (:data:`RECIPES`).

A recipe is a problem file's ``[solver]`` table written as a dict, read by the same parser as
problem files: one spelling for settings everywhere, and the JSON record of a benchmark run states
exactly what was run. Each forward benchmark's recipe is the ``[solver]`` table of the bundled
example of its name, and its problem is that file's (problems.py): ``neuralsolve solve
examples/<name>.toml`` trains exactly as the benchmark row does.
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


def example_file(name: str):
    """The bundled example ``examples/<name>.toml`` (package data), where a benchmark's problem
    and recipe both come from."""
    from importlib import resources

    return resources.files("neuralsolve").joinpath("examples", f"{name}.toml")


def bundled_recipe(name: str) -> Recipe:
    """The ``[solver]`` table of the bundled example ``examples/<name>.toml``."""
    import tomllib

    return Recipe(tomllib.loads(example_file(name).read_text())["solver"])


FORWARD = ("burgers", "burgers_quick", "allen_cahn", "allen_cahn_periodic", "poisson_2d", "helmholtz_2d", "convection", "convection_50",
           "wave", "klein_gordon", "diffusion_reaction")  # fmt: skip
RECIPES: dict[str, Recipe] = {name: bundled_recipe(name) for name in FORWARD}
"""One recipe per benchmark problem: its bundled example's ``[solver]`` table (tune it there; each
file's comment says what it reaches)."""

INVERSE_RECIPES: dict[str, Recipe] = {
    # the issue asks for neuralsolve on its defaults: an empty [solver] table
    name: Recipe({}) for name in ("lorenz_inverse", "lorenz_inverse_noise0", "lorenz_inverse_noise5")
}
"""The inverse benchmarks' recipes (kept apart from :data:`RECIPES`, the forward suite's)."""


def recipe_for(name: str) -> Recipe:
    """The recipe of the benchmark ``name``, forward or inverse."""
    return RECIPES[name] if name in RECIPES else INVERSE_RECIPES[name]
