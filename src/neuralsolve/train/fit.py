"""The fit loop: runs optimiser phases in jit-compiled chunks, reports progress, never loses work.

The objective is a weighted sum of loss terms, ``Σ mask·weight·balance·terms(params, data)``:
``weights`` are the user's fixed weights, ``masks`` (one per phase) switch terms on and off by
phase, and ``balance`` factors are adapted during Adam phases by a weighting strategy
(:mod:`~neuralsolve.train.weighting`; frozen in quasi-Newton phases, whose curvature model needs
one fixed loss, and which may also minimise a different, fixed ``fixed_terms``).

Each chunk is one compiled ``while_loop``; chunks end wherever something happens between steps
(a progress record, a weight update, a fresh draw of collocation points, an adaptive resampling
that reads the current parameters), so Python is touched once per chunk and a resumed run repeats
exactly the same chunks. A ``time_limit`` is checked between chunks too: training stops before a
chunk that would end past it. Adaptively sampled points depend on the parameters at the time, so they
are saved in the checkpoint with the carry. The loop carries the parameters
with the lowest finite loss seen so far: a loss that turns NaN or inf stops training with status
``"nonfinite"`` and those parameters are returned; Ctrl-C returns them too, with status
``"interrupted"``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ProblemError
from .checkpoint import Checkpoint, TrainState
from .sharding import OneDevice, averaged, averaged_values, on_each_device
from .weighting import TermStats

RUNNING, NONFINITE, STALLED, GTOL = 0, 1, 2, 3
TIME_LIMIT, PLATEAU = 4, 5  # decided in Python between chunks, never inside one: not flags of the carry
_STOPS = {
    RUNNING: "step budget reached",
    NONFINITE: "loss became NaN or inf; kept the last finite parameters",
    STALLED: "converged: loss did not decrease in {patience} consecutive steps",
    GTOL: "converged: gradient below {gtol:g}",
    TIME_LIMIT: "time limit reached",
    PLATEAU: "converged: loss fell less than {factor:g}x in {plateau} steps",
}


@dataclass
class FitResult:
    """Parameters with the lowest loss, the history, a per-phase log and the overall status;
    ``chunks`` are the (start, end) ``time.perf_counter`` seconds of every compiled chunk of
    optimiser steps this process ran (its first also compiles it); ``data_sharding`` is the
    ``.sharding`` of each array of the collocation data the last chunk ran on (None on one device)."""

    params: object
    history: list = field(default_factory=list)
    phases: list = field(default_factory=list)
    status: str = "ok"
    message: str = "training completed"
    chunks: list = field(default_factory=list)
    failed_at: object = None  # the parameters whose loss or gradient was not finite (status "nonfinite")
    data_sharding: object = None


@dataclass(frozen=True)
class Schedule:
    """What happens between steps: progress every ``log_every`` steps; in Adam phases only,
    new balance factors every ``balance.every`` steps, fresh collocation points every ``redraw``
    steps, and adaptive resampling every ``resample.every`` steps.

    ``resample(params, data, event) -> data`` (a :class:`~neuralsolve.sampling.adaptive.
    Resampler`) gives new collocation data from the current parameters; it must keep the data's
    shapes, so the compiled chunks are reused.
    """

    log_every: int = 100
    balance: object = None
    redraw: int | None = None
    resample: object = None

    def chunk(self, step: int, left: int, adam: bool) -> int:
        """Steps until the next event after ``step`` (at most ``left``)."""
        periods = [self.log_every]
        if adam:
            periods += [self.balance.every] if self.balance is not None else []
            periods += [self.redraw] if self.redraw else []
            periods += [self.resample.every] if self.resample is not None else []
        return min([p - step % p for p in periods] + [left])


def fit(terms: Callable, params, sampler: Callable, phases, *, weights, masks: Sequence | None = None,
        schedule: Schedule = Schedule(), callback=None, checkpoint: Checkpoint | None = None,
        resume: bool = False, fixed_terms: Callable | None = None, reference: Sequence | None = None,
        time_limit: float | None = None, stochastic: bool = False, placement: OneDevice | None = None,
        compiling: Callable | None = None, rows: Callable | None = None) -> FitResult:  # fmt: skip
    """Minimise the weighted sum of ``terms(params, data) -> (k,)`` through ``phases``.

    ``sampler(draw)`` returns the collocation data of draw number ``draw`` (draw 0 is used unless
    ``schedule.redraw`` is set; with ``schedule.resample`` the data of draw 0 is then adapted and
    carried from phase to phase). ``weights`` are the terms' fixed weights; ``masks`` gives each
    phase a 0/1 vector of the terms it minimises (default: all). Quasi-Newton phases minimise
    ``fixed_terms`` instead of ``terms`` when it is given (``terms`` may then be a loss that
    changes as it is minimised, such as causal weighting). ``reference`` marks (0/1) the residual
    terms whose gradient sets the scale of learning-rate annealing (default: the first term).
    With a ``checkpoint``, the state is saved every so often, on Ctrl-C and at the end; with
    ``resume=True`` training continues from the checkpoint's state instead of from ``params``.

    ``time_limit`` (seconds, measured like the progress records' ``elapsed``: from the start of
    fit, compilation included, and on resume from the saved elapsed time) stops training before a
    chunk that would end past it, predicted from the previous chunk of the same phase (a phase's
    first chunk, which includes compilation, runs unless the limit is already reached). The phase
    then stops with "time limit reached", later phases are skipped and the status stays "ok".

    ``stochastic=True``: ``terms(params, data, step)`` takes the step number within the phase too
    (a mini-batch drawn from it, inside the compiled steps); quasi-Newton phases and progress
    records call it with ``step=None``, which must mean the whole data. Mini-batch phases then
    keep their latest finite parameters, not those of the lowest mini-batch loss.

    ``placement`` (a :class:`~neuralsolve.train.sharding.Placement`) splits the collocation data
    over several devices, wherever it is drawn, resampled or resumed, and replicates the carry.

    ``compiling()`` is called once, when the first chunk's program is traced and lowered and XLA
    is about to compile it: that leaves the interpreter free (and on a first run, for seconds), so
    background work started then overlaps with it.

    ``rows(params, data, weights) -> (ρ, J)`` (:func:`~neuralsolve.loss.rows.make_rows`) gives the
    fixed loss as residual rows, ‖ρ‖² = Σ weights·terms, for Gauss–Newton phases (``uses_rows``).
    """
    phases = list(phases)
    if rows is None and any(p.uses_rows for p in phases):
        names = ", ".join(sorted({p.name for p in phases if p.uses_rows}))
        raise ProblemError(f"method {names!r} needs the loss as residuals, which this kind of solve does not give; "
                           "use 'ssbroyden' or 'lbfgs'")  # fmt: skip
    placement = placement or OneDevice()
    batched = terms if stochastic else None
    if stochastic:
        terms = _whole(terms)
        fixed_terms = _whole(fixed_terms) if fixed_terms is not None else None
    weights = jnp.asarray(weights)
    masks = [jnp.ones_like(weights)] * len(phases) if masks is None else [jnp.asarray(m, weights.dtype) for m in masks]
    reference = np.eye(len(weights))[0] if reference is None else np.asarray(reference, float)
    resample = schedule.resample
    saved, data = TrainState(0, None), None
    if resume and checkpoint is not None and checkpoint.exists():
        saved = checkpoint.load(lambda k: _template(phases[k], params, len(weights), sampler, resample))
    state = saved  # what the checkpoint holds until training moves on
    reached = None  # (phase, steps in it) of the last chunk run
    if saved.carry is not None and resample is not None:  # the adapted points travel with the carry
        data = placement.points(saved.carry[9])
        saved = TrainState(saved.phase, saved.carry[:9], saved.history, saved.phases)
    result = FitResult(params if saved.carry is None else saved.carry[3], saved.history, saved.phases)
    offset = result.history[-1]["elapsed"] if result.history else 0.0
    start = _now() - offset
    first = len(result.phases)
    balance_factors = saved.carry[7] if saved.carry is not None else jnp.ones_like(weights)
    if result.phases and result.phases[-1]["stop"] == _STOPS[NONFINITE]:  # a finished, failed run
        first, result.status = len(phases), "nonfinite"
        result.message = f"{result.phases[-1]['phase']}: {_STOPS[NONFINITE]}"
    if stopped_by_time(result.phases):  # a run that reached its time limit is finished
        first, result.message = len(phases), _time_message(time_limit, result.phases)
    try:
        for k in range(first, len(phases)):
            phase = phases[k]
            adam = not phase.fixed_loss
            phase_terms = fixed_terms if phase.fixed_loss and fixed_terms is not None else terms
            resuming = saved.carry is not None and saved.phase == k
            carry = saved.carry if resuming else _initial_carry(phase, result.params, balance_factors)
            step0 = sum(p["steps"] for p in result.phases)
            mini_batches = batched is not None and adam
            runner = _chunk_runner(phase, batched if mini_batches else phase_terms, mini_batches, phase_terms,
                                   rows if phase.uses_rows else None, placement.per_device)  # fmt: skip
            phase_weights = weights * masks[k]
            draw = _draw_index(schedule, step0 + (int(carry[0]) if adam else 0))
            if resample is None or data is None:
                data = placement.points(sampler(draw))
            last, timed_out, plateaued = None, False, False  # last: (seconds, steps) of this phase's previous chunk
            best_terms = None  # the terms of the carry's best parameters, as the last chunk left them
            # a loss that changes as it trains cannot show a plateau
            watch = phase.plateau > 0 and (phase.fixed_loss or (fixed_terms is None and schedule.balance is None
                                                                and not schedule.redraw and resample is None))  # fmt: skip
            while int(carry[0]) < phase.steps and int(carry[6]) == RUNNING:
                n = schedule.chunk(step0 + int(carry[0]), phase.steps - int(carry[0]), adam)
                if time_limit is not None and _out_of_time(time_limit, _now() - start, last, n):
                    timed_out = True
                    break
                began, before = _now(), int(carry[0])
                if compiling is not None:  # traced and lowered here; the call below compiles (cached)
                    runner.lower(placement.replicated(carry), data, phase_weights, n)
                    compiling()
                    compiling = None
                carry, best_terms = runner(placement.replicated(carry), data, phase_weights, n)
                result.data_sharding = placement.shardings(data)
                result.params = carry[3]  # best so far: safe to keep whatever happens next
                step = step0 + int(carry[0])  # waits for the chunk to finish
                reached = (k, int(carry[0]))  # how far the parameters in result.params got
                result.chunks.append((began, _now()))
                if step % schedule.log_every == 0 or int(carry[0]) == phase.steps or int(carry[6]) != RUNNING:
                    _log(result, callback, _progress(phase.name, step, best_terms, carry, weights * masks[k],
                                                     schedule, start))  # fmt: skip
                inside = adam and int(carry[0]) < phase.steps  # no events at a phase's end
                if inside and schedule.balance is not None and step % schedule.balance.every == 0:
                    carry = _rebalance(carry, schedule.balance, phase_terms, data, masks[k], reference)
                if inside and _draw_index(schedule, step) != draw:
                    draw = _draw_index(schedule, step)
                    data = placement.points(sampler(draw))
                    carry = _new_loss(carry)
                if inside and resample is not None and step % resample.every == 0:
                    data = placement.points(resample(carry[1], data, step // resample.every))
                    carry = _new_loss(carry)
                # a snapshot with copied logs: an interrupt between two statements cannot leave a
                # progress record in the checkpoint that its carry has not reached
                state = _snapshot(k, carry, data, resample, result)
                if checkpoint is not None:
                    checkpoint.maybe_save(state)
                last = (_now() - began, int(carry[0]) - before)  # the chunk and its events, as the next will run
                if STOP.is_set():  # Ctrl-C asked to stop here, where the state just saved is whole
                    raise KeyboardInterrupt
                if watch and int(carry[6]) == RUNNING and _plateaued(result.history, step0, step, phase):
                    plateaued = True
                    break
            flag = TIME_LIMIT if timed_out else PLATEAU if plateaued else int(carry[6])
            balance_factors = carry[7]
            step = step0 + int(carry[0])
            if timed_out and (not result.history or result.history[-1]["step"] != step):  # as at a phase's end
                values = _jit(phase_terms)(carry[3], data)  # the data may have changed since the last chunk
                _log(result, callback, _progress(phase.name, step, values, carry, weights * masks[k], schedule, start))
            result.phases.append({"phase": phase.name, "steps": int(carry[0]), "stop": _STOPS[flag].format(
                patience=phase.patience, gtol=phase.gtol, plateau=phase.plateau, factor=phase.plateau_factor)})  # fmt: skip
            state = _snapshot(k, carry, data, resample, result)
            if flag == NONFINITE:
                result.status, result.message = "nonfinite", f"{phase.name}: {_STOPS[NONFINITE]}"
                result.failed_at = carry[1]
                break
            if flag == TIME_LIMIT:
                result.message = _time_message(time_limit, result.phases)
                break
    except KeyboardInterrupt:
        result.status, result.message = "interrupted", "training interrupted; kept the best parameters so far"
        _log_interrupted(result, reached, phases)
    if checkpoint is not None and state.carry is not None:
        checkpoint.save(state)
    return result


def _plateaued(history: list, step0: int, step: int, phase) -> bool:
    """Whether the phase that began at ``step0`` has, at ``step``, a progress record from at least
    ``phase.plateau`` steps before (within the phase) whose loss is less than ``plateau_factor``
    times the latest one. Records carry the loss of the best parameters, so it never rises."""
    if not history or history[-1]["step"] != step:
        return False  # only decided at a progress record
    earlier = [r for r in history if step0 < r["step"] <= step - phase.plateau]
    return bool(earlier) and earlier[-1]["loss"] < phase.plateau_factor * history[-1]["loss"]


def _log_interrupted(result: FitResult, reached: tuple | None, phases: list) -> None:
    """Log the phase that Ctrl-C stopped, with the steps its parameters (``result.params``)
    reached, so the solution says how far training got. The checkpoint keeps its own copy of the
    log, without this entry: a resumed run continues that phase."""
    if reached is None or reached[0] != len(result.phases):
        return  # stopped before the phase's first chunk ended (or at its end): nothing of it to log
    k, steps = reached
    result.phases.append({"phase": phases[k].name, "steps": steps, "stop": f"interrupted after {steps} steps"})


# Set (by the command line's Ctrl-C handler) to stop training after the chunk it is in, at a point
# where the saved state is complete; a KeyboardInterrupt raised anywhere else stops at once, with
# the state of the chunk before. Whoever sets it clears it before the next solve.
STOP = threading.Event()


def check_time_limit(value) -> float | None:
    """``value`` as a training time limit in seconds (None: no limit); ProblemError unless it is
    a positive, finite number (a bool is not a number here)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ProblemError(f"time_limit must be a positive, finite number of seconds, got {value!r}")
    return float(value)


