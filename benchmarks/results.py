"""The one way benchmark scripts record a result: a JSON line with the machine, load, date and commit."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _commit() -> str:
    """HEAD, with ``+changes`` when the library differs from it; ``$BENCH_COMMIT`` where the tree
    was copied without its history (a borrowed GPU machine)."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True).stdout
    return commit + ("+changes" if changed.strip() else "")


COMMIT = _commit()  # when the script started: the code that ran, whatever is committed meanwhile


def append_result(path: pathlib.Path, case: str, result: dict, hide: tuple = ()) -> dict:
    """Append ``result`` as one JSON line to ``path``, with where and when it ran; print it (less
    the ``hide`` keys, long lists a terminal need not show)."""
    row = {"case": case, "date": time.strftime("%Y-%m-%d %H:%M"), "commit": COMMIT, "machine": platform.machine(),
           "cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2), **result}  # fmt: skip
    with pathlib.Path(path).open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k not in hide}, indent=1))
    return row
