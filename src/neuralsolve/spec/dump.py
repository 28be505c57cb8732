"""Problem and settings -> problem-file TOML: the inverse of :mod:`neuralsolve.spec.load`.

Used to save a solve made in Python as a run directory (``Solution.save``) and to record the
settings a solve used in ``metrics.json``. What has no problem-file form yet (a Python function as
an equation or a value, ...) is refused with a :class:`ProblemError` naming it.
"""

from __future__ import annotations

import dataclasses
import json
import math

from .._errors import ProblemError
from ..nn.features import KINDS
from ..problem.conditions import (Condition, Dirichlet, Initial, InitialRate, Neumann, Observations, Periodic,
                                  Robin)  # fmt: skip
from ..problem.domain import TIME, Plane, Round, Segment
from ..sampling.adaptive import SAMPLINGS
from ..train.phases import PHASES
from ..train.weighting import WEIGHTINGS


def solver_table(settings: dict) -> dict:
    """Resolved solve settings (``neuralsolve.solve``'s keyword arguments) as a ``[solver]`` table."""
    table = {}
    for key, value in settings.items():
        if value is None:
            if key == "weighting":
                table[key] = "fixed"
            elif key == "causal":
                table[key] = False
            continue  # None: the default; no file form needed
        if key == "network":
            table[key] = _fields(value, features=_named(value.features, KINDS, "kind") if value.features else None)
        elif key == "points":
            table[key] = _fields(value)
        elif key == "phases":
            table[key] = [_named(p, PHASES) for p in value]
        elif key == "weighting":
            table[key] = _named(value, WEIGHTINGS)
        elif key == "sampling":
            table[key] = _named(value, SAMPLINGS)
        elif key in ("causal", "ode"):
            table[key] = _fields(value)
        elif isinstance(value, (bool, int, float, str)):
            table[key] = value
        else:
            raise ProblemError(f"cannot write the solver setting {key}={value!r} to a problem file")
    return table


def problem_table(problem) -> dict:
    """A :class:`Problem` built in Python as a problem-file table (everything but ``[solver]``).

    Raises:
        ProblemError: naming what has no problem-file form yet.
    """
    args = problem.arguments
    table = {"name": problem.name, "fields": list(problem.fields)}
    table["equations"] = [_string(e, f"equation {i + 1}") for i, e in enumerate(_listed(args["equations"]))]
    table["domain"] = _domain(problem.domain)
    if problem.parameters:
        table["parameters"] = dict(problem.parameters)
    for key in ("functions", "exact", "scale", "sign"):
        values = args.get(key) or {}
        if values:
            table[key] = {k: _value(v, f"{key} {k!r}", numbers=key == "scale") for k, v in values.items()}
    reference = {"solver": problem.reference} if problem.reference != "auto" else {}
    if args.get("tolerance") is not None:
        reference["tolerance"] = float(args["tolerance"])
    if reference:
        table["reference"] = reference
    if args.get("eigen") is not None:
        table["eigen"] = _fields(args["eigen"])
    conditions = list(args["conditions"])
    kinds = [isinstance(c, Observations) for c in conditions]
    if kinds != sorted(kinds):  # a problem file lists its [[conditions]] first, then its [[observations]]
        raise ProblemError("observations must come after the other conditions to be saved as a problem file "
                           "(which lists [[conditions]] first, then [[observations]])")  # fmt: skip
    table["conditions"] = [_condition(problem, c, f"condition {i + 1}")
                           for i, c in enumerate(conditions) if not isinstance(c, Observations)]  # fmt: skip
    table["observations"] = [_observations(c) for c in conditions if isinstance(c, Observations)]
    table.update(_inverse_tables(problem))
    known = {"fields", "equations", "conditions", "parameters", "functions", "exact", "name", "reference", "eigen",
             "scale", "sign", "tolerance", "unknowns", "data", "hidden", "discover"}  # fmt: skip
    unknown = [k for k, v in args.items() if k not in known and v is not None]
    if unknown:
        raise ProblemError(f"cannot save the problem argument(s) {', '.join(unknown)} to a problem file yet")
    return table


