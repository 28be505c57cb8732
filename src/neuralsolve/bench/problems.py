"""The benchmark problems: each the bundled example of its name (``examples/<name>.toml``, whose
``[solver]`` table is the recipe) and a trusted reference on fixed points.

Burgers' reference is DeepXDE's published numerical solution, bundled in ``bench/data``
(``burgers_deepxde.npz``; it equals the exact Cole–Hopf solution to 2.9e-12). Allen–Cahn's is
neuralsolve's own spectral reference on the grid of DeepXDE's ``allen_cahn_deepxde.mat``, which it
replaces: that data is 1.6e-4 away from the converged solution, ours 6e-12 (the data file is
kept, and compared, in tests/test_reference_accuracy.py). The periodic Allen–Cahn form's is
neuralsolve's ETDRK4 solution on Raissi's grid. The others are exact solutions evaluated on a grid.
Wave, Klein–Gordon and diffusion–reaction are the problems of DeepXDE's examples of those names,
so that its peer run is its published example.

Each reference states its own relative L2 error (``reference_error_estimate``): 0 for an exact
solution (exact to rounding), a measured figure for a data file, the solver's own estimate for
the two Allen–Cahn forms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ..problem.problem import Problem
from . import lorenz, spiral


@dataclass(frozen=True)
class Benchmark:
    """A benchmark problem: how to build it, and its reference values on fixed points.

    ``reference()`` returns ``(points, values)``: points (n, d) in the problem's coordinate order
    (space first, ``t`` last) and the reference solution there: (n,) for the one field ``u``, or
    (n, fields) for every field in the problem's order.

    ``reference_error()`` is the reference's own relative L2 error (all fields together, the norm
    of the benchmark's error), estimated or measured: 0.0 for an exact solution.

    An inverse benchmark also has ``truth``, the unknown constants' true values, and
    ``peer_data()``, the arrays its peer needs besides the reference (the observations).
    ``peer`` names the tool ``--peer`` runs beside it: DeepXDE's example, or torchdiffeq's demo
    for the neural-ODE benchmark.
    """

    name: str
    build: Callable[[], Problem]
    reference: Callable[[], tuple[np.ndarray, np.ndarray]]
    source: str  # where the problem statement and the reference come from
    truth: dict[str, float] | None = None
    peer_data: Callable[[], dict[str, np.ndarray]] | None = None
    reference_error: Callable[[], float] = lambda: 0.0
    peer: str = "deepxde"  # the tool run side by side with --peer

    def unknown_errors(self, estimates: dict[str, float]) -> dict[str, float]:
        """Each estimated constant's relative error against ``truth`` (both tools' rows use this)."""
        return {name: abs(estimates[name] - true) / abs(true) for name, true in (self.truth or {}).items()}


def bundled(name: str) -> Callable[[], Problem]:
    """The problem of the bundled example ``examples/<name>.toml``: the benchmark solves exactly
    what ``neuralsolve solve`` on that file solves (its ``[solver]`` table is the recipe: recipes.py)."""

    def build() -> Problem:
        from ..spec.load import load
        from .recipes import example_file

        with resources.as_file(example_file(name)) as path:
            return load(path)

    return build


def data_file(name: str):
    """A reference data file bundled with the package (``bench/data``): the one copy in the repository."""
    return resources.files(__package__).joinpath("data", name)


def _grid(*axes: np.ndarray) -> np.ndarray:
    """All combinations of the axes' values, (n, len(axes)), the first axis varying slowest."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def _exact_reference(problem: Callable[[], Problem], *axes: np.ndarray) -> Callable:
    """A reference function: the problem's exact solution on the grid of ``axes``."""

    def reference() -> tuple[np.ndarray, np.ndarray]:
        import jax

        points = _grid(*axes)
        with jax.enable_x64(True):
            values = np.asarray(problem().exact_at("u", points), dtype=float)
        return points, values

    return reference


# --- problems with DeepXDE's numerical reference -------------------------------------------------


def burgers_reference() -> tuple[np.ndarray, np.ndarray]:
    """DeepXDE's Burgers solution on its 256 × 100 (x, t) grid."""
    with data_file("burgers_deepxde.npz").open("rb") as f, np.load(f) as d:
        return _grid(d["x"][:, 0], d["t"][:, 0]), d["usol"].ravel()  # usol is (x, t)


