"""Hostile problem files: the loader and the equation parser under Hypothesis (issue 21, item 13).

Problem files are data from other people. For any file, ``neuralsolve.load`` must either return a
Problem or raise a one-line :class:`SpecError` naming the file — never another exception, never a
hang, and never execute anything: the generated strings include Python that would create a
sentinel file or set a global if it were ever run.

The budget is fixed (500 generated files over all strategies, derandomized) so that CI is
reproducible and the module runs in well under a minute.
"""

import builtins
import datetime
import json
import math
import pathlib
import signal
import tempfile
import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import neuralsolve as ns  # noqa: E402

FOLDER = pathlib.Path(tempfile.mkdtemp(prefix="neuralsolve-fuzz-"))
SENTINEL = FOLDER / "executed"  # created by the hostile strings below if they were ever run
PER_FILE_S = 5.0  # a file is checked in a few seconds at most, whatever it holds

# Python that would leave a trace if executed: a file, a global, an attribute of builtins.
TRICKS = [
    f"__import__('pathlib').Path({str(SENTINEL)!r}).touch()",
    f"open({str(SENTINEL)!r}, 'w')",
    f"exec(\"open({str(SENTINEL)!r}, 'w')\")",
    f"eval(\"__import__('os').mkdir({str(SENTINEL)!r})\")",
    "__import__('builtins').__setattr__('NEURALSOLVE_FUZZ', 1)",
    "globals().update(NEURALSOLVE_FUZZ=1)",
    "setattr(__builtins__, 'NEURALSOLVE_FUZZ', 1)",
    "(lambda: __import__('os'))()",
    "u.__class__.__bases__[0].__subclasses__()",
    "().__class__.__mro__[1].__subclasses__()",
    "sin.__globals__", "x.evalf.__globals__['__builtins__']", "[c for c in ().__class__.__base__.__subclasses__()]",
    "u if exec('1') else u", "f'{u}'", "b'u'", "u[0]", "u(x)", "x @ x", "x // 2", "x % 2", "not u", "~u",
    "__import__", "__builtins__", "print", "lambda", "yield u", "await u", ":=", "u := 1", "*u", "**u",
    "\\", "\\\\", "u \\\n + 1", "\x00", "u\x00 = 0", "\ud7ff", "𝑢 = 0", "ｕ = 0", "ℯ", "µ", "π", "ü = 0", "u\u2032 = 0",
    "9**9**9**9", "x**1000000", "(x + 1)**1000", "2**(2**(2**10))", "10**(10**10)", "(10**500)**300", "1e999",
    "-1e999", "1" * 5000, "0x" + "f" * 3000, "1" + "0" * 400 + ".0", "(" * 300 + "x" + ")" * 300,
    "sin(" * 120 + "x" + ")" * 120, "+".join(["x"] * 3000), "-" * 5000 + "x", "x" * 20000,
    "diff(u, x, 100000)", "diff(u, x, -1)", "diff(u, x, 2.5)", "diff(u, u)", "diff(diff(u, x, 10), x, 10)",
    "Piecewise((1, x > 0), (0, True))", "Piecewise((1, x > 0))", "Piecewise(x)", "Piecewise()", "Min()", "atan2(x)",
    "Heaviside(x, x, x)", "sqrt(-1)", "1/0", "0**-1", "log(0)", "E**1000", "pi**pi**pi", "x == x", "x < u < 1",
    "x & u", "(x, u)", "((1, 2), 3)", "True", "None", "...", "[]", "{}", "u = u = u", "u == 0", "u' = u", "u'' + u = 0",
    "= 0", "u =", "=", "", " ", "\n", "u = 0\nimport os", "u = 0; import os", "# u = 0",
]  # fmt: skip
EXPRESSIONS = ["u", "x", "t", "y", "pi", "E", "0", "1", "-1", "0.5", "1e-300", "1e300", "diff(u, x)", "diff(u, x, 2)",
               "diff(u, t)", "sin(pi*x)", "exp(-t)", "k", "V", "E*u", "n"]  # fmt: skip


