"""A problem's equations as a first-order system ``dy/dt = f(t, y)`` for an ODE solver.

Each equation is a residual in the fields and their time derivatives. A field whose highest
derivative is of order k > 1 becomes k states (``theta``, ``theta_t``, ...) linked by
``d(theta)/dt = theta_t``; the highest derivatives are then solved for, symbolically, from the
equations (which must be linear in them: ``m*diff(x, t, 2) + c*diff(x, t) + k*x = 0`` is,
``diff(x, t)**2 = x`` is not). Unknown constants and hidden terms stay symbols, filled in at every
evaluation from the parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..._errors import ProblemError
from ...nn.mlp import MLP
from ...ops.point import value_at
from ...problem.compile import compile_expression
from ...problem.conditions import Dirichlet, InitialRate
from ...problem.domain import TIME
from ...problem.inverse import hidden_box, hidden_networks, input_box, padded_range
from ...problem.parse import Namespace, parse_expression
from ...problem.problem import Problem


class OdeSystem:
    """The states, the compiled right-hand sides, the initial values the conditions fix and the
    hidden terms' networks of ``problem``.

    Attributes:
        states: the state names: the fields, then added derivative states (``x_t``, ...).
        t0, t1: the time span of the domain.
        fixed: state index -> the initial value a condition gives it.
        names: the unknown constants, in order.
    """

    def __init__(self, problem: Problem):
        if problem.domain.coords != (TIME,):
            raise ProblemError(f"method 'neural-ode' solves problems whose only coordinate is t; this one has "
                               f"{', '.join(problem.domain.coords)} (use method = 'pinn')")  # fmt: skip
        if any(e.expr is None for e in problem.equations):
            raise ProblemError("method 'neural-ode' needs equations written as strings (a Python function cannot be "
                               "solved for the time derivatives)")  # fmt: skip
        if problem.eigen is not None:
            raise ProblemError("method 'neural-ode' does not solve eigenproblems")
        self.problem = problem
        lo, hi = problem.domain.bounds()
        self.t0, self.t1 = float(lo[0]), float(hi[0])
        self.states, rates = _first_order(problem)
        self._rates = [compile_expression(r, (TIME,), f"the rate of {s}") for s, r in zip(self.states, rates)]
        self.rate_exprs = rates
        self.fixed = _initial_values(problem, self.states, self.t0)
        self.names = tuple(problem.inverse.unknowns)
        self.networks = hidden_networks(problem.inverse.hidden)
        names = Namespace((TIME, *self.states))
        # each network input, a name or an expression of the time and states, as a function of them
        self._inputs = {i: compile_expression(parse_expression(i, names, f"hidden input {i!r}"), names.coords, i)
                        for h in problem.inverse.hidden.values() for i in h.inputs}  # fmt: skip

    def field_states(self) -> list[int]:
        """The state index of each field."""
        return [self.states.index(f) for f in self.problem.fields]

    def init_hidden(self, dtype, seed: int) -> tuple[dict, dict]:
        """The hidden networks' trainable arrays and their static parts, by network name."""
        import equinox as eqx

        arrays, statics = {}, {}
        for i, (net, members) in enumerate(self.networks.items()):
            h = self.problem.inverse.hidden[members[0]]
            lo, hi = hidden_box(self.problem, h, lambda _, inputs: self._input_box(inputs))
            module = MLP(width=h.width, depth=h.depth, activation=h.activation).build(
                len(h.inputs), len(members), lo, hi, dtype, seed + 7919 * (i + 1))  # fmt: skip
            arrays[net], statics[net] = eqx.partition(module, eqx.is_inexact_array)
        return arrays, statics

    def _input_box(self, inputs) -> tuple[list[float], list[float]]:
        """Bounds that scale a network's inputs: as for inverse problems for names; an expression's
        range over the measured rows (widened by a quarter each way)."""
        lo, hi = input_box(self.problem, [i if i.isidentifier() else TIME for i in inputs])
        for k, text in enumerate(inputs):
            if text.isidentifier():
                continue
            fn, rows = self._inputs[text], []
            for d in self.problem.inverse.data:
                names = {TIME: d.points[:, 0], **{f: d.values[:, j] for j, f in enumerate(self.problem.fields)}}
                rows.append(np.asarray(fn(names), float) * np.ones(len(d.points)))
            lo[k], hi[k] = padded_range(np.concatenate(rows))
        return lo, hi

    def constants(self, theta: dict, support: dict | None = None) -> dict:
        """The unknown constants' values from their raw parameters (a positive one is trained as
        its logarithm, a signed one divided by its initial magnitude); ``support`` holds some at 0."""
        out = {}
        for name, u in self.problem.inverse.unknowns.items():
            value = jnp.exp(theta[name]) if u.positive else theta[name] * u.scale()
            out[name] = value * support[name] if support is not None and name in support else value
        return out

    def raw(self, name: str, value):
        """The raw parameter of constant ``name`` at ``value`` (the inverse of :meth:`constants`;
        a number or a traced value)."""
        u = self.problem.inverse.unknowns[name]
        return jnp.log(value) if u.positive else value / u.scale()

    def vector_field(self, statics: dict):
        """``f(t, y, args) -> dy/dt`` with ``args = (theta, hidden arrays, support)``."""
        import equinox as eqx

        hidden = self.problem.inverse.hidden
        inputs = {net: [self._inputs[i] for i in hidden[members[0]].inputs] for net, members in self.networks.items()}
        states, rates, networks = self.states, self._rates, self.networks

        def f(t, y, args):
            theta, arrays, support = args
            values = {TIME: t, **{s: y[i] for i, s in enumerate(states)}, **self.constants(theta, support)}
            for net, members in networks.items():
                x = jnp.stack([jnp.asarray(read(values), y.dtype) + 0 * t for read in inputs[net]])
                out = eqx.combine(arrays[net], statics[net])(x)
                values.update({m: out[k] for k, m in enumerate(members)})
            return jnp.stack([jnp.asarray(rate(values), y.dtype) + 0 * t for rate in rates])

        return f

    def hidden_values(self, statics: dict, arrays: dict, points: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each hidden term's inputs and values at ``points`` (n, 1 + states): time, then states."""
        import equinox as eqx

        names = (TIME, *self.states)
        columns = {n: points[:, k] for k, n in enumerate(names)}
        out = {}
        for net, members in self.networks.items():
            h = self.problem.inverse.hidden[members[0]]
            x = np.stack([np.asarray(self._inputs[n](columns), float) * np.ones(len(points)) for n in h.inputs], axis=1)
            module = eqx.combine(arrays[net], statics[net])
            values = np.asarray(jax.vmap(module)(jnp.asarray(x, jax.tree_util.tree_leaves(arrays[net])[0].dtype)))
            out.update({m: (x, values[:, k]) for k, m in enumerate(members)})
        return out


def _first_order(problem: Problem) -> tuple[tuple[str, ...], list[sp.Expr]]:
    """The state names and each state's rate as a SymPy expression in t, the states, the
    unknowns and the hidden terms."""
    t = sp.Symbol(TIME, real=True)
    order = {f: 0 for f in problem.fields}
    for e in problem.equations:
        for d in e.expr.atoms(sp.Derivative):
            name = type(d.expr).__name__
            if d.expr.func.__name__ in order:
                order[name] = max(order[name], sum(int(c) for _, c in d.variable_count))
    missing = [f for f, k in order.items() if k == 0]
    if missing:
        raise ProblemError(f"method 'neural-ode': no equation gives the time derivative of {', '.join(missing)}; "
                           "every field needs one (diff(x, t) = ...)")  # fmt: skip
    taken = set(problem.fields) | set(problem.unknowns) | set(problem.parameters) | {TIME}
    names, symbol_of, highest = [], {}, []
    for f, k in order.items():
        for j in range(k):
            name = f if j == 0 else _fresh(f + "_" + "t" * j, taken)
            taken.add(name)
            names.append(name)
            symbol_of[(f, j)] = sp.Symbol(name, real=True)
        highest.append(sp.Symbol(f"__rate_{f}", real=True))
    residuals = []
    for e in problem.equations:
        r = e.expr
        for d in sorted(r.atoms(sp.Derivative), key=lambda d: -sum(int(c) for _, c in d.variable_count)):
            f, j = type(d.expr).__name__, sum(int(c) for _, c in d.variable_count)
            r = r.subs(d, highest[list(order).index(f)] if j == order[f] else symbol_of[(f, j)])
        r = r.replace(lambda a: isinstance(a, AppliedUndef), lambda a: symbol_of[(type(a).__name__, 0)])
        residuals.append(r)
    if len(residuals) != len(highest):
        raise ProblemError(f"method 'neural-ode' needs one equation per field: {len(residuals)} equation(s) for "
                           f"{len(highest)} field(s)")  # fmt: skip
    try:
        A, b = sp.linear_eq_to_matrix(residuals, highest)
    except (sp.polys.polyerrors.PolynomialError, ValueError, NotImplementedError):
        raise ProblemError("method 'neural-ode': the equations must be linear in the highest time derivatives "
                           "(so that they can be solved for them)") from None  # fmt: skip
    if A.free_symbols & set(highest) or sp.simplify(A.det()) == 0:
        raise ProblemError("method 'neural-ode': the equations do not determine every field's highest time "
                           "derivative (solve them for diff(x, t) = ... and write that)")  # fmt: skip
    solved = list(A.LUsolve(b)) if A != sp.eye(len(highest)) else list(b)
    rates = []
    for f, k in order.items():
        rates += [symbol_of[(f, j + 1)] for j in range(k - 1)] + [solved[list(order).index(f)]]
    return tuple(names), rates


def _fresh(name: str, taken: set) -> str:
    while name in taken:
        name += "_"
    return name


def _initial_values(problem: Problem, states: tuple[str, ...], t0: float) -> dict[int, float]:
    """The initial values the conditions fix: a value condition at the start (``Initial(x, v)``,
    or a file's ``on = "t = 0"``, ``set = "x = v"``) fixes ``x``; ``InitialRate(x, v)`` fixes
    ``x_t``. Any other condition is refused (the data give the rest)."""
    fixed = {}
    for i, cond in enumerate(problem.arguments.get("conditions") or [], 1):
        what = f"condition {i}"
        state, value = _initial_value(problem, cond, states, t0, what)
        if state in fixed:
            raise ProblemError(f"{what}: the initial value of {states[state]!r} is already given")
        fixed[state] = _at_start(problem, value, t0, what)
    return fixed


def _at_start(problem: Problem, value, t0: float, what: str) -> float:
    """A condition's value at t0: a number, an expression of t (evaluated by SymPy, so that
    checking a file compiles nothing) or a function of a point."""
    if isinstance(value, str):
        expr = parse_expression(value, Namespace((TIME,), (), problem.parameters), what)
        number = complex(expr.subs(sp.Symbol(TIME, real=True), t0).evalf())
        if number.imag or not np.isfinite(number.real):
            raise ProblemError(f"{what}: the initial value {value!r} is not a finite real number at t = {t0:g}")
        return number.real
    return float(value_at(problem._value(value, what), (TIME,), jnp.asarray([t0])))


def _initial_value(problem: Problem, cond, states: tuple[str, ...], t0: float, what: str) -> tuple[int, object]:
    """(state index, value) of one initial condition."""
    refuse = f"{what}: method 'neural-ode' takes initial conditions only (at t = {t0:g}; the data give the rest)"
    if isinstance(cond, InitialRate):
        rate = next((s for s in states if s.rstrip("_") == cond.field + "_t"), None)
        if rate is None:
            raise ProblemError(f"{what}: an initial rate of {cond.field!r}, whose equation is first order")
        return states.index(rate), cond.value
    if problem.region_of(cond.on, what) != (TIME, t0):
        raise ProblemError(refuse)
    if isinstance(cond, Dirichlet):
        return states.index(cond.field), cond.value
    field, value = problem._as_dirichlet(cond.equation, what) if isinstance(cond.equation, str) else (None, None)
    if field is None:
        raise ProblemError(f"{refuse}: write it as '<field> = <value>'")
    return states.index(field), value