def stopped_by_time(phases: list) -> bool:
    """Whether a fit's phase log (``FitResult.phases``) ends at its time limit."""
    return bool(phases) and phases[-1]["stop"] == _STOPS[TIME_LIMIT]


def _now() -> float:
    """The one clock of the fit loop, for ``elapsed`` and the time limit alike (tests replace it)."""
    return time.perf_counter()


def _out_of_time(limit: float, elapsed: float, last: tuple | None, steps: int) -> bool:
    """Whether a chunk of ``steps`` steps, started at ``elapsed``, would end past ``limit``: it
    would take as long per step as the previous chunk of its phase, ``last = (seconds, steps)``.
    A phase's first chunk has no such measure (and pays for compilation): it runs unless the
    limit is already reached."""
    if last is None or last[1] <= 0:
        return elapsed >= limit
    seconds, done = last
    return elapsed + seconds * steps / done > limit


def _time_message(limit: float | None, phases: list) -> str:
    """The result's message when training stopped at its time limit."""
    steps = sum(p["steps"] for p in phases)
    limit_text = f" of {limit:.4g} s" if limit is not None else ""
    return f"training stopped at its time limit{limit_text} after {steps} steps"


def _progress(name: str, step: int, best_terms, carry, weights, schedule: Schedule, start: float) -> dict:
    """The progress record of ``carry``'s best parameters (whose terms are ``best_terms``), with the
    balance factors when they adapt."""
    record = _record(name, step, best_terms, weights * carry[7], start)
    if schedule.balance is not None:
        record["balance"] = [float(v) for v in carry[7]]
    return record


