"""What each setting of a problem file may hold: one table of rules, checked before anything is built.

A settings class (``Adam``, ``MLP``, ``RAD``, ...) is a dataclass whose fields are the keys a
problem file may give it. Each key's *type* comes from the field's annotation (``int``: a whole
number, ``float``: a finite number, ``str``: a string, ``bool``: true or false), so a field added
to a settings class is checked here without an edit; :data:`RULES` adds ranges and choices by key
name. The class's own ``__post_init__`` then checks the combinations (a schedule that needs a final
rate, ...). TOML's ``true`` is a Python ``int``: it is refused wherever a number is expected.

Sizes that could not fit in memory are refused before anything is allocated (:func:`size_cause`).
"""

from __future__ import annotations

import dataclasses
import math

from ..nn.features import GAUSSIAN_INITS
from ..nn.mlp import ACTIVATIONS
from ..sampling import METHODS as SAMPLERS
from ..methods.neural_ode.settings import ADJOINTS, INITIALS, INTEGRATORS, LOSSES, METHODS, REGULARISERS
from ..methods.operator.settings import LOSSES as OPERATOR_LOSSES
from ..train.phases import SCHEDULES

MAX_WHOLE = 2**31 - 1  # step counters and seeds live in 32-bit integers on the device
MAX_POINTS = 10**8  # points in one set (interior, a condition, a candidate pool): 0.8 GB per coordinate
MAX_PARAMETERS = 10**8  # network weights: 0.8 GB per copy in float64, and Adam keeps three copies
MAX_ACTIVATIONS = 10**10  # points x width: one hidden layer's values for all points, 80 GB in float64


@dataclasses.dataclass(frozen=True)
class Rule:
    """A key's type (``whole``, ``number``, ``string``, ``bool``) and allowed values.

    ``low``/``high`` bound numbers inclusively, ``above`` exclusively; ``choices`` lists the
    allowed strings (for a number kind, the strings allowed besides numbers, such as ``"all"``).
    """

    kind: str
    low: float | None = None
    above: float | None = None
    high: float | None = None
    below: float | None = None
    choices: tuple[str, ...] = ()
    what: str | None = None  # words for the expected value, where the generic ones say too little

    def describe(self) -> str:
        """What the key expects, in words (for messages and docs)."""
        if self.what:
            return self.what
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "string":
            return "a string"
        noun = "a whole number" if self.kind == "whole" else "a finite number"
        limits = [f"> {_num(self.above)}" if self.above is not None else None,
                  f">= {_num(self.low)}" if self.low is not None else None,
                  f"< {_num(self.below)}" if self.below is not None else None,
                  f"<= {_num(self.high)}" if self.high is not None and self.high != MAX_WHOLE else None]  # fmt: skip
        limits = [x for x in limits if x]
        return noun + (" " + " and ".join(limits) if limits else "")

    def cause(self, value) -> str | None:
        """Why ``value`` is not allowed, or None if it is."""
        if self.fits(value):
            return None
        if self.high == MAX_WHOLE and isinstance(value, int) and not isinstance(value, bool) and value > MAX_WHOLE:
            return f"expected {self.describe()}, at most {MAX_WHOLE}; got {kind_of(value)}"
        return f"expected {self.describe()}, got {kind_of(value)}"

    def fits(self, value) -> bool:
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "string":
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if isinstance(value, str):
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "whole" and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if isinstance(value, int) and abs(value) > 2**1000:  # beyond any float, and any limit
            return False
        return ((self.low is None or value >= self.low) and (self.above is None or value > self.above)
                and (self.high is None or value <= self.high) and (self.below is None or value < self.below))  # fmt: skip


def whole(low: int = 0, high: int = MAX_WHOLE) -> Rule:
    """A whole number in [low, high]."""
    return Rule("whole", low=low, high=high)


def positive() -> Rule:
    """A finite number > 0."""
    return Rule("number", above=0)


def choice(*names: str) -> Rule:
    """One of the strings ``names``."""
    return Rule("string", choices=tuple(names))


