"""Work done in a background thread while the network trains: training runs in compiled XLA code
that releases the interpreter, so tracing and compiling what measuring needs (or computing a
classical reference) then costs the time to the answer little."""

from __future__ import annotations

import threading
from collections.abc import Callable

import jax


class Background:
    """``work(*args)`` in a daemon thread named ``name``, with float64 enabled or not (JAX's
    setting is per thread): :meth:`start` it once (later calls do nothing), :meth:`result` waits
    for its value and raises its error in the caller's thread."""

    def __init__(self, name: str, x64: bool):
        self.name, self.x64 = name, x64
        self._thread, self._outcome = None, {}

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, work: Callable, *args) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(work, *args), name=self.name, daemon=True)
            self._thread.start()

    def _run(self, work: Callable, *args) -> None:
        try:
            with jax.enable_x64(self.x64):
                self._outcome["value"] = work(*args)
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            self._outcome["error"] = err

    def join(self) -> None:
        """Wait for the work, if it was started."""
        if self._thread is not None:
            self._thread.join()

    def result(self):
        """The work's value (it must have been started); its error, raised here."""
        self.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]
