"""Problem files: bundled examples load; every malformed file gets one line and exit status 2."""

import math
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import POISSON_1D

import neuralsolve as ns
from neuralsolve.cli.main import main

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "src/neuralsolve/examples").glob("*.toml"))

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
    "unknown_symbol": (_replace("pi**2*sin(pi*x)\"]", 'k**2*sin(pi*x)"]'), r":3: equations\[1\]: unknown symbol 'k'"),
    "not_an_equation": (_replace("-diff(u, x, 2) = pi**2*sin(pi*x)", "-diff(u, x, 2) + 1"), r"equations\[1\]: .* is not an equation"),
    "unbalanced_parentheses": (_replace("sin(pi*x)\"]", 'sin(pi*x"]'), r"equations\[1\]: unbalanced parentheses"),
    "unknown_function": (_replace("sin(pi*x)\"]", 'sine(pi*x)"]'), r"equations\[1\]: unknown function 'sine'"),
    "python_not_math": (_replace("pi**2*sin(pi*x)", "__import__('os').getcwd()"), r"equations\[1\]: .*(unknown symbol|not allowed|not a call)"),
    "derivative_in_missing_coordinate": (_replace("diff(u, x, 2)", "diff(u, y, 2)"), r"equations\[1\]: derivative with respect to 'y'"),
    "reversed_bounds": (_replace("x = [-1, 1]", "x = [1, -1]"), r":6: domain.x: bounds must increase, got \[1, -1\]"),
    "bound_not_a_number": (_replace("x = [-1, 1]", 'x = ["a", 1]'), r":6: domain.x: unknown symbol 'a' \(only numbers and constants such as pi may be used here\) in 'a'"),
    "bound_wrong_length": (_replace("x = [-1, 1]", "x = [0]"), r":6: domain.x: expected \[lower, upper\]"),
    "empty_domain": (_replace("x = [-1, 1]\n", ""), r"domain: expected at least one coordinate"),
    "condition_inside_domain": (_replace('on = "boundary"', 'on = "x = 0.5"'), r":8: conditions\[1\]: condition on 'x = 0.5' is inside the domain, not on its boundary"),
    "condition_outside_domain": (_replace('on = "boundary"', 'on = "x = 2"'), r"conditions\[1\]: .*'x = 2' is outside the domain"),
    "condition_unknown_coordinate": (_replace('on = "boundary"', 'on = "z = 0"'), r"conditions\[1\]: .*the domain has no coordinate 'z'"),
    "condition_unknown_key": (_replace('set = "u = 0"', 'set = "u = 0"\nvalue = 1'), r":11: conditions\[1\].value: unknown key"),
    "condition_missing_set": (_replace('set = "u = 0"\n', ""), r"conditions\[1\].set: missing; expected a string"),
    "condition_unknown_field": (_replace('set = "u = 0"', 'set = "v = 0"'), r"conditions\[1\]: unknown symbol 'v'"),
    "condition_not_an_equation": (_replace('set = "u = 0"', 'set = "u"'), r"conditions\[1\]: 'u' is not an equation"),
    "condition_weight_type": (_replace('set = "u = 0"', 'set = "u = 0"\nweight = "high"'), r":11: conditions\[1\].weight: expected a finite number >= 0, got a string \('high'\)"),
    "periodic_unknown_coordinate": (_replace('on = "boundary"\nset = "u = 0"', 'periodic = "y"'), r"conditions\[1\]: periodic in 'y', which is not an interval coordinate"),
    "parameter_not_a_number": (GOOD + '\n[parameters]\nk = "small"\n', r":16: parameters.k: expected a finite number, got a string \('small'\)"),
    "function_not_a_string": (GOOD + "\n[functions]\nV = 3\n", r":16: functions.V: expected an expression string"),
    "exact_unknown_field": (_replace('u = "sin(pi*x)"', 'w = "sin(pi*x)"'), r":13: exact.w: unknown field 'w'; expected one of u"),
    "reference_unknown_solver": (GOOD + '\n[reference]\nsolver = "magic"\n', r":16: reference.solver: expected one of 'auto', 'none', got a string \('magic'\)"),
    "precision_nonsense": (GOOD + '\n[solver]\nprecision = "float16"\n', r":16: solver.precision: expected one of 'float32', 'float64', got a string \('float16'\)"),
    "seed_negative": (GOOD + "\n[solver]\nseed = -1\n", r":16: solver.seed: expected a whole number >= 0"),
    "solver_unknown_key": (GOOD + "\n[solver]\nepochs = 10\n", r"solver.epochs: unknown key"),
    "phase_unknown_method": (GOOD + '\n[solver]\nphases = [{method = "sgd", steps = 10}]\n', r":16: solver.phases\[1\].method: expected one of adam, rmsprop, adabelief, lbfgs, bfgs, ssbfgs, ssbroyden, lm, got a string \('sgd'\)"),
    "phase_negative_steps": (GOOD + '\n[solver]\nphases = [{method = "adam", steps = -10}]\n', r":16: solver.phases\[1\].steps: expected a whole number >= 0, got a whole number \(-10\)"),
    "phase_unknown_setting": (GOOD + '\n[solver]\nphases = [{method = "lbfgs", lr = 1}]\n', r":16: solver.phases\[1\].lr: unknown key for lbfgs; expected one of method, steps, memory, gtol, patience"),
    "network_activation": (GOOD + '\n[solver]\nnetwork = {activation = "relu6"}\n', r":16: solver.network.activation: expected one of 'tanh', 'sin', 'gelu', 'softplus', got a string \('relu6'\)"),
    "points_negative": (GOOD + "\n[solver]\npoints = {interior = -5}\n", r":16: solver.points.interior: expected a whole number >= 1 and <= 100000000, got a whole number \(-5\)"),
    "redraw_zero": (GOOD + "\n[solver]\nredraw = 0\n", r":16: solver.redraw: expected a whole number >= 1"),
    "weighting_unknown": (GOOD + '\n[solver]\nweighting = "magic"\n', r"solver.weighting.method: expected 'fixed' or 'adaptive'"),
    "weighting_bad_eta": (GOOD + '\n[solver]\nweighting = {method = "adaptive", eta = -1}\n', r":16: solver.weighting.eta: expected a finite number > 0, got a whole number \(-1\)"),
    "weighting_unknown_key": (GOOD + '\n[solver]\nweighting = {method = "adaptive", rate = 1}\n', r"solver.weighting.rate: unknown key"),
    "scale_negative": (GOOD + "\n[scale]\nu = -1\n", r":16: scale.u: expected a positive number or an expression of the coordinates, got a whole number \(-1\)"),
    "scale_unknown_field": (GOOD + "\n[scale]\nw = 1\n", r"scale: unknown field 'w'"),
    "scale_not_positive": (GOOD + '\n[scale]\nu = "x"\n', r"scale: the scale of 'u' must be positive and finite over the domain"),
    "scale_wrong_type": (GOOD + "\n[scale]\nu = [1, 2]\n", r"scale.u: expected a positive number or an expression of the coordinates, got a list"),
    "sign_nonsense": (GOOD + '\n[sign]\nu = "up"\n', r":16: sign.u: expected one of 'positive', 'negative', got a string \('up'\)"),
    "eigen_unknown_key": (GOOD + '\n[eigen]\nlevels = 2\n', r":16: eigen.levels: unknown key"),
    "eigen_states_zero": (GOOD + "\n[eigen]\nstates = 0\n", r"eigen.states: expected a whole number >= 1"),
    "eigen_nonlinear": (_replace("= pi**2*sin(pi*x)", "= E*u**2") + "\n[eigen]\nstates = 1\n", r"equations\[1\]: an eigenvalue equation must be linear in u"),
    "eigen_no_eigenvalue": (GOOD + "\n[eigen]\nstates = 1\n", r"equations\[1\]: an eigenvalue equation must be homogeneous in u"),
    "eigen_symbol_missing": (_replace("= pi**2*sin(pi*x)", "= 0") + "\n[eigen]\nstates = 1\n", r"equations\[1\]: the equation does not contain the eigenvalue E"),
}

