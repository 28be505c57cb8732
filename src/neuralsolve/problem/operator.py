"""What a neural operator learns: the ``[operator]`` section of a problem file (:class:`Operator`).

An operator problem is a PDE family: the equation as written, its domain and conditions, and one
input function drawn at random (:class:`GRF`). The input is the field's initial state
(``input = "initial"``, for evolution problems; the output is the field at the final time) or a
function named in the equations (a coefficient or a source, for steady problems; the output is
the field). Sample counts and grids say what data set is generated, or ``file`` gives one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .._errors import ProblemError

INITIAL = "initial"
MAX_SAMPLES = 10**6
MAX_POINTS = 2**16  # points per axis of a grid
COARSEN = ("subsample", "spectral")  # how a coarser grid's values are taken from a finer one's


def _positive(name: str, value, what: str = "a positive, finite number") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ProblemError(f"operator: {name} must be {what}, got {value!r}")


def _whole(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProblemError(f"operator: {name} must be a whole number in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class GRF:
    """A Gaussian random field N(0, sigma²(−Δ + tau²I)^(−alpha)) on the domain (periodic Laplacian
    on a periodic interval, Neumann Laplacian on a box), with an optional pointwise ``map``: an
    expression of the field's value ``g`` such as ``"Piecewise((12, g >= 0), (3, True))"``
    (thresholding) or ``"exp(g)"``.

    The field has finite pointwise variance only when ``alpha`` exceeds half the dimension; that
    is checked where the dimension is known (:meth:`check`)."""

    sigma: float = 1.0
    tau: float = 1.0
    alpha: float = 2.0
    map: str | None = None

    def __post_init__(self):
        _positive("grf.sigma", self.sigma)
        if isinstance(self.tau, bool) or not isinstance(self.tau, (int, float)) or not 0 <= self.tau < math.inf:
            raise ProblemError(f"operator: grf.tau must be a finite number >= 0, got {self.tau!r}")
        _positive("grf.alpha", self.alpha)
        if self.map is not None and not isinstance(self.map, str):
            raise ProblemError(f"operator: grf.map must be an expression of g such as 'exp(g)', got {self.map!r}")

    def check(self, dim: int) -> None:
        """Refuse a field of infinite variance in ``dim`` dimensions (alpha <= dim/2)."""
        if not self.alpha > dim / 2:
            raise ProblemError(f"operator: grf.alpha must exceed {dim}/2 in {dim}-D (the field's variance is "
                               f"infinite otherwise), got {self.alpha!r}")  # fmt: skip


@dataclass(frozen=True)
class Operator:
    """The ``[operator]`` section: which input maps to which output, and the data set.

    Args:
        input: ``"initial"`` (the initial state of an evolution problem's field) or the name of a
            function of the coordinates used in the equations (a coefficient or a source).
        grf: the input's distribution (:class:`GRF`).
        train, test: how many samples to train on and to test on.
        generate: points per axis of the grid the data are generated on.
        resolution: points per axis the operator is trained on (taken from ``generate``'s grid).
        zero_shot: further resolutions the trained operator is tested on, without training.
        coarsen: how the values at a resolution are taken from the finer grid: ``"subsample"``
            (every k-th point, as the FNO papers did) or ``"spectral"`` (periodic grids only: the
            field's Fourier series cut below the coarse grid's Nyquist frequency, then sampled, so
            no finer mode folds onto a coarser one).
        file: an .npz of ``inputs`` and ``outputs`` arrays on a grid, used in place of generation
            (a path relative to the problem file).
        seed: seeds the random inputs (and so the data set).
    """

    input: str = INITIAL
    grf: GRF = field(default_factory=GRF)
    train: int = 1000
    test: int = 200
    generate: int | None = None
    resolution: int | None = None
    zero_shot: tuple[int, ...] = ()
    coarsen: str = "subsample"
    file: str | None = None
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.input, str) or not self.input.isidentifier():
            raise ProblemError(f"operator: input must be 'initial' or the name of a function in the equations, "
                               f"got {self.input!r}")  # fmt: skip
        if not isinstance(self.grf, GRF):
            raise ProblemError(f"operator: grf must be a GRF(sigma, tau, alpha), got {type(self.grf).__name__}")
        _whole("train", self.train, 1, MAX_SAMPLES)
        _whole("test", self.test, 1, MAX_SAMPLES)
        _whole("seed", self.seed, 0, 2**32 - 1)
        for name in ("generate", "resolution"):
            if getattr(self, name) is not None:
                _whole(name, getattr(self, name), 2, MAX_POINTS)
        object.__setattr__(self, "zero_shot", tuple(self.zero_shot))
        for s in self.zero_shot:
            _whole("zero_shot", s, 2, MAX_POINTS)
        if self.coarsen not in COARSEN:
            raise ProblemError(f"operator: coarsen must be one of {', '.join(map(repr, COARSEN))}, got {self.coarsen!r}")
        if self.file is not None and not isinstance(self.file, str):
            raise ProblemError(f"operator: file must be a path to an .npz file, got {self.file!r}")
        if self.file is None and (self.generate is None or self.resolution is None):
            raise ProblemError("operator: give generate and resolution (points per axis of the generation and "
                               "training grids), or a data file")  # fmt: skip

    @property
    def function(self) -> str | None:
        """The input function's name, or None when the input is the initial state."""
        return None if self.input == INITIAL else self.input

    def resolutions(self) -> tuple[int, ...]:
        """The training resolution, then the zero-shot ones."""
        return (self.resolution, *self.zero_shot)
