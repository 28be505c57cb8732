"""Bad input to an inverse problem ([unknowns], [data], [hidden], [discover]) gets one line naming
the file, the key (with its line) and the cause, and exit status 2, from ``neuralsolve check``,
before anything compiles; the same mistakes through the Python API raise a ProblemError saying
what is wrong. Data is checked as data: an empty cell means "not measured there" and is accepted.
"""

import io
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from jax import monitoring

import neuralsolve as ns
from neuralsolve.cli.main import main

_COMPILES: list = []
monitoring.register_event_duration_secs_listener(
    lambda name, seconds, **_: _COMPILES.append(name) if name.endswith("backend_compile_duration") else None)

# A valid file of each kind; every bad case below changes one piece of one of them.
DECAY = """\
name = "decay"
fields = ["u"]
equations = ["diff(u, t) = -k*u"]

[domain]
t = [0, 2]

[[conditions]]
on = "t = 0"
set = "u = 1"

[unknowns]
k = { initial = 1, positive = true }

[data]
file = "obs.csv"
"""
OBS = "t,u\n0,1\n0.5,0.47\n1,0.22\n1.5,0.11\n2,0.05\n"

HIDDEN = """\
name = "predators"
fields = ["x", "y"]
equations = ["diff(x, t) = 1.3*x + F", "diff(y, t) = -1.8*y + G"]

[domain]
t = [0, 3]

[hidden]
F = { inputs = ["x", "y"] }
G = { inputs = ["x", "y"] }

[discover]
terms = "polynomial"
degree = 2

[data]
file = "lv.csv"
"""
LV = "t,x,y\n0,0.44,4.63\n1,0.20,0.87\n2,0.52,0.18\n3,1.60,0.06\n"


def _edit(text: str, old: str, new: str) -> str:
    assert old in text  # a case that no longer changes its base would test the base
    return text.replace(old, new, 1)


def _npz_bytes(**columns) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **columns)
    return buffer.getvalue()