S = GOOD + "\n[solver]\n"  # a [solver] table at line 15; its first key is on line 16
# Every [solver] value (and every other table's) is checked by `check`, with its key and line (issue 21).
MALFORMED.update({
    "network_width_fraction": (S + "network = {width = 16.5}\n", r":16: solver.network.width: expected a whole number >= 1, got a number \(16.5\)"),
    "network_width_string": (S + 'network = {width = "16"}\n', r":16: solver.network.width: expected a whole number >= 1, got a string \('16'\)"),
    "network_depth_string": (S + 'network = {depth = "2"}\n', r":16: solver.network.depth: expected a whole number >= 1, got a string"),
    "network_width_boolean": (S + "network = {width = true}\n", r":16: solver.network.width: expected a whole number >= 1, got a boolean"),
    "network_depth_zero": (S + "network = {depth = 0}\n", r":16: solver.network.depth: expected a whole number >= 1, got a whole number \(0\)"),
    "network_relu": (S + 'network = {activation = "relu"}\n', r":16: solver.network.activation: expected one of 'tanh', 'sin', 'gelu'"),
    "network_unknown_key": (S + "network = {layers = 3}\n", r":16: solver.network.layers: unknown key; expected one of width, depth, activation, features"),
    "network_not_a_table": (S + "network = 32\n", r":16: solver.network: expected a table such as \{width = 32, depth = 3\}"),
    "network_too_many_parameters": (S + "network = {width = 100000, depth = 20}\n", r":16: solver.network: a network of width 100000 and depth 20 has about 1.9e\+11 parameters; the limit is 1e\+08"),
    "points_interior_string": (S + 'points = {interior = "100"}\n', r":16: solver.points.interior: expected a whole number >= 1 and <= 100000000, got a string \('100'\)"),
    "points_too_many": (S + "points = {interior = 1000000000}\n", r":16: solver.points.interior: expected a whole number >= 1 and <= 100000000"),
    "points_times_width_too_large": (S + "network = {width = 2000}\npoints = {interior = 10000000}\n", r":17: solver.points: 10000000 points x width 2000 = 2e\+10 values per hidden layer; the limit is 1e\+10"),
    "points_sampler": (S + 'points = {sampler = "random"}\n', r":16: solver.points.sampler: expected one of 'uniform', 'sobol', 'halton'"),
    "phase_steps_fraction": (S + 'phases = [{method = "adam", steps = 1.5}]\n', r":16: solver.phases\[1\].steps: expected a whole number >= 0, got a number \(1.5\)"),
    "phase_learning_rate_string": (S + 'phases = [{method = "adam", learning_rate = "1e-3"}]\n', r":16: solver.phases\[1\].learning_rate: expected a finite number > 0, got a string"),
    "phase_learning_rate_nan": (S + 'phases = [{method = "adam", learning_rate = nan}]\n', r":16: solver.phases\[1\].learning_rate: expected a finite number > 0, got a number \(nan\)"),
    "phase_gtol_infinite": (S + 'phases = [{method = "lbfgs", gtol = inf}]\n', r":16: solver.phases\[1\].gtol: expected a finite number >= 0, got a number \(inf\)"),
    "phase_memory_boolean": (S + 'phases = [{method = "lbfgs", memory = true}]\n', r":16: solver.phases\[1\].memory: expected a whole number >= 1, got a boolean"),
    "phase_second_method": (S + 'phases = [{method = "adam"},\n  {method = "sgd"}]\n', r":16: solver.phases\[2\].method: expected one of adam, rmsprop, adabelief, lbfgs"),
    "phase_schedule": (S + 'phases = [{method = "adam", schedule = "linear"}]\n', r":16: solver.phases\[1\].schedule: expected one of 'constant', 'exponential', 'cosine'"),
    "phase_method_number": (S + "phases = [{method = 1}]\n", r":16: solver.phases\[1\].method: expected one of adam, .*, got a whole number \(1\)"),
    "seed_boolean": (S + "seed = true\n", r":16: solver.seed: expected a whole number >= 0 and <= 4294967295, got a boolean"),
    "seed_huge": (S + "seed = 99999999999999\n", r":16: solver.seed: expected a whole number >= 0 and <= 4294967295"),
    "steps_beyond_32_bits": (S + 'phases = [{method = "adam", steps = 99999999999}]\n', r"solver.phases\[1\].steps: expected a whole number >= 0, at most 2147483647"),
    "time_limit_nan": (S + "time_limit = nan\n", r":16: solver.time_limit: expected a positive, finite number of seconds, got a number \(nan\)"),
    "windows_zero": (S + "windows = 0\n", r":16: solver.windows: expected a whole number >= 1 and <= 10000"),
    "redraw_fraction": (S + "redraw = 1.5\n", r":16: solver.redraw: expected a whole number >= 1, got a number"),
    "weighting_every_boolean": (S + 'weighting = {method = "gradnorm", every = true}\n', r":16: solver.weighting.every: expected a whole number >= 1, got a boolean"),
    "weighting_alpha_one": (S + 'weighting = {method = "gradnorm", alpha = 1}\n', r":16: solver.weighting.alpha: expected a finite number >= 0 and < 1"),
    "sampling_pool_fraction": (S + 'sampling = {method = "rad", pool = 1e4}\n', r":16: solver.sampling.pool: expected a whole number >= 1 and <= 100000000, got a number"),
    "sampling_unknown_method": (S + 'sampling = "random"\n', r":16: solver.sampling.method: expected 'rar' or 'rad'"),
    "features_count_string": (S + 'network = {features = {kind = "fourier", count = "64"}}\n', r":16: solver.network.features.count: expected a whole number >= 1"),
    "features_kind": (S + 'network = {features = {kind = "relu"}}\n', r":16: solver.network.features.kind: expected one of fourier, gaussian"),
    "features_unknown_key": (S + 'network = {features = {kind = "fourier", scale = 2}}\n', r":16: solver.network.features.scale: unknown key for fourier features; expected one of kind, count, sigma"),
    "parameter_nan": (GOOD + "\n[parameters]\nk = nan\n", r":16: parameters.k: expected a finite number, got a number \(nan\)"),
    "parameter_infinite": (GOOD + "\n[parameters]\nk = 1e400\n", r":16: parameters.k: expected a finite number, got a number \(inf\)"),
    "condition_points_zero": (_replace('set = "u = 0"', 'set = "u = 0"\npoints = 0'), r":11: conditions\[1\].points: expected a whole number >= 1"),
    "condition_points_boolean": (_replace('set = "u = 0"', 'set = "u = 0"\npoints = true'), r":11: conditions\[1\].points: expected a whole number >= 1 and <= 100000000, got a boolean"),
    "condition_weight_negative": (_replace('set = "u = 0"', 'set = "u = 0"\nweight = -1'), r":11: conditions\[1\].weight: expected a finite number >= 0"),
    "condition_weight_infinite": (_replace('set = "u = 0"', 'set = "u = 0"\nweight = inf'), r":11: conditions\[1\].weight: expected a finite number >= 0, got a number \(inf\)"),
    "periodic_impose": (_replace('on = "boundary"\nset = "u = 0"', 'periodic = "x"\nimpose = "hard"'), r":10: conditions\[1\].impose: expected one of 'exact', 'penalty'"),
    "eigen_states_boolean": (GOOD + "\n[eigen]\nstates = true\n", r":16: eigen.states: expected a whole number >= 1 and <= 1000, got a boolean"),
    "eigen_normalize_string": (GOOD + '\n[eigen]\nnormalize = "yes"\n', r":16: eigen.normalize: expected true or false"),
    "eigen_symbol_number": (GOOD + "\n[eigen]\nsymbol = 3\n", r":16: eigen.symbol: expected a name such as 'x', got a whole number"),
    "scale_nan": (GOOD + "\n[scale]\nu = nan\n", r":16: scale.u: expected a positive number or an expression"),
    "bound_huge_whole_number": (_replace("x = [-1, 1]", "x = [-1, 1" + "0" * 400 + "]"), r":6: domain.x: expected a finite number, got a whole number too large for float64"),
    "width_huge_whole_number": (S + "network = {width = 1" + "0" * 400 + "}\n", r":16: solver.network.width: expected a whole number >= 1, at most 2147483647; got a whole number \(about 2\^1328\)"),
    "parameter_huge_whole_number": (GOOD + "\n[parameters]\nk = 1" + "0" * 400 + "\n", r":16: parameters.k: expected a finite number, got a whole number \(about 2\^1328\)"),
    "bound_infinite": (_replace("x = [-1, 1]", "x = [-1, inf]"), r":6: domain.x: expected a finite number, got inf"),
    "bound_expression_with_symbol": (_replace("x = [-1, 1]", 'x = [-1, "y/2"]'), r":6: domain.x: unknown symbol 'y'"),
    "coordinate_not_a_name": (_replace("x = [-1, 1]", '"x y" = [-1, 1]'), r":5: domain.x y: expected a coordinate name such as 'x'"),
    # misleading messages (issue 21, item 3)
    "condition_location_not_understood": (_replace('on = "boundary"', 'on = "right"'), r":8: conditions\[1\]: the condition's location 'right' is not understood; expected 'boundary' \(the whole spatial boundary\), 'start' \(t at its lower bound\) or a face '<coordinate> = <number>' such as 'x = 0'"),
    "equation_with_primes": (_replace("-diff(u, x, 2) = pi**2*sin(pi*x)", "u'' + u = 0"), r":3: equations\[1\]: primes for derivatives are not supported in \"u'' \+ u\": write diff\(u, x\) for u', diff\(u, x, 2\) for u''"),
    "equation_double_equals": (_replace("-diff(u, x, 2) = pi**2*sin(pi*x)", "-diff(u, x, 2) == 1"), r":3: equations\[1\]: '-diff\(u, x, 2\) == 1' is not an equation: write a single '=' between the two sides, not '=='"),
    "condition_just_outside_a_bound_given_as_expression": (_replace("x = [-1, 1]", 'x = [0, "pi/2"]').replace('on = "boundary"', 'on = "x = 1.5708"'), r":8: conditions\[1\]: condition on 'x = 1.5708' is outside the domain: x ranges over \[0, 1.5707963267948966\]"),
    "second_condition_numbered_from_1": (GOOD + '\n[[conditions]]\non = "x = 0.5"\nset = "u = 0"\n', r":15: conditions\[2\]: condition on 'x = 0.5' is inside the domain"),
    "exponent_too_large": (_replace("pi**2*sin(pi*x)", "9**9**9**9"), r":3: equations\[1\]: the exponent 387420489 is too large"),
})

