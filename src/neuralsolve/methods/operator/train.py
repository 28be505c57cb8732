"""Training a neural operator through the shared fit loop, then what it is worth: the test error at
the training resolution and zero-shot at others, parameters, time per epoch and per inference."""

from __future__ import annotations

import time

import jax
import numpy as np

from ...pinn.settings import dtype_of
from ...problem.problem import Problem
from ...train.fit import FitResult, Schedule, carry_template, fit
from . import data as data_sets
from .augment import augmentation
from .model import OperatorModel, Scales, predict, relative_l2
from .settings import METRIC_KEYS, check_modes
from .solution import SHOWN, OperatorSolution, scales_from

TERM_NAMES = ("loss",)
METHODS = {"Evolution": "ETDRK4 pseudo-spectral solver", "Divergence": "second-order finite volumes"}


def solve_operator(problem: Problem, settings: dict, *, derivatives: str, callback, log_every: int, checkpoint,
                   resume: bool) -> OperatorSolution:  # fmt: skip
    """Generate (or read) the data, train, measure (see docs/neural-operators.md)."""
    clock = [time.perf_counter()]
    data = data_sets.load(problem, progress=callback is not None)
    clock.append(time.perf_counter())
    resolution = problem.operator.resolution or data.points
    (a, u), test = data.split(resolution)
    with jax.enable_x64(settings["precision"] == "float64"):
        model = build(problem, settings, data, resolution, Scales.of(a, u))
        training = settings["training"]
        fine = finer_grid(data, resolution, training.augment)
        model.augment = augmentation(problem, training.augment, a, fine, data.spectral)
        held = data.split(resolution * fine)[0]  # the training pairs themselves when fine is 1
        every = model.per_epoch * max(1, log_every // model.per_epoch)  # progress at whole epochs
        result = fit(model.terms, model.params, lambda draw: model.data(a, u, dtype_of(settings), held),
                     [training.phase(len(a))], weights=[1.0], schedule=Schedule(every), callback=callback,
                     checkpoint=checkpoint, resume=resume, time_limit=settings["time_limit"], stochastic=True)  # fmt: skip
        clock.append(time.perf_counter())
        model.symmetrise = model.augment if training.symmetrise else None
        metrics = measure(problem, model, result, data, settings, every)
        samples = _samples(model, result.params, test, settings)
        clock.append(time.perf_counter())
    sol = OperatorSolution(model, result.params, settings["precision"], problem, fit=result, metrics=metrics,
                           term_names=list(TERM_NAMES), samples=samples)  # fmt: skip
    sol.spans = [(part, a0, b0) for part, a0, b0 in zip(("data", "training", "metrics"), clock, clock[1:])]
    sol.spans += [("steps", *c) for c in result.chunks]
    return sol


FINEST = 8  # shifts drawn in steps down to 1/FINEST of the training grid's


def finer_grid(data, resolution: int, names) -> int:
    """How many times finer than the training grid the 1-D batches are held, so that shifts and
    boosts move the fields by fractions of a grid step and stay exact (coarsening a shifted finer
    grid); 1 when nothing shifts, in 2-D, or when the data's grid holds no finer one."""
    from ...reference.datasets import stride

    if data.inputs.ndim != 2 or not {"translation", "galilean"} & set(names):
        return 1
    return max(f for f in range(1, FINEST + 1) if stride(data.points, resolution * f, data.periodic))


def build(problem: Problem, settings: dict, data, resolution: int, scales: Scales) -> OperatorModel:
    """The operator network for ``problem`` with ``settings``, wrapped for training."""
    from ...nn.operators import build as build_network

    model, training = settings["model"], settings["training"]
    dim = data.inputs.ndim - 1
    check_modes(model, dim, resolution, data.periodic)  # the grid of a user's file is known once it is read
    network = build_network(model.kind, dim, 1, 1, periodic=data.periodic, sensors=resolution,
                            key=jax.random.PRNGKey(settings["seed"]), dtype=dtype_of(settings), **model.sizes(dim))  # fmt: skip
    lo, hi = problem.domain.bounds()
    spaced = [c != "t" for c in problem.domain.coords]
    spacing = tuple(float(b - a) / (resolution if data.periodic else resolution - 1)
                    for a, b, on in zip(lo, hi, spaced) if on)  # fmt: skip
    return OperatorModel(network, scales, training.loss, min(training.batch, data.train),
                         training.steps_per_epoch(data.train), settings["seed"] + 1, spacing=spacing,
                         periodic=data.periodic)  # fmt: skip


def measure(problem: Problem, model: OperatorModel, result: FitResult, data, settings: dict, every: int) -> dict:
    """The metrics of an operator solve (docs/neural-operators.md lists each key)."""
    from ...nn.operators import count_parameters
    from ...reference.datasets import generator_error_estimate, sampling_floor
    from ...reference.operators import generator_for

    op = problem.operator
    resolution = op.resolution or data.points
    op_dtype = dtype_of(settings)
    (_, _), (a, u) = data.split(resolution)
    errors = np.asarray(relative_l2(predict(model, result.params, a, op_dtype), u))
    metrics = {"test_relative_l2": float(np.mean(errors)), "test_relative_l2_std": float(np.std(errors)),
               "samples": {"train": data.train, "test": len(data.inputs) - data.train},
               "grid": {"points": data.points, "resolution": resolution},
               "data": {"source": data.source, "key": data.key, "seconds": round(data.seconds, 2)},
               "model": {"kind": settings["model"].kind, **settings["model"].sizes(a.ndim - 1)},
               "parameters": count_parameters(model.network(result.params))}  # fmt: skip
    if model.symmetrise is not None:  # what the averaging gained
        plain = relative_l2(predict(model, result.params, a, op_dtype, plain=True), u)
        metrics["test_relative_l2_unsymmetrised"] = float(np.mean(np.asarray(plain)))
    metrics["zero_shot"] = {}
    for s in op.zero_shot:
        (_, _), (za, zu) = data.split(s)
        metrics["zero_shot"][str(s)] = float(np.mean(np.asarray(relative_l2(predict(model, result.params, za, op_dtype), zu))))
    floors = {str(s): sampling_floor(problem, data, s) for s in (resolution, *op.zero_shot)}
    metrics["sampling_floor"] = {s: f for s, f in floors.items() if f is not None} or None
    metrics["epoch_seconds"] = _epoch_seconds(result, model.per_epoch, every)
    metrics["inference_seconds"] = _inference_seconds(model, result.params, a, op_dtype)
    # the verdict's measure: the test error against the classical solver's (or the file's) outputs
    metrics["l2_relative_error"] = {problem.fields[0]: metrics["test_relative_l2"]}
    metrics["reference"] = "classical"
    metrics["reference_method"] = f"the data file {op.file}" if op.file else METHODS[type(generator_for(problem)).__name__]
    # the generated data's own accuracy (a user's file states none): test errors below it mean nothing
    metrics["reference_error_estimate"] = None if op.file else generator_error_estimate(problem)
    return metrics


def _epoch_seconds(result: FitResult, per_epoch: int, every: int) -> float | None:
    """Seconds per epoch over the compiled chunks after the first (which includes compilation)."""
    later = result.chunks[1:]
    if not later:
        return None
    return float(sum(b - a for a, b in later) / (len(later) * every) * per_epoch)


def _inference_seconds(model: OperatorModel, params, a: np.ndarray, dtype) -> float:
    """Seconds per sample of a batched prediction at the training resolution, after compiling."""
    predict(model, params, a[:1], dtype)
    start = time.perf_counter()
    predict(model, params, a, dtype)
    return (time.perf_counter() - start) / len(a)


def _samples(model: OperatorModel, params, test, settings: dict) -> dict:
    a, u = test[0][:SHOWN], test[1][:SHOWN]
    return {"input": a, "prediction": predict(model, params, a, dtype_of(settings)), "truth": u}


def reopen(problem: Problem, settings: dict, checkpoint, saved: dict) -> OperatorSolution | None:
    """A saved operator solve: its parameters from the checkpoint, its normalisation from the
    run's solution.npz (else from the data set again) and the metrics it wrote."""
    from ..base import saved_outcome

    if not checkpoint.exists():
        return None
    arrays = _saved_arrays(checkpoint)
    data = None
    scales = scales_from(arrays)
    if scales is None:
        data = data_sets.load(problem)
    resolution = problem.operator.resolution or (data.points if data else int(saved["grid"]["resolution"]))
    with jax.enable_x64(settings["precision"] == "float64"):
        if data is None:
            data = _Shape(problem, resolution)
        if scales is None:
            (a, u), _ = data.split(resolution)
            scales = Scales.of(a, u)
        model = build(problem, settings, data, resolution, scales)
        if settings["training"].symmetrise:  # the boosts' reach comes from the training inputs
            full = data_sets.load(problem)
            names = settings["training"].augment
            model.symmetrise = augmentation(problem, names, full.split(resolution)[0][0],
                                            finer_grid(full, resolution, names), full.spectral)  # fmt: skip
        phase = settings["training"].phase(problem.operator.train)
        state = checkpoint.load(lambda k: carry_template(phase, model.params, len(TERM_NAMES)))
        params = state.carry[3]
    metrics = {k: saved.get(k) for k in METRIC_KEYS if k in saved}
    result = FitResult(params, state.history, state.phases, *saved_outcome(saved))
    samples = {k.removeprefix("operator_"): arrays[k] for k in ("operator_input", "operator_prediction", "operator_truth")
               if arrays is not None and k in arrays}  # fmt: skip
    return OperatorSolution(model, params, settings["precision"], problem, fit=result, metrics=metrics,
                            term_names=list(TERM_NAMES), samples=samples)  # fmt: skip


def _saved_arrays(checkpoint) -> dict | None:
    """The arrays of solution.npz beside ``checkpoint`` (None for a checkpoint in memory, or none saved)."""
    path = getattr(checkpoint, "path", None)
    if path is None or not (path.parent / "solution.npz").exists():
        return None
    with np.load(path.parent / "solution.npz") as saved:
        return {k: saved[k] for k in saved.files if k.startswith("operator_")}


class _Shape:
    """What :func:`build` reads of a data set, for a reopened solve whose data are not loaded."""

    def __init__(self, problem: Problem, resolution: int):
        dim = len([c for c in problem.domain.coords if c != "t"])
        self.inputs = np.zeros((1,) + (resolution,) * dim)
        self.periodic = data_sets.periodic(problem)
        self.train = problem.operator.train
