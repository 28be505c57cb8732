"""torchdiffeq peer of the neural-ODE benchmarks: the spiral of torchdiffeq's ``examples/ode_demo.py``.

    python torchdiffeq_spiral.py --data spiral.csv --out RESULT.json [--iterations 2000]
                                 [--test-every 20] [--seed 0] [--threads N]

It reproduces the demo with its default flags (torchdiffeq 0.2.5, ``rtqichen/torchdiffeq``):
dopri5 at odeint's default tolerances (rtol 1e-7, atol 1e-9), no adjoint, float32 tensors;
the vector field Linear(2, 50) -> Tanh -> Linear(50, 2) applied to y**3, weights drawn from
N(0, 0.1**2) and zero biases; RMSprop at lr 1e-3; each iteration fits 20 windows of 10
consecutive points that start at distinct random indices, with the mean absolute (L1) error;
every ``--test-every`` iterations the whole trajectory is solved from y(0) and its mean
absolute error to the data is the test loss. The one difference: the data come from
``--data`` (``t,y1,y2`` rows, written by ``benchmarks/neural_ode/make_spiral_data.py``) instead of the
demo's own float32 dopri5 solve, so that every method sees the same trajectory.

RESULT.json holds the test loss at every test point (and before training), the training wall
time up to each test point (test evaluations are off the clock), the number of vector-field
evaluations per training iteration and the trained model's trajectory from y(0). It runs in its
own interpreter (torch + torchdiffeq) and never imports neuralsolve or JAX.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torchdiffeq
from torchdiffeq import odeint

BATCH_TIME = 10  # points per training window (the demo's --batch_time)
BATCH_SIZE = 20  # windows per iteration (the demo's --batch_size)
LEARNING_RATE = 1e-3


class ODEFunc(nn.Module):
    """The demo's learnt vector field, MLP(y**3), counting its own calls."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 2))
        for module in self.net.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.1)
                nn.init.constant_(module.bias, val=0.0)
        self.nfe = 0

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """dy/dt; one call is one function evaluation, whatever the batch size."""
        self.nfe += 1
        return self.net(y**3)


def load_spiral(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Times (T,) and states (T, 1, 2) in float32, shaped as the demo's ``t`` and ``true_y``."""
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    t = torch.tensor(rows[:, 0], dtype=torch.float32)
    true_y = torch.tensor(rows[:, 1:], dtype=torch.float32).unsqueeze(1)
    return t, true_y


def get_batch(t: torch.Tensor, true_y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The demo's ``get_batch``: y0 (M, 1, 2), times (BATCH_TIME,), targets (BATCH_TIME, M, 1, 2).

    Every window is integrated over t[:BATCH_TIME]; the system is autonomous, so the start time
    does not matter. Starts are distinct (``replace=False``), as in the demo.
    """
    starts = np.random.choice(np.arange(len(t) - BATCH_TIME, dtype=np.int64), BATCH_SIZE, replace=False)
    s = torch.from_numpy(starts)
    batch_y = torch.stack([true_y[s + i] for i in range(BATCH_TIME)], dim=0)
    return true_y[s], t[:BATCH_TIME], batch_y


def train_step(func: ODEFunc, optimizer: torch.optim.Optimizer, t: torch.Tensor, true_y: torch.Tensor) -> None:
    """One RMSprop step on the L1 loss of a fresh batch of windows."""
    optimizer.zero_grad()
    batch_y0, batch_t, batch_y = get_batch(t, true_y)
    pred_y = odeint(func, batch_y0, batch_t)
    loss = torch.mean(torch.abs(pred_y - batch_y))
    loss.backward()
    optimizer.step()


def trajectory(func: ODEFunc, t: torch.Tensor, true_y: torch.Tensor) -> torch.Tensor:
    """The whole trajectory solved from the true y(0), (T, 1, 2); its calls are not counted."""
    calls_before = func.nfe
    with torch.no_grad():
        pred_y = odeint(func, true_y[0], t)
    func.nfe = calls_before
    return pred_y


def test_l1(func: ODEFunc, t: torch.Tensor, true_y: torch.Tensor) -> float:
    """Mean absolute error of the whole trajectory solved from the true y(0)."""
    return torch.mean(torch.abs(trajectory(func, t, true_y) - true_y)).item()


def train(args: argparse.Namespace) -> dict:
    """Train as the demo does, testing every ``args.test_every`` iterations; returns the record."""
    t, true_y = load_spiral(args.data)
    func = ODEFunc()
    optimizer = torch.optim.RMSprop(func.parameters(), lr=LEARNING_RATE)
    iterations, seconds, losses, nfe_history = [0], [0.0], [test_l1(func, t, true_y)], []
    clock, nfe_mark, done = 0.0, 0, 0
    while done < args.iterations:
        chunk = min(args.test_every, args.iterations - done)
        start = time.perf_counter()  # the clock runs over training iterations only
        for _ in range(chunk):
            train_step(func, optimizer, t, true_y)
        clock += time.perf_counter() - start
        done += chunk
        nfe_history.append((func.nfe - nfe_mark) / chunk)
        nfe_mark = func.nfe
        iterations.append(done)
        seconds.append(clock)
        losses.append(test_l1(func, t, true_y))
        print(f"Iter {done:04d} | Total Loss {losses[-1]:.6f} | train {clock:.1f} s", flush=True)
    return {
        "peer": "torchdiffeq",
        "version": torchdiffeq.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "iterations": iterations,
        "train_seconds": seconds,
        "test_l1": losses,
        "nfe_forward_per_iteration": func.nfe / max(done, 1),
        # no adjoint: backpropagation goes through the solver's stored graph and never calls
        # ODEFunc.forward again, so the backward pass costs 0 function evaluations
        "nfe_backward": 0,
        "nfe_forward_per_iteration_history": nfe_history,
        "final_test_l1": losses[-1],
        "total_train_seconds": clock,
        "trajectory": trajectory(func, t, true_y)[:, 0].tolist(),  # the trained model's, (T, 2)
    }


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV with t,y1,y2 rows")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--test-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args()


def main() -> None:
    """Seed, train and write RESULT.json."""
    args = parse_args()
    torch.manual_seed(args.seed)  # the initial weights
    np.random.seed(args.seed)  # the batch windows (drawn with NumPy, as in the demo)
    torch.set_num_threads(args.threads)
    record = train(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1))
    print(f"final test L1 {record['final_test_l1']:.6f}, {record['total_train_seconds']:.1f} s, "
          f"{record['nfe_forward_per_iteration']:.1f} NFE/iteration")


if __name__ == "__main__":
    main()
