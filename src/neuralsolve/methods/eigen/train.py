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

import functools
import time

import jax
import jax.numpy as jnp

from ...loss.terms import interior_loss, sample_data, term_names
from ...ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from ...ops.derivatives import at_points
from ...ops.point import Point
from ...pinn.model import build_model
from ...pinn.settings import dtype_of
from ...problem.problem import Problem
from ...train.fit import FitResult, Schedule, carry_template, fit
from .metrics import METRIC_KEYS, eigen_metrics
from .quadrature import quadrature, rayleigh_quotient
from .solution import EigenSolution
from .start import best_start

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
        spans.append(("setup", began, time.perf_counter()))
        began = time.perf_counter()
        for n in range(problem.eigen.states):
            start, sampler = setup.state(n, params)  # the best of its start candidates (eigen/start.py)
            spans.append(("start", began, time.perf_counter()))
            began = time.perf_counter()
            # each kind of phase computes only the terms it minimises (see _state_terms)
            result = fit(setup.terms["variational"], start, sampler, phases, weights=setup.weights, masks=masks,
                         fixed_terms=setup.terms["equation"],
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

    The finished lower states are fixed while a state trains: they enter the loss as data, their
    values and derivatives at the quadrature nodes and collocation points computed once per state
    (padded to ``states - 1`` slots), so all states run the same compiled steps and a step
    evaluates one network only.
    """

    def __init__(self, problem: Problem, settings: dict, method: str):
        self.problem, self.settings = problem, settings
        self.dtype = dtype_of(settings)
        self.quad_x, self.quad_w = (jnp.asarray(a, self.dtype) for a in quadrature(problem))
        self.model, _ = build_model(problem, settings["network"], self.dtype, settings["seed"])
        self.nets = [build_model(problem, settings["network"], self.dtype, settings["seed"] + n)[1]
                     for n in range(problem.eigen.states)]  # fmt: skip
        self.method, self.needed = method, problem.equations[0].needed
        self.terms, self.rayleigh = _state_terms(problem, self.model, self.quad_x, self.quad_w, method)
        self.weights = jnp.asarray([1.0] + [p.weight for p in problem.penalties] + [1.0] * len(EXTRA_TERMS), self.dtype)
        self.scales: dict[int, float] = {}  # each state's eigenvalue scale, set by state()

    def state(self, n: int, lower: list, search: bool = True) -> tuple[dict, object]:
        """Initial parameters of state ``n`` and its sampler, given the finished ``lower`` states;
        with ``search``, an excited state starts from the best of several networks (:mod:`.start`)."""
        problem, points, seed = self.problem, self.settings["points"], self.settings["seed"]
        fixed = {"lower": self.lower(lower), "scale": jnp.ones((), self.dtype)}
        if search:
            self.nets[n] = best_start(self, n, lower, fixed)
        # E = scale·θ: Adam moves θ by about its learning rate per step, so E can follow the
        # energy from the start, whatever the problem's units
        energy = float(self.rayleigh({"net": self.nets[n], "theta": jnp.zeros((), self.dtype)}, fixed))
        self.scales[n] = max(1.0, abs(energy))
        fixed["scale"] = jnp.asarray(self.scales[n], self.dtype)
        start = {"net": self.nets[n], "theta": jnp.asarray(energy, self.dtype) / fixed["scale"]}
        combine = self.combination(lower)

        def sampler(draw):
            data = sample_data(problem, points, seed + 1000003 * draw)
            data = jax.tree_util.tree_map(lambda a: jnp.asarray(a, self.dtype), data)
            # the fixed lower states at this draw's points, once per draw rather than every step
            at = {"interior": self.at(lower, combine, data["interior"], self.needed),
                  "penalties": [{k: self.at(lower, combine, e[k], pen.needed) for k in ("points", "partner") if k in e}
                                for pen, e in zip(problem.penalties, data["penalties"])]}  # fmt: skip
            return {**data, **fixed, "lower": {**fixed["lower"], **at}}

        return start, sampler

    def lower(self, finished: list) -> dict:
        """The finished states as loss data, padded to ``states - 1`` slots so that every state
        runs the same compiled steps: which slots are used (``active``) and the orthogonal states
        φ_k with the derivatives the equation needs at the quadrature nodes (``quad``; the
        sampler adds them at the collocation points)."""
        slots = self.problem.eigen.states - 1
        quad = self.at(finished, self.combination(finished), self.quad_x, self.needed)
        return {"active": jnp.arange(slots) < len(finished), "quad": quad}

    def combination(self, finished: list):
        """The matrix T (``states - 1`` slots, square) of the orthogonal lower states,
        φ_k = Σ_j T[k, j] ψ_j, zero in the rows and columns of unused slots."""
        slots, n = self.problem.eigen.states - 1, len(finished)
        if not n:
            return jnp.zeros((slots, slots), self.dtype)
        return _leading(self.orthogonal(finished), n, slots)

    def at(self, finished: list, T, x, wanted) -> dict:
        """``{directions: (slots, points, fields)}``: the orthogonal lower states ``T @ ψ`` and
        their derivatives ``wanted`` at the points ``x`` (zeros in unused slots)."""
        slots, wanted = self.problem.eigen.states - 1, frozenset(wanted) | {()}
        if not finished:  # nothing to evaluate: every slot is unused
            shape = (slots, x.shape[0], len(self.problem.fields))
            return {d: jnp.zeros(shape, self.dtype) for d in wanted}
        # padded to every slot (zero columns of T), so one compiled evaluation serves every state
        return _combined_at(self.model, self._networks(finished, slots), T, x, wanted, self.method)

    def orthogonal(self, params: list):
        """:func:`orthogonal_rows` (states, states) whose first k rows are those of the k states
        ``params``, from their networks (through the trial function) at the quadrature nodes. The
        start networks of the states after them fill the other rows (Gram–Schmidt in order leaves
        the first k rows as they are, zero past column k): one compiled program for any k, not one
        per state (infinite_well, first run: 8 compilations, 2.3 s, before)."""
        nets = self._networks(params, self.problem.eigen.states)
        return orthogonal_rows(_values_at(self.model, nets, self.quad_x), self.quad_w, self.problem.eigen.normalize)

    def _networks(self, params: list, count: int) -> list:
        """The networks of the states ``params``, then the start networks of the states after them,
        ``count`` in all: a fixed number, so that one compiled program serves any number of states."""
        return [p["net"] for p in params] + self.nets[len(params) : count]

    def solution(self, params: list, fits: list) -> EigenSolution:
        """One solution of the states found (``state(n)`` was called for each).

        Each eigenvalue is the Rayleigh quotient of its final state rather than the trained
        parameter E_n: the quotient's error is quadratic in the state's error (the parameter's is
        linear), which on the oscillator makes it 10 to 1000 times more accurate.
        """
        k, T = len(params), self.orthogonal(params)
        if k < self.problem.eigen.states:  # a stopped solve: the rows and columns of the states found
            T = T[:k, :k]
        eigenvalues = [float(self.rayleigh(p, {"lower": self.lower(params[:n]), "scale": jnp.asarray(self.scales[n], self.dtype)}))
                       for n, p in enumerate(params)]  # fmt: skip
        # States train lowest first, but one that settled on a higher state (a deep, narrow well
        # can trap the variational search) leaves a lower one to a later state: list the states,
        # which are orthogonal whatever their order, by eigenvalue. Each state's fit log keeps the
        # state index it trained as.
        order = sorted(range(len(eigenvalues)), key=lambda n: eigenvalues[n])
        T, eigenvalues = T[jnp.asarray(order)], [eigenvalues[n] for n in order]
        names = term_names(self.problem) + list(EXTRA_TERMS)
        return EigenSolution.build(self.problem, self.model, params, T, eigenvalues, fits,
                                   self.settings["precision"], names)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def _combined_at(model, nets: list, T, x, wanted: frozenset, method: str) -> dict:
    """``{directions: T @ (each network's derivative at the points x)}``, (rows of T, points, fields)."""
    raw = [at_points(model, net, x, wanted, method) for net in nets]
    return {d: jnp.einsum("kj,jnm->knm", T, jnp.stack([r[d] for r in raw])) for d in wanted}


@functools.partial(jax.jit, static_argnums=2)
def _leading(T, n, size: int):
    """T's first ``n`` rows (the others zero, NaN included), cut to ``size`` × ``size``; ``n`` is
    traced: one program for every state."""
    return jnp.where((jnp.arange(size) < n)[:, None], T[:size, :size], 0)


@functools.partial(jax.jit, static_argnums=0)
def _values_at(model, nets: list, x):
    """The networks' first field at the points ``x``: (networks, points)."""
    return jnp.stack([jax.vmap(lambda y, net=net: model(net, y)[0])(x) for net in nets])


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
    """The loss terms of a state, ``terms[kind](params, data)`` for each kind of phase, and its
    Rayleigh quotient ``rayleigh(params, data)``.

    ``terms["all"]`` computes every term. Adam phases minimise the energy and quasi-Newton phases
    the equation (see ``_mask``), so ``terms["variational"]`` leaves the equation's residual
    out (0) and ``terms["equation"]`` the energy and the eigenvalue tracking: each phase computes
    and differentiates only what it minimises. The lower states are data (``Setup.lower`` and
    the sampler): their values and derivatives at the quadrature nodes and collocation points,
    computed once per state. The projection is linear, so each derivative of the projected
    state is the same combination of derivatives, and a step evaluates the state's own network
    only.
    """
    symbol, normalize = problem.eigen.symbol, problem.eigen.normalize
    equation, coords, fields = problem.equations[0], problem.domain.coords, problem.fields
    equation_loss = interior_loss(problem)

    def projected(p, data, quad_wanted):
        """``values(x, lower, wanted)``: the state projected off the lower ones and normalised,
        with its derivatives ``wanted``, at points ``x`` where the lower states are ``lower``; and
        the same at the quadrature nodes, with the derivatives ``quad_wanted``."""
        lower = data["lower"]
        raw = at_points(model, p["net"], quad_x, quad_wanted | {()}, method)
        phi = lower["quad"][()][:, :, 0]
        size = jnp.sum(quad_w * phi**2, axis=1)
        active = lower["active"]
        c = jnp.where(active, (phi @ (quad_w * raw[()][:, 0])) / jnp.where(active, size, 1.0), 0.0)
        u = raw[()][:, 0] - c @ phi
        # dividing by the norm makes ∫ψ² = 1 exact: ψ = 0 can never be a minimum of the loss
        norm = jnp.sqrt(jnp.sum(quad_w * u**2)) if normalize else jnp.ones((), u.dtype)

        def combine(own, lower_at):
            return {d: (own[d] - jnp.einsum("k,knm->nm", c, lower_at[d])) / norm for d in own}

        def values(x, lower_at, wanted):
            return combine(at_points(model, p["net"], x, wanted, method), lower_at)

        return values, combine(raw, lower["quad"])

    def quotient(quad):
        return rayleigh_quotient(problem, quad, quad_x, quad_w)

    def energy(p, data):
        return quotient(projected(p, data, equation.needed)[1])

    def residual_terms(values, data, E, with_equation: bool) -> list:
        """The equation's mean squared residual (0 unless ``with_equation``) and each penalty's,
        for the eigenvalue ``E``."""

        def point(x, v, normal=None):
            return Point(coords, fields, x, v, normal, unknowns={symbol: E})

        x, lower = data["interior"], data["lower"]
        out = [jnp.zeros((), E.dtype)]
        if with_equation:
            r = jax.vmap(lambda y, v: equation.residual(point(y, v)))(x, values(x, lower["interior"], equation.needed))
            out = list(equation_loss(jnp.reshape(r, (r.shape[0], 1)) ** 2, x, data.get("mask")))
        for pen, entry, at in zip(problem.penalties, data["penalties"], lower["penalties"]):
            v = values(entry["points"], at["points"], pen.needed)
            if pen.partner is not None:
                w = values(entry["partner"], at["partner"], pen.needed)
                fn = lambda x, v, y, w, pen=pen: pen.residual(point(x, v), point(y, w))
                rp = jax.vmap(fn)(entry["points"], v, entry["partner"], w)
            else:
                fn = lambda x, v, n, pen=pen: pen.residual(point(x, v, n))
                rp = jax.vmap(fn)(entry["points"], v, entry["normals"]) - entry["targets"]
            out.append(jnp.mean(jnp.reshape(rp, (rp.shape[0], -1)) ** 2))
        return out

    def make(with_equation: bool, with_energy: bool):
        def terms(p, data):
            values, quad = projected(p, data, equation.needed if with_energy else frozenset())
            scale = data["scale"]
            E = scale * p["theta"]
            out = residual_terms(values, data, E, with_equation)
            if not with_energy:
                return jnp.stack(out + [jnp.zeros((), E.dtype)] * len(EXTRA_TERMS))
            R = quotient(quad)
            track = (E - jax.lax.stop_gradient(R)) ** 2 / scale**2
            return jnp.stack(out + [R / scale, track])

        return terms

    kinds = {"all": make(True, True), "variational": make(False, True), "equation": make(True, False)}
    return kinds, jax.jit(energy)


@functools.partial(jax.jit, static_argnums=2)
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
            start, _ = setup.state(n, params, search=False)  # the saved parameters' structure only
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
