"""Where a ``neuralsolve solve`` spends its time: start-up, the problem file, each part of the
solve (with JAX's compilations counted apart from the optimiser steps), and the outputs.

Compilations are timed by JAX itself (``jax.monitoring``): each one reports its tracing, lowering
and backend durations, and whether it came from the persistent cache.
"""

from __future__ import annotations

import os
import sys
import threading
import time

# the rows of the breakdown, in order, each with its key: a span name of the solution or the
# command ("load", "setup", ...), or a figure the breakdown computes ("start-up", "compilation", ...)
PARTS = (
    ("start-up (interpreter, imports)", "start-up"),
    ("problem file (read, check)", "load"),
    ("set-up (model, points)", "setup"),
    ("start values (fitted candidates)", "start"),
    ("training: compilation", "compilation"),
    ("training: optimiser steps", "steps"),
    ("training: points, optimiser state, progress", "between steps"),
    ("classical reference", "reference"),
    ("metrics (errors, discovery, verification)", "metrics"),
    ("outputs: data", "data"),
    ("outputs: plots and report", "report"),
)
_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")  # fmt: skip


_LISTENING: list = []  # the profile JAX's events go to (one listener pair per process)


def process_start() -> float | None:
    """This process's start, in ``time.perf_counter`` seconds (Linux: from /proc), when the process
    is the ``neuralsolve`` command; None elsewhere (the command called inside another program)."""
    if os.path.basename(sys.argv[0]) not in ("neuralsolve", "main.py"):
        return None
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: start time since boot
        # the age on the clock the kernel counts it by; /proc/stat's boot time is whole seconds,
        # which made the start-up up to 1 s longer than it was (0.62 s on 2026-12-04)
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.perf_counter() - age


class Profile:
    """Collects spans (part, start, end) and JAX's compilation events of one command."""

    def __init__(self):
        self.started = process_start()
        self.thread = threading.get_ident()  # compilations are counted in this thread only
        self.spans: list[tuple[str, float, float]] = []
        self.compiles: list[tuple[float, float]] = []  # (end, seconds) of each compilation stage
        self.cache_hits = 0
        self.compilations = 0

    def listen(self) -> None:
        """Record JAX's compilations from now on (imports JAX)."""
        if not _LISTENING:
            from jax import monitoring

            monitoring.register_event_duration_secs_listener(lambda *a, **k: _LISTENING[-1]._on_duration(*a, **k))
            monitoring.register_event_listener(lambda *a, **k: _LISTENING[-1]._on_event(*a, **k))
        _LISTENING[:] = [self]

    def _on_duration(self, event: str, seconds: float, **_) -> None:
        if threading.get_ident() != self.thread:
            return  # background work (the metrics' program, prepared while training): overlapped, not added
        if event in _COMPILE_EVENTS:
            self.compiles.append((time.perf_counter(), seconds))
        if event == "/jax/core/compile/backend_compile_duration":
            self.compilations += 1

    def _on_event(self, event: str, **_) -> None:
        if event == "/jax/compilation_cache/cache_hits" and threading.get_ident() == self.thread:
            self.cache_hits += 1

    def span(self, part: str):
        """A context manager timing ``part``."""
        return _Span(self, part)

    def compile_seconds(self, spans) -> float:
        """Seconds of compilation that ended inside any of ``spans``."""
        return sum(s for end, s in self.compiles if any(a <= end <= b for _, a, b in spans))

    def breakdown(self, solution_spans) -> dict:
        """Seconds per row of :data:`PARTS` (rows that did not occur are left out), the total,
        the total less the optimiser steps, and the count of compilations (and of those read from
        the persistent cache)."""
        spans = self.spans + list(solution_spans)
        by_part: dict[str, list] = {}
        for part, a, b in spans:
            by_part.setdefault(part, []).append((part, a, b))
        seconds = {part: sum(b - a for _, a, b in group) for part, group in by_part.items()}
        training, chunks = by_part.get("training", []), by_part.get("steps", [])
        compiled = self.compile_seconds(training)
        steps = seconds.get("steps", 0.0) - self.compile_seconds(chunks)  # a phase's first chunk compiles it
        computed = {
            "start-up": None if self.started is None or "load" not in by_part else by_part["load"][0][1] - self.started,
            "compilation": compiled if training else None,
            "steps": steps if training else None,
            "between steps": seconds["training"] - compiled - steps if training else None,
        }
        rows = {row: computed[key] if key in computed else seconds.get(key) for row, key in PARTS}
        rows = {k: round(v, 3) for k, v in rows.items() if v is not None}
        end = max(b for _, _, b in spans) if spans else time.perf_counter()
        start = self.started if self.started is not None else min((a for _, a, _ in spans), default=end)
        steps = computed["steps"] or 0.0
        return {"seconds": rows, "total_s": round(end - start, 3), "besides_steps_s": round(end - start - steps, 3),
                "compilations": self.compilations, "from_cache": self.cache_hits}  # fmt: skip


class _Span:
    def __init__(self, profile: Profile, part: str):
        self.profile, self.part = profile, part

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.profile.spans.append((self.part, self.start, time.perf_counter()))


def table(breakdown: dict) -> str:
    """The breakdown as lines of text for the terminal."""
    total = breakdown["total_s"]
    lines = [f"profile ({breakdown['compilations']} compilations, {breakdown['from_cache']} from the cache):"]
    for name, s in breakdown["seconds"].items():
        lines.append(f"  {name:<44} {s:8.2f} s  {100 * s / total:5.1f} %")
    lines.append(f"  {'total (whole process)':<44} {total:8.2f} s")
    lines.append(f"  {'all but the optimiser steps':<44} {breakdown['besides_steps_s']:8.2f} s")
    return "\n".join(lines)