# Ranges and choices by key name, shared by every settings class that has the key; keys not listed
# get their type from the class's annotation. The classes check the same ranges again for Python
# callers, so these only need to be at least as strict.
RULES = {
    # network and points
    "width": whole(1), "depth": whole(1), "activation": choice(*ACTIVATIONS),
    "interior": whole(1, MAX_POINTS), "boundary": whole(1, MAX_POINTS), "sampler": choice(*SAMPLERS),
    # optimiser phases
    "steps": whole(0), "learning_rate": positive(), "final_learning_rate": positive(),
    "schedule": choice(*SCHEDULES), "warmup": whole(0), "memory": whole(1), "gtol": Rule("number", low=0),
    "patience": whole(1), "max_params": whole(1), "plateau": whole(0), "plateau_factor": Rule("number", above=1),
    "damping": positive(),
    # loss weighting, causal weighting, adaptive sampling
    "eta": positive(), "every": whole(1), "alpha": Rule("number", low=0, below=1),
    "slices": whole(1), "epsilon": Rule("number", low=0),
    "add": whole(1, MAX_POINTS), "pool": whole(1, MAX_POINTS), "k": Rule("number", low=0), "c": Rule("number", low=0),
    # input features
    "count": whole(1, 10**6), "sigma": positive(), "size": whole(1, 10**6), "init": choice(*GAUSSIAN_INITS),
    # neural ODEs ([solver.ode])
    "integrator": choice(*INTEGRATORS), "rtol": positive(), "atol": positive(), "max_steps": whole(1, 10**7),
    "adjoint": choice(*ADJOINTS), "batch": whole(1, 10**6), "window": whole(2, 10**6),
    "grow": Rule("number", above=0, high=1), "regularise": choice(*REGULARISERS),
    "regularisation": Rule("number", low=0), "regularisation_final": positive(), "holdout": Rule("number", low=0, below=1), "loss": choice(*LOSSES),
    "initial": choice(*INITIALS),
    # neural operators ([solver.model], [solver.training])
    "modes": whole(1, 10**4), "layers": whole(1, 1000), "basis": whole(1, 10**5), "levels": whole(1, 30),
    "epochs": whole(1), "decay_every": whole(0), "decay_factor": Rule("number", above=0, high=1),
    "weight_decay": Rule("number", low=0, below=1),
}  # fmt: skip

# the [solver] table's own scalar keys
SOLVER_RULES = {
    "precision": choice("float32", "float64"), "seed": whole(0, 2**32 - 1), "redraw": whole(1), "method": choice(*METHODS),
    "windows": whole(1, 10**4), "time_limit": Rule("number", above=0, what="a positive, finite number of seconds"),
    "devices": Rule("whole", low=1, high=MAX_WHOLE, choices=("all",), what="'all' or a whole number >= 1"),
}  # fmt: skip

_BY_ANNOTATION = {"int": whole(0), "float": Rule("number"), "float | None": Rule("number"), "str": Rule("string"),
                  "str | None": Rule("string"), "bool": Rule("bool")}  # fmt: skip


# keys whose meaning differs in one settings class (a neural operator's training loss)
CLASS_RULES = {"Training": {"loss": choice(*OPERATOR_LOSSES)}}


def rules_of(kind) -> dict[str, Rule | None]:
    """The rule of each key of the settings dataclass ``kind`` (None: checked by ``kind`` itself)."""
    own = CLASS_RULES.get(kind.__name__, {})
    return {f.name: own.get(f.name, RULES.get(f.name, _BY_ANNOTATION.get(str(f.type)))) for f in dataclasses.fields(kind)}


def size_cause(width: int, depth: int, inputs: int, interior: int | None) -> str | None:
    """Why a network of ``depth`` layers of ``width`` on ``inputs`` inputs, trained on ``interior``
    points, cannot fit in memory; None if it can."""
    parameters = width * (inputs + 1) + (depth - 1) * width * (width + 1) + width
    if parameters > MAX_PARAMETERS:
        return (f"a network of width {width} and depth {depth} has about {parameters:.3g} parameters; "
                f"the limit is {MAX_PARAMETERS:.0e} ({8 * MAX_PARAMETERS / 1e9:.1f} GB per copy in float64)")  # fmt: skip
    if interior is not None and interior * width > MAX_ACTIVATIONS:
        return (f"{interior} points x width {width} = {interior * width:.3g} values per hidden layer; the limit is "
                f"{MAX_ACTIVATIONS:.0e} ({8 * MAX_ACTIVATIONS / 1e9:.0f} GB in float64): use fewer points or a narrower network")  # fmt: skip
    return None


def kind_of(value) -> str:
    """A value's TOML kind, and the value itself where short, for messages."""
    names = {str: "a string", bool: "a boolean", int: "a whole number", float: "a number", list: "a list",
             dict: "a table"}  # fmt: skip
    shown = ""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        shown = f" ({'-' if value < 0 else ''}about 2^{value.bit_length() - 1})"  # repr() refuses huge ints
    elif isinstance(value, (str, int, float)):
        text = repr(value)
        shown = f" ({text if len(text) <= 40 else text[:37] + '...'})"
    return names.get(type(value), type(value).__name__) + shown


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
