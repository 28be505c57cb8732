"""Accuracy of an eigen-solve: eigenvalues and states against exact values or a classical solver.

Eigenvalues are judged against ``exact`` when it gives them, else against the spectral-element
reference. States are compared after aligning their sign (an eigenfunction's sign is arbitrary)
and, in normalised problems, after normalising the reference by the same quadrature.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...loss.terms import residuals
from ...ops.point import Point, value_at
from ...pinn.measure import at_reference_level, fresh_points
from ...problem.compile import compile_expression
from ...problem.problem import Problem
from .quadrature import quadrature

METRIC_KEYS = ("eigenvalues", "residual_rms", "residual_rms_per_equation", "residual_rms_per_state", "reference",
               "reference_method", "reference_error_estimate", "eigenvalue_reference", "reference_eigenvalues",
               "eigenvalue_reference_error_estimate", "eigenvalue_errors", "l2_relative_error", "max_abs_error",
               "error_below_reference")  # fmt: skip


def eigen_metrics(problem: Problem, sol, seed: int, method: str) -> dict:
    """metrics for an :class:`EigenSolution` (see docs/problem-files.md for the keys)."""
    x = fresh_points(problem, seed)
    dtype = jnp.float64 if sol.precision == "float64" else jnp.float32
    symbol = problem.eigen.symbol

    @jax.jit  # one compilation for every state (the state and its eigenvalue are arguments)
    def state_residuals(params, y, k, E):
        return residuals(problem, lambda p, z: sol._model(p, z)[k], params, y, method, {symbol: E})

    rms = []
    for k, E in enumerate(sol.eigenvalues):
        r = state_residuals(sol.params, jnp.asarray(x, dtype), k, jnp.asarray(E, dtype))
        rms.append(float(np.sqrt(np.mean(np.asarray(r) ** 2))))
    metrics = {"eigenvalues": sol.eigenvalues.tolist(), "residual_rms": max(rms), "residual_rms_per_equation": [max(rms)],
               "residual_rms_per_state": rms, "reference": None}  # fmt: skip
    reference = eigen_reference(problem, sol.states)
    sol.reference = None if reference is None else reference.values
    exact_values = problem.exact_eigenvalues()
    target = exact_values if exact_values is not None else (None if reference is None else reference.eigenvalues)
    estimates = {}  # each error's reference's own estimated error, by the names dispatch.judge uses
    if target is not None:
        target = np.asarray(target[: sol.states], float)
        metrics["eigenvalue_reference"] = "exact" if exact_values is not None else "classical"
        metrics["reference_eigenvalues"] = target.tolist()
        metrics["eigenvalue_errors"] = (np.abs(sol.eigenvalues - target) / np.maximum(np.abs(target), 1e-300)).tolist()
        own = np.zeros(sol.states) if exact_values is not None else reference.eigenvalue_errors
        metrics["eigenvalue_reference_error_estimate"] = None if own is None else float(np.max(own))
        estimates.update({f"eigenvalue {k}": None if own is None else float(own[k]) for k in range(sol.states)})
    if reference is not None:
        metrics["reference"] = reference.kind
        if reference.kind == "classical":
            metrics["reference_method"] = reference.method
        own = reference.state_errors
        metrics["reference_error_estimate"] = None if own is None else float(np.max(own))
        metrics.update(state_errors(problem, sol(x), reference.values(x)))
        estimates.update({f"{f}[{k}]": None if own is None else float(own[k])
                          for f in problem.fields for k in range(sol.states)})  # fmt: skip
    errors = dict(metrics.get("l2_relative_error") or {})
    errors.update({f"eigenvalue {k}": e for k, e in enumerate(metrics.get("eigenvalue_errors") or [])})
    if errors:
        metrics["error_below_reference"] = at_reference_level(errors, estimates)
    return metrics


def state_errors(problem: Problem, values: np.ndarray, reference: np.ndarray) -> dict:
    """Relative L2 and max errors per state and field, signs aligned: keys like ``psi[0]``."""
    l2, worst = {}, {}
    for i, f in enumerate(problem.fields):
        for k in range(values.shape[0]):
            u, ref = values[k, :, i], reference[k, :, i]
            sign = 1.0 if np.dot(u, ref) >= 0 else -1.0
            err = sign * u - ref
            l2[f"{f}[{k}]"] = float(np.linalg.norm(err) / max(np.linalg.norm(ref), 1e-300))
            worst[f"{f}[{k}]"] = float(np.max(np.abs(err)))
    return {"l2_relative_error": l2, "max_abs_error": worst}


class _StatesReference:
    """Reference states: ``values(points) -> (states, n, n_fields)``, and eigenvalues if known, with
    the estimated relative errors of each (zeros for an exact reference, None where not estimated)."""

    def __init__(self, kind: str, method: str | None, values, eigenvalues=None, eigenvalue_errors=None,
                 state_errors=None):  # fmt: skip
        self.kind, self.method, self.values, self.eigenvalues = kind, method, values, eigenvalues
        self.eigenvalue_errors, self.state_errors = eigenvalue_errors, state_errors


def eigen_reference(problem: Problem, states: int) -> _StatesReference | None:
    """The exact states if ``exact`` gives the field, else the classical eigensolver's, else None."""
    if problem.exact:
        field = problem.fields[0]
        quad_x, quad_w = quadrature(problem)

        def exact_values(points):
            with jax.enable_x64(True):
                out = []
                for k in range(states):
                    u = np.asarray(problem.exact_at(field, points, state=k))
                    if problem.eigen.normalize:  # an eigenfunction's scale is arbitrary: compare shapes
                        u = u / np.sqrt(np.sum(quad_w * np.asarray(problem.exact_at(field, quad_x, state=k)) ** 2))
                    out.append(u[:, None])
                return np.stack(out)

        return _StatesReference("exact", None, exact_values, state_errors=np.zeros(states))
    classical = classical_eigen(problem, states)
    if classical is None:
        return None
    return _StatesReference("classical", classical.method, lambda pts: classical.values(pts)[:, :, None],
                            classical.eigenvalues, classical.eigenvalue_errors, classical.state_errors)  # fmt: skip


