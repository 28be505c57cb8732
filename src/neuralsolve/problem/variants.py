"""Problems derived from an inverse problem: the same equations with the estimated constants as
parameters (what the classical reference and the standard errors solve), or with a discovered
formula in place of a hidden term (what verification re-solves)."""

from __future__ import annotations

import re

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
    equations = problem.arguments["equations"]
    equations = [equations] if isinstance(equations, str) else list(equations)
    if not all(isinstance(e, str) for e in equations):
        return None
    unknowns = {k: Unknown(initial=v if not u.positive or v > 0 else u.initial, positive=u.positive)
                for k, v, u in ((k, constants[k], problem.inverse.unknowns[k]) for k in constants)}  # fmt: skip
    for name, formula in formulas.items():
        names = coefficient_names(problem, name, len(formula.terms))
        unknowns.update({n: Unknown(initial=c) for n, c in zip(names, formula.coefficients)})
        text = " + ".join(f"{n}*({t})" for n, t in zip(names, formula.terms)) or "0"
        equations = [re.sub(rf"\b{re.escape(name)}\b", f"({text})", e) for e in equations]
    args = dict(problem.arguments)
    args.update(equations=equations, unknowns=unknowns, hidden=None, discover=None, solver=None)
    return Problem(problem.domain, **args)
