"""Training pairs multiplied by the equation's symmetries (``[solver.training] augment``).

A symmetry of the equation maps a solution to a solution, so it maps an input/output pair of the
solution operator to another exact pair: training on transformed copies of the data costs no
classical solves. Each symmetry asked for is first *verified* on the equation as written (SymPy);
one that does not hold is refused, never applied.

* ``"translation"``: a periodic evolution equation ``u_t = R(u, u_x, u_xx, ...)`` whose right side
  does not depend on ``x`` commutes with shifts: ``u0(x − s) ↦ u(x − s, T)``. Each training pair is
  shifted by a random whole number of grid steps (exact on the grid).
* ``"galilean"``: if ``R(u + c, u_x, ...) = R(u, u_x, ...) − c u_x`` for every ``c`` (Burgers'
  ``−u u_x + ν u_xx``, for one), then ``v(x, t) = u(x − c t, t) + c`` solves the equation too, so
  ``u0 + c ↦ u(x − c T, T) + c``. The boost ``c`` is a whole number of grid steps per ``T`` (the
  shift is then exact on the grid), drawn uniformly within ±2.5 standard deviations of the training
  inputs' means: the augmented inputs stay where the input distribution puts its mass.

On the periodic Burgers benchmark (``examples/burgers_operator.toml``) the steepest test fronts
came with input means far from zero, where 1000 samples hold few examples; the boosts supply them
(BENCHMARKS.md, "Neural operators").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..._errors import ProblemError

BOOST_SPREAD = 2.5  # boosts within this many standard deviations of the training inputs' means


@dataclass(frozen=True)
class Augmentation:
    """What the training batches undergo: random shifts (``translate``) and Galilean boosts of up
    to ``max_boost`` grid steps, each step adding ``boost_step`` to the input and the output."""

    translate: bool
    max_boost: int = 0
    boost_step: float = 0.0

    def apply(self, key, a, u):
        """The batch ``(a, u)`` (samples, points) transformed, one random draw per sample."""
        import jax
        import jax.numpy as jnp

        k_shift, k_boost = jax.random.split(key)
        n, s = a.shape
        shift = jax.random.randint(k_shift, (n,), 0, s) if self.translate else jnp.zeros(n, jnp.int32)
        boost = jax.random.randint(k_boost, (n,), -self.max_boost, self.max_boost + 1) if self.max_boost \
            else jnp.zeros(n, jnp.int32)  # fmt: skip
        c = (boost * self.boost_step).astype(a.dtype)[:, None]
        roll = jax.vmap(lambda v, k: jnp.roll(v, k))
        return roll(a, shift) + c, roll(u, shift + boost) + c


def check(problem, names: tuple[str, ...]):
    """ProblemError unless every symmetry in ``names`` holds for ``problem``'s equation; the
    problem's generator (:class:`~neuralsolve.reference.operators.Evolution`) when they do."""
    if not names:
        return None
    from ...reference.operators import Evolution, generator_for

    try:
        gen = generator_for(problem)
    except ProblemError:
        gen = None
    if not isinstance(gen, Evolution):
        raise ProblemError(f"training.augment: {', '.join(names)} apply to 1-D periodic evolution problems "
                           "(u_t = R(u, u_x, ...) with the initial state as input) only")  # fmt: skip
    placeholders, rest = _as_symbols(gen)
    if "translation" in names and gen.x in rest.free_symbols:
        raise ProblemError(f"training.augment: 'translation' does not hold: the equation's right side depends on "
                           f"{gen.x} ({rest})")  # fmt: skip
    if "galilean" in names:
        c = sp.Dummy("c")  # any constant
        u, ux = placeholders[0], placeholders[1]
        if sp.simplify(rest.subs(u, u + c) - rest + c * ux) != 0:
            raise ProblemError(f"training.augment: 'galilean' does not hold: R(u + c, u_x, ...) is not "
                               f"R(u, u_x, ...) - c u_x for R = {rest}")  # fmt: skip
    return gen


def _as_symbols(gen) -> tuple[tuple[sp.Symbol, ...], sp.Expr]:
    """The right side with u, u_x, u_xx, ... as plain symbols (at least u and u_x)."""
    rhs = sp.sympify(gen.rhs).doit()
    order = max([d.derivative_count for d in rhs.atoms(sp.Derivative)] + [1])
    symbols = tuple(sp.Symbol("u" + ("_" + "x" * m if m else "")) for m in range(order + 1))  # as printed
    derivatives = {sp.Derivative(gen.u, (gen.x, m)): symbols[m] for m in range(order, 0, -1)}
    rest = rhs.xreplace(derivatives).xreplace({gen.u: symbols[0]})
    return symbols, rest


def augmentation(problem, names: tuple[str, ...], inputs: np.ndarray) -> Augmentation | None:
    """The augmentation of ``names`` (checked) for training inputs ``inputs`` (samples, points), or
    None when ``names`` is empty."""
    if not names:
        return None
    gen = check(problem, names)
    if "galilean" not in names:
        return Augmentation(translate="translation" in names)
    step = gen.length / inputs.shape[-1] / gen.span  # a boost of one grid step per T
    spread = BOOST_SPREAD * float(np.std(np.mean(inputs, axis=-1)))
    return Augmentation("translation" in names, int(spread // step), step)
