"""Which classical method checks a problem, decided from its form alone: nothing is solved, and no
SciPy is imported, so ``neuralsolve check`` can say it at once. :func:`classical_reference` dispatches
through :func:`classical_method`, so the two always name the same method.
"""

from __future__ import annotations

from ..problem.domain import TIME, Segment
from ..problem.problem import Problem
from .conditions import face_of

IVP, BVP, MOL = "solve_ivp", "solve_bvp", "method of lines"
FEM, FEM_TIME = "finite elements", "finite elements in space, TR-BDF2 in time"
SPECTRAL = "spectral elements"
CONSERVED = "conserved quantities"


def classical_method(problem: Problem) -> str | None:
    """The classical method tried on a (non-eigen) ``problem``: :data:`IVP` for an ODE
    initial-value problem in ``t``, :data:`BVP` for an ODE on an interval, :data:`MOL` for an
    evolution equation in one space dimension, :data:`FEM` for one equation in one field on a
    plane domain (a rectangle, a disk or a shape) and :data:`FEM_TIME` for that domain in time;
    :data:`CONSERVED` for 1-D equations that each read ``diff(Q, x) = 0`` with every field's value
    given at one end (solved as algebraic equations, through critical points: :mod:`.conserved`);
    None where no method fits (three or more space dimensions, periodic ODEs, equations given as
    Python functions). A method that is tried can
    still decline the problem (equations it cannot solve for their highest derivatives, conditions
    it does not support, second order in time) or fail; the solve then reports the residual only.
    """
    coords = problem.domain.coords
    if any(eq.expr is None for eq in problem.equations) or problem.inverse.hidden:
        return None  # a hidden term is a network: no classical method solves an equation with one
    if len(coords) == 1 and problem.periodic:
        return None  # periodic ODEs: no classical method here
    if coords == (TIME,) and _all_at_start(problem):
        return IVP
    if len(coords) == 1 and _conserved(problem):
        return CONSERVED
    if len(coords) == 1:
        return BVP
    if len(coords) == 2 and coords[1] == TIME:
        return MOL
    if len(problem.fields) == 1 and len(problem.equations) == 1 and _on_a_plane(problem.domain):
        return FEM_TIME if problem.domain.has_time else FEM
    return None


def _conserved(problem) -> bool:
    from .conserved import fits

    return fits(problem)


def _on_a_plane(domain) -> bool:
    """Two space coordinates making a rectangle, a disk or a plane shape (in time or not)."""
    space = [f for f in domain.factors if f.coords != (TIME,)]
    if sum(len(f.coords) for f in space) != 2:
        return False
    return len(space) == 1 or all(isinstance(f, Segment) for f in space)


def eigen_method(problem: Problem) -> str | None:
    """:data:`SPECTRAL` where the classical eigensolver can check an eigenproblem (one or two box
    coordinates, no time, no penalty conditions, a value condition on every face), else None. The
    values on the faces must also be zero, which the solve checks when it builds the reference."""
    domain = problem.domain
    if problem.pencil is None or problem.penalties or domain.has_time or domain.dim not in (1, 2):
        return None
    if len(domain.segments()) != domain.dim:
        return None
    faces = {(h.axis, h.side) for h in problem.hard}
    return SPECTRAL if faces == {(i, s) for i in range(domain.dim) for s in (0, 1)} else None


def _all_at_start(problem: Problem) -> bool:
    """Whether every condition (observations aside) lies at the start of the interval: an initial-value problem."""
    if any((h.axis, h.side) != (0, 0) for h in problem.hard):
        return False
    return all(pen.points is not None or face_of(pen) == (0, 0) for pen in problem.penalties)
