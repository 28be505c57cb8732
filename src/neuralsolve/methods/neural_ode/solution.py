"""The solution of a neural ODE: trajectories of the learned system, and what was learned."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..._errors import ProblemError
from ...solution import Estimates, Solution


class ODESolution(Estimates, Solution):
    """A :class:`~neuralsolve.solution.Solution` whose fields come from solving the learned ODE.

    Called on points (n, 1) of time, it gives the first training trajectory (from its trained
    initial state); :meth:`trajectory` gives any training trajectory, :meth:`predict` the
    solution from any initial state. It also carries the estimated constants and discovered
    formulas, as an inverse solution does.
    """

    def __init__(self, model, params, precision: str, *, fit, metrics, term_names):
        problem = model.problem
        super().__init__(_unusable, params, problem.fields, problem.domain.coords, precision, fit=fit, metrics=metrics,
                         term_names=term_names)  # fmt: skip
        self.ode_model = model

    def _evaluate(self, points, field):
        points = np.asarray(points, float)
        if points.ndim != 2 or points.shape[1] != 1:
            raise ProblemError(f"points must have shape (n, 1) with column t; got {points.shape}")
        if field is not None and field not in self.fields:
            raise ProblemError(f"unknown field {field!r} (fields: {', '.join(self.fields)})")
        return self.trajectory(0, points[:, 0])

    def trajectory(self, k: int, times) -> np.ndarray:
        """Training trajectory ``k`` (in the order of the data) at ``times``: (len(times), fields)."""
        return self._states(k, times)[:, self.ode_model.field_states]

    def _states(self, k: int, times) -> np.ndarray:
        """Every state of training trajectory ``k`` at ``times``: (len(times), states)."""
        m = self.ode_model
        with jax.enable_x64(self.precision == "float64"):
            y0 = np.asarray(m.initial(self._params))[k]
        return self.predict(y0, times, m.system.t0, states=True)

    def predict(self, y0, times, t0: float | None = None, *, states: bool = False) -> np.ndarray:
        """The learned system solved from the state ``y0`` (all states, in ``ode_model.system.states``
        order) at ``t0`` (default: the domain's start), at ``times`` (any order): (len(times), fields),
        or every state with ``states=True``."""
        m = self.ode_model
        times = np.asarray(times, float)
        order = np.argsort(times, kind="stable")
        t0 = m.system.t0 if t0 is None else float(t0)
        if times.size and times[order[0]] < t0:
            raise ProblemError(f"times must be >= the start time {t0:g}")
        with jax.enable_x64(self.precision == "float64"):
            dt = m.dtype
            ys, _, _, _ = jax.jit(m.predict)(self._params, jnp.full(1, t0, dt), jnp.asarray(times[order][None], dt),
                                             jnp.asarray(np.asarray(y0, float)[None], dt))  # fmt: skip
        ys = np.asarray(ys[0])
        out = np.empty((len(times), ys.shape[1] if states else len(self.fields)))
        out[order] = ys if states else ys[:, m.field_states]
        return out

    def report_arrays(self) -> dict[str, np.ndarray]:
        """Every trajectory (training ones first, then held-out ones) for the report: sample times
        ``ode_times`` (K, L), data ``ode_data`` (K, L, fields; NaN: not measured), the model at the
        samples ``ode_model`` and on a fine grid ``ode_dense_t`` (K, 200) / ``ode_dense``, and
        ``ode_heldout`` (K,) flags."""
        m = self.ode_model
        with jax.enable_x64(self.precision == "float64"):
            solved = m.everything(self._params)
        data = [s.values for s in (m.train, m.test) if len(s)]
        length = solved["times"].shape[1]
        data = np.concatenate([np.pad(d, ((0, 0), (0, length - d.shape[1]), (0, 0)), constant_values=np.nan) for d in data])
        return {"ode_times": solved["times"], "ode_data": data, "ode_model": solved["states"][..., m.field_states],
                "ode_dense_t": solved["grid"], "ode_dense": solved["dense"][..., m.field_states],
                "ode_heldout": solved["heldout"]}  # fmt: skip

    def hidden_along(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """Each hidden network's values along the first training trajectory at ``points`` (n, 1)
        of time: where the solution's fields are those of calling it on ``points``."""
        m = self.ode_model
        if not m.system.networks:
            return {}
        times = np.asarray(points, float)[:, 0]
        with jax.enable_x64(self.precision == "float64"):
            hidden = m.system.hidden_values(m.statics, self._params["hidden"], np.c_[times, self._states(0, times)])
        return {name: values for name, (_, values) in hidden.items()}

    def __repr__(self) -> str:
        found = ", ".join(f"{k}={v:.6g}" for k, v in self.unknowns.items())
        return f"ODESolution(fields={list(self.fields)}, status={self.status!r}, steps={self.steps}, unknowns={{{found}}})"


def _unusable(params, x):
    raise ProblemError("a neural ODE's fields come from solving it: call the solution, not its model")
