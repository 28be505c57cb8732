"""Figures drawn by helper processes, side by side, while the command itself goes on.

A solve's plots cost matplotlib's import (0.2-0.3 s) and each figure's drawing, mostly Python
(text layout, ticks), one figure after another in one process. The commands that draw
(``solve``, ``resume``, ``report``) start two helper processes first (:func:`helping`): each
imports matplotlib at the lowest priority, on the core that the command's own start-up (one
interpreter importing JAX and SymPy) leaves idle, then waits through training. At the end
:meth:`Helpers.draw` hands each helper the next figure as soon as it is free.

A figure is a plotting function of :mod:`neuralsolve.report.plots` and its arguments (plain
data: arrays, strings, a :class:`~neuralsolve.report.plots.Frame`). Nothing depends on a helper:
one that failed to start, died or raised hands its figure back, which is then drawn in this
process as without helpers (an error in the drawing is raised here, as ever).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager, suppress

from ..cores import usable_cores

COUNT = 2  # helpers: the figures of a plain solve are two or three
PATIENCE = 120.0  # seconds for one figure (a figure takes well under 2 s)


class Helpers:
    """Running helper processes (none on a one-core machine, where they would only compete)."""

    def __init__(self, count: int = COUNT):
        self._procs = [_start() for _ in range(count if usable_cores() > 1 else 0)]
        self._procs = [p for p in self._procs if p is not None]

    def draw(self, figures: Sequence[tuple[Callable, tuple]]) -> list:
        """The result of each ``function(*args)`` in ``figures``, drawn by the helpers as each is
        free; a figure no helper drew is drawn here."""
        from concurrent.futures import ThreadPoolExecutor
        from queue import SimpleQueue

        results = [_MISSED] * len(figures)
        if self._procs:
            free = SimpleQueue()
            for proc in self._procs:
                free.put(proc)

            def by_helper(i: int) -> None:
                proc = free.get()
                try:
                    results[i] = _ask(proc, *figures[i])
                finally:
                    free.put(proc)

            with ThreadPoolExecutor(len(self._procs)) as pool:  # threads that wait on pipes
                list(pool.map(by_helper, range(len(figures))))
        return [function(*args) if done is _MISSED else done for (function, args), done in zip(figures, results)]

    def close(self) -> None:
        """Stop the helpers (they hold nothing: every figure they drew is on disk)."""
        for proc in self._procs:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                with suppress(OSError):  # what was left unsent to a helper that died
                    stream.close()
        self._procs = []


@contextmanager
def helping(wanted: bool = True):
    """:class:`Helpers` for the duration of a command, stopped whatever happens (None when not
    ``wanted``: the command draws nothing)."""
    started = Helpers() if wanted else None
    try:
        yield started
    finally:
        if started is not None:
            started.close()


def draw(figures: Sequence[tuple[Callable, tuple]], helpers: Helpers | None = None) -> list:
    """Each ``function(*args)`` in ``figures``: by ``helpers`` if given, else here, in order."""
    if helpers is not None:
        return helpers.draw(figures)
    return [function(*args) for function, args in figures]


_MISSED = object()  # a figure no helper drew


def _start() -> subprocess.Popen | None:
    try:
        return subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)  # fmt: skip
    except OSError:  # no interpreter to start (an embedded Python): draw here
        return None


def _ask(proc: subprocess.Popen, function: Callable, args: tuple):
    """``function(*args)`` by the helper ``proc``, or ``_MISSED`` if it could not (a helper that
    has not answered within :data:`PATIENCE` seconds is stopped: a hung helper never hangs the command)."""
    from threading import Timer

    deadline = Timer(PATIENCE, proc.kill)
    deadline.start()
    try:
        pickle.dump((function.__module__, function.__qualname__, args), proc.stdin)
        proc.stdin.flush()
        ok, value = pickle.load(proc.stdout)
    except (OSError, EOFError, pickle.PickleError, ValueError):  # dead, or closed: this process draws it
        return _MISSED
    finally:
        deadline.cancel()
    return value if ok else _MISSED


def _serve() -> None:
    """A helper's life: import the plots, then draw each figure asked for until the pipe closes."""
    import importlib
    import signal

    if hasattr(os, "nice"):  # idle cores only: at full priority its import slowed the solve's own by 0.5 s
        os.nice(19)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the solve's to handle; this one is stopped
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")  # answers go here, and nothing else
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt them
    asked = sys.stdin.buffer
    from .plots import warm_up

    warm_up()  # why a helper is started early
    while True:
        try:
            module, name, args = pickle.load(asked)
        except EOFError:
            return
        try:
            answer = (True, getattr(importlib.import_module(module), name)(*args))
        except Exception:  # drawn again by the solve, which then raises it where it is seen
            answer = (False, None)
        pickle.dump(answer, channel)
        channel.flush()


if __name__ == "__main__":
    _serve()
