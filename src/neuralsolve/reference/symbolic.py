"""Residual equations -> explicit right-hand sides, by solving symbolically for time derivatives.

Equations given as strings keep their SymPy residual (fields as applied functions ``u(x, t)``).
Solving them for the highest time derivatives and replacing every field value and derivative by a
plain symbol gives expressions that the problem compiler turns into JAX functions of a dict of
arrays — the same whitelisted evaluator that training uses, so no code is generated from text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from ..problem.compile import compile_expression


def state_symbol(field: str, coord: str, order: int) -> sp.Symbol:
    """The plain symbol standing for ``field``'s ``order``-th derivative in ``coord`` (``u@xx``)."""
    # '@' cannot occur in a field or coordinate name, so these never clash with the problem's names
    return sp.Symbol(f"{field}@{coord * order}")


def solve_for(exprs: list[sp.Expr], targets: list[sp.Expr]) -> list[sp.Expr] | None:
    """Solve ``exprs = 0`` for ``targets``; None unless there is exactly one real, explicit solution."""
    unknowns = [sp.Dummy(f"d{i}") for i in range(len(targets))]
    swapped = [e.xreplace(dict(zip(targets, unknowns))) for e in exprs]
    try:
        solutions = sp.solve(swapped, unknowns, dict=True, rational=False)
    except Exception:  # SymPy raises many kinds for equations it cannot solve: no reference then
        return None
    if len(solutions) != 1 or set(solutions[0]) != set(unknowns):
        return None
    rhs = [solutions[0][u] for u in unknowns]
    if any(r.has(*unknowns) or r.has(sp.I) for r in rhs):
        return None
    return rhs


def replace_terms(exprs: list[sp.Expr], symbols: dict[sp.Expr, sp.Symbol]) -> list[sp.Expr] | None:
    """Replace field values and derivatives by state symbols; None if any other term remains."""
    out = [e.xreplace(symbols) for e in exprs]
    if any(e.atoms(AppliedUndef) or e.atoms(sp.Derivative) for e in out):
        return None
    return out


def compile_all(exprs: list[sp.Expr], what: str) -> list[Callable] | None:
    """JAX functions ``fn(values: dict) -> array`` of the expressions, or None if one cannot be compiled."""
    try:
        return [compile_expression(e, (), what) for e in exprs]
    except ProblemError:  # e.g. a special function SymPy's solution introduced
        return None


_NUMPY_UNARY = {
    sp.sin: np.sin, sp.cos: np.cos, sp.tan: np.tan, sp.asin: np.arcsin, sp.acos: np.arccos, sp.atan: np.arctan,
    sp.sinh: np.sinh, sp.cosh: np.cosh, sp.tanh: np.tanh, sp.asinh: np.arcsinh, sp.acosh: np.arccosh,
    sp.atanh: np.arctanh, sp.exp: np.exp, sp.log: np.log, sp.Abs: np.abs, sp.sign: np.sign,
    sp.sech: lambda v: 1 / np.cosh(v),
}  # fmt: skip


def numpy_function(expr: sp.Expr) -> Callable | None:
    """A NumPy function ``fn(values: dict) -> array`` of an explicit right-hand side, or None.

    The classical integrators call the right-hand side thousands of times on small arrays, where a
    compiled JAX call costs tens to hundreds of microseconds in dispatch alone and NumPy a few.
    The tree is walked into closures over NumPy functions, like the JAX compiler of problem files
    (no code is generated from text); anything beyond arithmetic and the common elementary
    functions gives None, and the caller keeps the JAX function.
    """
    try:
        return _numpy_node(expr)
    except (TypeError, ValueError, _Unsupported):
        return None


class _Unsupported(Exception):
    """A SymPy node the NumPy evaluator does not take."""


def _numpy_node(e) -> Callable:
    if e.is_Number or e.is_NumberSymbol:
        if not e.is_real:
            raise _Unsupported(e)
        value = float(e)
        return lambda v: value
    if e.is_Symbol:
        name = e.name
        return lambda v: v[name]
    args = [_numpy_node(a) for a in e.args]
    if isinstance(e, sp.Add):
        return lambda v: sum(a(v) for a in args)
    if isinstance(e, sp.Mul):
        def product(v):
            out = args[0](v)
            for a in args[1:]:
                out = out * a(v)
            return out

        return product
    if isinstance(e, sp.Pow):
        base, exponent = args
        if e.args[1].is_Integer:
            k = int(e.args[1])  # integer powers stay exact (and real) for negative bases
            return lambda v: np.asarray(base(v), float) ** k if k >= 0 else 1.0 / np.asarray(base(v), float) ** -k
        return lambda v: np.power(base(v), exponent(v))
    fn = next((f for cls, f in _NUMPY_UNARY.items() if isinstance(e, cls)), None)
    if fn is not None and len(args) == 1:
        (a,) = args
        return lambda v: fn(a(v))
    raise _Unsupported(e)
