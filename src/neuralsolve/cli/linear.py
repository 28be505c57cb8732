"""``neuralsolve linear``: train a learned linear solver for a family of systems, and measure it
against the classical solvers on held-out systems; learned relaxation over a sequence of systems."""

from __future__ import annotations

import json
import pathlib

import click

from .._errors import ProblemError


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ProblemError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ProblemError(f"{what}: expected positive numbers, got {text!r}")
    return values


def _grids(text: str) -> list[int]:
    values = _floats(text, "--grids")
    if any(v != int(v) or int(v) < 8 or int(v) & (int(v) - 1) for v in values):
        raise ProblemError(f"--grids: cells per side must be powers of two >= 8, got {text!r}")
    return [int(v) for v in values]


@click.group()
def linear() -> None:
    """Learned solvers for families of sparse linear systems (see docs/linear-solvers.md)."""


@linear.command()
@click.argument("kind", type=click.Choice(["diffusion", "obstacles-dirichlet", "obstacles-neumann"]))
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="model file to write (.eqx + .json)")
@click.option("--cells", type=int, default=32, show_default=True, help="training grid, cells per side (a power of two)")
@click.option("--steps", type=click.IntRange(min=1), default=2000, show_default=True, help="Adam steps")
@click.option("--systems", "n_systems", type=click.IntRange(min=1), default=64, show_default=True,
              help="systems drawn from the family for training")  # fmt: skip
@click.option("--samples", type=click.IntRange(min=1), default=2048, show_default=True, help="training right-hand sides")
@click.option("--width", type=click.IntRange(min=1), default=12, show_default=True, help="channels of the network")
@click.option("--sizes", type=click.IntRange(min=1, max=4), default=2, show_default=True,
              help="training grids: --cells, twice as fine, ... (two teach the shared levels to extrapolate)")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--resume", is_flag=True, help="continue from the checkpoint next to --out")
@click.option("--start", type=click.Path(dir_okay=False),
              help="a trained model to go on from (e.g. with one more, finer grid: --sizes 3)")  # fmt: skip
def train(kind: str, out: str, cells: int, steps: int, n_systems: int, samples: int, width: int, sizes: int,
          seed: int, resume: bool, start: str | None) -> None:  # fmt: skip
    """Train a direction network on systems of family KIND and save it to --out."""
    from ..linear import learn
    from .progress import Progress

    try:
        recipe = learn.Recipe(kind=kind, cells=cells, systems=n_systems, samples=samples, steps=steps, width=width,
                              sizes=sizes, seed=seed)  # fmt: skip
    except ValueError as err:
        raise ProblemError(f"--cells: {err}") from None
    first = _trained(start) if start else None
    if first is not None:
        try:
            learn.check_start(recipe, first[1])
        except ValueError as err:
            raise ProblemError(f"--start {start}: {err}") from None
    path = pathlib.Path(out)
    checkpoint = path.with_name(path.stem + ".checkpoint")
    with Progress(steps) as bar:
        network, info = learn.train(recipe, callback=bar.update, checkpoint=checkpoint, resume=resume, start=first)
    learn.save(network, info, path)
    click.echo(f"trained on {n_systems} {kind} systems at {cells}^2 cells in {info['training_seconds']:.1f} s "
               f"(loss {info['final_loss']:.3e}); saved {path.with_suffix('.eqx')}")  # fmt: skip


def _trained(model: str):
    """``(network, info)`` of the saved model ``model``, or one line saying there is none."""
    from ..linear import learn

    if not pathlib.Path(model).with_suffix(".eqx").exists():
        raise ProblemError(f"{model}: no trained model there (make one with `neuralsolve linear train`)")
    return learn.load(model)


@linear.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--grids", default="64,128,256,512", show_default=True, help="cells per side, comma-separated")
@click.option("--rtol", "rtols", default="1e-6,1e-8", show_default=True, help="relative residual tolerances")
@click.option("--count", type=click.IntRange(min=1), default=3, show_default=True, help="held-out systems per grid")
@click.option("--memory", type=click.IntRange(min=1), default=None,
              help="earlier directions each new one is made A-orthogonal to  [default: the solver's]")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), help="also write the rows as JSON")
