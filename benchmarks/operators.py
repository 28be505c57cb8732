"""Neural-operator benchmarks (issue 15): data generation, training at the papers' sizes, and the
``neuraloperator`` library side by side on the same data files and epochs.

    python benchmarks/operators.py generate burgers|darcy       # time a fresh generation (1200 samples)
    python benchmarks/operators.py train burgers|darcy [--model fno|deeponet|mgno] [--epochs N]
    python benchmarks/operators.py peer burgers|darcy [--epochs N]   # neuraloperator's FNO vs ours
    (train and peer: --no-augment trains ours without the file's [solver.training] augment;
     --set KEY=VALUE overrides one model, training or [operator] setting, e.g. --set schedule=step,
     --set coarsen=subsample)

The problems are the bundled examples (src/neuralsolve/examples/burgers_operator.toml and
darcy_operator.toml). Every result is one JSON line appended to benchmarks/results-operators.jsonl
with the machine, load, date and commit. Data sets are cached (``$NEURALSOLVE_DATA_CACHE``), so
``train`` and ``peer`` reuse what ``generate`` made; ``generate`` always makes a fresh one in a
scratch cache. The peer runs in the benchmark environment's Python (``.venv-bench``,
``NEURALSOLVE_PEER_PYTHON`` overrides).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import neuralsolve as ns
from results import append_result  # benchmarks/results.py, beside this script
from neuralsolve.reference.datasets import cache_folder

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "src" / "neuralsolve" / "examples"
PEER = ROOT / "src" / "neuralsolve" / "bench" / "peers" / "neuraloperator_fno.py"
RESULTS = HERE / "results-operators.jsonl"
BENCH_PYTHON = os.environ.get("NEURALSOLVE_PEER_PYTHON", str(ROOT / ".venv-bench" / "bin" / "python"))
PROBLEMS = {"burgers": EXAMPLES / "burgers_operator.toml", "darcy": EXAMPLES / "darcy_operator.toml"}
MODELS = {"fno": ns.FNO, "deeponet": ns.DeepONet, "mgno": ns.MgNO}


def generate(args) -> dict:
    """A fresh generation of the problem's 1200 samples, timed, in a scratch cache."""
    from neuralsolve.methods.operator.data import load

    problem = ns.load(PROBLEMS[args.problem])
    kept = os.environ.get("NEURALSOLVE_DATA_CACHE")
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["NEURALSOLVE_DATA_CACHE"] = scratch
        start = time.perf_counter()
        data = load(problem, progress=True)
        seconds = time.perf_counter() - start
        made = cache_folder() / f"{data.key}.npz"
        _restore("NEURALSOLVE_DATA_CACHE", kept)
        cache_folder().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made, cache_folder() / made.name)  # train and peer reuse it
    op = problem.operator
    return append_result(RESULTS, f"generate-{args.problem}", {"samples": op.train + op.test, "points": op.generate,
                                                 "seconds": round(seconds, 1), "workers": os.cpu_count(),
                                                 "finite": bool(np.all(np.isfinite(data.outputs)))})  # fmt: skip


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _problem(args):
    """The bundled problem, with the [operator] settings among ``--set`` applied."""
    problem = ns.load(PROBLEMS[args.problem])
    fields = {f.name for f in dataclasses.fields(problem.operator)}
    changes = {k: _value(v) for k, _, v in (item.partition("=") for item in args.set) if k in fields}
    if not changes:
        return problem
    operator = dataclasses.replace(problem.operator, **changes)
    variant = ns.Problem(problem.domain, **{**problem.arguments, "operator": operator}, solver=problem.solver)
    variant.source, variant.source_path = problem.source, problem.source_path
    return variant


def _settings(args, problem) -> dict:
    model = problem.solver.get("model") if args.model == "fno" else MODELS[args.model]()
    training = problem.solver["training"]
    if args.epochs:
        decay = max(1, round(training.decay_every * args.epochs / training.epochs))  # the schedule's shape kept
        training = dataclasses.replace(training, epochs=args.epochs, decay_every=decay)
    if args.no_augment:  # and no averaging over the symmetries, which needs them
        training = dataclasses.replace(training, augment=(), symmetrise=False)
    for item in args.set:  # KEY=VALUE on the model or the training settings
        key, _, text = item.partition("=")
        value = _value(text)
        if key in {f.name for f in dataclasses.fields(problem.operator)}:
            continue  # applied by _problem
        if key in {f.name for f in dataclasses.fields(training)}:
            training = dataclasses.replace(training, **{key: value})
        elif key in {f.name for f in dataclasses.fields(model)}:
            model = dataclasses.replace(model, **{key: value})
        else:
            raise SystemExit(f"--set {item}: {key} is neither a model, a training nor an [operator] setting")
    return {"model": model, "training": training, "seed": args.seed}


