"""diffrax peer of the neural-ODE benchmarks: the recipe of diffrax's own neural-ODE example.

    python diffrax_neural_ode.py --out RESULT.json [--steps-scale 1.0] [--seed 5678]
                                 [--save-data DATA.npz]

It follows ``docs/examples/neural_ode.ipynb`` of ``patrick-kidger/diffrax`` (v0.7.2), in float32:

* data: 256 trajectories of dy/dt = (x2, -x1) with x = y / (1 + y) (elementwise), y(0) drawn
  uniformly from [-0.6, 1)^2, each solved with Tsit5 at the constant step 0.1 and saved at
  100 equally spaced times on [0, 10];
* model: dy/dt = s * tanh(MLP(y)), an ``eqx.nn.MLP`` of width 64 and depth 2 with softplus
  activations and a tanh final activation, times a trainable scalar s that starts at 1; it is
  solved with Tsit5, PIDController(rtol=1e-3, atol=1e-6), dt0 = ts[1] - ts[0], saved at ts;
* training: adabelief(3e-3), batches of 32 trajectories, mean squared error; 500 steps on the
  first 10 % of every series, then 500 on the whole series, with a fresh optimiser state per
  stage; ``PRNGKey(seed)`` is split into data, model and loader keys as in the example.

RESULT.json gets the training wall time (the two training loops, compilation included, split
into ``compile_seconds``, the steps that traced the jitted step, and ``steady_seconds``; the
example compiles three times: steps 0 and 1 of the first stage, see ``make_step_fn``, and step 0
of the second), the example's printed batch
losses in ``history`` and, which the example does not print, the MSE of the trained model on the
whole data set. ``--save-data`` writes the generated ``ts`` (100,) and ``ys`` (256, 100, 2) so
that another method can train on exactly the same data. The script uses JAX, Equinox, Optax and
diffrax only and never imports neuralsolve.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

DATASET_SIZE = 256
N_TIMES = 100
T_END = 10.0
BATCH_SIZE = 32
LEARNING_RATE = 3e-3
STEPS_STRATEGY = (500, 500)
LENGTH_STRATEGY = (0.1, 1.0)
WIDTH, DEPTH = 64, 2
PRINT_EVERY = 100


class Func(eqx.Module):
    """The learnt vector field s * tanh(MLP(y)); it ignores t."""

    out_scale: jax.Array  # a JAX array, so the optimiser trains it along with the MLP
    mlp: eqx.nn.MLP

    def __init__(self, data_size: int, *, key: jax.Array):
        self.out_scale = jnp.array(1.0)
        self.mlp = eqx.nn.MLP(data_size, data_size, WIDTH, DEPTH, activation=jax.nn.softplus,
                              final_activation=jax.nn.tanh, key=key)

    def __call__(self, t, y, args):
        return self.out_scale * self.mlp(y)


class NeuralODE(eqx.Module):
    """The trajectory of ``Func`` from y0, saved at ``ts``."""

    func: Func

    def __init__(self, data_size: int, *, key: jax.Array):
        self.func = Func(data_size, key=key)

    def solve(self, ts: jax.Array, y0: jax.Array) -> diffrax.Solution:
        """The adaptive Tsit5 solve of the example (its solver statistics are kept for diagnostics)."""
        return diffrax.diffeqsolve(
            diffrax.ODETerm(self.func), diffrax.Tsit5(), t0=ts[0], t1=ts[-1], dt0=ts[1] - ts[0], y0=y0,
            stepsize_controller=diffrax.PIDController(rtol=1e-3, atol=1e-6), saveat=diffrax.SaveAt(ts=ts))

    def __call__(self, ts: jax.Array, y0: jax.Array) -> jax.Array:
        return self.solve(ts, y0).ys


def oscillator(t, y, args):
    """The data's vector field: a nonlinear oscillator whose paths look like deformed sines."""
    x = y / (1 + y)
    return jnp.stack([x[1], -x[0]], axis=-1)


def one_trajectory(ts: jax.Array, key: jax.Array) -> jax.Array:
    """One data series: y0 ~ U[-0.6, 1)^2, Tsit5 at the constant step 0.1 (diffrax's default controller)."""
    y0 = jr.uniform(key, (2,), minval=-0.6, maxval=1)
    sol = diffrax.diffeqsolve(diffrax.ODETerm(oscillator), diffrax.Tsit5(), ts[0], ts[-1], 0.1, y0,
                              saveat=diffrax.SaveAt(ts=ts))
    return sol.ys


