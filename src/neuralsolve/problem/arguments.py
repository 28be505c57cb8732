"""Plain checks of a Problem's arguments: field names, parameters, the agreement tolerance."""

from __future__ import annotations

from .._errors import ProblemError


def field_names(fields) -> tuple[str, ...]:
    names = (fields,) if isinstance(fields, str) else tuple(fields)
    if not names:
        raise ProblemError("a problem needs at least one field")
    for n in names:
        if not isinstance(n, str) or not n.isidentifier():
            raise ProblemError(f"field name {n!r} is not a valid name")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ProblemError(f"field {dup!r} is named twice")
    return names


def checked_parameters(params: dict) -> dict[str, float]:
    out = {}
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ProblemError(f"parameter {k!r} must be a number, got {v!r}")
        out[k] = float(v)
    return out


# the default largest relative error against a reference that counts as agreement: PINN solves
# reach 1e-3 to 1e-9 where they work; several times worse than 1e-2 means the answer is not usable
TOLERANCE = 1e-2


def checked_tolerance(value) -> float:
    """The agreement tolerance: a positive, finite number (default :data:`TOLERANCE`)."""
    if value is None:
        return TOLERANCE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ProblemError(f"tolerance must be a positive, finite number (a relative error), got {value!r}")
    return float(value)
