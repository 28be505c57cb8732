"""``solve(problem, ...) -> Solution``: the one entry point, with strategies as keyword arguments."""

from __future__ import annotations

import sys
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import ProblemError
from ._windows import check_windows
from .loss.terms import Points, check_causal, make_terms, residuals, sample_data, term_names
from .nn.mlp import MLP
from .nn.model import split
from .nn.trial import make_trial
from .ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from .ops.derivatives import METHODS as DERIVATIVE_METHODS
from .problem.problem import Problem
from .sampling.adaptive import RAD, Resampler, adam_events, sampling_method
from .solution import Solution
from .train.checkpoint import Checkpoint
from .train.fit import Schedule, check_time_limit, fit
from .train.phases import default_phases
from .train.weighting import Causal, weighting_strategy

PRECISIONS = ("float32", "float64")


def solve(problem: Problem, *, network: MLP | None = None, points: Points | None = None, phases=None,
          precision: str | None = None, seed: int | None = None, weighting=None, causal: Causal | None = None,
          sampling=None, redraw: int | None = None, derivatives: str = DEFAULT_DERIVATIVES, callback: Callable | None = None,
          log_every: int = 100, checkpoint: Checkpoint | None = None, resume: bool = False,
          time_limit: float | None = None, windows: int | None = None) -> Solution:  # fmt: skip
    """Solve ``problem`` with a physics-informed network.

    Settings left out (None) come from ``problem.solver`` (a problem file's ``[solver]`` table),
    then from the defaults below.

    Args:
        network: the network settings (default ``MLP(width=32, depth=3, activation="tanh")``).
        points: collocation point counts and sampler (defaults depend on the dimension).
        phases: optimiser phases in order (default ``Adam(2000)`` then ``LBFGS(5000)``).
        precision: ``"float64"`` (default, for accuracy) or ``"float32"`` (for speed).
        seed: seeds the network initialisation and the collocation points.
        weighting: balances the loss terms during Adam phases: :class:`Adaptive` (by how each
            term changes), :class:`GradNorm` (equal gradient norms) or :class:`Annealing`
            (learning-rate annealing), or their names ``"adaptive"``, ``"gradnorm"``,
            ``"annealing"`` (default ``"fixed"``: each condition's ``weight``). See
            docs/training-methods.md.
        causal: :class:`Causal` weights the residual by time slice during Adam phases so that
            early times are fitted first (problems with a time coordinate ``t`` only).
        sampling: residual-based adaptive sampling of the interior points during Adam phases:
            :class:`RAR` (add points where the residual is largest) or :class:`RAD` (redraw
            them with a density that follows the residual), or ``"rar"`` / ``"rad"``.
        redraw: draw fresh collocation points every ``redraw`` Adam steps (default: never).
        derivatives: ``"taylor"`` (default: every derivative in one pass through the network),
            ``"jvp"`` (nested forward mode per point), ``"jet"`` or ``"reverse"``.
        callback: called after every ``log_every`` steps with a progress record
            ``{"phase", "step", "loss", "terms", "elapsed"}`` (see :func:`print_progress`).
        checkpoint: a :class:`Checkpoint` that saves the training state every so often, on Ctrl-C
            and at the end.
        resume: continue from ``checkpoint``'s saved state (the same settings must be given).
        time_limit: stop training after about this many seconds (measured from the start of
            training, compilation included), before an optimiser chunk that would end past it;
            later phases are skipped and the status stays ``"ok"``, with a message saying so.
            Default: no limit. Not available for eigenproblems.
        windows: solve an evolution problem in this many equal time windows, one after another,
            each starting from the previous one's solution (time marching; default 1: the whole
            span at once). For strong advection, waves and long spans; see docs/training-methods.md.

    Returns:
        A :class:`Solution`; check its ``status`` (a NaN loss stops training but still returns the
        last finite parameters). An eigenproblem gives an :class:`EigenSolution`.
    """
    if not isinstance(problem, Problem):
        raise ProblemError(f"solve needs a Problem, got {type(problem).__name__}")
    given = {"network": network, "points": points, "phases": phases, "precision": precision, "seed": seed,
             "weighting": weighting, "causal": causal, "sampling": sampling, "redraw": redraw,
             "time_limit": time_limit, "windows": windows}  # fmt: skip
    settings = resolve_settings(problem, {k: v for k, v in given.items() if v is not None})
    if derivatives not in DERIVATIVE_METHODS:
        raise ProblemError(f"derivatives must be one of {', '.join(DERIVATIVE_METHODS)}, got {derivatives!r}")
    run = {"derivatives": derivatives, "callback": callback, "checkpoint": checkpoint, "resume": resume}
    if problem.eigen is not None:
        from ._eigen import solve_eigen

        return solve_eigen(problem, settings, **run, log_every=log_every)
    if settings["windows"] > 1:
        from ._windows import solve_windows

        return solve_windows(problem, settings, **run, log_every=log_every)
    return solve_forward(problem, settings, **run, log_every=log_every)