def _value(text: str):
    """A --set value: a whole number, a number, true/false, or a comma-separated list of names
    (empty: no names)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text in ("true", "false"):
        return text == "true"
    return tuple(t for t in text.split(",") if t) if "," in text or not text else text


def train(args) -> dict:
    """Ours on the problem, at the file's sizes (or another model at its defaults)."""
    problem = _problem(args)
    settings = _settings(args, problem)
    start = time.perf_counter()
    # a progress record every 10 epochs (each 10 epochs one compiled chunk, timed on its own): a
    # record after every epoch costs its evaluation on 200 samples and a chunk's dispatch, ~0.5 s
    per_epoch = settings["training"].steps_per_epoch(problem.operator.train)
    sol = ns.solve(problem, callback=None if args.quiet else _progress, log_every=10 * per_epoch, **settings)
    wall = time.perf_counter() - start
    keys = ("test_relative_l2", "test_relative_l2_std", "test_relative_l2_unsymmetrised", "zero_shot", "sampling_floor",
            "parameters", "epoch_seconds", "inference_seconds")
    return append_result(RESULTS, f"train-{args.problem}-{args.model}", {
        "epochs": settings["training"].epochs, "seed": args.seed, "coarsen": problem.operator.coarsen, **_device(),
        "model": dataclasses.asdict(settings["model"]) | {"kind": args.model},
        "training": dataclasses.asdict(settings["training"]), "wall_seconds": round(wall, 1), "status": sol.status,
        **{k: sol.metrics.get(k) for k in keys}})  # fmt: skip


def _device() -> dict:
    """Where the training ran: the accelerator's name, and JAX's float32 matrix-product precision
    when set (on an NVIDIA GPU, JAX's default may compute them in TF32)."""
    import jax

    device = {"device": jax.devices()[0].device_kind}
    if jax.config.jax_default_matmul_precision:
        device["matmul_precision"] = jax.config.jax_default_matmul_precision
    return device


def _progress(record: dict) -> None:
    print(f"step {record['step']:>7}  loss {record['loss']:.4e}  {record['elapsed']:.0f} s", file=sys.stderr, flush=True)


def peer(args) -> dict:
    """neuraloperator's FNO and ours, one invocation, the same data file and epochs."""
    from neuralsolve.methods.operator.data import load

    problem = _problem(args)
    op, settings = problem.operator, _settings(args, problem)
    data = load(problem, progress=True)
    model, training = settings["model"], settings["training"]
    dim = data.inputs.ndim - 1
    sizes = model.sizes(dim)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "data.npz"
        arrays = {"periodic": np.array(int(data.periodic))}
        (a, u), (ta, tu) = data.split(op.resolution)
        arrays.update(x_train=a[:, None], y_train=u[:, None], x_test=ta[:, None], y_test=tu[:, None])
        for s in op.zero_shot:
            _, (za, zu) = data.split(s)
            arrays[f"x_test_{s}"], arrays[f"y_test_{s}"] = za[:, None], zu[:, None]
        np.savez(path, **arrays)
        out = pathlib.Path(tmp) / "peer.json"
        cmd = [BENCH_PYTHON, str(PEER), "--data", str(path), "--out", str(out), "--epochs", str(training.epochs),
               "--width", str(sizes["width"]), "--modes", str(sizes["modes"]), "--layers", str(sizes["layers"]),
               "--batch", str(training.batch), "--lr", str(training.learning_rate), "--step", str(training.decay_every),
               "--gamma", str(1.0 if training.schedule == "constant" else training.decay_factor),
               "--weight-decay", str(training.weight_decay), "--schedule", "cosine" if training.schedule == "cosine" else "step",
               "--seed", str(args.seed), "--threads", str(args.threads)]  # fmt: skip
        subprocess.run(cmd, check=True)
        theirs = json.loads(out.read_text())
    keys = ("test_relative_l2", "zero_shot", "parameters", "epoch_seconds")
    ours = train(argparse.Namespace(**{**vars(args), "quiet": True}))
    plain = None
    if training.augment:  # the same recipe on the data as drawn: the library has no augmentation
        plain = train(argparse.Namespace(**{**vars(args), "quiet": True, "no_augment": True}))
        plain = {k: plain[k] for k in keys}
    their_epoch = float(np.mean(theirs["epoch_seconds"][1:] or theirs["epoch_seconds"]))
    return append_result(RESULTS, f"peer-{args.problem}", {
        "epochs": training.epochs, "schedule": training.schedule, "augment": list(training.augment), "coarsen": op.coarsen,
        "ours": {k: ours[k] for k in keys}, "ours_no_augment": plain,
        "neuraloperator": {"test_relative_l2": theirs["test_error"], "zero_shot": theirs.get("zero_shot"),
                           "parameters": theirs["parameters"], "epoch_seconds": their_epoch,
                           "version": theirs.get("version"), "torch": theirs.get("torch")},
        "epoch_time_ratio": round(their_epoch / ours["epoch_seconds"], 2) if ours["epoch_seconds"] else None})  # fmt: skip


def _positive(text: str) -> int:
    """A whole number above zero (``--epochs 0`` would otherwise mean the file's epochs)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=("generate", "train", "peer"))
    parser.add_argument("problem", choices=tuple(PROBLEMS))
    parser.add_argument("--model", choices=tuple(MODELS), default="fno")
    parser.add_argument("--epochs", type=_positive, default=None, help="default: the problem file's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--no-augment", action="store_true", help="train ours on the data as drawn (no symmetries)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a model or training setting, e.g. schedule=step, modes=32, augment=translation,")
    args = parser.parse_args()
    {"generate": generate, "train": train, "peer": peer}[args.case](args)


if __name__ == "__main__":
    main()