def _log(result: FitResult, callback, record: dict) -> None:
    result.history.append(record)
    if callback is not None:
        callback(record)


def _snapshot(k: int, carry, data, resample, result: FitResult) -> TrainState:
    """The state to checkpoint; adaptively sampled data is saved after the carry's 9 entries."""
    saved = carry + (data,) if resample is not None else carry
    return TrainState(k, saved, list(result.history), list(result.phases))


def _template(phase, params, n_terms: int, sampler, resample):
    """A checkpoint's structure: the carry, and the collocation data when it adapts."""
    carry = carry_template(phase, params, n_terms)
    return carry + (sampler(0),) if resample is not None else carry


def _draw_index(schedule: Schedule, step: int) -> int:
    """Collocation points are redrawn every ``redraw`` steps: draw number ``step // redraw``."""
    return step // schedule.redraw if schedule.redraw else 0


def _new_loss(carry):
    """The loss has changed (new weights or points): restart best-tracking."""
    return carry[:4] + (jnp.asarray(jnp.inf, carry[4].dtype),) + carry[5:]


def _rebalance(carry, balance, terms, data, mask, reference):
    """New balance factors from the strategy, given the terms now and at the last update (kept
    in the carry) and, for gradient-based strategies, each term's gradient."""
    values, mask = np.asarray(_jit(terms)(carry[1], data)), np.asarray(mask)
    extra = {}
    if balance.uses_gradients:
        active_reference = reference * (mask > 0)
        norm, mean, top = _gradient_stats(terms)(carry[1], data, jnp.asarray(active_reference, values.dtype))
        extra = {"grad_norm": np.asarray(norm), "grad_mean": np.asarray(mean), "reference_max": float(top),
                 "reference": active_reference}  # fmt: skip
    stats = TermStats(values, np.asarray(carry[8]), np.asarray(carry[7]), **extra)
    factors = balance.balance(stats, mask)
    dtype = carry[7].dtype
    carry = _new_loss(carry)
    return carry[:7] + (jnp.asarray(factors, dtype), jnp.asarray(values, dtype))


