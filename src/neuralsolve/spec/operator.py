"""The ``[operator]`` section of a problem file (a neural operator's data set) and the
``[solver.model]`` table (which operator network), with the ``FILE:LINE: key: cause`` errors of
:mod:`.load`."""

from __future__ import annotations

from .._errors import ProblemError
from ..methods.operator.settings import MODELS
from ..problem.operator import COARSEN, GRF, Operator
from .schema import Rule, kind_of, whole

OPERATOR_KEYS = {"input", "grf", "train", "test", "generate", "resolution", "zero_shot", "coarsen", "file", "seed"}
GRF_KEYS = {"sigma", "tau", "alpha", "map"}
POINTS = whole(2, 2**16)


class OperatorReader:
    """Readers of ``[operator]`` and ``[solver.model]``, mixed into the problem-file reader."""

    def operator(self, data: dict) -> Operator | None:
        if "operator" not in data:
            return None
        table = self.table(data, "operator", OPERATOR_KEYS)
        args = {}
        if "input" in table:
            args["input"] = self.name(table["input"], "operator.input", "'initial' or a function name")
        for k in ("train", "test"):
            if k in table:
                args[k] = self.check(whole(1, 10**6), table[k], f"operator.{k}")
        for k in ("generate", "resolution"):
            if k in table:
                args[k] = self.check(POINTS, table[k], f"operator.{k}")
        if "zero_shot" in table:
            args["zero_shot"] = self.zero_shot(table["zero_shot"])
        if "seed" in table:
            args["seed"] = self.check(whole(0, 2**32 - 1), table["seed"], "operator.seed")
        if "coarsen" in table:
            args["coarsen"] = self.check(Rule("string", choices=COARSEN), table["coarsen"], "operator.coarsen")
        if "file" in table:
            args["file"] = self.check(Rule("string"), table["file"], "operator.file")
        if "grf" in table:
            args["grf"] = self.grf(self.table(table, "operator.grf", GRF_KEYS))
        try:
            return Operator(**args)
        except ProblemError as err:
            self.fail("operator", str(err).removeprefix("operator: "))

    def zero_shot(self, value) -> tuple[int, ...]:
        value = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(value, list):
            self.fail("operator.zero_shot", f"expected a list of resolutions such as [512, 1024], got {kind_of(value)}")
        return tuple(self.check(POINTS, v, "operator.zero_shot") for v in value)

    def grf(self, table: dict) -> GRF:
        args = {k: self.check(Rule("number"), table[k], f"operator.grf.{k}") for k in ("sigma", "tau", "alpha") if k in table}
        if "map" in table:
            args["map"] = self.check(Rule("string", what="an expression of g such as 'exp(g)'"), table["map"],
                                     "operator.grf.map")  # fmt: skip
        try:
            return GRF(**args)
        except ProblemError as err:
            cause = str(err).removeprefix("operator: ")
            key = cause.split(" ", 1)[0]
            self.fail(f"operator.{key}" if key.startswith("grf.") else "operator.grf", cause)

    def model(self, value):
        """``{kind = "fno", width = 64, modes = 16, layers = 4}`` (or "deeponet", "mgno"), or a
        model's name alone."""
        key = "solver.model"
        table = {"kind": value} if isinstance(value, str) else value
        if not isinstance(table, dict):
            self.fail(key, f"expected a table such as {{kind = 'fno', width = 64}}, got {kind_of(value)}")
        options = dict(table)
        kind = options.pop("kind", "fno")
        if not isinstance(kind, str) or kind not in MODELS:
            self.fail(f"{key}.kind", f"expected one of {', '.join(MODELS)}, got {kind_of(kind)}")
        return self.settings(key, options, MODELS[kind], kind, label="kind")
