"""PNG plots of a solution: field, reference and pointwise error; loss history."""

from __future__ import annotations

import pathlib

import numpy as np
from matplotlib.figure import Figure  # not pyplot: files only, never a window, and 0.4 s less to import


def plot_solution(path: pathlib.Path, problem, points, shape, values, reference, field: str) -> pathlib.Path:
    """1-D: curves and error; 2-D: maps of solution, reference and |error|; higher: a histogram."""
    coords = problem.domain.coords
    panels = 1 if reference is None else 3
    fig = Figure(figsize=(4.6 * panels, 3.8))
    axes = fig.subplots(1, panels, squeeze=False)
    axes = axes[0]
    if shape is not None and len(shape) == 1:
        x = points[:, 0]
        axes[0].plot(x, values, label="neuralsolve")
        if reference is not None:
            axes[0].plot(x, reference, "k--", label="reference")
            axes[0].legend()
            axes[1].plot(x, reference, "k-")
            axes[1].set_title("reference")
            axes[2].semilogy(x, np.abs(values - reference) + 1e-300)
            axes[2].set_title("|error|")
        axes[0].set(xlabel=coords[0], ylabel=field, title=field)
    elif shape is not None:
        maps = [(values, field)] + ([] if reference is None else [(reference, "reference"), (np.abs(values - reference), "|error|")])
        for ax, (data, title) in zip(axes, maps):
            grid = [points[:, i].reshape(shape) for i in range(2)]
            image = ax.pcolormesh(grid[0], grid[1], data.reshape(shape), shading="auto", cmap="viridis")
            fig.colorbar(image, ax=ax)
            ax.set(xlabel=coords[0], ylabel=coords[1], title=title)
    else:
        axes[0].hist(values[np.isfinite(values)], bins=50)
        axes[0].set(title=f"{field} at 4096 points", xlabel=field)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_history(path: pathlib.Path, history: list, term_names: list) -> pathlib.Path:
    """Total and per-term loss against step, one point per progress record."""
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    if history:
        steps = [h["step"] for h in history]
        ax.semilogy(steps, [h["loss"] for h in history], "k-", lw=2, label="total")
        for i, name in enumerate(term_names):
            ax.semilogy(steps, [h["terms"][i] for h in history], lw=1, label=name[:40])
        ax.legend(fontsize=7)
    ax.set(xlabel="step", ylabel="loss", title="training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
