"""What an inverse problem adds to a problem: unknown constants, measured data, hidden terms and
the request to turn hidden terms into formulas.

These are plain values; :class:`~neuralsolve.problem.problem.Problem` checks them against its
domain, fields and equations (with :func:`check_data` and :func:`check_hidden`) before anything
compiles, and the inverse method family (``neuralsolve.methods.inverse``) learns them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._errors import ProblemError
from .parse import Namespace, parse_expression

MAX_DEGREE = 6  # a polynomial library's degree: beyond it the candidate terms are too many and too alike
MAX_TERMS = 200  # candidate terms in one library
TRAJECTORY = "trajectory"  # the data column that says which trajectory (series) a row belongs to
HIDDEN_ACTIVATIONS = ("tanh", "softplus", "gelu", "sin")  # those of neuralsolve.nn.network


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProblemError(f"{what} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Unknown:
    """A constant of the equations to estimate from data.

    Args:
        initial: where training starts (default 1).
        positive: the constant is trained as its logarithm, so it stays positive and a value of
            any scale (1e-3 or 1e3) moves as easily as one near 1.
    """

    initial: float = 1.0
    positive: bool = False

    def __post_init__(self):
        object.__setattr__(self, "initial", _number(self.initial, "unknown: initial"))
        if not isinstance(self.positive, bool):
            raise ProblemError(f"unknown: positive must be true or false, got {self.positive!r}")
        if self.positive and not self.initial > 0:
            raise ProblemError(f"unknown: a positive unknown needs a positive initial value, got {self.initial:g}")

    def scale(self) -> float:
        """The size of a signed unknown's steps: its initial magnitude (1 for an initial 0), so
        that an optimiser moves a constant of 1e3 as readily as one of 1."""
        return abs(self.initial) or 1.0


@dataclass(frozen=True)
class Data:
    """Measurements: columns named by coordinates and fields, one row per measurement.

    Args:
        columns: name -> values; every coordinate of the domain is a column, fields are columns
            too, and NaN in a field's column means "not measured there".
        noise: the noise standard deviation, if known: one number for every field, or per field.
        weight: the data term's weight (default: chosen from the data's spread and the noise; see
            docs/inverse-problems.md).
        name: where the data came from, for messages and reports.
    """

    columns: Mapping[str, Sequence[float]]
    noise: float | Mapping[str, float] | None = None
    weight: float | None = None
    name: str = "data"

    @classmethod
    def at(cls, points, values: Mapping[str, Sequence[float]], coords: Sequence[str], **kw) -> Data:
        """Data from ``points`` (n, d) in the order of ``coords`` and field values by name."""
        points = np.asarray(points, float).reshape(len(points), -1)
        if points.shape[1] != len(coords):
            raise ProblemError(f"data: points have {points.shape[1]} coordinates, expected {len(coords)} ({', '.join(coords)})")
        return cls({**{c: points[:, i] for i, c in enumerate(coords)}, **values}, **kw)


@dataclass(frozen=True)
class Observed:
    """Data checked against a problem: ``points`` (n, d), ``values`` (n, fields) with NaN where a
    field was not measured, the noise per field (NaN: not known), the weight (None: default) and
    each row's trajectory number (all 0 without a ``trajectory`` column)."""

    points: np.ndarray
    values: np.ndarray
    noise: np.ndarray
    weight: float | None
    name: str
    trajectory: np.ndarray | None = None

    def trajectories(self) -> np.ndarray:
        """The distinct trajectory numbers, in order."""
        return np.unique(self.trajectory) if self.trajectory is not None else np.zeros(1, int)