def _inverse_tables(problem) -> dict:
    """``[unknowns]``, ``[[data]]`` (files named by :func:`data_texts`), ``[hidden]``, ``[discover]``."""
    inv, out = problem.inverse, {}
    if inv.unknowns:
        out["unknowns"] = {k: {"initial": u.initial, "positive": u.positive} for k, u in inv.unknowns.items()}
    if inv.hidden:
        out["hidden"] = {k: {"inputs": list(h.inputs), "width": h.width, "depth": h.depth, "activation": h.activation,
                             **({"network": h.network} if h.network else {}),
                             **({} if h.scale_inputs else {"scale_inputs": False})} for k, h in inv.hidden.items()}  # fmt: skip
    if inv.discover is not None:
        d = inv.discover
        terms = d.terms if isinstance(d.terms, str) else list(d.terms)
        out["discover"] = {"terms": terms, "degree": d.degree, "threshold": d.threshold, "refit": d.refit,
                           "ensemble": d.ensemble}  # fmt: skip
    sets = []
    for name, observed in zip(data_texts(problem), inv.data):
        entry = {"file": name}
        noise = {f: float(v) for f, v in zip(problem.fields, observed.noise) if math.isfinite(v)}
        if noise:
            entry["noise"] = noise
        if observed.weight is not None:
            entry["weight"] = observed.weight
        sets.append(entry)
    if sets:
        out["data"] = sets
    return out


def data_texts(problem) -> dict[str, str]:
    """Each data set of a problem built in Python as a CSV file's text, by file name
    (``data.csv``, ``data_2.csv``, ...): coordinates and fields, empty where not measured, and the
    trajectory number when the data have one."""
    out = {}
    for i, observed in enumerate(problem.inverse.data, 1):
        series = observed.trajectory is not None
        header = [*problem.domain.coords, *problem.fields] + (["trajectory"] if series else [])
        rows = [",".join(header)]
        for r, (point, values) in enumerate(zip(observed.points, observed.values)):
            rows.append(",".join([repr(float(v)) for v in point] + ["" if math.isnan(v) else repr(float(v)) for v in values]
                                 + ([str(int(observed.trajectory[r]))] if series else [])))  # fmt: skip
        out["data.csv" if i == 1 else f"data_{i}.csv"] = "\n".join(rows) + "\n"
    return out


def to_toml(table: dict) -> str:
    """A problem-file table as TOML text: top-level values, then tables, then ``[[conditions]]``."""
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and k not in ("conditions", "observations")}
    lines = [f"{k} = {_toml(v)}" for k, v in scalars.items()]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]"] + [f"{_key(k)} = {_toml(v)}" for k, v in value.items()]
    for key in ("conditions", "observations"):
        for item in table.get(key, []):
            lines += ["", f"[[{key}]]"] + [f"{k} = {_toml(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


# --- pieces ------------------------------------------------------------------------------------------


def _fields(obj, **extra) -> dict:
    """A settings dataclass as a table of its fields (None: the default, left out)."""
    out = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name not in extra}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def _named(obj, registry: dict, key: str = "method") -> dict:
    """A strategy as ``{method = name, ...its settings}``, its name found in its registry."""
    name = next((n for n, kind in registry.items() if type(obj) is kind), None)
    if name is None:
        raise ProblemError(f"cannot write {obj!r} to a problem file: it has no problem-file name")
    return {key: name, **_fields(obj)}


def _listed(value) -> list:
    return [value] if isinstance(value, str) or callable(value) else list(value)


def _string(value, what: str) -> str:
    if not isinstance(value, str):
        raise ProblemError(f"{what} is a Python function, which a problem file cannot hold; give it as a "
                           f"string in SymPy syntax (e.g. 'diff(u, x, 2) = 0', 'sin(pi*x)') to save the solve")  # fmt: skip
    return value.strip()


