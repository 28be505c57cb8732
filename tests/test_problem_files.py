"""Problem files: bundled examples load; every malformed file gets one line and exit status 2."""

import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import POISSON_1D

import neuralsolve as ns
from neuralsolve.cli.main import main

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.toml"))

GOOD = POISSON_1D + '\n[exact]\nu = "sin(pi*x)"\n'  # a complete valid file; the tests break one piece of it


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


MALFORMED = {
    "toml_syntax": (_replace('name = "Poisson 1D"', 'name = "Poisson 1D'), r":1: invalid TOML"),
    "missing_fields": (_replace('fields = ["u"]\n', ""), r": fields: missing; expected a list of strings"),
    "missing_equations": (_replace('equations = ["-diff(u, x, 2) = pi**2*sin(pi*x)"]\n', ""), r": equations: missing"),
    "missing_domain": (_replace("[domain]\nx = [-1, 1]\n", ""), r": domain: missing; expected a table of coordinate bounds"),
    "unknown_top_key": (_replace('name = "Poisson 1D"', 'name = "P"\nequation = "u = 0"'), r":2: equation: unknown key"),
    "fields_wrong_type": (_replace('fields = ["u"]', "fields = 3"), r":2: fields: expected a non-empty list of strings"),
    "equations_empty": (_replace('equations = ["-diff(u, x, 2) = pi**2*sin(pi*x)"]', "equations = []"), r":3: equations: expected a non-empty list"),
    "field_named_twice": (_replace('fields = ["u"]', 'fields = ["u", "u"]'), r": problem: field 'u' is named twice"),
    "unknown_symbol": (_replace("pi**2*sin(pi*x)\"]", 'k**2*sin(pi*x)"]'), r":3: equations\[0\]: unknown symbol 'k'"),
    "not_an_equation": (_replace("-diff(u, x, 2) = pi**2*sin(pi*x)", "-diff(u, x, 2) + 1"), r"equations\[0\]: .* is not an equation"),
    "unbalanced_parentheses": (_replace("sin(pi*x)\"]", 'sin(pi*x"]'), r"equations\[0\]: unbalanced parentheses"),
    "unknown_function": (_replace("sin(pi*x)\"]", 'sine(pi*x)"]'), r"equations\[0\]: unknown function 'sine'"),
    "python_not_math": (_replace("pi**2*sin(pi*x)", "__import__('os').getcwd()"), r"equations\[0\]: .*(unknown symbol|not allowed|not a call)"),
    "derivative_in_missing_coordinate": (_replace("diff(u, x, 2)", "diff(u, y, 2)"), r"equations\[0\]: derivative with respect to 'y'"),
    "reversed_bounds": (_replace("x = [-1, 1]", "x = [1, -1]"), r":6: domain.x: bounds must increase, got \[1, -1\]"),
    "bound_not_a_number": (_replace("x = [-1, 1]", 'x = ["a", 1]'), r":6: domain.x: expected a number, got a string"),
    "bound_wrong_length": (_replace("x = [-1, 1]", "x = [0]"), r":6: domain.x: expected \[lower, upper\]"),
    "empty_domain": (_replace("x = [-1, 1]\n", ""), r"domain: expected at least one coordinate"),
    "condition_inside_domain": (_replace('on = "boundary"', 'on = "x = 0.5"'), r":8: conditions\[0\]: condition on 'x = 0.5' is inside the domain, not on its boundary"),
    "condition_outside_domain": (_replace('on = "boundary"', 'on = "x = 2"'), r"conditions\[0\]: .*'x = 2' is outside the domain"),
    "condition_unknown_coordinate": (_replace('on = "boundary"', 'on = "z = 0"'), r"conditions\[0\]: .*the domain has no coordinate 'z'"),
    "condition_unknown_key": (_replace('set = "u = 0"', 'set = "u = 0"\nvalue = 1'), r":11: conditions\[0\].value: unknown key"),
    "condition_missing_set": (_replace('set = "u = 0"\n', ""), r"conditions\[0\].set: missing; expected a string"),
    "condition_unknown_field": (_replace('set = "u = 0"', 'set = "v = 0"'), r"conditions\[0\]: unknown symbol 'v'"),
    "condition_not_an_equation": (_replace('set = "u = 0"', 'set = "u"'), r"conditions\[0\]: 'u' is not an equation"),
    "condition_weight_type": (_replace('set = "u = 0"', 'set = "u = 0"\nweight = "high"'), r"conditions\[0\].weight: expected a number"),
    "periodic_unknown_coordinate": (_replace('on = "boundary"\nset = "u = 0"', 'periodic = "y"'), r"conditions\[0\]: periodic in 'y', which is not an interval coordinate"),
    "parameter_not_a_number": (GOOD + '\n[parameters]\nk = "small"\n', r":16: parameters.k: expected a number, got a string"),
    "function_not_a_string": (GOOD + "\n[functions]\nV = 3\n", r":16: functions.V: expected an expression string"),
    "exact_unknown_field": (_replace('u = "sin(pi*x)"', 'w = "sin(pi*x)"'), r"exact solution given for unknown field\(s\) \['w'\]"),
    "reference_unknown_solver": (GOOD + '\n[reference]\nsolver = "magic"\n', r":16: reference.solver: expected 'auto' or 'none'"),
    "precision_nonsense": (GOOD + '\n[solver]\nprecision = "float16"\n', r":16: solver.precision: expected 'float32' or 'float64'"),
    "seed_negative": (GOOD + "\n[solver]\nseed = -1\n", r":16: solver.seed: expected a whole number >= 0"),
    "solver_unknown_key": (GOOD + "\n[solver]\nepochs = 10\n", r"solver.epochs: unknown key"),
    "phase_unknown_method": (GOOD + '\n[solver]\nphases = [{method = "sgd", steps = 10}]\n', r"solver.phases\[0\].method: expected one of adam, lbfgs, bfgs, ssbfgs, ssbroyden, got 'sgd'"),
    "phase_negative_steps": (GOOD + '\n[solver]\nphases = [{method = "adam", steps = -10}]\n', r"solver.phases\[0\]: Adam steps must be a non-negative integer"),
    "phase_unknown_setting": (GOOD + '\n[solver]\nphases = [{method = "lbfgs", lr = 1}]\n', r"solver.phases\[0\]: unknown setting for lbfgs"),
    "network_activation": (GOOD + '\n[solver]\nnetwork = {activation = "relu6"}\n', r"solver: unknown activation 'relu6'"),
    "points_negative": (GOOD + "\n[solver]\npoints = {interior = -5}\n", r"solver: point counts must be positive"),
    "redraw_zero": (GOOD + "\n[solver]\nredraw = 0\n", r":16: solver.redraw: expected a whole number >= 1"),
    "weighting_unknown": (GOOD + '\n[solver]\nweighting = "magic"\n', r"solver.weighting.method: expected 'fixed' or 'adaptive'"),
    "weighting_bad_eta": (GOOD + '\n[solver]\nweighting = {method = "adaptive", eta = -1}\n', r"solver.weighting: adaptive weighting eta must be a positive number"),
    "weighting_unknown_key": (GOOD + '\n[solver]\nweighting = {method = "adaptive", rate = 1}\n', r"solver.weighting.rate: unknown key"),
    "scale_negative": (GOOD + "\n[scale]\nu = -1\n", r"scale: the scale of 'u' must be a positive number"),
    "scale_unknown_field": (GOOD + "\n[scale]\nw = 1\n", r"scale: unknown field 'w'"),
    "scale_not_positive": (GOOD + '\n[scale]\nu = "x"\n', r"scale: the scale of 'u' must be positive and finite over the domain"),
    "scale_wrong_type": (GOOD + "\n[scale]\nu = [1, 2]\n", r"scale.u: expected a positive number or an expression of the coordinates, got a list"),
    "sign_nonsense": (GOOD + '\n[sign]\nu = "up"\n', r":16: sign.u: expected 'positive' or 'negative'"),
    "eigen_unknown_key": (GOOD + '\n[eigen]\nlevels = 2\n', r":16: eigen.levels: unknown key"),
    "eigen_states_zero": (GOOD + "\n[eigen]\nstates = 0\n", r"eigen.states: expected a whole number >= 1"),
    "eigen_nonlinear": (_replace("= pi**2*sin(pi*x)", "= E*u**2") + "\n[eigen]\nstates = 1\n", r"equations\[0\]: an eigenvalue equation must be linear in u"),
    "eigen_no_eigenvalue": (GOOD + "\n[eigen]\nstates = 1\n", r"equations\[0\]: an eigenvalue equation must be homogeneous in u"),
    "eigen_symbol_missing": (_replace("= pi**2*sin(pi*x)", "= 0") + "\n[eigen]\nstates = 1\n", r"equations\[0\]: the equation does not contain the eigenvalue E"),
}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_bundled_examples_load_and_check(example):
    problem = ns.load(example)
    assert problem.fields and problem.equations
    result = CliRunner().invoke(main, ["check", str(example)])
    assert result.exit_code == 0 and ": ok" in result.output


