"""Eigenproblems: the settings, and the equation read as a linear operator pencil ``A ψ = E B ψ``.

An eigenproblem has one field and one equation, linear in the field and in the eigenvalue symbol.
Splitting the SymPy residual into ``A`` and ``B`` (coefficients per derivative) lets the classical
reference assemble the same operator, and lets training evaluate the Rayleigh quotient
``<ψ, Aψ> / <ψ, Bψ>`` from two residual evaluations. Jumps of discontinuous coefficients
(``Piecewise``, ``Heaviside``) are found symbolically: quadrature and reference elements split
there.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .._errors import ProblemError
from .parse import field_terms

STATE_INDEX = "n"  # the state index, from 0, usable in exact solutions


@dataclass(frozen=True)
class Eigen:
    """Settings of an eigenproblem.

    Args:
        symbol: the eigenvalue's name in the equation (``"E"`` in ``-diff(psi, x, 2) = E*psi``).
        states: how many of the lowest states to find.
        normalize: keep ``∫ψ² = 1`` over the domain (by quadrature). Without it, a condition must
            fix each state's scale.
    """

    symbol: str = "E"
    states: int = 1
    normalize: bool = True

    def __post_init__(self):
        if not isinstance(self.symbol, str) or not self.symbol.isidentifier():
            raise ProblemError(f"eigen symbol must be a name, got {self.symbol!r}")
        if self.symbol == STATE_INDEX:
            raise ProblemError(f"eigen symbol cannot be {STATE_INDEX!r}: that names the state index in exact solutions")
        if isinstance(self.states, bool) or not isinstance(self.states, int) or self.states < 1:
            raise ProblemError(f"eigen states must be a whole number >= 1, got {self.states!r}")
        if not isinstance(self.normalize, bool):
            raise ProblemError(f"eigen normalize must be true or false, got {self.normalize!r}")


def pencil(expr: sp.Expr, field: str, symbol: str, coords: tuple[str, ...]) -> tuple[dict, dict]:
    """Split a residual linear in ``field`` and in ``symbol`` into ``A`` and ``B`` with
    ``residual = A ψ - E B ψ`` (up to one overall sign): dicts from derivative counts per
    coordinate, e.g. ``(2,)`` for ψ'', to SymPy coefficients in the coordinates.

    Raises:
        ProblemError: if the equation is not linear and homogeneous in the field, or not linear in
            the eigenvalue.
    """
    terms = field_terms([expr], (field,))
    if terms is None:
        raise ProblemError("the eigenvalue equation may differentiate only the field itself")
    dummies = {term: sp.Dummy() for term in terms}
    flat = sp.expand(expr.xreplace(dummies))
    E = sp.Symbol(symbol, real=True)
    if flat.subs({d: 0 for d in dummies.values()}) != 0:
        raise ProblemError(f"an eigenvalue equation must be homogeneous in {field} (every term multiplies {field} or a derivative of it)")
    linear_part = sum(flat.coeff(d) * d for d in dummies.values())
    if sp.expand(flat - linear_part) != 0:
        raise ProblemError(f"an eigenvalue equation must be linear in {field} and its derivatives")
    A, B = {}, {}
    for term, d in dummies.items():
        coeff = flat.coeff(d)
        if coeff.has(*dummies.values()):
            raise ProblemError(f"an eigenvalue equation must be linear in {field} and its derivatives")
        if sp.diff(coeff, E, 2) != 0:
            raise ProblemError(f"an eigenvalue equation must be linear in the eigenvalue {symbol}")
        counts = dict(terms[term][1])
        key = tuple(counts.get(c, 0) for c in coords)
        a, b = sp.simplify(coeff.subs(E, 0)), sp.simplify(-sp.diff(coeff, E))
        if a != 0:
            A[key] = A.get(key, 0) + a
        if b != 0:
            B[key] = B.get(key, 0) + b
    if not B:
        raise ProblemError(f"the equation does not contain the eigenvalue {symbol} times {field}")
    return A, B


def jumps(exprs, coord: sp.Symbol) -> list[float]:
    """Points where a ``Piecewise`` or ``Heaviside`` in ``exprs`` switches along ``coord``."""
    points = set()
    for expr in exprs:
        expr = sp.sympify(expr)
        for rel in expr.atoms(sp.core.relational.Relational):
            points |= _roots(rel.lhs - rel.rhs, coord)
        for h in expr.atoms(sp.Heaviside):
            points |= _roots(h.args[0], coord)
    return sorted(points)


def _roots(expr: sp.Expr, coord: sp.Symbol) -> set[float]:
    if not expr.has(coord):
        return set()
    try:
        roots = sp.solve(expr, coord)
    except Exception:  # an equation SymPy cannot solve: no split there
        return set()
    return {float(r) for r in roots if r.is_real and r.is_number}
