"""Training pairs multiplied by the equation's symmetries (``[solver.training] augment``).

A symmetry of the equation maps a solution to a solution, so it maps an input/output pair of the
solution operator to another exact pair: training on transformed copies of the data costs no
classical solves. Each symmetry asked for is first *verified* on the equation as written (SymPy);
one that does not hold is refused, never applied. Every transformation is exact on the grid.

1-D periodic evolution ``u_t = R(u, u_x, u_xx, ...)``, the initial state mapped to ``u(·, T)``:

* ``"translation"``: if ``R`` does not depend on ``x``, shifts commute with the evolution:
  ``u0(x − s) ↦ u(x − s, T)``, ``s`` a random whole number of grid steps — of a grid up to 8
  times finer than the training grid when the data's grid holds one: the batches are drawn
  there, shifted, then coarsened as the data set is (``operator.coarsen``), so the shifts move fields by fractions of a training-grid step
  and the pairs stay exact (``finer_grid`` in :mod:`.train`).
* ``"galilean"``: if ``R(u + c, u_x, ...) = R(u, u_x, ...) − c u_x`` for every ``c`` (Burgers'
  ``−u u_x + ν u_xx``, for one), then ``v(x, t) = u(x − c t, t) + c`` solves the equation too, so
  ``u0 + c ↦ u(x − c T, T) + c``. The boost ``c`` is a whole number of (fine) grid steps per ``T``, drawn
  uniformly within ±2.5 standard deviations of the training inputs' means: the augmented inputs
  stay where the input distribution puts its mass.
* ``"reflection"``: if ``R`` does not depend on ``x`` and is unchanged when every odd derivative
  changes sign (the heat equation; not Burgers), ``u0(−x) ↦ u(−x, T)``.
* ``"odd-reflection"``: the mirror image with its sign changed, ``−u0(−x) ↦ −u(−x, T)``, if ``R``
  does not depend on ``x`` and changes sign when ``u`` and its even derivatives do (Burgers, the
  heat equation; not KdV). A zero-mean input distribution such as a Gaussian random field is
  unchanged by it, so the copies are as likely as the drawn inputs.

2-D steady ``−∇·(A∇u) = f`` on a box with ``u = 0`` on its boundary:

* ``"reflection"``: if ``A`` and ``f`` depend on the coordinates only through the input function,
  mirroring the box along either axis maps a pair to a pair (each axis flipped with probability ½).
* ``"rotation"``: the same, on a square: quarter turns too. With ``"reflection"`` the draws cover
  the square's eight symmetries.

On the periodic Burgers benchmark (``examples/burgers_operator.toml``) the steepest test fronts
came with input means far from zero, where 1000 samples hold few examples; the boosts supply them
(BENCHMARKS.md, "Neural operators").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..._errors import ProblemError

BOOST_SPREAD = 2.5  # boosts within this many standard deviations of the training inputs' means
ONE_D = ("translation", "galilean", "reflection", "odd-reflection")  # what 1-D periodic evolution takes
TWO_D = ("reflection", "rotation")  # what 2-D steady problems may name


@dataclass(frozen=True)
class Augmentation:
    """What the training batches undergo. 1-D: random shifts (``translate``), Galilean boosts of
    up to ``max_boost`` grid steps (each step adding ``boost_step`` to input and output), mirror
    images (``reflect``) and mirror images with the sign changed (``odd_reflect``). 2-D: flips
    along each axis (``reflect``) and transposition (``rotate``; with the flips, quarter turns)."""

    translate: bool = False
    max_boost: int = 0
    boost_step: float = 0.0
    reflect: bool = False
    rotate: bool = False
    odd_reflect: bool = False
    grid_speed: float = 0.0  # L / T: on s points, a boost of one grid step per T adds grid_speed / s
    fine: int = 1  # 1-D: the batches come on a grid this many times finer, shifted there, then coarsened
    spectral: bool = False  # coarsened as the data set does (band-limited, not subsampled)

    def average(self, apply, a):
        """``apply(a)`` symmetrised: the mean over fixed transformations ``g`` of ``g⁻¹ apply(g a)``
        (``training.symmetrise``). 1-D: five boosts within ±half the training boosts' range (whole
        grid steps at ``a``'s resolution), each with and without the mirror images named;
        translations are left out (a trained FNO is nearly shift-equivariant already: averaging
        over 8 shifts changed a Burgers test error by 0.1 %). 2-D: the flips and transpositions
        named, up to the square's eight symmetries."""
        views = self._views_one_d(a.shape[-1]) if a.ndim == 2 else self._views_two_d()
        return sum(back(apply(there(a))) for there, back in views) / len(views)

    def _views_one_d(self, s: int):
        import jax.numpy as jnp

        step = self.grid_speed / s if self.max_boost else 0.0
        reach = self.max_boost * self.boost_step / 2  # half the trained boosts' reach, in the input's units
        steps = sorted({round(k * reach / 2 / step) for k in range(-2, 3)}) if step else [0]
        # None: no mirror; 1: the mirror image; -1: the mirror image with its sign changed
        mirrors = [None] + [1] * self.reflect + [-1] * self.odd_reflect

        def mirror(v, sign):
            return v if sign is None else _mirror(v, sign)

        def view(m, sign):  # the pair (u0 + c, roll(u, m) + c), mirrored
            c = m * step
            return (lambda v: mirror(v + c, sign)), (lambda w: jnp.roll(mirror(w, sign) - c, -m, axis=1))

        return [view(m, sign) for m in steps for sign in mirrors]

    def _views_two_d(self):
        import jax.numpy as jnp

        flips = [(f0, f1) for f0 in (False, True) for f1 in (False, True)] if self.reflect else [(False, False)]
        turns = (False, True) if self.rotate else (False,)

        def view(flip, turn):
            axes = tuple(ax for ax, on in zip((1, 2), flip) if on)

            def there(v):
                v = jnp.flip(v, axes) if axes else v
                return jnp.swapaxes(v, 1, 2) if turn else v

            def back(w):
                w = jnp.swapaxes(w, 1, 2) if turn else w
                return jnp.flip(w, axes) if axes else w

            return there, back

        return [view(f, t) for f in flips for t in turns]

    def apply(self, key, a, u):
        """The batch ``(a, u)`` (samples, *grid) transformed, one random draw per sample."""
        return self._one_d(key, a, u) if a.ndim == 2 else self._two_d(key, a, u)

    def _one_d(self, key, a, u):
        import jax
        import jax.numpy as jnp

        k_shift, k_boost = jax.random.split(key)  # as before reflections existed: the same draws
        k_flip = jax.random.fold_in(key, 2)
        n, s = a.shape
        if self.max_boost:  # first the boost: it makes an exact pair the transforms below keep exact
            boost = jax.random.randint(k_boost, (n,), -self.max_boost, self.max_boost + 1)
            c = (boost * self.boost_step).astype(a.dtype)[:, None]
            a, u = a + c, jax.vmap(jnp.roll)(u, boost) + c
        for on, sign, k in ((self.reflect, 1, k_flip), (self.odd_reflect, -1, jax.random.fold_in(key, 3))):
            if on:
                flip = jax.random.bernoulli(k, 0.5, (n, 1))
                a, u = (jnp.where(flip, _mirror(v, sign), v) for v in (a, u))
        if self.translate:
            shift = jax.random.randint(k_shift, (n,), 0, s)
            a, u = (jax.vmap(jnp.roll)(v, shift) for v in (a, u))
        if self.fine == 1:
            return a, u
        if self.spectral:  # as reference.datasets.band_limited: the modes below the coarse Nyquist frequency
            coarse = s // self.fine
            return tuple(jnp.fft.irfft(jnp.fft.rfft(v, axis=1)[:, : coarse // 2], coarse, axis=1) / self.fine
                         for v in (a, u))  # fmt: skip
        return a[:, :: self.fine], u[:, :: self.fine]

    def _two_d(self, key, a, u):
        import jax
        import jax.numpy as jnp

        k_flip, k_turn = jax.random.split(key)
        n = a.shape[0]
        if self.reflect:
            flips = jax.random.bernoulli(k_flip, 0.5, (2, n, 1, 1))
            for axis, flip in zip((1, 2), flips):
                a, u = (jnp.where(flip, jnp.flip(v, axis), v) for v in (a, u))
        if self.rotate:  # a transposition; composed with the flips, every quarter turn
            turn = jax.random.bernoulli(k_turn, 0.5, (n, 1, 1))
            a, u = (jnp.where(turn, jnp.swapaxes(v, 1, 2), v) for v in (a, u))
        return a, u


def _mirror(v, sign):
    """``sign`` times the mirror image of the rows of ``v`` on the periodic grid (point i to point
    −i mod s): an involution."""
    import jax.numpy as jnp

    return sign * jnp.roll(v[:, ::-1], 1, axis=1)


def check(problem, names: tuple[str, ...]):
    """ProblemError unless every symmetry in ``names`` holds for ``problem``'s equation; the
    problem's generator (:mod:`neuralsolve.reference.operators`) when they do."""
    if not names:
        return None
    from ...reference.operators import Divergence, Evolution, generator_for

    try:
        gen = generator_for(problem)
    except ProblemError:
        gen = None
    if isinstance(gen, Evolution) and set(names) <= set(ONE_D):
        _check_evolution(gen, names)
    elif isinstance(gen, Divergence) and set(names) <= set(TWO_D):
        _check_divergence(gen, names)
    else:
        verb = "does" if len(names) == 1 else "do"
        raise ProblemError(f"training.augment: {', '.join(map(repr, names))} {verb} not apply here; 1-D periodic "
                           f"evolution problems (the initial state as input) take {', '.join(ONE_D)}, 2-D steady "
                           f"-div(A grad u) = f problems take {', '.join(TWO_D)}")  # fmt: skip
    return gen


def _check_evolution(gen, names) -> None:
    placeholders, rest = _as_symbols(gen)
    for name in ("translation", "reflection"):
        if name in names and gen.x in rest.free_symbols:
            _fails(name, f"the equation's right side depends on {gen.x} ({rest})")
    if "galilean" in names:
        c = sp.Dummy("c")  # any constant
        u, ux = placeholders[0], placeholders[1]
        if sp.simplify(rest.subs(u, u + c) - rest + c * ux) != 0:
            _fails("galilean", f"R(u + c, u_x, ...) is not R(u, u_x, ...) - c u_x for R = {rest}")
    if "reflection" in names:
        mirrored = rest.xreplace({p: -p for p in placeholders[1::2]})  # odd derivatives change sign
        if sp.simplify(mirrored - rest) != 0:
            _fails("reflection", f"R changes when x -> -x (R = {rest})")
    if "odd-reflection" in names:
        if gen.x in rest.free_symbols:
            _fails("odd-reflection", f"the equation's right side depends on {gen.x} ({rest})")
        negated = rest.xreplace({p: -p for p in placeholders[0::2]})  # u and its even derivatives change sign
        if sp.simplify(negated + rest) != 0:
            _fails("odd-reflection", f"R does not change sign when (x, u) -> (-x, -u) (R = {rest})")


def _check_divergence(gen, names) -> None:
    coords = {sp.Symbol(c, real=True) for c in gen.coords}
    for part, expr in (("A", gen.coefficient), ("f", gen.source)):
        plain = expr.xreplace({g: sp.Dummy() for g in expr.atoms(AppliedUndef)})  # the input as one symbol
        if plain.free_symbols & coords:
            _fails(names[0], f"{part} = {expr} depends on the coordinates besides through the input")
    if "rotation" in names and not np.isclose(*gen.lengths):
        _fails("rotation", f"the box is {gen.lengths[0]:g} x {gen.lengths[1]:g}, not a square")


def _fails(name: str, why: str):
    raise ProblemError(f"training.augment: '{name}' does not hold: {why}")


def _as_symbols(gen) -> tuple[tuple[sp.Symbol, ...], sp.Expr]:
    """The right side with u, u_x, u_xx, ... as plain symbols (at least u and u_x)."""
    rhs = sp.sympify(gen.rhs).doit()
    order = max([d.derivative_count for d in rhs.atoms(sp.Derivative)] + [1])
    symbols = tuple(sp.Symbol("u" + ("_" + "x" * m if m else "")) for m in range(order + 1))  # as printed
    derivatives = {sp.Derivative(gen.u, (gen.x, m)): symbols[m] for m in range(order, 0, -1)}
    rest = rhs.xreplace(derivatives).xreplace({gen.u: symbols[0]})
    return symbols, rest


def augmentation(problem, names: tuple[str, ...], inputs: np.ndarray, fine: int = 1,
                 spectral: bool = False) -> Augmentation | None:  # fmt: skip
    """The augmentation of ``names`` (checked) for training inputs ``inputs`` (samples, *grid), or
    None when ``names`` is empty. ``fine``: the batches it transforms come on a grid that many
    times finer than ``inputs``' (1-D shifts and boosts), taken back band-limited when
    ``spectral`` (the data set's ``coarsen``), else subsampled."""
    if not names:
        return None
    gen = check(problem, names)
    flags = {"translate": "translation" in names, "reflect": "reflection" in names, "rotate": "rotation" in names,
             "odd_reflect": "odd-reflection" in names}
    if inputs.ndim == 2:
        flags.update(fine=fine, spectral=spectral)
    if "galilean" not in names:
        return Augmentation(**flags)
    step = gen.length / (inputs.shape[-1] * fine) / gen.span  # a boost of one fine grid step per T
    spread = BOOST_SPREAD * float(np.std(np.mean(inputs, axis=-1)))
    return Augmentation(max_boost=int(spread // step), boost_step=step, grid_speed=gen.length / gen.span,
                        **flags)  # fmt: skip
