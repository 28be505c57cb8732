"""``neuralsolve sweep``, ``tune`` and ``generate``: many solves, as Ray tasks (a local Ray, or a
cluster by ``--address``), or one after another in this process without Ray."""

from __future__ import annotations

import pathlib
import sys
import time

import click

from .._errors import ProblemError


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="NAME=V1,V2,...",
              help="values of a [parameters] entry (k=1,2) or a [solver] setting (network.width=16,32); repeat for more")
@click.option("--seeds", metavar="START:STOP", help="solve each combination with these seeds (0:5: seeds 0 to 4; or 0,3,7)")
@click.option("--out", type=click.Path(file_okay=False), help="the sweep's folder (default sweeps/<file name>)")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="continue the sweep in this folder: finished members are kept, stopped ones resume")
@click.option("--address", help="a running Ray cluster (host:port, or 'auto'); default: a local Ray started for the sweep")
@click.option("--workers", type=click.IntRange(min=1),
              help="members solved at once (default: one per CPU of the local Ray, or of the cluster; 1: in this process, without Ray)")
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="seconds between a member's checkpoints")
@click.option("--member-reports", is_flag=True,
              help="render each member's plots and report.html too (else: neuralsolve report DIR/MEMBER)")  # fmt: skip
def sweep(file, sets, seeds, out, resume_dir, address, workers, checkpoint_every, member_reports) -> None:
    """Solve problem FILE for every combination of --set values (and --seeds), one run directory each."""
    from ..cluster import sweep as sweeps
    from ..cluster.engines import choose
    from ..compile_cache import enable_compilation_cache

    enable_compilation_cache()  # as for solve: members of one shape compile once (Ray workers turn it on too)
    chosen = _sweep_of(file, sets, seeds, out, resume_dir)
    engine, note = choose(address, workers, checkpoint_every, member_reports)
    if note:
        click.echo(note, err=True)
    table = Table(chosen, engine)
    try:
        with table:
            sweeps.run(chosen, engine, on_change=table.ended)
    except KeyboardInterrupt:
        click.echo(f"\nstopped; finished members are kept and stopped ones resume from their checkpoints: "
                   f"neuralsolve sweep --resume {chosen.directory}", err=True)  # fmt: skip
        sys.exit(130)
    finally:
        engine.close()
    _finish(chosen)


def _sweep_of(file, sets, seeds, out, resume_dir):
    """The sweep to run: a new one of FILE, or the one in --resume's folder."""
    from ..cluster import sweep as sweeps

    if resume_dir is not None:
        if file is not None or sets or seeds:
            raise ProblemError("--resume continues a sweep as it was set up: give no FILE, --set or --seeds with it")
        chosen = sweeps.reopen(resume_dir)
        left = len(chosen.pending())
        click.echo(f"resuming {resume_dir}: {len(chosen.members) - left} of {len(chosen.members)} members finished, {left} to go")
        return chosen
    if file is None:
        raise ProblemError("give a problem FILE to sweep (or --resume DIR to continue a sweep)")
    if not sets and seeds is None:
        raise ProblemError(f"{file}: nothing to sweep: give --set NAME=V1,V2,... and/or --seeds START:STOP")
    out = out or pathlib.Path("sweeps") / pathlib.Path(file).stem
    chosen = sweeps.create(file, list(sets), seeds, out)
    click.echo(f"{len(chosen.members)} members in {out}/")
    return chosen


def _finish(chosen) -> None:
    """Write the report, print the table and exit 0 only if every member is ok."""
    from ..report.sweep import rows, write_report

    record = {"file": chosen.source, "set": chosen.swept, "seeds": chosen.seeds, "results": chosen.results,
              "members": [{"name": m.name, "values": m.values, "seed": m.seed} for m in chosen.members]}  # fmt: skip
    files = write_report(chosen.directory, record)
    statuses = [r["status"] for r in rows(record)]
    click.echo(f"{statuses.count('ok')} of {len(statuses)} members ok; report in {chosen.directory}/ "
               f"({', '.join(p.name for p in files)})")  # fmt: skip
    sys.exit(0 if all(s == "ok" for s in statuses) else 1)


