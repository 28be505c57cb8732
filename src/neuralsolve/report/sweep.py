"""A sweep's report: ``sweep.html`` with the table of members and, for each swept value, plots of
each metric against it (mean over seeds, bars from the smallest to the largest seed's value).
Rendered from ``sweep.json``'s record alone."""

from __future__ import annotations

import html
import math
import pathlib
from collections import defaultdict

from .page import Figure, document, figure, sci

# the metrics plotted against each swept value: (key in a member's row, axis label, log scale)
METRICS = (("error", "relative L2 error", True), ("residual_rms", "residual RMS", True), ("wall_time_s", "time (s)", False))


def rows(record: dict) -> list[dict]:
    """One row per member: its name, values, seed, status, error, residual, time and attempts."""
    out = []
    for m in record["members"]:
        result = record["results"].get(m["name"], {})
        out.append({"name": m["name"], "values": {short_name(k): v for k, v in m["values"].items()}, "seed": m["seed"],
                    "status": result.get("status", "not run"), "error": headline_error(result),
                    "residual_rms": result.get("residual_rms"), "wall_time_s": result.get("wall_time_s"),
                    "attempts": result.get("attempts"), "message": result.get("message", ""),
                    **{f"estimate {k}": v for k, v in (result.get("unknowns") or {}).items()}})  # fmt: skip
    return out


def estimates(table: list[dict]) -> list[str]:
    """The row keys of an inverse problem's estimated constants (``estimate k``), in order."""
    return sorted({k for r in table for k in r if k.startswith("estimate ")})


def headline_error(result: dict) -> float | None:
    """A member's error: its largest relative L2 error over fields, or an operator's test error."""
    if result.get("test_relative_l2") is not None:
        return result["test_relative_l2"]
    errors = [e for e in (result.get("l2_relative_error") or {}).values() if e is not None]
    return max(errors) if errors else None


def write_report(directory, record: dict) -> list[pathlib.Path]:
    """Write the sweep's plots and sweep.html into ``directory``; the files written."""
    directory = pathlib.Path(directory)
    table = rows(record)
    figures = [f for name in _swept_names(record) if (f := _plot(directory, table, name)) is not None]
    title = f"Sweep of {html.escape(pathlib.Path(record['file']).name)}"
    body = [f"<h1>{title}</h1>", _summary(table), "<h2>Members</h2>", _table(table, _swept_names(record))]
    if figures:
        body += ["<h2>Metrics against the swept values</h2>", *map(figure, figures)]
    page = directory / "sweep.html"
    page.write_text(document(title, body))
    return [f.path for f in figures] + [page]


def _swept_names(record: dict) -> list[str]:
    names = [short_name(k) for k in record["set"]]
    return names + (["seed"] if record.get("seeds") else [])


def _summary(table: list[dict]) -> str:
    counts = defaultdict(int)
    for row in table:
        counts[row["status"]] += 1
    ok = counts.get("ok", 0) == len(table)
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return f"<div class='status {'ok' if ok else 'warn'}'>{len(table)} members: {html.escape(parts)}</div>"


def _table(table: list[dict], names: list[str]) -> str:
    found = estimates(table)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names + ["status", "error", "residual"] + found + ["time (s)", "attempts"])
    body = []
    for row in table:
        values = [row["values"].get(n, row["seed"] if n == "seed" else "") for n in names]
        cells = [f"<td>{html.escape(str(v))}</td>" for v in values]
        cells.append(f"<td title='{html.escape(row['message'])}'>{html.escape(row['status'])}</td>")
        cells += [f"<td class='num'>{sci(row.get(k))}</td>" for k in ("error", "residual_rms", *found)]
        time = row["wall_time_s"]
        cells += [f"<td class='num'>{'' if time is None else f'{time:.1f}'}</td>",
                  f"<td class='num'>{row['attempts'] or ''}</td>"]  # fmt: skip
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _plot(directory: pathlib.Path, table: list[dict], name: str) -> Figure | None:
    """Each metric against swept value ``name``: one line per combination of the other values."""
    if name == "seed" or len({_key(r["values"].get(name)) for r in table}) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in METRICS if any(r[m[0]] is not None for r in table)]
    shown += [(k, k, False) for k in estimates(table)]  # an inverse problem's constants against the value
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.4), squeeze=False)
    for ax, (key, label, log) in zip(axes[0], shown):
        _draw(ax, table, name, key, log)
        ax.set_xlabel(name)
        ax.set_ylabel(label)
    axes[0][-1].legend(fontsize="small") if len(_series(table, name)) > 1 else None
    fig.tight_layout()
    path = directory / f"sweep_{_file_token(name)}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    seeds = len({r["seed"] for r in table})
    spread = f"; bars: the smallest to the largest of {seeds} seeds" if seeds > 1 else ""
    return Figure(path, f"The metrics against {name} (mean over seeds{spread}).")


def _draw(ax, table: list[dict], name: str, key: str, log: bool) -> None:
    xs_all = sorted({_key(r["values"][name]) for r in table}, key=_order)
    numeric = all(isinstance(x, (int, float)) for x in xs_all)
    for label, group in _series(table, name).items():
        points = defaultdict(list)
        for r in group:
            if r.get(key) is not None and r["status"] == "ok":
                points[_key(r["values"][name])].append(r[key])
        xs = [x for x in xs_all if points.get(x)]
        if not xs:
            continue
        mean = [sum(points[x]) / len(points[x]) for x in xs]
        lo = [m - min(points[x]) for m, x in zip(mean, xs)]
        hi = [max(points[x]) - m for m, x in zip(mean, xs)]
        position = xs if numeric else [xs_all.index(x) for x in xs]
        ax.errorbar(position, mean, yerr=[lo, hi], marker="o", capsize=3, label=label or None)
    if not numeric:
        ax.set_xticks(range(len(xs_all)), [str(x) for x in xs_all])
    elif min(xs_all) > 0 and max(xs_all) >= 10 * min(xs_all):
        ax.set_xscale("log")
    if log:
        ax.set_yscale("log")


def _series(table: list[dict], name: str) -> dict[str, list[dict]]:
    """The members grouped by their other swept values (not the seed: seeds make the bars)."""
    groups = defaultdict(list)
    for r in table:
        others = " ".join(f"{k}={v}" for k, v in r["values"].items() if k != name)
        groups[others].append(r)
    return dict(groups)


def _key(value):
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def _order(value):
    return (0, value, "") if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, math.inf, str(value))


def short_name(full: str) -> str:
    """A swept value's name as the user wrote it: ``solver.network.width`` -> ``network.width``."""
    return full.split(".", 1)[1] if full.split(".")[0] in ("parameters", "solver") else full


def _file_token(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
