"""The fit loop: runs optimiser phases in jit-compiled chunks, reports progress, never loses work.

Each chunk is one compiled ``while_loop`` over up to ``log_every`` steps, so Python is touched once
per chunk. The loop carries the parameters with the lowest finite loss seen so far: a loss that
turns NaN or inf stops training with status ``"nonfinite"`` and those parameters are returned;
Ctrl-C returns them too, with status ``"interrupted"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from .checkpoint import Checkpoint, TrainState

RUNNING, NONFINITE, STALLED, GTOL = 0, 1, 2, 3
_STOPS = {
    RUNNING: "step budget reached",
    NONFINITE: "loss became NaN or inf; kept the last finite parameters",
    STALLED: "converged: loss did not decrease in {patience} consecutive steps",
    GTOL: "converged: gradient below {gtol:g}",
}


@dataclass
class FitResult:
    """Parameters with the lowest loss, the history, a per-phase log and the overall status."""

    params: object
    history: list = field(default_factory=list)
    phases: list = field(default_factory=list)
    status: str = "ok"
    message: str = "training completed"


def fit(loss: Callable, terms: Callable, params, data, phases, *, callback=None, log_every: int = 100,
        checkpoint: Checkpoint | None = None, resume: bool = False) -> FitResult:  # fmt: skip
    """Minimise ``loss(params, data)`` through ``phases``; ``terms`` gives the per-term breakdown.

    With a ``checkpoint``, the state is saved every so often, on Ctrl-C and at the end; with
    ``resume=True`` training continues from the checkpoint's state instead of from ``params``.
    """
    phases = list(phases)
    state = TrainState(0, None)
    if resume and checkpoint is not None and checkpoint.exists():
        state = checkpoint.load(lambda k: _initial_carry(phases[k], params))
    result = FitResult(params if state.carry is None else state.carry[3], state.history, state.phases)
    offset = result.history[-1]["elapsed"] if result.history else 0.0
    start, terms_jit = time.perf_counter() - offset, jax.jit(terms)
    first = len(result.phases)
    if result.phases and result.phases[-1]["stop"] == _STOPS[NONFINITE]:  # a finished, failed run
        first, result.status = len(phases), "nonfinite"
        result.message = f"{result.phases[-1]['phase']}: {_STOPS[NONFINITE]}"
    try:
        for k in range(first, len(phases)):
            phase = phases[k]
            carry = state.carry if (state.carry is not None and state.phase == k) else _initial_carry(phase, result.params)
            step0 = sum(p["steps"] for p in result.phases)
            runner = _chunk_runner(phase, loss)
            while int(carry[0]) < phase.steps and int(carry[6]) == RUNNING:
                # chunks end on multiples of log_every, so a resumed run repeats the same chunks
                n = min(log_every - int(carry[0]) % log_every, phase.steps - int(carry[0]))
                carry = runner(carry, data, n)
                result.params = carry[3]  # best so far: safe to keep whatever happens next
                record = _record(phase.name, step0 + int(carry[0]), terms_jit(carry[3], data), start)
                result.history.append(record)
                # a snapshot with copied logs: an interrupt between two statements cannot leave a
                # progress record in the checkpoint that its carry has not reached
                state = TrainState(k, carry, list(result.history), list(result.phases))
                if callback is not None:
                    callback(record)
                if checkpoint is not None:
                    checkpoint.maybe_save(state)
            flag = int(carry[6])
            result.phases.append({"phase": phase.name, "steps": int(carry[0]), "stop": _STOPS[flag].format(
                patience=phase.patience, gtol=phase.gtol)})  # fmt: skip
            state = TrainState(k, carry, list(result.history), list(result.phases))
            if flag == NONFINITE:
                result.status, result.message = "nonfinite", f"{phase.name}: {_STOPS[NONFINITE]}"
                break
    except KeyboardInterrupt:
        result.status, result.message = "interrupted", "training interrupted; kept the best parameters so far"
    if checkpoint is not None and state.carry is not None:
        checkpoint.save(state)
    return result


def _record(phase: str, step: int, term_values, start: float) -> dict:
    values = [float(v) for v in term_values]
    return {"phase": phase, "step": step, "loss": sum(values), "terms": values,
            "elapsed": time.perf_counter() - start}  # fmt: skip


def _initial_carry(phase, params):
    inf = jnp.asarray(jnp.inf, jax.tree_util.tree_leaves(params)[0].dtype)
    # (steps done, params, optimiser state, best params, best loss, steps without decrease, flag)
    return (jnp.asarray(0), params, phase.init(params), params, inf, jnp.asarray(0), jnp.asarray(RUNNING))


def _chunk_runner(phase, loss: Callable) -> Callable:
    patience = phase.patience

    @jax.jit
    def run(carry, data, n):
        stop_at = carry[0] + n

        def cond(c):
            return (c[0] < stop_at) & (c[6] == RUNNING)

        def body(c):
            i, params, state, best, best_value, stall, _ = c
            new_params, new_state, value, grad = phase.step(params, state, lambda p: loss(p, data))
            finite = jnp.isfinite(value) & _all_finite(grad)
            improved = finite & (value < best_value)
            best = jax.tree_util.tree_map(lambda a, b: jnp.where(improved, a, b), params, best)
            best_value = jnp.where(improved, value, best_value)
            stall = jnp.where(improved, 0, stall + 1)
            flag = jnp.where(finite, RUNNING, NONFINITE)
            if patience is not None:
                flag = jnp.where((flag == RUNNING) & (stall >= patience), STALLED, flag)
                gmax = jnp.max(jnp.stack([jnp.max(jnp.abs(g)) for g in jax.tree_util.tree_leaves(grad)]))
                flag = jnp.where((flag == RUNNING) & (gmax <= phase.gtol), GTOL, flag)
            return (i + 1, new_params, new_state, best, best_value, stall, flag)

        return jax.lax.while_loop(cond, body, carry)

    return run


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]))