def _expression_strategy():
    """Strings that look like mathematics, built from pieces and operators, plus tricks and noise."""
    atoms = st.sampled_from(EXPRESSIONS) | st.integers(-(10**30), 10**30).map(str) | st.floats().map(repr)
    joined = st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" + ", " - ", "*", "/", "**", "^", " = ", " == ", " < ", " & ", ", "]), inner)
            .map("".join),
            st.tuples(st.sampled_from(["sin", "exp", "diff", "sqrt", "Piecewise", "Abs", "foo", "", "lambda"]), inner)
            .map(lambda p: f"{p[0]}({p[1]})"),
        ),
        max_leaves=12,
    )
    return st.one_of(st.sampled_from(TRICKS), joined, st.text(max_size=40), st.tuples(joined, st.sampled_from(TRICKS))
                     .map(" = ".join))  # fmt: skip


def _value_strategy(strings):
    """Any TOML value: scalars of every type (huge, non-finite, dates), lists and tables, nested."""
    scalars = st.one_of(
        st.booleans(), st.integers(-(2**70), 2**70), st.floats(), strings, st.datetimes(), st.dates(), st.times(),
    )
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys(), inner, max_size=4),
                        max_leaves=10)  # fmt: skip


def _keys():
    return st.sampled_from(["x", "u", "t", "method", "width", "depth", "steps", "kind", "on", "set", "points"]) | st.text(max_size=12)


# built once: Hypothesis strategies are cheap to draw from but not to build
EXPRESSION = _expression_strategy()
VALUE = _value_strategy(EXPRESSION)
# values near the edges of what each key accepts, so that mutated files often stay valid elsewhere
PLAUSIBLE = st.sampled_from([
    0, 1, -1, 2, 3, 16, 16.5, 1e-3, 0.0, -0.0, 2**31, 2**63 - 1, -(2**63), 10**400, -(10**400), True, False,
    math.nan, math.inf, -math.inf,
    "16", "tanh", "sin", "relu", "adam", "lbfgs", "sgd", "sobol", "float32", "float16", "x", "u", "t", "boundary", "start",
    "x = 0", "x = 1", "t = 0", "x = 0.5", "right", "u = 0", "diff(u, x) = 0", "pi/2", "disk", "box", "auto", "none",
    "adaptive", "fixed", "rad", "positive", "data.csv", "../data.csv", "/etc/passwd", [0, 1], [0, "pi/2"], [1, 0], [0],
    [[0.5, 0.5]], [0.5], {}, [], {"method": "adam"}, {"kind": "fourier"}, {"method": "rad", "pool": 10},
    {"width": 100000, "depth": 100}, {"interior": 10**8}, [{"method": "adam", "steps": 1.5}],
])  # fmt: skip


KEYS = {
    "top": ["name", "fields", "equations", "domain", "parameters", "functions", "conditions", "observations", "exact",
            "reference", "solver", "eigen", "scale", "sign"],
    "solver": ["network", "points", "phases", "precision", "seed", "weighting", "causal", "sampling", "redraw",
               "time_limit", "windows"],
}  # fmt: skip


def _base() -> dict:
    """A valid file (heat equation with a parameter, a function, an observation and settings)."""
    return {
        "name": "fuzz", "fields": ["u"], "equations": ["diff(u, t) = k*diff(u, x, 2) + V"],
        "parameters": {"k": 1.0}, "functions": {"V": "0*x"},
        "domain": {"x": [0, 1], "t": [0, 1]},
        "conditions": [{"on": "boundary", "set": "u = 0"}, {"on": "t = 0", "set": "u = sin(pi*x)"}],
        "observations": [{"field": "u", "points": [[0.5, 0.5]], "values": [0.1]}],
        "exact": {"u": "exp(-pi**2*t)*sin(pi*x)"},
        "solver": {"network": {"width": 8, "depth": 2}, "points": {"interior": 64, "boundary": 16},
                   "phases": [{"method": "adam", "steps": 10}, {"method": "lbfgs", "steps": 10}]},
    }  # fmt: skip


