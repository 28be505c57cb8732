"""Equation strings in SymPy syntax -> SymPy expressions, as mathematics only.

The string is parsed by Python's ``ast`` module (which builds a syntax tree and executes nothing)
and the tree is walked against a whitelist: numbers, arithmetic, comparisons, the names the
problem defines and a fixed set of mathematical functions. Anything else — attributes, strings,
subscripts, lambdas, unknown names — is refused with a message that names it. Nothing is ever
passed to ``eval``.

Fields become applied SymPy functions ``u(x, t)`` so that ``diff`` of any expression in the fields
follows the chain rule; ``diff(u, x, 2)`` is the second derivative in ``x``.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError

FUNCTIONS = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "atan2": sp.atan2,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "sech": sp.sech, "csch": sp.csch,
    "coth": sp.coth, "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh,
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "erf": sp.erf,
    "Abs": sp.Abs, "abs": sp.Abs, "sign": sp.sign, "Min": sp.Min, "Max": sp.Max,
    "min": sp.Min, "max": sp.Max, "floor": sp.floor, "ceiling": sp.ceiling,
    "Heaviside": sp.Heaviside, "Piecewise": sp.Piecewise,
}  # fmt: skip
CONSTANTS = {"pi": sp.pi, "E": sp.E}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.BitAnd: sp.And, ast.BitOr: sp.Or,
}  # fmt: skip
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}


@dataclass
class Namespace:
    """The names an expression may use: coordinates, fields, parameters, helper functions and
    scalar unknowns (an eigenvalue, a state index), which may shadow a constant such as ``E``."""

    coords: tuple[str, ...]
    fields: tuple[str, ...] = ()
    parameters: dict[str, float] = field(default_factory=dict)
    functions: dict[str, sp.Expr] = field(default_factory=dict)
    unknowns: tuple[str, ...] = ()

    def __post_init__(self):
        self.coord_symbols = {c: sp.Symbol(c, real=True) for c in self.coords}
        taken = {}
        for kind, names in (("coordinate", self.coords), ("field", self.fields),
                            ("parameter", self.parameters), ("function", self.functions),
                            ("unknown", self.unknowns)):  # fmt: skip
            for name in names:
                if name in taken:
                    raise ProblemError(f"the name {name!r} is used twice (as {taken[name]} and as {kind})")
                if name in FUNCTIONS or name == "diff" or (name in CONSTANTS and kind != "unknown"):
                    raise ProblemError(f"the {kind} name {name!r} is reserved for a mathematical function or constant")
                taken[name] = kind

    def field_function(self, name: str) -> sp.Expr:
        """The field ``name`` as an applied function of all coordinates."""
        return sp.Function(name)(*self.coord_symbols.values())

    def known(self) -> str:
        parts = [("coordinates", self.coords), ("fields", self.fields),
                 ("parameters", tuple(self.parameters)), ("functions", tuple(self.functions)),
                 ("unknowns", self.unknowns)]  # fmt: skip
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in parts if v)


def split_equation(text: str, what: str) -> tuple[str, str]:
    """Split ``"lhs = rhs"`` at its single ``=`` (not part of ``==``, ``<=``, ``>=``, ``!=``)."""
    if not isinstance(text, str):
        raise ProblemError(f"{what}: expected an equation string such as 'u = 0', got {type(text).__name__}")
    cuts = [i for i, ch in enumerate(text)
            if ch == "=" and text[i - 1 : i] not in ("<", ">", "!", "=") and text[i + 1 : i + 2] != "="]  # fmt: skip
    if len(cuts) != 1:
        found = "no '='" if not cuts else f"{len(cuts)} '=' signs"
        raise ProblemError(f"{what}: {text!r} is not an equation (expected 'left = right', found {found})")
    return text[: cuts[0]], text[cuts[0] + 1 :]


def parse_equation(text: str, ns: Namespace, what: str) -> sp.Expr:
    """Parse ``"lhs = rhs"`` into the residual ``lhs - rhs``."""
    lhs, rhs = split_equation(text, what)
    return parse_expression(lhs, ns, what) - parse_expression(rhs, ns, what)


def parse_expression(text: str, ns: Namespace, what: str) -> sp.Expr:
    """Parse one mathematical expression (no ``=``) against the names in ``ns``."""
    if not isinstance(text, str):
        raise ProblemError(f"{what}: expected an expression string, got {type(text).__name__}")
    if not text.strip():
        raise ProblemError(f"{what}: empty expression")
    _check_parentheses(text, what)
    try:
        # x^2 means x**2, as in SymPy's parser; replacing the token keeps the power's precedence.
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise ProblemError(f"{what}: {text.strip()!r} is not a valid expression ({err.msg})") from None
    return _Walker(ns, what, text.strip()).visit(tree.body)


def _check_parentheses(text: str, what: str) -> None:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        raise ProblemError(f"{what}: unbalanced parentheses in {text.strip()!r}")


class _Walker:
    """Turns a whitelisted Python syntax tree into a SymPy expression."""

    def __init__(self, ns: Namespace, what: str, text: str):
        self.ns, self.what, self.text = ns, what, text

    def fail(self, msg: str):
        raise ProblemError(f"{self.what}: {msg} in {self.text!r}")

    def visit(self, node):
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            self.fail(f"'{ast.unparse(node)}' is not allowed (only numbers, names, arithmetic and functions)")
        return method(node)

    def visit_Constant(self, node):
        if isinstance(node.value, bool):
            return sp.true if node.value else sp.false
        if isinstance(node.value, (int, float)):
            return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
        self.fail(f"{node.value!r} is not a number")

    def visit_Name(self, node):
        name, ns = node.id, self.ns
        if name in ns.coord_symbols:
            return ns.coord_symbols[name]
        if name in ns.fields:
            return ns.field_function(name)
        if name in ns.parameters:
            return sp.sympify(ns.parameters[name])
        if name in ns.functions:
            return ns.functions[name]
        if name in ns.unknowns:
            return sp.Symbol(name, real=True)
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS or name == "diff":
            self.fail(f"'{name}' is a function and needs arguments")
        self.fail(f"unknown symbol '{name}' ({ns.known()})")

    def visit_BinOp(self, node):
        op = _BINARY.get(type(node.op))
        if op is None:
            self.fail(f"operator '{ast.unparse(node)}' is not allowed")
        return op(self.visit(node.left), self.visit(node.right))

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return sp.Not(value)
        self.fail(f"operator in '{ast.unparse(node)}' is not allowed")

    def visit_BoolOp(self, node):
        op = sp.And if isinstance(node.op, ast.And) else sp.Or
        return op(*[self.visit(v) for v in node.values])

    def visit_Compare(self, node):
        terms = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        parts = [_COMPARE[type(op)](a, b) for op, a, b in zip(node.ops, terms, terms[1:])
                 if type(op) in _COMPARE]  # fmt: skip
        if len(parts) != len(node.ops):
            self.fail(f"comparison '{ast.unparse(node)}' is not allowed")
        return sp.And(*parts)

    def visit_Tuple(self, node):
        return tuple(self.visit(e) for e in node.elts)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.keywords:
            self.fail(f"'{ast.unparse(node)}' is not a call of a known function with plain arguments")
        name = node.func.id
        if name == "diff":
            return self._diff(node)
        if name not in FUNCTIONS:
            self.fail(f"unknown function '{name}'")
        args = [self.visit(a) for a in node.args]
        try:
            return FUNCTIONS[name](*args)
        except (TypeError, ValueError) as err:
            self.fail(f"bad arguments to {name}: {err}")

    def _diff(self, node):
        if len(node.args) < 2:
            self.fail("diff needs an expression and at least one coordinate, e.g. diff(u, x)")
        target = self.visit(node.args[0])
        spec = []
        for arg in node.args[1:]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
                if not spec or arg.value < 1:
                    self.fail("a derivative order must follow a coordinate and be at least 1")
                spec.append(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in self.ns.coord_symbols:
                spec.append(self.ns.coord_symbols[arg.id])
            else:
                self.fail(
                    f"derivative with respect to '{ast.unparse(arg)}', which is not a coordinate of the "
                    f"domain (coordinates: {', '.join(self.ns.coords)})"
                )
        return sp.diff(target, *spec)


Term = tuple[str, tuple[tuple[str, int], ...]]  # (field, ((coord, order), ...)); () for the value


def field_terms(exprs: list[sp.Expr], fields: tuple[str, ...]) -> dict[sp.Expr, Term] | None:
    """Every field value and derivative in ``exprs``, mapped to (field, orders by coordinate).

    None if something else is differentiated (an unevaluated derivative of an expression).
    """
    terms: dict[sp.Expr, Term] = {}
    for expr in exprs:
        for f in expr.atoms(AppliedUndef):
            if type(f).__name__ not in fields:
                return None
            terms[f] = (type(f).__name__, ())
        for d in expr.atoms(sp.Derivative):
            if not isinstance(d.expr, AppliedUndef) or type(d.expr).__name__ not in fields:
                return None
            counts: dict[str, int] = {}
            for var, count in d.variable_count:
                counts[str(var)] = counts.get(str(var), 0) + int(count)
            terms[d] = (type(d.expr).__name__, tuple(sorted(counts.items())))
    return terms