DISK = """\
fields = ["u"]
equations = ["diff(u, x, 2) + diff(u, y, 2) = -4"]

[domain]
shape = "disk"
radius = 2

[[conditions]]
on = "boundary"
set = "u = 0"
"""
OBSERVED = GOOD + '\n[[observations]]\nfield = "u"\npoints = [0.5]\nvalues = [1]\n'  # [[observations]] on line 15
# malformed disks and observations (problem-file forms of Disk and Observations, issue 21 item 10)
MALFORMED.update({
    "disk_without_radius": (DISK.replace("radius = 2\n", ""), r":4: domain.radius: missing; a disk needs a radius"),
    "disk_negative_radius": (DISK.replace("radius = 2", "radius = -1"), r":6: domain.radius: expected a positive number, got -1"),
    "disk_radius_string": (DISK.replace("radius = 2", 'radius = "r"'), r":6: domain.radius: unknown symbol 'r'"),
    "disk_center_length": (DISK.replace("radius = 2", "radius = 2\ncenter = [0]"), r":7: domain.center: expected \[x, y\] of the centre"),
    "disk_coords_time": (DISK.replace("radius = 2", 'radius = 2\ncoords = ["x", "t"]'), r":7: domain.coords: expected two different coordinates other than 't'"),
    "disk_coords_and_interval": (DISK.replace("radius = 2", "radius = 2\ny = [0, 1]"), r":7: domain.y: coordinate 'y' is given twice"),
    "domain_unknown_shape": (DISK.replace('"disk"', '"sphere"'), r":5: domain.shape: expected 'box', 'disk' or a shape such as \"rectangle\(0, 0, 1, 1\) - disk\(0.5, 0.5, 0.2\)\" \(docs/geometry.md\), got 'sphere'"),
    "disk_face_condition": (DISK.replace('on = "boundary"', 'on = "x = 2"'), r":8: conditions\[1\]: condition on 'x = 2' is not on the boundary of the disk"),
    "observation_without_field": (OBSERVED.replace('field = "u"\n', ""), r":15: observations\[1\].field: missing"),
    "observation_unknown_field": (OBSERVED.replace('field = "u"', 'field = "v"'), r":15: observations\[1\]: unknown field 'v' \(fields: u\)"),
    "observation_outside_domain": (OBSERVED.replace("points = [0.5]", "points = [1.5]"), r":15: observations\[1\]: observation point \[1.5\] lies outside the domain"),
    "observation_values_missing": (OBSERVED.replace("values = [1]\n", ""), r":15: observations\[1\].values: missing; expected 'file' \(a CSV file\) or 'points' and 'values'"),
    "observation_points_count": (OBSERVED.replace("values = [1]", "values = [1, 2]"), r":17: observations\[1\].points: expected a list of 2 points \(one per value\), got a list of length 1"),
    "observation_point_dimension": (OBSERVED.replace("points = [0.5]", "points = [[0.5, 1]]"), r":17: observations\[1\].points: expected points of 1 coordinate\(s\) each"),
    "observation_value_nan": (OBSERVED.replace("values = [1]", "values = [nan]"), r":18: observations\[1\].values: expected a finite number, got a number \(nan\)"),
    "observation_weight_string": (OBSERVED + 'weight = "a lot"\n', r":19: observations\[1\].weight: expected a finite number >= 0"),
    "observation_unknown_key": (OBSERVED + "noise = 0.1\n", r":19: observations\[1\].noise: unknown key; expected one of field, file, points, values, weight"),
    "observation_file_and_points": (OBSERVED + 'file = "data.csv"\n', r":15: observations\[1\]: give either 'file' or 'points' and 'values', not both"),
    "observation_file_missing": (GOOD + '\n[[observations]]\nfield = "u"\nfile = "nope.csv"\n', r":17: observations\[1\].file: cannot read nope.csv \(No such file or directory\)"),
    "observation_file_outside_folder": (GOOD + '\n[[observations]]\nfield = "u"\nfile = "../secret.csv"\n', r":17: observations\[1\].file: expected a path inside the problem file's folder"),
    "observation_file_absolute": (GOOD + '\n[[observations]]\nfield = "u"\nfile = "/etc/passwd"\n', r":17: observations\[1\].file: expected a path inside the problem file's folder"),
})


