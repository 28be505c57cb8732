"""``classical_reference``: pick the classical method that fits a problem, if any does."""

from __future__ import annotations

from .._errors import ProblemError
from ..problem.problem import Problem
from .mol import mol_reference
from .ode import ode_reference
from .result import Reference


def classical_reference(problem: Problem, *, nodes: int = 4096) -> Reference | None:
    """A classical solution of ``problem`` to verify a network against, or None if no method applies.

    - ODE initial-value problems in ``t`` (equations as strings): ``solve_ivp`` with dense output.
    - Evolution equations ``u_t = F(x, t, u, u_x, u_xx)`` on an interval with exact Dirichlet or
      periodic ends: the method of lines on ``nodes`` grid points.

    Anything else (Python-function equations, several space dimensions, second order in time,
    Neumann ends, boundary-value problems, ...) gives None; so does an integration that fails, with a
    ``RuntimeWarning`` saying why.

    Raises:
        ProblemError: if ``problem`` is not a Problem or ``nodes`` is not a usable grid size.
    """
    if not isinstance(problem, Problem):
        raise ProblemError(f"classical_reference needs a neuralsolve Problem, got {type(problem).__name__}")
    coords = problem.domain.coords
    if coords == ("t",):
        return ode_reference(problem)
    if len(coords) == 2 and coords[1] == "t":
        return mol_reference(problem, nodes=nodes)
    return None
