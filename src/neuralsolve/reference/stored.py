"""Classical references kept on disk: a repeated solve of the same problem file reads its
reference's values instead of solving the classical problem again.

A classical reference takes a core for seconds (the method of lines: Burgers 1.0-1.5 s, Allen-Cahn
2.8-6.3 s), computed while the network trains, which on a small machine wants every core. Kept, per
problem, in a folder of :func:`~neuralsolve.compile_cache.references_directory`: the method's name
and estimated error (``reference.json``) and the values at each set of points asked for (``<digest
of the points>.npy``). The folder is named by a digest of the problem (its file's tables, all but
``[solver]``: a change of steps or network shares the reference), of every source file of neuralsolve
and of the numerical libraries' versions: a change to the problem, the code or SciPy solves again.

Only problems read from a problem file that names no data file are kept: a problem built in Python
may hold functions, whose code no digest sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import tomllib
from collections.abc import Callable, Sequence
from functools import cache
from importlib import metadata

import numpy as np

from ..compile_cache import references_directory, write_whole
from ..problem.problem import Problem

ABOUT = "reference.json"
LIBRARIES = ("numpy", "scipy", "sympy", "scikit-fem")
KEPT = 100  # problems kept: the least recently used beyond them are removed
WITH_DATA = {"observations", "data", "unknowns", "hidden", "discover", "operator"}  # tables that read or learn


def stored(problem: Problem, solve: Callable[[], Callable | None], expected: Sequence[np.ndarray]) -> Callable | None:
    """``solve()`` (a reference's ``values(points)`` with its ``method`` and ``error_estimate``, or
    None where no classical method applies), kept on disk where the problem can be.

    When the problem is kept with the values at every point set in ``expected``, nothing is solved
    now: each later call reads its points' values, and a point set never asked for before solves
    the reference then (once). Otherwise ``solve()`` runs now, and each call's values are kept
    (none when it gives None)."""
    folder = _folder(problem)
    if folder is None:
        return solve()
    about = _read_about(folder)
    live: list = []  # the reference solved in this process, once needed
    if about is None or not all(_values_path(folder, p).exists() for p in expected):
        live.append(solve())
        if live[0] is None:  # nothing kept: a classical solve that fails says why (a warning) every time
            return None
        about = {"method": live[0].method, "error_estimate": live[0].error_estimate}
        write_whole(folder / ABOUT, lambda f: f.write(json.dumps(about).encode()))

    def values(points) -> np.ndarray:
        path = _values_path(folder, points)
        try:
            return np.load(path)
        except (OSError, ValueError):  # not kept yet, or unreadable: solve
            pass
        if not live:
            live.append(solve())
        if live[0] is None:
            raise RuntimeError(f"the classical reference kept in {folder} could not be solved again")
        out = np.asarray(live[0](points), float)
        write_whole(path, lambda f: np.save(f, out))
        return out

    values.method, values.error_estimate = about["method"], about["error_estimate"]
    return values


def _folder(problem: Problem) -> pathlib.Path | None:
    """The problem's folder (made, and marked as just used), or None where it is not kept."""
    root = references_directory()
    if root is None or problem.source is None:
        return None
    try:
        tables = tomllib.loads(problem.source)
    except tomllib.TOMLDecodeError:
        return None
    if WITH_DATA & set(tables):
        return None
    tables.pop("solver", None)
    text = json.dumps([tables, _code(), [_version(name) for name in LIBRARIES]], sort_keys=True, default=str)
    folder = root / hashlib.sha256(text.encode()).hexdigest()[:32]
    try:
        new = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        if new:
            _prune(root)
    except OSError:  # a folder that cannot be written only costs time
        return None
    return folder


@cache
def _code() -> str:
    """A digest of every source file of neuralsolve."""
    package = pathlib.Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _values_path(folder: pathlib.Path, points) -> pathlib.Path:
    points = np.ascontiguousarray(points, np.float64)
    digest = hashlib.sha256(repr(points.shape).encode() + points.tobytes()).hexdigest()[:32]
    return folder / f"{digest}.npy"


def _read_about(folder: pathlib.Path) -> dict | None:
    try:
        return json.loads((folder / ABOUT).read_text())
    except (OSError, ValueError):
        return None


def _prune(root: pathlib.Path) -> None:
    """Remove the least recently used problems beyond :data:`KEPT`."""
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[KEPT:]:
        shutil.rmtree(old, ignore_errors=True)