def carry_template(phase, params, n_terms: int):
    """A carry of the right structure for ``phase`` (to read a checkpoint into)."""
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    return _initial_carry(phase, params, jnp.ones(n_terms, dtype))


def _initial_carry(phase, params, balance_factors):
    """The carry at a phase's start: one compiled program (op by op, a dozen small compilations)."""
    return _carry_program()(phase, params, balance_factors)


@functools.cache
def _carry_program() -> Callable:
    import equinox as eqx  # imported where used, as elsewhere in training

    return eqx.filter_jit(_carry_at_start)


def _carry_at_start(phase, params, balance_factors):
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    inf = jnp.asarray(jnp.inf, dtype)
    factors = jnp.asarray(balance_factors, dtype)
    # (steps done, params, optimiser state, best params, best loss, steps without decrease, flag,
    #  balance factors, term values at the last balance update)
    return (jnp.asarray(0), params, phase.init(params), params, inf, jnp.asarray(0), jnp.asarray(RUNNING),
            factors, jnp.full(factors.shape, jnp.nan, dtype))  # fmt: skip


@functools.lru_cache(maxsize=64)
def _jit(terms: Callable) -> Callable:
    return jax.jit(terms)


@functools.lru_cache(maxsize=64)
def _gradient_stats(terms: Callable) -> Callable:
    """``stats(params, data, reference) -> (‖∇L_i‖, mean|∇L_i|, max|∇Σ reference·L|)``, from
    one backward pass per term (only at weight-update events)."""

    @jax.jit
    def stats(params, data, reference):
        jacobian = jax.jacrev(terms)(params, data)
        rows = jnp.concatenate([jnp.reshape(g, (g.shape[0], -1)) for g in jax.tree_util.tree_leaves(jacobian)], axis=1)
        return jnp.linalg.norm(rows, axis=1), jnp.mean(jnp.abs(rows), axis=1), jnp.max(jnp.abs(reference @ rows))

    return stats


