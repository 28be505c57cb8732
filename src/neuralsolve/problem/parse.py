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
import math
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

# Limits that keep parsing fast on any input (files are data from other people): SymPy evaluates
# powers of numbers exactly, so 9**9**9**9 would never finish, and the walker recurses.
MAX_LENGTH = 10_000  # characters in one expression
MAX_DEPTH = 100  # nesting of the expression's syntax tree
MAX_EXPONENT = 1000  # |n| in a power x**n with a numeric n
MAX_BITS = 100_000  # size of an exact number a power of numbers may produce (about 30,000 digits)
MAX_ORDER = 10  # total order of one derivative

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
    if not cuts and "==" in text:
        raise ProblemError(f"{what}: {_short(text)} is not an equation: write a single '=' between the two sides, not '=='")
    if len(cuts) != 1:
        found = "no '='" if not cuts else f"{len(cuts)} '=' signs"
        raise ProblemError(f"{what}: {_short(text)} is not an equation (expected 'left = right', found {found})")
    return text[: cuts[0]], text[cuts[0] + 1 :]


def parse_equation(text: str, ns: Namespace, what: str) -> sp.Expr:
    """Parse ``"lhs = rhs"`` into the residual ``lhs - rhs``."""
    lhs, rhs = split_equation(text, what)
    sides = [parse_expression(side, ns, what) for side in (lhs, rhs)]
    for side, part in zip((lhs, rhs), sides):
        # x > 0, a == b: conditions, not quantities (a lone symbol is a Boolean to SymPy too, but a quantity here)
        if isinstance(part, sp.logic.boolalg.Boolean) and not isinstance(part, sp.Symbol):
            raise ProblemError(f"{what}: {_short(side.strip())} is a condition, not a quantity: an equation "
                               "sets two quantities equal (use Piecewise((value, condition), ...) for a switch)")  # fmt: skip
    return sides[0] - sides[1]


def parse_expression(text: str, ns: Namespace, what: str) -> sp.Expr:
    """Parse one mathematical expression (no ``=``) against the names in ``ns``."""
    if not isinstance(text, str):
        raise ProblemError(f"{what}: expected an expression string, got {type(text).__name__}")
    if not text.strip():
        raise ProblemError(f"{what}: empty expression")
    if len(text.strip()) > MAX_LENGTH:
        raise ProblemError(f"{what}: the expression is {len(text.strip())} characters long; the limit is {MAX_LENGTH}")
    _check_primes(text, what)
    _check_parentheses(text, what)
    try:
        # x^2 means x**2, as in SymPy's parser; replacing the token keeps the power's precedence.
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:  # ValueError: a null byte, huge literals
        cause = getattr(err, "msg", None) or str(err) or type(err).__name__
        raise ProblemError(f"{what}: {_short(text.strip())} is not a valid expression ({cause.splitlines()[0]})") from None
    walker = _Walker(ns, what, text.strip())
    if _depth(tree.body) > MAX_DEPTH:
        walker.fail(f"the expression is nested more than {MAX_DEPTH} levels deep")
    try:
        value = walker.visit(tree.body)
    except ProblemError:
        raise
    except (TypeError, ValueError, AttributeError, ArithmeticError, RecursionError, NotImplementedError) as err:
        # SymPy refusing a combination the walker allowed (a tuple plus a number, x & 1, ...)
        walker.fail(f"not a valid mathematical expression ({type(err).__name__}: {_short(str(err))})")
    if not isinstance(value, sp.Basic) or isinstance(value, sp.logic.boolalg.BooleanAtom):
        walker.fail("expected a mathematical expression" + (", not a tuple" if isinstance(value, tuple) else ""))
    return value


