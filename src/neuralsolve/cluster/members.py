"""The members of a sweep: every combination of the swept values (and seeds), each a problem file.

``--set NAME=V1,V2`` names either a parameter of the problem file's ``[parameters]`` table (``k``,
or ``parameters.k``) or a ``[solver]`` setting, dotted into its tables (``network.width``, or
``solver.network.width``). Each value is read as a TOML value (``2``, ``1e-3``, ``"adam"``, ``true``).
A member's problem file is the sweep's file with its values written in, so a member directory is an
ordinary run directory: ``neuralsolve resume``, ``report`` and ``open`` work on it.
"""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
import re
import tomllib

from .._errors import ProblemError
from ..report.sweep import short_name
from ..spec.load import SOLVER_KEYS

SECTIONS = ("parameters", "solver")


@dataclasses.dataclass(frozen=True)
class Member:
    """One solve of a sweep: its swept values (full dotted names) and seed (None: the file's own)."""

    index: int
    values: dict
    seed: int | None

    @property
    def name(self) -> str:
        """The member's directory name: its index, then its values, readable and safe in a path."""
        parts = [f"{short_name(k)}-{_token(v)}" for k, v in self.values.items()]
        parts += [f"seed-{self.seed}"] if self.seed is not None else []
        return "_".join([f"{self.index:03d}"] + parts)

    def label(self) -> str:
        """The member's values as a person reads them: ``k=2 width=32 seed=0``."""
        parts = [f"{short_name(k)}={v}" for k, v in self.values.items()]
        return " ".join(parts + ([f"seed={self.seed}"] if self.seed is not None else [])) or "(the file as is)"


def parse_sets(sets: list[str], table: dict) -> dict[str, list]:
    """``["k=1,2", "network.width=16,32"]`` -> ``{"parameters.k": [1, 2], "solver.network.width": [16, 32]}``,
    each name resolved against the problem file's ``table``. A ProblemError names a bad one."""
    swept = {}
    for item in sets:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ProblemError(f"--set {item!r}: expected NAME=V1,V2,... (e.g. --set k=1,2,4)")
        full = resolve(name, table)
        if full in swept:
            raise ProblemError(f"--set {name}: given twice; list all its values in one --set")
        swept[full] = [_value(v.strip(), name) for v in values.split(",")]
    return swept


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0:5"`` -> [0, 1, 2, 3, 4]; ``"1,4,9"`` -> [1, 4, 9]; ``"3"`` -> [3]; None -> None."""
    if text is None:
        return None
    try:
        if ":" in text:
            lo, hi = (int(p) for p in text.split(":"))
            seeds = list(range(lo, hi))
        else:
            seeds = [int(p) for p in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ProblemError(f"--seeds {text!r}: expected START:STOP (e.g. 0:5, five seeds) or distinct seeds 0,3,7")
    return seeds


def members(swept: dict[str, list], seeds: list[int] | None) -> list[Member]:
    """Every combination of the swept values, each with every seed (the first value varies slowest)."""
    names = list(swept)
    combos = itertools.product(*(swept[n] for n in names), *([seeds] if seeds is not None else []))
    out = []
    for i, combo in enumerate(combos):
        values = dict(zip(names, combo[: len(names)]))
        out.append(Member(i, values, combo[-1] if seeds is not None else None))
    return out


def resolve(name: str, table: dict) -> str:
    """The full dotted name of a swept ``name``: ``parameters.NAME`` for a parameter of the file,
    else ``solver.NAME`` (a ProblemError when it is neither)."""
    head = name.split(".")[0]
    if head in SECTIONS:
        full = name
    elif name in table.get("parameters", {}):
        full = f"parameters.{name}"
    else:
        full = f"solver.{name}"
    section, rest = full.split(".", 1)
    known = ", ".join(table.get("parameters", {})) or "none"
    if section == "parameters" and rest not in table.get("parameters", {}):
        raise ProblemError(f"--set {name}: the problem file has no parameter {rest!r} (its [parameters]: {known})")
    if section == "solver" and rest.split(".")[0] not in SOLVER_KEYS:
        raise ProblemError(f"--set {name}: neither a parameter of the problem file (its [parameters]: {known}) nor "
                           f"a [solver] setting ({', '.join(sorted(SOLVER_KEYS))})")  # fmt: skip
    return full


def member_text(text: str, member: Member, source: str) -> str:
    """The problem file of ``member``: the sweep's file ``text`` with the member's values written in."""
    from ..spec.dump import to_toml

    table = tomllib.loads(text)
    for full, value in member.values.items():
        _put(table, full.split("."), value)
    header = f"# member {member.index} of a sweep of {source}: {member.label()}\n"
    return header + to_toml(table)


def check_members(text: str, source: str, chosen: list[Member], folder: pathlib.Path) -> None:
    """Load every member's problem file (in ``folder``, where its data files are found) before
    anything runs: a value the file cannot take is refused with the member and the cause."""
    from ..spec.load import load

    scratch = folder / ".sweep-check.toml"
    try:
        for member in chosen:
            scratch.write_text(member_text(text, member, source))
            try:
                load(scratch)
            except ProblemError as err:
                cause = re.sub(rf"^{re.escape(str(scratch))}(:\d+)?: ", "", str(err))  # its line is not the user's
                raise ProblemError(f"{source}: sweep member {member.label()}: {cause}") from None
    finally:
        scratch.unlink(missing_ok=True)


def _put(table: dict, path: list[str], value) -> None:
    """Set ``table[path[0]][path[1]]... = value``, making the tables on the way."""
    for key in path[:-1]:
        inner = table.setdefault(key, {})
        if not isinstance(inner, dict):
            raise ProblemError(f"--set {'.'.join(path)}: {key} is a value in the problem file, not a table")
        table = inner
    table[path[-1]] = value


def _value(text: str, name: str):
    """A swept value as TOML reads it (a bare word that is not TOML is taken as a string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[A-Za-z_][\w\-]*", text):
            return text
        raise ProblemError(f"--set {name}: cannot read the value {text!r} (a number, true/false or a word)") from None


def _token(value) -> str:
    return re.sub(r"[^\w.+\-]", "", str(value)) or "x"