@dataclass(frozen=True)
class Hidden:
    """A term of the equations nobody can write down, learned as a small network of ``inputs``
    (fields and coordinates), e.g. ``Hidden(["x", "y"])`` for ``F`` in ``diff(x, t) = 1.3*x + F``.

    Args:
        inputs: the fields and coordinates the term depends on.
        width, depth, activation: the network (``activation``: one of :data:`HIDDEN_ACTIVATIONS`).
        network: hidden terms that name the same ``network`` are the outputs of one network (a
            fully neural vector field ``diff(x, t) = F, diff(y, t) = G`` as one MLP with two
            outputs); they must agree on inputs, width, depth, activation and scale_inputs.
        scale_inputs: map each input from its range (a coordinate's from the domain, a field's
            from its measurements widened by a quarter each way) onto [-1, 1] before the network
            (the default: inputs of any units); ``False`` feeds the raw values, as a network
            written by hand would see them.
    """

    inputs: tuple[str, ...]  # names of fields and coordinates, or (neural ODEs) expressions of them
    width: int = 16
    depth: int = 2
    activation: str = "tanh"
    network: str | None = None
    scale_inputs: bool = True

    def __post_init__(self):
        inputs = (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)
        if not inputs or not all(isinstance(i, str) for i in inputs):
            raise ProblemError(f"hidden: inputs must be a non-empty list of names, got {self.inputs!r}")
        object.__setattr__(self, "inputs", inputs)
        for name in ("width", "depth"):
            n = getattr(self, name)
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 256:
                raise ProblemError(f"hidden: {name} must be a whole number from 1 to 256, got {n!r}")
        if self.activation not in HIDDEN_ACTIVATIONS:
            raise ProblemError(f"hidden: activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}, got {self.activation!r}")
        if not isinstance(self.scale_inputs, bool):
            raise ProblemError(f"hidden: scale_inputs must be true or false, got {self.scale_inputs!r}")
        if self.network is not None and (not isinstance(self.network, str) or not self.network.isidentifier()):
            raise ProblemError(f"hidden: network must be a name, got {self.network!r}")

    def shape(self) -> tuple:
        """What members of one shared network must agree on."""
        return self.inputs, self.width, self.depth, self.activation, self.scale_inputs


@dataclass(frozen=True)
class Discover:
    """Turn every hidden term into a formula by sparse regression over candidate terms.

    Args:
        terms: ``"polynomial"`` (monomials of the hidden term's inputs up to ``degree``) or a list
            of expressions in the inputs (``["sin(x)", "x*y"]``).
        degree: the polynomial library's degree.
        threshold: coefficients smaller than this fraction of the largest one, on standardised
            terms, are dropped (PySINDy's STLSQ threshold).
        refit: steps of the verification solve, in which the formula replaces the network and
            its coefficients are fitted again (0: no verification).
    """

    terms: str | tuple[str, ...] = "polynomial"
    degree: int = 3
    threshold: float = 0.05
    refit: int = 1000
    ensemble: int = 20

    def __post_init__(self):
        if isinstance(self.terms, str):
            if self.terms != "polynomial":
                raise ProblemError(f"discover: terms must be 'polynomial' or a list of expressions, got {self.terms!r}")
        else:
            terms = tuple(self.terms)
            if not terms or not all(isinstance(t, str) and t.strip() for t in terms):
                raise ProblemError("discover: terms must be 'polynomial' or a non-empty list of expressions")
            if len(terms) > MAX_TERMS:
                raise ProblemError(f"discover: {len(terms)} candidate terms; the limit is {MAX_TERMS}")
            object.__setattr__(self, "terms", terms)
        for name, low, high in (("degree", 1, MAX_DEGREE), ("refit", 0, 10**6), ("ensemble", 0, 1000)):
            n = getattr(self, name)
            if isinstance(n, bool) or not isinstance(n, int) or not low <= n <= high:
                raise ProblemError(f"discover: {name} must be a whole number from {low} to {high}, got {n!r}")
        t = _number(self.threshold, "discover: threshold")
        if not 0 <= t < 1:
            raise ProblemError(f"discover: threshold must be at least 0 and below 1, got {t:g}")


@dataclass
class Inverse:
    """The inverse parts of one problem, checked: unknown constants, data sets, hidden terms,
    discovery (None: none asked) and the true values of unknowns (for error metrics)."""

    unknowns: dict[str, Unknown] = field(default_factory=dict)
    data: list[Observed] = field(default_factory=list)
    hidden: dict[str, Hidden] = field(default_factory=dict)
    discover: Discover | None = None
    exact: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.unknowns or self.data or self.hidden)


def check_unknowns(unknowns) -> dict[str, Unknown]:
    """Unknowns by name: an :class:`Unknown` or a number (the initial value) each."""
    if not isinstance(unknowns, Mapping):
        raise ProblemError(f"unknowns must map names to Unknown(...), got {type(unknowns).__name__}")
    out = {}
    for name, u in unknowns.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ProblemError(f"unknown name {name!r} is not a valid name")
        if not isinstance(u, Unknown):
            try:
                u = Unknown(initial=u)
            except ProblemError as err:
                raise ProblemError(f"unknown {name!r}: {str(err).removeprefix('unknown: ')}") from None
        out[name] = u
    return out


