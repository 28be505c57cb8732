"""A live progress bar for solves: step, loss, elapsed and remaining time (Rich)."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as _RichProgress


class Progress:
    """Context manager whose :meth:`update` is a ``solve`` callback."""

    def __init__(self, total_steps: int):
        self._bar = _RichProgress(
            TextColumn("{task.fields[phase]:>6}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        )  # fmt: skip
        self._task = self._bar.add_task("solve", total=total_steps, phase="", loss="-")

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def update(self, record: dict) -> None:
        phase = record["phase"] if "window" not in record else f"{record['phase']} (window {record['window'] + 1})"
        self._bar.update(self._task, completed=record["step"], phase=phase, loss=f"{record['loss']:.3e}")