def solve_forward(problem: Problem, settings: dict, *, derivatives: str, callback: Callable | None, log_every: int,
                  checkpoint: Checkpoint | None, resume: bool, start=None, measure: bool = True) -> Solution:  # fmt: skip
    """``solve`` for a forward problem with resolved ``settings``; training starts from the
    parameters ``start`` when given (a network of the same settings), else from a fresh network.
    ``measure=False`` skips the metrics (a time window's: the march is measured as a whole)."""
    network, points, phases, seed = (settings[k] for k in ("network", "points", "phases", "seed"))
    domain, precision = problem.domain, settings["precision"]
    with jax.enable_x64(precision == "float64"):
        dtype = jnp.float64 if precision == "float64" else jnp.float32
        model, params = build_model(problem, network, dtype, seed)
        if start is not None:  # the same arrays in this network (whose static parts, the input box, may differ)
            params = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(params), jax.tree_util.tree_leaves(start))

        sampler, resample = samplers(problem, model, settings, dtype, derivatives)
        terms = make_terms(problem, model, derivatives, causal=settings["causal"])
        # causal weights change as the loss is minimised: quasi-Newton phases minimise the plain residual
        fixed_terms = make_terms(problem, model, derivatives) if settings["causal"] is not None else None
        weights = jnp.asarray([1.0] * len(problem.equations) + [p.weight for p in problem.penalties], dtype)
        reference = [1.0] * len(problem.equations) + [0.0] * len(problem.penalties)
        schedule = Schedule(log_every, settings["weighting"], settings["redraw"], resample)
        result = fit(terms, params, sampler, phases, weights=weights, schedule=schedule, callback=callback,
                     checkpoint=checkpoint, resume=resume, fixed_terms=fixed_terms, reference=reference,
                     time_limit=settings["time_limit"])  # fmt: skip
        reference = reference_for(problem) if measure else None
        metrics = evaluate_metrics(problem, model, result.params, seed, derivatives, dtype, reference) if measure else {}
    return Solution(model, result.params, problem.fields, domain.coords, precision, fit=result, metrics=metrics,
                    term_names=term_names(problem), reference=reference)  # fmt: skip


def resolve_settings(problem: Problem, given: dict) -> dict:
    """``solve``'s settings: those given, else the problem's ``[solver]`` table, else defaults."""
    settings = {**problem.solver, **given}
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
    if sampling is not None and problem.eigen is not None:
        raise ProblemError("adaptive sampling is not available for eigenproblems")
    time_limit = check_time_limit(settings.get("time_limit"))
    if time_limit is not None and problem.eigen is not None:  # its states train in separate fits
        raise ProblemError("time_limit is not available for eigenproblems")
    windows = check_windows(problem, settings.get("windows", 1))
    phases, points = settings.get("phases"), settings.get("points") or Points()
    if isinstance(sampling, RAD) and sampling.pool < points.counts(problem.domain.dim)[0]:
        raise ProblemError(f"rad sampling pool ({sampling.pool}) must be at least the number of interior points "
                           f"({points.counts(problem.domain.dim)[0]})")  # fmt: skip
    return {"network": settings.get("network") or MLP(), "points": points,
            "phases": tuple(phases) if phases is not None else default_phases(), "precision": precision,
            "seed": settings.get("seed", 0), "weighting": weighting, "causal": causal, "sampling": sampling,
            "redraw": redraw, "time_limit": time_limit, "windows": windows}  # fmt: skip


