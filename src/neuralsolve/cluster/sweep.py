"""A sweep: one problem file solved for every combination of some values (and seeds).

The sweep's folder holds ``sweep.json`` (what is swept, the members, and the results the driver
has collected) and one run directory per member. The member directories are the truth: a member
whose ``metrics.json`` exists finished and is never solved again, one with a checkpoint resumes from
it — so a sweep whose driver was killed continues with :func:`resume` without redoing anything.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import tomllib

from .. import rundir
from .._errors import ProblemError
from . import member as members_run
from .members import Member, check_members, member_text, members, parse_seeds, parse_sets

SWEEP = "sweep.json"


@dataclasses.dataclass
class Sweep:
    """A sweep's folder, what it sweeps, its members and the results collected so far (by member name)."""

    directory: pathlib.Path
    source: str
    swept: dict
    seeds: list | None
    members: list[Member]
    results: dict = dataclasses.field(default_factory=dict)

    def path(self, m: Member) -> pathlib.Path:
        """The run directory of member ``m``."""
        return self.directory / m.name

    def save(self) -> None:
        """Write ``sweep.json`` (atomically: a killed driver never leaves half of it)."""
        rundir.write_json(self.directory / SWEEP, {
            "file": self.source, "set": self.swept, "seeds": self.seeds,
            "members": [{"index": m.index, "name": m.name, "values": m.values, "seed": m.seed} for m in self.members],
            "results": self.results})  # fmt: skip

    def pending(self) -> list[Member]:
        """The members that have not finished (their directories say so, whatever sweep.json says)."""
        out = []
        for m in self.members:
            done = members_run.finished(self.path(m))
            if done is None:
                out.append(m)
            elif m.name not in self.results:  # finished while no driver was there to collect it
                self.results[m.name] = members_run.summary(done, members_run.attempts(self.path(m)))
        return out


def create(file, sets: list[str], seeds: str | None, out) -> Sweep:
    """Set up a sweep of problem ``file`` in folder ``out``: check every member's problem file, then
    write one run directory per member and ``sweep.json``. Nothing is written if a member is bad."""
    from ..spec.load import load

    file, out = pathlib.Path(file), pathlib.Path(out)
    load(file)  # the file itself first: its own errors name its own lines
    if (out / SWEEP).exists():
        raise ProblemError(f"{out}: holds a sweep already; continue it with 'neuralsolve sweep --resume {out}' "
                           f"or choose another --out")  # fmt: skip
    text = file.read_text()
    swept = parse_sets(sets, tomllib.loads(text))
    chosen = members(swept, parse_seeds(seeds))
    check_members(text, str(file), chosen, file.parent)
    out.mkdir(parents=True, exist_ok=True)
    for m in chosen:
        rundir.create(out / m.name, file, seed=m.seed, text=member_text(text, m, str(file)))
    sweep = Sweep(out, str(file), swept, parse_seeds(seeds), chosen)
    sweep.save()
    return sweep


def reopen(directory) -> Sweep:
    """The sweep in ``directory`` (a ProblemError if there is none)."""
    directory = pathlib.Path(directory)
    try:
        saved = json.loads((directory / SWEEP).read_text())
    except FileNotFoundError:
        raise ProblemError(f"{directory}: not a sweep (no {SWEEP}); start one with 'neuralsolve sweep FILE --set ...'") from None
    except ValueError as err:
        raise ProblemError(f"{directory / SWEEP}: unreadable ({err})") from None
    chosen = [Member(m["index"], m["values"], m["seed"]) for m in saved["members"]]
    return Sweep(directory, saved["file"], saved["set"], saved["seeds"], chosen, saved.get("results", {}))


def run(sweep: Sweep, engine, on_change=None) -> Sweep:
    """Solve the sweep's unfinished members with ``engine`` (see :mod:`.engines`); ``on_change(sweep,
    member, result)`` after each one ends. Each result is written to sweep.json as it comes."""
    todo = sweep.pending()
    sweep.save()
    for m, result in engine.map([sweep.path(m) for m in todo], todo):
        sweep.results[m.name] = result
        sweep.save()
        if on_change is not None:
            on_change(sweep, m, result)
    return sweep

