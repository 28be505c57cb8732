"""``neuralsolve bench``: the benchmark problems against their trusted references, with a peer
(DeepXDE, torchdiffeq) side by side when asked."""

from __future__ import annotations

import pathlib
import sys

import click


@click.command()
@click.argument("names", nargs=-1)
@click.option("--peer", type=click.Choice(["deepxde", "torchdiffeq"]),
              help="also run each problem's peer: DeepXDE's published example, or torchdiffeq's demo (spiral)")
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
    from ..bench.runner import check_options, run_bench, select

    chosen = select(names)
    check_options(chosen, peer, time_limit, peer_time)
    limit, mode = _time_limits(peer, peer_time, time_limit)  # these checks come before any training
    if peer == "torchdiffeq":  # the spiral: both tools run the demo's whole recipe, no time modes
        mode = None
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
