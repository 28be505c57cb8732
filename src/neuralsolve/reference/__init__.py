"""Classical reference solutions (SciPy integrators, finite differences) to verify networks against.

Names are imported on first use: :mod:`.plan` (which method applies) needs no SciPy, and
``neuralsolve check`` uses it without paying for the solvers.
"""

from importlib import import_module

_EXPORTS = {"classical_reference": ".auto", "Reference": ".result"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
