"""The ``neuralsolve`` command: thin commands that parse, call the library and print.

Heavy modules (JAX, the library itself) are imported inside commands so ``--version`` stays fast.
Bad input prints one line ``error: FILE:LINE: key: cause`` and exits with status 2.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
from importlib import metadata

import click

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


def _version() -> str:
    try:
        return metadata.version("neuralsolve")
    except metadata.PackageNotFoundError:
        return "unknown"


class _Cli(click.Group):
    """Turns user errors into one line and exit status 2, wherever they are raised."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except Exception as err:
            from .._errors import ProblemError

            if isinstance(err, ProblemError):
                click.echo(f"error: {err}", err=True)
                sys.exit(2)
            raise


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="neuralsolve")
def main() -> None:
    """Solve differential equations with neural networks, and know how accurate the answer is."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Validate a problem FILE without solving it."""
    from ..spec.load import load

    problem = load(file)
    exact = "; ".join(list(problem.exact) + (["eigenvalues"] if getattr(problem, "exact_eigenvalue", None) else [])) or "none"
    click.echo(f"{file}: ok — {problem.name!r}: fields {', '.join(problem.fields)} on "
               f"{', '.join(problem.domain.coords)}; {len(problem.equations)} equation(s), "
               f"{len(problem.hard)} exact and {len(problem.penalties)} penalty condition term(s); "
               f"exact solution for: {exact}")  # fmt: skip


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="output folder (default runs/<file name>)")
@click.option("--steps", type=click.IntRange(min=1), help="total optimiser steps, shared among phases as in the file")
@click.option("--precision", type=click.Choice(["float32", "float64"]), help="overrides [solver] precision")
@click.option("--seed", type=click.IntRange(min=0), help="overrides [solver] seed")
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="seconds between checkpoints (also saved on Ctrl-C and at the end)")  # fmt: skip
@click.option("--profile", "show_profile", is_flag=True,
              help="print where the time went (start-up, compilation, steps, metrics, outputs)")
def solve(file: str, out: str | None, steps: int | None, precision: str | None, seed: int | None,
          checkpoint_every: float, show_profile: bool) -> None:  # fmt: skip
    """Solve a problem FILE and write metrics, solution, plots and a report."""
    profile = _start_profile()
    from .. import rundir
    from ..spec.load import load

    with profile.span("load"):
        load(file)  # validate before anything is written
        out_dir = rundir.create(out or pathlib.Path("runs") / pathlib.Path(file).stem, file,
                                steps=steps, precision=precision, seed=seed)  # fmt: skip
    _run(out_dir, checkpoint_every, resume=False, profile=profile, show_profile=show_profile)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="seconds between checkpoints")  # fmt: skip
@click.option("--profile", "show_profile", is_flag=True, help="print where the time went")
def resume(directory: str, checkpoint_every: float, show_profile: bool) -> None:
    """Continue a stopped or killed solve in DIRECTORY from its last checkpoint."""
    _run(pathlib.Path(directory), checkpoint_every, resume=True, profile=_start_profile(), show_profile=show_profile)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
def report(directory: str) -> None:
    """Re-render the plots and report.html of a finished solve in DIRECTORY (no training)."""
    from .. import rundir
    from ..dispatch import family_for
    from ..report.outputs import render_report

    problem, kwargs = rundir.settings(directory)
    if not (pathlib.Path(directory) / "solution.npz").exists():
        from .._errors import ProblemError

        raise ProblemError(f"{directory}: no solution.npz yet; finish the solve with 'neuralsolve resume {directory}'")
    files = render_report(pathlib.Path(directory), problem, family_for(problem, kwargs))
    click.echo(f"wrote {', '.join(p.name for p in files)} in {directory}/")


def _start_profile():
    """A profile of this command, recording JAX's compilations, with the compilation cache on."""
    from ..compile_cache import enable_compilation_cache
    from .profile import Profile

    profile = Profile()
    profile.listen()
    enable_compilation_cache()
    return profile


