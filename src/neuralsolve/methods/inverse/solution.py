"""The solution of an inverse problem: the fields, and what was learned about the equations."""

from __future__ import annotations

from ...solution import Estimates, Solution


class InverseSolution(Estimates, Solution):
    """A :class:`~neuralsolve.solution.Solution` that also carries the estimated constants and the
    discovered formulas (both from its ``metrics``)."""

    def __repr__(self) -> str:
        found = ", ".join(f"{k}={v:.6g}" for k, v in self.unknowns.items())
        return f"InverseSolution(fields={list(self.fields)}, status={self.status!r}, steps={self.steps}, unknowns={{{found}}})"