@functools.lru_cache(maxsize=64)
def _whole(terms: Callable) -> Callable:
    """A stochastic ``terms(params, data, step)`` on the whole data: ``terms(params, data, None)``."""
    return lambda params, data: terms(params, data, None)


@functools.lru_cache(maxsize=64)
def _chunk_runner(phase, terms: Callable, stochastic: bool, record_terms: Callable, rows: Callable | None,
                  mesh=None) -> Callable:  # fmt: skip
    """The compiled chunk of ``phase`` steps on ``terms``, returning the carry and the terms
    ``record_terms`` of its best parameters (for the progress record: computed here rather than by a
    program of their own, a compilation less). Cached, so fits that share all three (the states of
    an eigenproblem) compile once. ``stochastic``: ``terms`` takes the step number. ``rows``: the
    loss as residual rows, for a phase that ``uses_rows``. ``mesh``: every device of it runs the
    chunk on its share of the points, the loss being the mean of theirs
    (:func:`~neuralsolve.train.sharding.averaged`); None: one program for all the points, wherever
    they are."""
    patience = phase.patience
    # The terms as a jitted function inside the chunk: JAX traces it once per argument shapes, so
    # every phase of a fit (the same terms, the same data) shares one trace, and a quasi-Newton
    # program, which evaluates the loss in three places, is smaller (heat.toml's L-BFGS program:
    # tracing 0.48-0.84 -> 0.29 s, XLA 3.97-4.92 -> 3.78-4.16 s; the same steps to the bit). The
    # progress record's terms stay as they are: jitted too, Burgers' Adam steps ran 6% slower.
    at = _jit(terms)

    def chunk(carry, data, weights, n):
        stop_at = carry[0] + n
        w = weights * carry[7]

        def loss(p, step):
            return jnp.sum(w * (at(p, data, step) if stochastic else at(p, data)))

        def cond(c):
            return (c[0] < stop_at) & (c[6] == RUNNING)

        def body(c):
            i, params, state, best, best_value, stall, _ = c[:7]
            at_i = functools.partial(loss, step=i) if mesh is None else averaged(functools.partial(loss, step=i))
            if rows is None:
                new_params, new_state, value, grad = phase.step(params, state, at_i)
            else:
                new_params, new_state, value, grad = phase.step(params, state, at_i,
                                                                lambda p: rows(p, data, w))  # fmt: skip
            finite = jnp.isfinite(value) & _all_finite(grad)
            # a failed step keeps the parameters that failed, for the caller to diagnose
            new_params = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new_params, params)
            # a mini-batch's loss says nothing of the whole: the latest finite parameters are kept
            improved = finite if stochastic else finite & (value < best_value)
            best = jax.tree_util.tree_map(lambda a, b: jnp.where(improved, a, b), params, best)
            best_value = jnp.where(improved, value, best_value)
            stall = jnp.where(improved, 0, stall + 1)
            flag = jnp.where(finite, RUNNING, NONFINITE)
            if patience is not None:
                flag = jnp.where((flag == RUNNING) & (stall >= patience), STALLED, flag)
                gmax = jnp.max(jnp.stack([jnp.max(jnp.abs(g)) for g in jax.tree_util.tree_leaves(grad)]))
                flag = jnp.where((flag == RUNNING) & (gmax <= phase.gtol), GTOL, flag)
            return (i + 1, new_params, new_state, best, best_value, stall, flag) + c[7:]

        out = jax.lax.while_loop(cond, body, carry)
        recorded = record_terms(out[3], data)
        return out, recorded if mesh is None else averaged_values(recorded)

    return jax.jit(chunk) if mesh is None else on_each_device(chunk, mesh)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]))


def _record(phase: str, step: int, term_values, weights, start: float) -> dict:
    """A progress record: the objective (weighted sum) and each term's unweighted value."""
    values = [float(v) for v in np.asarray(term_values)]  # iterating a JAX array compiles
    loss = float(np.sum(np.asarray(weights) * np.asarray(values)))
    return {"phase": phase, "step": step, "loss": loss, "terms": values, "elapsed": _now() - start}
