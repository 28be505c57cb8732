"""A problem's equations, conditions and domain as MathML, which browsers render with no script,
font or network.

Strings are parsed by the problem's own parser (mathematics only, never evaluated as Python), with
parameters and helper functions kept as names — the report shows ``-c v``, not ``-0.5 v`` — and
fields written ``u``, not ``u(x, t)``.
"""

from __future__ import annotations

import html

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.mathml import MathMLPresentationPrinter

from .._errors import ProblemError
from ..problem.parse import Namespace, parse_expression, split_equation


BLOCK = ' class="eq"'  # full-size inline math in a block of its own (block math would be centred)


class _Printer(MathMLPresentationPrinter):
    """SymPy's presentation MathML, with fields printed by name and derivatives as ∂²u/∂x²."""

    def _print_AppliedUndef(self, e):
        return self._print(sp.Symbol(type(e).__name__))

    def _print_Derivative(self, e):
        # ordinary "d" for a function of one coordinate, partial "∂" otherwise
        d = "&#x2202;" if len(getattr(e.expr, "args", ())) != 1 else "d"
        top = self.dom.createElement("mrow")
        top.appendChild(self._power(d, sum(int(n) for _, n in e.variable_count)))
        field = isinstance(e.expr, AppliedUndef)
        if field:  # ∂u/∂x: the field in the numerator
            top.appendChild(self._print(e.expr))
        bottom = self.dom.createElement("mrow")
        for var, n in e.variable_count:
            bottom.appendChild(self._power(d, 1))
            bottom.appendChild(self._print(var) if int(n) == 1 else self._sup(self._print(var), int(n)))
        frac = self.dom.createElement("mfrac")
        frac.appendChild(top)
        frac.appendChild(bottom)
        if field:
            return frac
        row = self.dom.createElement("mrow")  # d/dx (expression)
        row.appendChild(frac)
        row.appendChild(self.parenthesize(e.expr, 0))
        return row

    def _power(self, symbol: str, n: int):
        op = self.dom.createElement("mo")
        op.appendChild(self.dom.createTextNode(symbol))
        return op if n == 1 else self._sup(op, n)

    def _sup(self, base, n: int):
        sup = self.dom.createElement("msup")
        sup.appendChild(base)
        sup.appendChild(self._print(sp.Integer(n)))
        return sup


def to_mathml(expr, display: bool = False) -> str:
    """``<math>`` for a SymPy expression (or a relation such as ``Eq``)."""
    body = _Printer().doprint(expr).replace("<mo>-</mo>", "<mo>&#x2212;</mo>")  # a minus sign, not a hyphen
    return f"<math{BLOCK if display else ''}>{body}</math>"


def display_namespace(problem, extra: tuple[str, ...] = ()) -> Namespace:
    """The problem's names for display: coordinates and fields as in the problem; parameters,
    helper functions and scalar unknowns (an eigenvalue) as plain symbols; plus ``extra`` names
    (the state index ``n`` of an eigenproblem's exact solution)."""
    names = (*problem.parameters, *(problem.arguments.get("functions") or {}), *problem.unknowns, *extra)
    names = tuple(dict.fromkeys(n for n in names if n not in problem.domain.coords and n not in problem.fields))
    return Namespace(problem.domain.coords, problem.fields, unknowns=names)


def expression(text, ns: Namespace) -> str:
    """MathML of one expression string (a number or a string), or the text as code where it cannot
    be parsed for display."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return to_mathml(sp.sympify(text))
    try:
        return to_mathml(parse_expression(text, ns, "display"))
    except ProblemError:
        return f"<code>{html.escape(str(text))}</code>"


def equation(text: str, ns: Namespace, display: bool = True) -> str:
    """MathML of ``"left = right"``, or the text as code where it cannot be parsed for display."""
    try:
        left, right = split_equation(text, "display")
        relation = sp.Eq(parse_expression(left, ns, "display"), parse_expression(right, ns, "display"), evaluate=False)
    except (ProblemError, TypeError, ValueError):
        return f"<code>{html.escape(text)}</code>"
    return to_mathml(relation, display)


def assignment(name: str, value, ns: Namespace, arguments: tuple[str, ...] = ()) -> str:
    """MathML of ``name(arguments) = value`` (an exact solution, a helper function)."""
    left = sp.Function(name)(*(sp.Symbol(a) for a in arguments)) if arguments else sp.Symbol(name)
    right = value if isinstance(value, str) else str(value)
    try:
        relation = sp.Eq(left, parse_expression(right, ns, "display"), evaluate=False)
    except (ProblemError, TypeError, ValueError):
        return f"<code>{html.escape(name)} = {html.escape(right)}</code>"
    return to_mathml(relation, True)


def membership(coord: str, lo: float, hi: float) -> str:
    """``coord ∈ [lo, hi]`` in MathML."""
    return (f"<math><mi>{html.escape(coord)}</mi><mo>&#x2208;</mo><mo>[</mo><mn>{_number(lo)}</mn><mo>,</mo>"
            f"<mn>{_number(hi)}</mn><mo>]</mo></math>")  # fmt: skip


def disk(coords: tuple[str, str], center: tuple[float, float], radius: float) -> str:
    """``(x − x0)² + (y − y0)² ≤ r²`` in MathML."""
    x, y = (sp.Symbol(c) for c in coords)
    a, b, r = (_exact(v) for v in (*center, radius))
    return to_mathml(sp.Le((x - a) ** 2 + (y - b) ** 2, r**2, evaluate=False))


def _exact(value: float) -> sp.Expr:
    return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value, 10)


def _number(value: float) -> str:
    """A bound as written: whole numbers without a decimal point, others to 10 significant digits."""
    return f"{value:.10g}".replace("-", "&#x2212;")
