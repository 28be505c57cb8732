"""Time integration of a right-hand side written in JAX (or NumPy), in float64, with SciPy's IVP solvers."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax
import numpy as np
from scipy import integrate as ivp

from .._errors import ProblemError
from .threads import single_threaded

_SOLVERS = {"RK45": ivp.RK45, "DOP853": ivp.DOP853, "Radau": ivp.Radau, "BDF": ivp.BDF, "LSODA": ivp.LSODA}


def integrate(rhs: Callable, t_span: tuple[float, float], y0: np.ndarray, *, name: str, method: str,
              jac: Callable | None = None, max_steps: int = 100_000, compiled: bool = True, warn: bool = True,
              **options) -> ivp.OdeSolution | None:  # fmt: skip
    """The dense solution of ``y' = rhs(t, y)``, or None (with a warning) if the integration fails.

    ``rhs`` and ``jac`` are traceable JAX functions of (t, y), compiled here; with ``compiled=False``
    they are NumPy functions already and are called as they are. ``warn=False`` fails silently (a
    second solve that only estimates a reference's error). ``options`` go to the SciPy solver
    (``rtol``, ``atol``, ``jac_sparsity``). This is ``solve_ivp``'s loop with a step budget and a
    bound on the solution's size, so that a solution that blows up — which some solvers chase with
    ever smaller steps — ends the search.
    """
    if method not in _SOLVERS:
        raise ProblemError(f"unknown integration method {method!r}; expected one of {', '.join(_SOLVERS)}")
    if jac is not None:
        options["jac"] = _numpy(jax.jit(jac)) if compiled else jac
    fun = _numpy(jax.jit(rhs)) if compiled else rhs
    message = None
    try:
        with single_threaded():
            solver = _SOLVERS[method](fun, t_span[0], y0, t_span[1], **options)
            times, pieces = [t_span[0]], []
            bound = 1e12 * max(1.0, float(np.max(np.abs(y0), initial=0.0)))
            while solver.status == "running" and len(pieces) < max_steps:
                message = solver.step()
                if solver.status == "failed":
                    break
                if not np.max(np.abs(solver.y), initial=0.0) <= bound:  # NaN too
                    message = "the solution grew beyond 1e12 times its initial size (is it blowing up?)"
                    break
                times.append(solver.t)
                pieces.append(solver.dense_output())
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:  # a singular Newton matrix: no reference
        solver, message = None, f"{type(err).__name__}: {err}"
    if solver is None or solver.status != "finished":
        message = message or f"more than {max_steps} steps (is the solution blowing up?)"
        if warn:
            warnings.warn(f"no classical reference for {name!r}: {method} failed: {message}", RuntimeWarning,
                          stacklevel=4)  # fmt: skip
        return None
    return ivp.OdeSolution(times, pieces)


def _numpy(fn: Callable) -> Callable:
    """Call a jitted JAX function of (t, y) in float64 and return NumPy, as SciPy's solvers expect."""

    def call(t, y):
        with jax.enable_x64(True):
            return np.asarray(fn(float(t), np.asarray(y, np.float64)))  # NumPy in: no per-call device copies

    return call