def test_disk_domain_equals_the_python_one():
    problem = ns.load(_written(DISK.replace("radius = 2", 'radius = 2\ncenter = [1, "pi/4"]\nt = [0, 1]'), "disk.toml"))
    expected = ns.SpaceTime(ns.Disk(center=(1, math.pi / 4), radius=2), (0, 1))
    assert isinstance(problem.domain, ns.SpaceTime) and problem.domain.factors == expected.factors
    assert [p.name for p in problem.penalties] == ["condition 1 on boundary"]  # a curved boundary: a penalty
    plain = ns.load(_written(DISK.replace("radius = 2", 'radius = 0.5\ncoords = ["a", "b"]').replace("x, 2) + diff(u, y", "a, 2) + diff(u, b"), "p.toml"))
    assert isinstance(plain.domain, ns.Disk) and plain.domain.factors == ns.Disk((0, 0), 0.5, ("a", "b")).factors


def test_observations_inline_and_from_a_csv_file_equal_the_python_ones(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "u.csv").write_text("t, x, u, note\n0.5, -0.5, 1.5, 7\n\n0.25, 0.5, 2.5, 7\n")
    text = (GOOD.replace("x = [-1, 1]", "x = [-1, 1]\nt = [0, 1]").replace("diff(u, x, 2) =", "diff(u, x, 2) + diff(u, t) =")
            + '\n[[observations]]\nfield = "u"\nfile = "data/u.csv"\nweight = 3\n'
            + '\n[[observations]]\nfield = "u"\npoints = [[0, 0.5], [0.5, 1]]\nvalues = [1, -1]\n')  # fmt: skip
    path = tmp_path / "p.toml"
    path.write_text(text)
    problem = ns.load(path)
    python = ns.Problem(ns.SpaceTime(ns.Interval(-1, 1), (0, 1)), "u", "-diff(u, x, 2) + diff(u, t) = pi**2*sin(pi*x)",
                        [ns.Condition("u = 0", on="boundary"), ns.Observations("u", [[-0.5, 0.5], [0.5, 0.25]], [1.5, 2.5], weight=3),
                         ns.Observations("u", [[0, 0.5], [0.5, 1]], [1, -1])])  # fmt: skip
    got, want = problem.penalties[-2:], python.penalties[-2:]
    assert [p.name for p in got] == [p.name for p in want] == ["condition 2: observations of u", "condition 3: observations of u"]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.targets, b.targets)
        assert a.weight == b.weight
    # a run directory takes the data file along, so resume and report read the same observations
    from neuralsolve import rundir

    run = rundir.create(tmp_path / "run", path)
    assert (run / "data" / "u.csv").read_text() == (tmp_path / "data" / "u.csv").read_text()
    np.testing.assert_array_equal(rundir.settings(run)[0].penalties[-2].points, got[0].points)


