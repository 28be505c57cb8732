"""Training a neural ODE, then what it is worth: the data misfit, held-out errors, NFE, standard
errors of the constants, and discovered formulas."""

from __future__ import annotations

import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from ...pinn.settings import dtype_of
from ...problem.problem import Problem
from ...train.background import Background
from ...train.fit import FitResult, Schedule, carry_template, fit
from .integrate import DIVERGED, STIFF, GradientCount, Integrator, count_forward
from .model import TERM_NAMES, NeuralODEModel
from .settings import IMPLICIT, METRIC_KEYS
from .solution import ODESolution

WEIGHTS = (1.0, None, 0.0)  # data, regulariser (the settings' weight), nfe (recorded only)


def solve_neural_ode(problem: Problem, settings: dict, *, derivatives: str, callback, log_every: int, checkpoint,
                     resume: bool) -> ODESolution:  # fmt: skip
    """Train on ``problem`` stage by stage (``ode.grow``), then measure (see docs/neural-odes.md)."""
    clock = [time.perf_counter()]
    x64 = settings["precision"] == "float64"
    with jax.enable_x64(x64):
        model = NeuralODEModel(problem, settings, dtype_of(settings))
        count = PreparedCount(model, x64)
        count.start(model.params)
        result = train(model, model.params, settings, callback=callback, log_every=log_every, checkpoint=checkpoint,
                       resume=resume)  # fmt: skip
        clock.append(time.perf_counter())
        if result.status == "nonfinite":
            result.status, result.message = diagnose(model, result, settings)
        metrics = measure(model, result.params, settings, finished=result.status == "ok", count=count)
        count.join()  # a failed solve does not leave its compilation running
        clock.append(time.perf_counter())
    sol = ODESolution(model, result.params, settings["precision"], fit=result, metrics=metrics, term_names=list(TERM_NAMES))
    sol.spans = [(part, a, b) for part, a, b in zip(("training", "metrics"), clock, clock[1:])]
    sol.spans += [("steps", *c) for c in result.chunks]
    return sol


def train(model: NeuralODEModel, params, settings: dict, *, callback=None, log_every: int = 10**9, checkpoint=None,
          resume: bool = False, phases=None, support: dict | None = None) -> FitResult:  # fmt: skip
    """Fit ``params`` through the phases, once per stage of ``ode.grow`` (each stage on a longer
    part of the series, from where the previous one ended; each its own checkpoint)."""
    ode, phases = model.ode, tuple(phases or settings["phases"])
    weights = jnp.asarray([ode.regularisation if w is None else w for w in WEIGHTS], model.dtype)
    stages = ode.stages
    history, logs, chunks, result = [], [], [], None
    for k, fraction in enumerate(stages):
        series = model.train.until(fraction, model.system.t0, model.system.t1)
        data = model.data(series, support, settings["seed"] + 1000003 * k)
        point = checkpoint.for_window(k) if checkpoint is not None and len(stages) > 1 else checkpoint
        result = fit(model.terms, params, lambda draw: data, phases, weights=weights, schedule=Schedule(log_every),
                     callback=callback, checkpoint=point, resume=resume, time_limit=settings["time_limit"],
                     stochastic=True)  # fmt: skip
        params = result.params
        offset = history[-1]["step"] if history else 0
        history += [{**r, "step": r["step"] + offset, "stage": k} for r in result.history]
        logs += [{**p, "stage": k} for p in result.phases] if len(stages) > 1 else result.phases
        chunks += result.chunks
        if result.status != "ok" or (result.phases and result.phases[-1]["stop"] == "time limit reached"):
            break
    result.history, result.phases, result.chunks = history, logs, chunks
    return result


def diagnose(model: NeuralODEModel, result: FitResult, settings: dict) -> tuple[str, str]:
    """Why training stopped on a non-finite loss: the solver needed more than ``max_steps`` steps
    (``"stiff"``), the solution blew up (``"diverged"``), or the gradient did (``"nonfinite"``)."""
    if result.failed_at is None:
        return result.status, result.message
    data = model.data(model.train, None, 0)
    t0 = jnp.full(len(model.train), model.system.t0, model.dtype)
    _, _, outcome, _ = jax.jit(model.predict)(result.failed_at, t0, data["times"], model.initial(result.failed_at))
    outcome = np.asarray(outcome)
    kept = "; kept the last parameters whose solve succeeded"
    if (outcome == STIFF).any():
        return "stiff", (f"the ODE solver needed more than max_steps = {model.ode.max_steps} steps (a stiff or "
                         f"exploding vector field: try an implicit integrator such as 'kvaerno5', or a larger "
                         f"max_steps){kept}")  # fmt: skip
    if (outcome == DIVERGED).any():
        return "diverged", f"the solution became infinite or NaN during training (a diverging vector field){kept}"
    return result.status, result.message


