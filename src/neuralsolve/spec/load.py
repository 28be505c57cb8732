"""TOML problem files -> Problem. Files are data: equations are parsed as mathematics only.

Every value is checked for its key, type and meaning before the Problem is built, and every error
is a :class:`SpecError` naming the file, the key, the line where known, and what was expected.
The format is documented in docs/problem-files.md.
"""

from __future__ import annotations

import pathlib
import re
import tomllib

from .._errors import ProblemError
from ..loss.terms import Points
from ..nn.mlp import MLP
from ..problem.conditions import Condition, Periodic
from ..problem.domain import TIME, Box, Domain, SpaceTime
from ..problem.eigen import Eigen
from ..problem.problem import Problem
from ..train.phases import PHASES
from ..train.weighting import Adaptive
from .errors import SpecError, line_of

TOP = {"name", "fields", "equations", "domain", "parameters", "functions", "conditions", "exact", "reference", "solver",
       "eigen", "scale", "sign"}
EIGEN_KEYS = {"symbol", "states", "normalize"}
CONDITION_KEYS = {"on", "set", "periodic", "weight", "points"}
SOLVER_KEYS = {"network", "points", "phases", "precision", "seed", "weighting", "redraw"}
WEIGHTING_KEYS = {"method", "eta", "every"}