@pytest.mark.parametrize("csv, cause", [
    ("x,v\n0.5,1\n", r"u.csv has no column 'u' \(its header: x, v; needed: x, u\)"),
    ("x,u\n0.5,one\n", r"u.csv line 2: expected numbers in columns x, u"),
    ("x,u\n0.5,1\n0.2\n", r"u.csv line 3: 1 columns where the header has 2"),
    ("x,u\n0.5,inf\n", r"u.csv line 2: the numbers must be finite"),
    ("x,u\n", r"u.csv has a header but no data rows"),
    ("", r"u.csv is empty; expected a header row naming the columns"),
])
def test_bad_observation_files_are_named_with_their_line(tmp_path, csv, cause):
    (tmp_path / "u.csv").write_text(csv)
    path = tmp_path / "p.toml"
    path.write_text(GOOD + '\n[[observations]]\nfield = "u"\nfile = "u.csv"\n')
    with pytest.raises(ns.SpecError, match=rf"^{re.escape(str(path))}:17: observations\[1\].file: {cause}$"):
        ns.load(path)


def test_domain_bounds_accept_constant_expressions(tmp_path):
    text = _replace("x = [-1, 1]", 'x = [0, "pi/2"]\ny = ["-L", "2*L"]').replace('on = "boundary"', 'on = "x = pi/2"')
    problem = ns.load(_written(text.replace("[domain]", "[parameters]\nL = 1.5\n\n[domain]"), "p.toml", tmp_path))
    assert problem.domain.factors == ns.Rectangle((0, math.pi / 2), (-1.5, 3.0)).factors
    assert problem.hard[0].axis == 0 and problem.hard[0].side == 1  # 'x = pi/2' is exactly the upper face