def measure(model: NeuralODEModel, params, settings: dict, finished: bool = True, count: PreparedCount | None = None) -> dict:
    """The metrics of a neural-ODE solve (docs/neural-odes.md lists each key); a solve that did not
    finish (``finished=False``) gets no NFE counts, standard errors or formulas, which would measure
    a vector field that fails. ``count``: the NFE count's program, prepared while training."""
    problem, system = model.problem, model.system
    constants = {k: float(v) for k, v in system.constants(params["theta"]).items()}
    metrics = {"unknowns": constants, "trajectories": {"train": len(model.train), "heldout": len(model.test)}}
    metrics["initial_states"] = np.asarray(model.initial(params)).tolist()
    solved = model.everything(params)
    fields = solved["states"][..., model.field_states]
    length = model.train.times.shape[1]
    metrics["data_misfit_rms"] = _rms(fields[: len(model.train), :length], model.train.values, problem.fields)
    if len(model.test):
        held = fields[len(model.train):, : model.test.times.shape[1]]
        metrics["heldout_rms"] = _rms(held, model.test.values, problem.fields)
        metrics["heldout_relative_error"] = _relative(held, model.test.values, problem.fields)
    if not finished:
        return metrics
    metrics["nfe"] = evaluations(model, params, count)
    if constants:
        se, method = standard_errors(model, params)
        metrics["unknowns_stderr"], metrics["unknowns_stderr_method"] = se, method
    exact = problem.inverse.exact
    metrics["unknown_errors"] = {k: abs(constants[k] - v) / abs(v) if v else abs(constants[k]) for k, v in exact.items()}
    se = metrics.get("unknowns_stderr") or {}
    metrics["unknown_deviations"] = {k: abs(constants[k] - v) / se[k] for k, v in exact.items()
                                     if se.get(k) and np.isfinite(se[k])}  # fmt: skip
    if problem.inverse.discover is not None:
        from .discovery import discover_and_verify

        metrics.update(discover_and_verify(model, params, settings, constants, train))
    return metrics


def _rms(pred: np.ndarray, obs: np.ndarray, fields) -> dict[str, float]:
    seen = np.isfinite(obs)
    return {f: float(np.sqrt(np.mean((pred[..., j] - obs[..., j])[seen[..., j]] ** 2))) for j, f in enumerate(fields)
            if seen[..., j].any()}  # fmt: skip


def _relative(pred: np.ndarray, obs: np.ndarray, fields) -> dict[str, float]:
    seen = np.isfinite(obs)
    out = {}
    for j, f in enumerate(fields):
        m = seen[..., j]
        if m.any():
            out[f] = float(np.linalg.norm(pred[..., j][m] - obs[..., j][m]) / max(np.linalg.norm(obs[..., j][m]), 1e-300))
    return out


def evaluations(model: NeuralODEModel, params, count: PreparedCount | None = None) -> dict:
    """Vector-field evaluations of one solve of the first training trajectory with the trained
    model: ``forward`` (a prediction: the solver's evaluations per step times its steps, counted
    on a test equation, exact for explicit solvers; counted on this solve for implicit ones) and
    ``backward`` (what a gradient adds: recomputed steps and vector-Jacobian products, counted as
    they happen; None for implicit solvers), and the ``steps``. ``count``: the gradient's count,
    compiled ahead (else compiled here)."""
    args, t0, ts, y0 = _first_solve(model, params)
    if model.ode.integrator in IMPLICIT:
        # an implicit solver differentiates the vector field in its Newton steps, which a counting
        # wrapper with its own gradient rule does not allow: the forward evaluations only
        forward, steps = count_forward(model.f, model.ode, args, t0, ts, y0)
        return {"forward": forward, "backward": None, "steps": steps}
    counter = (count() if count is not None else None) or GradientCount(model.f, model.ode, t0, ts)
    counted = counter(args, y0)
    forward = int(round(model.nfe_start + model.nfe_step * counted["steps"]))
    return {"forward": forward, "backward": counted["evaluations"] - forward + counted["vjps"], "steps": counted["steps"]}


def _first_solve(model: NeuralODEModel, params) -> tuple:
    """``(args, t0, ts, y0)`` of the solve that :func:`evaluations` counts: the first training trajectory."""
    return model.args(params, None), model.system.t0, jnp.asarray(model.train.times[0], model.dtype), model.initial(params)[0]


