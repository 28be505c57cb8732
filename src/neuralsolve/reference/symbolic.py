"""Residual equations -> explicit right-hand sides, by solving symbolically for time derivatives.

Equations given as strings keep their SymPy residual (fields as applied functions ``u(x, t)``).
Solving them for the highest time derivatives and replacing every field value and derivative by a
plain symbol gives expressions that the problem compiler turns into JAX functions of a dict of
arrays — the same whitelisted evaluator that training uses, so no code is generated from text.
"""

from __future__ import annotations

from collections.abc import Callable

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
