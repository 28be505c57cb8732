"""Run directories: everything a solve from a problem file needs to be resumed, reopened or reported.

A run directory holds ``problem.toml`` (a copy of the problem file), ``run.json`` (the command-line
overrides and, for a solve saved from Python, its whole ``[solver]`` table), ``checkpoint.npz`` (the
training state) and the outputs (``metrics.json``, ``history.json``, ``solution.npz``, plots,
``report.html``). ``neuralsolve solve`` creates one; :func:`save` writes one for a solve made in
Python.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import tempfile
from collections.abc import Callable

from ._errors import ProblemError
from .problem.problem import Problem
from .solution import Recorder, Solution
from .train.checkpoint import FILE, Checkpoint

PROBLEM, RUN, METRICS, HISTORY = "problem.toml", "run.json", "metrics.json", "history.json"


def create(directory, problem_file, *, steps=None, precision=None, seed=None, text: str | None = None) -> pathlib.Path:
    """Start a run directory for ``problem_file`` with the given overrides (None: the file's own);
    ``text``: the problem file to write instead of a copy of ``problem_file`` (its data files are
    still found beside ``problem_file``)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if text is None:
        shutil.copyfile(problem_file, directory / PROBLEM)
    else:
        (directory / PROBLEM).write_text(text)
    from .spec.load import data_files

    for name in data_files(problem_file):  # observation data files travel with the problem file
        source, target = pathlib.Path(problem_file).parent / name, directory / name
        if source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    for old in directory.glob("checkpoint*.npz"):  # a new solve never resumes an old one
        old.unlink()
    (directory / RUN).write_text(json.dumps({"steps": steps, "precision": precision, "seed": seed}))
    return directory


def settings(directory) -> tuple[Problem, dict]:
    """The problem of a run directory and the ``solve`` keyword arguments it was started with."""
    from .spec.load import load, solver_settings

    directory = pathlib.Path(directory)
    if not (directory / PROBLEM).exists() or not (directory / RUN).exists():
        raise ProblemError(f"{directory}: not a run directory (no {PROBLEM} and {RUN}); start one with 'neuralsolve solve'")
    problem = load(directory / PROBLEM)
    run = json.loads((directory / RUN).read_text())
    given = solver_settings(run["solver"], str(directory / RUN)) if run.get("solver") else {}  # a saved solve's
    seed = next((s for s in (run.get("seed"), given.get("seed"), problem.solver.get("seed")) if s is not None), 0)
    kwargs = {**given, "seed": seed}
    if problem.operator is not None:  # trained in epochs ([solver.training]), not phases
        if run.get("steps") is not None:
            kwargs["training"] = _epochs_for(problem, given, run["steps"])
    else:
        from .dispatch import family_for  # the family's own defaults: a neural ODE's are not the collocation ones

        named = given.get("phases") or problem.solver.get("phases")
        phases = list(named or family_for(problem, given).default_phases(problem))
        kwargs["phases"] = rescale(phases, run["steps"]) if run.get("steps") is not None else phases
    if run.get("precision") is not None:
        kwargs["precision"] = run["precision"]
    return problem, kwargs


def _epochs_for(problem: Problem, given: dict, steps: int):
    """An operator's training settings with about ``steps`` optimiser steps (whole epochs, at least one)."""
    from .methods.operator import Training

    training = given.get("training") or problem.solver.get("training") or Training()
    per = training.steps_per_epoch(problem.operator.train)
    return dataclasses.replace(training, epochs=max(1, round(steps / per)))


def rescale(phases: list, total: int) -> list:
    """Share ``total`` steps among phases in proportion to their budgets (each at least 1)."""
    budget = sum(p.steps for p in phases) or 1
    return [dataclasses.replace(p, steps=max(1, round(total * p.steps / budget))) for p in phases]


def finish(directory, problem: Problem, family, solution: Solution, seed: int, profile=None,
           report: bool = True, announce: Callable | None = None, helpers=None) -> tuple[dict, list]:  # fmt: skip
    """Write the outputs of a finished (or stopped) solve of the run in ``directory``: metrics.json,
    history.json, solution.npz and (``report``) the plots and report.html. Returns the metrics and
    the files written; without ``report``, the plots and report.html of an earlier solve in
    ``directory`` are removed. ``profile`` (optional) times the parts; its breakdown is kept in the metrics.
    ``announce(metrics)`` (optional) is called once the data are written, before the plots: the
    answer can be given while they are drawn. ``helpers`` (optional,
    :class:`~neuralsolve.report.drawing.Helpers`) draw the plots."""
    import contextlib

    from .report.outputs import metrics_record, render_report, write_data

    directory = pathlib.Path(directory)
    span = profile.span if profile is not None else (lambda _: contextlib.nullcontext())
    wall = solution.history[-1]["elapsed"] if solution.history else 0.0  # includes time before a resume
    metrics = metrics_record(problem, family, solution, wall, seed)
    with span("data"):
        files = write_data(directory, problem, solution, metrics)
    if announce is not None:
        announce(metrics)
    if report:
        with span("report"):
            files += render_report(directory, problem, family, helpers)
    else:
        _remove_report(directory)
    if profile is not None:
        metrics["profile"] = profile.breakdown(solution.spans)
    write_json(directory / METRICS, metrics)
    return metrics, files


def _remove_report(directory: pathlib.Path) -> None:
    """Remove an earlier solve's report.html from ``directory`` with the plots it shows (they
    would show another solution), and nothing else: the plots are found by their names in it."""
    from .report.page import shown_plots

    report = directory / "report.html"
    if report.exists():
        for name in shown_plots(report.read_text(errors="replace")):
            (directory / name).unlink(missing_ok=True)
        report.unlink()


def write_json(path, value) -> None:
    """Write ``value`` as JSON so that a reader never sees half a file (a temporary file, renamed)."""
    path = pathlib.Path(path)
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(json.dumps(value, indent=2))
    scratch.replace(path)


def open(directory) -> Solution:  # noqa: A001 - the public name is neuralsolve.open
    """Reopen a saved solve: a :class:`Solution` callable on points exactly like the one ``solve`` gave."""
    from .dispatch import prepare

    directory = pathlib.Path(directory)
    problem, kwargs = settings(directory)
    saved = json.loads((directory / METRICS).read_text()) if (directory / METRICS).exists() else {}
    family, resolved = prepare(problem, kwargs)
    sol = family.reopen(problem, resolved, Checkpoint(directory), saved)
    if sol is None:
        raise ProblemError(f"{directory}: no checkpoints: the solve saved nothing yet")
    sol.remember(problem, resolved, Checkpoint(directory))
    return sol


def save(solution: Solution, directory, *, overwrite: bool = False) -> pathlib.Path:
    """Write a solve made in Python as a run directory, the one ``neuralsolve solve`` writes
    (problem.toml, run.json, checkpoints, metrics.json, history.json, solution.npz, plots,
    report.html), so that ``neuralsolve report DIR``, ``neuralsolve resume DIR`` and :func:`open`
    work on it. ``solution.save(DIR)`` is the same.

    problem.toml is the problem file's own text for a problem loaded from one, else the problem
    written as a problem file; run.json holds the resolved settings as a ``[solver]`` table, so
    the run reads back with exactly the settings it was solved with.

    Raises:
        ProblemError: for a solution not made by ``neuralsolve.solve`` or ``open``, a problem with
            no problem-file form yet (naming what: a Python function as an equation, a disk, ...),
            or a ``directory`` that holds another run (unless ``overwrite``).
    """
    from .spec.dump import solver_table

    directory = pathlib.Path(directory)
    problem, resolved, checkpoint = solution.problem, solution.settings, solution.checkpoint
    if problem is None or resolved is None or checkpoint is None:
        raise ProblemError("only a solution returned by neuralsolve.solve or neuralsolve.open can be saved")
    texts = {PROBLEM: problem_text(problem, resolved),
             RUN: json.dumps({"steps": None, "precision": None, "seed": None, "solver": solver_table(resolved)})}
    with tempfile.TemporaryDirectory() as scratch:  # the data files of a problem built in Python, written here
        data = _data_files(problem, pathlib.Path(scratch))  # the data files the problem file names, beside it
        _check_reads_back(texts, data, problem, resolved)  # before anything is written
        return _write_run(solution, directory, texts, data, overwrite)


def _write_run(solution: Solution, directory: pathlib.Path, texts: dict, data: dict, overwrite: bool) -> pathlib.Path:
    """:func:`save`'s writing, once everything was checked."""
    from .dispatch import family_for
    from .report.outputs import metrics_record, render_report, write_data

    problem, resolved, checkpoint = solution.problem, solution.settings, solution.checkpoint
    if not (checkpoint.states if isinstance(checkpoint, Recorder) else _saved_files(checkpoint)):
        raise ProblemError("the solve saved no training state (it stopped before its first steps); nothing to save")
    in_place = _directory_of(checkpoint) == directory.resolve()  # a reopened run saved where it lies
    if (directory / PROBLEM).exists() and not (overwrite or in_place):
        raise ProblemError(f"{directory} already holds a run ({PROBLEM}); save elsewhere or pass overwrite=True")
    directory.mkdir(parents=True, exist_ok=True)
    if not in_place:
        for old in directory.glob("checkpoint*.npz"):  # another run's states must not be resumed
            old.unlink()
        _write_checkpoints(checkpoint, directory)
    for name, text in texts.items():
        (directory / name).write_text(text)
    _copy_data(data, directory)
    family = family_for(problem, resolved)
    wall = solution.history[-1]["elapsed"] if solution.history else 0.0
    write_data(directory, problem, solution, metrics_record(problem, family, solution, wall, resolved["seed"]))
    render_report(directory, settings(directory)[0], family)  # from the files, as ``neuralsolve report`` does
    return directory


def problem_text(problem: Problem, resolved: dict | None = None) -> str:
    """The problem file of a run: the file's own text for a problem loaded from one, else the
    problem written as a problem file (a ProblemError names what has no problem-file form), with
    the method it was solved by when that is not the default (the file must read back as the
    same kind of problem)."""
    from .spec.dump import problem_table, to_toml

    if problem.source is not None:
        return problem.source
    table = problem_table(problem)
    method = (resolved or {}).get("method")
    if method not in (None, "pinn"):
        table["solver"] = {"method": method}
    return to_toml(table)


def _data_files(problem: Problem, scratch: pathlib.Path) -> dict[str, pathlib.Path]:
    """The data files a problem file reads (as written in it -> where they are); a problem built in
    Python has its data sets written to ``scratch`` as the files its problem file will name."""
    from .spec.dump import data_texts
    from .spec.load import data_files

    if problem.source is None:
        texts = data_texts(problem)
        for name, text in texts.items():
            (scratch / name).write_text(text)
        return {name: scratch / name for name in texts}
    if problem.source_path is None:
        return {}
    folder = pathlib.Path(problem.source_path).parent
    return {name: folder / name for name in data_files(problem.source_path)}


def _copy_data(data: dict[str, pathlib.Path], directory: pathlib.Path) -> None:
    for name, found in data.items():
        target = pathlib.Path(directory) / name
        if found.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, target)


