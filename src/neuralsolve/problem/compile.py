"""SymPy expressions -> JAX functions of a :class:`~neuralsolve.ops.point.Point`.

The expression tree is turned into nested Python closures over ``jax.numpy`` once; calling the
result under ``jit`` traces straight-line JAX code. No code is generated or executed from text.
"""

from __future__ import annotations

import math
import operator
from functools import reduce

import jax.numpy as jnp
import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from .parse import Namespace, parse_expression

_UNARY = {
    sp.sin: jnp.sin, sp.cos: jnp.cos, sp.tan: jnp.tan, sp.asin: jnp.arcsin, sp.acos: jnp.arccos,
    sp.atan: jnp.arctan, sp.sinh: jnp.sinh, sp.cosh: jnp.cosh, sp.tanh: jnp.tanh,
    sp.asinh: jnp.arcsinh, sp.acosh: jnp.arccosh, sp.atanh: jnp.arctanh, sp.exp: jnp.exp,
    sp.log: jnp.log, sp.Abs: jnp.abs, sp.sign: jnp.sign, sp.floor: jnp.floor, sp.ceiling: jnp.ceil,
    sp.sech: lambda v: 1 / jnp.cosh(v), sp.csch: lambda v: 1 / jnp.sinh(v),
    sp.coth: lambda v: 1 / jnp.tanh(v), sp.cot: lambda v: 1 / jnp.tan(v),
    sp.sec: lambda v: 1 / jnp.cos(v), sp.csc: lambda v: 1 / jnp.sin(v),
    sp.Not: jnp.logical_not,
}  # fmt: skip
_NARY = {
    sp.Add: operator.add, sp.Mul: operator.mul, sp.Max: jnp.maximum, sp.Min: jnp.minimum,
    sp.And: jnp.logical_and, sp.Or: jnp.logical_or,
}  # fmt: skip
_BINARY = {
    sp.StrictGreaterThan: operator.gt, sp.StrictLessThan: operator.lt, sp.GreaterThan: operator.ge,
    sp.LessThan: operator.le, sp.Equality: operator.eq, sp.Unequality: operator.ne, sp.atan2: jnp.arctan2,
}  # fmt: skip


def compile_expression(expr: sp.Expr, coords: tuple[str, ...], what: str):
    """Return ``fn(p) -> value`` evaluating ``expr`` at a point ``p``."""
    try:
        return _Compiler(tuple(coords), what).build(expr)
    except ProblemError:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError) as err:  # zoo, nan, an odd Piecewise
        raise ProblemError(f"{what}: {str(expr)[:60]!r} cannot be evaluated numerically ({type(err).__name__})") from None


def constant_value(text, parameters: dict[str, float], what: str) -> float:
    """A finite real number written as a number or an expression of numbers, constants (``pi``)
    and ``parameters``, such as ``"pi/2"`` or ``"L/2"``.

    The expression is evaluated in float64, as the solve would evaluate it (SymPy's exact
    evaluation can take minutes on an input such as ``exp(exp(10**6))``).
    """
    import jax

    if isinstance(text, bool) or not isinstance(text, (int, float, str)):
        raise ProblemError(f"{what}: expected a number or an expression such as 'pi/2', got {type(text).__name__}")
    if isinstance(text, str):
        text = text.strip()
        expr = parse_expression(text, Namespace((), (), dict(parameters)), what)
        if not expr.is_number:
            raise ProblemError(f"{what}: {text[:60]!r} is not a number")
        try:
            fn = compile_expression(expr, (), what)  # refuses zoo (1/0) and I (sqrt(-1))
            with jax.enable_x64(True):
                value = complex(fn(None))
        except (TypeError, ValueError, ArithmeticError):
            raise ProblemError(f"{what}: {text[:60]!r} is not a finite real number") from None
        if value.imag != 0 or not math.isfinite(value.real):
            raise ProblemError(f"{what}: {text[:60]!r} is not a finite real number")
        return value.real
    try:
        value = float(text)
    except OverflowError:  # a whole number beyond float64
        value = math.inf
    if not math.isfinite(value):
        shown = "a whole number too large for float64" if isinstance(text, int) else text
        raise ProblemError(f"{what}: expected a finite number, got {shown}")
    return value


class _Compiler:
    def __init__(self, coords, what):
        self.coords, self.what = coords, what

    def build(self, e):
        if isinstance(e, (bool, sp.logic.boolalg.BooleanAtom)):
            value = bool(e)
            return lambda p: value
        if e.is_Integer:
            value = int(e)
            return lambda p: value
        if e.is_Number or e.is_NumberSymbol:
            value = float(e)
            return lambda p: value
        if e.is_Symbol:
            name = e.name
            return lambda p: p[name]
        if isinstance(e, AppliedUndef):
            name = type(e).__name__
            return lambda p: p[name]
        if isinstance(e, sp.Derivative):
            return self._derivative(e)
        if isinstance(e, sp.Pow):
            return self._power(e)
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e)
        if isinstance(e, sp.Heaviside):
            return self._heaviside(e)
        if isinstance(e, sp.erf):
            from jax.scipy.special import erf

            arg = self.build(e.args[0])
            return lambda p: erf(arg(p))
        return self._table(e)

    def _table(self, e):
        args = [self.build(a) for a in e.args]
        for table, arity in ((_UNARY, 1), (_BINARY, 2), (_NARY, None)):
            fn = next((f for cls, f in table.items() if isinstance(e, cls)), None)
            if fn is not None and (arity is None or len(args) == arity):
                if arity == 1:
                    (a,) = args
                    return lambda p: fn(a(p))
                if arity == 2:
                    a, b = args
                    return lambda p: fn(a(p), b(p))
                return lambda p: reduce(fn, (a(p) for a in args))
        raise ProblemError(f"{self.what}: {type(e).__name__} cannot be evaluated numerically ({e})")

    def _derivative(self, e):
        target = e.expr
        if not isinstance(target, AppliedUndef):
            raise ProblemError(f"{self.what}: cannot differentiate {target}")
        name = type(target).__name__
        spec = []
        for var, count in e.variable_count:
            spec += [str(var), int(count)]
        return lambda p: p.d(name, *spec)

    def _power(self, e):
        base, exponent = e.args
        b = self.build(base)
        if exponent.is_Integer:
            k = int(exponent)  # integer powers stay exact for negative bases (lax.integer_pow)
            return lambda p: b(p) ** k
        if exponent == sp.Rational(1, 2):
            return lambda p: jnp.sqrt(b(p))
        x = self.build(exponent)
        return lambda p: jnp.power(b(p), x(p))

    def _piecewise(self, e):
        pieces = [(self.build(v), self.build(c)) for v, c in e.args]

        def fn(p):
            out = jnp.nan  # outside every branch: undefined, as in SymPy
            for value, cond in reversed(pieces):
                out = jnp.where(cond(p), value(p), out)
            return out

        return fn

    def _heaviside(self, e):
        arg = self.build(e.args[0])
        half = float(e.args[1]) if len(e.args) > 1 else 0.5
        return lambda p: jnp.where(arg(p) > 0, 1.0, jnp.where(arg(p) < 0, 0.0, half))
