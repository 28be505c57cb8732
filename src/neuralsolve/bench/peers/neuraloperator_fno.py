"""neuraloperator peer of the neural-operator benchmarks: the library's FNO on our data sets.

    python neuraloperator_fno.py --data DATA.npz --out RESULT.json --epochs E [--width 64] [--modes 16]
                                 [--layers 4] [--batch 20] [--lr 1e-3] [--step 100] [--gamma 0.5]
                                 [--schedule step|cosine] [--weight-decay 1e-4] [--padding 0.125] [--reduction mean]
                                 [--eval-every 0] [--seed 0] [--threads N]

It trains ``neuralop.models.FNO`` (neuraloperator 2.0.0, ``neuraloperator/neuraloperator``) with the
library's defaults for everything that is not a flag (a 2-layer lifting MLP, a channel MLP and a
linear skip in every Fourier layer, the grid positional embedding, GELU), in the FNO paper's
training recipe: Adam(lr, weight_decay) with the rate multiplied by ``--gamma`` every ``--step``
epochs (or, with ``--schedule cosine``, following half a cosine over the epochs: PyTorch's
``CosineAnnealingLR``, stepped once an epoch), mini-batches of ``--batch`` samples shuffled every epoch, float32, on the library's
relative L2 loss ``LpLoss(d=dim, p=2)`` between the model's output and the normalised targets.

``--modes m`` keeps the paper's frequencies, -m..m-1 along every axis but the last and 0..m-1
along the last (rFFT) axis: the library counts both signs in ``n_modes`` and keeps
``n_modes // 2 + 1`` on the last axis, so this is ``n_modes = (2m, ..., 2m, 2m - 1)``
(:func:`library_n_modes`). Inputs and outputs are normalised with one mean and one standard
deviation per channel over all training samples and grid points (not the library's pointwise
default), so that the same encoding applies at every resolution. Non-periodic data
(``periodic = 0``) are zero-padded by the library's ``domain_padding`` (``--padding`` of the grid
on each side, 0.125 as in its GINO/FNOGNO/OTNO configurations; its Darcy configuration pads none).

DATA.npz holds float arrays ``x_train (n, c_in, *grid)``, ``y_train (n, c_out, *grid)``,
``x_test``, ``y_test`` (grid ``(s,)`` or ``(s, s)``), optionally zero-shot sets
``x_test_<s2>``, ``y_test_<s2>`` at other resolutions, and a scalar ``periodic`` (1 or 0).

RESULT.json holds the library and torch versions, the parameter count (a complex weight counts
twice, as the library's ``count_model_params``), the wall time of every training epoch
(evaluations are off the clock), the mean training loss of every epoch, and the mean per-sample
relative L2 error of the decoded predictions on the test set and on every zero-shot set (and every
``--eval-every`` epochs on the test set). It runs in its own interpreter (torch + neuraloperator)
and never imports neuralsolve or JAX.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import neuralop
import numpy as np
import torch
from neuralop import LpLoss
from neuralop.models import FNO
from neuralop.utils import count_model_params

EVAL_BATCH = 100  # evaluation is off the clock; the batch only bounds memory
ZERO_SHOT = re.compile(r"x_test_(\d+)$")


def load_data(path: Path) -> dict:
    """The arrays of DATA.npz as float32 tensors: train/test pairs, zero-shot pairs by resolution, periodic."""
    with np.load(path) as npz:
        if "periodic" not in npz:
            raise SystemExit(f"{path}: missing the scalar 'periodic' (1 or 0)")

        def tensor(name: str) -> torch.Tensor:
            return torch.from_numpy(np.asarray(npz[name], dtype=np.float32))

        data = {name: tensor(name) for name in ("x_train", "y_train", "x_test", "y_test")}
        data["zero_shot"] = {match[1]: (tensor(name), tensor(f"y_test_{match[1]}"))
                             for name in npz.files if (match := ZERO_SHOT.match(name))}  # fmt: skip
        data["periodic"] = bool(int(npz["periodic"]))
    return data


def library_n_modes(modes: int, dim: int) -> tuple[int, ...]:
    """The library's ``n_modes`` that keeps the FNO paper's ``modes`` per axis (see the module docstring)."""
    return (2 * modes,) * (dim - 1) + (2 * modes - 1,)


class ChannelNormaliser:
    """One mean and one standard deviation per channel, over samples and grid points of the training set."""

    def __init__(self, train: torch.Tensor) -> None:
        axes = [0] + list(range(2, train.ndim))
        self.mean = train.mean(dim=axes, keepdim=True)  # (1, c, 1, ...): broadcasts at any resolution
        # population std, floored so that a constant channel encodes to zeros instead of NaN
        self.std = train.std(dim=axes, correction=0, keepdim=True).clamp_min(1e-7)

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        return (u - self.mean) / self.std

    def decode(self, u: torch.Tensor) -> torch.Tensor:
        return u * self.std + self.mean


def build_model(args: argparse.Namespace, c_in: int, c_out: int, dim: int, periodic: bool) -> FNO:
    """The library's FNO at our sizes; zero domain padding only for non-periodic data."""
    return FNO(
        n_modes=library_n_modes(args.modes, dim),
        in_channels=c_in,
        out_channels=c_out,
        hidden_channels=args.width,
        n_layers=args.layers,
        domain_padding=None if periodic else args.padding,
    )


