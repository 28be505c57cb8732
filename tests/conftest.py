"""Shared test data.

Test modules import constants from here (``from conftest import ...``): pytest puts this folder on
``sys.path`` to load this file, and a fixture cannot feed module-level ``parametrize`` lists.
"""

import os

# Tests leave JAX's persistent compilation cache off (the command line turns it on by default):
# nothing outside the checkout is written, and no test depends on an earlier run.
# tests/test_first_answer.py turns it on, in a folder of its own, where it tests the cache.
os.environ["NEURALSOLVE_CACHE_DIR"] = "off"

# The head of a valid problem file (1D Poisson, u = 0 on the boundary). Tests append one table to
# it, so the appended table's first line is line 12: error messages cite these line numbers.
POISSON_1D = """\
name = "Poisson 1D"
fields = ["u"]
equations = ["-diff(u, x, 2) = pi**2*sin(pi*x)"]

[domain]
x = [-1, 1]

[[conditions]]
on = "boundary"
set = "u = 0"
"""


# One neural-ODE solve that several test files read (tests/test_neural_ode.py and
# tests/test_neural_ode_report.py): x' = y, y' = -k x (k = 2) from three initial states, 15
# samples each, one trajectory held out; mini-batches of one trajectory and the error-estimate
# regulariser (at a weight too small to bias k) in Adam, then L-BFGS on the whole data.
NEURAL_ODE_K = 2.0
NEURAL_ODE_OSCILLATOR = """\
name = "Linear oscillator: the stiffness from three trajectories"
fields = ["x", "y"]
equations = ["diff(x, t) = y", "diff(y, t) = -k*x"]

[domain]
t = [0, 3]

[unknowns]
k = { initial = 1.0, positive = true }

[exact]
k = "2"

[data]
file = "obs.csv"

[solver]
method = "neural-ode"
phases = [{method = "adam", steps = 100, learning_rate = 0.05}, {method = "lbfgs", steps = 200}]

[solver.ode]
holdout = 0.3
batch = 1
regularise = "error"
regularisation = 1e-12
"""


def neural_ode_folder(folder):
    """Write the oscillator's problem file and data into ``folder``; return the folder."""
    import numpy as np

    t, w = np.linspace(0, 3, 15), np.sqrt(NEURAL_ODE_K)
    rows = []
    for k, (a, b) in enumerate([(1.0, 0.0), (0.0, 1.0), (-0.5, 0.5)]):
        x = a * np.cos(w * t) + b / w * np.sin(w * t)
        y = -a * w * np.sin(w * t) + b * np.cos(w * t)
        rows.append(np.c_[t, x, y, np.full_like(t, k)])
    np.savetxt(folder / "obs.csv", np.concatenate(rows), delimiter=",", header="t,x,y,trajectory", comments="",
               fmt=["%.15g", "%.15g", "%.15g", "%d"])  # fmt: skip
    (folder / "oscillator.toml").write_text(NEURAL_ODE_OSCILLATOR)
    return folder


def _neural_ode_fixtures():
    import pytest

    @pytest.fixture(scope="session")
    def neural_ode_files(tmp_path_factory):
        return neural_ode_folder(tmp_path_factory.mktemp("oscillator"))

    @pytest.fixture(scope="session")
    def neural_ode_run(neural_ode_files):
        """The run directory of one solve of the oscillator by the command line."""
        from click.testing import CliRunner

        from neuralsolve.cli.main import main

        out = neural_ode_files / "run"
        result = CliRunner().invoke(main, ["solve", str(neural_ode_files / "oscillator.toml"), "--out", str(out)])
        assert result.exit_code == 0, result.output
        return out

    return neural_ode_files, neural_ode_run


neural_ode_files, neural_ode_run = _neural_ode_fixtures()