def _check_reads_back(texts: dict, data: dict, problem: Problem, resolved: dict) -> None:
    """Refuse to save a run whose files would read back as another problem or other settings."""
    from .dispatch import prepare
    from .loss.terms import term_names

    with tempfile.TemporaryDirectory() as tmp:
        for name, text in texts.items():
            (pathlib.Path(tmp) / name).write_text(text)
        _copy_data(data, pathlib.Path(tmp))
        loaded, kwargs = settings(tmp)
        _, again = prepare(loaded, kwargs)
    differs = [what for what, a, b in [
        ("fields", loaded.fields, problem.fields), ("coordinates", loaded.domain.coords, problem.domain.coords),
        ("loss terms", term_names(loaded), term_names(problem)), ("exact solutions", set(loaded.exact), set(problem.exact)),
        ("settings", again, resolved)] if a != b]  # fmt: skip
    if differs:
        raise ProblemError(f"cannot save this solve yet: its problem file would read back with other {', '.join(differs)}")


def _directory_of(checkpoint: Checkpoint) -> pathlib.Path | None:
    """The directory of a checkpoint on disk (None for one kept in memory)."""
    return None if isinstance(checkpoint, Recorder) else checkpoint.path.parent.resolve()


def _write_checkpoints(checkpoint: Checkpoint, directory: pathlib.Path) -> None:
    """The solve's training states as the run directory's checkpoint files (named as ``open`` reads them)."""
    if isinstance(checkpoint, Recorder):
        checkpoint.write(directory)
        return
    stem = checkpoint.path.name.removesuffix(".npz")
    for found in _saved_files(checkpoint):  # checkpoint.npz, checkpoint.state0.npz, ...
        shutil.copyfile(found, directory / (FILE.removesuffix(".npz") + found.name[len(stem):]))


def _saved_files(checkpoint: Checkpoint) -> list[pathlib.Path]:
    """The files of a checkpoint on disk and of its states or windows (not half-written ones)."""
    stem = checkpoint.path.name.removesuffix(".npz")
    return [f for f in checkpoint.path.parent.glob(f"{stem}*.npz") if ".tmp." not in f.name]
