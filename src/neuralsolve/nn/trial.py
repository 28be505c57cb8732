"""Trial functions that satisfy value conditions on flat faces exactly: u = B(x) + D(x)·N(x).

For each field, the constrained coordinates ("axes") each have one or both ends fixed. D is a
product of one factor per axis that vanishes on its fixed ends. B interpolates the given values
on all fixed faces at once: it is the Boolean sum of the one-axis interpolants,
``B = Σ_{S ⊆ axes, S ≠ ∅} (-1)^{|S|+1} P_S g``, where ``P_S`` interpolates along every axis of S in
turn (transfinite interpolation, as in Coons patches). With compatible data at corners, B equals
the given value on every fixed face.

A field with a ``scale`` s is ``B + s·D·N``. A field with a sign is ``±s·exp(B̃ + D·N)``, where B̃
interpolates ``log(±g/s)`` of the given values g: positive (or negative) everywhere, and still
exact on the fixed faces. The scale may be a positive function of the point (an envelope, such as
the known decay of a bound state), so the network only learns what the envelope does not say.

On a plane shape (a steady problem), value conditions on parts of its boundary are imposed the same
way with u = g(x) + φ(x)·N(x): φ is the shape's approximate distance function to the parts with a
value condition (zero exactly there, normalised to first order), g blends the parts' values
(:meth:`~neuralsolve.geometry.Shape.distance`, :meth:`~neuralsolve.geometry.Shape.blend`). At a
re-entrant corner between two such straight parts the field also gets ``s(x)·M(x)``: the corner's
singular function (zero on both edges, cut off before the rest of the boundary) times one more
network output, so a solution that behaves like r^(2/3) there can be followed
(:meth:`~neuralsolve.geometry.Shape.singular_functions`); ``trial.extra_outputs`` counts them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..ops.point import value_at
from ..problem.conditions import HardValue


def make_trial(hard: list[HardValue], segments: dict, coords: tuple[str, ...], n_fields: int,
               scales=None, signs=None, shape=None, shape_values=(), added=None) -> Callable:  # fmt: skip
    """Return ``trial(net_out, x) -> field values`` (both (m,)) imposing ``hard`` exactly, with
    each field's ``scales`` (default 1; a number or a function of a point) and ``signs`` (None,
    "positive" or "negative"); ``shape_values`` (:class:`ShapeValue`) on the pieces of ``shape``
    (the domain's plane shape, whose coordinates are all of ``coords``); ``added`` maps a field's
    index to a known function of the point added to it, zero where values are imposed (the
    rounding of a start value's jumps at a periodic wrap, :mod:`neuralsolve.problem.wrap`)."""
    added = added or {}
    scales = scales or [1.0] * n_fields
    signs = signs or [None] * n_fields
    per_field = [
        {h.axis: {} for h in hard if h.field == f} for f in range(n_fields)
    ]
    for h in hard:
        value = partial(value_at, h.value, coords)
        if signs[h.field] is not None:  # interpolate the log of the scaled magnitude
            value = partial(_log_magnitude, value, _scale_at(scales[h.field], coords), signs[h.field])
        per_field[h.field][h.axis][h.side] = value
    blends = [_blend(axes, segments) if axes else None for axes in per_field]
    extra = []  # per field: its singular corner functions, each taking one more network output
    for f in range(n_fields):
        on_shape = [h for h in shape_values if h.field == f]
        singular = shape.singular_functions([i for h in on_shape for i in h.pieces]) if on_shape and signs[f] is None else []
        if on_shape and per_field[f]:  # in time: the start value is exact too
            ((axis, ends),) = per_field[f].items()
            blends[f] = _shape_time_blend(shape, on_shape, coords, axis, segments[axis], ends[0])
            singular = [_from_start(s, axis, segments[axis]) for s in singular]
        elif on_shape:
            blends[f] = _shape_blend(shape, on_shape, coords)
        extra.append(singular)
    fields = [_field(b, _scale_at(scale, coords), sign) for b, scale, sign in zip(blends, scales, signs)]

    offsets = np.cumsum([n_fields] + [len(e) for e in extra]).tolist()

    def trial(net_out: jax.Array, x: jax.Array) -> jax.Array:
        values = []
        for f, field in enumerate(fields):
            value = field(net_out[f], x)
            for k, singular in enumerate(extra[f]):  # corner singularities: zero on the boundary
                value = value + singular(x) * net_out[offsets[f] + k]
            if f in added:
                value = value + added[f](x)
            values.append(value)
        return jnp.stack(values)

    # Nothing imposed, scaled, signed or added: the fields are the network's outputs as they are.
    trial.identity = (all(b is None for b in blends) and all(s == 1.0 for s in scales) and not any(signs)
                      and not added)  # fmt: skip
    trial.extra_outputs = offsets[-1] - n_fields  # network outputs beyond one per field
    trial.affine = not any(signs)  # B + s·D·N and the corner terms: affine in the outputs (exp is not)
    return trial


def _scale_at(scale, coords) -> Callable | None:
    """A field's scale as a function of the coordinates, or None for the unit scale."""
    if callable(scale):
        return partial(value_at, scale, coords)
    return None if scale == 1.0 else (lambda x, s=float(scale): s)


def _log_magnitude(value: Callable, scale: Callable | None, sign: str, x: jax.Array) -> jax.Array:
    magnitude = value(x) if sign == "positive" else -value(x)
    return jnp.log(magnitude if scale is None else magnitude / scale(x))


def _field(blend: Callable | None, scale: Callable | None, sign: str | None) -> Callable:
    """One field from its network output: B + s·D·N, or ±s·exp(B̃ + D·N) with a sign."""
    def constrained(n, x):
        return n if blend is None else blend(n, x)

    if sign is not None:
        signed = 1.0 if sign == "positive" else -1.0
        if scale is None:
            return lambda n, x: signed * jnp.exp(constrained(n, x))
        return lambda n, x: signed * scale(x) * jnp.exp(constrained(n, x))
    if scale is None:
        return constrained
    return lambda n, x: constrained(scale(x) * n, x)


def _blend(axes: dict, segments: dict) -> Callable:
    order = sorted(axes)

    def distance(x):
        d = 1.0
        for i in order:
            a, b = segments[i].lo, segments[i].hi
            ends = axes[i]
            if len(ends) == 2:
                d = d * (x[i] - a) * (b - x[i]) * (4.0 / (b - a) ** 2)
            else:
                d = d * ((x[i] - a) if 0 in ends else (b - x[i])) / (b - a)
        return d

    def weights(i, x):
        """(side, end value, weight) of each fixed end of axis i: linear interpolation."""
        a, b = segments[i].lo, segments[i].hi
        if len(axes[i]) == 1:
            (side,) = axes[i]
            return [(side, a if side == 0 else b, 1.0)]
        return [(0, a, (b - x[i]) / (b - a)), (1, b, (x[i] - a) / (b - a))]

    def boundary_value(x):
        total = 0.0
        for size in range(1, len(order) + 1):
            for subset in itertools.combinations(order, size):
                sign = 1.0 if size % 2 else -1.0
                for choice in itertools.product(*(weights(i, x) for i in subset)):
                    y, w = x, 1.0
                    for i, (_, end, wi) in zip(subset, choice):
                        y = _set(y, i, end)
                        w = w * wi
                    inner_axis, (inner_side, _, _) = subset[-1], choice[-1]
                    total = total + sign * w * axes[inner_axis][inner_side](y)
        return total

    return lambda n, x: boundary_value(x) + distance(x) * n


def _shape_blend(shape, values: list, coords: tuple[str, ...]) -> Callable:
    """g(x) + φ(x)·n for value conditions on pieces of a plane shape."""
    phi = shape.distance(sorted(i for h in values for i in h.pieces))
    g = shape.blend([(h.pieces, partial(value_at, h.value, coords)) for h in values])
    return lambda n, x: g(x) + phi(x) * n


def _shape_time_blend(shape, values: list, coords: tuple[str, ...], axis: int, segment, start: Callable) -> Callable:
    """u = g(x, t) + u0(x) − g(x, t0) + φ(x)·(t − t0)/T·n: the start value u0 at t = t0, and on the
    boundary g(x, t) wherever u0 = g(·, t0) there (the problem keeps these exact only then)."""
    phi = shape.distance(sorted(i for h in values for i in h.pieces))
    g = shape.blend([(h.pieces, partial(value_at, h.value, coords)) for h in values])
    t0, span = segment.lo, segment.hi - segment.lo

    def blend(n, x):
        x0 = _set(x, axis, t0)
        return g(x) + start(x0) - g(x0) + phi(x) * ((x[axis] - t0) / span) * n

    return blend


def _from_start(singular: Callable, axis: int, segment) -> Callable:
    """A corner's singular function made to vanish at the start time too."""
    t0, span = segment.lo, segment.hi - segment.lo
    return lambda x: singular(x) * ((x[axis] - t0) / span)


def _set(y: jax.Array, i: int, value: float) -> jax.Array:
    """``y`` with entry i replaced, written with arithmetic so Taylor mode (jet) can trace it (the
    masks are constants: NumPy's, not a traced scatter, which costs tracing time in every program)."""
    mask = np.zeros(y.shape, y.dtype)
    mask[i] = 1.0
    return y * (1.0 - mask) + value * mask
