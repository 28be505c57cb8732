"""The reference of a linear evolution problem on a plane shape: finite elements in space, implicit steps in time.

Problems of the form ``m(x, y)·u_t = L u + f(x, y, t)`` on a plane domain (shape, rectangle or
disk) times an interval in ``t``: one field, ``L`` linear and second order in x and y with
coefficients that may vary in x and y (not in t) and whose second-order part is elliptic with the
sign of a forward diffusion (``u_t = Δu``, not ``u_t = -Δu``), an initial value (``on = "start"``)
and a value, flux or Robin condition on every piece of the boundary, whose data may vary in time.

Space: the problem's operator and conditions are read as for a steady problem
(:mod:`.plane`) and assembled once by :func:`.fem.assemble` (P2, isoparametric at curved
boundaries): ``M u' = load(t) - K u`` on the free dofs, the dofs of value parts set to their data
at each time.

Time: TR-BDF2 (Bank et al. 1985; MATLAB's ode23tb) with fixed steps ``k``: a trapezoidal stage to
``t + γk`` and a BDF2 stage to ``t + k``, ``γ = 2 - √2``. Both stages solve with the same matrix
``M + (γ/2) k K``, factorised once. The scheme is second order, L-stable (an initial value that
does not meet the boundary values is damped, not left to ring as under Crank–Nicolson) and its
stages are themselves second-order steps, so time-dependent boundary values cost no order.
Between the steps the solution is interpolated by cubic polynomials through four neighbouring
steps (error of order k⁴, below the scheme's k²).

Error estimate: the space error from three meshes (4h, 2h, h) at one step size, the time error
from three step sizes (4k, 2k, k) on the finest mesh, each by Richardson's rule from the observed
ratio (:func:`.fem.richardson`, never below the error the method's order implies), and their sum
reported. While the time estimate exceeds :data:`BALANCE` times the space estimate the number of
steps is doubled (up to :data:`MAX_STEPS`, and :data:`MAX_WORK` dofs × steps), so the reference
is not limited by its time steps where a finer step is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from ..problem.conditions import Condition, Dirichlet, Neumann, Robin
from ..problem.domain import TIME
from .result import Reference

DEFAULT_STEPS = 32  # the first number of steps tried on the time interval
MAX_STEPS = 4096  # the most steps the time refinement goes to
# the most work (dofs × steps) of one solve the time refinement begins: with the default mesh
# (~8 000 dofs) 128 steps, about 1.5 s on one core; counted in work, not seconds, so that the
# reference does not depend on how busy the machine is
MAX_WORK = 2**20
# the time refinement stops once the time error estimate is at most this many times the space one
BALANCE = 2.0
# the finest mesh by default: about this many triangles (P2, ~8 000 dofs; the assembly and the
# steps of the three meshes and three step sizes take a second or two on one core)
DEFAULT_TRIANGLES = 4000
_SAMPLES = (1000, 32)  # sample points in space (centroids of the finest mesh) and times, for the estimates
_GAMMA = 2 - np.sqrt(2)  # TR-BDF2's intermediate time, as a fraction of the step


def plane_evolution_reference(problem, *, h: float | None = None, steps: int | None = None) -> Reference | None:
    """A finite-element, TR-BDF2 solution of a linear evolution problem on a plane domain × time,
    with its own error estimate (``Reference.error_estimate``); None where ``problem`` is not one
    (with a ``RuntimeWarning`` saying why, where it is on such a domain).

    ``h`` is the finest mesh's edge length (default: about :data:`DEFAULT_TRIANGLES` triangles);
    ``steps`` fixes the number of time steps, rounded up to a multiple of 4 (default: from
    :data:`DEFAULT_STEPS`, doubled while the time error dominates).
    """
    evolution = read_evolution(problem)
    if evolution is None:
        return None
    solved = evolution_solution(evolution, h=h, steps=steps)
    if solved is None:
        return None
    solution, estimate, description = solved
    columns = evolution.columns

    def evaluate(points: np.ndarray) -> np.ndarray:
        return solution.values(points[:, list(columns)])[:, None]

    return Reference(description, problem.fields, problem.domain, evaluate, error_estimate=estimate)


# --- the problem ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Evolution:
    """A linear parabolic problem read from a :class:`~neuralsolve.problem.problem.Problem`:
    ``u_t = L u - source(x, y, t)`` (``form`` is ``L``, with the finite-element module's sign of
    the source), ``u = initial(x, y)`` at ``t0`` and ``conditions`` per boundary piece as
    :func:`.fem.solve_fem` takes them, their data functions of (x, y, t).

    ``columns`` are the columns of x, y and t in the problem's points.
    """

    shape: object
    form: object
    source: Callable | None
    conditions: dict
    initial: Callable
    t0: float
    t1: float
    columns: tuple[int, int, int]


def _read_domain(domain):
    """``(shape, time segment)`` of a plane domain × time, or None."""
    from .plane import space_and_time

    return space_and_time(domain) if domain.has_time else None


def read_evolution(problem) -> Evolution | None:
    """The :class:`Evolution` of ``problem``, or None (with a ``RuntimeWarning`` saying why,
    where the problem is on a plane domain × time) where it is not one."""
    from .plane import _arguments, _conditions, _decline, fem_installed

    found = _read_domain(problem.domain)
    if found is None or not fem_installed():
        return None
    shape, segment = found
    if len(problem.fields) != 1 or len(problem.equations) != 1:
        return _decline("the evolution reference solves one equation for one field")
    expr = problem.equations[0].expr
    if expr is None:
        return _decline("the equation is a Python function, not a formula")
    if problem.inverse or problem.periodic or problem.eigen is not None or problem.operator is not None:
        return _decline("an inverse problem, an eigenproblem, an operator or periodic coordinates")
    names = _arguments(problem)  # x, y, t
    read = _equation(problem, expr, names)
    if isinstance(read, str):
        return _decline(f"the equation {read}")
    form, source = read
    start, boundary = [], []
    for number, cond in enumerate(problem.arguments["conditions"], 1):
        where = _place(problem, cond, f"condition {number}")
        if where == "start":
            start.append((number, cond))
        elif where == "boundary":
            boundary.append((number, cond))
        else:
            return _decline(f"condition {number} {where}")
    if len(start) != 1:
        return _decline(f"the problem needs one initial condition (on = 'start'); it has {len(start)}")
    initial = _initial(problem, *start[0], segment.lo)
    if initial is None:
        return _decline(f"condition {start[0][0]} (at the start) does not set the value of {problem.fields[0]} "
                        "by a number or formula")  # fmt: skip
    conditions = _conditions(problem, shape, boundary)
    if conditions is None:
        return None
    columns = tuple(problem.domain.coords.index(c) for c in names)
    return Evolution(shape, form, source, conditions, initial, segment.lo, segment.hi, columns)


def _equation(problem, expr, names):
    """``(form of L, source(x, y, t) or None)`` of ``m u_t = L u + f``, or why not (a string)."""
    from . import fem

    x, y, t = (problem._ns.coord_symbols[c] for c in names)
    u = problem._ns.field_function(problem.fields[0])
    expr = sp.sympify(expr).doit()
    for f in expr.atoms(AppliedUndef):
        if f != u:
            return f"holds {f}, not only the field {u}"
    rate, swap = sp.Dummy("rate"), {}
    for d in expr.atoms(sp.Derivative):
        if d.expr != u:
            return f"has the derivative {d} of an expression"
        counts = dict(d.variable_count)
        order = int(counts.get(t, 0))
        if order >= 2:
            return "is of second order (or higher) in time"
        if order == 1 and len(counts) > 1:
            return "has a derivative mixed in time and space"
        if order == 1:
            swap[d] = rate
    if not swap:
        return "has no time derivative"
    residual = expr.xreplace(swap)
    mass = sp.diff(residual, rate)
    if mass.has(rate) or mass.atoms(AppliedUndef) or mass.atoms(sp.Derivative) or t in mass.free_symbols or mass == 0:
        return f"is not linear in diff({u.func}, t) with a coefficient of the plane's coordinates only"
    # u_t = rhs; in the plane, the field is a function of x and y
    rhs = (-residual.xreplace({rate: 0}) / mass).xreplace({u: sp.Function(problem.fields[0])(x, y)})
    plain = sp.Function(problem.fields[0])(x, y)
    forcing = rhs.xreplace({d: sp.S.Zero for d in rhs.atoms(sp.Derivative)}).xreplace({plain: sp.S.Zero})
    operator = rhs - forcing
    if t in operator.free_symbols:
        return "has coefficients that vary in time"
    form = fem.elliptic_form(operator, problem.fields[0], names[:2])
    if form is None:
        return f"is not linear and of second order in {names[0]} and {names[1]}"
    source = sp.expand(form.source - forcing)  # L u - source = rhs: the steady solver's sign
    if source.free_symbols - {x, y, t}:
        return "has symbols other than the coordinates"
    if source == 0:
        return form, None
    try:
        # an expression from our own parser's SymPy tree, never text: lambdify is safe here
        fn = sp.lambdify((x, y, t), source.replace(sp.DiracDelta, lambda *args: sp.S.Zero), fem.LAMBDIFY_MODULES)
    except Exception:
        return "has a function NumPy cannot evaluate"
    return form, fn


def _place(problem, cond, what: str) -> str:
    """``"start"``, ``"boundary"`` (a place on the spatial boundary), or why neither."""
    if not (type(cond) is Condition or isinstance(cond, (Dirichlet, Neumann, Robin))):
        return f"({type(cond).__name__}) is not a value, flux or Robin condition"
    try:
        where = problem.region_of(cond.on, what)
    except ProblemError as err:
        return f"is at a place the finite-element reference cannot read ({err})"
    if isinstance(where, tuple) and where[0] == TIME:
        lo = problem.domain.segments()[problem.domain.coords.index(TIME)].lo
        if where[1] != lo:
            return f"is at {TIME} = {where[1]:g}, not the start: not an initial-value problem"
        return "start"
    return "boundary"


def _initial(problem, number: int, cond, t0: float) -> Callable | None:
    """The initial value as a NumPy function of (x, y), or None if the condition is not a value."""
    from .plane import _kind, _numpy

    what = f"condition {number}"
    if isinstance(cond, Dirichlet):
        if callable(cond.value) and not isinstance(cond.value, str):
            return None
        g = _numpy(problem, cond.value, what)
    else:
        kind = _kind(problem, cond, what)
        if not isinstance(kind, tuple) or kind[0] != "value":
            return None
        g = kind[1]
    return lambda x, y: np.broadcast_to(np.asarray(g(x, y, np.full(np.shape(x), t0)), float), np.shape(x))


# --- the solve -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EvolutionSolution:
    """The solution at every step on one mesh: :meth:`values` evaluates it at any (x, y, t).

    Attributes:
        h, steps: the mesh's edge length and the number of time steps.
        n_triangles, n_dofs: the size of the mesh.
        seconds: the time the steps took.
    """

    h: float
    steps: int
    t0: float
    t1: float
    n_triangles: int
    n_dofs: int
    seconds: float
    _assembly: object = dataclass_field(repr=False)
    _states: np.ndarray = dataclass_field(repr=False)  # (n_dofs, steps + 1)

    def values(self, points) -> np.ndarray:
        """Values (k,) at points (k, 3) with columns x, y, t; NaN well outside the mesh."""
        points = np.asarray(points, float).reshape(-1, 3)
        cells, phi, inside = self._assembly.locator().locate(points[:, :2])
        nodes, weights = _stencil(points[:, 2], self.t0, self.t1, self.steps)
        dofs = self._assembly.basis.element_dofs[:, cells]  # (n_basis, k)
        out = np.zeros(len(points))
        for j in range(nodes.shape[1]):
            out += weights[:, j] * np.sum(phi * self._states[dofs, nodes[None, :, j]], axis=0)
        out[~inside] = np.nan
        return out

    def on_grid(self, space: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Values (k, m) at each of the points ``space`` (k, 2) at each of the ``times`` (m,)."""
        cells, phi, inside = self._assembly.locator().locate(space)
        dofs = self._assembly.basis.element_dofs[:, cells]
        nodal = sum(phi[i][:, None] * self._states[dofs[i]] for i in range(len(phi)))  # (k, steps + 1)
        nodes, weights = _stencil(np.asarray(times, float), self.t0, self.t1, self.steps)
        interpolate = np.zeros((self.steps + 1, len(times)))
        for j in range(nodes.shape[1]):
            np.add.at(interpolate, (nodes[:, j], np.arange(len(times))), weights[:, j])
        out = nodal @ interpolate
        out[~inside] = np.nan
        return out


