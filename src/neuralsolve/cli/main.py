"""The ``neuralsolve`` command: thin commands that parse, call the library and print.

Heavy modules (JAX, the library itself) are imported inside commands so ``--version`` stays fast.
Bad input prints one line ``error: FILE:LINE: key: cause`` and exits with status 2.
"""

from __future__ import annotations

import pathlib
import sys
from importlib import metadata

import click

from .bench import bench
from .cluster import generate, sweep, tune
from .examples import examples
from .linear import linear


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


NO_REPORT_HELP = ("write the data only (metrics, history, solution): no plots and no report.html, about a "
                  "second less; draw them later with 'neuralsolve report DIR'")  # fmt: skip


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Validate a problem FILE without solving it."""
    from ..spec.load import load

    problem = load(file)
    if problem.operator is not None:
        from .plan import operator_plan

        click.echo(f"{file}: ok — {problem.name!r}")
        for line in operator_plan(problem):
            click.echo(line)
        return
    exact = "; ".join(list(problem.exact) + (["eigenvalues"] if getattr(problem, "exact_eigenvalue", None) else [])) or "none"
    click.echo(f"{file}: ok — {problem.name!r}: fields {', '.join(problem.fields)} on "
               f"{', '.join(problem.domain.coords)}; {len(problem.equations)} equation(s), "
               f"{len(problem.hard) + len(problem.shape_hard)} exact and {len(problem.penalties)} penalty condition term(s); "
               f"exact solution for: {exact}")  # fmt: skip
    from ..dispatch import prepare
    from .plan import inverse_plan, march_plan, reference_plan, rounding_plan, trajectory_plan

    if problem.inverse:
        click.echo(f"learns: {inverse_plan(problem)}")
    for line in rounding_plan(problem):
        click.echo(line)

    family, settings = prepare(problem, {})
    if family.name == "march":
        click.echo(march_plan(problem, settings["windows"]))
    if settings.get("method") == "neural-ode":  # checked against its data, not a reference solution
        ode = settings["ode"]
        click.echo(f"method: neural-ode ({ode.integrator}, rtol {ode.rtol:g}, atol {ode.atol:g}, adjoint {ode.adjoint})")
        click.echo(f"reference: {trajectory_plan(problem, settings)}")
    else:
        click.echo(f"reference: {reference_plan(problem)}")


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
@click.option("--force", is_flag=True, help="solve in --out even if it holds a run of another problem (it is lost)")
@click.option("--no-report", "no_report", is_flag=True, help=NO_REPORT_HELP)
def solve(file: str, out: str | None, steps: int | None, precision: str | None, seed: int | None,
          checkpoint_every: float, show_profile: bool, force: bool, no_report: bool) -> None:  # fmt: skip
    """Solve a problem FILE and write metrics, solution, plots and a report."""
    from ..report.drawing import helping

    with helping(not no_report) as helpers:  # first: they start while this process does
        profile = _start_profile()
        from .. import rundir
        from ..spec.load import load

        with profile.span("load"):
            load(file)  # validate before anything is written
            out = out or pathlib.Path("runs") / pathlib.Path(file).stem
            if not force:
                _refuse_to_replace(pathlib.Path(out), pathlib.Path(file))
            out_dir = rundir.create(out, file, steps=steps, precision=precision, seed=seed)
        _run(out_dir, checkpoint_every, resume=False, profile=profile, show_profile=show_profile, helpers=helpers)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="seconds between checkpoints")  # fmt: skip
@click.option("--profile", "show_profile", is_flag=True, help="print where the time went")
@click.option("--no-report", "no_report", is_flag=True, help=NO_REPORT_HELP)
def resume(directory: str, checkpoint_every: float, show_profile: bool, no_report: bool) -> None:
    """Continue a stopped or killed solve in DIRECTORY from its last checkpoint."""
    from ..report.drawing import helping

    with helping(not no_report) as helpers:
        _run(pathlib.Path(directory), checkpoint_every, resume=True, profile=_start_profile(),
             show_profile=show_profile, helpers=helpers)  # fmt: skip


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
def report(directory: str) -> None:
    """Re-render the plots and report.html of a finished solve in DIRECTORY (no training)."""
    from .. import rundir
    from ..dispatch import family_for
    from ..report.drawing import helping
    from ..report.outputs import render_report

    with helping() as helpers:
        problem, kwargs = rundir.settings(directory)
        if not (pathlib.Path(directory) / "solution.npz").exists():
            from .._errors import ProblemError

            raise ProblemError(f"{directory}: no solution.npz yet; finish the solve with 'neuralsolve resume {directory}'")
        files = render_report(pathlib.Path(directory), problem, family_for(problem, kwargs), helpers)
    click.echo(f"wrote {', '.join(p.name for p in files)} in {directory}/")


def _refuse_to_replace(out: pathlib.Path, file: pathlib.Path) -> None:
    """A ProblemError if ``out`` holds a run of another problem file: solving there would discard
    its checkpoint (an unfinished run could no longer be resumed) and its results."""
    from .. import rundir
    from .._errors import ProblemError

    held = out / rundir.PROBLEM
    if not held.exists() or held.read_bytes() == file.read_bytes():
        return  # nothing there, or the same problem solved again
    kept = [p.name for p in sorted(out.glob("checkpoint*.npz"))] + [p for p in (rundir.METRICS, "report.html") if (out / p).exists()]
    raise ProblemError(f"{out}: holds a run of another problem ({', '.join(kept) or rundir.PROBLEM}); solving "
                       f"{file} there would lose it: choose another --out, continue it with 'neuralsolve resume "
                       f"{out}', or pass --force")  # fmt: skip


def _start_profile():
    """A profile of this command, recording JAX's compilations, with the compilation cache on."""
    from ..compile_cache import enable_compilation_cache
    from .profile import Profile

    profile = Profile()
    profile.listen()
    enable_compilation_cache()
    return profile


