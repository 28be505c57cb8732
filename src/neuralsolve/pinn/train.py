"""Training one physics-informed network on a problem: the collocation points, the loss terms and
the fit loop, giving a :class:`~neuralsolve.solution.Solution`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..loss.rows import make_rows
from ..loss.terms import make_terms, residuals, sample_data, term_names
from ..problem.problem import Problem
from ..sampling.adaptive import Resampler, adam_events
from ..solution import Solution
from ..train.checkpoint import Checkpoint
from ..train.fit import Schedule, fit
from ..train.sharding import OneDevice, check_split, cores_for, placement, whole_copies
from .measure import BackgroundReference, PreparedMetrics, evaluate_metrics, fresh_points
from .model import build_model
from .settings import dtype_of


@dataclass(frozen=True)
class Parts:
    """What training compiles from a problem: the model (network through the trial function), its
    initial parameters and the loss, as terms and as residual rows. Fits given the same parts reuse
    the same compiled programs (the time windows of a problem that does not depend on time do)."""

    model: Callable
    params: object
    terms: Callable
    fixed_terms: Callable | None  # the plain residual that quasi-Newton phases minimise, under causal weighting
    rows: Callable


def build_parts(problem: Problem, settings: dict, derivatives: str, dtype) -> Parts:
    """The :class:`Parts` of ``problem`` with resolved ``settings`` (call under the precision's x64 setting)."""
    model, params = build_model(problem, settings["network"], dtype, settings["seed"])
    terms = make_terms(problem, model, derivatives, causal=settings["causal"])
    # causal weights change as the loss is minimised: quasi-Newton phases minimise the plain residual
    fixed_terms = make_terms(problem, model, derivatives) if settings["causal"] is not None else None
    return Parts(model, params, terms, fixed_terms, make_rows(problem, model, derivatives))


def train_network(problem: Problem, settings: dict, *, derivatives: str, callback: Callable | None, log_every: int,
                  checkpoint: Checkpoint | None, resume: bool, start=None, measure: bool = True,
                  parts: Parts | None = None, targets: dict | None = None) -> Solution:  # fmt: skip
    """Train a network on ``problem`` with resolved ``settings``; training starts from the
    parameters ``start`` when given (a network of the same settings), else from a fresh network.
    ``measure=False`` skips the metrics (a time window's: the march is measured as a whole).
    ``parts`` are the problem's :class:`Parts` when already built; ``targets`` replace the targets
    of penalties on fixed points, by penalty index (a time window's start values)."""
    points, phases, seed = (settings[k] for k in ("points", "phases", "seed"))
    domain, precision = problem.domain, settings["precision"]
    clock = [time.perf_counter()]
    where = placement_for(problem, settings)
    cores = where.count > 1 and settings["devices"] is None  # split over a CPU's cores on its own
    with jax.enable_x64(precision == "float64"):
        dtype = dtype_of(settings)
        parts = parts or build_parts(problem, settings, derivatives, dtype)
        model, params, terms, fixed_terms = parts.model, parts.params, parts.terms, parts.fixed_terms
        if start is not None:  # the same arrays in this network (whose static parts, the input box, may differ)
            params = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(params), jax.tree_util.tree_leaves(start))

        sampler, resample = samplers(problem, model, settings, dtype, derivatives, where.count, targets)
        weights = jnp.asarray([1.0] * len(problem.equations) + [p.weight for p in problem.penalties], dtype)
        reference = [1.0] * len(problem.equations) + [0.0] * len(problem.penalties)
        schedule = Schedule(log_every, settings["weighting"], settings["redraw"], resample)
        clock.append(time.perf_counter())
        # kept on disk with its values at the metrics' points: a repeated solve reads them
        expected = lambda: [np.asarray(fresh_points(problem, seed), dtype)]  # noqa: E731
        pending = BackgroundReference(problem, precision == "float64", expected) if measure else None
        # a compiled program is made for one placement: prepared only for parameters on one device
        prepared = PreparedMetrics(problem, model, seed, derivatives, dtype, precision == "float64") \
            if measure and (where.count == 1 or cores) else None  # fmt: skip

        def background():  # while XLA compiles training: the reference, and what measuring needs
            pending.start()
            if prepared is not None:
                prepared.start(params)

        result = fit(terms, params, sampler, phases, weights=weights, schedule=schedule, callback=callback,
                     checkpoint=checkpoint, resume=resume, fixed_terms=fixed_terms, reference=reference,
                     time_limit=settings["time_limit"], placement=where,
                     compiling=background if measure else None, rows=parts.rows)  # fmt: skip
        if cores:  # what follows (metrics, the solution) runs on one device, as without the split
            result.params = jax.device_put(result.params, jax.devices()[0])
        clock.append(time.perf_counter())
        reference = pending() if measure else None  # what is left of it after training
        clock.append(time.perf_counter())
        metrics = evaluate_metrics(problem, model, result.params, seed, derivatives, dtype, reference,
                                   prepared=prepared) if measure else {}  # fmt: skip
        clock.append(time.perf_counter())
    sol = Solution(model, result.params, problem.fields, domain.coords, precision, fit=result, metrics=metrics,
                   term_names=term_names(problem), reference=reference,
                   evaluator=prepared.evaluator() if prepared is not None else None)  # fmt: skip
    parts = ("setup", "training", "reference", "metrics") if measure else ("setup", "training")
    sol.spans = [(part, a, b) for part, a, b in zip(parts, clock, clock[1:])] + [("steps", *c) for c in result.chunks]
    return sol


