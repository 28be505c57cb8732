"""TOML problem files -> Problem. Files are data: equations are parsed as mathematics only.

Every value is checked for its key, type and meaning before the Problem is built, and every error
is a :class:`SpecError` naming the file, the key, the line where known, and what was expected.
The rules of the solver settings live in :mod:`neuralsolve.spec.schema`. The format is documented
in docs/problem-files.md.
"""

from __future__ import annotations

import csv
import keyword
import pathlib
import re
import tomllib

import numpy as np

from .._errors import ProblemError
from ..problem.conditions import Condition, Observations, Periodic
from ..problem.domain import TIME, Box, Disk, Domain, Plane, Round, Segment, Shape2D, SpaceTime
from ..problem.eigen import Eigen
from ..problem.compile import constant_value
from ..problem.problem import Problem
from .errors import SpecError, line_of
from .inverse import InverseReader
from .operator import OPERATOR_KEYS, OperatorReader
from .solver import SolverReader
from .schema import MAX_POINTS, Rule, choice, kind_of, positive, whole

TOP = {"name", "fields", "equations", "domain", "parameters", "functions", "conditions", "observations", "exact",
       "reference", "solver", "eigen", "scale", "sign", "unknowns", "data", "hidden", "discover", "operator"}  # fmt: skip
EIGEN_KEYS = {"symbol", "states", "normalize"}
CONDITION_KEYS = {"on", "set", "periodic", "impose", "weight", "points"}
OBSERVATION_KEYS = {"field", "file", "points", "values", "weight"}
SOLVER_KEYS = {"network", "points", "phases", "precision", "seed", "weighting", "causal", "sampling", "redraw",
               "time_limit", "windows", "method", "ode", "model", "training", "devices"}  # fmt: skip
DISK_KEYS = {"shape", "center", "radius", "coords"}
WEIGHT = Rule("number", low=0)
IMPOSE = choice("exact", "penalty")


def load(path) -> Problem:
    """Read a TOML problem file into a :class:`Problem` (its ``[solver]`` table becomes its settings).

    Raises:
        SpecError: for a file that is missing, not TOML, or not a valid problem.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        cause = getattr(err, "strerror", None) or str(err)
        raise SpecError(path, None, f"cannot read the file ({cause})") from None
    try:
        data = tomllib.loads(text)
    except ValueError as err:  # TOMLDecodeError, or an integer too long to convert
        match = re.search(r"\(at line (\d+)", str(err))
        raise SpecError(path, None, f"invalid TOML: {err}", int(match.group(1)) if match else None) from None
    problem = _Reader(path, text).problem(data)
    problem.source, problem.source_path = text, path  # written verbatim when the solve is saved (Solution.save)
    return problem


def data_files(path) -> list[str]:
    """The data files a valid problem file reads (``file`` of ``[[observations]]`` and of ``[data]``
    or ``[[data]]``), as written in it: paths relative to the file's folder, so that a copy of the
    file can take them along."""
    return data_files_in(pathlib.Path(path).read_text())


def data_files_in(text: str) -> list[str]:
    """:func:`data_files` of a problem file's ``text``."""
    data = tomllib.loads(text)
    sets = data.get("data", [])
    items = data.get("observations", []) + ([sets] if isinstance(sets, dict) else sets)
    return [item["file"] for item in items if isinstance(item, dict) and isinstance(item.get("file"), str)]


def solver_settings(table: dict, source: str = "settings") -> dict:
    """A ``[solver]`` table given as a dict (a benchmark recipe, say) -> keyword arguments of
    :func:`neuralsolve.solve`, checked exactly as in a problem file; errors name ``source``."""
    reader = _Reader(pathlib.Path(source), "")
    return reader.solver(reader.table({"solver": table}, "solver", SOLVER_KEYS))


