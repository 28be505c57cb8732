"""A tuning's report: ``tune.html`` with the best recipe, the trials (best first) and a plot of
each ended trial's error against its time. Rendered from ``tune.json``'s record alone."""

from __future__ import annotations

import html
import pathlib

from .page import Figure, document, figure, sci


def write_report(directory, record: dict) -> list[pathlib.Path]:
    """Write tune_trials.png and tune.html into ``directory``; the files written."""
    from ..spec.dump import to_toml

    directory = pathlib.Path(directory)
    ended = [t for t in record["trials"] if t["error"] is not None]
    figures = [_plot(directory, ended, record["best"])] if ended else []
    title = f"Tuning {html.escape(pathlib.Path(record['file']).name)}"
    best = record["best"]
    verdict = (f"<div class='status ok'>best of {len(record['trials'])} trials: error {sci(best['error'])} in "
               f"{best['time']:.0f} s</div><pre>{html.escape(to_toml({'solver': record['recipe']}))}</pre>"
               if best else f"<div class='status warn'>no trial ended within {record['budget_s']:.0f} s</div>")  # fmt: skip
    body = [f"<h1>{title}</h1>", verdict, "<h2>Trials</h2>", _table(record["trials"]), *map(figure, figures)]
    page = directory / "tune.html"
    page.write_text(document(title, body))
    return [f.path for f in figures] + [page]


def _table(trials: list[dict]) -> str:
    order = sorted(trials, key=lambda t: (t["error"] is None, t["error"] or 0.0, -(t["step"] or 0)))
    names = sorted({k for t in trials for k in t["config"]})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names + ["outcome", "error", "steps", "time (s)"])
    body = []
    for t in order:
        seconds = "" if t["time"] is None else f"{t['time']:.0f}"
        cells = [f"<td>{html.escape(_value(t['config'].get(n)))}</td>" for n in names]
        cells += [f"<td>{html.escape(t['outcome'])}</td>", f"<td class='num'>{sci(t['error'])}</td>",
                  f"<td class='num'>{t['step'] or ''}</td>", f"<td class='num'>{seconds}</td>"]  # fmt: skip
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _plot(directory: pathlib.Path, ended: list[dict], best: dict | None) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter([t["time"] for t in ended], [t["error"] for t in ended], label="trials that ended")
    if best is not None:
        ax.scatter([best["time"]], [best["error"]], marker="*", s=200, color="tab:red", label="best")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("error")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    path = directory / "tune_trials.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Figure(path, "Each trial that ended: its error against the reference (or residual RMS without one) "
                        "and its time. Trials stopped early by ASHA are not shown.")  # fmt: skip
