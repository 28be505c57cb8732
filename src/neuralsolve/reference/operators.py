"""Which classical solver generates an operator problem's data, read from the equation as written.

Two kinds of problem are generated (:func:`generator_for`):

- **1-D periodic evolution** ``c·∂u/∂t = F(u, ∂u/∂x, ...)`` in ``x`` and ``t`` with ``periodic = "x"``:
  the input is the initial state, the output the field at the final time; solved pseudo-spectrally
  with the stiff linear part integrated exactly (ETDRK4, :mod:`.spectral`).
- **2-D steady divergence form** ``−∇·(A∇u) = f`` on a box with ``u = 0`` on the boundary, where
  the input is a function in ``A`` (a coefficient) and/or ``f`` (a source): second-order finite
  volumes (:mod:`.darcy`).

Everything here is SymPy and NumPy; the generators run in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from ..problem.conditions import Condition, Dirichlet, Periodic
from ..problem.domain import TIME

SUPPORTED = ("1-D periodic evolution equations du/dt = F(u, du/dx, ...) in x and t with periodic = \"x\" and "
             "input = \"initial\"; 2-D steady -div(A grad u) = f on a box with u = 0 on the boundary, the input "
             "a function in A or f")  # fmt: skip


@dataclass(frozen=True)
class Evolution:
    """``du/dt = rhs`` on the periodic interval ``(lo, lo + length)``, to ``t_end`` from ``t0``."""

    rhs: sp.Expr
    u: sp.Expr
    x: sp.Symbol
    lo: float
    length: float
    span: float
    periodic = True
    dim = 1

    def grid(self, points: int) -> list[np.ndarray]:
        """The periodic grid of ``points`` points (the right end left out)."""
        return [self.lo + self.length * np.arange(points) / points]


@dataclass(frozen=True)
class Divergence:
    """``−∇·(A∇u) = f`` on the box ``lo + (0, lengths)`` with ``u = 0`` on its boundary; ``A`` and
    ``f`` are expressions of the coordinates and of the input function ``name``."""

    coefficient: sp.Expr
    source: sp.Expr
    name: str
    coords: tuple[str, str]
    lo: tuple[float, float]
    lengths: tuple[float, float]
    periodic = False
    dim = 2

    def grid(self, points: int) -> list[np.ndarray]:
        """The vertex grid of ``points`` points per axis, both ends included."""
        return [a + L * np.arange(points) / (points - 1) for a, L in zip(self.lo, self.lengths)]


def generator_for(problem) -> Evolution | Divergence:
    """The generator of ``problem``'s data; ProblemError naming the supported kinds otherwise."""
    op = problem.operator
    if len(problem.fields) != 1 or len(problem.equations) != 1:
        _unsupported(f"the problem has {len(problem.fields)} field(s) and {len(problem.equations)} equation(s); "
                     "one of each is supported")  # fmt: skip
    expr = problem.equations[0].expr
    if expr is None:
        _unsupported("the equation is a Python function; generators read equations written as text")
    if problem.domain.has_time:
        return _evolution(problem, expr, op)
    return _divergence(problem, expr, op)


def _unsupported(why: str):
    raise ProblemError(f"operator: no data generator handles this problem ({why}); supported: {SUPPORTED}")


