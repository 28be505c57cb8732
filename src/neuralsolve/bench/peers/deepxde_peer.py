"""DeepXDE peer of ``neuralsolve bench``: runs DeepXDE's published example for one benchmark problem.

    python deepxde_peer.py PROBLEM --reference REF.npz --out RESULT.json [--steps N] [--seed S]
                           [--time-budget SECONDS]

REF.npz holds ``points`` (n, d) and ``values`` (n,) or (n, fields): the reference solution that
neuralsolve is measured against. The trained network is evaluated on those points and RESULT.json
gets its relative L2 error, the wall time (everything after the imports) and Adam's steps per second.
For an inverse problem REF.npz also holds the observations to train on (``observe_t``,
``observe_y``, as DeepXDE's example reads them from its ``Lorenz.npz``), and RESULT.json gets the
estimated constants (``unknowns``).
``--steps N`` caps every optimiser phase (Adam iterations and L-BFGS's ``maxiter``) for smoke tests.
``--time-budget SECONDS`` stops training (Adam, then L-BFGS) once it has run that long; the network
is evaluated as it was when it stopped (see ``TimeBudget`` and ``time_cap``).

It runs in its own interpreter (DeepXDE with the PyTorch backend, ``pip install 'neuralsolve[bench]'``)
and never imports neuralsolve. The settings below are those of DeepXDE's example scripts
(``examples/pinn_forward/*.py`` and ``examples/pinn_inverse/*.py`` in the DeepXDE repository);
where the example cannot run unchanged on the PyTorch backend, or there is no example, the
docstring of the setup says what differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace

os.environ.setdefault("DDE_BACKEND", "pytorch")
QUIET = 10**9  # display_every: no test-set evaluations inside the timed training
LBFGS_CHUNK = 50  # most L-BFGS iterations per torch call under a time budget: the clock is read between calls
LBFGS_COST = 1.5  # first guess of an L-BFGS iteration's cost in Adam steps (line searches evaluate more often)


class TimeBudget:
    """A wall-clock budget for training; pure Python (no DeepXDE) so that it can be tested on its own.

    ``seconds=None`` is no budget: nothing is ever exhausted and every chunk is full size.
    """

    def __init__(self, seconds: float | None, start: float | None = None):
        self.seconds = seconds
        self.start = time.perf_counter() if start is None else start

    def left(self, now: float | None = None) -> float:
        """Seconds left (negative once overrun; infinite without a budget)."""
        if self.seconds is None:
            return float("inf")
        return self.start + self.seconds - (time.perf_counter() if now is None else now)

    def exhausted(self, now: float | None = None) -> bool:
        """True once the budget is spent."""
        return self.left(now) <= 0

    def lbfgs_chunk(self, per_iteration_s: float | None, largest: int, now: float | None = None) -> int:
        """Iterations of the next L-BFGS call that fit into the time left, at most ``largest``.

        DeepXDE reads the clock (its callbacks) only between torch L-BFGS calls, so the size of the
        next call is what bounds the overrun. With no estimate of an iteration's cost yet, a call of
        two iterations (the fewest that DeepXDE does not take for convergence) measures it.
        """
        left = self.left(now)
        if left <= 0:
            return 0
        if left == float("inf"):
            return largest
        if per_iteration_s is None or per_iteration_s <= 0:
            return min(2, largest)
        fits = min(largest, int(left / per_iteration_s))
        # a one-iteration call would end DeepXDE's loop as "converged": stop instead, unless the cap is 1
        return fits if fits >= min(2, largest) else 0


@dataclass
class Plan:
    """How an example trains: Adam (optionally with decay and weights), then L-BFGS or not."""

    example: str
    adam: int
    learning_rate: float = 1e-3
    decay: tuple | None = None
    lbfgs: bool = True
    loss_weights: str | None = None  # "initial": 5 / initial losses, as wave_1d.py
    resample_every: int | None = None
    notes: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)  # inverse: the unknown constants (dde.Variable) by name

    def record(self) -> dict:
        """The settings as JSON-ready data (the variables by name: tensors are not JSON)."""
        return {**asdict(replace(self, variables={})), "variables": list(self.variables)}

    def compile_args(self) -> dict:
        """What every ``model.compile`` of this plan gets besides the optimiser: the constants to train."""
        variables = list(self.variables.values())
        return {"external_trainable_variables": variables} if variables else {}


def fnn(dde, hidden, activation="tanh", init="Glorot uniform"):
    return dde.nn.FNN([2] + hidden + [1], activation, init)


def burgers(dde, torch, np):
    """examples/pinn_forward/Burgers.py."""

    def pde(x, y):
        u_x, u_t = dde.grad.jacobian(y, x, i=0, j=0), dde.grad.jacobian(y, x, i=0, j=1)
        return u_t + y * u_x - 0.01 / np.pi * dde.grad.hessian(y, x, i=0, j=0)

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 0.99))
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on)
    ic = dde.icbc.IC(geom, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on: on)
    data = dde.data.TimePDE(geom, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    return data, fnn(dde, [20] * 3, init="Glorot normal"), Plan("Burgers.py", adam=15000)


def allen_cahn(dde, torch, np):
    """examples/pinn_forward/Allen_Cahn.py (initial and boundary values in the output transform)."""

    def pde(x, y):
        u_t, u_xx = dde.grad.jacobian(y, x, i=0, j=1), dde.grad.hessian(y, x, i=0, j=0)
        return u_t - 0.001 * u_xx - 5 * (y - y**3)

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    data = dde.data.TimePDE(geom, pde, [], num_domain=8000, num_boundary=400, num_initial=800)
    net = fnn(dde, [20] * 3, init="Glorot normal")
    net.apply_output_transform(lambda x, y: x[:, 0:1] ** 2 * torch.cos(np.pi * x[:, 0:1])
                               + x[:, 1:2] * (1 - x[:, 0:1] ** 2) * y)  # fmt: skip
    return data, net, Plan("Allen_Cahn.py", adam=40000)


def poisson_2d(dde, torch, np):
    """No DeepXDE example has this problem: the unit square with the settings of Poisson_Lshape.py."""

    def pde(x, y):
        lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
        return -lap - 2 * np.pi**2 * torch.sin(np.pi * x[:, 0:1]) * torch.sin(np.pi * x[:, 1:2])

    geom = dde.geometry.Rectangle([0, 0], [1, 1])
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on)
    data = dde.data.PDE(geom, pde, bc, num_domain=1200, num_boundary=120)
    plan = Plan(
        "Poisson_Lshape.py (settings only)",
        adam=50000,
        notes=["problem on the unit square with an exact solution; network, points and steps of Poisson_Lshape.py"],
    )
    return data, fnn(dde, [50] * 4), plan


def helmholtz_2d(dde, torch, np):
    """Helmholtz_Dirichlet_2d.py's settings (3 x 150 sin network, 10 points per wavelength, hard
    boundary values, 5000 Adam steps) on neuralsolve's problem: [-1, 1]^2, k = 1, u = sin(pi x) sin(4 pi y)."""

    def pde(x, y):
        lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
        q = (1 - 17 * np.pi**2) * torch.sin(np.pi * x[:, 0:1]) * torch.sin(4 * np.pi * x[:, 1:2])
        return lap + y - q

    nx = int(2 / (0.5 / 10))  # side 2, shortest wavelength 0.5, 10 points per wavelength: 40
    geom = dde.geometry.Rectangle([-1, -1], [1, 1])
    data = dde.data.PDE(geom, pde, [], num_domain=nx**2, num_boundary=4 * nx)
    net = fnn(dde, [150] * 3, activation="sin")
    net.apply_output_transform(lambda x, y: (1 - x[:, 0:1] ** 2) * (1 - x[:, 1:2] ** 2) * y)
    plan = Plan(
        "Helmholtz_Dirichlet_2d.py (settings)",
        adam=5000,
        lbfgs=False,
        notes=["its problem is sin(4 pi x) sin(4 pi y) on the unit square; here neuralsolve's problem"],
    )
    return data, net, plan


