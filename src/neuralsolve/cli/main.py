"""The ``neuralsolve`` command: thin commands that parse, call the library and print.

Heavy modules (JAX, the library itself) are imported inside commands so ``--version`` stays fast.
Bad input prints one line ``error: FILE:LINE: key: cause`` and exits with status 2.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import time
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
    exact = "; ".join(problem.exact) or "none"
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
def solve(file: str, out: str | None, steps: int | None, precision: str | None, seed: int | None) -> None:
    """Solve a problem FILE and write metrics, solution, plots and a report."""
    from ..report.outputs import metrics_record, write_outputs
    from ..solve import solve as run_solve
    from ..spec.load import load
    from ..train.phases import default_phases
    from .progress import Progress

    problem = load(file)
    phases = list(problem.solver.get("phases") or default_phases())
    if steps is not None:
        phases = _rescale(phases, steps)
    seed = seed if seed is not None else problem.solver.get("seed", 0)
    out_dir = pathlib.Path(out or pathlib.Path("runs") / pathlib.Path(file).stem)
    start = time.perf_counter()
    with Progress(sum(p.steps for p in phases)) as progress:
        sol = run_solve(problem, phases=phases, precision=precision, seed=seed, callback=progress.update)
    metrics = metrics_record(problem, sol, time.perf_counter() - start, seed)
    files = write_outputs(out_dir, problem, sol, metrics)
    errors = metrics["l2_relative_error"] or {}
    summary = ", ".join(f"{f} {e:.2e}" for f, e in errors.items()) or "no exact solution given"
    click.echo(f"{sol.status}: {sol.message}. Relative L2 error: {summary}; residual RMS {metrics['residual_rms']:.2e}")
    click.echo(f"results in {out_dir}/ ({', '.join(p.name for p in files)})")
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


def _first_comment(path: pathlib.Path) -> str:
    line = path.read_text().splitlines()[0]
    return line.lstrip("# ").strip() if line.startswith("#") else ""


def _rescale(phases: list, total: int) -> list:
    """Share ``total`` steps among phases in proportion to their budgets (each at least 1)."""
    import dataclasses

    budget = sum(p.steps for p in phases) or 1
    return [dataclasses.replace(p, steps=max(1, round(total * p.steps / budget))) for p in phases]


if __name__ == "__main__":
    main()
