"""Eigenproblems: the lowest states, one after another, each orthogonal to those below it.

State n is a network ψ_n through the trial function (exact Dirichlet values) with its own
trainable eigenvalue E_n = s·θ_n. Orthogonality is exact: the state is projected off the lower
states, ψ̃_n = ψ_n − Σ_k c_k φ_k with c_k = <ψ_n, φ_k> by quadrature, so no penalty can trade it
against the energy. Adam phases minimise the energy, the Rayleigh quotient <ψ̃, Aψ̃>/<ψ̃, Bψ̃>
(with the normalisation ∫ψ̃² = 1), which by the variational principle finds the lowest state left;
meanwhile E_n follows the quotient. Quasi-Newton phases then solve the equation itself,
``Aψ̃ = E Bψ̃``, to high accuracy, with E_n trainable. The eigenvalue reported is the Rayleigh
quotient of the final state.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from ...loss.terms import make_terms, sample_data, term_names
from ...ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from ...ops.derivatives import derivatives
from ...ops.point import Point
from ...pinn.model import build_model
from ...pinn.settings import dtype_of
from ...problem.problem import Problem
from ...train.fit import FitResult, Schedule, carry_template, fit
from .metrics import METRIC_KEYS, eigen_metrics
from .quadrature import quadrature
from .solution import EigenSolution

EXTRA_TERMS = ("energy (Rayleigh quotient)", "eigenvalue tracking")


def solve_eigen(problem: Problem, settings: dict, *, derivatives: str, callback, checkpoint, resume,
                log_every: int) -> EigenSolution:  # fmt: skip
    """Train ``problem.eigen.states`` states in turn; see :func:`neuralsolve.solve`."""
    phases, precision = settings["phases"], settings["precision"]
    spans, began = [], time.perf_counter()
    with jax.enable_x64(precision == "float64"):
        setup = Setup(problem, settings, derivatives)
        masks = [_mask(problem, phase.fixed_loss) for phase in phases]
        schedule = Schedule(log_every, settings["weighting"], settings["redraw"])
        total = sum(p.steps for p in phases)
        params, fits = [], []
        for n in range(problem.eigen.states):
            start, sampler = setup.state(n, params)
            spans.append(("setup", began, time.perf_counter()))
            began = time.perf_counter()
            result = fit(setup.terms, start, sampler, phases, weights=setup.weights, masks=masks,
                         schedule=schedule, callback=_for_state(callback, n, total),
                         checkpoint=None if checkpoint is None else checkpoint.for_state(n),
                         resume=resume, reference=_reference(problem))  # fmt: skip
            spans += [("training", began, time.perf_counter())] + [("steps", *c) for c in result.chunks]
            began = time.perf_counter()
            params.append(result.params)
            fits.append(result)
            if result.status != "ok":
                break
        sol = setup.solution(params, fits)
        spans.append(("setup", began, time.perf_counter()))
        began = time.perf_counter()
        sol.metrics = eigen_metrics(problem, sol, settings["seed"], derivatives)  # with the reference
        sol.spans = spans + [("metrics", began, time.perf_counter())]
    return sol


class Setup:
    """What every state shares: one network structure, one compiled loss, the quadrature.

    The finished lower states enter the loss as data (their parameters and combination matrix,
    padded to ``states - 1`` slots), so all states run the same compiled steps.
    """

    def __init__(self, problem: Problem, settings: dict, method: str):
        self.problem, self.settings = problem, settings
        self.dtype = dtype_of(settings)
        self.quad_x, self.quad_w = (jnp.asarray(a, self.dtype) for a in quadrature(problem))
        self.model, _ = build_model(problem, settings["network"], self.dtype, settings["seed"])
        self.nets = [build_model(problem, settings["network"], self.dtype, settings["seed"] + n)[1]
                     for n in range(problem.eigen.states)]  # fmt: skip
        self.terms, self.rayleigh = _state_terms(problem, self.model, self.quad_x, self.quad_w, method)
        self.weights = jnp.asarray([1.0] + [p.weight for p in problem.penalties] + [1.0] * len(EXTRA_TERMS), self.dtype)
        self.scales: dict[int, float] = {}  # each state's eigenvalue scale, set by state()

    def state(self, n: int, lower: list) -> tuple[dict, object]:
        """Initial parameters of state ``n`` and its sampler, given the finished ``lower`` states."""
        problem, points, seed = self.problem, self.settings["points"], self.settings["seed"]
        fixed = {"lower": self.lower(lower), "scale": jnp.ones((), self.dtype)}
        # E = scale·θ: Adam moves θ by about its learning rate per step, so E can follow the
        # energy from the start, whatever the problem's units
        energy = float(self.rayleigh({"net": self.nets[n], "theta": jnp.zeros((), self.dtype)}, fixed))
        self.scales[n] = max(1.0, abs(energy))
        fixed["scale"] = jnp.asarray(self.scales[n], self.dtype)
        start = {"net": self.nets[n], "theta": jnp.asarray(energy, self.dtype) / fixed["scale"]}

        def sampler(draw):
            data = sample_data(problem, points, seed + 1000003 * draw)
            return {**jax.tree_util.tree_map(lambda a: jnp.asarray(a, self.dtype), data), **fixed}

        return start, sampler

    def lower(self, finished: list) -> dict:
        """The finished states as loss data: networks, combination matrix and which slots are used."""
        slots = self.problem.eigen.states - 1
        n = len(finished)
        nets = [p["net"] for p in finished] + self.nets[n : n + 1] * (slots - n)
        T = jnp.zeros((slots, slots), self.dtype)
        if n:
            T = T.at[:n, :n].set(orthogonal_rows(self.raw(finished), self.quad_w, self.problem.eigen.normalize))
        return {"nets": [{"net": q} for q in nets], "T": T, "active": jnp.arange(slots) < n}

    def raw(self, params: list):
        """The states' networks (through the trial function) at the quadrature nodes: (k, nodes)."""
        return jnp.stack([jax.vmap(lambda y, p=p: self.model(p["net"], y)[0])(self.quad_x) for p in params])

    def solution(self, params: list, fits: list) -> EigenSolution:
        """One solution of the states found (``state(n)`` was called for each).

        Each eigenvalue is the Rayleigh quotient of its final state rather than the trained
        parameter E_n: the quotient's error is quadratic in the state's error (the parameter's is
        linear), which on the oscillator makes it 10 to 1000 times more accurate.
        """
        T = orthogonal_rows(self.raw(params), self.quad_w, self.problem.eigen.normalize)
        eigenvalues = [float(self.rayleigh(p, {"lower": self.lower(params[:n]), "scale": jnp.asarray(self.scales[n], self.dtype)}))
                       for n, p in enumerate(params)]  # fmt: skip
        names = term_names(self.problem) + list(EXTRA_TERMS)
        return EigenSolution.build(self.problem, self.model, params, T, eigenvalues, fits,
                                   self.settings["precision"], names)  # fmt: skip


