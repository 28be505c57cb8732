"""``classical_reference``: pick the classical method that fits a problem, if any does."""

from __future__ import annotations

from .._errors import ProblemError
from ..problem.problem import Problem
from .bvp import bvp_reference
from .mol import mol_reference
from .ode import ode_reference
from .plan import BVP, IVP, MOL, classical_method
from .result import Reference


def classical_reference(problem: Problem, *, nodes: int = 4096) -> Reference | None:
    """A classical solution of ``problem`` to verify a network against, or None if no method applies.

    - ODE initial-value problems in ``t`` (equations as strings, every condition at the start
      time): ``solve_ivp`` with dense output.
    - ODE boundary-value problems on an interval in any coordinate (equations as strings;
      values, Neumann, Robin or other conditions at either end, as many as the first-order
      system has states): ``solve_bvp`` collocation to a residual of 1e-10, with its dense output.
    - Evolution equations ``u_t = F(x, t, u, u_x, u_xx)`` on an interval with exact Dirichlet or
      periodic ends: the method of lines on ``nodes`` grid points.

    Anything else (Python-function equations, several space dimensions, second order in time,
    Neumann ends of evolution equations, periodic ODEs, ...) gives None; so does a solve that
    fails, with a ``RuntimeWarning`` saying why.

    Raises:
        ProblemError: if ``problem`` is not a Problem or ``nodes`` is not a usable grid size.
    """
    if not isinstance(problem, Problem):
        raise ProblemError(f"classical_reference needs a neuralsolve Problem, got {type(problem).__name__}")
    method = classical_method(problem)  # the same choice `neuralsolve check` reports
    if method == IVP:
        return ode_reference(problem)
    if method == BVP:
        return bvp_reference(problem)
    if method == MOL:
        return mol_reference(problem, nodes=nodes)
    return None