def _preloading(callback):
    """``callback``, which on its first call (training has compiled and is running) starts importing
    the plotting library in the background: it takes most of a second, which then overlaps the
    optimiser steps (compiled code, which leaves the interpreter free) instead of following them."""
    started = []

    def relay(record):
        if not started:
            import threading
            from importlib import import_module

            threading.Thread(target=import_module, args=("neuralsolve.report.plots",), daemon=True).start()
            started.append(True)
        callback(record)

    return relay


def _run(out_dir: pathlib.Path, checkpoint_every: float, resume: bool, profile, show_profile: bool) -> None:
    """Solve (or resume) the run in ``out_dir`` with a progress bar, then write every output."""
    import json

    from .. import rundir
    from ..dispatch import prepare
    from ..dispatch import solve as run_solve
    from ..report.outputs import metrics_record, render_report, write_data
    from ..train.checkpoint import Checkpoint
    from .profile import table
    from .progress import Progress

    with profile.span("load"):
        problem, kwargs = rundir.settings(out_dir)
        family, settings = prepare(problem, kwargs)
    with Progress(family.rounds(problem, settings) * sum(p.steps for p in kwargs["phases"])) as progress:
        sol = run_solve(problem, **kwargs, callback=_preloading(progress.update), resume=resume,
                        checkpoint=Checkpoint(out_dir, every=checkpoint_every))  # fmt: skip
    wall = sol.history[-1]["elapsed"] if sol.history else 0.0  # includes time before a resume
    metrics = metrics_record(problem, family, sol, wall, kwargs["seed"])
    with profile.span("data"):
        files = write_data(out_dir, problem, sol, metrics)
    with profile.span("report"):
        files += render_report(out_dir, problem, family)
    metrics["profile"] = profile.breakdown(sol.spans)
    (out_dir / rundir.METRICS).write_text(json.dumps(metrics, indent=2))
    errors = metrics["l2_relative_error"] or {}
    summary = ", ".join(f"{f} {e:.2e}" for f, e in errors.items()) or "no exact solution given"
    click.echo(f"{sol.status}: {sol.message}. Relative L2 error: {summary}; residual RMS {metrics['residual_rms']:.2e}")
    if "eigenvalues" in metrics:
        errs = metrics.get("eigenvalue_errors") or [None] * len(metrics["eigenvalues"])
        click.echo("eigenvalues: " + ", ".join(f"{v:.10g}" + (f" (rel. error {e:.1e})" if e is not None else "")
                                               for v, e in zip(metrics["eigenvalues"], errs)))  # fmt: skip
    click.echo(f"results in {out_dir}/ ({', '.join(p.name for p in files)})")
    if show_profile:
        click.echo(table(metrics["profile"]))
    if sol.status == "interrupted":
        click.echo(f"continue with: neuralsolve resume {out_dir}")
    if sol.status != "ok":
        sys.exit(1)


@main.command()
@click.argument("name", required=False)
@click.option("--to", "dest", type=click.Path(), default=".", help="folder to copy the example into")
def examples(name: str | None, dest: str) -> None:
    """List the bundled problem files, or copy example NAME out."""
    files = {p.stem: p for p in sorted(EXAMPLES.glob("*.toml"))}
    if name is None:
        for stem, path in files.items():
            click.echo(f"{stem:<16} {_first_comment(path)}")
        return
    if name.removesuffix(".toml") not in files:
        from .._errors import ProblemError

        raise ProblemError(f"no bundled example {name!r}; available: {', '.join(files)}")
    target = pathlib.Path(dest)
    target = target / f"{name.removesuffix('.toml')}.toml" if target.is_dir() else target
    shutil.copyfile(files[name.removesuffix(".toml")], target)
    click.echo(f"copied to {target}")


