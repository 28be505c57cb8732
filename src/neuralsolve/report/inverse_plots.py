"""PNG plots of an inverse solve: the estimates with their error bars, the data against the fitted
solution, and each hidden network against its discovered formula."""

from __future__ import annotations

import pathlib

import numpy as np
from matplotlib.figure import Figure

DATA_MARKERS = "os^vD<>p"  # one per data set


def estimates_figure(names, values, stderr, true) -> Figure:
    """One row per unknown, each on its own scale (constants may differ by orders of magnitude):
    the estimate with a bar of ± 2 standard errors, and the true value where it is known."""
    fig = Figure(figsize=(6.4, 0.8 + 0.9 * len(names)))
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name, v, se, t in zip(axes, names, values, stderr, true):
        bar = 2 * se if se is not None and np.isfinite(se) else None
        what = "estimate ± 2 standard errors" if bar is not None else "estimate (no standard error)"
        ax.errorbar([v], [0], xerr=None if bar is None else [[bar], [bar]], fmt="o", color="C0", capsize=5, label=what)
        if t is not None:
            ax.plot([t], [0], "x", color="C3", ms=10, mew=2, label="true value")
        ax.set_yticks([0], [name])
        ax.set_ylim(-1, 1)
        ax.ticklabel_format(axis="x", useOffset=False, style="sci", scilimits=(-3, 4))
    axes[0].set_title("estimated constants")
    axes[-1].set_xlabel("value (each row on its own scale)")
    handles = {h.get_label(): h for ax in axes for h in ax.get_legend_handles_labels()[0]}
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncols=2, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.tight_layout(rect=(0, 0.08 + 0.1 / len(names), 1, 1))
    return fig


def data_curve_figure(field: str, coord: str, grid, fitted, data_sets) -> Figure:
    """One coordinate: the fitted ``field`` along ``grid`` and the measurements as points;
    ``data_sets`` is ``[(name, points (n,), values (n,))]``, NaN values left out."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ax.plot(grid, fitted, lw=2, color="C0", label="fitted solution")
    for k, (name, x, y) in enumerate(data_sets):
        seen = np.isfinite(y)
        ax.plot(x[seen], y[seen], DATA_MARKERS[k % len(DATA_MARKERS)], color="C1", ms=5, mfc="none",
                label=f"measured ({name})")  # fmt: skip
    ax.set(xlabel=coord, ylabel=field, title=f"{field}: fitted solution and measurements")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def data_scatter_figure(fields, pairs) -> Figure:
    """Predicted against measured, one panel per field, with the line where they agree; ``pairs``
    is ``{field: [(name, measured (n,), predicted (n,))]}``."""
    fig = Figure(figsize=(4.4 * len(fields), 4.2))
    axes = fig.subplots(1, len(fields), squeeze=False)[0]
    for ax, field in zip(axes, fields):
        lo, hi = np.inf, -np.inf
        for k, (name, measured, predicted) in enumerate(pairs[field]):
            seen = np.isfinite(measured)
            ax.plot(measured[seen], predicted[seen], DATA_MARKERS[k % len(DATA_MARKERS)], color="C0", ms=4,
                    mfc="none", label=name)  # fmt: skip
            both = np.concatenate([measured[seen], predicted[seen]])
            lo, hi = min(lo, both.min()), max(hi, both.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="predicted = measured")
        ax.set(xlabel=f"measured {field}", ylabel=f"predicted {field}", title=f"{field}: predicted against measured")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def hidden_curve_figure(label: str, coord: str, x, network, formula) -> Figure:
    """One coordinate: a hidden term along the solution, its network (when saved) and its formula."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    if network is not None:
        ax.plot(x, network, lw=2, color="C0", label="hidden network")
    ax.plot(x, formula, "--", lw=1.5, color="C3", label="discovered formula")
    ax.set(xlabel=coord, ylabel=label, title=f"{label} along the fitted solution")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def hidden_scatter_figure(label: str, network, formula) -> Figure:
    """More coordinates: the formula's values against the network's at the same points."""
    fig = Figure(figsize=(4.8, 4.4))
    ax = fig.subplots()
    seen = np.isfinite(network) & np.isfinite(formula)
    ax.plot(network[seen], formula[seen], ".", ms=2, color="C0", alpha=0.5)
    lo, hi = np.min(network[seen]), np.max(network[seen])
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="formula = network")
    ax.set(xlabel=f"{label}: hidden network", ylabel=f"{label}: discovered formula",
           title=f"{label}: formula against network")  # fmt: skip
    ax.locator_params(nbins=6)  # values like -17.5 would otherwise run into one another
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig: Figure, path: pathlib.Path) -> pathlib.Path:
    """Write ``fig`` as a PNG file (``bbox_inches="tight"``: a legend outside the axes is kept)."""
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path
