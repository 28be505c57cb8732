"""The solution of an inverse problem: the fields, and what was learned about the equations."""

from __future__ import annotations

from ...solution import Solution


class InverseSolution(Solution):
    """A :class:`~neuralsolve.solution.Solution` that also carries the estimated constants and the
    discovered formulas (both from its ``metrics``)."""

    @property
    def unknowns(self) -> dict[str, float]:
        """The estimated constants by name."""
        return dict(self.metrics.get("unknowns") or {})

    @property
    def unknowns_stderr(self) -> dict[str, float]:
        """Their standard errors by name (see docs/inverse-problems.md)."""
        return dict(self.metrics.get("unknowns_stderr") or {})

    @property
    def discovered(self) -> dict[str, str]:
        """Each hidden term's formula (a SymPy-parsable string), after verification's refit."""
        return dict(self.metrics.get("discovered") or {})

    def __repr__(self) -> str:
        found = ", ".join(f"{k}={v:.6g}" for k, v in self.unknowns.items())
        return f"InverseSolution(fields={list(self.fields)}, status={self.status!r}, steps={self.steps}, unknowns={{{found}}})"