def convection(dde, torch, np, beta=30):
    """No DeepXDE example: a plain PINN set up like Burgers.py, with a periodic condition in x."""

    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) + beta * dde.grad.jacobian(y, x, i=0, j=0)

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0, 2 * np.pi), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.PeriodicBC(geom, 0, lambda _, on: on)
    ic = dde.icbc.IC(geom, lambda x: np.sin(x[:, 0:1]), lambda _, on: on)
    data = dde.data.TimePDE(geom, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    plan = Plan("Burgers.py (settings only)", adam=15000, notes=["no DeepXDE example; Burgers.py's settings"])
    return data, fnn(dde, [20] * 3, init="Glorot normal"), plan


def convection_50(dde, torch, np):
    """The same at beta = 50."""
    return convection(dde, torch, np, beta=50)


def allen_cahn_periodic(dde, torch, np):
    """No DeepXDE example of this form: Allen_Cahn.py's network, points and steps, the initial
    values in the output transform as there, periodic values and slopes in x."""

    def pde(x, y):
        u_t, u_xx = dde.grad.jacobian(y, x, i=0, j=1), dde.grad.hessian(y, x, i=0, j=0)
        return u_t - 1e-4 * u_xx - 5 * (y - y**3)

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    periodic = [dde.icbc.PeriodicBC(geom, 0, lambda _, on: on, derivative_order=k) for k in (0, 1)]
    data = dde.data.TimePDE(geom, pde, periodic, num_domain=8000, num_boundary=400, num_initial=800)
    net = fnn(dde, [20] * 3, init="Glorot normal")
    net.apply_output_transform(lambda x, y: x[:, 0:1] ** 2 * torch.cos(np.pi * x[:, 0:1]) + x[:, 1:2] * y)
    plan = Plan("Allen_Cahn.py (settings only)", adam=40000,
                notes=["no DeepXDE example of the periodic form; Allen_Cahn.py's settings"])  # fmt: skip
    return data, net, plan


def wave(dde, torch, np):
    """examples/pinn_forward/wave_1d.py, with a plain FNN: its spatio-temporal multi-scale Fourier
    network (STMsFFN) exists only in DeepXDE's TensorFlow and Paddle backends."""

    def pde(x, y):
        return dde.grad.hessian(y, x, i=1, j=1) - 100 * dde.grad.hessian(y, x, i=0, j=0)

    def exact(x):
        return np.sin(np.pi * x[:, 0:1]) * np.cos(10 * np.pi * x[:, 1:2]) + np.sin(2 * np.pi * x[:, 0:1]) * np.cos(
            20 * np.pi * x[:, 1:2]
        )

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geom, exact, lambda _, on: on)
    ic = dde.icbc.IC(geom, exact, lambda _, on: on)
    rate = dde.icbc.OperatorBC(geom, lambda x, y, _: dde.grad.jacobian(y, x, i=0, j=1),
                               lambda x, _: dde.utils.isclose(x[1], 0))  # fmt: skip
    data = dde.data.TimePDE(geom, pde, [bc, ic, rate], num_domain=360, num_boundary=360, num_initial=360)
    net = fnn(dde, [100] * 3)
    scale = float(2 * np.sqrt(3))
    net.apply_feature_transform(lambda x: (x - 0.5) * scale)
    plan = Plan(
        "wave_1d.py",
        adam=10000,
        decay=("inverse time", 2000, 0.9),
        lbfgs=False,
        loss_weights="initial",
        resample_every=1,
        notes=["FNN [100]*3 in place of STMsFFN (not in DeepXDE's PyTorch backend)"],
    )
    return data, net, plan