def check_hidden(hidden, names: Sequence[str]) -> dict[str, Hidden]:
    """Hidden terms by name, each input one of ``names`` (the fields and coordinates) or an
    expression of them."""
    if not isinstance(hidden, Mapping):
        raise ProblemError(f"hidden must map names to Hidden(inputs=[...]), got {type(hidden).__name__}")
    out = {}
    for name, h in hidden.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ProblemError(f"hidden term name {name!r} is not a valid name")
        h = h if isinstance(h, Hidden) else Hidden(h)
        for i in h.inputs:
            if i.isidentifier() and i not in names:
                raise ProblemError(f"hidden term {name!r}: input {i!r} is neither a field nor a coordinate "
                                   f"(fields and coordinates: {', '.join(names)})")  # fmt: skip
            if not i.isidentifier():  # an expression of them, such as "y**3" (method = "neural-ode")
                parse_expression(i, Namespace(tuple(names)), f"hidden term {name!r}: input {i!r}")
        if len(set(h.inputs)) != len(h.inputs):
            raise ProblemError(f"hidden term {name!r}: an input is named twice in {list(h.inputs)}")
        out[name] = h
    shared: dict[str, tuple[str, Hidden]] = {}
    for name, h in out.items():
        first = shared.setdefault(h.network, (name, h)) if h.network is not None else None
        if first is not None and first[1].shape() != h.shape():
            raise ProblemError(f"hidden terms {first[0]!r} and {name!r} share the network {h.network!r} but differ in "
                               "inputs, width, depth or activation")  # fmt: skip
    return out


def hidden_networks(hidden: Mapping[str, Hidden]) -> dict[str, tuple[str, ...]]:
    """The networks of the hidden terms: network name -> the terms that are its outputs, in order
    (a term without a shared ``network`` is a network of its own, named after it)."""
    out: dict[str, list[str]] = {}
    for name, h in hidden.items():
        out.setdefault(h.network or name, []).append(name)
    return {k: tuple(v) for k, v in out.items()}


def check_data(data, coords: Sequence[str], fields: Sequence[str], domain) -> list[Observed]:
    """Data sets checked against the domain: every coordinate given, every other column a field,
    finite numbers (NaN only as an unmeasured field value), every point inside the domain."""
    items = [data] if isinstance(data, Data) else list(data)
    return [_observed(d, f"data {i}", coords, fields, domain) for i, d in enumerate(items, 1)]


def _observed(d: Data, what: str, coords, fields, domain) -> Observed:
    if not isinstance(d, Data):
        raise ProblemError(f"{what}: expected Data(...), got {type(d).__name__}")
    what = f"{what} ({d.name})" if d.name != "data" else what
    columns = {k: np.asarray(v, float).ravel() for k, v in d.columns.items()}
    trajectory = columns.pop(TRAJECTORY) if TRAJECTORY in columns and TRAJECTORY not in fields else None
    for name in columns:
        if name not in coords and name not in fields:
            raise ProblemError(f"{what}: column {name!r} is neither a coordinate nor a field "
                               f"(coordinates: {', '.join(coords)}; fields: {', '.join(fields)})")  # fmt: skip
    missing = [c for c in coords if c not in columns]
    if missing:
        raise ProblemError(f"{what}: no column for the coordinate(s) {', '.join(missing)}")
    measured = [f for f in fields if f in columns]
    if not measured:
        raise ProblemError(f"{what}: no column of a field (fields: {', '.join(fields)})")
    lengths = {len(v) for v in columns.values()} | ({len(trajectory)} if trajectory is not None else set())
    if len(lengths) != 1 or 0 in lengths:
        raise ProblemError(f"{what}: the columns must be non-empty and of one length, got lengths {sorted(lengths)}")
    points = np.stack([columns[c] for c in coords], axis=1)
    values = np.stack([columns.get(f, np.full(len(points), np.nan)) for f in fields], axis=1)
    _finite(points, values, what, coords, fields)
    outside = ~domain.contains(points)
    if outside.any():
        row = int(np.argmax(outside))
        raise ProblemError(f"{what}: row {row + 1}: the point {points[row].tolist()} lies outside the domain")
    ids = _trajectory_ids(trajectory, what) if trajectory is not None else None
    return Observed(points, values, _noise(d.noise, fields, measured, what), _weight(d.weight, what), d.name, ids)


def _trajectory_ids(column: np.ndarray, what: str) -> np.ndarray:
    """The ``trajectory`` column as whole numbers."""
    whole = np.isfinite(column) & (column == np.round(column))
    if not whole.all():
        row = int(np.argmax(~whole))
        raise ProblemError(f"{what}: row {row + 1}: trajectory is {column[row]}; expected a whole number naming the series")
    return column.astype(np.int64)


