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


def fit(loss: Callable, terms: Callable, params, data, phases, *, callback=None, log_every: int = 100) -> FitResult:
    """Minimise ``loss(params, data)`` through ``phases``; ``terms`` gives the per-term breakdown."""
    result, start, step0 = FitResult(params), time.perf_counter(), 0
    terms_jit = jax.jit(terms)
    try:
        for phase in phases:
            runner = _chunk_runner(phase, loss)
            carry = _initial_carry(phase, result.params)
            done = 0
            while done < phase.steps:
                carry = runner(carry, data, min(log_every, phase.steps - done))
                done = int(carry[0])
                result.params = carry[3]  # best so far: safe to keep whatever happens next
                record = _record(phase.name, step0 + done, terms_jit(carry[3], data), start)
                result.history.append(record)
                if callback is not None:
                    callback(record)
                if int(carry[6]) != RUNNING:
                    break
            flag = int(carry[6])
            result.phases.append({"phase": phase.name, "steps": done, "stop": _STOPS[flag].format(
                patience=phase.patience, gtol=phase.gtol)})  # fmt: skip
            step0 += done
            if flag == NONFINITE:
                result.status, result.message = "nonfinite", f"{phase.name}: {_STOPS[NONFINITE]}"
                break
    except KeyboardInterrupt:
        result.status, result.message = "interrupted", "training interrupted; kept the best parameters so far"
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
