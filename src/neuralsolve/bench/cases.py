"""Reference problems with known answers: the accuracy tests and ``benchmarks/accuracy.py`` share them.

Each case is a problem, the solve settings that meet its target on a 2-core CPU, and a function
returning the solution's relative L2 error against an exact or independent classical solution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from ..problem.conditions import Dirichlet, Initial
from ..problem.domain import Disk, Interval, Rectangle, SpaceTime
from ..problem.problem import Problem
from ..solution import Solution


@dataclass(frozen=True)
class Case:
    """A problem with a trusted reference and the accuracy it must reach."""

    name: str
    problem: Problem
    target: float  # relative L2 error to reach
    settings: dict = field(default_factory=dict)
    error: Callable[[Solution], float] | None = None

    def relative_error(self, sol: Solution) -> float:
        """Relative L2 error of ``sol`` against this case's reference."""
        if self.error is not None:
            return self.error(sol)
        return sol.metrics["l2_relative_error"][self.problem.fields[0]]


def _settings(interior: int | None = None, adam: int = 1000, lbfgs: int = 2000, **extra) -> dict:
    from ..loss.terms import Points
    from ..train.phases import LBFGS, Adam

    points = Points(interior=interior, boundary=extra.pop("boundary", None))
    return {"points": points, "phases": [Adam(adam), LBFGS(lbfgs)], **extra}


def poisson_1d() -> Case:
    problem = Problem(Interval(-1, 1), "u", "-diff(u, x, 2) = pi**2*sin(pi*x)", [Dirichlet("u", 0.0)],
                      exact={"u": "sin(pi*x)"}, name="Poisson 1D")  # fmt: skip
    return Case("poisson_1d", problem, 1e-5, _settings())


def poisson_2d() -> Case:
    problem = Problem(Rectangle((0, 1), (0, 1)), "u", "-diff(u, x, 2) - diff(u, y, 2) = 2*pi**2*sin(pi*x)*sin(pi*y)",
                      [Dirichlet("u", 0.0)], exact={"u": "sin(pi*x)*sin(pi*y)"}, name="Poisson 2D")  # fmt: skip
    return Case("poisson_2d", problem, 1e-4, _settings(interior=1024))


def heat() -> Case:
    problem = Problem(SpaceTime(Interval(0, 1), (0, 1)), "u", "diff(u, t) = diff(u, x, 2)",
                      [Dirichlet("u", 0.0), Initial("u", "sin(pi*x)")],
                      exact={"u": "exp(-pi**2*t)*sin(pi*x)"}, name="Heat")  # fmt: skip
    return Case("heat", problem, 1e-3, _settings(interior=1024))


def damped_oscillator(c: float = 0.5, k: float = 4.0) -> Case:
    from ..nn.mlp import MLP

    problem = Problem(Interval(0, 10, "t"), ["y", "v"], ["diff(y, t) = v", "diff(v, t) = -c*v - k*y"],
                      [Initial("y", 1.0), Initial("v", 0.0)], parameters={"c": c, "k": k},
                      name="Damped oscillator")  # fmt: skip
    t = np.linspace(0, 10, 1001)
    ref = solve_ivp(lambda _, z: [z[1], -c * z[1] - k * z[0]], (0, 10), [1.0, 0.0], t_eval=t,
                    rtol=1e-12, atol=1e-12).y.T  # fmt: skip

    def error(sol: Solution) -> float:  # both fields together, against SciPy's solve_ivp
        return float(np.linalg.norm(sol(t[:, None]) - ref) / np.linalg.norm(ref))

    return Case("damped_oscillator", problem, 1e-4, _settings(interior=512, adam=2000, lbfgs=8000, network=MLP(width=64)), error)


def laplace_disk() -> Case:
    problem = Problem(Disk(), "u", "diff(u, x, 2) + diff(u, y, 2) = 0", [Dirichlet("u", "x**2 - y**2")],
                      exact={"u": "x**2 - y**2"}, name="Laplace on the unit disk")  # fmt: skip
    return Case("laplace_disk", problem, 1e-4, _settings(interior=1024, boundary=256, lbfgs=4000))


CASES = {f.__name__: f for f in (poisson_1d, poisson_2d, heat, damped_oscillator, laplace_disk)}