def _evolution(problem, expr: sp.Expr, op) -> Evolution:
    domain, (field,) = problem.domain, problem.fields
    space = [c for c in domain.coords if c != TIME]
    if len(space) != 1:
        _unsupported(f"an evolution problem in {len(space)} space dimensions")
    if op.function is not None:
        _unsupported(f"the input of an evolution problem is its initial state (input = \"initial\"), got {op.input!r}")
    (name,) = space
    periodic = [c for c in problem.arguments["conditions"] if isinstance(c, Periodic)]
    others = [c for c in problem.arguments["conditions"] if not isinstance(c, Periodic)]
    if [c.coord for c in periodic] != [name] or others:
        _unsupported(f"an evolution problem needs exactly one condition, periodic = \"{name}\" (the initial "
                     "state is the operator's input)")  # fmt: skip
    x, t = sp.Symbol(name, real=True), sp.Symbol(TIME, real=True)
    u = sp.Function(field)(x, t)
    ut = sp.Derivative(u, t)
    rate = sp.diff(expr, ut)
    if rate == 0 or rate.free_symbols or rate.atoms(AppliedUndef) or sp.diff(expr, ut, 2) != 0:
        _unsupported("the equation must be linear in du/dt with a constant coefficient")
    rhs = sp.expand(-(expr - rate * ut) / rate)
    plain = rhs.subs({d: sp.Dummy() for d in rhs.atoms(sp.Derivative)}).subs(u, sp.Dummy())
    if any(t in d.variables for d in rhs.atoms(sp.Derivative)) or t in plain.free_symbols:
        _unsupported("the right-hand side depends on t or on other time derivatives")
    lo, hi = domain.bounds()
    axis = domain.coords.index(name)
    t_axis = domain.coords.index(TIME)
    return Evolution(rhs, u, x, float(lo[axis]), float(hi[axis] - lo[axis]), float(hi[t_axis] - lo[t_axis]))


def _divergence(problem, expr: sp.Expr, op) -> Divergence:
    domain, (field,) = problem.domain, problem.fields
    if domain.dim != 2 or len(domain.segments()) != 2:
        _unsupported("a steady problem must be on a 2-D box")
    if op.function is None:
        _unsupported("the input of a steady problem is a function in its equation (input = \"a\"), not 'initial'")
    _check_zero_boundary(problem.arguments["conditions"], field)
    names = domain.coords
    xs = [sp.Symbol(c, real=True) for c in names]
    u = sp.Function(field)(*xs)
    grads = [sp.Derivative(u, v) for v in xs]
    second = [sp.Derivative(u, (v, 2)) for v in xs]
    coefficient = -sp.diff(expr, second[0])
    if sp.simplify(coefficient + sp.diff(expr, second[1])) != 0:
        _unsupported("the coefficients of d2u/dx2 and d2u/dy2 differ (an isotropic -div(A grad u) is supported)")
    zero = {d: 0 for d in expr.atoms(sp.Derivative) if d.expr == u}
    source = -expr.subs(zero).subs(u, 0)
    flux = sum(sp.diff(coefficient * g, v) for g, v in zip(grads, xs))
    if sp.simplify(expr + source + flux) != 0 or u in coefficient.atoms(AppliedUndef) | source.atoms(AppliedUndef):
        _unsupported("the equation is not of the form -div(A grad u) = f with A and f free of u")
    if coefficient.atoms(sp.Derivative) or source.atoms(sp.Derivative):
        _unsupported("A and f must not contain derivatives of the input")
    if op.function not in {type(a).__name__ for a in (coefficient + source).atoms(AppliedUndef)}:
        _unsupported(f"the input {op.function!r} does not appear in A or f")
    lo, hi = domain.bounds()
    return Divergence(coefficient, source, op.function, tuple(names), (float(lo[0]), float(lo[1])),
                      (float(hi[0] - lo[0]), float(hi[1] - lo[1])))  # fmt: skip


def _check_zero_boundary(conditions, field: str) -> None:
    """Every condition is ``field = 0`` on the whole boundary (and there is one)."""
    def zero(c) -> bool:
        if isinstance(c, Dirichlet):
            return c.on == "boundary" and c.field == field and str(c.value).strip() in ("0", "0.0")
        if type(c) is Condition and isinstance(c.equation, str):
            return c.on == "boundary" and c.equation.replace(" ", "") in (f"{field}=0", f"{field}=0.0")
        return False

    if not conditions or not all(zero(c) for c in conditions):
        _unsupported(f"the finite-volume generator takes {field} = 0 on the whole boundary (one condition "
                     f"'{field} = 0' on \"boundary\")")  # fmt: skip