# DeepXDE's Burgers data against the Cole–Hopf solution (the trapezoid rule on 601 points of the
# heat kernel's variable, itself converged to 2e-16), relative L2 on the data's grid: measured by
# tests/test_reference_accuracy.py, which fails if the figure no longer holds
BURGERS_DATA_ERROR = 2.9e-12


def allen_cahn_deepxde() -> tuple[np.ndarray, np.ndarray]:
    """DeepXDE's Allen–Cahn solution on its 201 × 101 (x, t) grid (1.6e-4 from the converged solution)."""
    from scipy.io import loadmat

    with data_file("allen_cahn_deepxde.mat").open("rb") as f:
        d = loadmat(f)
    x, t, u = d["x"].ravel(), d["t"].ravel(), d["u"]  # u is (t, x)
    return _grid(x, t), u.T.ravel()


@functools.cache  # a few seconds of solving, once per process
def _allen_cahn_spectral():
    from ..reference import classical_reference

    points, _ = allen_cahn_deepxde()
    ref = classical_reference(bundled("allen_cahn")())
    return points, ref.values(points)[:, 0], ref.error_estimate


def allen_cahn_reference() -> tuple[np.ndarray, np.ndarray]:
    """neuralsolve's spectral reference (Chebyshev method of lines) on DeepXDE's 201 × 101 (x, t) grid."""
    points, values, _ = _allen_cahn_spectral()
    return points.copy(), values.copy()


AC_PERIODIC_GRID = (512, 201)  # Raissi's AC.mat grid: x_j = −1 + 2j/512, t = 0, 0.005, …, 1


@functools.cache  # about half a minute of solving, once per process
def _allen_cahn_periodic_spectral(points: int = 4096) -> tuple[np.ndarray, np.ndarray, float]:
    """ETDRK4 (dt = 1e-3, 2/3 dealiasing) on ``points`` and on half as many, sampled on
    :data:`AC_PERIODIC_GRID`; returns the grid, the finer solution and the two's relative L2
    difference: the coarser's error, so an upper estimate of the finer's. The initial state's
    slope jumps at the wrap (from −2 to 2), so the modes fall algebraically: the difference falls
    about 7× per doubling (1.7e-5 at 512 against 2048 points, 2.2e-6 at 1024)."""
    import sympy as sp

    from ..reference.spectral import dealiased_modes, etdrk4, split

    nx, nt = AC_PERIODIC_GRID
    (equation,) = bundled("allen_cahn_periodic")().equations  # residual u_t − rhs, as written in the file
    (u,) = equation.expr.atoms(sp.Function)
    x, t = u.args
    parts = split(sp.expand(sp.Derivative(u, t) - equation.expr), u, x)
    times = np.linspace(0, 1, nt)

    def solve(n: int) -> np.ndarray:
        grid = -1 + 2 * np.arange(n) / n
        u0 = grid**2 * np.cos(np.pi * grid)
        _, saved = etdrk4(parts.multiplier, parts.nonlinear, u0, 2.0, 1.0, 1e-3, save=times[1:],
                          resolved=dealiased_modes(n))  # fmt: skip
        return np.concatenate([u0[None], np.asarray(saved)])[:, :: n // nx]  # (t, x)

    fine, coarse = solve(points), solve(points // 2)
    xs = -1 + 2 * np.arange(nx) / nx
    error = float(np.linalg.norm(coarse - fine) / np.linalg.norm(fine))
    return _grid(xs, times), fine.T.ravel(), error


def allen_cahn_periodic_reference() -> tuple[np.ndarray, np.ndarray]:
    """neuralsolve's pseudo-spectral reference on Raissi's 512 × 201 (x, t) grid."""
    points, values, _ = _allen_cahn_periodic_spectral()
    return points.copy(), values.copy()


_DEEPXDE = "DeepXDE example examples/pinn_forward/"

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    *(Benchmark(name, bundled(name), burgers_reference,  # one problem, an accurate and a quick recipe
                f"DeepXDE's Burgers.npz (examples/dataset), {BURGERS_DATA_ERROR:.1e} from the Cole-Hopf solution",
                reference_error=lambda: BURGERS_DATA_ERROR) for name in ("burgers", "burgers_quick")),
    Benchmark("allen_cahn", bundled("allen_cahn"), allen_cahn_reference,
              "neuralsolve's spectral reference (its own error estimate) on the grid of DeepXDE's Allen_Cahn.mat, "
              "which is 1.6e-4 away from it", reference_error=lambda: _allen_cahn_spectral()[2]),
    Benchmark("allen_cahn_periodic", bundled("allen_cahn_periodic"), allen_cahn_periodic_reference,
              "neuralsolve's pseudo-spectral reference (ETDRK4, 4096 points; its own error estimate: the "
              "difference from 2048 points) on Raissi's 512 x 201 grid",
              reference_error=lambda: _allen_cahn_periodic_spectral()[2]),
    Benchmark("poisson_2d", bundled("poisson_2d"),
              _exact_reference(bundled("poisson_2d"), np.linspace(0, 1, 101), np.linspace(0, 1, 101)),
              "exact, 101 x 101 grid"),
    Benchmark("helmholtz_2d", bundled("helmholtz_2d"),
              _exact_reference(bundled("helmholtz_2d"), np.linspace(-1, 1, 201), np.linspace(-1, 1, 201)),
              "exact, 201 x 201 grid"),
    Benchmark("convection", bundled("convection"),
              _exact_reference(bundled("convection"), np.linspace(0, 2 * np.pi, 256), np.linspace(0, 1, 100)),
              "exact, 256 x 100 grid"),
    Benchmark("convection_50", bundled("convection_50"),
              _exact_reference(bundled("convection_50"), np.linspace(0, 2 * np.pi, 256), np.linspace(0, 1, 100)),
              "exact, 256 x 100 grid"),
    Benchmark("wave", bundled("wave"),
              _exact_reference(bundled("wave"), np.linspace(0, 1, 201), np.linspace(0, 1, 201)),
              f"{_DEEPXDE}wave_1d.py; exact, 201 x 201 grid"),
    Benchmark("klein_gordon", bundled("klein_gordon"),
              _exact_reference(bundled("klein_gordon"), np.linspace(-1, 1, 256), np.linspace(0, 10, 256)),
              f"{_DEEPXDE}Klein_Gordon.py; exact, its 256 x 256 grid"),
    Benchmark("diffusion_reaction", bundled("diffusion_reaction"),
              _exact_reference(bundled("diffusion_reaction"), np.linspace(-np.pi, np.pi, 256), np.linspace(0, 1, 101)),
              f"{_DEEPXDE}diffusion_reaction.py; exact, 256 x 101 grid"),
)}  # fmt: skip
"""Every benchmark problem by name, in the order the table lists them."""


