"""Solving the ODE with diffrax: the solver, step control and adjoint of the settings, batched over
trajectories; the regularisers that read the solver's own error estimates; and counting
vector-field evaluations (NFE).

The regularisers of Pal et al. (ICML 2021, 2023) need what diffrax does not report: the local
error estimate of every accepted step. A wrapper solver (:class:`Accumulating`) adds it up in the
solver state, as the diffrax maintainers suggest (diffrax issue #196): a rejected step's state is
discarded by diffrax, so only accepted steps count, and the sum is differentiable under
checkpointed and direct adjoints.
"""

from __future__ import annotations

import functools

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .settings import ODE

SOLVERS = {
    "tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8, "bosh3": diffrax.Bosh3,
    "heun": diffrax.Heun, "midpoint": diffrax.Midpoint, "ralston": diffrax.Ralston, "euler": diffrax.Euler,
    "kvaerno3": diffrax.Kvaerno3, "kvaerno4": diffrax.Kvaerno4, "kvaerno5": diffrax.Kvaerno5,
    "kencarp3": diffrax.KenCarp3, "kencarp4": diffrax.KenCarp4, "kencarp5": diffrax.KenCarp5,
    "implicit_euler": diffrax.ImplicitEuler,
}  # fmt: skip
ADJOINTS = {"recursive": diffrax.RecursiveCheckpointAdjoint, "backsolve": diffrax.BacksolveAdjoint,
            "direct": diffrax.DirectAdjoint}  # fmt: skip
FAILED, STIFF, DIVERGED = 1, 2, 3  # a solve's outcome besides success (0)


def _rms_ratio(err, y0, y1, rtol: float, atol: float):
    """The step controller's measure of a local error: RMS of err / (atol + rtol·max(|y0|, |y1|))."""
    return _safe_norm(err / (atol + rtol * jnp.maximum(jnp.abs(y0), jnp.abs(y1)))) / jnp.sqrt(err.size)


def _safe_norm(x):
    """‖x‖ with a finite gradient at 0 (a step whose error estimate is exactly 0 happens)."""
    return jnp.sqrt(jnp.sum(x**2) + jnp.finfo(x.dtype).tiny)


class Accumulating(diffrax.AbstractAdaptiveSolver, diffrax.AbstractWrappedSolver):
    """Wraps a solver and adds up, over accepted steps, the step size times either the scaled
    local error estimate (``kind = "error"``: Pal et al.'s R_E) or a stiffness estimate (``kind =
    "stiffness"``: ‖f(t1, y1) - f(t1, ŷ1)‖ / ‖y1 - ŷ1‖ between the solution and its embedded
    lower-order twin, an estimate of the largest eigenvalue along that direction; two more
    evaluations per step)."""

    solver: diffrax.AbstractSolver
    kind: str = eqx.field(static=True)
    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)

    @property
    def term_structure(self):
        return self.solver.term_structure

    @property
    def interpolation_cls(self):  # pyright: ignore
        return self.solver.interpolation_cls

    @property
    def term_compatible_contr_kwargs(self):
        return self.solver.term_compatible_contr_kwargs

    @property
    def scan_kind(self):  # read by diffrax's adjoints from what passes isinstance(AbstractRungeKutta)
        return getattr(self.solver, "scan_kind", None)

    def order(self, terms):
        return self.solver.order(terms)

    def strong_order(self, terms):
        return self.solver.strong_order(terms)

    def error_order(self, terms):
        return self.solver.error_order(terms)

    def init(self, terms, t0, t1, y0, args):
        return self.solver.init(terms, t0, t1, y0, args), jnp.zeros((), y0.dtype)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        inner, total = solver_state
        y1, err, dense, inner, result = self.solver.step(terms, t0, t1, y0, args, inner, made_jump)
        if self.kind == "error":
            size = _rms_ratio(err, y0, y1, self.rtol, self.atol)
        else:
            gap = self.solver.func(terms, t1, y1, args) - self.solver.func(terms, t1, y1 - err, args)
            size = _safe_norm(gap) / _safe_norm(err)
        return y1, err, dense, (inner, total + size * jnp.abs(t1 - t0)), result

    def func(self, terms, t0, y0, args):
        return self.solver.func(terms, t0, y0, args)


