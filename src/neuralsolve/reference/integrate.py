"""``solve_ivp`` on a right-hand side written in JAX, evaluated in float64."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax
import numpy as np
from scipy.integrate import OdeSolution, solve_ivp


def integrate(rhs: Callable, t_span: tuple[float, float], y0: np.ndarray, *, name: str, jac: Callable | None = None,
              **options) -> OdeSolution | None:  # fmt: skip
    """The dense solution of ``y' = rhs(t, y)``, or None (with a warning) if the integration fails.

    ``rhs`` and ``jac`` are traceable JAX functions of (t, y); ``options`` go to ``solve_ivp``.
    """
    if jac is not None:
        options["jac"] = _numpy(jax.jit(jac))
    try:
        sol = solve_ivp(_numpy(jax.jit(rhs)), t_span, y0, dense_output=True, **options)
    except (ValueError, ArithmeticError) as err:  # e.g. a singular Newton matrix: no reference, not a crash
        sol, message = None, f"{type(err).__name__}: {err}"
    else:
        message = sol.message
    if sol is None or not sol.success:
        warnings.warn(f"no classical reference for {name!r}: solve_ivp failed: {message}", RuntimeWarning, stacklevel=4)
        return None
    return sol.sol


def _numpy(fn: Callable) -> Callable:
    """Call a jitted JAX function of (t, y) in float64 and return NumPy, as ``solve_ivp`` expects."""

    def call(t, y):
        with jax.enable_x64(True):
            return np.asarray(fn(float(t), np.asarray(y, np.float64)))  # NumPy in: no per-call device copies

    return call