def bench(model: str, grids: str, rtols: str, count: int, memory: int | None, json_file: str | None) -> None:
    """Compare the learned solver MODEL with CG, ILU-PCG, AMG and jax CG on held-out systems."""
    from rich.console import Console

    from ..linear import compare
    from ..linear.dcdm import MEMORY, LearnedSolver

    grid_list, rtol_list = _grids(grids), _floats(rtols, "--rtol")
    try:
        import pyamg  # noqa: F401  (the AMG baselines)
    except ImportError:
        raise ProblemError("linear bench needs PyAMG for its AMG baselines: pip install 'neuralsolve[linear]'") from None
    network, info = _trained(model)
    kind, training_s = info["recipe"]["kind"], info["training_seconds"]
    with Console(stderr=True).status("solving") as status:
        rows = compare.compare(kind, grid_list, rtol_list, count=count, learned=LearnedSolver(network, memory=memory or MEMORY),
                               progress=lambda d, t: status.update(f"solving {d}/{t}"))  # fmt: skip
    Console().print(table(rows, kind))
    even = compare.break_even(rows, training_s)
    for item in even:
        if item["against"] in ("ilu-pcg", "amg-pcg"):
            solves = f"{item['solves']:.0f} solves" if item["solves"] is not None else "never (the learned solve is slower)"
            click.echo(f"break-even against {item['against']} at {item['cells']}^2, rtol {item['rtol']:g}: {solves}")
    if json_file:
        pathlib.Path(json_file).write_text(json.dumps({"kind": kind, "training_s": training_s, "rows": rows,
                                                      "break_even": even}, indent=1))  # fmt: skip


@linear.command()
@click.option("--cells", type=click.IntRange(min=4), default=32, show_default=True, help="heat-equation grid, cells per side")
@click.option("--steps", type=click.IntRange(min=1), default=5000, show_default=True, help="systems in the sequence")
@click.option("--rtol", type=click.FloatRange(min=0, min_open=True), default=1e-8, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "json_file", type=click.Path(dir_okay=False), help="also write the result as JSON")
def relax(cells: int, steps: int, rtol: float, seed: int, json_file: str | None) -> None:
    """Learn the SSOR parameter over a sequence of heat-equation systems (a bandit), against fixed choices."""
    from rich.progress import Progress

    from ..linear.relax import relaxation_benchmark

    with Progress(transient=True) as bar:
        task = bar.add_task("systems", total=steps)
        result = relaxation_benchmark(cells, steps, rtol=rtol, seed=seed,
                                      progress=lambda done, total: bar.update(task, completed=done))  # fmt: skip
    t = result["totals"]
    click.echo(f"{steps} systems at {cells}^2 cells, rtol {rtol:g}: total SSOR-PCG iterations")
    click.echo(f"  bandit (Tsallis-INF)      {t['bandit']:>9}")
    click.echo(f"  best fixed ω = {t['best_fixed_omega']:<5.3g}     {t['best_fixed']:>9}  (in hindsight)")
    click.echo(f"  ω = 1                     {t['omega_one']:>9}")
    click.echo(f"  best ω for every system   {t['instance_optimal']:>9}  (a lower bound)")
    click.echo(f"bandit / best fixed {t['bandit_over_best_fixed']:.3f}; ω = 1 / bandit {t['omega_one_over_bandit']:.3f}; "
               f"{result['seconds']['total']:.0f} s")  # fmt: skip
    if json_file:
        pathlib.Path(json_file).write_text(json.dumps(result, indent=1))


def table(rows: list[dict], kind: str):
    """The comparison as a Rich table."""
    from rich.table import Table

    out = Table(title=f"{kind}: held-out systems")
    for name in ("cells", "rtol", "solver", "iterations", "setup s", "solve s", "total s", "converged"):
        out.add_column(name, justify="right")
    for r in rows:
        note = f" (CG after {r['learned_iterations']:.0f})" if r.get("fell_back") else ""
        iters = "-" if r["iterations"] is None else f"{r['iterations']:.1f}{note}"
        out.add_row(f"{r['cells']}^2", f"{r['rtol']:g}", r["solver"], iters, f"{r['setup_s']:.3f}", f"{r['solve_s']:.3f}",
                    f"{r['total_s']:.3f}", "yes" if r["converged"] else "NO")  # fmt: skip
    return out
