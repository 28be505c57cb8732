"""Classical reference solutions (SciPy integrators, finite differences) to verify networks against."""

from .auto import classical_reference as classical_reference
from .result import Reference as Reference

__all__ = ["Reference", "classical_reference"]
