"""The ``neuralsolve`` console script: the command line, then an exit without the interpreter's
teardown.

Once a command has written its answer, a normal exit still frees every object of a process that
imported JAX and compiled programs, one by one: 0.2 s after a tiny JAX program and 0.9 s after a
solve (Burgers, 2-core AMD EPYC, 2026-12-03), all of it after the last line is printed. Nothing of
that work is the user's: the exit handlers (logging's flush, Ray's shutdown and the like) still
run, the standard streams are flushed, files are closed by the code that wrote them. Whenever a
thread besides the main one is alive, the exit is the normal one, which waits for it.

Before anything imports JAX, the CPU is made one XLA device per core (:mod:`neuralsolve.cores`),
so that training can split its points over the cores (:mod:`neuralsolve.train.sharding`).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def run() -> None:
    """Run the ``neuralsolve`` command line and exit with its status."""
    from ..cores import cores_as_devices, usable_cores

    os.environ["XLA_FLAGS"] = cores_as_devices(os.environ.get("XLA_FLAGS", ""), usable_cores())
    from .main import main

    try:
        main()
    except SystemExit as done:
        leave(done.code)
    leave(0)


def leave(code) -> None:
    """Exit with ``code`` (as ``sys.exit`` takes it): quickly when only the main thread is left."""
    if threading.active_count() > 1:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()  # what a normal exit runs before tearing down (CPython's own function)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(status)
