"""A solve from the command line as a user lives it: Ctrl-C, resume, logs without a terminal and an
honest verdict (issue 21, items 4, 6 and 7)."""

import io
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import POISSON_1D

import neuralsolve as ns
from neuralsolve.cli import progress as progress_module
from neuralsolve.cli.main import main
from neuralsolve.cli.progress import Progress

SOLVER = '\n[solver]\nphases = [{method = "adam", steps = 600}]\nnetwork = {width = 16, depth = 2}\n'


def _file(tmp_path, extra: str = "") -> str:
    path = tmp_path / "p.toml"
    path.write_text(POISSON_1D + '\n[exact]\nu = "sin(pi*x)"\n' + SOLVER + extra)
    return str(path)


def _interrupt_at(monkeypatch, step: int) -> None:
    """Ctrl-C (a real SIGINT, to the command's own handler) as the progress record of ``step`` arrives."""
    update = Progress.update

    def interrupted(self, record):
        update(self, record)
        if record["step"] == step:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Progress, "update", interrupted)


def test_ctrl_c_keeps_the_steps_done_and_resume_continues_from_them(tmp_path, monkeypatch):
    out = tmp_path / "run"
    _interrupt_at(monkeypatch, 300)
    result = CliRunner().invoke(main, ["solve", _file(tmp_path), "--out", str(out), "--checkpoint-every", "0"])
    assert result.exit_code == 130, result.output
    assert "Ctrl-C: stopping training after its current chunk" in result.output
    assert "interrupted" in result.output and f"neuralsolve resume {out}" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["steps"] == 300
    assert metrics["phases"] == [{"phase": "adam", "steps": 300, "stop": "interrupted after 300 steps"}]

    monkeypatch.undo()
    resumed = CliRunner().invoke(main, ["resume", str(out)])
    assert "resuming from step 300 of 600" in resumed.output
    assert json.loads((out / "metrics.json").read_text())["steps"] == 600
    lines = [line for line in resumed.output.splitlines() if "/600 (" in line]
    assert lines and all(int(line.split(" step ")[1].split("/")[0]) > 300 for line in lines)  # counts on from 300


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "problem.toml").write_text(POISSON_1D)
    (out / "run.json").write_text(json.dumps({"steps": None, "precision": None, "seed": None}))
    result = CliRunner().invoke(main, ["resume", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "no checkpoint to resume from" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (out / "metrics.json").exists()


def test_progress_without_a_terminal_writes_plain_lines(monkeypatch):
    stream, clock = io.StringIO(), [0.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    with Progress(1000, stream=stream, every=10.0) as progress:
        for step in range(100, 1001, 100):
            clock[0] += 3.0  # 3 s per record: a line every 10 s, at the phase change and at the end
            progress.update({"phase": "adam" if step <= 500 else "lbfgs", "step": step, "loss": 1.0 / step, "elapsed": clock[0]})
    lines = stream.getvalue().splitlines()
    steps = [int(line.split(" step ")[1].split("/")[0]) for line in lines]
    assert steps == [100, 500, 600, 1000]  # the first, 12 s later, a change of phase, 12 s later (the last)
    assert "lbfgs step 600/1000 (60%)  loss 1.667e-03" in lines[2] and "left" in lines[2]


def test_progress_imports_rich_for_a_terminal_only():
    """A pipe or a log gets plain lines without importing Rich (0.02-0.05 s); a terminal gets its bar."""
    code = ("import io, sys\nfrom neuralsolve.cli.progress import Progress\n"
            "with Progress(10, stream=io.StringIO()) as p:\n"
            "    p.update({'phase': 'adam', 'step': 10, 'loss': 1.0, 'elapsed': 1.0})\n"
            "assert 'rich' not in sys.modules\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with Progress(10, stream=Terminal()) as progress:
        progress.update({"phase": "adam", "step": 10, "loss": 1.0, "elapsed": 1.0})
    assert progress._bar.tasks[0].completed == 10


def test_progress_estimates_the_time_left_from_the_steps_after_compilation(monkeypatch):
    """The first record comes after compilation (20 s here); the steps then take 1 s per 100: at
    step 600, 400 steps are left, about 4 s, not the 12 s that counting the compilation in gives."""
    stream, clock = io.StringIO(), [0.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    with Progress(1000, stream=stream, every=5.0) as progress:
        for step in range(100, 1001, 100):
            clock[0] += 20.0 if step == 100 else 1.0
            progress.update({"phase": "adam", "step": step, "loss": 1.0, "elapsed": clock[0]})
    lines = stream.getvalue().splitlines()
    assert "left" not in lines[0]  # one record gives no rate yet
    assert lines[1].startswith("  adam step 600/1000") and lines[1].endswith("25.0 s, about 4 s left")


def test_a_solve_far_from_its_reference_says_so(tmp_path):
    """600 Adam steps on a small network leave an error of a few percent: not "ok"."""
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["solve", _file(tmp_path), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "disagrees: solved, but disagrees with the exact solution by" in result.output
    assert "relative L2 error against the exact solution: u " in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "disagrees" and metrics["l2_relative_error"]["u"] > 1e-2
    # the same solve with a tolerance it meets is ok
    loose = CliRunner().invoke(main, ["solve", _file(tmp_path, '\n[reference]\ntolerance = 0.5\n'), "--out", str(tmp_path / "loose")])
    assert loose.exit_code == 0 and "\nok: training completed\n" in loose.output, loose.output


def test_judge_flags_eigenvalues_and_keeps_other_statuses():
    class Fake:
        status, message = "ok", "training completed"
        metrics = {"l2_relative_error": {"psi[0]": 1e-6}, "eigenvalue_errors": [1e-9, 4.4],
                   "eigenvalue_reference": "classical", "reference": "classical"}  # fmt: skip

    sol = ns.dispatch.judge(Fake(), 1e-2)
    assert sol.status == "disagrees" and "classical reference by 4.4 (relative error of eigenvalue 1" in sol.message
    failed = Fake()
    failed.status = "nonfinite"
    assert ns.dispatch.judge(failed, 1e-2).status == "nonfinite"
    with pytest.raises(ns.ProblemError, match="tolerance must be a positive"):
        ns.Problem(ns.Interval(0, 1), "u", ["u = 0"], tolerance=0)


def test_judge_flags_a_model_that_misses_its_data_by_far_more_than_their_noise():
    """With the data's noise known, the data are a reference too: a misfit 3x the noise is no fit."""
    from neuralsolve.dispatch import judge

    t = np.linspace(0, 1, 10)
    columns = {"t": t, "x": np.cos(t), "y": -np.sin(t)}
    problem = lambda **noise: ns.Problem(ns.Interval(0, 1, "t"), ["x", "y"], ["diff(x, t) = y", "diff(y, t) = -x"],
                                         data=ns.Data(columns, **noise))  # fmt: skip
    noisy = problem(noise={"x": 0.01, "y": 0.02})

    class Fake:
        status, message, problem = "ok", "training completed", noisy
        metrics = {"data_misfit_rms": {"x": 0.012, "y": 0.5}}

    sol = judge(Fake(), 1e-2)
    assert sol.status == "disagrees"
    assert sol.message == ("solved, but the model misses its data by more than 3x their known noise (misfit RMS y 0.5 "
                           "(25x its noise 0.02)): train longer, or the model cannot explain the data")  # fmt: skip
    fits = Fake()
    fits.metrics = {"data_misfit_rms": {"x": 0.012, "y": 0.03}}  # 1.2x and 1.5x the noise: a fit
    assert judge(fits, 1e-2).status == "ok"
    unknown = Fake()  # no noise given: nothing to judge the misfit by
    unknown.problem = problem()
    assert judge(unknown, 1e-2).status == "ok"


def test_solve_refuses_to_replace_a_run_of_another_problem(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "problem.toml").write_text(POISSON_1D.replace("Poisson 1D", "another problem"))
    (out / "checkpoint.npz").write_bytes(b"training state")
    result = CliRunner().invoke(main, ["solve", _file(tmp_path), "--out", str(out)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "holds a run of another problem (checkpoint.npz)" in result.output and "--force" in result.output
    assert (out / "checkpoint.npz").read_bytes() == b"training state"
    assert "another problem" in (out / "problem.toml").read_text()


def test_the_verdict_is_given_before_the_plots_are_drawn(tmp_path, monkeypatch):
    """The answer (verdict and error) is on the terminal once the data are written; the plots,
    which take a second or more, come after it (issue 20)."""
    import click

    from neuralsolve.report import outputs

    said, echo, render = [], click.echo, outputs.render_report
    monkeypatch.setattr(click, "echo", lambda message=None, **kw: (said.append(str(message)), echo(message, **kw))[1])
    monkeypatch.setattr(outputs, "render_report", lambda *a, **kw: (said.append("<plots>"), render(*a, **kw))[1])
    result = CliRunner().invoke(main, ["solve", _file(tmp_path), "--out", str(tmp_path / "run"), "--steps", "50"])
    assert result.exit_code == 1, result.output
    plots = said.index("<plots>")
    assert said[plots - 2].startswith("disagrees: ") and said[plots - 1].startswith("relative L2 error against the exact")
    assert said[plots + 1].startswith("results in ") and "solution_u.png" in said[plots + 1]


def test_no_report_writes_the_data_only_and_report_draws_the_rest_later(tmp_path):
    """--no-report: metrics, history and solution, none of an earlier solve's plots (only those:
    the folder may be the user's), and a line saying how to draw them; `neuralsolve report` then
    draws them from the data."""
    out = tmp_path / "run"
    first = CliRunner().invoke(main, ["solve", _file(tmp_path), "--out", str(out), "--steps", "20"])
    assert (out / "report.html").exists() and list(out.glob("*.png")), first.output
    (out / "mine.png").write_bytes(b"a user's own file")  # not the report's: left alone
    again = CliRunner().invoke(main, ["solve", _file(tmp_path), "--out", str(out), "--steps", "20", "--no-report"])
    assert again.exit_code == 1, again.output  # 20 steps: far from the exact solution, and said so
    assert {"metrics.json", "history.json", "solution.npz"} <= {p.name for p in out.iterdir()}
    assert not (out / "report.html").exists() and [p.name for p in out.glob("*.png")] == ["mine.png"]
    assert f"plots and report.html: neuralsolve report {out}" in again.output
    drawn = CliRunner().invoke(main, ["report", str(out)])
    assert drawn.exit_code == 0, drawn.output
    assert (out / "report.html").exists() and (out / "solution_u.png").exists()
