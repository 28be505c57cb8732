"""The report's part for the trajectories of a learned ODE (a run whose solution.npz holds
``ode_times``: a neural ODE's): the data against the model, trajectory by trajectory; a phase
portrait of a two-field system; the misfit, held-out errors and solver cost per solve; and the
solver's evaluations over training beside the loss. Rendered from the saved arrays alone.

Matplotlib is imported only by the functions that draw.
"""

from __future__ import annotations

import html
import pathlib

import numpy as np

from .page import Figure, figure, sci

# solution.npz keys (methods/neural_ode/solution.py ``report_arrays``): sample times (K, L), data
# at them (K, L, fields; NaN: not measured, or padding), the model on a fine grid (K, M) and
# (K, M, fields), and which trajectories were held out of training (K,)
TIMES, DATA, DENSE_T, DENSE, HELDOUT = "ode_times", "ode_data", "ode_dense_t", "ode_dense", "ode_heldout"
MOST = 8  # trajectories drawn at most: more curves than this cannot be told apart
NFE_TERM = "nfe"  # the history term that records the solver's evaluations (not a loss)


def saved(data) -> bool:
    """Whether the saved arrays ``data`` hold trajectories of a learned ODE."""
    return TIMES in data


def drawn(heldout: np.ndarray, most: int = MOST) -> np.ndarray:
    """Indices of the trajectories drawn: all of them up to ``most``, else picks spread evenly
    over the training and the held-out ones, held-out ones given at least half the places
    (they show what training did not see)."""
    train, held = np.flatnonzero(~heldout), np.flatnonzero(heldout)
    n_held = min(len(held), max(most // 2, most - len(train)))
    n_train = min(len(train), most - n_held)
    return np.concatenate([_spread(train, n_train), _spread(held, n_held)])


def _spread(index: np.ndarray, n: int) -> np.ndarray:
    return index[np.round(np.linspace(0, len(index) - 1, n)).astype(int)] if n else index[:0]


# --- numbers -----------------------------------------------------------------------------------


def numbers(problem, metrics: dict, data) -> str:
    """The tables of the section: per field, the measurements, the misfit to the training data
    and the errors on the held-out trajectories; and the solver's evaluations per solve."""
    held = np.asarray(data[HELDOUT], bool)
    counts = np.isfinite(data[DATA]).sum(axis=1)  # (K, fields)
    misfit, rms, rel = (metrics.get(k) or {} for k in ("data_misfit_rms", "heldout_rms", "heldout_relative_error"))
    head = "<th>field</th><th>measurements (training / held out)</th><th>misfit RMS (training)</th>"
    head += "<th>RMS error (held out)</th><th>relative error (held out)</th>" if held.any() else ""
    rows = ""
    for j, f in enumerate(problem.fields):
        cells = [f"{counts[~held, j].sum()} / {counts[held, j].sum()}", sci(misfit.get(f))]
        cells += [sci(rms.get(f)), sci(rel.get(f))] if held.any() else []
        rows += f"<tr><th>{html.escape(f)}</th>" + "".join(f"<td class='num'>{c}</td>" for c in cells) + "</tr>"
    return (f"<table class='metrics trajectories'><caption>{_counted(metrics, held)}</caption><thead><tr>{head}</tr>"
            f"</thead><tbody>{rows}</tbody></table><p>RMS values are in the field's units; a relative error is "
            f"‖model − data‖ / ‖data‖ over the held-out measurements.</p>{solver_cost(metrics)}")  # fmt: skip


def _counted(metrics: dict, held: np.ndarray) -> str:
    """``Trajectories: 5 trained on, 1 held out``, from metrics.json (else the saved flags)."""
    split = metrics.get("trajectories") or {}
    train = split.get("train", int((~held).sum()))
    out = split.get("heldout", int(held.sum()))
    return f"Trajectories: {train} trained on, {out} held out (not trained on)"


def solver_cost(metrics: dict) -> str:
    """The vector-field evaluations (NFE) of one solve with the trained model: forward, and what
    a gradient adds."""
    nfe = metrics.get("nfe") or {}
    if not nfe:
        return ""
    cells = "".join(f"<td class='num'>{_count(nfe.get(k))}</td>" for k in ("forward", "backward", "steps"))
    return ("<table class='metrics nfe'><caption>Cost of one solve (the trained model, the first training "
            "trajectory)</caption><thead><tr><th>vector-field evaluations, forward</th><th>added by a gradient "
            f"(backward)</th><th>solver steps</th></tr></thead><tbody><tr>{cells}</tr></tbody></table>")  # fmt: skip


def _count(value) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "—"


def accuracy(metrics: dict) -> str:
    """The Accuracy section of a learned ODE: what it is measured against (no reference solution,
    no residual) and its held-out relative errors."""
    rel = metrics.get("heldout_relative_error") or {}
    text = ("<p>No reference solution and no residual: the equations are solved by the ODE solver, not "
            "penalised, so this solve is measured against its data (the misfit and held-out errors under Estimates "
            "and data).")  # fmt: skip
    if not rel:
        return text + (" No trajectory was held out (<code>holdout</code> = 0), so the misfit to the training data "
                       "is the only measure.</p>")  # fmt: skip
    errors = ", ".join(f"{html.escape(f)} {sci(v)}" for f, v in rel.items())
    return text + f" Relative error on the held-out trajectories, not trained on: {errors}.</p>"


# --- figures -----------------------------------------------------------------------------------


STYLE = ("one colour per trajectory; training trajectories solid with filled points, held-out ones (not trained "
         "on, predicted from their first measurement) dashed with open points")


def figures(out: pathlib.Path, problem, data) -> list[Figure]:
    """The data against the model, trajectory by trajectory, and a phase portrait of a two-field
    system, written to ``out``."""
    from .inverse_plots import save

    held = np.asarray(data[HELDOUT], bool)
    pick = drawn(held)
    shown = f"Shown: {len(pick)} of {len(held)} trajectories" + (f" ({held[pick].sum()} held out)." if held.any() else ".")
    plot = trajectories_figure(problem.fields, problem.domain.coords[0], data, pick)
    caption = ("<strong>Trajectories</strong>, one panel per field: the measurements (points) and the learned ODE "
               f"solved from each trajectory's initial state (lines); {STYLE}. {shown}")  # fmt: skip
    out_figures = [Figure(save(plot, out / "trajectories.png"), caption)]
    if len(problem.fields) == 2:
        x, y = (html.escape(f) for f in problem.fields)
        caption = (f"<strong>Phase portrait</strong>: {y} against {x} along each trajectory, the measurements (points, "
                   f"where both are measured) and the model (lines); {STYLE}. {shown}")  # fmt: skip
        out_figures.append(Figure(save(phase_figure(problem.fields, data, pick), out / "phase_portrait.png"), caption))
    return out_figures


def section(out: pathlib.Path, problem, metrics: dict, data) -> tuple[str, list[Figure]]:
    """The HTML of the trajectories' numbers and figures (the figures inlined), and the figures."""
    shown = figures(out, problem, data)
    return "\n".join([numbers(problem, metrics, data), *map(figure, shown)]), shown


def _style(c: int, heldout: bool) -> tuple[str, str, str]:
    """The ``c``-th trajectory drawn: its colour, line style and marker face (open if held out)."""
    colour = f"C{c % 10}"
    return colour, "--" if heldout else "-", "none" if heldout else colour


def _legend(fig, held: bool, ncols: int = 4) -> None:
    """What the styles mean (colours only tell trajectories apart), below the panels."""
    from matplotlib.lines import Line2D

    grey = {"color": "0.3", "ms": 5}
    handles = [Line2D([], [], ls="-", label="model, training trajectory", **grey),
               Line2D([], [], ls="", marker="o", label="measured, training", **grey)]  # fmt: skip
    if held:
        handles += [Line2D([], [], ls="--", label="model, held out", **grey),
                    Line2D([], [], ls="", marker="o", mfc="none", label="measured, held out", **grey)]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncols=min(ncols, len(handles)), fontsize=8, frameon=False)


def trajectories_figure(fields, coord: str, data, pick) -> "matplotlib.figure.Figure":
    """One panel per field against ``coord``: each picked trajectory's measurements and model."""
    from matplotlib.figure import Figure as Plot

    held = np.asarray(data[HELDOUT], bool)
    fig = Plot(figsize=(7.5, 0.9 + 2.4 * len(fields)))
    axes = fig.subplots(len(fields), 1, sharex=True, squeeze=False)[:, 0]
    for j, (ax, field) in enumerate(zip(axes, fields)):
        for c, k in enumerate(pick):
            colour, line, face = _style(c, held[k])
            seen = np.isfinite(data[DATA][k, :, j])
            ax.plot(data[DENSE_T][k], data[DENSE][k, :, j], line, color=colour, lw=1.5)
            ax.plot(data[TIMES][k, seen], data[DATA][k, seen, j], "o", color=colour, mfc=face, ms=4)
        ax.set(ylabel=field)
    axes[0].set_title(f"data and model, {len(pick)} of {len(held)} trajectories")
    axes[-1].set_xlabel(coord)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))  # room for the legend below
    _legend(fig, held[pick].any())
    return fig