def _finite(points, values, what, coords, fields) -> None:
    bad = ~np.isfinite(points)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ProblemError(f"{what}: row {row + 1}: coordinate {coords[col]!r} is {points[row, col]} (missing or not finite)")
    bad = np.isinf(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ProblemError(f"{what}: row {row + 1}: field {fields[col]!r} is {values[row, col]}; values must be "
                           "finite (leave the cell empty where a field was not measured)")  # fmt: skip
    if np.isnan(values).all():
        raise ProblemError(f"{what}: every field value is empty")


def _noise(noise, fields, measured, what) -> np.ndarray:
    if noise is None:
        return np.full(len(fields), np.nan)
    if isinstance(noise, Mapping):
        for f in noise:
            if f not in measured:
                raise ProblemError(f"{what}: noise given for {f!r}, which is not a measured field ({', '.join(measured)})")
        values = [noise.get(f, np.nan) for f in fields]
    else:
        values = [noise] * len(fields)
    out = []
    for f, v in zip(fields, values):
        if not (isinstance(v, float) and math.isnan(v)):
            v = _number(v, f"{what}: noise")
            if v < 0:
                raise ProblemError(f"{what}: noise must be a standard deviation >= 0, got {v:g}")
        out.append(v)
    return np.asarray(out, float)


def _weight(weight, what) -> float | None:
    if weight is None:
        return None
    w = _number(weight, f"{what}: weight")
    if not w > 0:
        raise ProblemError(f"{what}: weight must be positive, got {w:g}")
    return w


def candidate_terms(inputs: tuple[str, ...], spec: Discover) -> list[str]:
    """The library: every monomial of ``inputs`` up to ``spec.degree`` (``"1"`` first), or the
    expressions ``spec.terms`` checked against the inputs' names."""
    if spec.terms == "polynomial":
        terms = ["1"]
        for d in range(1, spec.degree + 1):
            terms += ["*".join(c) for c in itertools.combinations_with_replacement(inputs, d)]
        if len(terms) > MAX_TERMS:
            raise ProblemError(f"discover: a degree-{spec.degree} polynomial of {len(inputs)} inputs has {len(terms)} "
                               f"terms; the limit is {MAX_TERMS} (lower degree)")  # fmt: skip
        return [_power_form(t) for t in terms]
    ns = Namespace(tuple(inputs))
    for t in spec.terms:
        parse_expression(t, ns, f"discover: term {t!r}")
    return list(spec.terms)


def _power_form(monomial: str) -> str:
    """``"x*x*y"`` -> ``"x**2*y"``."""
    if monomial == "1":
        return monomial
    names = monomial.split("*")
    return "*".join(n if names.count(n) == 1 else f"{n}**{names.count(n)}" for n in dict.fromkeys(names))


def data_scale(problem, field: int) -> float:
    """The root mean square of a field's measurements (1 if it is never measured or all zero)."""
    seen = np.concatenate([d.values[:, field] for d in problem.inverse.data] or [np.array([])])
    seen = seen[np.isfinite(seen)]
    return float(np.sqrt(np.mean(seen**2))) if seen.size and np.any(seen) else 1.0


def input_box(problem, inputs) -> tuple[list[float], list[float]]:
    """Bounds that scale a hidden term's inputs: a coordinate's from the domain, a field's from its
    measurements (widened by a quarter of their range each way; [-1, 1] if never measured)."""
    coords, fields = problem.domain.coords, problem.fields
    lo_d, hi_d = problem.domain.bounds()
    lo, hi = [], []
    for n in inputs:
        if n in coords:
            lo.append(float(lo_d[coords.index(n)]))
            hi.append(float(hi_d[coords.index(n)]))
            continue
        a, b = padded_range(np.concatenate([d.values[:, fields.index(n)] for d in problem.inverse.data] or [np.array([])]))
        lo.append(a)
        hi.append(b)
    return lo, hi


def hidden_box(problem, hidden: Hidden, box=input_box) -> tuple[list[float], list[float]]:
    """The bounds a hidden term's network maps onto [-1, 1]: ``box(problem, inputs)``, or [-1, 1]
    itself (the raw values) where the term says ``scale_inputs = False``."""
    if not hidden.scale_inputs:
        return [-1.0] * len(hidden.inputs), [1.0] * len(hidden.inputs)
    return box(problem, hidden.inputs)


def padded_range(values: np.ndarray) -> tuple[float, float]:
    """The range of the finite ``values`` widened by a quarter each way ([-1, 1] without any)."""
    seen = values[np.isfinite(values)]
    a, b = (float(seen.min()), float(seen.max())) if seen.size else (-1.0, 1.0)
    pad = 0.25 * (b - a) if b > a else 1.0
    return a - pad, b + pad
