"""What a neural-ODE solve trains, and its loss.

``params = {"theta": {constant: raw value}, "hidden": {network: arrays}, "y0": (trajectories,
states)}``: the unknown constants (raw as in :meth:`OdeSystem.constants`), the hidden terms'
networks, and every training trajectory's initial state divided by its field's size (the states a
condition fixes are overwritten by their values, so only the others learn).

The loss terms are ``[data misfit, regulariser, nfe]``; the last is the mean number of
vector-field evaluations per solve, with weight 0: it is not minimised, only recorded with the
progress, so the report can show NFE over training.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...problem.problem import Problem
from .integrate import Integrator, evaluations_per_step
from .series import Series, first_values, gather, split, windows
from .settings import ODE
from .system import OdeSystem

TERM_NAMES = ("data", "regulariser", "nfe (recorded, not minimised)")
DENSE = 200  # times per trajectory at which the model is reported and its hidden terms sampled


class NeuralODEModel:
    """The system, the measured trajectories (split into training and held-out ones), the
    parameters and the loss of one neural-ODE problem."""

    def __init__(self, problem: Problem, settings: dict, dtype):
        self.problem, self.ode, self.dtype = problem, settings["ode"], dtype
        self.system = OdeSystem(problem)
        self.series = gather(problem)
        self.train_index, self.test_index = split(len(self.series), self.ode.holdout, settings["seed"])
        self.train, self.test = self.series.take(self.train_index), self.series.take(self.test_index)
        states = self.system.states
        self.field_states = self.system.field_states()
        # a state's size: its field's (a derivative state's too), so that raw initial states are near 1
        owner = [next(j for j, f in enumerate(problem.fields) if s == f or s.startswith(f + "_t")) for s in states]
        self.state_scales = np.asarray([self.series.scales[j] for j in owner])
        self.fixed_mask = np.zeros(len(states), bool)
        self.fixed_values = np.zeros(len(states))
        for s, v in self.system.fixed.items():
            self.fixed_mask[s], self.fixed_values[s] = True, v
        arrays, self.statics = self.system.init_hidden(dtype, settings["seed"])
        y0 = first_values(self.train, len(states), self.field_states, self.system.fixed) / self.state_scales
        theta = {k: jnp.asarray(self.system.raw(k, u.initial), dtype) for k, u in problem.inverse.unknowns.items()}
        self.params = {"theta": theta, "hidden": arrays, "y0": jnp.asarray(y0, dtype)}
        self.f = self.system.vector_field(self.statics)
        self._everything = None  # (params, what everything() found for them)
        self.integrator = Integrator(self.f, self.ode)
        self.nfe_start, self.nfe_step = evaluations_per_step(self.ode.integrator, self.ode.regularise)
        phases = settings.get("phases") or ()
        self.anneal_steps = phases[0].steps if phases else 1  # the annealing's span: the first phase
        if self.ode.window is not None:
            unmeasured = [s for s in states if s not in problem.fields]
            if unmeasured:
                from ..._errors import ProblemError

                raise ProblemError(f"ode: window needs every state measured (windows start from an observation); "
                                   f"{', '.join(unmeasured)} is not")  # fmt: skip

    def initial(self, params) -> jax.Array:
        """The training trajectories' initial states (trajectories, states)."""
        if self.ode.initial == "data":  # as measured, not trained
            return jax.lax.stop_gradient(self.params["y0"] * jnp.asarray(self.state_scales, self.dtype))
        scales = jnp.asarray(self.state_scales, self.dtype)
        return jnp.where(jnp.asarray(self.fixed_mask), jnp.asarray(self.fixed_values, self.dtype), params["y0"] * scales)

    def starts_of(self, series: Series, params) -> np.ndarray:
        """Initial states for trajectories not trained on (held out), at their first sample: the
        measurements there, the values conditions fix, and for a state not measured there the
        mean of the trained initial states."""
        out = np.asarray(first_values(series, len(self.system.states), self.field_states, self.system.fixed))
        trained = np.asarray(self.initial(params))
        for s in range(out.shape[1]):
            j = self.field_states.index(s) if s in self.field_states else None
            unseen = ~np.isfinite(series.values[:, 0, j]) if j is not None else np.ones(len(series), bool)
            out[unseen & ~self.fixed_mask[s], s] = trained[:, s].mean()
        return out

    def data(self, series: Series, support: dict | None, salt: int) -> dict:
        """The arrays a fit runs on: times, values (0 where not measured), the mask of measured
        values, the windows (if any), the support of a formula's terms and a random key."""
        mask = np.isfinite(series.values)
        out = {"times": series.times, "values": np.where(mask, series.values, 0.0), "mask": mask.astype(float),
               "key": jax.random.PRNGKey(salt)}  # fmt: skip
        if self.ode.window is not None:
            out["windows"] = windows(series, self.ode.window)
        out = {k: jnp.asarray(v, self.dtype) if k in ("times", "values", "mask") else jnp.asarray(v) for k, v in out.items()}
        out["support"] = {k: jnp.asarray(v, self.dtype) for k, v in (support or {}).items()}
        return out

    def args(self, params, support) -> tuple:
        return params["theta"], params["hidden"], support or None

    def predict(self, params, t0s, ts, y0s, support=None):
        """Solves from ``y0s`` (B, states) at ``t0s`` (B,), saved at ``ts`` (B, L): values, steps,
        outcomes and accumulated regularisers, each batched."""
        args = self.args(params, support)
        return jax.vmap(lambda t0, t, y: self.integrator.solve(args, t0, t, y))(t0s, ts, y0s)

    def trajectories(self, params, series: Series, times=None, support: dict | None = None) -> np.ndarray:
        """The fields at every sample of ``series`` (trajectories, samples, fields), or at ``times``
        (trajectories, n) instead: training trajectories from their trained initial states, others
        from their first sample. ``support`` holds some constants at 0, as in training."""
        if series is self.train:
            t0, y0 = np.full(len(series), self.system.t0), self.initial(params)
        else:
            t0, y0 = series.times[:, 0], self.starts_of(series, params)
        ts = series.times if times is None else times
        support = {k: jnp.asarray(v, self.dtype) for k, v in support.items()} if support else None
        ys, _, _, _ = jax.jit(self.predict)(params, jnp.asarray(t0, self.dtype), jnp.asarray(ts, self.dtype),
                                            jnp.asarray(y0, self.dtype), support)  # fmt: skip
        return np.asarray(ys)[..., self.field_states]

    def everything(self, params) -> dict:
        """Every trajectory, training ones then held-out ones, from one batched solve (one
        compilation for all that is measured and reported): ``times`` (K, L) and ``states`` at
        them, ``grid`` (K, :data:`DENSE`) spanning each series and ``dense`` states there, and
        ``heldout`` (K,) flags. Computed once per parameters."""
        if self._everything is not None and self._everything[0] is params:
            return self._everything[1]
        parts = [s for s in (self.train, self.test) if len(s)]
        length = max(s.times.shape[1] for s in parts)
        times = np.concatenate([np.pad(s.times, ((0, 0), (0, length - s.times.shape[1])), mode="edge") for s in parts])
        t0 = np.concatenate([np.full(len(self.train), self.system.t0)] + ([self.test.times[:, 0]] if len(self.test) else []))
        y0 = np.concatenate([np.asarray(self.initial(params))] + ([self.starts_of(self.test, params)] if len(self.test) else []))
        grid = np.linspace(t0, times.max(axis=1), DENSE, axis=1)
        both = np.concatenate([times, grid], axis=1)
        order = np.argsort(both, axis=1, kind="stable")
        ys, _, _, _ = jax.jit(self.predict)(params, jnp.asarray(t0, self.dtype),
                                            jnp.asarray(np.take_along_axis(both, order, 1), self.dtype),
                                            jnp.asarray(y0, self.dtype))  # fmt: skip
        states = np.empty(ys.shape)
        np.put_along_axis(states, order[..., None], np.asarray(ys), axis=1)
        out = {"times": times, "states": states[:, :length], "grid": grid, "dense": states[:, length:],
               "heldout": np.arange(len(times)) >= len(self.train)}  # fmt: skip
        self._everything = (params, out)
        return out

    def terms(self, params, data, step=None):
        """``[data misfit, regulariser, nfe]`` on a batch drawn with ``step`` (None: every
        training trajectory, whole). A solve that fails (more than ``max_steps`` steps, or values
        that are not finite) makes the loss NaN: training stops there and keeps the last good
        parameters (the family then says which failure it was)."""
        ode, scales = self.ode, jnp.asarray(self.series.scales, self.dtype)
        times, values, mask = data["times"], data["values"], data["mask"]
        if step is not None and ode.window is not None:
            pick = data["windows"][_draw(data, step, len(data["windows"]), ode.batch or 1)]
            take = lambda a, k, s: jax.lax.dynamic_slice_in_dim(a[k], s, ode.window)
            ts = jax.vmap(lambda p: take(times, p[0], p[1]))(pick)
            obs = jax.vmap(lambda p: take(values, p[0], p[1]))(pick)
            seen = jax.vmap(lambda p: take(mask, p[0], p[1]))(pick)
            y0 = jnp.zeros((len(pick), len(self.system.states)), self.dtype).at[:, jnp.asarray(self.field_states)].set(obs[:, 0])
            t0 = ts[:, 0]
        else:
            index = jnp.arange(len(times)) if step is None or not ode.batch or ode.batch >= len(times) else \
                _draw(data, step, len(times), ode.batch)  # fmt: skip
            ts, obs, seen, y0 = times[index], values[index], mask[index], self.initial(params)[index]
            t0 = jnp.full(len(ts), self.system.t0, self.dtype)
        ys, steps, outcome, extra = self.predict(params, t0, ts, y0, data["support"])
        pred = ys[..., jnp.asarray(self.field_states)]
        gap = (pred - obs) / scales
        gap = jnp.where(seen > 0, gap, 0.0)
        misfit = jnp.abs(gap) if ode.loss == "l1" else gap**2
        loss = jnp.sum(misfit) / jnp.maximum(jnp.sum(seen), 1.0)
        reg = self._regulariser(params, data, ts, ys, steps, extra, t0, step) * self._annealing(step)
        failed = jnp.any(outcome != 0)
        loss = jnp.where(failed, jnp.nan, loss)
        nfe = self.nfe_start + self.nfe_step * jnp.mean(steps.astype(self.dtype))
        return jnp.stack([loss, reg, jax.lax.stop_gradient(nfe)])

    def _annealing(self, step):
        """The factor on the regulariser's weight at a phase's ``step``: from 1 down to
        regularisation_final / regularisation, exponentially over the first phase's steps
        (:attr:`anneal_steps`), then constant; the final factor where there is no step (full-batch
        phases such as L-BFGS, and the progress records); 1 when not annealed."""
        final = self.ode.regularisation_final
        if final is None:
            return 1.0
        if step is None:
            return final / self.ode.regularisation
        done = jnp.clip(jnp.asarray(step, self.dtype) / max(self.anneal_steps - 1, 1), 0.0, 1.0)
        return (final / self.ode.regularisation) ** done

    def _regulariser(self, params, data, ts, ys, steps, extra, t0, step):
        ode = self.ode
        if ode.regularise in ("error", "stiffness"):
            return jnp.mean(extra)
        if ode.regularise != "local":
            return jnp.zeros((), self.dtype)
        # at one random sample time of each trajectory: the error estimate of one step of the
        # solve's mean accepted size there (Pal et al. 2023 draw the time uniformly; a sample time
        # reuses the saved state instead of solving to it)
        key = jax.random.fold_in(data["key"], 0 if step is None else step + 1)
        r = jax.random.randint(key, (len(ts),), 0, ts.shape[1])
        t_r = jnp.take_along_axis(ts, r[:, None], axis=1)[:, 0]
        y_r = jnp.take_along_axis(ys, r[:, None, None], axis=1)[:, 0]
        h = jax.lax.stop_gradient((ts[:, -1] - t0) / jnp.maximum(steps, 1))
        args = self.args(params, data["support"])
        return jnp.mean(jax.vmap(lambda t, y, dt: self.integrator.local_error(args, t, y, dt))(t_r, y_r, h))


def _draw(data: dict, step, count: int, size: int) -> jax.Array:
    """``size`` distinct indices below ``count`` (with repeats only if ``size > count``), drawn
    from the fit's key and the step number."""
    key = jax.random.fold_in(data["key"], step)
    return jax.random.choice(key, count, (size,), replace=size > count)
