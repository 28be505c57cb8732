"""Training an inverse problem: the network, the unknown constants and the hidden terms at once,
then what the answer is worth: standard errors, the data misfit, agreement with a classical
solution of the equations with the estimated constants, and discovered formulas, verified."""

from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ...pinn.measure import METRICS, evaluate_metrics, exact_values, has_exact, reference_for
from ...pinn.settings import dtype_of
from ...problem.problem import Problem
from ...train.fit import FitResult, Schedule, carry_template, fit
from ...train.phases import Adam
from .model import Learned, all_term_names, data_weights, misfit_rms, sampler_for
from .solution import InverseSolution
from .uncertainty import standard_errors
from ...problem.variants import with_constants, with_discovered

DATA_FIT_STEPS = 1000  # Adam steps fitting the network to the data first, unless the first phase is Adam

METRIC_KEYS = METRICS + ("unknowns", "unknowns_stderr", "unknowns_stderr_method", "unknown_errors", "unknown_deviations",
                         "data_misfit_rms", "discovered", "discovered_regression", "discovered_misfit_rms",
                         "hidden_formula_misfit", "discovery_candidates", "verification")  # fmt: skip


def solve_inverse(problem: Problem, settings: dict, *, derivatives: str, callback, log_every: int, checkpoint,
                  resume: bool) -> InverseSolution:  # fmt: skip
    """Train on ``problem`` (see :func:`neuralsolve.solve`), then measure and discover."""
    clock = [time.perf_counter()]
    with jax.enable_x64(settings["precision"] == "float64"):
        dtype = dtype_of(settings)
        learned = Learned(problem, settings["network"], dtype, settings["seed"])
        # run on resume too (it is deterministic): the equations' weights depend on it
        start, learned.sizes = _start(problem, learned, settings, derivatives)
        result = _train(problem, learned, start, settings, derivatives, callback, log_every, checkpoint, resume)
        clock.append(time.perf_counter())
        metrics, reference = measure(problem, learned, result.params, settings, derivatives)
        clock.append(time.perf_counter())
    sol = _solution(problem, learned, result, metrics, settings, reference)
    sol.spans = [(part, a, b) for part, a, b in zip(("training", "metrics"), clock, clock[1:])]
    sol.spans += [("steps", *c) for c in result.chunks]
    return sol


def _start(problem: Problem, learned: Learned, settings: dict, derivatives: str):
    """Where joint training starts: the network fitted to the data alone first, by the first phase
    when it is Adam (else by :data:`DATA_FIT_STEPS` Adam steps) (the equations,
    with constants still at their initial guesses, would otherwise pull it towards a solution
    that ignores the data), then constants that enter the equations linearly set by least squares
    of the residual of that network (:func:`linear_constants`)."""
    mask = [0.0] * len(problem.equations) + [1.0] * (len(all_term_names(problem)) - len(problem.equations))
    first = settings["phases"][0]
    # the first phase itself when it is Adam (its compiled steps then serve both fits)
    phase = first if isinstance(first, Adam) else Adam(DATA_FIT_STEPS)
    result = _train(problem, learned, learned.params, {**settings, "time_limit": None}, derivatives,
                    None, 10**9, None, False, phases=(phase,), masks=[mask])  # fmt: skip
    params = result.params
    if learned.names and not problem.inverse.hidden:
        params = {**params, "theta": linear_constants(problem, learned, params, settings, derivatives)}
    return params, equation_sizes(problem, learned, params, settings, derivatives)