def klein_gordon(dde, torch, np):
    """examples/pinn_forward/Klein_Gordon.py."""

    def pde(x, y):
        xs, t = x[:, 0:1], x[:, 1:2]
        u_tt, u_xx = dde.grad.hessian(y, x, i=1, j=1), dde.grad.hessian(y, x, i=0, j=0)
        return u_tt - u_xx + y**2 + xs * torch.cos(t) - xs**2 * torch.cos(t) ** 2

    def exact(x):
        return x[:, 0:1] * np.cos(x[:, 1:2])

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 10))
    bc = dde.icbc.DirichletBC(geom, exact, lambda _, on: on)
    ic = dde.icbc.IC(geom, exact, lambda _, on: on)
    rate = dde.icbc.OperatorBC(geom, lambda x, y, _: dde.grad.jacobian(y, x, i=0, j=1), lambda _, on: on)
    data = dde.data.TimePDE(geom, pde, [bc, ic, rate], num_domain=30000, num_boundary=1500, num_initial=1500)
    return data, fnn(dde, [40] * 2), Plan("Klein_Gordon.py", adam=20000, decay=("inverse time", 3000, 0.9))


def diffusion_reaction(dde, torch, np):
    """examples/pinn_forward/diffusion_reaction.py (boundary and initial values in the output transform)."""

    def modes(x, sin):
        return sin(x) + sin(2 * x) / 2 + sin(3 * x) / 3 + sin(4 * x) / 4 + sin(8 * x) / 8

    def pde(x, y):
        xs, t = x[:, 0:1], x[:, 1:2]
        u_t, u_xx = dde.grad.jacobian(y, x, i=0, j=1), dde.grad.hessian(y, x, i=0, j=0)
        s = torch.sin
        return (
            u_t
            - u_xx
            - torch.exp(-t) * (3 * s(2 * xs) / 2 + 8 * s(3 * xs) / 3 + 15 * s(4 * xs) / 4 + 63 * s(8 * xs) / 8)
        )

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-np.pi, np.pi), dde.geometry.TimeDomain(0, 1))
    data = dde.data.TimePDE(geom, pde, [], num_domain=320)
    net = fnn(dde, [30] * 6)
    net.apply_output_transform(lambda x, y: x[:, 1:2] * (np.pi**2 - x[:, 0:1] ** 2) * y + modes(x[:, 0:1], torch.sin))
    return data, net, Plan("diffusion_reaction.py", adam=20000, lbfgs=False)


