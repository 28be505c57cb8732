"""One member of a sweep, solved where it is sent (this process, or a Ray worker on any node).

The member's directory is its whole state: a member that finished (``metrics.json``) is never solved
again; one that was stopped — its worker or node died, the sweep's driver was killed — resumes from
its own checkpoint. While it trains it keeps ``progress.json`` (step, loss, where it runs) for the
sweep's table, and ``attempts.json`` counts the times it was started.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import time

from .. import rundir

PROGRESS, ATTEMPTS = "progress.json", "attempts.json"


def finished(directory) -> dict | None:
    """The metrics of a member that finished (None if it has not)."""
    path = pathlib.Path(directory) / rundir.METRICS
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return metrics if "status" in metrics else None


def run_member(directory, checkpoint_every: float = 10.0, where: str | None = None, report: bool = False) -> dict:
    """Solve (or resume, or just read) the member run in ``directory``; its summary (see :func:`summary`).
    ``report``: also render its plots and report.html (else ``neuralsolve report DIR`` does it later)."""
    from ..dispatch import prepare, solve
    from ..train.checkpoint import Checkpoint

    directory = pathlib.Path(directory)
    done = finished(directory)
    if done is not None:
        return summary(done, attempts(directory))
    attempt = _count_attempt(directory)
    problem, kwargs = rundir.settings(directory)
    family, settings = prepare(problem, kwargs)
    resume = family.steps_saved(problem, settings, Checkpoint(directory)) is not None
    where = where or socket.gethostname()
    total = family.total_steps(problem, settings)

    def progress(record: dict) -> None:
        rundir.write_json(directory / PROGRESS, {"step": record["step"], "total": total, "loss": record["loss"],
                                                 "where": where, "pid": os.getpid(), "time": time.time()})  # fmt: skip

    sol = solve(problem, **kwargs, callback=progress, resume=resume, checkpoint=Checkpoint(directory, every=checkpoint_every))
    if sol.status == "interrupted":  # not finished: no metrics.json, so that it resumes next time
        return {"status": "interrupted", "message": sol.message, "attempts": attempt}
    metrics, _ = rundir.finish(directory, problem, family, sol, kwargs["seed"], report=report)
    return summary(metrics, attempt)


def summary(metrics: dict, attempt: int) -> dict:
    """What the sweep's table and report keep of a member's metrics: status, errors, time, steps."""
    keep = ("status", "message", "l2_relative_error", "residual_rms", "test_relative_l2", "wall_time_s", "steps",
            "unknowns", "eigenvalue_errors")  # fmt: skip
    return {**{k: metrics[k] for k in keep if k in metrics}, "attempts": attempt}


def attempts(directory) -> int:
    """How many times the member was started."""
    try:
        return int(json.loads((pathlib.Path(directory) / ATTEMPTS).read_text())["attempts"])
    except (OSError, ValueError, KeyError):
        return 0


def running(directory) -> dict | None:
    """The member's last progress record (None before its first)."""
    try:
        return json.loads((pathlib.Path(directory) / PROGRESS).read_text())
    except (OSError, ValueError):
        return None


def _count_attempt(directory: pathlib.Path) -> int:
    attempt = attempts(directory) + 1
    rundir.write_json(directory / ATTEMPTS, {"attempts": attempt})
    return attempt