class Integrator:
    """The solver, step controller and adjoint of ``ode`` for vector field ``f(t, y, args)``."""

    def __init__(self, f, ode: ODE, adjoint=None):
        self.f, self.ode = f, ode
        self.term = diffrax.ODETerm(f)
        base = SOLVERS[ode.integrator]()
        self.accumulates = ode.regularise in ("error", "stiffness")
        self.solver = Accumulating(base, ode.regularise, ode.rtol, ode.atol) if self.accumulates else base
        self.base = base
        self.controller = diffrax.PIDController(rtol=ode.rtol, atol=ode.atol)
        self.adjoint = adjoint if adjoint is not None else ADJOINTS[ode.adjoint]()

    def solve(self, args, t0, ts, y0):
        """One trajectory from ``y0`` at ``t0``, saved at ``ts`` (non-decreasing, >= t0): the values
        (len(ts), states), the steps taken, the outcome (0, :data:`STIFF` or :data:`DIVERGED`) and
        the accumulated regulariser (0 without one)."""
        t1 = jnp.maximum(ts[-1], t0 + 1e-9 * (1 + jnp.abs(t0)))  # a solve needs t1 > t0
        saveat = diffrax.SaveAt(ts=ts, solver_state=self.accumulates)
        sol = diffrax.diffeqsolve(self.term, self.solver, t0, t1, None, y0, args=args, saveat=saveat,
                                  stepsize_controller=self.controller, adjoint=self.adjoint,
                                  max_steps=self.ode.max_steps, throw=False)  # fmt: skip
        finite = jnp.all(jnp.isfinite(sol.ys))
        outcome = jnp.where(sol.result == diffrax.RESULTS.successful, jnp.where(finite, 0, DIVERGED),
                            jnp.where(sol.result == diffrax.RESULTS.max_steps_reached, STIFF, DIVERGED))  # fmt: skip
        extra = sol.solver_state[1] if self.accumulates else jnp.zeros((), y0.dtype)
        return sol.ys, sol.stats["num_steps"], outcome, extra

    def local_error(self, args, t, y, h):
        """Pal et al. (2023)'s local regulariser: the scaled error estimate of one step of size
        ``h`` from ``(t, y)``, times ``h``."""
        state = self.base.init(self.term, t, t + h, y, args)
        y1, err, _, _, _ = self.base.step(self.term, t, t + h, y, args, state, False)
        return _rms_ratio(err, y, y1, self.ode.rtol, self.ode.atol) * h


@functools.lru_cache(maxsize=32)
def evaluations_per_step(integrator: str, regularise: str = "none") -> tuple[float, float]:
    """``(at start, per step)``: vector-field evaluations of one solve with ``integrator`` (and
    ``regularise``), counted on a test equation (exact for explicit solvers, whose counts do not
    depend on the equation; for implicit ones the Newton iterations vary, and the figures are
    those of the test)."""
    counts = []
    for rtol in (1e-4, 1e-8):
        ode = ODE(integrator=integrator, rtol=rtol, atol=rtol, regularise=regularise)
        n, steps = count_forward(lambda t, y, a: -y + jnp.sin(t), ode, (), 0.0, jnp.linspace(0.0, 5.0, 3), jnp.ones(2))
        counts.append((n, steps))
    (n1, s1), (n2, s2) = counts
    per_step = (n2 - n1) / (s2 - s1) if s2 != s1 else n1 / max(s1, 1)
    return n1 - per_step * s1, per_step


def count_forward(f, ode: ODE, args, t0, ts, y0) -> tuple[int, int]:
    """Vector-field evaluations and steps of one solve of ``f`` (counted as they happen)."""
    box = [0]

    def counted(t, y, a):
        jax.debug.callback(lambda: box.__setitem__(0, box[0] + 1))
        return f(t, y, a)

    _, steps, _, _ = jax.jit(Integrator(counted, ode).solve)(args, t0, ts, y0)
    steps = int(steps)
    jax.effects_barrier()
    return box[0], steps


class GradientCount:
    """Vector-field evaluations in one gradient of a loss on one solve of ``f`` from ``t0``, saved
    at ``ts``, counted as they happen. Calling it with ``(args, y0)`` gives ``evaluations`` (the
    forward pass and recomputed steps), ``vjps`` (vector-Jacobian products) and the ``steps`` of
    the solve. :meth:`compile` compiles it ahead for arguments of that structure (seconds of
    work, which can overlap training: see ``train.PreparedCount``)."""

    def __init__(self, f, ode: ODE, t0, ts):
        self.box = {"evaluations": 0, "vjps": 0}

        def bump(key):
            jax.debug.callback(lambda: self.box.__setitem__(key, self.box[key] + 1))

        @jax.custom_vjp
        def counted(t, y, a):
            bump("evaluations")
            return f(t, y, a)

        def forward(t, y, a):
            bump("evaluations")
            return f(t, y, a), (t, y, a)

        def backward(saved, cotangent):
            bump("vjps")
            return jax.vjp(f, *saved)[1](cotangent)

        counted.defvjp(forward, backward)
        integrator = Integrator(counted, ode)

        def loss(a, y):
            ys, steps, _, extra = integrator.solve(a, t0, ts, y)
            return jnp.sum(ys**2) + extra, steps

        self.program = jax.jit(jax.grad(loss, argnums=(0, 1), has_aux=True))

    def compile(self, args, y0) -> GradientCount:
        """Compile for arguments of the structure of ``(args, y0)``; later calls run that program."""
        self.program = self.program.lower(args, y0).compile()
        return self

    def __call__(self, args, y0) -> dict:
        self.box.update(evaluations=0, vjps=0)
        _, steps = jax.block_until_ready(self.program(args, y0))
        jax.effects_barrier()
        return {**self.box, "steps": int(steps)}