# name: (problem file, data files written beside it, key, text of the key's line (None: no line),
# cause as a regular expression). Keys are dotted as in the file (docs/problem-files.md).
BAD = {
    "data_file_missing": (_edit(DECAY, "obs.csv", "nope.csv"), {}, "data.file", "file =", r"nope\.csv: no such file"),
    "data_file_binary_garbage": (DECAY, {"obs.csv": bytes(range(256)) * 4}, "data.file", "file =",
                                 r"obs\.csv: cannot read it"),
    "data_file_corrupt_npz": (_edit(DECAY, "obs.csv", "obs.npz"), {"obs.npz": b"PK\x03\x04 not a zip archive"},
                              "data.file", "file =", r"obs\.npz: cannot read it as \.npz"),
    "data_file_not_csv_or_npz": (_edit(DECAY, "obs.csv", "obs.txt"), {"obs.txt": OBS}, "data.file", "file =",
                                 r"obs\.txt: expected a \.csv or \.npz file"),
    "data_file_outside_folder": (_edit(DECAY, "obs.csv", "../x.csv"), {}, "data.file", "file =",
                                 r"expected a path inside the problem file's folder, such as 'data\.csv', got '\.\./x\.csv'"),
    "column_neither_coordinate_nor_field": (DECAY, {"obs.csv": "t,u,v\n0,1,2\n1,0.4,2\n"}, "data.file", "file =",
                                            r"column 'v' is neither a coordinate nor a field \(coordinates: t; fields: u\)"),
    "coordinate_empty": (DECAY, {"obs.csv": "t,u\n0,1\n,0.4\n"}, "data.file", "file =",
                         r"row 2: coordinate 't' is nan \(missing or not finite\)"),
    "coordinate_nan": (DECAY, {"obs.csv": "t,u\n0,1\nnan,0.4\n"}, "data.file", "file =", r"row 2: coordinate 't' is nan"),
    "field_infinite": (DECAY, {"obs.csv": "t,u\n0,1\n1,inf\n"}, "data.file", "file =",
                       r"row 2: field 'u' is inf; values must be finite \(leave the cell empty"),
    "cell_not_a_number": (DECAY, {"obs.csv": "t,u\n0,1\n1,abc\n"}, "data.file", "file =",
                          r"obs\.csv: row 2, column 'u': 'abc' is not a number"),
    "observation_outside_domain": (DECAY, {"obs.csv": "t,u\n0,1\n5,0.4\n"}, "data.file", "file =",
                                   r"row 2: the point \[5\.0\] lies outside the domain"),
    "second_data_set_outside_domain": (
        _edit(DECAY, '[data]\nfile = "obs.csv"', '[[data]]\nfile = "obs.csv"\n\n[[data]]\nfile = "o2.csv"'),
        {"o2.csv": "t,u\n0,1\n7,1\n"}, "data[2].file", 'file = "o2.csv"', r"row 2: the point \[7\.0\] lies outside"),
    "unknown_in_no_equation": (_edit(DECAY, "[unknowns]\n", "[unknowns]\nm = 2\n"), {}, "unknowns.m", "m = 2",
                               r"unknown 'm' is used by no equation"),
    "unknown_also_a_parameter": (_edit(DECAY, "[domain]", "[parameters]\nk = 1\n\n[domain]"), {}, "unknowns.k",
                                 "k = {", r"the unknown 'k' has the name of a parameter"),
    "unknowns_without_data": (_edit(DECAY, '[data]\nfile = "obs.csv"\n', ""), {}, "unknowns", "[unknowns]",
                              r"unknowns \(k\) need data to be estimated from"),
    "positive_unknown_starting_negative": (_edit(DECAY, "initial = 1,", "initial = -1,"), {}, "unknowns.k.initial",
                                           "k = {", r"a positive unknown needs a positive initial value, got -1"),
    "positive_unknown_starting_at_zero": (_edit(DECAY, "initial = 1,", "initial = 0,"), {}, "unknowns.k.initial",
                                          "k = {", r"a positive unknown needs a positive initial value, got 0"),
    "exact_names_no_unknown": (DECAY + '\n[exact]\nq = "1.5"\n', {}, "exact.q", "q =",
                               r"'q'; expected one of u, k"),
    "hidden_input_not_a_name_of_the_problem": (_edit(HIDDEN, 'G = { inputs = ["x", "y"] }', 'G = { inputs = ["x", "z"] }'),
                                               {}, "hidden.G", "G =", r"input 'z' is neither a field nor a coordinate"),
    "discover_terms_empty": (_edit(HIDDEN, 'terms = "polynomial"', "terms = []"), {}, "discover.terms", "terms =",
                             r"non-empty list of expressions"),
    "discover_terms_not_strings": (_edit(HIDDEN, 'terms = "polynomial"', "terms = [1, 2]"), {}, "discover.terms",
                                   "terms =", r"list of expressions"),
    "discover_terms_unknown_function": (_edit(HIDDEN, 'terms = "polynomial"', 'terms = ["x*y", "foo(x)"]'), {},
                                        "discover.terms", "terms =", r"unknown function 'foo'"),
    "discover_terms_unknown_symbol": (_edit(HIDDEN, 'terms = "polynomial"', 'terms = ["x*z"]'), {}, "discover.terms",
                                      "terms =", r"unknown symbol 'z'"),
    "discover_degree_absurd": (_edit(HIDDEN, "degree = 2", "degree = 50"), {}, "discover.degree", "degree =",
                               r"expected a whole number >= 1 and <= 6, got a whole number \(50\)"),
    "discover_without_hidden_terms": (DECAY + "\n[discover]\ndegree = 2\n", {}, "discover", "[discover]",
                                      r"no hidden terms"),
}  # fmt: skip