def constant(value):
    """The value function ``lambda X: value`` of a DeepXDE condition, for each value of a loop."""
    return lambda _: value


def lorenz_inverse(dde, torch, np, observe_t, observe_y):
    """examples/pinn_inverse/Lorenz_inverse.py as in DeepXDE 1.15.0 (20000 Adam steps, then L-BFGS;
    later versions run 60000 Adam steps and no L-BFGS), on neuralsolve's observations."""
    c1, c2, c3 = (dde.Variable(1.0) for _ in range(3))

    def system(x, y):
        y1, y2, y3 = y[:, 0:1], y[:, 1:2], y[:, 2:]
        return [dde.grad.jacobian(y, x, i=0) - c1 * (y2 - y1), dde.grad.jacobian(y, x, i=1) - y1 * (c2 - y3) + y2,
                dde.grad.jacobian(y, x, i=2) - y1 * y2 + c3 * y3]  # fmt: skip

    geom = dde.geometry.TimeDomain(0, 3)
    # one-argument value functions: DeepXDE reads a second argument as its auxiliary variables
    start = [dde.icbc.IC(geom, constant(v), lambda _, on: on, component=i) for i, v in enumerate((-8, 7, 27))]
    observed = [dde.icbc.PointSetBC(observe_t, observe_y[:, i : i + 1], component=i) for i in range(3)]
    data = dde.data.PDE(geom, system, start + observed, num_domain=400, num_boundary=2, anchors=observe_t)
    net = dde.nn.FNN([1] + [40] * 3 + [3], "tanh", "Glorot uniform")
    plan = Plan("Lorenz_inverse.py (DeepXDE 1.15.0)", adam=20000, variables={"C1": c1, "C2": c2, "C3": c3},
                notes=["observations made by neuralsolve (SciPy), not DeepXDE's Lorenz.npz"])  # fmt: skip
    return data, net, plan


SETUPS = {f.__name__: f for f in (burgers, allen_cahn, allen_cahn_periodic, poisson_2d, helmholtz_2d, convection,
                                  convection_50, wave, klein_gordon, diffusion_reaction)}  # fmt: skip
# the inverse benchmarks: one problem at three noise levels, the observations given in REF.npz
SETUPS["burgers_quick"] = burgers  # neuralsolve's quick recipe for the same problem: the same peer
SETUPS.update(dict.fromkeys(("lorenz_inverse", "lorenz_inverse_noise0", "lorenz_inverse_noise5"), lorenz_inverse))