def equation_sizes(problem: Problem, learned: Learned, params, settings: dict, derivatives: str) -> list[float]:
    """Each equation's size: the root mean square, over the collocation points, of its largest
    additive term for the fields fitted to the data. An equation's residual divided by its size is
    a relative error, which the data terms (relative to the data's spread) can be weighed against
    whatever the units."""
    from ...loss.terms import at_point, sample_data
    from ...ops.derivatives import at_points
    from ...ops.point import Point
    from ...problem.compile import compile_expression

    x = jnp.asarray(sample_data(problem, settings["points"], settings["seed"])["interior"], learned.dtype)
    coords, fields = problem.domain.coords, problem.fields
    sizes = []
    for e in problem.equations:
        if e.expr is None:
            sizes.append(1.0)
            continue
        fns = [compile_expression(term, coords, e.label) for term in e.expr.as_ordered_terms()]

        @jax.jit
        def term_rms(params, x, e=e, fns=fns):
            values, unknowns = at_points(learned.model, params, x, e.needed, derivatives), learned.unknowns(params)
            at = lambda fn, y, v: fn(Point(coords, fields, y, v, unknowns=at_point(unknowns, y, v))) + 0 * y[0]
            return jnp.stack([jnp.sqrt(jnp.mean(jax.vmap(partial(at, fn))(x, values) ** 2)) for fn in fns])

        rms = np.asarray(term_rms(params, x))
        size = float(rms.max()) if rms.size and np.isfinite(rms.max()) else 0.0
        sizes.append(size if size > 0 else 1.0)
    return sizes


def linear_constants(problem: Problem, learned: Learned, params, settings: dict, derivatives: str) -> dict:
    """The constants' raw values that minimise the equations' squared residual at the collocation
    points for the current fields, where the residual is linear in the constants (else, or where a
    positive constant would come out <= 0, the current values are kept)."""
    from ...loss.terms import residuals, sample_data

    names = learned.names
    x = jnp.asarray(sample_data(problem, settings["points"], settings["seed"])["interior"], learned.dtype)

    @jax.jit
    def r(values):
        return residuals(problem, learned.model, params, x, derivatives, dict(zip(names, values))).ravel()

    current = jnp.asarray([learned.constants(params)[k] for k in names])
    b = r(jnp.zeros_like(current))
    A = jax.jit(jax.jacfwd(r))(jnp.zeros_like(current))
    if not jnp.allclose(r(current), b + A @ current, rtol=1e-8, atol=1e-10 * float(jnp.max(jnp.abs(b)) + 1)):
        return params["theta"]  # not linear in the constants
    found = np.linalg.lstsq(np.asarray(A), -np.asarray(b), rcond=None)[0]
    theta = dict(params["theta"])
    for k, v in zip(names, found):
        u = problem.inverse.unknowns[k]
        if np.isfinite(v) and (not u.positive or v > 0):
            theta[k] = jnp.asarray(np.log(v) if u.positive else v / u.scale(), learned.dtype)
    return theta


def train(problem: Problem, learned: Learned, params, settings: dict, phases, support: dict | None = None) -> FitResult:
    """A quiet fit of ``learned`` from ``params`` through ``phases`` (no progress, no checkpoint),
    with some constants held at 0 by ``support`` (see :meth:`Learned.constants`); the equations
    weighted by ``learned.sizes``."""
    return _train(problem, learned, params, {**settings, "causal": None, "time_limit": None}, "taylor", None, 10**9,
                  None, False, phases=phases, support=support)  # fmt: skip


def _train(problem, learned, params, settings, derivatives, callback, log_every, checkpoint, resume,
           phases=None, masks=None, support=None) -> FitResult:  # fmt: skip
    terms = learned.terms(derivatives, causal=settings["causal"])
    fixed = learned.terms(derivatives) if settings["causal"] is not None else None
    n_eq = len(problem.equations)
    sizes = learned.sizes or [1.0] * n_eq
    weights = [1 / s**2 for s in sizes] + [p.weight for p in problem.penalties] + data_weights(problem, learned.noise_aware)
    weights = jnp.asarray(weights, learned.dtype)
    reference = [1.0] * n_eq + [0.0] * (len(weights) - n_eq)
    schedule = Schedule(log_every, settings["weighting"], settings["redraw"])
    return fit(terms, params, sampler_for(problem, settings, learned.dtype, support), phases or settings["phases"],
               weights=weights, masks=masks, schedule=schedule, callback=callback, checkpoint=checkpoint, resume=resume,
               fixed_terms=fixed, reference=reference, time_limit=settings["time_limit"])  # fmt: skip


