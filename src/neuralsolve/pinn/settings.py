"""The settings of a physics-informed solve: those given, else the problem's ``[solver]`` table,
else the defaults; each checked here, so that ``check``, ``solve`` and ``open`` agree.

What only one method family supports (time windows, eigenproblems) is checked by that family.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._errors import ProblemError
from ..loss.terms import Points, check_causal
from ..nn.mlp import MLP
from ..problem.problem import Problem
from ..sampling.adaptive import RAD, sampling_method
from ..train.fit import check_time_limit
from ..train.phases import default_phases
from ..train.sharding import check_devices
from ..train.weighting import Causal, weighting_strategy

PRECISIONS = ("float32", "float64")


def resolve_settings(problem: Problem, given: dict) -> dict:
    """``solve``'s settings: those ``given``, else the problem's ``[solver]`` table, else defaults."""
    settings = {**problem.solver, **given}
    method = settings.get("method", "pinn")
    if method == "operator":
        raise ProblemError("method 'operator' learns a solution operator: it needs an [operator] section "
                           "(docs/neural-operators.md)")
    if method != "pinn":
        raise ProblemError(f"method must be 'pinn', 'neural-ode' or 'operator', got {method!r}")
    if settings.get("ode") is not None:
        raise ProblemError("ode settings are for method = 'neural-ode'; this solve uses method = 'pinn'")
    for key in ("model", "training"):
        if settings.get(key) is not None:
            raise ProblemError(f"{key} settings are for neural operators (an [operator] section); this solve "
                               "uses method = 'pinn'")  # fmt: skip
    precision = settings.get("precision", "float64")
    if precision not in PRECISIONS:
        raise ProblemError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    weighting = weighting_strategy(settings.get("weighting"))
    redraw = settings.get("redraw")
    if redraw is not None and (isinstance(redraw, bool) or not isinstance(redraw, int) or redraw < 1):
        raise ProblemError(f"redraw must be a whole number of steps >= 1, got {redraw!r}")
    causal = settings.get("causal")
    if causal is not None:
        if not isinstance(causal, Causal):
            raise ProblemError(f"causal must be Causal(slices=..., epsilon=...) or None, got {type(causal).__name__}")
        check_causal(problem)
    sampling = sampling_method(settings.get("sampling"))
    if sampling is not None and redraw is not None:
        raise ProblemError(f"sampling = {sampling.name!r} and redraw cannot be combined: {sampling.name} chooses the points itself")
    time_limit = check_time_limit(settings.get("time_limit"))
    windows = whole_windows(settings.get("windows", 1))
    phases, points = settings.get("phases"), collocation_points(settings.get("points"))
    if isinstance(sampling, RAD) and sampling.pool < points.counts(problem.domain.dim)[0]:
        raise ProblemError(f"rad sampling pool ({sampling.pool}) must be at least the number of interior points "
                           f"({points.counts(problem.domain.dim)[0]})")  # fmt: skip
    return {"network": settings.get("network") or MLP(), "points": points,
            "phases": tuple(phases) if phases is not None else default_phases(problem.domain.dim),
            "precision": precision,
            "seed": settings.get("seed", 0), "weighting": weighting, "causal": causal, "sampling": sampling,
            "redraw": redraw, "time_limit": time_limit, "windows": windows,
            "devices": check_devices(settings.get("devices"))}  # fmt: skip


def collocation_points(points) -> Points:
    """``points`` as :class:`Points`: given so, a whole number of interior points, or None (the defaults)."""
    if points is None:
        return Points()
    if isinstance(points, Points):
        return points
    if isinstance(points, int) and not isinstance(points, bool):
        return Points(interior=points)
    raise ProblemError(f"points must be Points(interior=..., boundary=...) or a number of interior points, got {points!r}")


def whole_windows(windows) -> int:
    """``windows`` (the number of time windows) as a whole number >= 1."""
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise ProblemError(f"windows must be a whole number >= 1, got {windows!r}")
    return windows


def dtype_of(settings: dict):
    """The JAX float type of the settings' precision."""
    return jnp.float64 if settings["precision"] == "float64" else jnp.float32