def _stencil(t: np.ndarray, t0: float, t1: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The steps (k, p) and Lagrange weights (k, p) of cubic interpolation in time (p = 4 nodes
    around each time, shifted inside at the ends; fewer where there are fewer steps)."""
    p = min(4, steps + 1)
    s = (np.asarray(t, float) - t0) / ((t1 - t0) / steps)
    first = np.clip(np.floor(s).astype(int) - (p - 1) // 2, 0, steps + 1 - p)
    nodes = first[:, None] + np.arange(p)[None, :]
    local = s[:, None] - nodes  # the time from each node, in steps
    weights = np.ones((len(s), p))
    for j in range(p):
        for m in range(p):
            if m != j:
                weights[:, j] *= local[:, m] / (j - m)
    return nodes, weights


def march(evolution: Evolution, assembly, steps: int) -> EvolutionSolution | None:
    """TR-BDF2 over [t0, t1] in ``steps`` equal steps on an :func:`.fem.assemble` of the
    evolution's form; None where the step's matrix is singular or the solution not finite."""
    start = time.perf_counter()
    t0, t1 = evolution.t0, evolution.t1
    k = (t1 - t0) / steps
    g = _GAMMA
    d = g / 2  # the trapezoidal stage's γk/2 is also the BDF2 stage's (1 - γ)/(2 - γ)·k
    a1, a0 = 1 / (g * (2 - g)), (1 - g) ** 2 / (g * (2 - g))
    M, K = assembly.mass(), assembly.matrix
    solve = assembly.factorised(M + (d * k) * K)
    if solve is None:
        return None
    basis = assembly.basis

    def load(t):
        return assembly.load(t, evolution.source)

    states = np.empty((assembly.n_dofs, steps + 1))
    u = np.asarray(evolution.initial(*basis.doflocs), float).copy()
    u[assembly.fixed_dofs] = assembly.fixed(t0)
    states[:, 0] = u
    F = load(t0)
    with np.errstate(all="ignore"):
        for n in range(steps):
            t = t0 + n * k
            middle, end = t + g * k, (t0 + (n + 1) * k if n + 1 < steps else t1)
            Mu = M @ u
            F_middle = load(middle)
            # the trapezoidal rule to t + γk
            u_middle = solve(Mu - (d * k) * (K @ u) + (d * k) * (F + F_middle), assembly.fixed(middle))
            if u_middle is None:
                return None
            # BDF2 through t, t + γk and t + k
            F = load(end)
            u = solve(a1 * (M @ u_middle) - a0 * Mu + (d * k) * F, assembly.fixed(end))
            if u is None:
                return None
            states[:, n + 1] = u
    seconds = time.perf_counter() - start
    return EvolutionSolution(assembly.h, steps, t0, t1, assembly.n_triangles, assembly.n_dofs, seconds, assembly,
                             states)  # fmt: skip


def assemble(evolution: Evolution, h: float, degree: int = 2):
    """The :func:`.fem.assemble` of the evolution's operator at mesh size ``h``; None (with a
    warning) where its second-order part is not definite, or of the sign of a backward diffusion."""
    from . import fem
    from .plane import _decline

    assembly = fem.assemble(evolution.shape.outline, evolution.form, evolution.conditions, h, degree)
    if assembly is None:
        return _decline("the equation's second-order part in space is not elliptic (definite) everywhere")
    if assembly.sign < 0:
        return _decline("the equation is a backward diffusion (u_t = -Δu): ill-posed forward in time")
    return assembly


def evolution_solution(evolution: Evolution, *, h: float | None = None, steps: int | None = None,
                       degree: int = 2) -> tuple[EvolutionSolution, float, str] | None:  # fmt: skip
    """``(solution, error_estimate, description)``: the solution on the finest mesh (edge length
    ``h``) at the final step size, and the estimate of its relative L2 error over space and time
    (see the module's notes); None where a solve fails. ``steps`` as for
    :func:`plane_evolution_reference`."""
    from . import fem

    outline_at = evolution.shape.outline
    if h is None:
        h = fem.default_h(outline_at, DEFAULT_TRIANGLES) / 2  # default_h is the middle of three meshes
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ProblemError(f"the number of time steps must be a positive integer, got {steps!r}")
    adapt = steps is None
    # three step sizes, n/4, n/2 and n, estimate the time error: n a multiple of 4
    n = DEFAULT_STEPS if steps is None else 4 * -(-steps // 4)
    meshes = []
    for size in (4 * h, 2 * h, h):
        assembly = assemble(evolution, size, degree)
        if assembly is None:
            return None
        meshes.append(assembly)
    fine_mesh = meshes[-1]
    solutions = [march(evolution, assembly, n) for assembly in meshes]
    if any(s is None for s in solutions):
        return _failed()
    fine = solutions[-1]
    take = np.linspace(0, fine_mesh.n_triangles - 1, min(_SAMPLES[0], fine_mesh.n_triangles)).round().astype(int)
    space = fine_mesh.centroids[np.unique(take)]
    times = evolution.t0 + (evolution.t1 - evolution.t0) * (np.arange(_SAMPLES[1]) + 0.5) / _SAMPLES[1]

    def sampled(solution):
        return solution.on_grid(space, times).ravel()

    values = [sampled(s) for s in solutions]
    in_space = fem.richardson(fem._relative_difference(values[1], values[0]),
                              fem._relative_difference(values[2], values[1]), degree + 1)  # fmt: skip
    # the time levels on the finest mesh: n // 4, n // 2 and n steps
    levels = {n: values[2]}
    for m in (n // 2, n // 4):
        solved = march(evolution, fine_mesh, m)
        if solved is None:
            return _failed()
        levels[m] = sampled(solved)

    def in_time(n):
        coarse, middle = levels[n // 4], levels[n // 2]
        return fem.richardson(fem._relative_difference(middle, coarse), fem._relative_difference(levels[n], middle), 2)

    estimate_t = in_time(n)
    while adapt and estimate_t > BALANCE * in_space and 2 * n <= MAX_STEPS and 2 * n * fine.n_dofs <= MAX_WORK:
        solved = march(evolution, fine_mesh, 2 * n)
        if solved is None:
            break  # keep the last good solution and its estimate
        n, fine = 2 * n, solved
        levels[n] = sampled(fine)
        estimate_t = in_time(n)
    count = f"{fine.n_triangles:,}".replace(",", " ")
    k = (evolution.t1 - evolution.t0) / fine.steps
    description = (f"finite elements (P{degree}, {count} triangles, h = {fine.h:.3g}; scikit-fem), "
                   f"TR-BDF2 in time ({fine.steps} steps of {k:.3g})")  # fmt: skip
    return fine, in_space + estimate_t, description


def _failed() -> None:
    from .plane import _decline

    return _decline("a time step's linear system is singular, or the solution grew beyond floating point")