def measure(problem: Problem, learned: Learned, params, settings: dict, derivatives: str) -> tuple[dict, object]:
    """The metrics of an inverse solve (see docs/inverse-problems.md for each key) and the
    reference its fields were compared with (None if none)."""
    constants = {k: float(v) for k, v in learned.constants(params).items()}
    known = lambda c: with_constants(problem, c)
    found = {}
    if problem.inverse.discover is not None:
        from .discovery import discover_and_verify

        found = discover_and_verify(problem, learned, params, settings, derivatives, constants, train)
    if has_exact(problem):
        reference = exact_values(problem)
    elif problem.inverse.hidden:  # a network has no classical counterpart; the formulas found for it do
        reference = discovered_reference(problem, learned, params, found.get("discovered"), constants)
    else:
        reference = reference_for(known(constants))
    metrics = evaluate_metrics(problem, learned.model, params, settings["seed"], derivatives, learned.dtype,
                               reference, unknowns=learned.unknowns)  # fmt: skip
    metrics["unknowns"] = constants
    metrics["unknowns_stderr"], noise, metrics["unknowns_stderr_method"] = standard_errors(
        problem, learned, params, known, settings, derivatives)  # fmt: skip
    exact = problem.inverse.exact
    metrics["unknown_errors"] = {k: abs(constants[k] - v) / abs(v) if v else abs(constants[k])
                                 for k, v in exact.items()}  # fmt: skip
    # in standard errors of the noise alone: how far off the data themselves allow (the verdict)
    metrics["unknown_deviations"] = {k: abs(constants[k] - v) / noise[k] for k, v in exact.items()
                                     if noise.get(k) and np.isfinite(noise[k])}  # fmt: skip
    metrics["data_misfit_rms"] = misfit_rms(problem, learned, params)
    metrics.update(found)
    return metrics, reference


def discovered_reference(problem: Problem, learned: Learned, params, formulas: dict | None, constants: dict):
    """The classical solution of the model the discovery found (its formulas in place of the hidden
    terms), from the network's own values at the start time where the problem has no conditions
    of its own; None without formulas or a classical method for them."""
    if not formulas:
        return None
    with jax.enable_x64(True):
        t0 = jnp.asarray(np.asarray(problem.domain.bounds()[0], float)[None], learned.dtype)
        start = dict(zip(problem.fields, (float(v) for v in np.asarray(learned.model(params, t0[0])).ravel())))
    forward = with_discovered(problem, formulas, constants, start)
    values = None if forward is None else reference_for(forward)
    if values is not None:
        given = "" if problem.arguments.get("conditions") else " from the network's values at the start"
        values.method = f"the discovered formulas solved by {values.method}{given}"
    return values


def _solution(problem, learned: Learned, result: FitResult, metrics: dict, settings: dict,
              reference=None) -> InverseSolution:  # fmt: skip
    return InverseSolution(learned.model, result.params, problem.fields, problem.domain.coords, settings["precision"],
                           fit=result, metrics=metrics, term_names=all_term_names(problem), reference=reference)  # fmt: skip


def reopen(problem: Problem, settings: dict, checkpoint, saved: dict) -> InverseSolution | None:
    """A saved inverse solve: its parameters from ``checkpoint`` and the metrics it wrote (measured
    again if it wrote none)."""
    from ..base import saved_outcome

    if not checkpoint.exists():
        return None
    with jax.enable_x64(settings["precision"] == "float64"):
        learned = Learned(problem, settings["network"], dtype_of(settings), settings["seed"])
        n_terms = len(all_term_names(problem))
        state = checkpoint.load(lambda k: carry_template(settings["phases"][k], learned.params, n_terms))
        params = state.carry[3]
        if saved:  # the solve's own figures (a classical reference is not recomputed)
            metrics, reference = {k: saved.get(k) for k in METRIC_KEYS}, exact_values(problem) if has_exact(problem) else None
        else:
            metrics, reference = measure(problem, learned, params, settings, "taylor")
    fit_result = FitResult(params, state.history, state.phases, *saved_outcome(saved))
    return _solution(problem, learned, fit_result, metrics, settings, reference)