def classical_eigen(problem: Problem, states: int):
    """Spectral elements for an eigenproblem on an interval or rectangle with ψ = 0 on every face."""
    from ...reference.eigen import solve_eigen  # here: SciPy's solvers load only when a reference is made

    domain = problem.domain
    if problem.reference != "auto" or problem.pencil is None or problem.penalties or domain.has_time:
        return None
    if len(domain.segments()) != domain.dim or not _zero_on_every_face(problem):
        return None
    coords = domain.coords

    def coefficient(expr):
        fn = compile_expression(expr, coords, "eigen coefficient")

        def evaluate(*columns):
            with jax.enable_x64(True):
                cols = np.broadcast_arrays(*[np.asarray(c, float) for c in columns])
                value = fn(Point(coords, (), jnp.asarray(np.stack(cols))))
                return np.broadcast_to(np.asarray(value, float), cols[0].shape)

        return evaluate

    A, B = ({k: coefficient(v) for k, v in part.items()} for part in problem.pencil)
    lo, hi = domain.bounds()
    breaks = [problem.jumps.get(i, []) for i in range(domain.dim)]
    return solve_eigen(list(zip(lo, hi)), A, B, states, breaks=breaks, estimate=True)


def _zero_on_every_face(problem: Problem) -> bool:
    faces = {(h.axis, h.side) for h in problem.hard}
    if faces != {(i, s) for i in range(problem.domain.dim) for s in (0, 1)}:
        return False
    lo, hi = problem.domain.bounds()
    probes = jnp.asarray(np.stack([lo, hi, (lo + hi) / 2]), float)
    with jax.enable_x64(True):
        return all(float(jnp.max(jnp.abs(jax.vmap(lambda y, h=h: value_at(h.value, problem.domain.coords, y))(probes)))) == 0.0
                   for h in problem.hard)  # fmt: skip