def test_there_are_at_least_eight_examples_and_25_malformed_files():
    assert len(EXAMPLES) >= 8 and len(MALFORMED) >= 25


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_gets_one_line_and_exit_status_2(name, tmp_path):
    text, pattern = MALFORMED[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    for command in ("check", "solve"):
        result = CliRunner().invoke(main, [command, str(path), "--out", str(tmp_path / "out")][: 2 if command == "check" else 4])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), result.output
        assert __import__("re").search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()  # nothing was solved or written


def test_missing_file_and_real_process_exit_status(tmp_path):
    missing = tmp_path / "nope.toml"
    proc = subprocess.run([sys.executable, "-m", "neuralsolve.cli.main", "check", str(missing)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {missing}: cannot read the file (No such file or directory)"
    assert "Traceback" not in proc.stderr


def test_version_is_fast():
    proc = subprocess.run([sys.executable, "-c", "import time,sys; t=time.time(); sys.argv=['neuralsolve','--version'];"
                           "from neuralsolve.cli.main import main\ntry: main()\nexcept SystemExit: pass\nprint(time.time()-t)"],
                          capture_output=True, text=True)  # fmt: skip
    version, elapsed = proc.stdout.strip().splitlines()
    assert version.startswith("neuralsolve, version ")
    assert float(elapsed) < 1.0
    assert "jax" not in subprocess.run([sys.executable, "-c", "import neuralsolve.cli.main, sys; print(sorted(sys.modules))"],
                                       capture_output=True, text=True).stdout  # fmt: skip


def test_solve_writes_metrics_solution_plots_and_report(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD + '\n[solver]\nphases = [{method = "adam", steps = 300}, {method = "lbfgs", steps = 300}]\n')
    result = CliRunner().invoke(main, ["solve", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    metrics = __import__("json").loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("problem", "fields", "l2_relative_error", "max_abs_error", "residual_rms", "reference", "steps",
                "wall_time_s", "precision", "seed"):  # fmt: skip
        assert key in metrics
    assert metrics["reference"] == "exact" and metrics["l2_relative_error"]["u"] < 1e-4 and metrics["steps"] == 600
    data = __import__("numpy").load(tmp_path / "run" / "solution.npz")
    assert data["values"].shape == data["reference"].shape == (401, 1)
    for name in ("solution_u.png", "loss_history.png", "report.html"):
        assert (tmp_path / "run" / name).stat().st_size > 1000
    assert "data:image/png;base64," in (tmp_path / "run" / "report.html").read_text()