class _Reader(SolverReader, InverseReader, OperatorReader):
    def __init__(self, path: pathlib.Path, text: str):
        self.path, self.text = path, text
        self.dim = 1  # the domain's dimension, once read: sizes of networks and point sets depend on it
        self.coords: tuple[str, ...] = ()
        self.n_conditions = 0  # [[conditions]] come first in the Problem's list, then [[observations]]
        self.data_keys: list[str] = []  # "data" or "data[1]", ...: the data sets' keys in order

    def fail(self, key: str, cause: str):
        raise SpecError(self.path, key, cause, line_of(self.text, key))

    # --- typed getters ------------------------------------------------------------------------

    def table(self, data: dict, key: str, allowed: set | None = None) -> dict:
        value = data.get(key.split(".")[-1], {})
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {kind_of(value)}")
        for k in value:
            if allowed is not None and k not in allowed:
                self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
        return value

    def strings(self, data: dict, key: str) -> list[str]:
        value = data.get(key)
        if value is None:
            self.fail(key, "missing; expected a list of strings")
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a non-empty list of strings, got {kind_of(value)}")
        return value

    def check(self, rule: Rule, value, key: str):
        """``value`` if it follows ``rule``, else a SpecError naming ``key``."""
        cause = rule.cause(value)
        if cause:
            self.fail(key, cause)
        return value

    def number(self, value, key: str) -> float:
        return float(self.check(Rule("number"), value, key))

    def integer(self, value, key: str, minimum: int = 0) -> int:
        return self.check(whole(minimum), value, key)

    def name(self, value, key: str, what: str = "a name") -> str:
        if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
            self.fail(key, f"expected {what} such as 'x', got {kind_of(value)}")
        return value

    # --- sections -----------------------------------------------------------------------------

    def problem(self, data: dict) -> Problem:
        for k in data:
            if k not in TOP:
                self.fail(k, f"unknown key; expected one of {', '.join(sorted(TOP))}")
        name = data.get("name", self.path.stem)
        if not isinstance(name, str):
            self.fail("name", f"expected a string, got {kind_of(name)}")
        fields, equations = self.strings(data, "fields"), self.strings(data, "equations")
        parameters = {self.name(k, f"parameters.{k}", "a parameter name"): self.number(v, f"parameters.{k}")
                      for k, v in self.table(data, "parameters").items()}  # fmt: skip
        functions = self.expressions(data, "functions")
        exact = self.expressions(data, "exact")
        reference = self.table(data, "reference", {"solver", "tolerance"})
        self.check(choice("auto", "none"), reference.get("solver", "auto"), "reference.solver")
        tolerance = reference.get("tolerance")
        if tolerance is not None:
            self.check(positive(), tolerance, "reference.tolerance")
        domain = self.domain(data, parameters)
        self.dim, self.coords = domain.dim, domain.coords
        conditions = self.conditions(data)
        self.n_conditions = len(conditions)
        conditions += self.observations(data)
        solver = self.solver(self.table(data, "solver", SOLVER_KEYS))
        if solver.get("causal") is not None and TIME not in domain.coords:  # causal = false is off: fine anywhere
            self.fail("solver.causal", f"causal weighting needs a time coordinate '{TIME}'; this problem's coordinates "
                                       f"are {', '.join(domain.coords)}")  # fmt: skip
        eigen = self.eigen(data) if "eigen" in data else None
        unknowns = self.unknowns(data)
        for k in exact:  # a misspelled field is named here, with its line, rather than by the Problem
            if k not in fields and (eigen is None or k != eigen.symbol) and k not in unknowns:
                allowed = fields + ([eigen.symbol] if eigen is not None else []) + list(unknowns)
                self.fail(f"exact.{k}", f"unknown field {k!r}; expected one of {', '.join(allowed)}")
        scale = self.table(data, "scale")
        for k, v in scale.items():
            if not isinstance(v, str) and not Rule("number", above=0).fits(v):
                self.fail(f"scale.{k}", f"expected a positive number or an expression of the coordinates, got {kind_of(v)}")
        sign = self.table(data, "sign")
        for k, v in sign.items():
            self.check(choice("positive", "negative"), v, f"sign.{k}")
        inverse = {"unknowns": unknowns, "data": self.data_sets(data) or None, "hidden": self.hidden(data),
                   "discover": self.discover(data)}  # fmt: skip
        self.check_names(inverse, fields, domain.coords, parameters, functions)
        inverse["operator"] = self.operator(data)
        try:
            problem = Problem(domain, fields, equations, conditions, parameters=parameters, functions=functions,
                              exact=exact, name=name, solver=solver, reference=reference.get("solver", "auto"),
                              eigen=eigen, scale=scale, sign=sign, tolerance=tolerance, **inverse)  # fmt: skip
        except ProblemError as err:
            self.fail(*self.locate(str(err)))
        self.check_solver(problem)
        return problem

    def expressions(self, data: dict, key: str) -> dict[str, str]:
        """A table of expression strings (``[functions]``, ``[exact]``)."""
        table = self.table(data, key)
        for k, v in table.items():
            if not isinstance(v, str):
                self.fail(f"{key}.{k}", f"expected an expression string, got {kind_of(v)}")
        return table

    def check_solver(self, problem: Problem) -> None:
        """Solver settings valid one by one but not together or not for this problem (adaptive
        sampling with ``redraw``, a RAD pool smaller than the point count, ...)."""
        from ..dispatch import prepare

        try:
            prepare(problem, {})
        except ProblemError as err:  # about a part of the problem (a condition, a data set) or the settings
            key, cause = self.locate(str(err))
            if str(err).startswith("devices"):
                key = "solver.devices"
            self.fail("solver" if key == "problem" else key, cause)

    def eigen(self, data: dict) -> Eigen:
        table = self.table(data, "eigen", EIGEN_KEYS)
        args = {"symbol": self.name(table.get("symbol", "E"), "eigen.symbol"),
                "normalize": self.check(Rule("bool"), table.get("normalize", True), "eigen.normalize"),
                "states": self.check(whole(1, 1000), table.get("states", 1), "eigen.states")}  # fmt: skip
        try:
            return Eigen(**args)
        except ProblemError as err:
            self.fail("eigen", str(err))

    # --- the domain ---------------------------------------------------------------------------

    def domain(self, data: dict, parameters: dict) -> Domain:
        """Intervals per coordinate (a box), or ``shape = "disk"`` with ``center``, ``radius`` and
        ``coords``; further coordinates (such as ``t``) are intervals multiplied with the shape."""
        if "domain" not in data:
            self.fail("domain", "missing; expected a table of coordinate bounds, e.g. x = [0, 1]")
        table = dict(self.table(data, "domain"))
        shape = table.pop("shape", "box")
        if not isinstance(shape, str):
            self.fail("domain.shape", f"expected 'box', 'disk' or a shape such as \"rectangle(0, 0, 1, 1) - "
                                      f"disk(0.5, 0.5, 0.2)\", got {kind_of(shape)}")  # fmt: skip
        if shape == "disk":
            factors = [self.disk(table, parameters)]
        elif shape == "box":
            factors = []
        else:
            factors = [self.plane(shape, table, parameters)]
        if not table and not factors:
            self.fail("domain", "expected at least one coordinate, e.g. x = [0, 1]")
        for coord, value in table.items():
            key = f"domain.{coord}"
            self.name(coord, key, "a coordinate name")
            if not isinstance(value, list) or len(value) != 2:
                self.fail(key, f"expected [lower, upper], got {kind_of(value)}")
            lo, hi = (self.constant(v, key, parameters) for v in value)
            if not lo < hi:
                self.fail(key, f"bounds must increase, got [{_num(lo)}, {_num(hi)}]")
            factors.append(Segment(coord, lo, hi))
        names = [c for f in factors for c in f.coords]
        if len(set(names)) != len(names):
            dup = next(c for c in names if names.count(c) > 1)
            self.fail(f"domain.{dup}", f"coordinate {dup!r} is given twice (the disk's coords and an interval)")
        space = [f for f in factors if f.coords != (TIME,)]
        time = next((f for f in factors if f.coords == (TIME,)), None)
        if not space:
            return Box([(time.lo, time.hi)], coords=[TIME])
        if len(space) == 1 and isinstance(space[0], Plane):
            space = Domain(space)
        elif len(space) == 1 and isinstance(space[0], Round):
            r = space[0]
            space = Disk(r.center, r.radius, r.coords)
        elif all(isinstance(f, Segment) for f in space):
            space = Box([(f.lo, f.hi) for f in space], coords=[f.coord for f in space])
        else:
            space = Domain(space)
        return SpaceTime(space, (time.lo, time.hi)) if time is not None else space

    def plane(self, text: str, table: dict, parameters: dict) -> Plane:
        """Pop a plane shape's keys (``coords``, ``[domain.shapes]``) from the ``[domain]`` table;
        the shape text is read as data (:func:`~neuralsolve.geometry.parse_shape`)."""
        coords = self.coord_pair(table)
        named = table.pop("shapes", {})
        if text.strip().isidentifier() and text.strip() not in (named if isinstance(named, dict) else {}):
            self.fail("domain.shape", f"expected 'box', 'disk' or a shape such as \"rectangle(0, 0, 1, 1) - "
                                      f"disk(0.5, 0.5, 0.2)\" (docs/geometry.md), got {text!r}")  # fmt: skip
        if not isinstance(named, dict):
            self.fail("domain.shapes", f"expected a table of named shapes, e.g. hole = \"disk(0.5, 0.5, 0.2)\", got {kind_of(named)}")
        for name, definition in named.items():
            if not isinstance(definition, str):
                self.fail(f"domain.shapes.{name}", f"expected a shape such as \"disk(0.5, 0.5, 0.2)\", got {kind_of(definition)}")
        try:
            return Shape2D(text, coords, constants=parameters, shapes=named).factors[0]
        except ProblemError as err:
            match = re.match(r"shape '(\w+)': (.*)", str(err), re.S)  # in a named shape's definition
            if match and match.group(1) in named:
                self.fail(f"domain.shapes.{match.group(1)}", match.group(2))
            self.fail("domain.shape", str(err))

    def coord_pair(self, table: dict) -> list[str]:
        """Pop the two coordinate names of a disk or shape (default x, y)."""
        coords = table.pop("coords", ["x", "y"])
        if not isinstance(coords, list) or len(coords) != 2:
            self.fail("domain.coords", f"expected two coordinate names, e.g. [\"x\", \"y\"], got {kind_of(coords)}")
        coords = [self.name(c, "domain.coords", "a coordinate name") for c in coords]
        if coords[0] == coords[1] or TIME in coords:
            self.fail("domain.coords", f"expected two different coordinates other than '{TIME}', got {coords}")
        return coords

    def disk(self, table: dict, parameters: dict) -> Round:
        """Pop a disk's keys from the ``[domain]`` table."""
        coords = self.coord_pair(table)
        center = table.pop("center", [0, 0])
        if not isinstance(center, list) or len(center) != 2:
            self.fail("domain.center", f"expected [{coords[0]}, {coords[1]}] of the centre, got {kind_of(center)}")
        center = tuple(self.constant(c, "domain.center", parameters) for c in center)
        if "radius" not in table:
            self.fail("domain.radius", "missing; a disk needs a radius, e.g. radius = 1")
        radius = self.constant(table.pop("radius"), "domain.radius", parameters)
        if not radius > 0:
            self.fail("domain.radius", f"expected a positive number, got {_num(radius)}")
        return Round((coords[0], coords[1]), center, radius)

    def constant(self, value, key: str, parameters: dict) -> float:
        """A finite number, or an expression of numbers, constants and parameters (``"pi/2"``)."""
        try:
            return constant_value(value, parameters, key)
        except ProblemError as err:
            self.fail(key, str(err).removeprefix(f"{key}: "))

    # --- conditions and observations ----------------------------------------------------------

    def tables(self, data: dict, name: str, allowed: set) -> list[tuple[str, dict]]:
        """The ``[[name]]`` tables as ``(key, table)``, numbered from 1, each key checked against ``allowed``."""
        items = data.get(name, [])
        if not isinstance(items, list) or not all(isinstance(c, dict) for c in items):
            self.fail(name, f"expected [[{name}]] tables")
        out = []
        for i, table in enumerate(items, 1):
            key = f"{name}[{i}]"
            for k in table:
                if k not in allowed:
                    self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
            out.append((key, table))
        return out

    def conditions(self, data: dict) -> list[Condition]:
        out = []
        for key, c in self.tables(data, "conditions", CONDITION_KEYS):
            extra = {"weight": float(self.check(WEIGHT, c.get("weight", 1.0), f"{key}.weight"))}
            if "points" in c:
                extra["points"] = self.check(whole(1, MAX_POINTS), c["points"], f"{key}.points")
            if "periodic" in c:
                if set(c) - {"periodic", "weight", "impose"}:
                    self.fail(key, "a periodic condition takes only 'periodic' (a coordinate), 'impose' and 'weight'")
                coord = self.name(c["periodic"], f"{key}.periodic", "a coordinate name")
                impose = self.check(IMPOSE, c.get("impose", "exact"), f"{key}.impose")
                out.append(Periodic(coord, weight=extra["weight"], impose=impose))
                continue
            if "impose" in c:
                self.fail(f"{key}.impose", "only a periodic condition takes 'impose'")
            for k in ("on", "set"):
                if not isinstance(c.get(k), str):
                    self.fail(f"{key}.{k}", "missing; expected a string" if k not in c else f"expected a string, got {kind_of(c[k])}")
            out.append(Condition(c["set"], on=c["on"].strip(), **extra))
        return out

    def observations(self, data: dict) -> list[Observations]:
        """``[[observations]]``: measured values of a field, from a CSV file or given inline."""
        out = []
        for key, table in self.tables(data, "observations", OBSERVATION_KEYS):
            if "field" not in table:
                self.fail(f"{key}.field", "missing; expected the name of the observed field")
            field = self.name(table["field"], f"{key}.field", "a field name")
            weight = float(self.check(WEIGHT, table.get("weight", 1.0), f"{key}.weight"))
            if "file" in table:
                if "points" in table or "values" in table:
                    self.fail(key, "give either 'file' or 'points' and 'values', not both")
                points, values = self.data_file(table["file"], field, f"{key}.file")
            else:
                for k in ("points", "values"):
                    if k not in table:
                        self.fail(f"{key}.{k}", "missing; expected 'file' (a CSV file) or 'points' and 'values'")
                points, values = self.inline(table["points"], table["values"], key)
            out.append(Observations(field, points, values, weight=weight))
        return out

    def inline(self, points, values, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Points as a list of [coordinates] (or of numbers in 1-D) and one value per point."""
        dim = self.dim
        if not isinstance(values, list) or not values:
            self.fail(f"{key}.values", f"expected a non-empty list of numbers, got {kind_of(values)}")
        vals = [self.number(v, f"{key}.values") for v in values]
        if not isinstance(points, list) or len(points) != len(vals):
            self.fail(f"{key}.points", f"expected a list of {len(vals)} points (one per value), got {kind_of(points)}"
                      + (f" of length {len(points)}" if isinstance(points, list) else ""))  # fmt: skip
        rows = []
        for p in points:
            p = [p] if dim == 1 and not isinstance(p, list) else p
            if not isinstance(p, list) or len(p) != dim:
                self.fail(f"{key}.points", f"expected points of {dim} coordinate(s) each, got {kind_of(p)}")
            rows.append([self.number(v, f"{key}.points") for v in p])
        return np.array(rows, float).reshape(len(rows), dim), np.array(vals, float)

    def data_file(self, name, field: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """A CSV file (relative to the problem file) with a header row naming its columns: the
        domain's coordinates and ``field`` are read, other columns are ignored."""
        if not isinstance(name, str) or not name.strip():
            self.fail(key, f"expected the path of a CSV file, got {kind_of(name)}")
        path = self.path.parent / self.relative_file(name, key)
        try:
            with open(path, newline="") as handle:
                rows = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            self.fail(key, f"cannot read {name} ({getattr(err, 'strerror', None) or err})")
        if not rows:
            self.fail(key, f"{name} is empty; expected a header row naming the columns")
        header = [h.strip() for h in rows[0]]
        coords = self.coords
        missing = [c for c in (*coords, field) if c not in header]
        if missing:
            self.fail(key, f"{name} has no column {', '.join(map(repr, missing))} (its header: {_cut(', '.join(header))}; "
                           f"needed: {', '.join((*coords, field))})")  # fmt: skip
        if len(rows) - 1 > MAX_POINTS:
            self.fail(key, f"{name} has more than {MAX_POINTS} rows")
        columns = [header.index(c) for c in (*coords, field)]
        table = []
        for n, row in enumerate(rows[1:], 2):
            if not any(cell.strip() for cell in row):
                continue  # blank lines
            if len(row) != len(header):
                self.fail(key, f"{name} line {n}: {len(row)} columns where the header has {len(header)}")
            try:
                values = [float(row[c]) for c in columns]
            except ValueError:
                self.fail(key, f"{name} line {n}: expected numbers in columns {', '.join((*coords, field))}")
            if not np.all(np.isfinite(values)):
                self.fail(key, f"{name} line {n}: the numbers must be finite")
            table.append(values)
        if not table:
            self.fail(key, f"{name} has a header but no data rows")
        data = np.array(table, float)
        return data[:, :-1], data[:, -1]

    def locate(self, message: str) -> tuple[str, str]:
        """Map a Problem error ("equation 2: ...", "condition 1: ...") to its key in the file."""
        match = re.match(r"(equation|condition) (\d+): (.*)", message, re.S)
        if match:
            index = int(match.group(2))
            if match.group(1) == "equation":
                return f"equations[{index}]", match.group(3)
            conditions = self.n_conditions
            if index > conditions:  # observations follow the conditions in the Problem's list
                return f"observations[{index - conditions}]", match.group(3)
            return f"conditions[{index}]", match.group(3)
        match = re.match(r"(function|exact solution for) '?(\w+)'?: (.*)", message, re.S)
        if match:
            table = "functions" if match.group(1) == "function" else "exact"
            return f"{table}.{match.group(2)}", match.group(3)
        match = re.match(r"(scale|sign|eigen): (.*)", message, re.S)
        if match:
            return match.group(1), match.group(2)
        match = re.match(r"(training|model)\.(\w+): (.*)", message, re.S)  # an operator's, checked on the problem
        if match:
            return f"solver.{match.group(1)}.{match.group(2)}", match.group(3)
        match = re.match(r"operator(\.file)?: ((grf\.\w+|\w+)?.*)", message, re.S)
        if match:
            key = match.group(3) if match.group(3) in OPERATOR_KEYS or str(match.group(3)).startswith("grf.") else None
            return "operator" + (match.group(1) or (f".{key}" if key else "")), match.group(2)
        return self.locate_inverse(message)

def _num(x: float) -> str:
    """A number as short as it can be written and still read back exactly."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else repr(float(x))


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
