"""PNG plots of a solution: field, reference and pointwise error; slices in time; loss history.

Every panel has a title and labelled axes; the loss history marks where each optimiser phase
starts, and its legend sits below the axes, saved with ``bbox_inches="tight"`` so nothing is cut.

Every function takes plain data (arrays, strings, a :class:`Frame` for what it needs of the
problem), so that a helper process can draw it (:mod:`neuralsolve.report.drawing`).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# matplotlib is imported by the functions that draw (its Figure, not pyplot: files only, never a
# window, and 0.4 s less to import), so that a solve can name them without importing it
if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIME = "t"
SLICES = 4  # times shown in the slices of an evolution problem
RECORD_KEYS = {"phase", "step", "loss", "terms", "elapsed"}  # the rest (a state, a window) names a round


@dataclass(frozen=True)
class Frame:
    """What a plot needs of the problem: the coordinates' names and, for a plane shape, its
    bounding box ``(lo, hi)`` and its boundary pieces as polylines."""

    coords: tuple[str, ...]
    box: tuple[np.ndarray, np.ndarray] | None = None
    outline: tuple[np.ndarray, ...] = ()


def warm_up() -> None:
    """Import matplotlib and draw a small figure with text and a colour map to memory: the first
    figure of a process pays for loading the fonts and filling matplotlib's caches."""
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    ax = fig.subplots()
    fig.colorbar(ax.pcolormesh(np.zeros((2, 2))), ax=ax, label="u")
    ax.set(xlabel="x", ylabel="y", title="t")
    fig.savefig(io.BytesIO(), format="png", dpi=20)


def frame_of(problem) -> Frame:
    """The :class:`Frame` of ``problem``'s domain (boundary pieces sampled at 200 points each)."""
    plane = problem.domain.plane()
    if plane is None:
        return Frame(tuple(problem.domain.coords))
    outline = tuple(piece.sample(np.linspace(0.0, 1.0, 200))[0] for piece in plane.shape.pieces)
    return Frame(tuple(problem.domain.coords), (np.asarray(plane.shape.lo), np.asarray(plane.shape.hi)), outline)


def plot_solution(path: pathlib.Path, frame: Frame, points, shape, values, reference, title: str,
                  reference_label: str = "reference") -> pathlib.Path:  # fmt: skip
    """Save :func:`solution_figure` as a PNG file."""
    solution_figure(frame, points, shape, values, reference, title, reference_label).savefig(path, dpi=100)
    return path


def solution_figure(frame: Frame, points, shape, values, reference, title: str, reference_label: str = "reference") -> Figure:
    """1-D: the solution over the reference, and the pointwise error; 2-D: maps of solution,
    reference and |error|; higher: a histogram of the values. ``title`` names the field (or state)."""
    from matplotlib.figure import Figure

    coords = frame.coords
    label = title.split(",")[0]  # "psi[0], E = 9.87" -> "psi[0]"
    if shape is not None and len(shape) == 1:
        fig = Figure(figsize=(5.2 * (1 if reference is None else 2), 3.8))
        axes = fig.subplots(1, 1 if reference is None else 2, squeeze=False)[0]
        x = points[:, 0]
        axes[0].plot(x, values, lw=2, label="neuralsolve")
        if reference is not None:
            axes[0].plot(x, reference, "k--", lw=1.2, label=reference_label)
            axes[0].legend(fontsize=8)
            error = np.abs(values - reference)
            axes[1].semilogy(x, np.where(error > 0, error, np.nan))  # exactly 0 where a value is imposed exactly
            axes[1].set(xlabel=coords[0], ylabel=f"|{label} − reference|", title="pointwise error")
        axes[0].set(xlabel=coords[0], ylabel=label, title=title)
    elif shape is not None:
        maps = [(values, f"{title} (network)", label)]
        if reference is not None:
            maps += [(reference, reference_label, label), (np.abs(values - reference), "pointwise error", f"|{label} − reference|")]
        height = 3.9
        if frame.box is not None:  # a wide shape gets a low figure, so its maps are not mostly margin
            lo, hi = frame.box
            height = float(np.clip(1.3 + 3.4 * (hi[1] - lo[1]) / (hi[0] - lo[0]), 2.2, 3.9))
        fig = Figure(figsize=(4.8 * len(maps), height))
        axes = fig.subplots(1, len(maps), squeeze=False)[0]
        grid = [points[:, i].reshape(shape) for i in range(2)]
        for ax, (data, name, unit) in zip(axes, maps):
            image = ax.pcolormesh(grid[0], grid[1], data.reshape(shape), shading="auto", cmap="viridis")
            fig.colorbar(image, ax=ax, label=unit, shrink=0.8 if frame.box is not None else 1.0)
            ax.set(xlabel=coords[0], ylabel=coords[1], title=name)
            if frame.box is not None:  # the shape as it is: true proportions, its boundary drawn
                _outline(ax, frame.outline)
    else:
        fig = Figure(figsize=(5.2, 3.8))
        ax = fig.subplots()
        ax.hist(values[np.isfinite(values)], bins=50)
        ax.set(title=f"{title} at {len(values)} points", xlabel=label, ylabel="number of points")
    fig.tight_layout()
    return fig


