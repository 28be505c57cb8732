"""An operator problem's data set: random inputs, their solutions by a classical solver, cached.

:func:`dataset` draws the inputs from the problem's :class:`~neuralsolve.problem.operator.GRF`
(with its pointwise map), solves for each one with the generator of
:func:`~neuralsolve.reference.operators.generator_for`, in parallel over the cores, and keeps the
result as an .npz in the cache folder, keyed by a hash of everything that defines it; a second
solve of the same problem reads it back. Resolutions are taken from the generation grid by
subsampling (:func:`subsample`) or, on a periodic grid that asks for it, by cutting the Fourier
series first (:func:`band_limited`).
"""

from __future__ import annotations

import concurrent.futures as futures
import hashlib
import json
import multiprocessing
import os
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .._errors import ProblemError
from . import grf as fields
from .operators import Divergence, Evolution, generator_for

VERSION = 1  # bump when a generator's output changes: old cached files are then not reused
CHUNK = 25  # samples per task of the worker pool


@dataclass
class Dataset:
    """Inputs and outputs ``(n, *grid)`` on the generation grid (``periodic``: the right end
    left out, else both ends in), ``train`` samples first, then the test samples."""

    inputs: np.ndarray
    outputs: np.ndarray
    train: int
    periodic: bool
    key: str
    seconds: float = 0.0  # generation time (0 when read from the cache or a file)
    source: str = "generated"  # "generated", "cache" or the user's file
    spectral: bool = False  # coarser grids by band_limited, not subsample (operator.coarsen)

    @property
    def points(self) -> int:
        return self.inputs.shape[1]

    def split(self, resolution: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(train inputs, outputs), (test inputs, outputs) at ``resolution``."""
        a, u = (self.coarsened(v, resolution) for v in (self.inputs, self.outputs))
        return (a[: self.train], u[: self.train]), (a[self.train:], u[self.train:])


    def coarsened(self, values: np.ndarray, resolution: int) -> np.ndarray:
        """``values`` on this data set's grid taken to ``resolution`` points per axis, its way."""
        taken = subsample(values, resolution, self.periodic)  # a view; refuses what the grid cannot give
        return band_limited(values, resolution) if self.spectral and resolution != values.shape[1] else taken


def stride(points: int, resolution: int, periodic: bool) -> int | None:
    """The step that takes ``resolution`` points per axis from a grid of ``points``, or None."""
    if periodic:
        return points // resolution if points % resolution == 0 else None
    return (points - 1) // (resolution - 1) if resolution > 1 and (points - 1) % (resolution - 1) == 0 else None


def subsample(values: np.ndarray, resolution: int, periodic: bool) -> np.ndarray:
    """``values`` ``(n, *grid)`` at ``resolution`` points per axis (every k-th point)."""
    k = stride(values.shape[1], resolution, periodic)
    if k is None:
        raise ProblemError(f"operator: resolution {resolution} cannot be taken from the {values.shape[1]}-point grid "
                           f"by subsampling ({_rule(periodic)})")  # fmt: skip
    return values[(slice(None),) + (slice(None, None, k),) * (values.ndim - 1)]


def band_limited(values: np.ndarray, resolution: int) -> np.ndarray:
    """Periodic ``values`` ``(n, *grid)`` at ``resolution`` points per axis: along each axis the
    Fourier series cut to the modes below the coarse grid's Nyquist frequency, then sampled.
    Subsampling a rough field folds its modes above that frequency onto the ones below, and no
    operator shown the coarse samples can undo it; cut, the coarse values are the field's own
    low modes (on the Burgers benchmark the classical solver given 256 subsampled points misses
    the outputs by 8.9e-4, given the 256 band-limited ones by 1e-8)."""
    for axis in range(1, values.ndim):
        points = values.shape[axis]
        kept = np.take(np.fft.rfft(values, axis=axis), range(resolution // 2), axis=axis)
        values = np.fft.irfft(kept, resolution, axis=axis) * (resolution / points)
    return values


def _rule(periodic: bool) -> str:
    return ("a periodic grid's resolution must divide its points" if periodic else
            "a grid with both ends has resolution - 1 dividing points - 1, e.g. 61 from 241")  # fmt: skip


def check_resolutions(op, periodic: bool) -> None:
    """Refuse resolutions that the generation grid cannot be subsampled to (with the key), and a
    spectral cut on a grid that is not periodic."""
    check_coarsen(op, periodic)
    for k, s in enumerate(op.resolutions()):
        if stride(op.generate, s, periodic) is None:
            raise ProblemError(f"operator: {'zero_shot resolution' if k else 'resolution'} {s} cannot be taken from "
                               f"generate = {op.generate} points by subsampling ({_rule(periodic)})")  # fmt: skip


def check_coarsen(op, periodic: bool) -> None:
    """Refuse ``coarsen = "spectral"`` on a grid that is not periodic."""
    if op.coarsen == "spectral" and not periodic:
        raise ProblemError("operator: coarsen = 'spectral' needs a periodic grid (a Fourier series); this problem "
                           "has no periodic condition: use 'subsample'")  # fmt: skip


def cache_folder() -> pathlib.Path:
    """Where generated data sets are kept: ``$NEURALSOLVE_DATA_CACHE``, else ~/.cache/neuralsolve."""
    root = os.environ.get("NEURALSOLVE_DATA_CACHE") or pathlib.Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "neuralsolve"
    return pathlib.Path(root) / "operator-data"


def key_of(problem) -> str:
    """A hash of everything that defines ``problem``'s generated data set."""
    op, gen = problem.operator, generator_for(problem)
    parts = {"version": VERSION, "generator": type(gen).__name__, "equation": sp.srepr(problem.equations[0].expr),
             "bounds": [list(b) for b in problem.domain.bounds()], "grf": [op.grf.sigma, op.grf.tau, op.grf.alpha, op.grf.map],
             "samples": [op.train, op.test], "points": op.generate, "seed": op.seed, "input": op.input}  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def dataset(problem, progress: Callable | None = None, workers: int | None = None, executor=None) -> Dataset:
    """``problem``'s data set: read from the cache when it was generated before, else generated
    (``progress(done, total)`` after each chunk of samples) and cached. The classical solves run in
    ``workers`` local processes, or as the tasks of ``executor`` (a ``concurrent.futures``-style
    executor: Ray's, say; see ``neuralsolve generate``)."""
    key = key_of(problem)
    gen = generator_for(problem)
    spectral = problem.operator.coarsen == "spectral"  # how coarser grids are taken: not part of the key
    path = cache_folder() / f"{key}.npz"
    if path.exists():
        try:
            with np.load(path) as saved:
                return Dataset(saved["inputs"], saved["outputs"], problem.operator.train, gen.periodic, key, source="cache",
                               spectral=spectral)  # fmt: skip
        except (OSError, ValueError, KeyError):  # a damaged file: generate again
            pass
    start = time.perf_counter()
    inputs = draw_inputs(problem, gen)
    outputs = solve_all(gen, inputs, problem.operator.generate, progress, workers, executor)
    seconds = time.perf_counter() - start
    _save(path, inputs=inputs, outputs=outputs)
    return Dataset(inputs, outputs, problem.operator.train, gen.periodic, key, seconds, spectral=spectral)


def draw_inputs(problem, gen: Evolution | Divergence) -> np.ndarray:
    """The random input functions ``(train + test, *grid)`` on the generation grid, mapped."""
    g = problem.operator.grf
    raw = _raw_inputs(problem, gen)
    return pointwise_map(g.map, raw) if g.map else raw


def _raw_inputs(problem, gen: Evolution | Divergence) -> np.ndarray:
    """The random fields before the pointwise map, as :func:`draw_inputs` draws them."""
    op = problem.operator
    g = op.grf
    g.check(gen.dim)
    rng = np.random.default_rng(op.seed)
    n = op.train + op.test
    if isinstance(gen, Evolution):
        return fields.periodic_1d(n, op.generate, gen.length, g.sigma, g.tau, g.alpha, rng)
    return fields.neumann_2d(n, op.generate, g.sigma, g.tau, g.alpha, rng, lengths=gen.lengths)


def generator_error_estimate(problem, samples: int = 2) -> float:
    """The generated data's own relative L2 error, estimated: the first ``samples`` test inputs
    solved on the data's grid and again on a grid twice as fine (the random field refined before
    its pointwise map — Fourier interpolation on a period, bilinear on a vertex grid: the same
    function as far as the coarse grid can tell), compared on the data's grid. For a converging
    solver the difference is about the coarse solve's error (an overestimate once the order is
    above one). The random fields are drawn again, so nothing but these few solves is repeated."""
    op = problem.operator
    gen = generator_for(problem)
    raw = _raw_inputs(problem, gen)[op.train : op.train + samples]
    fine = _refined(raw, gen)
    mapped = (lambda v: pointwise_map(op.grf.map, v)) if op.grf.map else (lambda v: v)
    coarse_out, fine_out = solve_chunk(gen, mapped(raw)), solve_chunk(gen, mapped(fine))
    on_coarse = fine_out[:, ::2] if gen.dim == 1 else fine_out[:, ::2, ::2]
    return float(np.linalg.norm(coarse_out - on_coarse) / np.linalg.norm(on_coarse))


def sampling_floor(problem, data: Dataset, resolution: int) -> float | None:
    """The mean relative L2 test error of the classical solver itself when it is given the test
    inputs as taken to ``resolution`` points: each input's trigonometric interpolant solved on
    the data's grid, compared with the test outputs at ``resolution``.

    A rough periodic input holds modes beyond the coarse grid's Nyquist frequency, and subsampling
    folds them onto the modes below it: no operator that sees only the coarse samples can tell
    the folded part from the rest (the modes are drawn independently), so its test error can
    hardly fall below this one. Band-limited coarse inputs (``coarsen = "spectral"``) leave only
    what the cut modes would have done. None where it does not apply: 2-D coefficient fields (no one
    interpolant for a discontinuous field), a user's file, or ``resolution`` the data's own grid."""
    if problem.operator.file is not None or resolution == data.points:
        return None
    gen = generator_for(problem)
    if not isinstance(gen, Evolution):
        return None
    (_, _), (a, u) = data.split(resolution)
    out = data.coarsened(solve_all(gen, _interpolated(a, data.points), data.points, None, None), resolution)
    return float(np.mean(np.linalg.norm(out - u, axis=1) / np.linalg.norm(u, axis=1)))


def _refined(raw: np.ndarray, gen: Evolution | Divergence) -> np.ndarray:
    """Fields (n, *grid) on the grid with twice the points: trigonometric interpolation on a
    period, bilinear on a vertex grid (new points halfway between the old)."""
    if gen.dim == 1:
        return _interpolated(raw, 2 * raw.shape[1])
    out = raw
    for axis in (1, 2):
        middle = (np.take(out, range(out.shape[axis] - 1), axis=axis) + np.take(out, range(1, out.shape[axis]), axis=axis)) / 2
        shape = list(out.shape)
        shape[axis] = 2 * out.shape[axis] - 1
        both = np.empty(shape)
        index = [slice(None)] * 3
        index[axis] = slice(0, None, 2)
        both[tuple(index)] = out
        index[axis] = slice(1, None, 2)
        both[tuple(index)] = middle
        out = both
    return out


def _interpolated(rows: np.ndarray, points: int) -> np.ndarray:
    """Periodic rows (n, s) at ``points`` points per period: their trigonometric interpolants."""
    return np.fft.irfft(np.fft.rfft(rows, axis=1), points, axis=1) * (points / rows.shape[1])


def pointwise_map(text: str, values: np.ndarray) -> np.ndarray:
    """``text`` (an expression of ``g``) applied to every value."""
    import jax

    from ..problem.compile import compile_expression
    from ..problem.parse import Namespace, parse_expression

    expr = parse_expression(text, Namespace(("g",)), "operator.grf.map")
    fn = compile_expression(expr, ("g",), "operator.grf.map")
    with jax.enable_x64(True):
        out = np.asarray(fn({"g": jax.numpy.asarray(values)}), float) * np.ones_like(values)
    if not np.all(np.isfinite(out)):
        raise ProblemError(f"operator: grf.map {text!r} gives values that are not finite")
    return out


def solve_all(gen, inputs: np.ndarray, points: int, progress: Callable | None, workers: int | None,
              executor=None) -> np.ndarray:  # fmt: skip
    """Every input's solution, in chunks: as ``executor``'s tasks when one is given, else over a
    pool of worker processes (spawned: the parent has JAX's threads running, which a fork would
    copy mid-flight), or here for one worker."""
    workers = workers or min(os.cpu_count() or 1, max(1, len(inputs) // CHUNK))
    chunks = [inputs[i: i + CHUNK] for i in range(0, len(inputs), CHUNK)]
    if executor is not None:
        return _gather(executor, gen, chunks, progress)
    if workers == 1:
        out, done = [], 0
        for c in chunks:
            out.append(solve_chunk(gen, c))
            done += len(c)
            progress and progress(done, len(inputs))
        return np.concatenate(out)
    with futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return _gather(pool, gen, chunks, progress)


def _gather(executor, gen, chunks: list, progress: Callable | None) -> np.ndarray:
    """The chunks' solutions, submitted to ``executor`` and put back in order as they come."""
    out, done, total = [None] * len(chunks), 0, sum(len(c) for c in chunks)
    jobs = {executor.submit(solve_chunk, gen, c): i for i, c in enumerate(chunks)}
    for job in futures.as_completed(jobs):
        out[jobs[job]] = job.result()
        done += len(chunks[jobs[job]])
        progress and progress(done, total)
    return np.concatenate(out)


def solve_chunk(gen, inputs: np.ndarray) -> np.ndarray:
    """The solutions of a chunk of inputs (in a worker process)."""
    if isinstance(gen, Evolution):
        from .spectral import solve_periodic

        return solve_periodic(_shifted(gen), gen.u, gen.x, inputs, gen.length, gen.span)
    from .darcy import solve_darcy

    coefficient, source = (_field_function(e, gen) for e in (gen.coefficient, gen.source))
    grid = np.meshgrid(*gen.grid(inputs.shape[1]), indexing="ij")
    return np.stack([solve_darcy(coefficient(grid, a), source(grid, a), gen.lengths) for a in inputs])


def _shifted(gen: Evolution) -> sp.Expr:
    """The right-hand side with an explicit ``x`` moved to the domain's start: the spectral solver's
    grid starts at 0 (the field and its derivatives are left as they are)."""
    if gen.lo == 0:
        return gen.rhs
    held = {d: sp.Dummy() for d in gen.rhs.atoms(sp.Derivative) | {gen.u}}
    back = {v: k for k, v in held.items()}
    return gen.rhs.xreplace(held).subs(gen.x, gen.x + gen.lo).xreplace(back)


def _field_function(expr: sp.Expr, gen: Divergence) -> Callable:
    """``expr`` (of the coordinates and the input function) as ``fn(grid, values) -> array``."""
    from sympy.core.function import AppliedUndef

    symbols = [sp.Symbol(c, real=True) for c in gen.coords]
    value = sp.Symbol("_input", real=True)
    plain = expr.replace(lambda e: isinstance(e, AppliedUndef) and type(e).__name__ == gen.name, lambda e: value)
    fn = sp.lambdify([*symbols, value], plain, modules="numpy")  # our parsed expression, never the file's text
    return lambda grid, a: np.broadcast_to(np.asarray(fn(*grid, a), float), a.shape).copy()


def _save(path: pathlib.Path, **arrays) -> None:
    """Write atomically: an interrupted write never leaves a damaged file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, path)