def _write(folder: pathlib.Path, text: str, files: dict) -> pathlib.Path:
    """The problem file in ``folder/case/`` with the valid data files beside it, then ``files``
    (bytes or text) over them; a valid x.csv one folder up, so that a path escaping the folder is
    refused for where it points, not because nothing is there."""
    case = folder / "case"
    case.mkdir()
    (folder / "x.csv").write_text(OBS)
    for name, content in {"obs.csv": OBS, "lv.csv": LV, **files}.items():
        (case / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    path = case / "p.toml"
    path.write_text(text)
    return path


def _line(text: str, start: str) -> int:
    """The number of the first line of ``text`` that starts with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith(start))


def _check(path: pathlib.Path):
    _COMPILES.clear()
    result = CliRunner().invoke(main, ["check", str(path)])
    assert not _COMPILES, _COMPILES  # checking traces the equations, it never compiles
    return result


@pytest.mark.parametrize("text", [DECAY, HIDDEN], ids=["decay", "hidden"])
def test_the_valid_bases_pass_check(text, tmp_path):
    """Each bad case breaks one thing of a valid file: the error is that thing's."""
    result = _check(_write(tmp_path, text, {}))
    assert result.exit_code == 0 and ": ok" in result.output, result.output


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inverse_input_gets_one_line_with_file_line_key_and_cause(name, tmp_path):
    text, files, key, line, cause = BAD[name]
    path = _write(tmp_path, text, files)
    result = _check(path)
    assert result.exit_code == 2, result.output
    (message,) = result.output.strip().splitlines()
    # "error: FILE:LINE: key: cause", once: an error from a data file is not wrapped in another
    prefix = f"error: {path}" + (f":{_line(text, line)}" if line else "") + f": {key}: "
    assert message.startswith(prefix), message
    assert re.search(cause, message[len(prefix):]), message


def test_a_bad_file_is_not_solved(tmp_path):
    text, files, *_ = BAD["column_neither_coordinate_nor_field"]
    path = _write(tmp_path, text, files)
    result = CliRunner().invoke(main, ["solve", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "out").exists()


def test_a_real_process_exits_with_status_2(tmp_path):
    path = _write(tmp_path, _edit(DECAY, "obs.csv", "nope.csv"), {})
    proc = subprocess.run([sys.executable, "-m", "neuralsolve.cli.main", "check", str(path)], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"error: {path}:{_line(DECAY, 'file =')}: data.file: nope.csv: no such file"


# --- accepted: what looks odd but is data ---------------------------------------------------------


def test_an_empty_cell_means_not_measured(tmp_path):
    path = _write(tmp_path, HIDDEN, {"lv.csv": "t,x,y\n0,0.44,4.63\n1,,0.87\n2,0.52,\n3,1.60,0.06\n"})
    assert _check(path).exit_code == 0
    values = ns.load(path).inverse.data[0].values
    np.testing.assert_array_equal(np.isnan(values), [[False, False], [True, False], [False, True], [False, False]])
    assert values[3].tolist() == [1.60, 0.06]


def test_a_field_may_be_left_out_of_the_data(tmp_path):
    path = _write(tmp_path, HIDDEN, {"lv.csv": "t,x\n0,0.44\n1,0.20\n2,0.52\n"})
    assert _check(path).exit_code == 0
    assert np.isnan(ns.load(path).inverse.data[0].values[:, 1]).all()


def test_an_npz_file_of_columns_is_read(tmp_path):
    t = np.linspace(0, 2, 5)
    path = _write(tmp_path, _edit(DECAY, "obs.csv", "obs.npz"), {"obs.npz": _npz_bytes(t=t, u=np.exp(-t))})
    assert _check(path).exit_code == 0
    data = ns.load(path).inverse.data[0]
    np.testing.assert_array_equal(data.points[:, 0], t)
    np.testing.assert_array_equal(data.values[:, 0], np.exp(-t))


# --- the Python API -------------------------------------------------------------------------------

T = ns.Interval(0, 2, coord="t")
TIMES = np.linspace(0, 2, 5)
DATA = ns.Data({"t": TIMES, "u": np.exp(-TIMES)})


def _problem(equations="diff(u, t) = -k*u", **kwargs):
    args = {"unknowns": {"k": ns.Unknown(1.0, positive=True)}, "data": DATA, **kwargs}
    return ns.Problem(T, "u", equations, [ns.Initial("u", 1.0)], **args)


def _hidden_problem(discover, equations="diff(u, t) = F - u", inputs=("u",), domain=T):
    return ns.Problem(domain, "u", equations, hidden={"F": ns.Hidden(list(inputs))}, discover=discover,
                      data=ns.Data({**{c: [0.5] for c in domain.coords}, "u": [1.0]}))  # fmt: skip


API_BAD = {
    "column_neither_coordinate_nor_field": (lambda: _problem(data=ns.Data({"t": TIMES, "u": TIMES, "v": TIMES})),
                                            r"data 1: column 'v' is neither a coordinate nor a field"),
    "coordinate_nan": (lambda: _problem(data=ns.Data({"t": [0, np.nan], "u": [1, 1]})),
                       r"data 1: row 2: coordinate 't' is nan"),
    "field_infinite": (lambda: _problem(data=ns.Data({"t": [0, 1], "u": [1, -np.inf]})),
                       r"data 1: row 2: field 'u' is -inf"),
    "outside_domain": (lambda: _problem(data=ns.Data({"t": [0, 3], "u": [1, 1]})),
                       r"data 1: row 2: the point \[3\.0\] lies outside the domain"),
    "unknown_in_no_equation": (lambda: _problem(unknowns={"k": 1.0, "m": 2.0}), r"unknown 'm' is used by no equation"),
    "unknown_also_a_parameter": (lambda: _problem(parameters={"k": 1.0}),
                                 r"'k' is used twice \(as parameter and as unknown\)"),
    "unknown_also_a_hidden_term": (lambda: _problem("diff(u, t) = -k*u + k", hidden={"k": ns.Hidden(["u"])}),
                                   r"'k' is used twice \(as unknown and as hidden term\)"),
    "unknowns_without_data": (lambda: _problem(data=None), r"unknowns \(k\) need data"),
    "positive_unknown_starting_negative": (lambda: ns.Unknown(initial=-1.0, positive=True),
                                           r"a positive unknown needs a positive initial value, got -1"),
    "exact_names_no_unknown": (lambda: _problem(exact={"q": "1.5"}), r"exact solution given for unknown field\(s\) \['q'\]"),
    "hidden_input_missing": (lambda: _hidden_problem(None, inputs=("u", "z")),
                             r"hidden term 'F': input 'z' is neither a field nor a coordinate"),
    "discover_without_hidden_terms": (lambda: _problem(discover=ns.Discover()), r"no hidden terms"),
    "discover_degree_absurd": (lambda: ns.Discover(degree=50), r"discover: degree must be a whole number from 1 to 6"),
    "discover_terms_empty": (lambda: ns.Discover(terms=[]), r"discover: terms must be .* non-empty list"),
    "discover_terms_not_strings": (lambda: ns.Discover(terms=[1]), r"discover: terms must be .* list of expressions"),
    "discover_terms_unknown_function": (lambda: _hidden_problem(ns.Discover(terms=["u", "foo(u)"])),
                                        r"discover: .*unknown function 'foo'"),
    # 4 inputs of degree 6: 210 monomials, over the limit of 200, refused before training, not after
    "discover_library_too_large": (lambda: _hidden_problem(ns.Discover(degree=6), "diff(u, x) = F - u",
                                                           ("u", "x", "y", "z"), ns.Box([(0, 1)] * 3)),
                                   r"discover: .*210 terms; the limit is 200"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(API_BAD))
def test_bad_inverse_input_through_the_api_raises_problem_error(name):
    build, match = API_BAD[name]
    _COMPILES.clear()
    with pytest.raises(ns.ProblemError, match=match):
        build()
    assert not _COMPILES


def test_an_unmeasured_value_is_nan_in_the_api():
    problem = _problem(data=ns.Data({"t": [0, 1, 2], "u": [1.0, np.nan, 0.2]}))
    np.testing.assert_array_equal(np.isnan(problem.inverse.data[0].values[:, 0]), [False, True, False])


@pytest.mark.parametrize("equation", ["diff(u, t) = F", "F = diff(u, t)"])
def test_a_hidden_term_alone_on_one_side_is_a_quantity(equation):
    """``F`` is a symbol, which SymPy also counts as a Boolean: it must not be taken for a condition."""
    (residual,) = [e.expr for e in _hidden_problem(None, equation).equations]
    assert "F" in {str(s) for s in residual.free_symbols}
