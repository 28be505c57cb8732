"""How good a solution is: the residual on fresh points and errors against a reference (an exact
solution, else a classical one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..loss.terms import residuals
from ..problem.problem import Problem
from ..solution import BATCH
from ..train.background import Background

# the metrics every physics-informed solve writes (and a reopened solve keeps: a classical
# reference is costly to recompute)
METRICS = ("residual_rms", "residual_rms_per_equation", "reference", "reference_method", "reference_error_estimate",
           "l2_relative_error", "max_abs_error", "error_below_reference")  # fmt: skip

# an error within this factor of the reference's own estimated error is at the reference's accuracy:
# it shows the solution is about that accurate (or better), not how accurate
AT_REFERENCE_LEVEL = 2.0


def reference_for(problem: Problem, expected: Sequence[np.ndarray] | None = None) -> Callable | None:
    """``values(points) -> (n, n_fields)`` of the exact solution, else of a classical one, else None.

    ``expected``: the point sets the reference will be asked for; given, a classical reference is
    kept on disk (:func:`~neuralsolve.reference.stored.stored`), and one kept with them is not solved again."""
    if has_exact(problem):
        return exact_values(problem)
    if problem.reference != "auto":
        return None
    if expected is None:
        return _classical(problem)
    from ..reference.stored import stored

    return stored(problem, lambda: _classical(problem), expected)


def _classical(problem: Problem) -> Callable | None:
    from ..reference import classical_reference

    classical = classical_reference(problem)
    if classical is None:
        return None

    def values(pts):
        return classical.values(pts)

    values.method = classical.method  # named in metrics and reports
    values.error_estimate = classical.error_estimate  # its own estimated relative L2 error
    return values


class BackgroundReference:
    """:func:`reference_for` computed in a background thread (with float64 enabled or not, as
    given): :meth:`start` it, call the object to wait for the result.

    A classical reference is NumPy and SciPy work, and training is mostly compiled XLA code that
    releases the interpreter: computing the reference while the network trains takes it off the
    time to the first answer. Started once training's program is traced (which needs the
    interpreter itself), while XLA compiles it. An exact solution needs no thread. ``expected()``:
    the point sets it will be asked for, to keep it on disk (see :func:`reference_for`).
    """

    def __init__(self, problem: Problem, x64: bool, expected: Callable[[], Sequence[np.ndarray]] | None = None):
        self.problem, self.expected = problem, expected
        self.needed = not has_exact(problem) and problem.reference == "auto"
        self._work = Background("neuralsolve-reference", x64)

    def start(self) -> None:
        if self.needed:
            self._work.start(self._solve)

    def _solve(self) -> Callable | None:
        return reference_for(self.problem, None if self.expected is None else self.expected())

    def __call__(self) -> Callable | None:
        if not self.needed:
            return reference_for(self.problem)
        self.start()
        return self._work.result()


def has_exact(problem: Problem) -> bool:
    """Whether the problem gives an exact solution for every field."""
    return len(problem.exact) == len(problem.fields)


def exact_values(problem: Problem) -> Callable:
    """``values(points) -> (n, n_fields)`` of the exact solution (every field has one)."""
    return lambda pts: np.stack([np.asarray(problem.exact_at(f, pts)) for f in problem.fields], axis=1)


def metrics_program(problem: Problem, model: Callable, method: str, unknowns=None) -> Callable:
    """``program(params, points) -> (residuals, values)``, jitted: compiled, not run op by op (one
    compilation costs a tenth of dispatching Taylor mode's many small operations one at a time:
    5.3 s -> 0.55 s on Burgers, 4096 points), both in one program (a compilation less).
    ``unknowns(params) -> unknowns`` gives the residual's scalar unknowns (see
    :func:`~neuralsolve.loss.terms.make_terms`) from the parameters."""
    given = (lambda p: None) if unknowns is None else unknowns

    def both(p, y):
        return residuals(problem, model, p, y, method, given(p)), jax.vmap(model, in_axes=(None, 0))(p, y)

    return jax.jit(both)


class PreparedMetrics:
    """The fresh points, the compiled :func:`metrics_program` and the compiled evaluation of a
    batch of :data:`~neuralsolve.solution.BATCH` points (for the plots), prepared in a background
    thread while the network trains: tracing and compiling them (half a second to two seconds) then
    costs the time to the answer nothing, as training runs in compiled code that releases the
    interpreter. :meth:`start` it with parameters of the trained ones' structure; call the object
    with them for ``(points, compiled program)``; :meth:`evaluator` then gives the evaluation."""

    def __init__(self, problem: Problem, model: Callable, seed: int, method: str, dtype, x64: bool):
        self.args = problem, model, seed, method, dtype
        self._work = Background("neuralsolve-metrics", x64)

    def start(self, params) -> None:
        self._work.start(self._prepare, params)

    def _prepare(self, params) -> tuple:
        """(points, compiled program, compiled evaluation)."""
        problem, model, seed, method, dtype = self.args
        x = _fresh(problem, seed, dtype)
        program = metrics_program(problem, model, method).lower(params, x).compile()
        batch = jnp.zeros((BATCH, x.shape[1]), dtype)
        return x, program, jax.jit(jax.vmap(model, in_axes=(None, 0))).lower(params, batch).compile()

    def __call__(self, params) -> tuple:
        self.start(params)  # if training never compiled (a finished run resumed): now
        x, program, _ = self._work.result()
        return x, program

    def evaluator(self) -> Callable | None:
        """``evaluate(params, points)`` on exactly :data:`~neuralsolve.solution.BATCH` points, compiled."""
        try:
            return self._work.result()[2] if self._work.started else None
        except Exception:  # noqa: BLE001 - the caller measured without it, or already met the error
            return None


def evaluate_metrics(problem: Problem, model: Callable, params, seed: int, method: str, dtype,
                     reference: Callable | None = None, unknowns=None,
                     prepared: PreparedMetrics | None = None) -> dict:  # fmt: skip
    """Residual RMS on fresh points and, given a reference (exact or classical), errors against it.
    ``unknowns``: as for :func:`metrics_program`; ``prepared``: the points and program, prepared
    while training (the same problem, model, seed, method and dtype, no unknowns)."""
    if prepared is not None:
        x, program = prepared(params)
    else:
        x = _fresh(problem, seed, dtype)
        program = metrics_program(problem, model, method, unknowns)
    r, u = (np.asarray(v) for v in program(params, x))
    metrics = {
        "residual_rms": float(np.sqrt(np.mean(r**2))),
        "residual_rms_per_equation": [float(v) for v in np.sqrt(np.mean(r**2, axis=0))],
        "reference": None,
    }
    exact = has_exact(problem)
    if reference is None and not problem.exact:
        return metrics
    ref = reference(np.asarray(x)) if reference is not None else None
    metrics["reference"] = "exact" if exact or ref is None else "classical"
    if metrics["reference"] == "classical":
        metrics["reference_method"] = getattr(reference, "method", "classical")
    # an exact solution is exact to rounding: 0.0; a classical one states its own estimate (None: none made)
    classical = None if metrics["reference"] == "exact" else getattr(reference, "error_estimate", None)
    metrics["reference_error_estimate"] = 0.0 if metrics["reference"] == "exact" else classical
    metrics["l2_relative_error"], metrics["max_abs_error"], estimates = {}, {}, {}
    for i, name in enumerate(problem.fields):
        if name not in problem.exact and ref is None:
            continue
        target = np.asarray(problem.exact_at(name, x)) if name in problem.exact else ref[:, i]
        estimates[name] = 0.0 if name in problem.exact else classical
        err = u[:, i] - target
        metrics["l2_relative_error"][name] = float(np.linalg.norm(err) / max(np.linalg.norm(target), 1e-300))
        metrics["max_abs_error"][name] = float(np.max(np.abs(err)))
    metrics["error_below_reference"] = at_reference_level(metrics["l2_relative_error"], estimates)
    return metrics


def at_reference_level(errors: dict[str, float], estimates: dict[str, float | None]) -> list[str]:
    """The names whose error is within :data:`AT_REFERENCE_LEVEL` of their reference's own estimated
    error: measured against that reference, such an error says the solution is about as accurate as
    the reference, not how accurate it is. Names without an estimate (or with 0, an exact reference)
    are left out."""
    return [name for name, error in errors.items()
            if estimates.get(name) and error <= AT_REFERENCE_LEVEL * estimates[name]]  # fmt: skip


def _fresh(problem: Problem, seed: int, dtype) -> jax.Array:
    """:func:`fresh_points` on the device (``device_put``: ``jnp.asarray`` would compile a copy)."""
    return jax.device_put(np.asarray(fresh_points(problem, seed), dtype))


def fresh_points(problem: Problem, seed: int) -> np.ndarray:
    """The points metrics are measured on: Sobol points of the interior, none of them trained on."""
    n = 1000 if problem.domain.dim == 1 else 4096
    return problem.domain.interior().sample(n, "sobol", seed + 104729)[0]