def _run(out_dir: pathlib.Path, checkpoint_every: float, resume: bool, profile, show_profile: bool, helpers) -> None:
    """Solve (or resume) the run in ``out_dir`` with progress, then write every output, the plots
    and report drawn by ``helpers`` (none: no report). Ctrl-C stops training and still writes the
    results so far; a second Ctrl-C skips them (the training state is saved either way)."""
    from .. import rundir
    from ..dispatch import prepare
    from ..dispatch import solve as run_solve
    from ..train.checkpoint import Checkpoint
    from .progress import Progress

    with profile.span("load"):
        problem, kwargs = rundir.settings(out_dir)
        family, settings = prepare(problem, kwargs)
    total = family.total_steps(problem, settings)
    start = _resumed_at(out_dir, family, problem, settings, total) if resume else 0
    try:
        with _interruptible(), Progress(total, start) as progress:
            sol = run_solve(problem, **kwargs, callback=progress.update, resume=resume,
                            checkpoint=Checkpoint(out_dir, every=checkpoint_every))  # fmt: skip
        _finish(out_dir, problem, family, sol, kwargs, profile, show_profile, helpers)
    except KeyboardInterrupt:
        saved = family.steps_saved(problem, settings, Checkpoint(out_dir))
        click.echo("stopped without writing the results; " + (
            f"the training state at step {saved} is saved: continue with: neuralsolve resume {out_dir}"
            if saved is not None else "no optimiser step had finished, so nothing was saved"), err=True)  # fmt: skip
        sys.exit(130)
    if sol.status == "interrupted":
        click.echo(f"continue with: neuralsolve resume {out_dir}")
    sys.exit(EXIT_CODES.get(sol.status, 1))


# the exit status of a solve by its status: 1 for a failed or disagreeing solve, 130 (as for
# SIGINT) for one stopped by Ctrl-C
EXIT_CODES = {"ok": 0, "interrupted": 130}


def _resumed_at(out_dir: pathlib.Path, family, problem, settings: dict, total: int) -> int:
    """The step a resumed solve starts from, said on the terminal; a ProblemError if there is no
    checkpoint to resume (resume never silently starts afresh)."""
    from .._errors import ProblemError
    from ..train.checkpoint import Checkpoint

    at = family.steps_saved(problem, settings, Checkpoint(out_dir))
    if at is None:
        raise ProblemError(f"{out_dir}: no checkpoint to resume from (the solve saved no training state); "
                           f"start it again with 'neuralsolve solve {out_dir}/problem.toml --out {out_dir}'")  # fmt: skip
    click.echo(f"resuming from step {at} of {total}")
    return at


