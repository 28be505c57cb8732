"""Progress of a solve: a live bar on a terminal (Rich), plain lines in a log file or a pipe."""

from __future__ import annotations

import sys
import time


class Progress:
    """Context manager whose :meth:`update` is a ``solve`` callback: step, loss, elapsed and
    remaining time. When ``stream`` (default stdout) is not a terminal (a batch job, CI, ``> log``),
    a bar would show nothing until the end, so it writes a plain line instead at the first record,
    at each change of phase, every ``every`` seconds and at the last step."""

    def __init__(self, total_steps: int, start: int = 0, stream=None, every: float = 10.0):
        self.stream = stream or sys.stdout
        self.total, self.start = total_steps, start
        self._plain = not self.stream.isatty()
        if self._plain:
            self._every, self._last, self._phase, self._first = every, None, None, None
            return
        # Rich only for the bar: importing it takes 0.02-0.05 s that a batch job or a pipe need not pay
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as _RichProgress

        self._bar = _RichProgress(
            TextColumn("{task.fields[phase]:>6}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        )  # fmt: skip
        self._task = self._bar.add_task("solve", total=total_steps, completed=start, phase="", loss="-")

    def __enter__(self) -> Progress:
        if not self._plain:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if not self._plain:
            self._bar.__exit__(*exc)

    def update(self, record: dict) -> None:
        phase = record["phase"] if "window" not in record else f"{record['phase']} (window {record['window'] + 1})"
        if not self._plain:
            self._bar.update(self._task, completed=record["step"], phase=phase, loss=f"{record['loss']:.3e}")
            return
        now = time.monotonic()
        self._first = self._first or (record["step"], now)
        due = self._last is None or phase != self._phase or now - self._last >= self._every
        if due or record["step"] >= self.total:
            self._line(record, phase, now)

    def _line(self, record: dict, phase: str, now: float) -> None:
        """One plain progress line, with a rough time left at the rate of the steps since the first
        record (the first chunk's time is mostly compilation: counted in, a short solve's first
        estimate was ten times too long)."""
        step, (first, then) = record["step"], self._first
        left = (self.total - step) * (now - then) / (step - first) if first < step < self.total else None
        eta = f", about {left:.0f} s left" if left is not None else ""
        print(f"{phase:>6} step {step}/{self.total} ({100 * step / max(self.total, 1):.0f}%)  loss {record['loss']:.3e}  "
              f"{record['elapsed']:.1f} s{eta}", file=self.stream, flush=True)  # fmt: skip
        self._last, self._phase = now, phase