def _mask(problem: Problem, fixed_loss: bool) -> list[float]:
    """Adam (variational) phases: energy, conditions and eigenvalue tracking; quasi-Newton
    phases: the equation and conditions."""
    conditions = [1.0] * len(problem.penalties)
    if fixed_loss:
        return [1.0, *conditions, 0.0, 0.0]
    return [0.0, *conditions, 1.0, 1.0]


def _reference(problem: Problem) -> list[float]:
    """The terms that play the residual's part in learning-rate annealing: the equation (in
    quasi-Newton phases) and the energy and eigenvalue tracking (in Adam phases)."""
    return [1.0] + [0.0] * len(problem.penalties) + [1.0] * len(EXTRA_TERMS)


def _state_terms(problem: Problem, model, quad_x, quad_w, method: str):
    """``terms(params, data)`` of a state, and its Rayleigh quotient ``rayleigh(params, data)``."""
    symbol, normalize = problem.eigen.symbol, problem.eigen.normalize

    def projected(p, data):
        """The state projected off the lower ones and normalised (a function of a point), and
        its values at the quadrature nodes."""
        lower = data["lower"]
        u = jax.vmap(lambda y: model(p["net"], y)[0])(quad_x)
        if lower["nets"]:
            raw = jnp.stack([jax.vmap(lambda y, q=q: model(q["net"], y)[0])(quad_x) for q in lower["nets"]])
            phi = lower["T"] @ raw
            size = jnp.sum(quad_w * phi**2, axis=1)
            c = jnp.where(lower["active"], (phi @ (quad_w * u)) / jnp.where(lower["active"], size, 1.0), 0.0)
            u = u - c @ phi
        # dividing by the norm makes ∫ψ² = 1 exact: ψ = 0 can never be a minimum of the loss
        norm = jnp.sqrt(jnp.sum(quad_w * u**2)) if normalize else jnp.ones((), u.dtype)

        def state(q, y):
            value = model(q["net"], y)
            if lower["nets"]:
                values = jnp.stack([model(r["net"], y)[0] for r in lower["nets"]])
                value = value - jnp.reshape(c @ (lower["T"] @ values), (1,))
            return value / norm

        return state, u / norm

    def energy(p, data):
        state, u = projected(p, data)
        a, a_minus_b = _pencil_parts(problem, state, p, quad_x, method)
        b = a - a_minus_b
        return jnp.sum(quad_w * u * a) / jnp.sum(quad_w * u * b)

    def terms(p, data):
        state, u = projected(p, data)
        scale = data["scale"]
        E = scale * p["theta"]
        base = make_terms(problem, state, method, {symbol: E})(p, data)
        R = energy(p, data)
        track = (E - jax.lax.stop_gradient(R)) ** 2 / scale**2
        return jnp.concatenate([base, jnp.stack([R / scale, track])])

    return terms, jax.jit(energy)


