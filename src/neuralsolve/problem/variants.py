"""Problems derived from an inverse problem: the same equations with the estimated constants as
parameters (what the classical reference and the standard errors solve), with a discovered
formula in place of a hidden term (what verification re-solves), or both, a forward problem (what
the classical reference of a discovery solves)."""

from __future__ import annotations

import re

from .conditions import Condition
from .inverse import Unknown
from .problem import Problem


def with_constants(problem: Problem, constants: dict[str, float]) -> Problem:
    """``problem`` with its unknown constants fixed at ``constants``: no unknowns, no data (a
    forward problem, which a classical method may solve); hidden terms are kept."""
    args = dict(problem.arguments)
    args["parameters"] = {**(args.get("parameters") or {}), **constants}
    args["exact"] = {k: v for k, v in (args.get("exact") or {}).items() if k in problem.fields}
    args.update(unknowns=None, data=None, discover=None, solver=None)
    return Problem(problem.domain, **args)


def coefficient_names(problem: Problem, term: str, count: int) -> list[str]:
    """Names for a formula's coefficients, ``F_1``, ``F_2``, ...: unused elsewhere in the problem."""
    taken = set(problem.fields) | set(problem.domain.coords) | set(problem.parameters) | set(problem.unknowns)
    names, k = [], 1
    while len(names) < count:
        name = f"{term}_{k}"
        if name not in taken:
            names.append(name)
        k += 1
    return names


def with_formulas(problem: Problem, formulas: dict, constants: dict[str, float]) -> Problem | None:
    """``problem`` with each hidden term replaced by its formula, whose coefficients become
    unknown constants (started at the regression's values), other unknowns started at
    ``constants``; None when an equation is a Python function (nothing to substitute in)."""
    equations = _string_equations(problem)
    if equations is None:
        return None
    unknowns = {k: Unknown(initial=v if not u.positive or v > 0 else u.initial, positive=u.positive)
                for k, v, u in ((k, constants[k], problem.inverse.unknowns[k]) for k in constants)}  # fmt: skip
    for name, formula in formulas.items():
        names = coefficient_names(problem, name, len(formula.terms))
        unknowns.update({n: Unknown(initial=c) for n, c in zip(names, formula.coefficients)})
        text = " + ".join(f"{n}*({t})" for n, t in zip(names, formula.terms)) or "0"
        equations = _replaced(equations, name, text)
    args = dict(problem.arguments)
    args.update(equations=equations, unknowns=unknowns, hidden=None, discover=None, solver=None)
    return Problem(problem.domain, **args)


def with_discovered(problem: Problem, formulas: dict[str, str], constants: dict[str, float],
                    start: dict[str, float] | None = None) -> Problem | None:  # fmt: skip
    """The forward problem a discovery found: each hidden term replaced by its formula's text,
    the unknown constants fixed at ``constants``, no data. A problem whose only conditions were
    its data (an ODE in time learned from measurements) starts from ``start``, each field's value
    at the start time. None when an equation is a Python function or a formula is missing."""
    equations = _string_equations(problem)
    if equations is None or set(formulas) != set(problem.inverse.hidden):
        return None
    for name, text in formulas.items():
        equations = _replaced(equations, name, text)
    args = dict(problem.arguments)
    args["parameters"] = {**(args.get("parameters") or {}), **constants}
    args["exact"] = {k: v for k, v in (args.get("exact") or {}).items() if k in problem.fields}
    args.update(equations=equations, unknowns=None, hidden=None, data=None, discover=None, solver=None)
    if not args.get("conditions") and start is not None:
        (coord, (t0, _)) = problem.domain.coords[0], problem.domain.bounds()
        args["conditions"] = [Condition(f"{f} = {start[f]!r}", on=f"{coord} = {float(t0[0])!r}") for f in problem.fields]
    return Problem(problem.domain, **args)


def _string_equations(problem: Problem) -> list[str] | None:
    """The problem's equations as written, or None when one is a Python function."""
    equations = problem.arguments["equations"]
    equations = [equations] if isinstance(equations, str) else list(equations)
    return equations if all(isinstance(e, str) for e in equations) else None


def _replaced(equations: list[str], name: str, text: str) -> list[str]:
    """``equations`` with the whole word ``name`` replaced by ``(text)``."""
    return [re.sub(rf"\b{re.escape(name)}\b", f"({text})", e) for e in equations]
