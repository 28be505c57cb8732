"""``classical_reference``: pick the classical method that fits a problem, if any does."""

from __future__ import annotations

from .._errors import ProblemError
from ..problem.problem import Problem
from .bvp import bvp_reference
from .mol import mol_reference
from .ode import ode_reference
from .plan import BVP, CONSERVED, FEM, FEM_TIME, IVP, MOL, classical_method
from .result import Reference
from .threads import single_threaded


def classical_reference(problem: Problem, *, nodes: int | None = None, estimate: bool = True) -> Reference | None:
    """A classical solution of ``problem`` to verify a network against, or None if no method applies.

    Every reference estimates its own relative L2 error (``Reference.error_estimate``) by solving
    twice, at two tolerances or resolutions, and comparing the two:

    - ODE initial-value problems in ``t`` (equations as strings, every condition at the start
      time): ``solve_ivp`` (LSODA, rtol 1e-11) with dense output; estimate: a second solve at
      tolerances 100 times tighter.
    - ODE boundary-value problems on an interval in any coordinate (equations as strings;
      values, Neumann, Robin or other conditions at either end, as many as the first-order
      system has states): ``solve_bvp`` collocation to a residual of 1e-10, with its dense output;
      estimate: a second solve at 1e-8 from another mesh (an overestimate).
    - Conserved quantities, ``diff(Q_i, x) = 0`` for every equation on an interval, every field's
      value given at one end: the algebraic equations ``Q(u(x), x) = Q(u(x_b), x_b)`` by Newton's
      method, continued across the interval and straight through critical points (a sonic point)
      onto the branch beyond (:mod:`.conserved`); estimate: the rounding propagated through the
      Jacobian's inverse, or the difference from a continuation on a grid twice as fine.
    - Evolution equations ``u_t = F(x, t, u, u_x, u_xx)`` on an interval with Dirichlet, Neumann,
      Robin (any condition affine in the end values and slopes) or periodic ends: the spectral
      method of lines (:mod:`.mol`), refined to at most ``nodes`` collocation nodes per field
      (default 512); estimate: the differences between the last two grids and two tolerances.

    - Steady linear second-order equations of one field on a rectangle, a disk or a plane shape
      (:mod:`.plane`), and linear parabolic ones ``u_t = L u + f`` there (:mod:`.plane_evolution`):
      isoparametric P2 finite elements on Triangle meshes (scikit-fem), TR-BDF2 in time;
      estimate: Richardson's, from three meshes (and three step sizes), with the observed order.

    ``estimate=False`` skips the second solve of ODEs (``error_estimate`` is then None), for
    callers that only need the solution, many times over (the inverse family's sensitivities).

    Anything else (Python-function equations, systems in two space dimensions, three space
    dimensions, second order in time, periodic ODEs, ...) gives None; so does a solve that fails, with a ``RuntimeWarning`` saying why.

    Raises:
        ProblemError: if ``problem`` is not a Problem or ``nodes`` is not a usable grid size (an
            integer of at least 16).
    """
    if not isinstance(problem, Problem):
        raise ProblemError(f"classical_reference needs a neuralsolve Problem, got {type(problem).__name__}")
    method = classical_method(problem)  # the same choice `neuralsolve check` reports
    with single_threaded():
        if method == IVP:
            return ode_reference(problem, estimate=estimate)
        if method == BVP:
            return bvp_reference(problem, estimate=estimate)
        if method == CONSERVED:
            from .conserved import conserved_reference

            return conserved_reference(problem, estimate=estimate)
        if method == MOL:
            return mol_reference(problem, nodes=nodes)
        if method == FEM:
            from .plane import plane_reference

            return plane_reference(problem)
        if method == FEM_TIME:
            from .plane_evolution import plane_evolution_reference

            return plane_evolution_reference(problem)
    return None
