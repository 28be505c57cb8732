"""The spectral method of lines for evolution equations ``u_t = F(x, t, u, u_x, u_xx)`` in one space dimension.

Space: Chebyshev collocation on the interval, the end values eliminated through the conditions at the
ends (Dirichlet, Neumann, Robin: any condition affine in the end values and slopes, see
:mod:`.ends`); Fourier collocation on the period for periodic ends. A problem that is symmetric
about the middle of the interval — equations, initial values and end conditions all unchanged by
``x -> a + b - x`` with each field even or odd — is solved on the right half only, with ``u = 0``
(odd) or ``u_x = 0`` (even) at the middle: Chebyshev points cluster at the ends of the half, which is
where such problems steepen (Burgers' shock at the centre), and the system is half as large.

Time: SciPy's LSODA (BDF where the system is stiff) at a relative tolerance of 1e-12 with the exact
Jacobian; its dense output (the interpolating polynomial of each step, of the method's order) gives
the solution at any time, and barycentric (or trigonometric) interpolation in x keeps the spectral
accuracy between the nodes.

Accuracy: the grid is refined (32, 64, 128, then by factors of 1.5 or 1.33) until two successive
grids agree to :data:`SPACE_TARGET` in relative L2 on a fine space-time grid, or the largest grid
allowed is reached; the last grid is then solved at the tight tolerance, and at 100 times that.
The error estimate is the sum of the two differences (between the grids, between the tolerances):
each the error of the coarser solve, an overestimate of the reference's under spectral convergence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from ..problem.domain import TIME
from .collocation import ChebyshevGrid, FourierGrid
from .conditions import hard_values, values_at
from .ends import PERIODIC, EndRows, end_conditions
from .estimate import relative_difference
from .evolution import evolution_form, mirror_parities, pointwise_functions
from .integrate import integrate
from .lines import Gammas, Lines, interpolate, rhs_and_jacobian
from .result import Reference

SPACE_TARGET = 5e-9  # refinement stops once two successive grids agree to this (relative L2)
COARSE_RTOL = 1e-8  # the time tolerance while far from converged in space (cheap steps)
NEARLY = 1e-4  # two grids this close: refine by smaller factors, at the finer tolerance
DEFAULT_NODES = 512  # the largest grid tried by default: dense Jacobians of this size factor in milliseconds
_LADDER = (32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)
_SAMPLES = (1025, 65)  # the space x time grid on which solutions are compared


def mol_reference(problem, *, nodes: int | None = None, rtol: float = 1e-12, refine: bool = True) -> Reference | None:
    """Solve a 1-D evolution problem by the spectral method of lines; None if it is not one.

    ``nodes`` caps the refinement (default :data:`DEFAULT_NODES` collocation nodes per field); the
    reference carries its estimated relative L2 error as ``error_estimate``. With ``refine=False``
    it is one solve on ``nodes`` nodes at ``rtol``, with no estimate (a converged solution to check
    a reference against). A failed integration gives None with a ``RuntimeWarning``.

    Raises:
        ProblemError: if ``nodes`` is not an integer of at least 16.
    """
    cap = DEFAULT_NODES if nodes is None else nodes
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 16:
        raise ProblemError(f"the method of lines needs an integer number of nodes >= 16, got {nodes!r}")
    setup = _setup(problem)
    if setup is None:
        return None
    if not refine:
        solved = _solve(problem, setup, cap, rtol)
        return None if solved is None else Reference(_describe(setup, cap, rtol), problem.fields, problem.domain,
                                                     solved.values)  # fmt: skip
    found = _refine(problem, setup, cap, fine=100 * rtol)
    if found is None:
        return None
    n, in_space, check = found
    final = _solve(problem, setup, n, rtol)  # the reference, at the tight tolerance
    if final is None:
        return None
    in_time = relative_difference(final.sampled, check.sampled)
    return Reference(_describe(setup, n, rtol), problem.fields, problem.domain, final.values,
                     error_estimate=in_space + in_time)  # fmt: skip


def _refine(problem, setup: _Setup, cap: int, fine: float) -> tuple[int, float, _Solved] | None:
    """Refine the grid until two successive ones agree to :data:`SPACE_TARGET` (or ``cap`` is reached).

    Returns the last grid size, the difference from the grid before it, and the last grid's solve
    at the ``fine`` tolerance (100 times the reference's); None if an integration fails. Two grids
    compared at one tolerance have nearly the same time error, so their difference is the spatial
    error: far from convergence that takes only a coarse tolerance, close to it the fine one.
    """
    sizes = [m for m in _LADDER if m < cap] + [cap]
    sizes = sizes if len(sizes) > 1 else [max(8, 2 * cap // 3), cap]  # always two grids to compare
    tol, previous, n = COARSE_RTOL, None, sizes[0]
    while True:
        solved = _solve(problem, setup, n, tol)
        if solved is None:
            return None
        in_space = None if previous is None else relative_difference(solved.sampled, previous.sampled)
        if n == sizes[-1] or (in_space is not None and in_space <= SPACE_TARGET):
            check = solved if tol == fine else _solve(problem, setup, n, fine)
            return None if check is None else (n, in_space, check)
        previous = solved
        if tol == COARSE_RTOL and in_space is not None and in_space <= NEARLY:
            tol, previous = fine, _solve(problem, setup, n, fine)  # this grid again, to compare at the fine one
            if previous is None:
                return None
        # far from converged: double the grid; close: the next size, 1.5 (or 1.33) times larger
        step = 2 if in_space is None or in_space > NEARLY else 1
        n = next((m for m in sizes if m >= step * n and m > n), sizes[-1])


def _describe(setup: _Setup, n: int, rtol: float) -> str:
    half = " on the half interval (mirror symmetry)" if setup.parities is not None else ""
    kind = "Fourier" if setup.ends == PERIODIC else "Chebyshev"
    return f"method of lines: {kind} collocation on {n} nodes{half}, LSODA (rtol {rtol:g})"


@dataclass(frozen=True)
class _Setup:
    """What every grid shares: the equations, the conditions, the symmetry, the comparison points."""

    ends: tuple[EndRows, EndRows] | str
    initial: list[Callable]
    parities: tuple[int, ...] | None  # each field even (+1) or odd (-1) about the middle; None: no symmetry
    rows: tuple[EndRows, EndRows] | None  # the conditions at the ends of the interval solved on (None: periodic)
    gammas: Gammas | None
    functions: tuple[Callable, Callable]  # F and its derivatives, NumPy in and out
    bounds: tuple[float, float, float, float]  # a, b, t0, t1
    samples: np.ndarray
    scale: float  # the size of the initial values, for the absolute tolerance


def _setup(problem) -> _Setup | None:
    """The shared part, or None if the problem is not a 1-D evolution problem this method takes."""
    domain = problem.domain
    if len(domain.coords) != 2 or domain.coords[1] != TIME or set(domain.segments()) != {0, 1}:
        return None
    if any(eq.expr is None for eq in problem.equations) or getattr(problem, "shape_hard", None):
        return None
    form = evolution_form(problem)
    initial = hard_values(problem, 1, 0)
    if form is None or len(initial) != len(problem.fields):
        return None
    ends = end_conditions(problem)
    nf = len(problem.fields)
    if ends is None:
        return None
    if ends != PERIODIC and (any(len(r.coefficients) != nf for r in ends) or not form.second.all()):
        return None  # each field needs one condition at each end and a second derivative to take them
    (a, t0), (b, t1) = (tuple(float(v) for v in bound) for bound in domain.bounds())
    values = [initial[k].value for k in range(nf)]
    xs, ts = np.linspace(a, b, _SAMPLES[0]), np.linspace(t0, t1, _SAMPLES[1])
    samples = np.stack([g.ravel() for g in np.meshgrid(xs, ts, indexing="ij")], axis=1)
    start = np.stack([xs, np.full_like(xs, t0)], axis=1)
    scale = max(float(np.max(np.abs(values_at(g, domain.coords, start, "initial condition")))) for g in values)
    bounds = (a, b, t0, t1)
    functions = pointwise_functions(form)
    parities = None if ends == PERIODIC else mirror_parities(problem, functions[0], values, ends, bounds)
    rows = None if ends == PERIODIC else ends if parities is None else (_middle(parities), ends[1])
    gammas = None if rows is None else Gammas(rows, (t0, t1))
    return _Setup(ends, values, parities, rows, gammas, functions, bounds, samples, scale if scale > 0 else 1.0)


def _middle(parities) -> EndRows:
    """The conditions at the middle of a symmetric problem: u = 0 for odd fields, u_x = 0 for even ones."""
    nf = len(parities)
    rows = np.zeros((nf, 2 * nf))
    for f, s in enumerate(parities):
        rows[f, f if s < 0 else nf + f] = 1.0
    return EndRows(rows, lambda t: jnp.zeros(nf))


@dataclass(frozen=True)
class _Solved:
    """One grid's solution: ``values(points) -> (n, fields)`` anywhere in the domain, and its
    values on the comparison points."""

    values: Callable
    sampled: np.ndarray


def _solve(problem, setup: _Setup, n: int, rtol: float) -> _Solved | None:
    """Integrate on a grid of ``n`` nodes (per field); None (with a warning) if the integration fails."""
    a, b, t0, t1 = setup.bounds
    if setup.ends == PERIODIC:
        grid = FourierGrid(a, b, n + n % 2)
    elif setup.parities is not None:  # the right half, with u = 0 (odd) or u_x = 0 (even) at the middle
        grid = ChebyshevGrid((a + b) / 2, b, n)
    else:
        grid = ChebyshevGrid(a, b, n)
    try:
        lines = Lines(grid, len(problem.fields), setup.rows, setup.gammas)
    except np.linalg.LinAlgError:
        return None  # the end conditions do not fix the end values (say, two at one end, none at the other)
    start = np.stack([lines.x, np.full_like(lines.x, t0)], axis=1)
    y0 = np.concatenate([values_at(g, problem.domain.coords, start, "initial condition") for g in setup.initial])
    rhs, jac = rhs_and_jacobian(setup.functions, lines)
    dense = integrate(rhs, (t0, t1), y0, name=problem.name, method="LSODA", rtol=rtol,
                      atol=rtol * 1e-2 * setup.scale, jac=jac, compiled=False)  # fmt: skip
    if dense is None:
        return None

    def values(points):
        return interpolate(lines, dense, setup.parities, setup.bounds, points)

    return _Solved(values, values(setup.samples))