def load(path) -> Problem:
    """Read a TOML problem file into a :class:`Problem` (its ``[solver]`` table becomes its settings).

    Raises:
        SpecError: for a file that is missing, not TOML, or not a valid problem.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError(path, None, f"cannot read the file ({err.strerror or err})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = re.search(r"\(at line (\d+)", str(err))
        raise SpecError(path, None, f"invalid TOML: {err}", int(match.group(1)) if match else None) from None
    return _Reader(path, text).problem(data)


class _Reader:
    def __init__(self, path: pathlib.Path, text: str):
        self.path, self.text = path, text

    def fail(self, key: str, cause: str):
        raise SpecError(self.path, key, cause, line_of(self.text, key))

    # --- typed getters ------------------------------------------------------------------------

    def table(self, data: dict, key: str, allowed: set | None = None) -> dict:
        value = data.get(key.split(".")[-1], {})
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {_kind(value)}")
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
            self.fail(key, f"expected a non-empty list of strings, got {_kind(value)}")
        return value

    def number(self, value, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"expected a number, got {_kind(value)}")
        return float(value)

    def integer(self, value, key: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"expected a whole number >= {minimum}, got {value!r}")
        return value

    # --- sections -----------------------------------------------------------------------------

    def problem(self, data: dict) -> Problem:
        for k in data:
            if k not in TOP:
                self.fail(k, f"unknown key; expected one of {', '.join(sorted(TOP))}")
        name = data.get("name", self.path.stem)
        if not isinstance(name, str):
            self.fail("name", f"expected a string, got {_kind(name)}")
        fields, equations = self.strings(data, "fields"), self.strings(data, "equations")
        parameters = {k: self.number(v, f"parameters.{k}") for k, v in self.table(data, "parameters").items()}
        functions = self.table(data, "functions")
        for k, v in functions.items():
            if not isinstance(v, str):
                self.fail(f"functions.{k}", f"expected an expression string, got {_kind(v)}")
        exact = self.table(data, "exact")
        for k, v in exact.items():
            if not isinstance(v, str):
                self.fail(f"exact.{k}", f"expected an expression string, got {_kind(v)}")
        reference = self.table(data, "reference", {"solver"})
        if reference.get("solver", "auto") not in ("auto", "none"):
            self.fail("reference.solver", f"expected 'auto' or 'none', got {reference['solver']!r}")
        domain = self.domain(data)
        conditions = self.conditions(data)
        solver = self.solver(self.table(data, "solver", SOLVER_KEYS))
        eigen = self.eigen(data) if "eigen" in data else None
        scale = self.table(data, "scale")
        for k, v in scale.items():
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                self.fail(f"scale.{k}", f"expected a positive number or an expression of the coordinates, got {_kind(v)}")
        sign = self.table(data, "sign")
        for k, v in sign.items():
            if v not in ("positive", "negative"):
                self.fail(f"sign.{k}", f"expected 'positive' or 'negative', got {_kind(v)}")
        try:
            return Problem(domain, fields, equations, conditions, parameters=parameters, functions=functions,
                           exact=exact, name=name, solver=solver, reference=reference.get("solver", "auto"),
                           eigen=eigen, scale=scale, sign=sign)  # fmt: skip
        except ProblemError as err:
            self.fail(*_locate(str(err)))

    def eigen(self, data: dict) -> Eigen:
        table = self.table(data, "eigen", EIGEN_KEYS)
        args = {"symbol": table.get("symbol", "E"), "normalize": table.get("normalize", True)}
        if not isinstance(args["symbol"], str):
            self.fail("eigen.symbol", f"expected a name, got {_kind(args['symbol'])}")
        if not isinstance(args["normalize"], bool):
            self.fail("eigen.normalize", f"expected true or false, got {_kind(args['normalize'])}")
        args["states"] = self.integer(table.get("states", 1), "eigen.states", 1)
        try:
            return Eigen(**args)
        except ProblemError as err:
            self.fail("eigen", str(err))

    def domain(self, data: dict) -> Domain:
        if "domain" not in data:
            self.fail("domain", "missing; expected a table of coordinate bounds, e.g. x = [0, 1]")
        table = self.table(data, "domain")
        if not table:
            self.fail("domain", "expected at least one coordinate, e.g. x = [0, 1]")
        bounds = {}
        for coord, value in table.items():
            key = f"domain.{coord}"
            if not isinstance(value, list) or len(value) != 2:
                self.fail(key, f"expected [lower, upper], got {_kind(value)}")
            lo, hi = (self.number(v, key) for v in value)
            if not lo < hi:
                self.fail(key, f"bounds must increase, got [{lo:g}, {hi:g}]")
            bounds[coord] = (lo, hi)
        space = {c: b for c, b in bounds.items() if c != TIME}
        if not space:
            return Box([bounds[TIME]], coords=[TIME])
        box = Box(list(space.values()), coords=list(space))
        return SpaceTime(box, bounds[TIME]) if TIME in bounds else box

    def conditions(self, data: dict) -> list[Condition]:
        items = data.get("conditions", [])
        if not isinstance(items, list) or not all(isinstance(c, dict) for c in items):
            self.fail("conditions", "expected [[conditions]] tables")
        out = []
        for i, c in enumerate(items):
            key = f"conditions[{i}]"
            for k in c:
                if k not in CONDITION_KEYS:
                    self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(CONDITION_KEYS))}")
            extra = {"weight": self.number(c.get("weight", 1.0), f"{key}.weight")}
            if "points" in c:
                extra["points"] = self.integer(c["points"], f"{key}.points", 1)
            if "periodic" in c:
                if set(c) - {"periodic", "weight"}:
                    self.fail(key, "a periodic condition takes only 'periodic' (a coordinate) and 'weight'")
                if not isinstance(c["periodic"], str):
                    self.fail(f"{key}.periodic", f"expected a coordinate name, got {_kind(c['periodic'])}")
                out.append(Periodic(c["periodic"], weight=extra["weight"]))
                continue
            for k in ("on", "set"):
                if not isinstance(c.get(k), str):
                    self.fail(f"{key}.{k}", "missing; expected a string" if k not in c else f"expected a string, got {_kind(c[k])}")
            out.append(Condition(c["set"], on=c["on"].strip(), **extra))
        return out

    def solver(self, table: dict) -> dict:
        settings = {}
        try:
            if "network" in table:
                settings["network"] = MLP(**self.table(table, "solver.network", {"width", "depth", "activation"}))
            if "points" in table:
                settings["points"] = Points(**self.table(table, "solver.points", {"interior", "boundary", "sampler"}))
            if "phases" in table:
                settings["phases"] = self.phases(table["phases"])
        except TypeError as err:
            self.fail("solver", str(err))
        except ProblemError as err:
            if isinstance(err, SpecError):
                raise
            self.fail("solver", str(err))
        if "precision" in table:
            if table["precision"] not in ("float32", "float64"):
                self.fail("solver.precision", f"expected 'float32' or 'float64', got {table['precision']!r}")
            settings["precision"] = table["precision"]
        if "seed" in table:
            settings["seed"] = self.integer(table["seed"], "solver.seed")
        if "redraw" in table:
            settings["redraw"] = self.integer(table["redraw"], "solver.redraw", 1)
        if "weighting" in table:
            settings["weighting"] = self.weighting(table["weighting"])
        return settings

    def weighting(self, value):
        """``"fixed"``, ``"adaptive"`` or ``{method = "adaptive", eta = 1.0, every = 100}``."""
        key = "solver.weighting"
        table = {"method": value} if isinstance(value, str) else value
        if not isinstance(table, dict):
            self.fail(key, f"expected 'fixed', 'adaptive' or a table, got {_kind(value)}")
        for k in table:
            if k not in WEIGHTING_KEYS:
                self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(WEIGHTING_KEYS))}")
        method = table.get("method", "adaptive")
        if method == "fixed" and len(table) == 1:
            return None
        if method != "adaptive":
            self.fail(f"{key}.method", f"expected 'fixed' or 'adaptive', got {_kind(method)}")
        options = {k: v for k, v in table.items() if k != "method"}
        try:
            return Adaptive(**options)
        except ProblemError as err:
            self.fail(key, str(err))

    def phases(self, items) -> list:
        if not isinstance(items, list) or not items or not all(isinstance(p, dict) for p in items):
            self.fail("solver.phases", "expected a list of tables, e.g. [{method = 'adam', steps = 2000}]")
        out = []
        for i, p in enumerate(items):
            key = f"solver.phases[{i}]"
            args = dict(p)
            method = args.pop("method", None)
            if method not in PHASES:
                self.fail(f"{key}.method", f"expected one of {', '.join(PHASES)}, got {method!r}")
            try:
                out.append(PHASES[method](**args))
            except TypeError:
                fields = sorted(PHASES[method].__dataclass_fields__)
                self.fail(key, f"unknown setting for {method}; expected some of {', '.join(fields)}")
            except ProblemError as err:
                self.fail(key, str(err))
        return out


def _locate(message: str) -> tuple[str, str]:
    """Map a Problem error ("equation 2: ...", "condition 1: ...") to its key in the file."""
    match = re.match(r"(equation|condition) (\d+): (.*)", message, re.S)
    if match:
        table = "equations" if match.group(1) == "equation" else "conditions"
        return f"{table}[{int(match.group(2)) - 1}]", match.group(3)
    match = re.match(r"(function|exact solution for) '?(\w+)'?: (.*)", message, re.S)
    if match:
        table = "functions" if match.group(1) == "function" else "exact"
        return f"{table}.{match.group(2)}", match.group(3)
    match = re.match(r"(scale|sign|eigen): (.*)", message, re.S)
    if match:
        return match.group(1), match.group(2)
    return "problem", message


def _kind(value) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__) + (f" ({value!r})" if isinstance(value, (str, int, float)) else "")