def _outline(ax, outline: tuple[np.ndarray, ...]) -> None:
    """Draw a plane shape's boundary pieces on ``ax`` with equal scales on both axes."""
    for points in outline:
        ax.plot(points[:, 0], points[:, 1], color="black", lw=0.8)
    ax.set_aspect("equal")


def time_slices(frame: Frame, shape) -> list[int] | None:
    """Indices along the time axis of the grid for the slices u(x, t_k) of an evolution problem in
    one space dimension (None for any other problem: no grid in space and time to slice)."""
    coords = frame.coords
    if shape is None or len(shape) != 2 or TIME not in coords:
        return None
    n = shape[coords.index(TIME)]
    return sorted({round(k * (n - 1) / (SLICES - 1)) for k in range(SLICES)})


def plot_slices(path: pathlib.Path, frame: Frame, points, shape, values, reference, title: str,
                reference_label: str = "reference") -> pathlib.Path:  # fmt: skip
    """``title``'s field against space at a few times, each against the reference on the same axes."""
    from matplotlib.figure import Figure

    coords = frame.coords
    it = coords.index(TIME)
    ix = 1 - it
    grid = [points[:, i].reshape(shape) for i in range(2)]
    take = (lambda a, k: a.reshape(shape)[:, k]) if it == 1 else (lambda a, k: a.reshape(shape)[k, :])
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    colors = ["C0", "C1", "C2", "C3", "C4", "C5"]
    for color, k in zip(colors, time_slices(frame, shape)):
        x, t = take(grid[ix], k), take(grid[it], k)[0]
        ax.plot(x, take(values, k), color=color, lw=2, label=f"{TIME} = {t:.3g}")
        if reference is not None:
            ax.plot(x, take(reference, k), "k--", lw=1)
    if reference is not None:
        ax.plot([], [], "k--", lw=1, label=reference_label)
    label = title.split(",")[0]
    ax.set(xlabel=coords[ix], ylabel=label, title=f"{label}({coords[ix]}, {TIME}) at {SLICES} times")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def phase_starts(history: list) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """The x position of each record on one increasing axis (records of a new round, e.g. the next
    eigenstate, count on from the last), and ``(x, label)`` where each phase starts: at the record
    before its first one (a phase's last record is its end), 0 for the first."""
    xs, starts, offset, last_step, last_key = [], [], 0, None, None
    for record in history:
        rounds = sorted((k, v) for k, v in record.items() if k not in RECORD_KEYS)
        key = (record["phase"], tuple(rounds))
        new_round = last_key is not None and key[1] != last_key[1]
        if last_step is not None and (record["step"] < last_step or (new_round and record["step"] <= last_step)):
            offset += last_step  # a new round restarts its step count
        if key != last_key:
            starts.append((xs[-1] if xs else 0.0, " ".join([record["phase"], *(f"{k} {v}" for k, v in rounds)])))
        xs.append(float(record["step"] + offset))
        last_step, last_key = record["step"], key
    return np.array(xs, float), starts


def plot_history(path: pathlib.Path, history: list, term_names: list) -> pathlib.Path:
    """Save :func:`history_figure` as a PNG file, legend included (``bbox_inches="tight"``)."""
    history_figure(history, term_names).savefig(path, dpi=100, bbox_inches="tight")
    return path


def history_figure(history: list, term_names: list) -> Figure:
    """Total and per-term loss against step, one point per progress record, with a dotted line
    and the method's name where each optimiser phase starts; the legend below the axes."""
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.subplots()
    if history:
        x, starts = phase_starts(history)
        ax.semilogy(x, [h["loss"] for h in history], "k-", lw=2, label="total")
        for i, name in enumerate(term_names):
            ax.semilogy(x, [h["terms"][i] for h in history], lw=1, label=name if len(name) <= 70 else name[:69] + "…")
        on_axis = blended_transform_factory(ax.transData, ax.transAxes)
        for where, name in starts:
            if where > 0:
                ax.axvline(where, color="0.45", ls=":", lw=1)
            ax.text(where, 0.98, f" {name}", transform=on_axis, rotation=90, va="top", ha="left", fontsize=9, color="0.2",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.16), ncols=2, frameon=False)
        ax.set_xlim(left=0)  # where the first phase starts
    ax.set(xlabel="optimiser step", ylabel="loss", title="training loss (dotted lines: a phase starts)")
    return fig
