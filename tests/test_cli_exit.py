"""The console script's exit: its status, the exit handlers and the streams are kept, and a thread
still running is waited for (``neuralsolve.cli.entry``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import atexit, sys, threading, time
from neuralsolve.cli.entry import leave
atexit.register(lambda: open(sys.argv[1], "w").write("handler ran"))
sys.stdout.write("buffered, no newline")
if sys.argv[3] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), open(sys.argv[1] + ".thread", "w").write("done"))).start()
code = sys.argv[2]
leave(None if code == "none" else int(code) if code.isdigit() else code)
"""


@pytest.mark.parametrize(("code", "status"), [("none", 0), ("0", 0), ("2", 2), ("a message", 1)])
@pytest.mark.parametrize("thread", ["alone", "thread"])
def test_leave_keeps_status_exit_handlers_and_output(tmp_path, code, status, thread):
    marker = tmp_path / "marker"
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(marker), code, thread], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == status
    assert done.stdout == "buffered, no newline"
    assert marker.read_text() == "handler ran"
    assert ("a message" in done.stderr) == (code == "a message")
    if thread == "thread":  # the normal exit: Python waits for the thread
        assert (tmp_path / "marker.thread").read_text() == "done"


def test_the_console_script_exits_with_the_commands_status(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('fields = ["u"]\nequations = ["diff(u, x) = "]\n')
    script = [sys.executable, "-c", "import sys; from neuralsolve.cli.entry import run; sys.argv[0] = 'neuralsolve'; run()"]
    done = subprocess.run([*script, "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert subprocess.run([*script, "--version"], capture_output=True, text=True, timeout=60).stdout.startswith("neuralsolve")