def test_a_file_that_is_not_text_or_not_a_file_gets_one_line(tmp_path):
    binary = tmp_path / "data.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ns.SpecError, match=rf"^{re.escape(str(binary))}: cannot read the file \(.*utf-8.*\)$"):
        ns.load(binary)
    with pytest.raises(ns.SpecError, match=rf"^{re.escape(str(tmp_path))}: cannot read the file \(Is a directory\)$"):
        ns.load(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_text("seed = " + "9" * 5000)  # tomllib raises ValueError, not its own error, for this
    with pytest.raises(ns.SpecError, match=r"huge.toml: invalid TOML: Exceeds the limit"):
        ns.load(huge)


def test_every_settings_key_has_a_rule():
    """The rules (spec/schema.py) cover every field of every settings class a problem file can name,
    so a key added to a class is type-checked by `check` without an edit."""
    from neuralsolve.nn.features import KINDS
    from neuralsolve.sampling.adaptive import SAMPLINGS
    from neuralsolve.spec.schema import rules_of
    from neuralsolve.train.phases import PHASES
    from neuralsolve.train.weighting import WEIGHTINGS

    for kind in [ns.MLP, ns.Points, ns.Causal, *PHASES.values(), *WEIGHTINGS.values(), *SAMPLINGS.values(), *KINDS.values()]:
        missing = [k for k, rule in rules_of(kind).items() if rule is None and (kind, k) != (ns.MLP, "features")]
        assert not missing, (kind.__name__, missing)


def _written(text: str, name: str, folder: pathlib.Path | None = None) -> pathlib.Path:
    folder = folder or pathlib.Path(__import__("tempfile").mkdtemp())
    path = folder / name
    path.write_text(text)
    return path


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
    # one hidden layer (measured 2.5e-6): compiling the default 32x3 network took most of the time
    path.write_text(GOOD + '\n[solver]\nnetwork = {width = 32, depth = 1}\n'
                    'phases = [{method = "adam", steps = 300}, {method = "lbfgs", steps = 300}]\n')  # fmt: skip
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