def relative_l2(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample ||pred - y|| / ||y|| over all channels and grid points, shape (n,)."""
    return (pred - y).flatten(1).norm(dim=1) / y.flatten(1).norm(dim=1)


def test_error(model: FNO, x: torch.Tensor, y: torch.Tensor, x_norm, y_norm) -> float:
    """Mean per-sample relative L2 error of the decoded predictions, in evaluation mode."""
    model.eval()
    errors = []
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            pred = y_norm.decode(model(x_norm.encode(x[start:start + EVAL_BATCH])))
            errors.append(relative_l2(pred, y[start:start + EVAL_BATCH]))
    model.train()
    return torch.cat(errors).mean().item()


def train_epoch(model, optimizer, loss_fn, x, y, args, generator) -> float:
    """One shuffled pass over the (encoded) training set; returns the mean per-sample training loss."""
    order = torch.randperm(len(x), generator=generator)
    total = 0.0
    for start in range(0, len(x), args.batch):
        index = order[start:start + args.batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
        # LpLoss averages ("mean") or sums ("sum") over the batch: weight it back to per-sample
        total += loss.item() * (len(index) if args.reduction == "mean" else 1)
    return total / len(x)


def train(args: argparse.Namespace) -> dict:
    """Train for ``args.epochs`` epochs, timing each; evaluate off the clock; returns the record."""
    data = load_data(args.data)
    x_train, y_train = data["x_train"], data["y_train"]
    dim = x_train.ndim - 2
    x_norm, y_norm = ChannelNormaliser(x_train), ChannelNormaliser(y_train)
    x_enc, y_enc = x_norm.encode(x_train), y_norm.encode(y_train)
    model = build_model(args, x_train.shape[1], y_train.shape[1], dim, data["periodic"])
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    if args.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    else:
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.step, gamma=args.gamma)
    loss_fn = LpLoss(d=dim, p=2, reduction=args.reduction)
    generator = torch.Generator().manual_seed(args.seed)
    seconds, losses, history = [], [], []
    model.train()
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        losses.append(train_epoch(model, optimizer, loss_fn, x_enc, y_enc, args, generator))
        scheduler.step()
        seconds.append(time.perf_counter() - start)
        if args.eval_every and epoch % args.eval_every == 0 and epoch < args.epochs:
            history.append([epoch, test_error(model, data["x_test"], data["y_test"], x_norm, y_norm)])
        print(f"epoch {epoch:4d} | train loss {losses[-1]:.5f} | {seconds[-1]:.2f} s", flush=True)
    final = test_error(model, data["x_test"], data["y_test"], x_norm, y_norm)
    zero_shot = {s2: test_error(model, x, y, x_norm, y_norm) for s2, (x, y) in sorted(data["zero_shot"].items())}
    spectral = model.fno_blocks.convs[0].weight
    return {
        "library": "neuraloperator",
        "version": neuralop.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "parameters": count_model_params(model),
        "epochs": args.epochs,
        "epoch_seconds": seconds,
        "train_loss": losses,
        "test_error": final,
        "test_history": history + [[args.epochs, final]],
        "zero_shot": zero_shot,
        "samples": {"train": len(x_train), "test": len(data["x_test"])},
        "grid": list(x_train.shape[2:]),
        "periodic": data["periodic"],
        "model": {"width": args.width, "modes": args.modes, "layers": args.layers,
                  "n_modes": list(library_n_modes(args.modes, dim)),
                  "spectral_weight_shape": list(spectral.shape),
                  "domain_padding": None if data["periodic"] else args.padding},  # fmt: skip
        "training": {"batch": args.batch, "lr": args.lr, "step": args.step, "gamma": args.gamma,
                     "weight_decay": args.weight_decay, "loss_reduction": args.reduction, "seed": args.seed},
    }


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="DATA.npz (see the module docstring)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--modes", type=int, default=16, help="the paper's modes per axis")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--step", type=int, default=100, help="epochs between learning-rate decays")
    parser.add_argument("--gamma", type=float, default=0.5)
    parser.add_argument("--schedule", choices=("step", "cosine"), default="step")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--padding", type=float, default=0.125, help="domain padding (non-periodic data only)")
    parser.add_argument("--reduction", choices=("mean", "sum"), default="mean",
                        help="LpLoss over the batch: mean, or the paper's sum (scales the gradient against the decay)")
    parser.add_argument("--eval-every", type=int, default=0, help="also test every N epochs (0: at the end only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


def main() -> None:
    """Seed, train and write RESULT.json."""
    args = parse_args()
    torch.manual_seed(args.seed)  # the initial weights; the shuffles have their own generator
    torch.set_num_threads(args.threads)
    record = train(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1))
    print(f"test error {record['test_error']:.4f}, zero-shot {record['zero_shot']}, "
          f"{np.mean(record['epoch_seconds']):.2f} s/epoch, {record['parameters']} parameters")


if __name__ == "__main__":
    main()
