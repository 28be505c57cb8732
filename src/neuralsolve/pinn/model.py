"""The model of a physics-informed solve: the network through the trial function."""

from __future__ import annotations

from collections.abc import Callable


from ..nn.mlp import MLP
from ..nn.model import split
from ..nn.trial import make_trial
from ..problem.problem import Problem
from ..problem.wrap import wrap_rounding


def build_model(problem: Problem, network: MLP, dtype, seed: int) -> tuple[Callable, object]:
    """The pure ``model(params, x)`` (network through the trial function) and initial parameters."""
    domain = problem.domain
    lo, hi = domain.bounds()
    kinks = [(axis, a) for axis, points in problem.jumps.items() for a in points]
    trial = make_trial(problem.hard, domain.segments(), domain.coords, len(problem.fields), problem.scale, problem.sign,
                       shape=getattr(domain.plane(), "shape", None), shape_values=problem.shape_hard,
                       added=wrap_rounding(problem))
    net = network.build(domain.dim, len(problem.fields) + trial.extra_outputs, lo, hi, dtype, seed,
                        kinks, problem.periodic)
    return split(net, trial)

