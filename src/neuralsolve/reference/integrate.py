"""Time integration of a right-hand side written in JAX, in float64, with SciPy's IVP solvers."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax
import numpy as np
from scipy import integrate as ivp

from .._errors import ProblemError

_SOLVERS = {"RK45": ivp.RK45, "DOP853": ivp.DOP853, "Radau": ivp.Radau, "BDF": ivp.BDF, "LSODA": ivp.LSODA}


def integrate(rhs: Callable, t_span: tuple[float, float], y0: np.ndarray, *, name: str, method: str,
              jac: Callable | None = None, max_steps: int = 100_000, **options) -> ivp.OdeSolution | None:  # fmt: skip
    """The dense solution of ``y' = rhs(t, y)``, or None (with a warning) if the integration fails.

    ``rhs`` and ``jac`` are traceable JAX functions of (t, y); ``options`` go to the SciPy solver
    (``rtol``, ``atol``, ``jac_sparsity``). This is ``solve_ivp``'s loop with a step budget, so that
    a solution that blows up — which some solvers chase with ever smaller steps — ends the search.
    """
    if method not in _SOLVERS:
        raise ProblemError(f"unknown integration method {method!r}; expected one of {', '.join(_SOLVERS)}")
    if jac is not None:
        options["jac"] = _numpy(jax.jit(jac))
    message = None
    try:
        solver = _SOLVERS[method](_numpy(jax.jit(rhs)), t_span[0], y0, t_span[1], **options)
        times, pieces = [t_span[0]], []
        while solver.status == "running" and len(pieces) < max_steps:
            message = solver.step()
            if solver.status == "failed":
                break
            times.append(solver.t)
            pieces.append(solver.dense_output())
    except (ValueError, ArithmeticError) as err:  # e.g. a singular Newton matrix: no reference, not a crash
        solver, message = None, f"{type(err).__name__}: {err}"
    if solver is None or solver.status != "finished":
        message = message or f"more than {max_steps} steps (is the solution blowing up?)"
        warnings.warn(f"no classical reference for {name!r}: {method} failed: {message}", RuntimeWarning, stacklevel=4)
        return None
    return ivp.OdeSolution(times, pieces)


def _numpy(fn: Callable) -> Callable:
    """Call a jitted JAX function of (t, y) in float64 and return NumPy, as SciPy's solvers expect."""

    def call(t, y):
        with jax.enable_x64(True):
            return np.asarray(fn(float(t), np.asarray(y, np.float64)))  # NumPy in: no per-call device copies

    return call
