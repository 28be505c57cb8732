"""The inverse-problem tables of a problem file: ``[unknowns]``, ``[data]`` (or ``[[data]]``),
``[hidden]`` and ``[discover]`` (docs/problem-files.md, "Inverse problems")."""

from __future__ import annotations

import pathlib
import re

from .._errors import ProblemError
from ..data import read_columns
from ..problem.inverse import HIDDEN_ACTIVATIONS, MAX_DEGREE, Data, Discover, Hidden, Unknown
from .schema import Rule, choice, whole

UNKNOWN_KEYS = {"initial", "positive"}
DATA_KEYS = {"file", "noise", "weight"}
HIDDEN_KEYS = {"inputs", "width", "depth", "activation", "network", "scale_inputs"}
DISCOVER_KEYS = {"terms", "degree", "threshold", "refit", "ensemble"}
NUMBER = Rule("number")


class InverseReader:
    """Readers of the inverse tables, mixed into the problem-file reader (which gives ``fail``,
    ``table``, ``check``, ``name`` and ``path``)."""

    def unknowns(self, data: dict) -> dict[str, Unknown]:
        out = {}
        for name, value in self.table(data, "unknowns").items():
            key = f"unknowns.{name}"
            self.name(name, key, "a name for the unknown")
            if not isinstance(value, dict):
                value = {"initial": value}
            for k in value:
                if k not in UNKNOWN_KEYS:
                    self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(UNKNOWN_KEYS))}")
            initial = self.check(NUMBER, value.get("initial", 1.0), f"{key}.initial")
            positive = self.check(Rule("bool"), value.get("positive", False), f"{key}.positive")
            if positive and not initial > 0:
                self.fail(f"{key}.initial", f"a positive unknown needs a positive initial value, got {initial}")
            out[name] = Unknown(initial=float(initial), positive=positive)
        return out

    def data_sets(self, data: dict) -> list[Data]:
        """``[data]`` (one table) or ``[[data]]`` (several), each a file of columns."""
        value = data.get("data")
        if value is None:
            return []
        if isinstance(value, dict):
            items = [("data", value)]
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            items = [(f"data[{i}]", v) for i, v in enumerate(value, 1)]
        else:
            self.fail("data", "expected a [data] table or [[data]] tables")
        self.data_keys = [key for key, _ in items]
        return [self.data_set(key, table) for key, table in items]

    def data_set(self, key: str, table: dict) -> Data:
        for k in table:
            if k not in DATA_KEYS:
                self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(DATA_KEYS))}")
        if "file" not in table:
            self.fail(f"{key}.file", "missing; expected the data file (.csv or .npz), relative to the problem file")
        name = self.relative_file(table["file"], f"{key}.file")
        try:
            columns = read_columns(self.path.parent / name)
        except ProblemError as err:
            self.fail(f"{key}.file", str(err))
        noise = table.get("noise")
        if isinstance(noise, dict):
            for f, v in noise.items():
                self.check(Rule("number", low=0), v, f"{key}.noise.{f}")
        elif noise is not None:
            self.check(Rule("number", low=0), noise, f"{key}.noise")
        weight = table.get("weight")
        if weight is not None:
            self.check(Rule("number", above=0), weight, f"{key}.weight")
        return Data(columns, noise=noise, weight=weight, name=name)

    def relative_file(self, name, key: str) -> str:
        """A file path inside the problem file's folder (a file from someone else reads only files
        beside it, and a run directory can copy them)."""
        if not isinstance(name, str) or not name.strip():
            self.fail(key, f"expected the path of a file, got {type(name).__name__}")
        relative = pathlib.PurePosixPath(name.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts or pathlib.PureWindowsPath(name).drive:
            self.fail(key, f"expected a path inside the problem file's folder, such as 'data.csv', got {name!r}")
        return str(relative)

    def hidden(self, data: dict) -> dict[str, Hidden]:
        out = {}
        for name, value in self.table(data, "hidden").items():
            key = f"hidden.{name}"
            self.name(name, key, "a name for the hidden term")
            if not isinstance(value, dict):
                self.fail(key, "expected a table such as { inputs = [\"x\", \"y\"] }")
            for k in value:
                if k not in HIDDEN_KEYS:
                    self.fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(HIDDEN_KEYS))}")
            inputs = value.get("inputs")
            if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
                self.fail(f"{key}.inputs", "expected a non-empty list of field and coordinate names")
            size = {k: self.check(whole(1, 256), value[k], f"{key}.{k}") for k in ("width", "depth") if k in value}
            if "activation" in value:
                size["activation"] = self.check(choice(*HIDDEN_ACTIVATIONS), value["activation"], f"{key}.activation")
            if "network" in value:
                if not isinstance(value["network"], str) or not value["network"].isidentifier():
                    self.fail(f"{key}.network", "expected a name shared by the hidden terms that are one network's outputs")
                size["network"] = value["network"]
            if "scale_inputs" in value:
                if not isinstance(value["scale_inputs"], bool):
                    self.fail(f"{key}.scale_inputs", "expected true or false")
                size["scale_inputs"] = value["scale_inputs"]
            out[name] = Hidden(tuple(inputs), **size)
        return out

    def check_names(self, inverse: dict, fields, coords, parameters, functions) -> None:
        """An unknown or hidden term must have a name of its own (not a field's, a coordinate's, a
        parameter's or a function's, nor each other's): said here, at its key and line."""
        taken = {**{n: "a field" for n in fields}, **{n: "a coordinate" for n in coords},
                 **{n: "a parameter" for n in parameters}, **{n: "a function" for n in functions}}  # fmt: skip
        for table, what in (("unknowns", "unknown"), ("hidden", "hidden term")):
            for name in inverse[table]:
                if name in taken:
                    self.fail(f"{table}.{name}", f"the {what} {name!r} has the name of {taken[name]}; give it a name of its own")
                taken[name] = f"an {what}" if what == "unknown" else f"a {what}"

    def locate_inverse(self, message: str) -> tuple[str, str]:
        """Map a Problem error about the inverse parts to its key ("data 2: ..." -> ``data[2]``);
        anything else to ``problem``."""
        shared = re.match(r"hidden terms '\w+' and '(\w+)' share", message)
        if shared:
            return f"hidden.{shared.group(1)}", message
        match = re.match(r"data (\d+)(?: \([^)]*\))?: (.*)", message, re.S)
        if match:
            sets, cause = self.data_keys, match.group(2)
            key = sets[int(match.group(1)) - 1] if int(match.group(1)) <= len(sets) else "data"
            part = next((k for k in ("noise", "weight") if cause.startswith(k)), "file")
            return f"{key}.{part}", cause
        match = re.match(r"(unknown|hidden term) '(\w+)'(?: is used by no equation)?(.*)", message, re.S)
        if match:
            table = "unknowns" if match.group(1) == "unknown" else "hidden"
            return f"{table}.{match.group(2)}", message
        if message.startswith("unknowns ("):
            return "unknowns", message
        if message.startswith("discover: "):
            cause = message.removeprefix("discover: ")
            part = ".terms" if cause.startswith("term ") else ".degree" if cause.startswith("a degree-") else ""
            return f"discover{part}", cause
        return "problem", message

    def discover(self, data: dict) -> Discover | None:
        if "discover" not in data:
            return None
        table = self.table(data, "discover", DISCOVER_KEYS)
        terms = table.get("terms", "polynomial")
        if isinstance(terms, list):
            if not terms or not all(isinstance(t, str) and t.strip() for t in terms):
                self.fail("discover.terms", "expected \"polynomial\" or a non-empty list of expressions")
        elif terms != "polynomial":
            self.fail("discover.terms", f"expected \"polynomial\" or a list of expressions such as [\"x*y\"], got {terms!r}")
        args = {"terms": tuple(terms) if isinstance(terms, list) else terms}
        if "degree" in table:
            args["degree"] = self.check(whole(1, MAX_DEGREE), table["degree"], "discover.degree")
        if "threshold" in table:
            args["threshold"] = float(self.check(Rule("number", low=0, below=1), table["threshold"], "discover.threshold"))
        for k, high in (("refit", 10**6), ("ensemble", 1000)):
            if k in table:
                args[k] = self.check(whole(0, high), table[k], f"discover.{k}")
        try:
            return Discover(**args)
        except ProblemError as err:
            self.fail("discover", str(err).removeprefix("discover: "))
