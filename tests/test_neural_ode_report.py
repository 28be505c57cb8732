"""What a neural-ODE run tells its user: the report's trajectories (data against the model, train
and held out), phase portrait, misfit, held-out errors and solver cost (NFE), rendered again from
the run directory alone; and what ``neuralsolve check`` says it is checked against. One small
solve, shared with tests/test_neural_ode.py (conftest.py: three trajectories of a two-field linear
system, one held out)."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from neuralsolve.cli.main import main
from neuralsolve.methods.neural_ode.model import NeuralODEModel
from neuralsolve.report.page import sci
from neuralsolve.report.trajectories import drawn

def _strip_images(report: str) -> str:
    return re.sub(r"base64,[^']*", "base64,", report)


def _table(report: str, kind: str) -> str:
    return re.search(rf"<table class='metrics {kind}'>.*?</table>", report, re.S).group(0)


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_the_report_draws_every_trajectory_and_states_misfit_held_out_errors_and_nfe(neural_ode_run):
    run = neural_ode_run
    metrics = json.loads((run / "metrics.json").read_text())
    report = (run / "report.html").read_text()
    for name in ("trajectories", "phase_portrait", "nfe_history", "loss_history"):
        assert (run / f"{name}.png").stat().st_size > 0 and f"<img alt='{name}'" in report, name
    assert not list(run.glob("data_*.png"))  # one curve per field would mix the three trajectories
    assert "Shown: 3 of 3 trajectories (1 held out)." in report
    assert metrics["trajectories"] == {"train": 2, "heldout": 1}
    errors = _table(report, "trajectories")
    assert "2 trained on, 1 held out" in errors and "30 / 15" in errors  # measurements per field, train / held out
    for key in ("data_misfit_rms", "heldout_rms", "heldout_relative_error"):
        for field in ("x", "y"):
            assert f"<td class='num'>{sci(metrics[key][field])}</td>" in errors, (key, field)
    cost = _table(report, "nfe")
    nfe = metrics["nfe"]
    assert nfe["forward"] > 0 and nfe["backward"] > 0
    assert all(f"<td class='num'>{nfe[k]}</td>" in cost for k in ("forward", "backward", "steps"))
    accuracy = report.split("<h2>Accuracy</h2>")[1].split("<h2>")[0]
    assert "held-out trajectories" in accuracy and "only the equation residual" not in accuracy
    assert "<table class='metrics residuals'>" not in accuracy  # a neural ODE has no collocation residual
    estimates = report.split("<h2>Estimates and data</h2>")[1].split("<h2>")[0]
    assert f"<td class='num'>{sci(metrics['unknowns_stderr']['k'])}</td>" in _table(estimates, "unknowns")
    assert "Standard errors from a Gauss–Newton approximation: the sensitivities of the solved trajectories" in estimates


@pytest.mark.slow  # moved out of make test for the CI budget; make accuracy runs it
def test_neuralsolve_report_renders_the_same_page_again_without_solving(neural_ode_run, monkeypatch):
    run = neural_ode_run
    before = _strip_images((run / "report.html").read_text())
    for path in [*run.glob("*.png"), run / "report.html"]:
        path.unlink()

    def no_solving(*args, **kwargs):
        raise AssertionError("the report solved the ODE again")

    monkeypatch.setattr(NeuralODEModel, "predict", no_solving)  # every solve of the learned ODE goes through it
    result = CliRunner().invoke(main, ["report", str(neural_ode_run)])
    assert result.exit_code == 0, result.output
    assert "trajectories.png" in result.output and "nfe_history.png" in result.output
    assert _strip_images((run / "report.html").read_text()) == before


def test_check_says_a_neural_ode_is_checked_against_its_data(neural_ode_files):
    result = CliRunner().invoke(main, ["check", str(neural_ode_files / "oscillator.toml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "method: neural-ode (tsit5, rtol 1e-06, atol 1e-08, adjoint recursive)" in lines
    assert lines[-1].startswith("reference: the data, not a reference solution: the misfit to 2 training "
                                "trajectories and the error on 1 held-out trajectory (holdout 0.3)")  # fmt: skip
    assert "classical" not in result.output and "only the equation residual" not in result.output


@pytest.mark.parametrize("train, held, shown_held", [(5, 1, 1), (20, 5, 4), (2, 20, 6), (30, 0, 0)])
def test_at_most_eight_trajectories_are_drawn_held_out_ones_kept(train, held, shown_held):
    heldout = np.r_[np.zeros(train, bool), np.ones(held, bool)]
    pick = drawn(heldout)
    assert len(pick) == min(8, train + held) and len(set(pick)) == len(pick)
    assert heldout[pick].sum() == shown_held