# the Lorenz path (DOP853 at rtol = atol = 1e-12) against DOP853 at 3e-14, all fields on the 301
# reference times: measured by tests/test_reference_accuracy.py
LORENZ_PATH_ERROR = 7e-13


def _lorenz(noise: float, name: str) -> Benchmark:
    """The Lorenz inverse case at one noise level (a fraction of each field's spread)."""
    source = (f"DeepXDE example examples/pinn_inverse/Lorenz_inverse.py; {lorenz.N_OBSERVATIONS} observations "
              f"from SciPy's solve_ivp (rtol = atol = 1e-12), noise {noise:.0%} of each field's spread, seed 0; "
              f"target: constants within {lorenz.target(noise):.0%}")  # fmt: skip
    return Benchmark(name, lambda: lorenz.problem(noise), lorenz.reference, source, truth=dict(lorenz.TRUTH),
                     peer_data=lambda: lorenz.peer_arrays(noise), reference_error=lambda: LORENZ_PATH_ERROR)  # fmt: skip



INVERSE_BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    _lorenz(0.01, "lorenz_inverse"),
    _lorenz(0.0, "lorenz_inverse_noise0"),
    _lorenz(0.05, "lorenz_inverse_noise5"),
)}  # fmt: skip
"""Inverse benchmarks (unknown constants from data): run when named, not by a bare ``neuralsolve bench``."""


NEURAL_ODE_BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark(spiral.NAME, spiral.problem, spiral.reference, spiral.SOURCE,
              reference_error=lambda: spiral.REFERENCE_ERROR, peer=spiral.PEER),
)}  # fmt: skip
"""Neural-ODE benchmarks (``bench/spiral.py``; their peer is torchdiffeq): run when named."""
