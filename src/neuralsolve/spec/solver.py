"""The ``[solver]`` table of a problem file: network, points, phases and training aids, each key
checked against its rule (:mod:`.schema`) with the one-line ``FILE:LINE: key: cause`` errors of
:mod:`.load`."""

from __future__ import annotations

from .._errors import ProblemError
from ..loss.terms import Points
from ..methods.neural_ode.settings import ODE
from ..methods.operator.settings import Training
from ..nn.features import KINDS as FEATURE_KINDS
from ..nn.features import FeatureError
from ..nn.mlp import MLP
from ..sampling.adaptive import SAMPLINGS
from ..train.phases import PHASES
from ..train.weighting import WEIGHTINGS, Causal
from .schema import SOLVER_RULES, kind_of, rules_of, size_cause


class SolverReader:
    """Readers of the ``[solver]`` table, mixed into the problem-file reader: they use its
    ``fail`` and ``check`` and the problem's dimension ``dim``."""

    def solver(self, table: dict) -> dict:
        settings = {}
        for k, rule in SOLVER_RULES.items():
            if k in table:
                settings[k] = self.check(rule, table[k], f"solver.{k}")
        if "time_limit" in settings:
            settings["time_limit"] = float(settings["time_limit"])
        if "network" in table:
            settings["network"] = self.network(table["network"])
        if "points" in table:
            settings["points"] = self.settings("solver.points", table["points"], Points)
        if "phases" in table:
            settings["phases"] = self.phases(table["phases"])
        if "weighting" in table:
            settings["weighting"] = self.weighting(table["weighting"])
        if "causal" in table:
            settings["causal"] = self.causal(table["causal"])
        if "sampling" in table:
            settings["sampling"] = self.method_table("solver.sampling", table["sampling"], SAMPLINGS)
        if "ode" in table:
            settings["ode"] = self.settings("solver.ode", table["ode"], ODE)
        if "model" in table:
            settings["model"] = self.model(table["model"])
        if "training" in table:
            settings["training"] = self.settings("solver.training", table["training"], Training)
        self.check_size(settings)
        return settings

    def check_size(self, settings: dict) -> None:
        """Refuse a network or point set that could not fit in memory, before anything is allocated."""
        network = settings.get("network") or MLP()
        inputs = network.features.out_size(self.dim) if network.features is not None else self.dim
        interior = (settings.get("points") or Points()).counts(self.dim)[0]
        pool = getattr(settings.get("sampling"), "pool", 0)
        cause = size_cause(network.width, network.depth, inputs, max(interior, pool))
        if cause:
            self.fail("solver.network" if "network" in settings and "parameters" in cause else
                      "solver.points" if "points" in settings else "solver", cause)  # fmt: skip

    def network(self, value) -> MLP:
        """``{width, depth, activation, features}``; ``features`` is an embedding table (below)."""
        key = "solver.network"
        if not isinstance(value, dict):
            self.fail(key, f"expected a table such as {{width = 32, depth = 3}}, got {kind_of(value)}")
        options = dict(value)
        features = self.features(options.pop("features")) if "features" in options else None
        network = self.settings(key, options, MLP, skip=("features",))
        return MLP(network.width, network.depth, network.activation, features) if features else network

    def features(self, value):
        """``{kind = "fourier", count, sigma}`` or ``{kind = "gaussian", count, size, init, width}``."""
        key = "solver.network.features"
        if not isinstance(value, dict):
            self.fail(key, f"expected a table such as {{kind = 'fourier', count = 64}}, got {kind_of(value)}")
        options = dict(value)
        kind = options.pop("kind", None)
        if not isinstance(kind, str) or kind not in FEATURE_KINDS:
            got = "missing" if kind is None else f"got {kind_of(kind)}"
            self.fail(f"{key}.kind", f"expected one of {', '.join(FEATURE_KINDS)}; {got}")
        return self.settings(key, options, FEATURE_KINDS[kind], f"{kind} features", label="kind")

    def weighting(self, value):
        """``"fixed"``, a method name, or ``{method = "gradnorm", every = 100, alpha = 0.9}``."""
        if value == "fixed" or value == {"method": "fixed"}:
            return None
        if isinstance(value, dict) and value.get("method") == "fixed":
            extra = next(k for k in value if k != "method")
            self.fail(f"solver.weighting.{extra}", "fixed weighting takes no settings")
        return self.method_table("solver.weighting", value, WEIGHTINGS, "'fixed' or ", default="adaptive")

    def causal(self, value):
        """``true``/``false`` or ``{slices = 32, epsilon = 1.0}``."""
        if isinstance(value, bool):
            return Causal() if value else None
        if not isinstance(value, dict):
            self.fail("solver.causal", f"expected true, false or a table such as {{slices = 32, epsilon = 1.0}}, got {kind_of(value)}")
        return self.settings("solver.causal", value, Causal)

    def method_table(self, key: str, value, methods: dict, also: str = "", default: str | None = None):
        """A strategy named by a string, or by the ``method`` key (else ``default``) of a table of
        its settings."""
        table = {"method": value} if isinstance(value, str) else value
        names = " or ".join(repr(m) for m in methods)
        if not isinstance(table, dict):
            self.fail(key, f"expected {also}{names}, or a table with 'method', got {kind_of(value)}")
        options = dict(table)
        method = options.pop("method", default)
        if not isinstance(method, str) or method not in methods:
            got = "nothing" if method is None else kind_of(method)
            self.fail(f"{key}.method", f"expected {also}{names}, got {got}")
        return self.settings(key, options, methods[method], method)

    def settings(self, key: str, options, kind, name: str | None = None, *, skip=(), label: str = "method"):
        """``kind(**options)`` with every key checked against its rule (:mod:`.schema`); errors point
        at the line of the key, else of the nearest enclosing key (keys of an inline table have no
        line of their own)."""
        if not isinstance(options, dict):
            self.fail(key, f"expected a table, got {kind_of(options)}")
        rules = {k: r for k, r in rules_of(kind).items() if k not in skip}
        allowed = ([label] if name else []) + list(rules) + list(skip)
        for k, v in options.items():
            if k not in rules:
                what = f"unknown key for {name}" if name else "unknown key"
                self.fail(f"{key}.{k}", f"{what}; expected one of {', '.join(allowed)}")
            if rules[k] is not None:
                self.check(rules[k], v, f"{key}.{k}")
        try:
            return kind(**options)
        except FeatureError as err:
            self.fail(f"{key}.{err.name}", err.cause)
        except ProblemError as err:
            self.fail(key, str(err))

    def phases(self, items) -> list:
        if not isinstance(items, list) or not items or not all(isinstance(p, dict) for p in items):
            self.fail("solver.phases", "expected a list of tables, e.g. [{method = 'adam', steps = 2000}]")
        out = []
        for i, p in enumerate(items, 1):
            key = f"solver.phases[{i}]"
            args = dict(p)
            method = args.pop("method", None)
            if not isinstance(method, str) or method not in PHASES:
                got = "nothing" if method is None else kind_of(method)
                self.fail(f"{key}.method", f"expected one of {', '.join(PHASES)}, got {got}")
            out.append(self.settings(key, args, PHASES[method], method))
        return out