class PreparedCount:
    """The :class:`~.integrate.GradientCount` of :func:`evaluations`, compiled in a background
    thread while the network trains (seconds of tracing and compiling, which training, in compiled
    code, leaves room for). :meth:`start` it with parameters of the trained ones' structure; call
    it for the compiled count (None for implicit solvers, which count another way, or if compiling
    failed: :func:`evaluations` then compiles its own and meets the error itself)."""

    def __init__(self, model: NeuralODEModel, x64: bool):
        self.model, self._work = model, Background("neuralsolve-nfe", x64)

    def start(self, params) -> None:
        if self.model.ode.integrator not in IMPLICIT:
            self._work.start(self._compile, params)

    def _compile(self, params) -> GradientCount:
        args, t0, ts, y0 = _first_solve(self.model, params)
        return GradientCount(self.model.f, self.model.ode, t0, ts).compile(args, y0)

    def join(self) -> None:
        self._work.join()

    def __call__(self) -> GradientCount | None:
        if not self._work.started:
            return None
        try:
            return self._work.result()
        except Exception:  # noqa: BLE001 - evaluations() compiles in the caller's thread and raises there
            return None


def standard_errors(model: NeuralODEModel, params) -> tuple[dict, str]:
    """Standard errors of the constants from the Gauss-Newton approximation of the misfit's
    curvature: J, the sensitivities of every fitted value to the constants and the free initial
    states (forward-mode through the solver), and each field's noise (known, else the residuals'
    RMS with the fitted parameters' degrees of freedom taken off): cov = (JᵀWJ)⁻¹."""
    system, names = model.system, model.system.names
    # forward mode (one pass per parameter) where it can: an implicit solver's root finder
    # defines only reverse-mode derivatives, so there the Jacobian is built row by row in reverse
    forward = model.ode.integrator not in IMPLICIT
    integrator = Integrator(model.f, model.ode, adjoint=diffrax.ForwardMode() if forward else None)
    series = model.train
    obs = np.asarray(series.values)
    seen = np.isfinite(obs)
    free = ~np.broadcast_to(model.fixed_mask, (len(series), len(system.states)))
    scales = jnp.asarray(model.state_scales, model.dtype)

    def fitted(z):
        values = dict(zip(names, z[: len(names)]))
        theta = {k: system.raw(k, values[k]) for k in names}
        y0 = model.initial(params).at[free].set(z[len(names):] * scales[np.nonzero(free)[1]])
        args = (theta, params["hidden"], None)
        ys = jax.vmap(lambda t, y: integrator.solve(args, system.t0, t, y)[0])(jnp.asarray(series.times, model.dtype), y0)
        return ys[..., jnp.asarray(model.field_states)][seen]

    constants = system.constants(params["theta"])
    z = jnp.concatenate([jnp.stack([constants[k] for k in names]),
                         (model.initial(params) / scales)[free]])  # fmt: skip
    J = np.asarray(jax.jit(jax.jacfwd(fitted) if forward else jax.jacrev(fitted))(z))
    residual = np.asarray(jax.jit(fitted)(z)) - obs[seen]
    field_of = np.broadcast_to(np.arange(obs.shape[-1]), obs.shape)[seen]
    sigma = np.empty(len(residual))
    dof = max(len(residual) - len(z), 1) / len(residual)
    for j in np.unique(field_of):
        known = series.noise[j]
        rows = field_of == j
        sigma[rows] = known if np.isfinite(known) and known > 0 else np.sqrt(np.mean(residual[rows] ** 2) / dof)
    Jw = J / sigma[:, None]
    cov = np.linalg.pinv(Jw.T @ Jw)
    se = {k: float(np.sqrt(max(cov[i, i], 0.0))) for i, k in enumerate(names)}
    method = "gauss-newton (ODE sensitivities" + ("; hidden networks held fixed)" if model.problem.inverse.hidden else ")")
    return se, method


def reopen(problem: Problem, settings: dict, checkpoint, saved: dict) -> ODESolution | None:
    """A saved neural-ODE solve: its parameters from the (last stage's) checkpoint and the metrics
    it wrote (measured again if none were written)."""
    from ..base import saved_outcome

    stages = settings["ode"].stages
    last = checkpoint.for_window(len(stages) - 1) if len(stages) > 1 else checkpoint
    if not last.exists():
        return None
    with jax.enable_x64(settings["precision"] == "float64"):
        model = NeuralODEModel(problem, settings, dtype_of(settings))
        phases = settings["phases"]
        state = last.load(lambda k: carry_template(phases[k], model.params, len(TERM_NAMES)))
        params = state.carry[3]
        metrics = {k: saved.get(k) for k in METRIC_KEYS} if saved else measure(model, params, settings)
    result = FitResult(params, state.history, state.phases, *saved_outcome(saved))
    return ODESolution(model, params, settings["precision"], fit=result, metrics=metrics, term_names=list(TERM_NAMES))