@main.command()
@click.argument("names", nargs=-1)
@click.option("--peer", type=click.Choice(["deepxde"]), help="also run DeepXDE's published example of each problem")
@click.option("--peer-python", type=click.Path(dir_okay=False), envvar="NEURALSOLVE_PEER_PYTHON",
              help="the peer's Python (default: .venv-bench/bin/python of the checkout; env NEURALSOLVE_PEER_PYTHON)")
@click.option("--peer-time", metavar="matched|full|SECONDS",
              help="the peer's training time: neuralsolve's wall time on the same problem (matched, the default), "
                   "DeepXDE's published budgets (full) or a fixed cap in seconds")  # fmt: skip
@click.option("--time-limit", metavar="SECONDS|peer",
              help="cap neuralsolve's training at SECONDS on every problem, or (with --peer) run the peer first "
                   "and keep neuralsolve's wall time within the peer's (peer)")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=1), help="cap every optimiser phase at N steps (smoke tests)")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), help="write all figures, machine and recipes here")
def bench(names: tuple[str, ...], peer: str | None, peer_python: str | None, peer_time: str | None,
          time_limit: str | None, steps: int | None, json_file: str | None) -> None:  # fmt: skip
    """Run benchmark problems NAMES (default: all) and compare with their trusted references."""
    import json

    from rich.console import Console

    from ..bench import peer as peers
    from ..bench.record import record, table
    from ..bench.runner import run_bench, select

    chosen = select(names)
    limit, mode = _time_limits(peer, peer_time, time_limit)  # these checks come before any training
    python = peers.peer_python(peer_python) if peer else None
    rows = run_bench(chosen, steps=steps, time_limit=limit, peer=peer, python=python, peer_mode=mode,
                     echo=lambda line: click.echo(line, err=True))  # fmt: skip
    Console(width=None if sys.stdout.isatty() else 160).print(table(rows))  # files and pipes get whole lines
    if json_file:
        options = {"problems": {b.name: b.source for b in chosen}, "peer": peer, "steps": steps,
                   "peer_time": None if mode is None else peers.mode_name(mode),
                   "peer_time_s": mode if isinstance(mode, float) else None, "time_limit": limit}  # fmt: skip
        pathlib.Path(json_file).write_text(json.dumps(record(rows, options), indent=1))
        click.echo(f"wrote {json_file}", err=True)


def _time_limits(peer: str | None, peer_time: str | None, given: str | None) -> tuple:
    """The parsed ``--time-limit`` (None, "peer" or seconds) and ``--peer-time`` (None without a
    peer); ``--time-limit peer`` needs a peer, runs it with its full budgets unless ``--peer-time``
    says otherwise, and cannot be matched to neuralsolve in turn. Errors are ProblemErrors."""
    from .._errors import ProblemError
    from ..bench.runner import PEER_LIMIT, parse_time_limit

    try:
        limit = parse_time_limit(given)
    except ValueError as err:
        raise ProblemError(f"--time-limit: {err}") from None
    if limit != PEER_LIMIT:
        return limit, _peer_time(peer, peer_time)
    if peer is None:
        raise ProblemError("--time-limit peer needs --peer: it keeps neuralsolve within the peer's wall time")
    mode = _peer_time(peer, "full" if peer_time is None else peer_time)
    if mode == "matched":  # each tool's time would be set by the other's
        raise ProblemError("--time-limit peer cannot be combined with --peer-time matched; use full or SECONDS")
    return limit, mode


def _peer_time(peer: str | None, given: str | None) -> str | float | None:
    """The parsed ``--peer-time`` (None without a peer); a bad value or one without --peer is a ProblemError."""
    from .._errors import ProblemError
    from ..bench.peer import parse_peer_time

    if peer is None:
        if given is not None:
            raise ProblemError("--peer-time needs --peer")
        return None
    try:
        return parse_peer_time(given)
    except ValueError as err:
        raise ProblemError(f"--peer-time: {err}") from None


def _first_comment(path: pathlib.Path) -> str:
    line = path.read_text().splitlines()[0]
    return line.lstrip("# ").strip() if line.startswith("#") else ""


if __name__ == "__main__":
    main()
