"""Problem: a domain, fields, equations and conditions, validated before anything compiles."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from .._errors import ProblemError
from ..ops.point import Point, value_at
from .compile import compile_expression, constant_value
from .conditions import (Condition, Dirichlet, HardValue, InitialRate, Neumann, Observations,
                         Penalty, Periodic, Robin, ShapeValue)  # fmt: skip
from .domain import TIME, Domain
from .eigen import STATE_INDEX, Eigen, jumps, pencil
from .operator import Operator
from .shape_values import add_shape_value, plane_alone_or_in_time, settle_in_time
from .arguments import TOLERANCE, checked_parameters, checked_tolerance, field_names  # noqa: F401 (TOLERANCE: named here)
from .inverse import Discover, Inverse, candidate_terms, check_data, check_hidden, check_unknowns
from .parse import Namespace, parse_equation, parse_expression, split_equation


SOLVE_SETTINGS = {"network", "points", "phases", "precision", "seed", "weighting", "causal", "sampling", "redraw",
                  "time_limit", "windows", "method", "ode", "model", "training", "devices"}
SIGNS = ("positive", "negative")


class Equation:
    """One residual equation: a label, ``residual(p)``, the derivatives it needs and, for equations
    given as strings, the SymPy residual ``expr`` (fields as applied functions ``u(x, t)``)."""

    def __init__(self, label: str, residual: Callable, needed: frozenset, expr: sp.Expr | None = None):
        self.label, self.residual, self.needed, self.expr = label, residual, needed, expr

    def __repr__(self) -> str:
        return f"Equation({self.label!r})"


_EXACT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # problem -> {(field, state): program}


class Problem:
    """A differential-equation problem on a domain.

    Args:
        domain: where the fields live (:class:`Interval`, :class:`Rectangle`, :class:`Disk`, ...).
        fields: unknown function names, e.g. ``"u"`` or ``["u", "v"]``.
        equations: strings in SymPy syntax with ``=`` (``"diff(u, t) = diff(u, x, 2)"``) or Python
            functions ``residual(p)`` of a :class:`~neuralsolve.ops.point.Point`.
        conditions: :class:`Dirichlet`, :class:`Neumann`, :class:`Robin`, :class:`Periodic`,
            :class:`Initial`, :class:`InitialRate`, :class:`Observations` or :class:`Condition`.
        parameters: named constants usable in strings.
        functions: named helper expressions (strings) in coordinates and parameters.
        exact: closed-form solution per field (string or function of a point), for error metrics.
        name: a title for reports.
        solver: default keyword arguments of :func:`neuralsolve.solve` for this problem (a problem
            file's ``[solver]`` table); arguments given to ``solve`` take precedence.
        reference: ``"auto"`` (default): without an exact solution, verify against a classical
            solution where one applies (:func:`neuralsolve.reference.classical_reference`);
            ``"none"``: do not.
        eigen: an :class:`Eigen` makes this an eigenproblem: one field, one equation linear in the
            field and in the eigenvalue ``eigen.symbol``, solved for the lowest ``eigen.states``
            states. ``exact`` may then give the eigenvalue too (key ``eigen.symbol``), and exact
            expressions may use the state index ``n`` (from 0).
        scale: a typical magnitude per field (``{"rho": 1e-3}``): the network's output is scaled by
            it, so fields of very different sizes train alike; or a positive expression of the
            coordinates, an envelope such as a known decay (``{"psi": "exp(-x^2/4)"}``).
        sign: ``"positive"`` or ``"negative"`` per field: the field is ``±scale·exp(network)``,
            never zero or of the wrong sign (value conditions on it must have that sign too).
        tolerance: the largest relative error against the reference (exact or classical) that
            still counts as agreement (default :data:`TOLERANCE`); a solve beyond it has status
            ``"disagrees"``.
        unknowns: constants of the equations to estimate from ``data``, by name: an
            :class:`Unknown` (or its initial value) each. ``exact`` may give their true values.
        data: measurements (:class:`Data`, or a list of them) the solution must fit.
        hidden: terms of the equations learned as networks, by name: a :class:`Hidden` each.
        discover: a :class:`Discover` turns each hidden term into a formula after training.

    Raises:
        ProblemError: for any name, condition or derivative that does not fit the domain and fields.
    """

    def __init__(self, domain: Domain, fields, equations, conditions: Sequence[Condition] = (), *,
                 parameters: dict | None = None, functions: dict | None = None,
                 exact: dict | None = None, name: str = "problem", solver: dict | None = None,
                 reference: str = "auto", eigen: Eigen | None = None, scale: dict | None = None,
                 sign: dict | None = None, tolerance: float | None = None, unknowns: dict | None = None,
                 data=None, hidden: dict | None = None, discover: Discover | None = None,
                 operator: Operator | None = None):  # fmt: skip
        if not isinstance(domain, Domain):
            raise ProblemError(f"domain must be a neuralsolve Domain, got {type(domain).__name__}")
        self.domain, self.name = domain, name
        self.source: str | None = None  # the problem file's text and path, when loaded from one
        self.source_path = None
        # the arguments as given, so that a variant (one time window of this problem) can be built
        self.arguments = {"fields": fields, "equations": equations, "conditions": list(conditions),
                          "parameters": parameters, "functions": functions, "exact": exact, "name": name,
                          "reference": reference, "eigen": eigen, "scale": scale, "sign": sign,
                          "tolerance": tolerance, "unknowns": unknowns, "data": data, "hidden": hidden,
                          "discover": discover, "operator": operator}  # fmt: skip
        self.solver = dict(solver or {})
        if reference not in ("auto", "none"):
            raise ProblemError(f"reference must be 'auto' or 'none', got {reference!r}")
        self.reference = reference
        self.tolerance = checked_tolerance(tolerance)
        unknown_settings = set(self.solver) - SOLVE_SETTINGS
        if unknown_settings:
            raise ProblemError(f"unknown solver setting(s) {sorted(unknown_settings)}; expected some of {sorted(SOLVE_SETTINGS)}")
        self.fields = field_names(fields)
        if operator is not None and not isinstance(operator, Operator):
            raise ProblemError(f"operator must be an Operator(input=..., grf=...), got {type(operator).__name__}")
        self.operator = operator
        # an operator's input function (a coefficient, a source) is a function of the coordinates
        # the equations may use and differentiate, as a field; it is not solved for
        self.inputs = (operator.function,) if operator is not None and operator.function else ()
        self.parameters = checked_parameters(parameters or {})
        if eigen is not None and not isinstance(eigen, Eigen):
            raise ProblemError(f"eigen must be an Eigen(symbol=..., states=...), got {type(eigen).__name__}")
        self.eigen = eigen
        self.inverse = Inverse(unknowns=check_unknowns(unknowns or {}),
                               hidden=check_hidden(hidden or {}, (*self.fields, *domain.coords)))  # fmt: skip
        both = set(self.inverse.unknowns) & set(self.inverse.hidden)
        if both:
            raise ProblemError(f"the name {sorted(both)[0]!r} is used twice (as unknown and as hidden term)")
        self._ns = Namespace(domain.coords, self.fields + self.inputs, self.parameters, unknowns=self.unknowns)
        for fname, text in (functions or {}).items():
            expr = parse_expression(text, self._ns, f"function {fname!r}")
            self._ns.functions[fname] = expr
            Namespace(domain.coords, self.fields + self.inputs, self.parameters, dict(self._ns.functions), self.unknowns)  # name checks
        self.scale, self.sign = self._scales(scale or {}, sign or {})
        if isinstance(equations, (str, Callable)):
            equations = [equations]
        if not equations:
            raise ProblemError("a problem needs at least one equation")
        self.equations = [self._equation(e, i) for i, e in enumerate(equations)]
        self._check_inverse(data, discover)
        self.hard: list[HardValue] = []
        self.shape_hard: list[ShapeValue] = []  # value conditions on a plane shape's boundary parts
        self._shape_conditions: list = []  # the conditions behind them, should they become penalties
        self.penalties: list[Penalty] = []
        self.periodic: list[int] = []  # axes made exactly periodic by the network's inputs
        for i, cond in enumerate(conditions):
            self._add_condition(cond, f"condition {i + 1}")
        self._check_periodic_faces()
        settle_in_time(self)
        exact = dict(exact or {})
        self.inverse.exact = {k: constant_value(exact.pop(k), self.parameters, f"exact solution for {k!r}")
                              for k in list(exact) if k in self.inverse.unknowns}  # fmt: skip
        self.exact_eigenvalue = None
        if eigen is not None and eigen.symbol in exact:
            self.exact_eigenvalue = self._value(exact.pop(eigen.symbol), f"exact solution for {eigen.symbol!r}", coords=False)
        self.exact = {f: self._value(v, f"exact solution for {f!r}") for f, v in exact.items()}
        unknown = set(self.exact) - set(self.fields)
        if unknown:
            raise ProblemError(f"exact solution given for unknown field(s) {sorted(unknown)} (fields: {', '.join(self.fields)}"
                               + (f"; unknowns: {', '.join(self.inverse.unknowns)})" if self.inverse.unknowns else ")"))
        self.pencil, self.jumps = self._check_eigen() if eigen is not None else (None, {})

    @property
    def namespace(self) -> Namespace:
        """The names the problem's expressions may use: for parsing more expressions like them."""
        return self._ns

    @property
    def unknowns(self) -> tuple[str, ...]:
        """Names the equations may use that are neither coordinates, fields nor parameters: the
        eigenvalue symbol, unknown constants and hidden terms."""
        eigen = (self.eigen.symbol,) if self.eigen is not None else ()
        return (*eigen, *self.inverse.unknowns, *self.inverse.hidden)

    def _check_inverse(self, data, discover) -> None:
        """Data against the domain; every unknown and hidden term used by an equation; discovery
        only of hidden terms."""
        inv = self.inverse
        if data is not None:
            inv.data = check_data(data, self.domain.coords, self.fields, self.domain)
        if inv and self.eigen is not None:
            raise ProblemError("an eigenproblem cannot have unknowns, data or hidden terms")
        used = set()
        for e in self.equations:
            used |= {str(s) for s in e.expr.free_symbols} if e.expr is not None else set(self.unknowns)
        for kind, names in (("unknown", inv.unknowns), ("hidden term", inv.hidden)):
            for name in names:
                if name not in used:
                    raise ProblemError(f"{kind} {name!r} is used by no equation; an equation must contain it")
        if inv.unknowns and not inv.data:
            raise ProblemError(f"unknowns ({', '.join(inv.unknowns)}) need data to be estimated from; give data")
        if discover is not None:
            if not isinstance(discover, Discover):
                raise ProblemError(f"discover must be a Discover(...), got {type(discover).__name__}")
            if not inv.hidden:
                raise ProblemError("discover: it turns hidden terms into formulas, but the problem has no hidden terms")
            for h in inv.hidden.values():
                candidate_terms(h.inputs, discover)  # the library: its size, its names
            inv.discover = discover

    def _scales(self, scale: dict, sign: dict) -> tuple[list, list[str | None]]:
        for what, table in (("scale", scale), ("sign", sign)):
            for f in table:
                self._check_field(f, what)
        for f, v in sign.items():
            if v not in SIGNS:
                raise ProblemError(f"sign: the sign of {f!r} must be 'positive' or 'negative', got {v!r}")
        return [self._scale(f, scale.get(f, 1.0)) for f in self.fields], [sign.get(f) for f in self.fields]

    def _scale(self, field: str, value) -> float | Callable:
        """A field's scale: a positive number, or a positive function of the coordinates (an
        envelope such as a known decay, ``"exp(-x^2/4)"``) compiled to a function of a point."""
        what = f"scale: the scale of {field!r}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not value > 0:
                raise ProblemError(f"{what} must be a positive number, got {value!r}")
            return float(value)
        if not isinstance(value, str):
            raise ProblemError(f"{what} must be a positive number or an expression of the coordinates, got {value!r}")
        ns = Namespace(self.domain.coords, (), self.parameters, self._ns.functions)
        fn = compile_expression(parse_expression(value, ns, what), self.domain.coords, what)
        lo, hi = (np.asarray(b, float) for b in self.domain.bounds())
        probe = lo + (hi - lo) * np.random.default_rng(0).random((256, len(lo)))
        with jax.enable_x64(True):
            # one compiled evaluation (a scale must be checked on values, not shapes)
            values = np.asarray(jax.jit(jax.vmap(lambda y: value_at(fn, self.domain.coords, y)))(jnp.asarray(probe)))
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ProblemError(f"{what} must be positive and finite over the domain; {value!r} is not")
        return fn

    def _check_eigen(self) -> tuple[tuple[dict, dict] | None, dict[int, list[float]]]:
        """An eigenproblem's pencil ``(A, B)`` and the jumps of its coefficients per axis."""
        if len(self.fields) != 1 or len(self.equations) != 1:
            raise ProblemError("eigen: an eigenproblem needs exactly one field and one equation")
        if not self.eigen.normalize and not self.penalties:
            raise ProblemError("eigen: with normalize = false, a condition must fix the scale of each state")
        expr = self.equations[0].expr
        if expr is None:  # a Python function: trusted to be linear, no classical reference
            return None, {}
        try:
            A, B = pencil(expr, self.fields[0], self.eigen.symbol, self.domain.coords)
        except ProblemError as err:
            raise ProblemError(f"equation 1: {err}") from None
        coefficients = list(A.values()) + list(B.values())
        found = {i: jumps(coefficients, s) for i, s in enumerate(self._ns.coord_symbols.values())}
        return (A, B), {i: v for i, v in found.items() if v}

    # --- equations --------------------------------------------------------------------------------

    def _equation(self, eq, index: int) -> Equation:
        what = f"equation {index + 1}"
        expr = None
        if isinstance(eq, str):
            label, expr = eq.strip(), parse_equation(eq, self._ns, what)
            residual = compile_expression(expr, self.domain.coords, what)
        elif callable(eq):
            label, residual = getattr(eq, "__name__", what), eq
        else:
            raise ProblemError(f"{what}: expected a string or a function, got {type(eq).__name__}")
        return Equation(label, residual, self._record(residual, what), expr)

    def _record(self, residual: Callable, what: str, normal: bool = False) -> frozenset:
        """Call ``residual`` on a recording point: checks names, returns the derivatives needed."""
        needed = set()

        def probe(x):
            p = Point(self.domain.coords, self.fields + self.inputs, x, normal=None, what=what,
                      unknowns={name: jnp.zeros((), x.dtype) for name in self.unknowns})  # fmt: skip
            out = residual(p)
            needed.update(p.needed)
            return out

        # traced, never run: no compilation, so checking a problem file stays fast
        x = jax.ShapeDtypeStruct((self.domain.dim,), jax.dtypes.canonicalize_dtype(np.float64))
        try:
            out = jax.eval_shape(probe, x)
        except ProblemError:
            raise
        except Exception as err:  # a user function failing on the probe: say which and why
            raise ProblemError(f"{what}: evaluating it failed: {type(err).__name__}: {err}") from None
        if len(out.shape) != 0:
            raise ProblemError(f"{what}: the residual must be a scalar, got shape {out.shape}")
        return frozenset(needed | {()})

    # --- conditions -------------------------------------------------------------------------------

    def _add_condition(self, cond: Condition, what: str) -> None:
        if not isinstance(cond, Condition):
            raise ProblemError(f"{what}: expected a Condition (Dirichlet, Neumann, ...), got {type(cond).__name__}")
        if isinstance(cond, Periodic):
            return self._add_periodic(cond, what)
        if isinstance(cond, Observations):
            return self._add_observations(cond, what)
        field = getattr(cond, "field", None)
        if field is not None:
            self._check_field(field, what)
        on = self._region_spec(cond.on, what)
        if type(cond) is Condition and isinstance(cond.equation, str):
            field, value = self._as_dirichlet(cond.equation, what)
            if field is not None:
                cond = Dirichlet(field, value, cond.on, weight=cond.weight, points=cond.points)
        if isinstance(cond, Dirichlet) and cond.impose not in ("exact", "penalty"):
            raise ProblemError(f"{what}: impose must be 'exact' or 'penalty', got {cond.impose!r}")
        region = self._region(on)
        if isinstance(cond, Dirichlet) and cond.impose == "exact" and self._try_hard(cond, region, what):
            return
        residual = self._condition_residual(cond, what)
        if cond.points is not None and (not isinstance(cond.points, int) or cond.points < 1):
            raise ProblemError(f"{what}: points must be a positive integer, got {cond.points!r}")
        self.penalties.append(Penalty(f"{what} on {region.name}", residual, self._record(residual, what),
                                      cond.weight, region=region, count=cond.points))  # fmt: skip

    def _check_field(self, field: str, what: str) -> None:
        if field not in self.fields:
            raise ProblemError(f"{what}: unknown field {field!r} (fields: {', '.join(self.fields)})")

    def region_of(self, on: str, what: str):
        """Where a condition's ``on`` points: ``"boundary"``, ``(coord, value)`` of a face, or the
        name of a part of a shape's boundary (a string other than ``"boundary"``)."""
        return self._region_spec(on, what)

    def _region(self, on):
        if on == "boundary":
            return self.domain.boundary()
        return self.domain.part(on) if isinstance(on, str) else self.domain.face(*on)

    def _region_spec(self, on, what: str):
        """``"boundary"``, ``(coord, value)`` for a face (``"start"`` is the face ``t = t0``) or a
        part name of a shape's boundary."""
        if on == "boundary":
            self.domain.boundary()  # raises for a domain with no spatial boundary
            return on
        plane = self.domain.plane()
        if plane is not None and isinstance(on, str) and on.strip() in plane.shape.names():
            try:
                self.domain.part(on.strip())
            except ProblemError as err:
                raise ProblemError(f"{what}: {err}") from None
            return on.strip()
        if on == "start":
            segment = self.domain.segments().get(self.domain.coords.index(TIME)) if self.domain.has_time else None
            if segment is None:
                raise ProblemError(f"{what}: an initial condition needs a time coordinate 't' in the domain")
            return (TIME, segment.lo)
        forms = ("'boundary' (the whole spatial boundary), 'start' (t at its lower bound) or a face "
                 f"'<coordinate> = <number>' such as '{self.domain.coords[0]} = 0'")
        if plane is not None:
            forms += f", or a part of the shape: {', '.join(map(repr, plane.shape.names()))}"
        if not isinstance(on, str):
            raise ProblemError(f"{what}: 'on' must be {forms}, got {type(on).__name__}")
        if "=" not in on:
            raise ProblemError(f"{what}: the condition's location {on.strip()[:60]!r} is not understood; expected {forms}")
        left, right = split_equation(on, f"{what} 'on'")
        coord = left.strip()
        if not coord.isidentifier():
            raise ProblemError(f"{what}: the condition's location {on.strip()[:60]!r} is not understood; expected {forms}")
        value = constant_value(right, self.parameters, f"{what} 'on'")
        try:
            self.domain.face(coord, value)
        except ProblemError as err:  # name the condition, not just the face
            raise ProblemError(f"{what}: {err}") from None
        return (coord, value)

    def _as_dirichlet(self, text: str, what: str):
        """``"u = g(x)"`` with no field on the right is a value condition: (field, g) or (None, None)."""
        left, right = split_equation(text, what)
        lhs = parse_expression(left, self._ns, what)
        rhs = parse_expression(right, self._ns, what)
        if lhs.func.__name__ in self.fields and lhs.args == tuple(self._ns.coord_symbols.values()):
            if not rhs.atoms(sp.Function) & {self._ns.field_function(f) for f in self.fields} and not rhs.atoms(sp.Derivative):
                return lhs.func.__name__, right
        return None, None

    def _try_hard(self, cond: Dirichlet, region, what: str) -> bool:
        """Impose a value condition exactly when its region is made of flat faces, or is part of a
        plane shape's boundary in a steady problem on the shape alone."""
        if region.shape_pieces and plane_alone_or_in_time(self.domain):
            return self._try_shape_hard(cond, region, what)
        faces = region.faces
        if not faces:
            return False  # some boundary is curved (a disk): penalty instead
        field = self.fields.index(cond.field)
        value = self._value(cond.value, what)
        for axis, side in faces:
            if any(h.field == field and h.axis == axis and h.side == side for h in self.hard):
                raise ProblemError(f"{what}: field {cond.field!r} already has a value condition on that face")
            self.hard.append(HardValue(field, axis, side, value))
        return True

    def _try_shape_hard(self, cond: Dirichlet, region, what: str) -> bool:
        return add_shape_value(self, cond, region, what)

    def _condition_residual(self, cond: Condition, what: str) -> Callable:
        if type(cond) is Condition:
            if isinstance(cond.equation, str):
                return compile_expression(parse_equation(cond.equation, self._ns, what), self.domain.coords, what)
            if callable(cond.equation):
                return cond.equation
            raise ProblemError(f"{what}: expected an equation string or a function, got {type(cond.equation).__name__}")
        g, f = self._value(cond.value, what), cond.field
        if isinstance(cond, Dirichlet):
            return lambda p: p[f] - g(p)
        if isinstance(cond, Neumann):
            return lambda p: p.dn(f) - g(p)
        if isinstance(cond, Robin):
            a, b = cond.a, cond.b
            return lambda p: a * p[f] + b * p.dn(f) - g(p)
        if isinstance(cond, InitialRate):
            return lambda p: p.d(f, TIME) - g(p)
        raise ProblemError(f"{what}: unsupported condition {type(cond).__name__}")

    def _add_periodic(self, cond: Periodic, what: str) -> None:
        if cond.coord not in self.domain.coords or self.domain.coords.index(cond.coord) not in self.domain.segments():
            raise ProblemError(f"{what}: periodic in {cond.coord!r}, which is not an interval coordinate of the domain")
        if cond.impose not in ("exact", "penalty"):
            raise ProblemError(f"{what}: impose must be 'exact' or 'penalty', got {cond.impose!r}")
        axis = self.domain.coords.index(cond.coord)
        if axis in self.periodic:
            raise ProblemError(f"{what}: {cond.coord!r} is already periodic")
        if cond.impose == "exact":
            self.periodic.append(axis)
            return
        seg = self.domain.segments()[axis]
        fields = self.fields

        def residual(p, q):  # values and first derivatives in coord agree on both ends
            return jnp.stack([p[f] - q[f] for f in fields] + [p.d(f, cond.coord) - q.d(f, cond.coord) for f in fields])

        def partner(points):
            return _with_column(points, axis, seg.hi)

        needed = frozenset({(), (axis,)})
        self.penalties.append(Penalty(f"{what}: periodic in {cond.coord}", residual, needed, cond.weight,
                                      region=self.domain.face(cond.coord, seg.lo), partner=partner))  # fmt: skip

    def _check_periodic_faces(self) -> None:
        """A value fixed on a face of an exactly periodic coordinate would contradict the inputs'
        periodicity (the trial function cannot impose both): say so rather than solve something else."""
        for h in self.hard:
            if h.axis in self.periodic:
                raise ProblemError(f"a value condition on a face of {self.domain.coords[h.axis]!r} conflicts with "
                                   f"its exact periodicity; use impose = 'penalty' for one of them")  # fmt: skip

    def _add_observations(self, cond: Observations, what: str) -> None:
        self._check_field(cond.field, what)
        pts = cond.points
        if pts.shape[1] != self.domain.dim or len(pts) != len(cond.values):
            raise ProblemError(f"{what}: observations need points of shape (n, {self.domain.dim}) and n values")
        outside = ~self.domain.contains(pts)
        if outside.any():
            raise ProblemError(f"{what}: observation point {pts[outside][0].tolist()} lies outside the domain")
        f = cond.field
        self.penalties.append(Penalty(f"{what}: observations of {f}", lambda p: p[f], frozenset({()}),
                                      cond.weight, points=pts, targets=cond.values))  # fmt: skip

    def _value(self, value, what: str, coords: bool = True) -> Callable:
        """A condition's or exact solution's value as a function of a point (of the state index
        ``n`` too, in eigenproblems; of ``n`` only for an exact eigenvalue, ``coords=False``)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            c = float(value)
            return lambda p: c
        if isinstance(value, str):
            index = (STATE_INDEX,) if self.eigen is not None else ()
            names = self.domain.coords if coords else ()
            ns = Namespace(names, (), self.parameters, self._ns.functions if coords else {}, index)
            expr = parse_expression(value, ns, what)
            return compile_expression(expr, names, what)
        if callable(value):
            return value
        raise ProblemError(f"{what}: a value must be a number, a string expression or a function, got {type(value).__name__}")

    def exact_at(self, field: str, points, state: int | None = None) -> jax.Array:
        """The exact solution of ``field`` at points (n, d), in the current JAX precision
        (of eigenstate ``state`` in an eigenproblem). One compiled program per field and state:
        run op by op, each operation compiled for itself (heat's exact solution: 10 compilations,
        0.35 s on a first run, for the metrics and again for the report's grid)."""
        programs = _EXACT.setdefault(self, {})
        if (field, state) not in programs:
            fn, coords = self.exact[field], self.domain.coords
            unknowns = None if state is None else {STATE_INDEX: state}
            programs[field, state] = jax.jit(jax.vmap(lambda y: value_at(fn, coords, y, unknowns)))
        return programs[field, state](points if isinstance(points, jax.Array) else np.asarray(points))

    def exact_eigenvalues(self) -> list[float] | None:
        """The exact eigenvalues of the computed states, if ``exact`` gives them."""
        if self.exact_eigenvalue is None:
            return None
        return [float(self.exact_eigenvalue(Point((), (), None, unknowns={STATE_INDEX: n}))) for n in range(self.eigen.states)]

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, fields={list(self.fields)}, coords={list(self.domain.coords)})"


def _with_column(points: np.ndarray, axis: int, value: float) -> np.ndarray:
    out = np.array(points, copy=True)
    out[:, axis] = value
    return out