def make_data(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Times (N_TIMES,) and series (DATASET_SIZE, N_TIMES, 2), one key per series."""
    ts = jnp.linspace(0, T_END, N_TIMES)
    ys = jax.vmap(lambda k: one_trajectory(ts, k))(jr.split(key, DATASET_SIZE))
    return ts, ys


def batches(ys: jax.Array, *, key: jax.Array):
    """Endless batches of whole series, drawn as the example's ``dataloader`` draws them.

    Each pass is a fresh permutation (the key is re-split per pass) cut into consecutive slices
    of BATCH_SIZE; a slice is only used while it ends strictly before the data set does, so the
    last full slice of every pass (224:256 here) is skipped: 7 batches per pass of 256.
    """
    indices = jnp.arange(ys.shape[0])
    while True:
        perm = jr.permutation(key, indices)
        (key,) = jr.split(key, 1)
        for end in range(BATCH_SIZE, ys.shape[0], BATCH_SIZE):
            yield ys[perm[end - BATCH_SIZE:end]]


def mse(model: NeuralODE, ts: jax.Array, ys: jax.Array) -> jax.Array:
    """Mean squared error of every series solved from its own first point."""
    pred = jax.vmap(model, in_axes=(None, 0))(ts, ys[:, 0])
    return jnp.mean((ys - pred) ** 2)


def make_step_fn(optim: optax.GradientTransformation):
    """The jitted training step (loss, gradient and optimiser update of one batch) and its trace count.

    The count goes up whenever JAX traces, and so compiles, the step anew: on the first step of
    each stage (a new series length) and, in the first stage, on the second step as well, because
    the example's ``out_scale = jnp.array(1.0)`` is weakly typed until the first update makes it
    an ordinary float32 array.
    """
    traces = [0]

    @eqx.filter_jit
    def make_step(ts, yi, model, opt_state):
        traces[0] += 1  # Python side effect: runs while tracing only
        loss, grads = eqx.filter_value_and_grad(mse)(model, ts, yi)
        updates, opt_state = optim.update(grads, opt_state)
        return loss, eqx.apply_updates(model, updates), opt_state

    return make_step, traces


def train_stage(model, make_step, traces, optim, ts, ys, steps, loader_key, clock):
    """One stage of the length strategy; ``clock`` (dict) accumulates seconds and the history.

    Each stage starts a new optimiser state and a new loader from the same key, as the example
    does. A step that traced is waited for, and its time (from the end of the step before)
    counts as compilation; the rest runs as the example runs it, dispatched asynchronously.
    """
    opt_state = optim.init(eqx.filter(model, eqx.is_inexact_array))
    loader = batches(ys, key=loader_key)
    start = last = time.perf_counter()
    for step in range(steps):
        traced = traces[0]
        loss, model, opt_state = make_step(ts, next(loader), model, opt_state)
        if traces[0] != traced:
            jax.block_until_ready(loss)
            clock["compile"] += time.perf_counter() - last
        if step % PRINT_EVERY == 0 or step == steps - 1:
            loss = float(loss)  # the example prints it here, which waits for the step to finish
            clock["history"].append([clock["steps"] + step, loss, clock["total"] + time.perf_counter() - start])
        last = time.perf_counter()
    jax.block_until_ready(model)
    clock["total"] += time.perf_counter() - start
    clock["steps"] += steps
    clock["compilations"] = traces[0]
    return model


def solver_steps(model: NeuralODE, ts: jax.Array, ys: jax.Array) -> dict:
    """Mean accepted and attempted Tsit5 steps per full-length series of the trained model (off the clock)."""
    stats = jax.vmap(lambda y0: model.solve(ts, y0).stats)(ys[:, 0])
    return {"accepted": float(jnp.mean(stats["num_accepted_steps"])),
            "attempted": float(jnp.mean(stats["num_steps"]))}


def run(args: argparse.Namespace) -> dict:
    """Generate the data, train with the example's strategy and return the record."""
    data_key, model_key, loader_key = jr.split(jr.PRNGKey(args.seed), 3)
    ts, ys = make_data(data_key)
    if args.save_data is not None:
        args.save_data.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.save_data, ts=np.asarray(ts), ys=np.asarray(ys))
    model = NeuralODE(ys.shape[-1], key=model_key)
    optim = optax.adabelief(LEARNING_RATE)
    make_step, traces = make_step_fn(optim)
    steps = [max(1, round(n * args.steps_scale)) for n in STEPS_STRATEGY]
    clock = {"total": 0.0, "compile": 0.0, "steps": 0, "history": []}
    for n, fraction in zip(steps, LENGTH_STRATEGY):
        length = int(N_TIMES * fraction)
        model = train_stage(model, make_step, traces, optim, ts[:length], ys[:, :length], n, loader_key, clock)
    return {
        "peer": "diffrax-example",
        "diffrax": diffrax.__version__,
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "seed": args.seed,
        "train_seconds": clock["total"],
        "compile_seconds": clock["compile"],
        "steady_seconds": clock["total"] - clock["compile"],
        "compilations": clock["compilations"],
        "final_mse": float(eqx.filter_jit(mse)(model, ts, ys)),
        "final_batch_loss": clock["history"][-1][1],  # what the example prints last
        "out_scale": float(model.func.out_scale),
        "solver_steps_per_series": solver_steps(model, ts, ys),
        "steps": steps,
        "history": clock["history"],
    }


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiplies both stages' step counts")
    parser.add_argument("--seed", type=int, default=5678)
    parser.add_argument("--save-data", type=Path, default=None, help="write ts and ys to this .npz")
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args()


def main() -> None:
    """Run and write RESULT.json."""
    args = parse_args()
    record = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1))
    for step, loss, seconds in record["history"]:
        print(f"step {step:4d}  batch loss {loss:.6g}  {seconds:.2f} s")
    print(f"final MSE {record['final_mse']:.6g}, train {record['train_seconds']:.1f} s "
          f"(compile {record['compile_seconds']:.1f} s)")


if __name__ == "__main__":
    main()
