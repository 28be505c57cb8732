"""Figures drawn by helper processes (neuralsolve.report.drawing): drawn elsewhere, side by side,
and never lost: a dead or failing helper's figure is drawn (or its error raised) in this process."""

import json
import math
import os
import subprocess
import sys
import time

import pytest

from neuralsolve.cores import usable_cores
from neuralsolve.report import drawing, plots

needs_two_cores = pytest.mark.skipif(usable_cores() < 2, reason="helpers start on machines with two cores or more")

HISTORY = [{"phase": "adam", "step": s, "loss": 1.0 / s, "terms": [1.0 / s], "elapsed": 0.1 * s} for s in (1, 2, 3)]


@needs_two_cores
def test_helpers_draw_in_other_processes_and_stop_with_the_command(tmp_path):
    with drawing.helping() as helpers:
        pids = helpers.draw([(os.getpid, ())] * 4)
        path = helpers.draw([(plots.plot_history, (tmp_path / "loss.png", HISTORY, ["equation"]))])[0]
        procs = list(helpers._procs)
    assert os.getpid() not in pids and len(set(pids)) <= drawing.COUNT
    assert path == tmp_path / "loss.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(proc.poll() is not None for proc in procs)  # stopped, none left behind


@needs_two_cores
def test_a_dead_helpers_figure_is_drawn_here():
    with drawing.helping() as helpers:
        for proc in helpers._procs:
            proc.kill()
            proc.wait()
        assert helpers.draw([(os.getpid, ()), (math.hypot, (3.0, 4.0))]) == [os.getpid(), 5.0]


def test_an_error_in_a_figure_is_raised_here_with_or_without_helpers():
    with drawing.helping() as helpers:
        with pytest.raises(ValueError, match="math domain error"):
            drawing.draw([(math.hypot, (1.0, 0.0)), (math.sqrt, (-1.0,))], helpers)
    with pytest.raises(ValueError, match="math domain error"):
        drawing.draw([(math.sqrt, (-1.0,))])


def test_no_report_starts_no_helper():
    with drawing.helping(False) as helpers:
        assert helpers is None


def test_naming_the_plots_does_not_import_matplotlib():
    """The solve names the plotting functions for its helpers; only drawing imports matplotlib."""
    code = ("import json, sys, neuralsolve.report.plots, neuralsolve.report.outputs; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('matplotlib'))))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_a_helper_that_never_answers_is_stopped(monkeypatch):
    monkeypatch.setattr(drawing, "PATIENCE", 0.5)
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)  # fmt: skip
    started = time.perf_counter()
    assert drawing._ask(silent, os.getpid, ()) is drawing._MISSED  # so the command draws it itself
    assert time.perf_counter() - started < 10 and silent.wait(timeout=10) != 0