def _interruptible():
    """While solving: the first Ctrl-C says at once what happens next and asks training to stop
    after the compiled chunk it is in (its state is then saved whole and the results so far are
    written); a second one stops everything at once (KeyboardInterrupt)."""
    import contextlib
    import signal

    from ..train.fit import STOP

    def handler(signum, frame):
        if STOP.is_set():
            raise KeyboardInterrupt
        STOP.set()
        click.echo("\nCtrl-C: stopping training after its current chunk of steps, saving its state and "
                   "writing the results so far (Ctrl-C again to stop at once)", err=True)  # fmt: skip

    @contextlib.contextmanager
    def installed():
        STOP.clear()
        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            STOP.clear()

    return installed()


def _finish(out_dir: pathlib.Path, problem, family, sol, kwargs: dict, profile, show_profile: bool, helpers) -> None:
    """Write the outputs of a solve (the report too unless ``helpers`` is None) and print its
    verdict, errors and where the results are."""
    from .. import rundir
    from ..report.inverse import summary_lines
    from .profile import table

    def announce(metrics: dict) -> None:  # the answer, said while the plots are drawn
        click.echo(f"{sol.status}: {sol.message}")
        click.echo(_accuracy_line(metrics))
        if "eigenvalues" in metrics:
            errs = metrics.get("eigenvalue_errors") or [None] * len(metrics["eigenvalues"])
            click.echo("eigenvalues: " + ", ".join(f"{v:.10g}" + (f" (rel. error {e:.1e})" if e is not None else "")
                                                   for v, e in zip(metrics["eigenvalues"], errs)))  # fmt: skip
        for line in summary_lines(problem, metrics):  # an inverse solve's estimates and formulas
            click.echo(line)

    report = helpers is not None
    metrics, files = rundir.finish(out_dir, problem, family, sol, kwargs["seed"], profile, report, announce=announce,
                                   helpers=helpers)  # fmt: skip
    click.echo(f"results in {out_dir}/ ({', '.join(p.name for p in files)})")
    if not report:
        click.echo(f"plots and report.html: neuralsolve report {out_dir}")
    if show_profile:
        click.echo(table(metrics["profile"]))


def _accuracy_line(metrics: dict) -> str:
    """The relative L2 errors, saying against what they were measured, and the residual."""
    errors = metrics["l2_relative_error"] or {}
    if "test_relative_l2" in metrics:  # a neural operator: against its test samples, at each resolution
        shots = ", ".join(f"{s} {e:.2e}" for s, e in (metrics.get("zero_shot") or {}).items())
        own = metrics.get("reference_error_estimate")
        data = f" (its data accurate to about {own:.1e})" if own is not None else ""
        floor = (metrics.get("sampling_floor") or {}).get(str(metrics["grid"]["resolution"]))
        below = f" (the solver itself from the same {metrics['grid']['resolution']}-point inputs: {floor:.2e})" if floor else ""
        return (f"test relative L2 error against the {metrics.get('reference_method')}{data}: {metrics['test_relative_l2']:.2e} "
                f"at resolution {metrics['grid']['resolution']}{below}" + (f"; zero-shot at {shots}" if shots else ""))  # fmt: skip
    if not errors and metrics.get("residual_rms") is None:  # a neural ODE: its equations hold by construction
        return "checked against the data: see the misfit below (the equations are solved, not penalised)"
    if not errors:
        return f"no reference to compare with (no exact solution, no classical reference); residual RMS {metrics['residual_rms']:.2e}"
    from ..dispatch import reference_name

    against = reference_name(metrics) or "the reference"
    summary = ", ".join(f"{f} {e:.2e}" for f, e in errors.items())
    own = metrics.get("reference_error_estimate")
    if metrics.get("reference") == "classical" and own is not None:  # what the reference itself is worth
        against += f", itself accurate to about {own:.1e}"
    return f"relative L2 error against {against}: {summary}; residual RMS {metrics['residual_rms']:.2e}"


main.add_command(examples)
main.add_command(bench)
main.add_command(linear)
main.add_command(sweep)
main.add_command(tune)
main.add_command(generate)

if __name__ == "__main__":
    main()