def _short(text: str, limit: int = 60) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters: messages stay one readable line."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _depth(node) -> int:
    """Nesting depth of a syntax tree, without recursion (the tree may be very deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d <= MAX_DEPTH:
            stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_primes(text: str, what: str) -> None:
    """Refuse primes (``u'``, ``u''``), which Python would read as the start of a string."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            before = text[:i].rstrip()[-1:]
            if ch == "'" and (before.isalnum() or before in ("_", ")", "'")) and text[i - 1 : i] == before:
                raise ProblemError(
                    f"{what}: primes for derivatives are not supported in {_short(text.strip())}: "
                    "write diff(u, x) for u', diff(u, x, 2) for u''"
                )
            quote = ch
        elif ch == "\u2032":  # the prime sign
            raise ProblemError(f"{what}: primes for derivatives are not supported: write diff(u, x) for u'")


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
        raise ProblemError(f"{self.what}: {msg} in {_short(self.text)}")

    def visit(self, node):
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            self.fail(f"{_short(ast.unparse(node))} is not allowed (only numbers, names, arithmetic and functions)")
        return method(node)

    def visit_Constant(self, node):
        if isinstance(node.value, bool):
            return sp.true if node.value else sp.false
        if isinstance(node.value, int):
            return sp.Integer(node.value)
        if isinstance(node.value, float):
            if not math.isfinite(node.value):
                self.fail(f"the number {ast.unparse(node)} is too large")
            return sp.Float(node.value)
        self.fail(f"{_short(str(node.value)) if isinstance(node.value, str) else repr(node.value)} is not a number")

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
        known = ns.known() or "only numbers and constants such as pi may be used here"
        self.fail(f"unknown symbol {_short(name, 40)} ({known})")

    def visit_BinOp(self, node):
        op = _BINARY.get(type(node.op))
        if op is None:
            self.fail(f"operator {_short(ast.unparse(node))} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        if op is operator.pow:
            self._check_power(left, right)
        return self._check_number(op(left, right))

    def _check_number(self, value):
        """Refuse numbers too large to use: a float beyond float64's range (SymPy would go on to
        evaluate exp of it with ever more digits), or an exact number of more than MAX_BITS."""
        if isinstance(value, sp.Float) and not abs(value) < 1e308:
            self.fail(f"the number {str(value)[:30]} is too large")
        if isinstance(value, sp.Rational) and max(int(value.p).bit_length(), int(value.q).bit_length()) > MAX_BITS:
            self.fail(f"a number is too large (more than {MAX_BITS} bits)")
        return value

    def _check_power(self, base, exponent) -> None:
        """Refuse powers SymPy would take too long to evaluate exactly (``9**9**9**9``)."""
        if not isinstance(exponent, sp.Number) or not isinstance(base, (sp.Basic, int, float)):
            return
        if not exponent.is_finite or abs(exponent) > MAX_EXPONENT:
            self.fail(f"the exponent {str(exponent)[:30]} is too large (at most {MAX_EXPONENT} in absolute value)")
        if isinstance(base, sp.Rational) and isinstance(exponent, sp.Rational):
            bits = max(int(base.p).bit_length(), int(base.q).bit_length()) * abs(int(exponent.p))
            if bits > MAX_BITS:
                self.fail(f"a power of numbers is too large (more than {MAX_BITS} bits)")

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return sp.Not(value)
        self.fail(f"operator in {_short(ast.unparse(node))} is not allowed")

    def visit_BoolOp(self, node):
        op = sp.And if isinstance(node.op, ast.And) else sp.Or
        return op(*[self.visit(v) for v in node.values])

    def visit_Compare(self, node):
        terms = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        parts = [_COMPARE[type(op)](a, b) for op, a, b in zip(node.ops, terms, terms[1:])
                 if type(op) in _COMPARE]  # fmt: skip
        if len(parts) != len(node.ops):
            self.fail(f"comparison {_short(ast.unparse(node))} is not allowed")
        return sp.And(*parts)

    def visit_Tuple(self, node):
        return tuple(self.visit(e) for e in node.elts)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.keywords:
            self.fail(f"{_short(ast.unparse(node))} is not a call of a known function with plain arguments")
        name = node.func.id
        if name == "diff":
            return self._diff(node)
        if name not in FUNCTIONS:
            self.fail(f"unknown function {_short(name, 40)}")
        args = [self.visit(a) for a in node.args]
        try:
            return self._check_number(FUNCTIONS[name](*args))
        except ProblemError:
            raise
        except (TypeError, ValueError, AttributeError, ArithmeticError, NotImplementedError) as err:
            self.fail(f"bad arguments to {name}: {_short(str(err))}")

    def _diff(self, node):
        if len(node.args) < 2:
            self.fail("diff needs an expression and at least one coordinate, e.g. diff(u, x)")
        target = self.visit(node.args[0])
        spec = []
        for arg in node.args[1:]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
                if not spec or arg.value < 1:
                    self.fail("a derivative order must follow a coordinate and be at least 1")
                if arg.value > MAX_ORDER:
                    self.fail(f"derivatives of order above {MAX_ORDER} are not supported")
                spec.append(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in self.ns.coord_symbols:
                spec.append(self.ns.coord_symbols[arg.id])
            else:
                self.fail(
                    f"derivative with respect to {_short(ast.unparse(arg), 30)}, which is not a coordinate of the "
                    f"domain (coordinates: {', '.join(self.ns.coords)})"
                )
        orders = [a for a in spec if isinstance(a, int)]
        if len(spec) - len(orders) + sum(o - 1 for o in orders) > MAX_ORDER:
            self.fail(f"derivatives of order above {MAX_ORDER} are not supported")
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