def samplers(problem: Problem, model: Callable, settings: dict, dtype, method: str) -> tuple[Callable, object]:
    """``sampler(draw) -> data`` (collocation points as arrays of ``dtype``) and, with adaptive
    sampling, the resampler the fit loop calls with the current parameters (else None)."""
    points, seed, adaptive = settings["points"], settings["seed"], settings["sampling"]
    events = adam_events(settings["phases"], adaptive.every) if adaptive is not None else 0

    def sampler(draw):
        data = sample_data(problem, points, seed + 1000003 * draw)
        if adaptive is not None:
            data = adaptive.prepare(data, events)
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), data)

    if adaptive is None:
        return sampler, None
    magnitude = jax.jit(lambda p, x: jnp.linalg.norm(residuals(problem, model, p, x, method), axis=1))
    region = problem.domain.interior()
    candidates = lambda n, s: region.sample(n, points.sampler, s)[0]
    return sampler, Resampler(adaptive, magnitude, candidates, seed, dtype)


def reference_for(problem: Problem) -> Callable | None:
    """``values(points) -> (n, n_fields)`` of the exact solution, else of a classical one, else None."""
    if len(problem.exact) == len(problem.fields):
        return lambda pts: np.stack([np.asarray(problem.exact_at(f, pts)) for f in problem.fields], axis=1)
    if problem.reference == "auto":
        from .reference import classical_reference

        classical = classical_reference(problem)
        if classical is not None:

            def values(pts):
                return classical.values(pts)

            values.method = classical.method  # named in metrics and reports
            return values
    return None


def build_model(problem: Problem, network: MLP, dtype, seed: int) -> tuple[Callable, object]:
    """The pure ``model(params, x)`` (network through the trial function) and initial parameters."""
    domain = problem.domain
    lo, hi = domain.bounds()
    kinks = [(axis, a) for axis, points in problem.jumps.items() for a in points]
    net = network.build(domain.dim, len(problem.fields), lo, hi, dtype, jax.random.PRNGKey(seed), kinks,
                        problem.periodic)
    trial = make_trial(problem.hard, domain.segments(), domain.coords, len(problem.fields), problem.scale, problem.sign)
    return split(net, trial)


def evaluate_metrics(problem: Problem, model: Callable, params, seed: int, method: str, dtype,
                     reference: Callable | None = None) -> dict:  # fmt: skip
    """Residual RMS on fresh points and, given a reference (exact or classical), errors against it."""
    n = 1000 if problem.domain.dim == 1 else 4096
    x = jnp.asarray(problem.domain.interior().sample(n, "sobol", seed + 104729)[0], dtype)
    r = np.asarray(residuals(problem, model, params, x, method))
    metrics = {
        "residual_rms": float(np.sqrt(np.mean(r**2))),
        "residual_rms_per_equation": [float(v) for v in np.sqrt(np.mean(r**2, axis=0))],
        "reference": None,
    }
    exact = len(problem.exact) == len(problem.fields)
    if reference is None and not problem.exact:
        return metrics
    u = np.asarray(jax.vmap(lambda y: model(params, y))(x))
    ref = reference(np.asarray(x)) if reference is not None else None
    metrics["reference"] = "exact" if exact or ref is None else "classical"
    if metrics["reference"] == "classical":
        metrics["reference_method"] = getattr(reference, "method", "classical")
    metrics["l2_relative_error"], metrics["max_abs_error"] = {}, {}
    for i, name in enumerate(problem.fields):
        if name not in problem.exact and ref is None:
            continue
        target = np.asarray(problem.exact_at(name, x)) if name in problem.exact else ref[:, i]
        err = u[:, i] - target
        metrics["l2_relative_error"][name] = float(np.linalg.norm(err) / max(np.linalg.norm(target), 1e-300))
        metrics["max_abs_error"][name] = float(np.max(np.abs(err)))
    return metrics


def print_progress(record: dict, stream=sys.stderr) -> None:
    """A ready-made ``callback``: one line per progress record."""
    terms = " ".join(f"{v:.2e}" for v in record["terms"])
    print(f"{record['phase']:>6} step {record['step']:>6}  loss {record['loss']:.3e}  [{terms}]  "
          f"{record['elapsed']:.1f}s", file=stream)  # fmt: skip
