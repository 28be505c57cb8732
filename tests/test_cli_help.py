"""What the command line tells a new user: the examples list, copying an example out without
losing an edited file, what ``check`` says about the reference, and the documented defaults."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

import neuralsolve as ns
from neuralsolve.cli.examples import _first_comment, _wrap
from neuralsolve.cli.main import main

ROOT = pathlib.Path(__file__).parents[1]
BUNDLED = ROOT / "src/neuralsolve/examples"
DOCS = ROOT / "docs/problem-files.md"


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# --- neuralsolve examples NAME: copying out -------------------------------------------------------


def test_examples_refuses_to_overwrite_an_edited_file(tmp_path):
    mine = tmp_path / "heat.toml"
    mine.write_text("# my own heat problem, edited\n")
    result = _invoke("examples", "heat", "--to", tmp_path)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and str(mine) in line and "--force" in line and "lose" in line
    assert mine.read_text() == "# my own heat problem, edited\n"


def test_examples_force_replaces_the_file(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text("edited\n")
    result = _invoke("examples", "heat", "--to", mine, "--force")
    assert result.exit_code == 0, result.output
    assert mine.read_text() == (BUNDLED / "heat.toml").read_text()


def test_examples_leaves_an_identical_copy_alone(tmp_path):
    assert _invoke("examples", "heat", "--to", tmp_path).exit_code == 0
    again = _invoke("examples", "heat.toml", "--to", tmp_path)
    assert again.exit_code == 0 and "already" in again.output
    assert (tmp_path / "heat.toml").read_text() == (BUNDLED / "heat.toml").read_text()


def test_examples_that_cannot_write_say_so_in_one_line(tmp_path):
    result = _invoke("examples", "heat", "--to", tmp_path / "no" / "such.toml")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "does not exist" in result.output
    (tmp_path / "heat.toml").mkdir()  # a folder where the file would go: even --force cannot write it
    result = _invoke("examples", "heat", "--to", tmp_path, "--force")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "cannot write" in result.output


# --- neuralsolve examples: the list ---------------------------------------------------------------


def test_first_comment_is_a_whole_first_sentence():
    text = "# Burgers: u_t = (0.01/pi) u_xx on x in [-1, 1],\n# u(x, 0) = -sin(pi x). A shock forms.\nname = 'b'\n"
    assert _first_comment(text) == "Burgers: u_t = (0.01/pi) u_xx on x in [-1, 1], u(x, 0) = -sin(pi x)."
    assert _first_comment("# no full stop here\n# and more\nname = 'x'\n# later: not the opening\n") == (
        "no full stop here and more")
    assert _first_comment("name = 'x'\n") == ""


def test_wrap_never_breaks_inside_brackets():
    lines = _wrap("heat: u(0, t) = u(1, t) = 0, u(x, 0) = sin(pi x) on [0, 1] with more words", 20)
    assert " ".join(lines) == "heat: u(0, t) = u(1, t) = 0, u(x, 0) = sin(pi x) on [0, 1] with more words"
    assert all(line.count("(") == line.count(")") and line.count("[") == line.count("]") for line in lines)
    assert all(len(line) <= 20 for line in lines)


def test_examples_list_shows_each_first_sentence_whole():
    result = _invoke("examples")
    assert result.exit_code == 0
    entries = re.split(r"\n(?=\S)", result.output.strip())  # an entry's continuation lines are indented
    listed = {e.split()[0]: " ".join(e.split()[1:]) for e in entries}
    assert set(listed) == {p.stem for p in BUNDLED.glob("*.toml")}
    for stem, description in listed.items():
        assert description == _first_comment((BUNDLED / f"{stem}.toml").read_text()), stem
    assert listed["heat"].endswith("u(x, 0) = sin(pi x).")  # the first line alone ended at "u(x, 0) ="
    assert all(len(line) <= 100 for line in result.output.splitlines())


# --- neuralsolve check: which reference ----------------------------------------------------------


@pytest.mark.parametrize("name, says", [
    ("heat", "reference: the exact solution"),
    ("ode_system", "SciPy's solve_ivp"),
    ("allen_cahn", "the spectral method of lines"),
    ("finite_well", "spectral elements"),
    ("bondi", "Newton's method on the conserved quantities"),
    ("lotka_volterra", "the discovered formulas in place of the hidden terms, solved by SciPy's solve_ivp"),
    ("van_der_pol", "the error on 1 held-out trajectory (holdout 0.2), which training does not see"),
])  # fmt: skip
def test_check_says_which_reference_the_solve_will_use(name, says):
    result = _invoke("check", BUNDLED / f"{name}.toml")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("reference: ") and says in result.output.splitlines()[-1]


def test_check_names_an_unknowns_start_and_true_value():
    result = _invoke("check", BUNDLED / "decay_rate.toml")
    assert result.exit_code == 0, result.output
    assert "learns: k (start 1, positive, true value 1.5), from 1 data set(s) of 20 row(s)" in result.output


def test_check_says_when_the_start_value_is_rounded_off_at_a_periodic_wrap():
    result = _invoke("check", BUNDLED / "allen_cahn_periodic.toml")
    assert result.exit_code == 0, result.output
    assert "start value of u: its jump in slope 4 at the periodic wrap is rounded off as diffusion 0.0001 would" in result.output
    assert "marches: 20 time windows; the 19 after the first share one problem" in result.output


def test_check_says_when_the_reference_is_turned_off(tmp_path):
    text = (BUNDLED / "bondi.toml").read_text().replace("[solver]", '[reference]\nsolver = "none"\n\n[solver]')
    (tmp_path / "bondi.toml").write_text(text)
    result = _invoke("check", tmp_path / "bondi.toml")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == 'reference: none ([reference] solver = "none"): only the equation residual is reported'


def test_check_says_when_no_reference_applies(tmp_path):
    text = (BUNDLED / "poisson_2d.toml").read_text()
    path = tmp_path / "p.toml"
    path.write_text(text[: text.index("[exact]")])  # a 2-D problem without its exact solution
    result = _invoke("check", path)
    assert result.exit_code == 0, result.output
    assert "reference: a classical solution by finite elements" in result.output
    path.write_text(text[: text.index("[exact]")].replace('y = [0, 1]', 'y = [0, 1]\nz = [0, 1]').replace(
        "- diff(u, y, 2)", "- diff(u, y, 2) - diff(u, z, 2)"))  # three space dimensions: no method
    result = _invoke("check", path)
    assert result.exit_code == 0, result.output
    assert "reference: none: no classical method fits" in result.output


def test_check_computes_no_reference():
    code = ("import sys; from neuralsolve.cli.main import main\n"
            "try: main(['check', sys.argv[1]])\nexcept SystemExit: pass\n"
            "print([m for m in ('scipy.integrate', 'scipy.linalg', 'scipy.sparse') if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, str(BUNDLED / "allen_cahn.toml")], capture_output=True,
                         text=True, check=True, timeout=120)  # fmt: skip
    assert "method of lines" in out.stdout and out.stdout.strip().endswith("[]")


# --- docs/problem-files.md: the documented defaults are the code's -------------------------------


def _defaults_section() -> str:
    text = DOCS.read_text()
    start = text.index("### Defaults")
    return text[start : text.index("\n## ", start)]


def _toml_blocks(section: str) -> list[dict]:
    return [tomllib.loads(block) for block in re.findall(r"```toml\n(.*?)```", section, re.S)]


def _problem(dim: int):
    coords = ["x", "y", "z", "w"][:dim]
    domain = ns.Interval(0, 1) if dim == 1 else ns.Box([(0, 1)] * dim)
    return ns.Problem(domain, "u", " + ".join(f"diff(u, {c}, 2)" for c in coords) + " = 1", [ns.Dirichlet("u", 0.0)])


def test_documented_solver_defaults_are_the_defaults():
    from neuralsolve.pinn.settings import resolve_settings
    from neuralsolve.spec.load import solver_settings

    documented = solver_settings(_toml_blocks(_defaults_section())[0]["solver"], "docs/problem-files.md")
    problem = _problem(1)
    assert resolve_settings(problem, documented) == resolve_settings(problem, {})
    # in two or more dimensions the L-BFGS phase stops on a shorter plateau (issue 21 item 8)
    raw = _toml_blocks(_defaults_section())[0]["solver"]
    (line,) = re.findall(r"it is `(\{method = \"lbfgs\".*?\})`", _defaults_section().replace("\n", " "))
    documented = solver_settings({**raw, "phases": [raw["phases"][0], tomllib.loads(f"p = {line}")["p"]]}, "docs")
    for dim in (2, 3):
        assert resolve_settings(_problem(dim), documented) == resolve_settings(_problem(dim), {})


def test_documented_point_counts_are_the_defaults():
    rows = re.findall(r"^\| (\d+)(?: or more)? \| (\d+) \| (\d+) \|$", _defaults_section(), re.M)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    for dim, interior, boundary in rows:
        for d in (int(dim), 5) if dim == "3" else (int(dim),):
            assert ns.Points().counts(d) == (int(interior), int(boundary)), d


def test_documented_option_defaults_are_the_defaults():
    from neuralsolve.problem.eigen import Eigen
    from neuralsolve.sampling.adaptive import RAD, RAR
    from neuralsolve.train.phases import BFGS, LBFGS, SSBFGS, Adam, LevenbergMarquardt, SSBroyden
    from neuralsolve.train.weighting import Adaptive, Annealing, Causal, GradNorm

    classes = {"adam": [Adam], "lbfgs": [LBFGS], "bfgs": [BFGS, SSBFGS, SSBroyden], "lm": [LevenbergMarquardt], "adaptive": [Adaptive],
               "gradnorm": [GradNorm], "annealing": [Annealing], "causal": [Causal], "rar": [RAR], "rad": [RAD],
               "fourier": [ns.FourierFeatures], "gaussian": [ns.GaussianFeatures], "eigen": [Eigen]}  # fmt: skip
    documented = _toml_blocks(_defaults_section())[1]
    assert set(documented) == set(classes)
    for name, options in documented.items():
        for cls in classes[name]:
            default = cls()
            actual = {f.name: getattr(default, f.name) for f in dataclasses.fields(cls)
                      if getattr(default, f.name) is not None}  # fmt: skip
            assert options == actual, cls.__name__


def test_the_planned_method_is_the_one_the_solve_uses(tmp_path):
    from neuralsolve.methods.eigen.metrics import classical_eigen
    from neuralsolve.reference.plan import BVP, FEM, IVP, MOL, SPECTRAL, classical_method, eigen_method

    planned = {n: classical_method(ns.load(BUNDLED / f"{n}.toml")) for n in ("ode_system", "poisson_1d", "heat")}
    assert planned == {"ode_system": IVP, "poisson_1d": BVP, "heat": MOL}
    assert classical_method(_problem(2)) == FEM  # finite elements in two space dimensions
    assert classical_method(_problem(3)) is None  # no classical method in three
    well = ns.load(BUNDLED / "infinite_well.toml")
    assert eigen_method(well) == SPECTRAL and classical_eigen(well, 1) is not None
    text = (BUNDLED / "infinite_well.toml").read_text()
    walls = 'on = "x = 0"\nset = "psi = 0"\n\n[[conditions]]\non = "x = 1"\nset = "diff(psi, x) = 0"'
    (tmp_path / "neumann.toml").write_text(text.replace('on = "boundary"\nset = "psi = 0"', walls))
    neumann = ns.load(tmp_path / "neumann.toml")  # a Neumann wall: a penalty term, which the eigensolver does not take
    assert eigen_method(neumann) is None and classical_eigen(neumann, 1) is None