def placement_for(problem: Problem, settings: dict) -> OneDevice:
    """Where the collocation points train: split over ``settings["devices"]``; when none are asked
    for, over a CPU's cores where that pays (:func:`~neuralsolve.train.sharding.cores_for`: a loss
    that is a plain mean, first-order phases only, enough points); else on one device.
    ProblemError when there are fewer devices, or the interior points do not split evenly over them."""
    n = settings["points"].counts(problem.domain.dim)[0]
    # each device's mean over an equal share of every term's points: causal weights, adaptive
    # points (a mask) and residual rows are not such means, and XLA splits those programs itself.
    # A CPU's cores serve first-order phases only: in a quasi-Newton phase every device repeats the
    # curvature update on the same cores, which XLA spreads over all of them on one device
    # (poisson_2d's 2000 SSBroyden steps, 2241 parameters: 1.5x as long split over two cores)
    plain = settings["causal"] is None and settings["sampling"] is None and not any(
        p.uses_rows for p in settings["phases"])  # fmt: skip
    if settings["devices"] is None:
        cores = cores_for(n) if plain and all(not p.fixed_loss for p in settings["phases"]) else 1
        return placement(cores, per_device=True) if cores > 1 else OneDevice()
    where = placement(settings["devices"], per_device=plain)
    if where.count > 1:
        check_split(n, len(_prepared(np.zeros((n, problem.domain.dim)), settings)) - n, where.count)
    return where


def _prepared(interior: np.ndarray, settings: dict) -> np.ndarray:
    """The interior points as the fit loop gets them: with room for the points that adaptive
    sampling adds."""
    adaptive = settings["sampling"]
    if adaptive is None:
        return interior
    return adaptive.prepare({"interior": interior}, adam_events(settings["phases"], adaptive.every))["interior"]


def samplers(problem: Problem, model: Callable, settings: dict, dtype, method: str,
             devices: int = 1, targets: dict | None = None) -> tuple[Callable, object]:  # fmt: skip
    """``sampler(draw) -> data`` (collocation points as arrays of ``dtype``) and, with adaptive
    sampling, the resampler the fit loop calls with the current parameters (else None). Over
    several ``devices``, each condition's points are repeated whole to a multiple of their number.
    ``targets`` as in :func:`train_network`."""
    points, seed, adaptive = settings["points"], settings["seed"], settings["sampling"]
    events = adam_events(settings["phases"], adaptive.every) if adaptive is not None else 0

    def sampler(draw):
        data = sample_data(problem, points, seed + 1000003 * draw, targets)
        if adaptive is not None:
            data = adaptive.prepare(data, events)
        if devices > 1:
            data = {**data, "penalties": whole_copies(data["penalties"], devices)}
        # device_put of NumPy arrays: jnp.asarray would compile a conversion for each new shape
        return jax.tree_util.tree_map(lambda a: jax.device_put(np.asarray(a, dtype)), data)

    if adaptive is None:
        return sampler, None
    magnitude = jax.jit(lambda p, x: jnp.linalg.norm(residuals(problem, model, p, x, method), axis=1))
    region = problem.domain.interior()
    candidates = lambda n, s: region.sample(n, points.sampler, s)[0]
    return sampler, Resampler(adaptive, magnitude, candidates, seed, dtype)
