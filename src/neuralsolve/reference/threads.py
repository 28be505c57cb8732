"""One BLAS thread for the classical references' linear algebra."""

from __future__ import annotations

import contextlib


def single_threaded():
    """A context in which NumPy's BLAS and LAPACK run on one thread, where threadpoolctl is installed.

    The references' matrices are small (hundreds to a thousand rows): threads buy little there and,
    on a machine whose cores are busy (training runs beside the reference in a background thread),
    spinning BLAS threads cost many times the work itself — the 2-D eigen reference took 30 s with
    OpenBLAS's threads on a loaded 2-core machine and 1.1 s on one thread.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up, not a dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