class Table:
    """The sweep's progress: a live table on a terminal (member, status, error, time), a line per
    member that ends elsewhere (a log, a pipe)."""

    def __init__(self, chosen, engine, stream=None):
        self.sweep, self.engine = chosen, engine
        self.stream = stream or sys.stdout
        self.live = None
        self.began = time.monotonic()

    def __enter__(self):
        click.echo(f"solving {len(self.sweep.pending())} members ({self.engine.name}"
                   f"{', ' + self.engine.address if getattr(self.engine, 'address', None) else ''})")  # fmt: skip
        if self.stream.isatty():
            from rich.live import Live

            self.live = Live(get_renderable=self.render, refresh_per_second=2, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def ended(self, chosen, member, result: dict) -> None:
        """``sweep.run``'s ``on_change``: a member ended (on a terminal the table shows it)."""
        if self.live is None:
            done = sum(m.name in chosen.results for m in chosen.members)
            click.echo(f"[{done}/{len(chosen.members)}] {member.label()}: {_outcome(result)}")

    def render(self):
        """The table now: finished members from the results, running ones from their progress files."""
        from rich.table import Table as RichTable

        from ..cluster.member import running

        grid = RichTable(title=f"sweep {self.sweep.directory} ({time.monotonic() - self.began:.0f} s)")
        for column in ("member", "status", "error", "time"):
            grid.add_column(column)
        for m in self.sweep.members:
            result = self.sweep.results.get(m.name)
            if result is not None:
                grid.add_row(m.label(), *_outcome(result, columns=True))
                continue
            now = running(self.sweep.path(m))
            status = f"step {now['step']}/{now['total']}" if now else "waiting"
            grid.add_row(m.label(), status, "", "")
        return grid


def _outcome(result: dict, columns: bool = False):
    """A member's result as a line (or as the table's status, error and time columns)."""
    from ..report.sweep import headline_error

    error, time_s = headline_error(result), result.get("wall_time_s")
    cells = (result.get("status", "?") + (f" (attempt {result['attempts']})" if (result.get("attempts") or 1) > 1 else ""),
             "" if error is None else f"{error:.2e}", "" if time_s is None else f"{time_s:.1f} s")  # fmt: skip
    if columns:
        return cells
    found = ", ".join(f"{k} = {v:.6g}" for k, v in (result.get("unknowns") or {}).items())  # an inverse problem's
    detail = result.get("message", "") if result.get("status") not in ("ok",) else ""
    return ", ".join(c for c in (*cells, found) if c) + (f" — {detail}" if detail else "")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--budget", default="20m", show_default=True, help="wall-clock time for the search: 20m, 90s, 1.5h")
@click.option("--out", type=click.Path(file_okay=False), help="the tuning folder (default tunes/<file name>)")
@click.option("--samples", type=click.IntRange(min=1), help="at most this many trials (default: as many as the budget allows)")
@click.option("--address", help="a running Ray cluster (host:port); default: a local Ray")
@click.option("--workers", type=click.IntRange(min=1), help="trials at once (default: one per CPU)")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="seeds the random search")
def tune(file, budget, out, samples, address, workers, seed) -> None:
    """Search for a better [solver] recipe for problem FILE with Ray Tune (random search, ASHA early stopping)."""
    from ..cluster.tune import parse_budget, run
    from ..report.tune import write_report
    from ..spec.dump import to_toml

    seconds = parse_budget(budget)
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ProblemError("tune needs Ray Tune, which is not installed: pip install 'neuralsolve[cluster]'") from None
    out = pathlib.Path(out or pathlib.Path("tunes") / pathlib.Path(file).stem)
    click.echo(f"tuning {file} for {seconds:.0f} s; trials in {out}/trials/")
    record = run(file, seconds, out, samples=samples, workers=workers, address=address, seed=seed, on_trial=_trial_line)
    files = write_report(out, record)
    if record["best"] is None:
        click.echo(f"no trial ended within the budget ({len(record['trials'])} started): give a larger --budget")
        sys.exit(1)
    best = record["best"]
    click.echo(f"{len(record['trials'])} trials; best: error {best['error']:.2e} in {best['time']:.0f} s. "
               f"Its recipe, to paste into {file}:\n")  # fmt: skip
    click.echo(to_toml({"solver": record["recipe"]}))
    click.echo(f"report in {out}/ ({', '.join(p.name for p in files)})")


# the search space's names, shortened for a trial's line
SHORT = {"network.width": "width", "network.depth": "depth", "points.scale": "points×", "adam.scale": "adam×",
         "adam.learning_rate": "lr", "second.scale": "second×"}


def _trial_line(config: dict, result: dict) -> None:
    """One line per trial that ends or is stopped early."""
    shown = " ".join(f"{SHORT.get(k, k)}={v:.2g}" if isinstance(v, float) else f"{SHORT.get(k, k)}={v}"
                     for k, v in config.items())  # fmt: skip
    if "status" in result:  # the last report of a trial that ended
        click.echo(f"trial ended: error {result.get('error', float('nan')):.2e} in {result.get('time', 0):.0f} s  [{shown}]")
    else:
        click.echo(f"trial stopped early at step {result.get('step', '?')}  [{shown}]")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--address", help="a running Ray cluster (host:port); default: a local Ray")
@click.option("--workers", type=click.IntRange(min=1), help="classical solves at once (default: one per CPU)")
def generate(file, address, workers) -> None:
    """Generate the data set of operator problem FILE (its classical solves as Ray tasks) and cache
    it where 'neuralsolve solve FILE' reads it."""
    from ..methods.operator.data import check
    from ..methods.operator.data import load as load_data
    from ..reference.datasets import cache_folder
    from ..spec.load import load

    problem = load(file)
    if problem.operator is None:
        raise ProblemError(f"{file}: no [operator] section: generate makes the data set of a neural-operator problem")
    if problem.operator.file is not None:
        raise ProblemError(f"{file}: its data come from {problem.operator.file} ([operator] file): nothing to generate")
    check(problem)
    executor = _data_executor(address, workers)
    try:
        data = load_data(problem, progress=True, executor=executor)
    finally:
        if executor is not None:
            executor.close()
    how = "already in the cache" if data.source == "cache" else f"generated in {data.seconds:.1f} s"
    click.echo(f"{len(data.inputs)} samples on {data.points} points {how}: {cache_folder() / data.key}.npz; "
               f"'neuralsolve solve {file}' reads them from there")  # fmt: skip


def _data_executor(address, workers):
    """Ray's executor when Ray is installed; else None (local processes), saying how to get Ray."""
    try:
        import ray  # noqa: F401
    except ImportError:
        if address is not None:
            raise ProblemError("--address needs Ray, which is not installed: pip install 'neuralsolve[cluster]'") from None
        click.echo("Ray is not installed: the solves run in local processes (pip install 'neuralsolve[cluster]' "
                   "to run them on a cluster)", err=True)  # fmt: skip
        return None
    from ..cluster.engines import RayExecutor

    return RayExecutor(address, workers)
