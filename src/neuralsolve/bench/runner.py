"""Runs benchmark problems with neuralsolve (and a peer) and measures them against their references.

A run gives one row per problem and tool: a plain dict (``problem``, ``tool``, ``l2_relative_error``,
``reference_error_estimate`` (the reference's own error, below which an error cannot be measured),
``wall_s``, ``adam_steps_per_s``, ``steps``, ``status``, ``note``) that the table and the JSON
record share. neuralsolve's rows also carry ``train_s`` (training time, compilation included) and,
under ``--time-limit``, ``time_limit``: the limit used and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from .._errors import ProblemError
from . import peer as peers
from . import spiral
from .problems import BENCHMARKS, INVERSE_BENCHMARKS, NEURAL_ODE_BENCHMARKS, Benchmark
from .recipes import Recipe, recipe_for

PEER_LIMIT = "peer"  # --time-limit peer: neuralsolve's whole wall time at most the peer's
# Under --time-limit peer the training limit is the peer's wall time less an allowance: the wall time
# of a probe run with one step per phase (set-up, evaluation, and compiling every phase: the limit
# does not predict a phase's first chunk, so a later phase that starts just before the limit may
# overrun it by about its compilation) and a margin for the steps of that chunk and for timing noise.
MARGIN_FRACTION, MARGIN_S = 0.05, 1.0


def select(names: Iterable[str]) -> list[Benchmark]:
    """The benchmarks named (every forward one when none is: inverse and neural-ODE ones run only
    when named), or ProblemError naming the unknown ones."""
    known = _known()
    names = list(names) or list(BENCHMARKS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ProblemError(f"unknown benchmark(s) {', '.join(map(repr, unknown))}; available: {', '.join(known)}")
    return [known[n] for n in dict.fromkeys(names)]  # in the order given, once each


def check_options(chosen: list[Benchmark], peer: str | None, time_limit, peer_time: str | None) -> None:
    """ProblemError, before anything runs, when ``--peer`` is not the peer of every benchmark
    chosen, or a time option is given for the neural-ODE benchmark (both tools run the demo's
    whole recipe there)."""
    if peer is not None:
        other = [b.name for b in chosen if b.peer != peer]
        if other:
            theirs = ", ".join(f"{n} ({known_peer(n)})" for n in other)
            raise ProblemError(f"--peer {peer} does not run {theirs}: benchmarks with different peers run apart")
    timed = [b.name for b in chosen if b.peer == spiral.PEER]
    if timed and (time_limit is not None or peer_time is not None):
        raise ProblemError(f"--time-limit and --peer-time do not apply to {', '.join(timed)}: both tools run the "
                           "demo's whole recipe, and the row says when neuralsolve reached the peer's error")  # fmt: skip


def known_peer(name: str) -> str:
    """The peer of the benchmark called ``name``."""
    return _known()[name].peer


def _known() -> dict[str, Benchmark]:
    """Every benchmark by name: forward, inverse and neural-ODE."""
    return {**BENCHMARKS, **INVERSE_BENCHMARKS, **NEURAL_ODE_BENCHMARKS}


def relative_l2(predicted: np.ndarray, reference: np.ndarray) -> float:
    """‖predicted − reference‖ / ‖reference‖ over the reference points (every field together)."""
    return float(np.linalg.norm(predicted - reference) / np.linalg.norm(reference))


def with_reference_error(bench: Benchmark, row: dict) -> dict:
    """``row`` (a peer's) with its benchmark's ``reference_error_estimate``, as neuralsolve's rows have."""
    return {**row, "reference_error_estimate": bench.reference_error()}


def adam_rate(records: list[dict]) -> float | None:
    """Adam steps per second over the Adam phases' progress records, each phase (each time window's,
    when marching) from its first record to its last, so that compilation (before a phase's first
    record) and the other phases in between are not counted."""
    steps = seconds = 0.0
    runs: list[list[dict]] = []
    for r in records:
        same = runs and runs[-1][-1]["phase"] == r["phase"] == "adam" and runs[-1][-1].get("window") == r.get("window")
        if same:
            runs[-1].append(r)
        elif r["phase"] == "adam":
            runs.append([r])
    for run in runs:
        steps += run[-1]["step"] - run[0]["step"]
        seconds += run[-1]["elapsed"] - run[0]["elapsed"]
    return steps / seconds if steps > 0 and seconds > 0 else None


def run_neuralsolve(bench: Benchmark, recipe: Recipe, callback: Callable | None = None) -> dict:
    """Solve ``bench`` with ``recipe`` and measure the solution on the reference points (a
    ``time_limit`` in the recipe caps training; the row says whether it stopped it)."""
    from ..dispatch import solve
    from ..train.fit import stopped_by_time

    records = []

    def record(r):
        records.append(r)
        if callback is not None:
            callback(r)

    points, values = bench.reference()
    start = time.perf_counter()
    sol = solve(bench.build(), **recipe.settings(), callback=record, log_every=max(recipe.adam // 20, 1))
    wall = time.perf_counter() - start
    steps = {}
    for phase in sol.phases:
        steps[phase["phase"]] = steps.get(phase["phase"], 0) + phase["steps"]
    predicted = sol(points) if values.ndim == 2 else sol(points, "u")  # every field, or the one u
    row = {"problem": bench.name, "tool": "neuralsolve", "l2_relative_error": relative_l2(predicted, values),
           "reference_error_estimate": bench.reference_error(), "wall_s": wall,
           "train_s": sol.history[-1]["elapsed"] if sol.history else 0.0,
           "adam_steps_per_s": adam_rate(records), "steps": steps, "status": sol.status, "note": sol.message,
           "precision": recipe.precision, "recipe": recipe.record()}  # fmt: skip
    if bench.truth is not None:
        row.update(unknowns=sol.unknowns, unknown_errors=bench.unknown_errors(sol.unknowns),
                   unknowns_stderr=sol.unknowns_stderr)  # fmt: skip
    if recipe.solver.get("time_limit") is not None:
        row["time_limit"] = {"limit_s": recipe.solver["time_limit"], "cut_short": stopped_by_time(sol.phases)}
    return row


# --- time limits (--time-limit) -------------------------------------------------------------------


def parse_time_limit(value: str | None) -> str | float | None:
    """``--time-limit``: None (no limit), "peer", or a positive, finite number of seconds.

    Raises ValueError for anything else, so that the command line can say what was wrong.
    """
    return None if value is None else peers.keyword_or_seconds(value, (PEER_LIMIT,), "neuralsolve's time limit")


def limited(recipe: Recipe, seconds: float | None) -> Recipe:
    """``recipe`` with its training capped at ``seconds`` (None: as it is). The limit is a
    ``[solver]`` setting, so the row's recipe records it."""
    return recipe if seconds is None else Recipe({**recipe.record(), "time_limit": float(seconds)})


def probe(bench: Benchmark, recipe: Recipe) -> dict:
    """What ``recipe`` costs on ``bench`` besides its steps: a run with one step per phase.
    Returns its wall time ``probe_s``, of which ``compile_s`` is training (compiling each phase)
    and ``outside_s`` the rest (set-up and evaluation)."""
    row = run_neuralsolve(bench, recipe.capped(1))
    wall, train = row["wall_s"], row["train_s"]
    return {"probe_s": wall, "compile_s": train, "outside_s": max(wall - train, 0.0)}


def peer_limit(bench: Benchmark, recipe: Recipe, peer_row: dict) -> dict:
    """neuralsolve's training limit under ``--time-limit peer``, given the peer's row on ``bench``:
    the peer's wall time less the allowance for what neuralsolve does outside training. Returns
    ``limit_s`` (None when the peer failed: neuralsolve then runs uncapped) and how it was found."""
    wall = peer_row.get("wall_s")
    if peer_row.get("status") != "ok" or wall is None:
        reason = f"{peer_row.get('tool', 'the peer')} failed on this problem: recipe run uncapped"
        return {"mode": PEER_LIMIT, "limit_s": None, "peer_wall_s": None, "reason": reason}
    measured = probe(bench, recipe)
    # compiling one window's phases is the most a first chunk can overrun by; a march compiles
    # each window apart, and the limit counts those compilations already (they are training)
    overrun = measured["compile_s"] / recipe.solver.get("windows", 1)
    allowance = measured["outside_s"] + overrun + MARGIN_FRACTION * wall + MARGIN_S
    reason = (f"{peer_row['tool']}'s wall time {wall:.1f} s less {allowance:.1f} s: a run of one step per phase "
              f"took {measured['probe_s']:.1f} s (set-up, compilation, evaluation), plus margin")  # fmt: skip
    limit = wall - allowance
    if limit <= 0:  # the peer finished faster than neuralsolve can even set up: train as little as possible
        limit, reason = 1e-3, reason + "; that leaves no time to train"
    return {"mode": PEER_LIMIT, "limit_s": limit, "peer_wall_s": wall, "allowance_s": allowance, **measured,
            "reason": reason}  # fmt: skip


def run_bench(chosen: list[Benchmark], *, steps: int | None = None, time_limit: str | float | None = None,
              peer: str | None = None, python: str | None = None, peer_mode: str | float | None = None,
              echo: Callable[[str], None] = print) -> list[dict]:  # fmt: skip
    """The rows of ``neuralsolve bench``: for each problem neuralsolve's row, then the peer's (with
    ``python``). ``time_limit`` caps neuralsolve's training: a number of seconds on every
    problem, or "peer" to run the peer first and give neuralsolve at most the peer's wall time."""
    rows = []
    for b in chosen:
        if b.peer == spiral.PEER:  # a neural ODE: the problem file is its recipe
            rows += [with_reference_error(b, r) for r in spiral.run(python, steps, echo)]
            continue
        recipe = recipe_for(b.name).capped(steps)
        if time_limit == PEER_LIMIT:
            rows += _peer_first(b, recipe, steps, peer, python, peer_mode, echo)
            continue
        echo(f"{b.name}: neuralsolve ..." + (f" (training capped at {time_limit:g} s)" if time_limit else ""))
        rows.append(run_neuralsolve(b, limited(recipe, time_limit)))
        if time_limit is not None:
            rows[-1]["time_limit"] = {"mode": "fixed", **rows[-1].get("time_limit", {}),
                                      "reason": f"--time-limit {time_limit:g}"}  # fmt: skip
        if python is not None:
            ours = rows[-1]
            budget = peers.time_budget(peer_mode, ours)  # matched: the row just measured
            echo(f"{b.name}: {peer} ..." + (f" (training capped at {budget:.1f} s)" if budget else ""))
            rows.append(with_reference_error(b, peers.run_deepxde(b, python, steps, mode=peer_mode, budget_s=budget)))
            if peer_mode == "matched" and time_limit is None and _finished_first(rows[-1], ours):
                rows.append(_within_peer(b, recipe, rows[-1], echo))
    return rows


def _finished_first(peer_row: dict, ours: dict) -> bool:
    """Whether the peer's whole published run took less wall time than neuralsolve's recipe: then a
    matched budget did not bind it, and the times are equal only once neuralsolve runs within it."""
    timing = peer_row.get("peer_time", {})
    return peer_row.get("status") == "ok" and not timing.get("cut_short") and peer_row["wall_s"] < ours["wall_s"]


def _within_peer(bench: Benchmark, recipe: Recipe, peer_row: dict, echo: Callable[[str], None]) -> dict:
    """neuralsolve again, its whole wall time at most the peer's (as under ``--time-limit peer``)."""
    limit = peer_limit(bench, recipe, peer_row)
    echo(f"{bench.name}: {peer_row['tool']} finished first; neuralsolve again within its wall time "
         f"(training capped at {limit['limit_s']:.1f} s: {limit['reason']})")  # fmt: skip
    row = run_neuralsolve(bench, limited(recipe, limit["limit_s"]))
    row["tool"] = f"neuralsolve (within {peer_row['tool'].split()[0]}'s time)"
    row["time_limit"] = {**limit, "cut_short": row.get("time_limit", {}).get("cut_short", False),
                         "within_peer_wall": row["wall_s"] <= limit["peer_wall_s"]}  # fmt: skip
    return row


def _peer_first(bench: Benchmark, recipe: Recipe, steps: int | None, peer: str, python: str,
                peer_mode: str | float, echo: Callable[[str], None]) -> list[dict]:  # fmt: skip
    """``--time-limit peer`` on one problem: the peer with its own budget, then neuralsolve within
    the peer's wall time. Rows in the usual order: neuralsolve's, then the peer's."""
    budget = peers.time_budget(peer_mode, {})  # full: no cap; a number: that cap
    echo(f"{bench.name}: {peer} first, its wall time sets neuralsolve's time limit ..."
         + (f" (training capped at {budget:.1f} s)" if budget else ""))  # fmt: skip
    peer_row = with_reference_error(bench, peers.run_deepxde(bench, python, steps, mode=peer_mode, budget_s=budget))
    limit = peer_limit(bench, recipe, peer_row)
    cap = f"training capped at {limit['limit_s']:.1f} s" if limit["limit_s"] is not None else "uncapped"
    echo(f"{bench.name}: neuralsolve ... ({cap}: {limit['reason']})")
    row = run_neuralsolve(bench, limited(recipe, limit["limit_s"]))
    row["time_limit"] = {**limit, "cut_short": row.get("time_limit", {}).get("cut_short", False)}
    if limit["peer_wall_s"] is not None:
        row["time_limit"]["within_peer_wall"] = row["wall_s"] <= limit["peer_wall_s"]
    return [row, peer_row]