def step_clock(dde):
    """A callback timing Adam from the end of its first step to the end of its last, so that the
    one-off start-up of the first step is not counted (as neuralsolve's rate leaves out compilation)."""

    class StepClock(dde.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_end(self):
            self.times.append(time.perf_counter())

        def rate(self):
            if len(self.times) < 2:
                return None
            return (len(self.times) - 1) / (self.times[-1] - self.times[0])

    return StepClock()


def time_cap(dde, budget: TimeBudget, lbfgs_guess_s: float | None = None):
    """A callback that stops training once ``budget`` is spent.

    Adam (``_train_sgd``) runs its callbacks after every step and breaks on ``model.stop_training``,
    so it stops within one step. DeepXDE's PyTorch L-BFGS (``_train_pytorch_lbfgs``) runs torch's
    L-BFGS in calls of ``max_iter`` iterations and runs the callbacks only between calls; a call
    cannot be interrupted. So under L-BFGS the callback also sizes the next call to the time left,
    from the measured cost per iteration (``lbfgs_guess_s`` before the first measurement), by
    setting ``max_iter``/``max_eval`` of the optimiser's parameter group, which torch reads anew on
    every call.
    """

    class TimeCap(dde.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.cut = False  # whether the clock stopped training
            self.per_iteration = lbfgs_guess_s
            self.last = None  # (time, L-BFGS iterations) at the end of the previous call

        def _lbfgs(self):
            return self.model.opt_name == "L-BFGS"

        def _iterations(self):
            state = self.model.opt.state_dict()["state"]
            return int(state[0]["n_iter"]) if state else 0

        def _size_next_call(self) -> bool:
            group = self.model.opt.param_groups[0]
            largest = min(LBFGS_CHUNK, dde.optimizers.config.LBFGS_options["iter_per_step"])
            n = budget.lbfgs_chunk(self.per_iteration, largest)
            # evaluations generous (as cap_lbfgs): a call cut short by its line searches after one
            # iteration would read as convergence; the time of evaluations is in the measured cost
            group["max_iter"], group["max_eval"] = n, max(1, 25 * n)
            return n > 0

        def on_train_begin(self):
            if self._lbfgs():
                self.last = (time.perf_counter(), self._iterations())
                self._size_next_call()

        def on_epoch_end(self):
            if budget.exhausted():
                self.cut = self.model.stop_training = True
                return
            if self._lbfgs():
                now, done = time.perf_counter(), self._iterations()
                if done > self.last[1]:
                    self.per_iteration = (now - self.last[0]) / (done - self.last[1])
                self.last = (now, done)
                if not self._size_next_call():
                    self.cut = self.model.stop_training = True

    return TimeCap()


def cap_lbfgs(dde, steps: int) -> None:
    """Limit L-BFGS to ``steps`` iterations (smoke tests only).

    With PyTorch, DeepXDE runs torch's L-BFGS in calls of ``iter_per_step`` iterations and
    ``fun_per_step`` loss evaluations, figures it derives from ``maxiter`` only when it is imported:
    both are set here. The evaluation budget is generous so that a call is not cut short by its line
    searches, which would start another call and overshoot the cap.
    """
    dde.optimizers.set_LBFGS_options(maxiter=steps, maxfun=25 * steps)
    options = dde.optimizers.config.LBFGS_options
    options["iter_per_step"] = steps
    options["fun_per_step"] = options["maxfun"]


def train(dde, model, plan: Plan, steps: int | None, budget: TimeBudget) -> dict:
    """Adam (timed on its own), then L-BFGS if the example has it, within ``budget``; returns the
    step counts and whether the budget cut training short."""
    budget.start = time.perf_counter()  # the budget covers training only: set-up and evaluation are outside
    adam = plan.adam if steps is None else min(plan.adam, steps)
    compile_args = {"lr": plan.learning_rate, **plan.compile_args()}
    if plan.decay is not None:
        compile_args["decay"] = plan.decay
    if plan.loss_weights == "initial":  # wave_1d.py: weights 5 / (each loss term at initialisation)
        model.compile("adam", lr=plan.learning_rate, **plan.compile_args())
        history, _ = model.train(iterations=0, display_every=QUIET)
        compile_args["loss_weights"] = [5 / float(v) for v in history.loss_train[0]]
    model.compile("adam", **compile_args)
    clock = step_clock(dde)
    cap = time_cap(dde, budget) if budget.seconds is not None else None  # full mode: DeepXDE untouched
    callbacks = [clock] + ([cap] if cap else [])
    if plan.resample_every:
        callbacks.append(dde.callbacks.PDEPointResampler(period=plan.resample_every))
    model.train(iterations=adam, display_every=QUIET, callbacks=callbacks)
    counts = {"adam_steps": len(clock.times), "adam_planned": adam, "adam_steps_per_s": clock.rate(),
              "lbfgs_steps": None, "lbfgs_maxiter": None, "lbfgs_skipped": False,
              "cut_short": bool(cap and cap.cut)}  # fmt: skip
    if plan.lbfgs:
        counts.update(lbfgs(dde, model, steps, budget, clock.rate(), plan.compile_args()))
        counts["cut_short"] = counts["cut_short"] or counts["lbfgs_cut"]
    counts["train_s"] = time.perf_counter() - budget.start
    return counts


def lbfgs(dde, model, steps: int | None, budget: TimeBudget, adam_rate: float | None, compile_args: dict) -> dict:
    """The L-BFGS stage within what is left of ``budget``: skipped when nothing is left."""
    if steps is not None:
        cap_lbfgs(dde, steps)
    maxiter = dde.optimizers.config.LBFGS_options["maxiter"]
    if budget.exhausted():  # Adam used the whole budget: no L-BFGS call at all
        return {"lbfgs_steps": 0, "lbfgs_maxiter": maxiter, "lbfgs_skipped": True, "lbfgs_cut": True}
    cap = None
    if budget.seconds is not None:  # full mode keeps DeepXDE's own call sizes (no callback)
        cap = time_cap(dde, budget, LBFGS_COST / adam_rate if adam_rate else None)
    model.compile("L-BFGS", **compile_args)
    model.train(display_every=QUIET, callbacks=[cap] if cap else None)
    state = model.opt.state_dict()["state"]
    done = int(state[0]["n_iter"]) if state else 0  # iterations torch actually made
    return {"lbfgs_steps": done, "lbfgs_maxiter": maxiter, "lbfgs_skipped": False, "lbfgs_cut": bool(cap and cap.cut)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=sorted(SETUPS))
    parser.add_argument("--reference", required=True, help=".npz with points (n, d), values (n,) or (n, fields) "
                        "and, for an inverse problem, observe_t and observe_y")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("--steps", type=int, default=None, help="cap on every optimiser phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-budget", type=float, default=None, help="stop training after this many seconds")
    args = parser.parse_args()

    import deepxde as dde
    import numpy as np
    import torch

    start = time.perf_counter()
    dde.config.set_default_float("float32")  # the examples' precision
    dde.config.set_random_seed(args.seed)
    with np.load(args.reference) as ref:
        points, values = ref["points"], ref["values"]
        observed = {k: ref[k].astype(np.float32) for k in ref.files if k not in ("points", "values")}
    data, net, plan = SETUPS[args.problem](dde, torch, np, **observed)  # observations: inverse problems only
    model = dde.Model(data, net)
    counts = train(dde, model, plan, args.steps, TimeBudget(args.time_budget))
    predicted = model.predict(points.astype(np.float32)).astype(float)
    predicted = predicted if values.ndim == 2 else predicted[:, 0]  # every field, or the one u
    error = float(np.linalg.norm(predicted - values) / np.linalg.norm(values))
    result = {"tool": f"DeepXDE {dde.__version__}", "torch": torch.__version__, "problem": args.problem,
              "l2_relative_error": error, "wall_s": time.perf_counter() - start, **counts,
              "time_budget_s": args.time_budget, "unknowns": {k: float(v.item()) for k, v in plan.variables.items()},
              "precision": "float32", "threads": torch.get_num_threads(), "settings": plan.record()}  # fmt: skip
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