def phase_figure(fields, data, pick) -> "matplotlib.figure.Figure":
    """The second field against the first: each picked trajectory's measurements and model."""
    from matplotlib.figure import Figure as Plot

    held = np.asarray(data[HELDOUT], bool)
    fig = Plot(figsize=(6.0, 6.0))
    ax = fig.subplots()
    for c, k in enumerate(pick):
        colour, line, face = _style(c, held[k])
        both = np.all(np.isfinite(data[DATA][k]), axis=1)
        ax.plot(data[DENSE][k, :, 0], data[DENSE][k, :, 1], line, color=colour, lw=1.5)
        ax.plot(data[DATA][k, both, 0], data[DATA][k, both, 1], "o", color=colour, mfc=face, ms=4)
    ax.set(xlabel=fields[0], ylabel=fields[1], title=f"phase portrait, {len(pick)} of {len(held)} trajectories")
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))
    _legend(fig, held[pick].any(), ncols=2)
    return fig


# --- training ----------------------------------------------------------------------------------


def training_figures(out: pathlib.Path, history: dict, metrics: dict, caption: str) -> list[Figure]:
    """The loss history without the recorded evaluations (they are no loss: ``caption`` says what
    it shows), and the evaluations per solve over training on their own axis."""
    from .plots import plot_history

    terms, records = history["terms"], history["records"]
    nfe = [i for i, name in enumerate(terms) if name.startswith(NFE_TERM)]
    # a term zero throughout (a regulariser that is off) would have no point on the log axis
    keep = [i for i in range(len(terms)) if i not in nfe and any(r["terms"][i] for r in records)]
    losses = [{**r, "terms": [r["terms"][i] for i in keep]} for r in records]
    shown = [Figure(plot_history(out / "loss_history.png", losses, [terms[i] for i in keep]), caption)]
    if nfe and records:
        shown.append(_nfe_plot(out, records, nfe[0], metrics))
    return shown