def _value(value, what: str, numbers: bool = True):
    """A value as a problem file holds it: a number (where allowed) or an expression string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if numbers else repr(float(value))
    return _string(value, what)


def _domain(domain) -> dict:
    """Intervals per coordinate, after a disk's keys when the domain starts with a disk (the order
    in which a problem file's domain lists its coordinates)."""
    coords = list(domain.coords)
    if TIME in coords and coords[-1] != TIME:  # a problem file puts t last: the columns would change
        raise ProblemError(f"the time coordinate must come last to save the problem (coordinates: {', '.join(coords)})")
    table, factors = {}, list(domain.factors)
    if factors and isinstance(factors[0], Round):
        disk = factors.pop(0)
        table = {"shape": "disk", "center": list(disk.center), "radius": disk.radius, "coords": list(disk.coord_pair)}
    elif factors and isinstance(factors[0], Plane) and factors[0].shape.text:
        plane = factors.pop(0)
        table = {"shape": plane.shape.text, "coords": list(plane.coord_pair)}
        if plane.shape.definitions:
            table["shapes"] = dict(plane.shape.definitions)
    if not all(isinstance(f, Segment) for f in factors):
        raise ProblemError(f"the domain {domain!r} has no problem-file form yet (intervals, boxes and one disk do)")
    return {**table, **{f.coord: [f.lo, f.hi] for f in factors}}


def _observations(cond: Observations) -> dict:
    """Measured values given inline: a list of points (numbers in 1-D) and one value per point."""
    points = cond.points.tolist()
    points = [p[0] for p in points] if cond.points.shape[1] == 1 else points
    table = {"field": cond.field, "points": points, "values": cond.values.tolist()}
    return table if cond.weight == 1.0 else {**table, "weight": cond.weight}


def _condition(problem, cond: Condition, what: str) -> dict:
    """One ``[[conditions]]`` table; a condition on a face gets ``on = "x = 0"``."""
    extra = {} if cond.weight == 1.0 else {"weight": cond.weight}
    if isinstance(cond, Periodic):
        return {"periodic": cond.coord, **({"impose": cond.impose} if cond.impose != "exact" else {}), **extra}
    if getattr(cond, "points", None) is not None:
        if not isinstance(cond.points, int):
            raise ProblemError(f"{what} ({type(cond).__name__}) has no problem-file form yet")
        extra["points"] = cond.points
    on = _where(problem, cond, what)
    if type(cond) is Condition:
        return {"on": on, "set": _string(cond.equation, what), **extra}
    if isinstance(cond, Dirichlet):  # Initial too
        if cond.impose != "exact":
            raise ProblemError(f"{what}: impose = {cond.impose!r} has no problem-file form yet")
        return {"on": on, "set": f"{cond.field} = {_expression(cond.value, what)}", **extra}
    if isinstance(cond, InitialRate):
        return {"on": on, "set": f"diff({cond.field}, {TIME}) = {_expression(cond.value, what)}", **extra}
    if isinstance(cond, (Neumann, Robin)):
        if on == "boundary":
            raise ProblemError(f"{what}: a {type(cond).__name__} condition on the whole boundary has no problem-file "
                               f"form yet; give one condition per face (on = 'x = 0', ...)")  # fmt: skip
        where = problem.region_of(on, what)
        if isinstance(where, str):  # a named part of a shape's boundary
            raise ProblemError(f"{what}: a {type(cond).__name__} condition on the part {on!r} has no problem-file form "
                               "yet; write it with set = \"...\" in the coordinates' derivatives")  # fmt: skip
        coord, value = where
        segment = problem.domain.segments()[problem.domain.coords.index(coord)]
        normal = f"diff({cond.field}, {coord})" if value == segment.hi else f"(-diff({cond.field}, {coord}))"
        left = normal if isinstance(cond, Neumann) else f"{cond.a!r}*{cond.field} + {cond.b!r}*{normal}"
        return {"on": on, "set": f"{left} = {_expression(cond.value, what)}", **extra}
    raise ProblemError(f"{what} ({type(cond).__name__}) has no problem-file form yet")


def _where(problem, cond: Condition, what: str) -> str:
    if isinstance(cond, Initial) or cond.on == "start":
        coord, value = problem.region_of("start", what)
        return f"{coord} = {value!r}"
    if not isinstance(cond.on, str):
        raise ProblemError(f"{what}: on = {cond.on!r} has no problem-file form")
    return cond.on.strip()


def _expression(value, what: str) -> str:
    text = _value(value, what, numbers=False)
    return text if isinstance(value, (int, float)) else f"({text})"


def _key(name: str) -> str:
    return name if name.replace("_", "").isalnum() and name.isascii() else json.dumps(name)


def _toml(value) -> str:
    """A TOML value: JSON's string escapes are TOML's; inline tables for dicts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise ProblemError(f"cannot write {value!r} to a problem file")
