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
from ..nn.features import KINDS as FEATURE_KINDS
from ..nn.features import FeatureError
from ..nn.mlp import MLP
from ..problem.conditions import Condition, Periodic
from ..problem.domain import TIME, Box, Domain, SpaceTime
from ..problem.eigen import Eigen
from ..problem.problem import Problem
from ..sampling.adaptive import SAMPLINGS
from ..train.phases import PHASES
from ..train.weighting import WEIGHTINGS, Causal
from .errors import SpecError, line_of

TOP = {"name", "fields", "equations", "domain", "parameters", "functions", "conditions", "exact", "reference", "solver",
       "eigen", "scale", "sign"}
EIGEN_KEYS = {"symbol", "states", "normalize"}
CONDITION_KEYS = {"on", "set", "periodic", "impose", "weight", "points"}
SOLVER_KEYS = {"network", "points", "phases", "precision", "seed", "weighting", "causal", "sampling", "redraw",
               "time_limit", "windows"}


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


def solver_settings(table: dict, source: str = "settings") -> dict:
    """A ``[solver]`` table given as a dict (a benchmark recipe, say) -> keyword arguments of
    :func:`neuralsolve.solve`, checked exactly as in a problem file; errors name ``source``."""
    reader = _Reader(pathlib.Path(source), "")
    return reader.solver(reader.table({"solver": table}, "solver", SOLVER_KEYS))


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
        if "causal" in solver and TIME not in domain.coords:
            self.fail("solver.causal", f"causal weighting needs a time coordinate '{TIME}'; this problem's coordinates "
                                       f"are {', '.join(domain.coords)}")  # fmt: skip
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
            problem = Problem(domain, fields, equations, conditions, parameters=parameters, functions=functions,
                              exact=exact, name=name, solver=solver, reference=reference.get("solver", "auto"),
                              eigen=eigen, scale=scale, sign=sign)  # fmt: skip
        except ProblemError as err:
            self.fail(*_locate(str(err)))
        self.check_solver(problem)
        return problem

    def check_solver(self, problem: Problem) -> None:
        """Solver settings valid one by one but not together or not for this problem (adaptive
        sampling with ``redraw``, a RAD pool smaller than the point count, ...)."""
        from ..dispatch import prepare

        try:
            prepare(problem, {})
        except ProblemError as err:
            self.fail("solver", str(err))

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
                if set(c) - {"periodic", "weight", "impose"}:
                    self.fail(key, "a periodic condition takes only 'periodic' (a coordinate), 'impose' and 'weight'")
                if not isinstance(c["periodic"], str):
                    self.fail(f"{key}.periodic", f"expected a coordinate name, got {_kind(c['periodic'])}")
                impose = c.get("impose", "exact")
                if impose not in ("exact", "penalty"):
                    self.fail(f"{key}.impose", f"expected \"exact\" or \"penalty\", got {impose!r}")
                out.append(Periodic(c["periodic"], weight=extra["weight"], impose=impose))
                continue
            if "impose" in c:
                self.fail(f"{key}.impose", "only a periodic condition takes 'impose'")
            for k in ("on", "set"):
                if not isinstance(c.get(k), str):
                    self.fail(f"{key}.{k}", "missing; expected a string" if k not in c else f"expected a string, got {_kind(c[k])}")
            out.append(Condition(c["set"], on=c["on"].strip(), **extra))
        return out

    def solver(self, table: dict) -> dict:
        settings = {}
        try:
            if "network" in table:
                settings["network"] = self.network(table)
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
        if "windows" in table:
            settings["windows"] = self.integer(table["windows"], "solver.windows", 1)
        if "time_limit" in table:  # seconds of training
            limit = table["time_limit"]
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit < float("inf"):
                self.fail("solver.time_limit", f"expected a positive, finite number of seconds, got {_kind(limit)}")
            settings["time_limit"] = float(limit)
        if "weighting" in table:
            settings["weighting"] = self.weighting(table["weighting"])
        if "causal" in table:
            settings["causal"] = self.causal(table["causal"])
        if "sampling" in table:
            settings["sampling"] = self.method_table("solver.sampling", table["sampling"], SAMPLINGS)
        return settings

    def network(self, solver: dict) -> MLP:
        """``{width, depth, activation, features}``; ``features`` is an embedding table (below)."""
        table = dict(self.table(solver, "solver.network", {"width", "depth", "activation", "features"}))
        if "features" in table:
            table["features"] = self.features(table["features"])
        return MLP(**table)

    def features(self, value):
        """``{kind = "fourier", count, sigma}`` or ``{kind = "gaussian", count, size, init, width}``."""
        key = "solver.network.features"
        line = line_of(self.text, "solver.network")  # an inline table: its keys have no line of their own
        if not isinstance(value, dict):
            raise SpecError(self.path, key, f"expected a table such as {{kind = 'fourier', count = 64}}, got {_kind(value)}", line)
        options = dict(value)
        kind = options.pop("kind", None)
        if kind not in FEATURE_KINDS:
            got = "missing" if kind is None else f"got {_kind(kind)}"
            raise SpecError(self.path, f"{key}.kind", f"expected one of {', '.join(FEATURE_KINDS)}; {got}", line)
        settings = FEATURE_KINDS[kind]
        for k in options:
            if k not in settings.__dataclass_fields__:
                allowed = ", ".join(["kind", *settings.__dataclass_fields__])
                raise SpecError(self.path, f"{key}.{k}", f"unknown key for {kind} features; expected one of {allowed}", line)
        try:
            return settings(**options)
        except FeatureError as err:
            raise SpecError(self.path, f"{key}.{err.name}", err.cause, line) from None

    def weighting(self, value):
        """``"fixed"``, a method name, or ``{method = "gradnorm", every = 100, alpha = 0.9}``."""
        if value == "fixed" or value == {"method": "fixed"}:
            return None
        if isinstance(value, dict) and value.get("method") == "fixed":
            extra = next(k for k in value if k != "method")
            raise SpecError(self.path, f"solver.weighting.{extra}", "fixed weighting takes no settings",
                            line_of(self.text, "solver.weighting"))  # fmt: skip
        return self.method_table("solver.weighting", value, WEIGHTINGS, "'fixed' or ", default="adaptive")

    def causal(self, value):
        """``true``/``false`` or ``{slices = 32, epsilon = 1.0}``."""
        if isinstance(value, bool):
            return Causal() if value else None
        if not isinstance(value, dict):
            self.fail("solver.causal", f"expected true, false or a table such as {{slices = 32, epsilon = 1.0}}, got {_kind(value)}")
        return self.settings("solver.causal", value, Causal)

    def method_table(self, key: str, value, methods: dict, also: str = "", default: str | None = None):
        """A strategy named by a string, or by the ``method`` key (else ``default``) of a table of
        its settings."""
        table = {"method": value} if isinstance(value, str) else value
        names = " or ".join(repr(m) for m in methods)
        if not isinstance(table, dict):
            self.fail(key, f"expected {also}{names}, or a table with 'method', got {_kind(value)}")
        options = dict(table)
        method = options.pop("method", default)
        if not isinstance(method, str) or method not in methods:
            got = "nothing" if method is None else _kind(method)
            raise SpecError(self.path, f"{key}.method", f"expected {also}{names}, got {got}", line_of(self.text, key))
        return self.settings(key, options, methods[method], method)

    def settings(self, key: str, options: dict, kind, name: str | None = None):
        """``kind(**options)`` with every key checked; errors point at the line of ``key`` (the keys
        of an inline table have no line of their own)."""
        line = line_of(self.text, key)
        allowed = (["method"] if name else []) + list(kind.__dataclass_fields__)
        for k in options:
            if k not in kind.__dataclass_fields__:
                what = f"unknown key for {name}" if name else "unknown key"
                raise SpecError(self.path, f"{key}.{k}", f"{what}; expected one of {', '.join(allowed)}", line)
        try:
            return kind(**options)
        except ProblemError as err:
            raise SpecError(self.path, key, str(err), line) from None

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