def _nfe_plot(out: pathlib.Path, records: list, index: int, metrics: dict) -> Figure:
    from .inverse_plots import save

    cost = metrics.get("nfe") or {}
    final = f" After training, one solve of the first training trajectory takes {_count(cost.get('forward'))} " \
            f"evaluations ({_count(cost.get('steps'))} steps)." if cost else ""  # fmt: skip
    caption = ("<strong>Vector-field evaluations per solve</strong> (NFE) against the optimiser step: the mean "
               "over the trajectories solved at that step, from the solver's accepted steps; recorded, not "
               f"minimised. A dotted vertical line marks where an optimiser phase starts.{final}")  # fmt: skip
    return Figure(save(nfe_figure(records, index), out / "nfe_history.png"), caption)


def nfe_figure(records: list, index: int) -> "matplotlib.figure.Figure":
    """The recorded term ``index`` (the NFE) against the step, with the phases marked."""
    from matplotlib.figure import Figure as Plot

    from .plots import phase_starts

    x, starts = phase_starts(records)
    fig = Plot(figsize=(7.5, 3.4))
    ax = fig.subplots()
    ax.plot(x, [r["terms"][index] for r in records], "o-", color="C2", ms=3)
    for where, name in starts:
        if where > 0:
            ax.axvline(where, color="0.45", ls=":", lw=1)
        ax.annotate(f" {name}", (where, 0.98), xycoords=("data", "axes fraction"), rotation=90, va="top", fontsize=9,
                    color="0.2", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_xlim(left=0)
    ax.set(xlabel="optimiser step", ylabel="evaluations per solve", title="solver cost during training (NFE)")
    fig.tight_layout()
    return fig