def _pencil_parts(problem: Problem, state, p, x, method: str):
    """The residual at points ``x`` with the eigenvalue set to 0 and to 1 (Aψ and (A − B)ψ, up
    to one sign), from one derivative pass per point."""
    equation = problem.equations[0]
    coords, fields = problem.domain.coords, problem.fields

    def one(y):
        values = derivatives(lambda z: state(p, z), y, equation.needed, method)
        return tuple(equation.residual(Point(coords, fields, y, values, unknowns={problem.eigen.symbol: e}))
                     for e in (0.0, 1.0))  # fmt: skip

    return jax.vmap(one)(x)


def orthogonal_rows(raw, quad_w, normalize: bool):
    """Gram–Schmidt in order on the states' raw values at the quadrature nodes: the matrix T
    with rows φ_n = Σ_j T[n, j] ψ_j, each orthogonal to those before it (normalised if asked),
    with a deterministic sign (positive where it first exceeds half its largest magnitude)."""
    k = raw.shape[0]
    T = jnp.zeros((k, k), raw.dtype)
    for n in range(k):
        row = jnp.zeros(k, raw.dtype).at[n].set(1.0)
        for j in range(n):
            phi = T[j] @ raw
            row = row - (jnp.sum(quad_w * raw[n] * phi) / jnp.sum(quad_w * phi**2)) * T[j]
        phi = row @ raw
        if normalize:
            row = row / jnp.sqrt(jnp.sum(quad_w * phi**2))
        first = jnp.argmax(jnp.abs(phi) > 0.5 * jnp.max(jnp.abs(phi)))
        T = T.at[n].set(row * jnp.where(phi[first] < 0, -1.0, 1.0))
    return T


def _for_state(callback, n: int, total: int):
    if callback is None:
        return None

    def relay(record):
        callback({**record, "state": n, "phase": f"ψ{n} {record['phase']}", "step": n * total + record["step"]})

    return relay


def reopen(problem: Problem, settings: dict, checkpoint, saved: dict) -> EigenSolution:
    """The states saved in a run directory's checkpoints (``checkpoint.for_state(n)``), as a solution."""
    phases = settings["phases"]
    with jax.enable_x64(settings["precision"] == "float64"):
        setup = Setup(problem, settings, DEFAULT_DERIVATIVES)
        params, fits = [], []
        for n in range(problem.eigen.states):
            saved_state = checkpoint.for_state(n)
            if not saved_state.exists():
                break
            start, _ = setup.state(n, params)
            state = saved_state.load(lambda k, start=start: carry_template(phases[k], start, len(setup.weights)))
            params.append(state.carry[3])
            fits.append(FitResult(state.carry[3], state.history, state.phases, "ok"))
        if not params:
            return None
        sol = setup.solution(params, fits)
        sol.status = saved.get("status", "interrupted")
        sol.message = saved.get("message", "reopened from the checkpoints of an unfinished solve")
        sol.metrics = {k: v for k, v in saved.items() if k in METRIC_KEYS} if saved else \
            eigen_metrics(problem, sol, settings["seed"], DEFAULT_DERIVATIVES)  # fmt: skip
    return sol
