"""The outputs of a benchmark run: a rich table for the terminal and a JSON record for files.

The JSON record carries everything needed to compare runs later: every row, the machine, the date,
the git commit of the checkout (when there is one) and neuralsolve's recipe per problem.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import subprocess


# an error within this factor of the reference's own error is at the reference's accuracy (as in metrics)
AT_REFERENCE_LEVEL = 2.0


def table(rows: list[dict]):
    """A rich Table: problem, tool, relative L2 error, wall time, Adam steps/s, steps per phase, the
    peer's time budget (with ``--peer``), the estimated constants (inverse benchmarks), status; the
    caption gives each reference's own error, and an error at that level is starred."""
    from rich.table import Table

    timed = any("peer_time" in r or "time_limit" in r for r in rows)
    inverse = any("unknown_errors" in r for r in rows)
    out = Table(title="neuralsolve bench", caption=reference_caption(rows))
    columns = [("problem", "left"), ("tool", "left"), ("rel. L2", "right"), ("wall", "right"),
               ("Adam steps/s", "right"), ("steps", "left")] + ([("time budget", "left")] if timed else [])  # fmt: skip
    columns += [("estimates (rel. error)", "left")] if inverse else []
    for name, justify in columns + [("status", "left")]:
        out.add_column(name, justify=justify)
    for r in rows:
        cells = [r["problem"], r["tool"], error_cell(r), _number(r["wall_s"], "{:.1f} s"),
                 _number(r["adam_steps_per_s"], "{:.0f}"), steps_cell(r)]  # fmt: skip
        cells += [budget_cell(r)] if timed else []
        cells += [estimates_cell(r)] if inverse else []
        out.add_row(*cells, _status(r))
    return out


def error_cell(row: dict) -> str:
    """The relative L2 error, starred where it is at the level of the reference's own error."""
    error, own = row["l2_relative_error"], row.get("reference_error_estimate")
    at_level = error is not None and own is not None and own > 0 and error <= AT_REFERENCE_LEVEL * own
    return _number(error, "{:.2e}") + (" *" if at_level else "")


def reference_caption(rows: list[dict]) -> str | None:
    """Each problem's reference error, "references' own relative errors: burgers 2.9e-12, ..."."""
    own = {r["problem"]: r["reference_error_estimate"] for r in rows if r.get("reference_error_estimate") is not None}
    if not own:
        return None
    parts = ", ".join(f"{name} {'exact' if e == 0 else f'{e:.1e}'}" for name, e in own.items())
    return f"references' own relative errors: {parts} (* an error at that level: it cannot be measured below it)"


def estimates_cell(row: dict) -> str:
    """Each estimated constant with its relative error, "C1 10.09 (0.92%)", one per line ("—" without)."""
    errors = row.get("unknown_errors")
    if not errors:
        return "—"
    return "\n".join(f"{name} {row['unknowns'][name]:.4g} ({error:.2%})" for name, error in errors.items())


def steps_cell(row: dict) -> str:
    """Steps per phase; under a peer time budget, Adam's as "run of planned" and a skipped L-BFGS named."""
    timing = row.get("peer_time", {})
    planned = timing.get("planned", {})
    parts = []
    for phase, n in row["steps"].items():
        text = f"{phase} {n}"
        if phase == "adam" and phase in planned and n != planned[phase]:
            text += f" of {planned[phase]}"
        if phase == "lbfgs" and timing.get("lbfgs_skipped"):
            text += " (skipped)"
        parts.append(text)
    return " + ".join(parts)


def budget_cell(row: dict) -> str:
    """The peer's time mode and budget, and whether it cut training short; for neuralsolve its own
    time limit, if any, and whether training reached it ("—" without one)."""
    timing = row.get("peer_time")
    if timing is None:
        limit = row.get("time_limit", {}).get("limit_s")
        return "—" if limit is None else f"limit {limit:.1f} s" + (", reached" if row["time_limit"].get("cut_short") else "")
    if timing["budget_s"] is None:
        return timing["mode"]
    text = f"{timing['mode']} {timing['budget_s']:.1f} s"
    return text + (", cut short" if timing.get("cut_short") else "")


def _number(value, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _status(row: dict) -> str:
    return row["status"] if row["status"] == "ok" else f"{row['status']}: {row['note']}"


def machine() -> dict:
    """Where the figures were measured."""
    import jax

    return {"platform": platform.platform(), "machine": platform.machine(), "processor": platform.processor(),
            "cpu": cpu_model(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "jax": jax.__version__, "jax_backend": jax.default_backend()}  # fmt: skip


def cpu_model() -> str | None:
    """The processor's model name, where the system says it (Linux's /proc/cpuinfo): float64 results
    of long runs differ between processors in their last bits, and so do speed ratios."""
    try:
        lines = pathlib.Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or None
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else None


def git_commit() -> str | None:
    """The commit of the checkout neuralsolve runs from (with "+dirty" for local changes), if any."""
    root = pathlib.Path(__file__).resolve().parents[3]  # src/neuralsolve/bench -> checkout
    if not (root / ".git").exists():  # an installed package: not a checkout
        return None
    try:
        head = _git(root, "rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        dirty = _git(root, "status", "--porcelain")
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _git(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False)


def record(rows: list[dict], options: dict) -> dict:
    """The JSON-ready record of a run: rows, options, machine, date and commit."""
    from importlib import metadata

    try:
        version = metadata.version("neuralsolve")
    except metadata.PackageNotFoundError:
        version = None
    return {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "neuralsolve": version, "git_commit": git_commit(), "machine": machine(), "options": options,
            "rows": rows}  # fmt: skip