PATHS = [("name",), ("fields",), ("fields", 0), ("equations",), ("equations", 0), ("parameters",), ("parameters", "k"),
         ("functions", "V"), ("domain",), ("domain", "x"), ("domain", "x", 1), ("domain", "shape"), ("domain", "radius"),
         ("conditions",), ("conditions", 0, "on"), ("conditions", 1, "set"), ("conditions", 0, "weight"),
         ("conditions", 0, "points"), ("conditions", 0, "periodic"), ("observations", 0, "points"),
         ("observations", 0, "values"), ("observations", 0, "file"), ("observations", 0, "field"), ("exact", "u"),
         ("reference", "solver"), ("eigen", "states"), ("scale", "u"), ("sign", "u"), ("solver",),
         ("solver", "network"), ("solver", "network", "width"), ("solver", "network", "depth"),
         ("solver", "network", "activation"), ("solver", "network", "features"), ("solver", "points", "interior"),
         ("solver", "points", "sampler"), ("solver", "phases"), ("solver", "phases", 0, "method"),
         ("solver", "phases", 0, "steps"), ("solver", "phases", 1, "memory"), ("solver", "precision"), ("solver", "seed"),
         ("solver", "weighting"), ("solver", "causal"), ("solver", "sampling"), ("solver", "redraw"),
         ("solver", "time_limit"), ("solver", "windows")]  # fmt: skip


@st.composite
def _mutated(draw):
    """The valid file with a few values replaced by anything (strings from the expression strategy
    where a string is expected, any TOML value elsewhere)."""
    data = _base()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        if draw(st.integers(0, 4)) == 0:
            _set(data, path, None)  # leave the key out: mostly still a valid file, which goes deeper
            continue
        value = draw(st.sampled_from([PLAUSIBLE, PLAUSIBLE, EXPRESSION, VALUE]).flatmap(lambda strategy: strategy))
        _set(data, path, value)
    return data


@st.composite
def _random_file(draw):
    """Random structures under the real top-level keys (and a few unknown ones)."""
    keys = draw(st.lists(st.sampled_from(KEYS["top"]) | _keys(), max_size=6, unique=True))
    return {k: draw(VALUE) for k in keys}


def _set(data, path, value):
    node = data
    for key in path[:-1]:
        if isinstance(node, dict) and not isinstance(key, str):
            return  # a number indexes lists only
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    if isinstance(node, dict) and isinstance(path[-1], str):
        node[path[-1]] = value
        if value is None:
            del node[path[-1]]
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = value
        if value is None:
            del node[path[-1]]


# --- a small TOML writer (the test must not depend on one being installed) ---------------------


def _toml(data: dict) -> str:
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            tables.append(f"\n[{_key(key)}]\n" + "".join(f"{_key(k)} = {_inline(v)}\n" for k, v in value.items()))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for v in value:
                tables.append(f"\n[[{_key(key)}]]\n" + "".join(f"{_key(k)} = {_inline(w)}\n" for k, w in v.items()))
        else:
            lines.append(f"{_key(key)} = {_inline(value)}\n")
    return "".join(lines) + "".join(tables)


def _key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key) else json.dumps(key, ensure_ascii=False)


def _inline(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + "}"


# --- the property ----------------------------------------------------------------------------


def _timeout(signum, frame):
    raise TimeoutError(f"a problem file took more than {4 * PER_FILE_S:.0f} s to load")


FILES = st.one_of(_mutated(), _random_file(), EXPRESSION.map(lambda e: {**_base(), "equations": [e]}), st.text(max_size=200))


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # large generated strings
@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(FILES)
def test_any_file_loads_or_gets_one_line_naming_it(data):
    check_file(data)


def check_file(data) -> None:
    """The property, for one generated file (a table to write as TOML, or raw text)."""
    path = FOLDER / "problem.toml"
    path.write_text(data if isinstance(data, str) else _toml(data), errors="surrogatepass")
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(4 * PER_FILE_S))  # a hang becomes a failure rather than a stuck suite
    start = time.perf_counter()
    try:
        problem = ns.load(path)
        assert isinstance(problem, ns.Problem)
    except ns.SpecError as err:
        message = str(err)
        assert message.startswith(f"{path}:") and "\n" not in message and "\r" not in message, message
        assert "Traceback" not in message
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    assert elapsed < PER_FILE_S, f"{elapsed:.1f} s to load {path.read_text()[:300]!r}"
    assert not SENTINEL.exists(), "a string in the file was executed"
    assert not hasattr(builtins, "NEURALSOLVE_FUZZ") and "NEURALSOLVE_FUZZ" not in globals()


def test_the_tricks_themselves_would_leave_a_trace():
    """The sentinel strings are live: run as Python (here, by the test, never by neuralsolve) the
    first one creates the file the property checks for."""
    probe = FOLDER / "probe"
    trick = TRICKS[0].replace(str(SENTINEL), str(probe))
    exec(trick)  # noqa: S102 - the test proves its own sentinel works
    assert probe.exists()
    probe.unlink()
