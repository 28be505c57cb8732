"""Dense BFGS as an optax transformation, chained with a line search like ``optax.lbfgs``.

For the small networks PINNs use (a few thousand parameters) the dense inverse-Hessian estimate
costs far less than one loss evaluation, and in float64 it converges much further than L-BFGS's
limited memory allows.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree


class ScaleByBFGSState(NamedTuple):
    count: jax.Array
    prev_params: jax.Array  # flat parameters of the previous step
    prev_grad: jax.Array  # flat gradient of the previous step
    hinv: jax.Array  # inverse-Hessian estimate, (n, n)


def scale_by_bfgs() -> optax.GradientTransformation:
    """Precondition the gradient by the BFGS inverse-Hessian estimate (Nocedal & Wright, eq. 6.17).

    The update is skipped when the curvature condition ``s·y > 0`` fails, so the estimate stays
    positive definite; on the first update the identity is rescaled by ``s·y / y·y``.
    """

    def init(params):
        flat, _ = ravel_pytree(params)
        n = flat.size
        return ScaleByBFGSState(jnp.asarray(0), flat, jnp.zeros_like(flat), jnp.eye(n, dtype=flat.dtype))

    def update(updates, state, params=None):
        g, unravel = ravel_pytree(updates)
        x, _ = ravel_pytree(params)
        s, y = x - state.prev_params, g - state.prev_grad
        sy, yy = s @ y, y @ y
        valid = (state.count > 0) & (sy > jnp.finfo(g.dtype).eps * jnp.sqrt(yy * (s @ s)))
        h = jnp.where(
            valid & (state.count == 1), (sy / jnp.where(yy > 0, yy, 1.0)) * jnp.eye(g.size, dtype=g.dtype), state.hinv
        )
        rho = 1.0 / jnp.where(valid, sy, 1.0)
        hy = h @ y
        updated = h - rho * (jnp.outer(s, hy) + jnp.outer(hy, s)) + (rho**2 * (y @ hy) + rho) * jnp.outer(s, s)
        h = jnp.where(valid, 0.5 * (updated + updated.T), h)  # keep it symmetric against round-off
        # First step: a gradient step capped to unit length, as optax.lbfgs does.
        direction = jnp.where(state.count > 0, h @ g, g * jnp.minimum(1.0, 1.0 / jnp.linalg.norm(g)))
        return unravel(direction), ScaleByBFGSState(state.count + 1, x, g, h)

    return optax.GradientTransformation(init, update)


def bfgs(max_linesearch_steps: int = 30) -> optax.GradientTransformationExtraArgs:
    """Dense BFGS with optax's zoom line search (strong Wolfe conditions)."""
    return optax.chain(
        scale_by_bfgs(),
        optax.scale(-1.0),
        optax.scale_by_zoom_linesearch(max_linesearch_steps=max_linesearch_steps),
    )


# ---------------------------------------------------------------------------------------------
# Self-scaled members of the Broyden family (Urbán, Stefanou & Pons, J. Comput. Phys. 2025;
# Al-Baali 1998; Al-Baali & Khalfan 2005). In inverse-Hessian form one update reads
#
#     H+ = (H - Hy Hyᵀ / yHy + φ yHy v vᵀ) / τ + s sᵀ / sy,    v = s / sy - Hy / yHy,
#
# φ = 1 is BFGS and φ = 0 DFP; τ <= 1 shrinks the old curvature model before the new pair enters,
# which corrects the overly large Hessian estimates that make plain BFGS crawl on stiff losses.
# The choices of τ and φ use the scale-free quantities b = sBs / sy (B = H⁻¹) and h = yHy / sy.
# ---------------------------------------------------------------------------------------------


class ScaleBySelfScaledState(NamedTuple):
    count: jax.Array
    prev_params: jax.Array  # flat parameters of the previous step
    prev_grad: jax.Array  # flat gradient of the previous step
    hinv: jax.Array  # inverse-Hessian estimate, (n, n)


def ssbfgs_factors(b, h, n):
    """SSBFGS: the BFGS update (φ = 1) after scaling by τ = min(1, 1/b) (Al-Baali's restricted
    Oren–Luenberger factor: it only ever shrinks the model, never inflates it)."""
    del h, n
    return jnp.minimum(1.0, 1.0 / b), jnp.ones_like(b)


def ssbroyden_factors(b, h, n):
    """SSBroyden: Al-Baali & Khalfan's choice of (τ, φ) as used by Urbán et al.

    θ is the Hessian-form Broyden parameter (θ = 0 BFGS, θ = 1 DFP), kept inside the interval
    [θ⁻, θ⁺] where the scaled update stays well conditioned, and as close as allowed to
    (1 - b) / b; τ then follows from θ with the determinant factor σ^(-1/(n-1)), σ = 1 + aθ.
    Returns (τ, φ) with φ = (1 - θ) / σ, the same update in inverse-Hessian form.
    """
    tiny = jnp.finfo(b.dtype).tiny
    a = jnp.maximum(b * h - 1.0, jnp.finfo(b.dtype).eps)  # >= 0 by Cauchy–Schwarz; eps avoids 0/0
    c = jnp.sqrt(a / (1.0 + a))
    rho_minus = jnp.maximum(jnp.minimum(1.0, h * (1.0 - c)), tiny)
    theta_minus, theta_plus = (rho_minus - 1.0) / a, 1.0 / rho_minus
    theta = jnp.maximum(theta_minus, jnp.minimum(theta_plus, (1.0 - b) / b))
    sigma = jnp.maximum(1.0 + a * theta, tiny)  # > 0 because θ >= θ⁻ > -1/a
    rho_plus = jnp.minimum(1.0, 1.0 / b)
    det = sigma ** (-1.0 / max(n - 1, 1))
    tau = jnp.where(theta <= 0, jnp.minimum(rho_plus * det, sigma),
                    rho_plus * jnp.minimum(det, 1.0 / jnp.where(theta > 0, theta, 1.0)))  # fmt: skip
    return tau, (1.0 - theta) / sigma


def _self_scaled_update(h, s, y, b, factors):
    """One self-scaled Broyden-family update of the inverse-Hessian estimate ``h``."""
    sy = s @ y
    hy = h @ y
    yhy = y @ hy
    tau, phi = factors(b, yhy / sy, s.size)
    v = s / sy - hy / yhy
    updated = (h - jnp.outer(hy, hy) / yhy + phi * yhy * jnp.outer(v, v)) / tau + jnp.outer(s, s) / sy
    return 0.5 * (updated + updated.T)  # keep it symmetric against round-off


def scale_by_self_scaled(factors) -> optax.GradientTransformation:
    """Precondition the gradient by a self-scaled Broyden-family inverse-Hessian estimate.

    ``factors(b, h, n) -> (τ, φ)`` picks the member (:func:`ssbfgs_factors`,
    :func:`ssbroyden_factors`). Like :func:`scale_by_bfgs`, the update is skipped when the
    curvature condition ``s·y > 0`` fails, and the first update starts from ``(s·y / y·y) I``.
    """

    def init(params):
        flat, _ = ravel_pytree(params)
        return ScaleBySelfScaledState(jnp.asarray(0), flat, jnp.zeros_like(flat), jnp.eye(flat.size, dtype=flat.dtype))

    def update(updates, state, params=None):
        g, unravel = ravel_pytree(updates)
        x, _ = ravel_pytree(params)
        s, y = x - state.prev_params, g - state.prev_grad
        sy, yy, ss = s @ y, y @ y, s @ s
        valid = (state.count > 0) & (sy > jnp.finfo(g.dtype).eps * jnp.sqrt(yy * ss))
        safe_sy = jnp.where(valid, sy, 1.0)
        first = state.count == 1
        h = jnp.where(first, (safe_sy / jnp.where(yy > 0, yy, 1.0)) * jnp.eye(g.size, dtype=g.dtype), state.hinv)
        # b = sBs / sy with B = H⁻¹. The step was s = -α H g_prev, so sBs = (s·g_prev)² / (g_prev·H g_prev)
        # and B is never formed; the first step did not use H, so there b comes from (sy/yy) I directly.
        g_prev = state.prev_grad
        ghg = g_prev @ (state.hinv @ g_prev)
        sbs = jnp.where(first, yy * ss / safe_sy, (s @ g_prev) ** 2 / jnp.where(ghg > 0, ghg, 1.0))
        b = sbs / safe_sy
        safe = (jnp.where(valid, s, 0.0), jnp.where(valid, y, 1.0), jnp.where(valid & (b > 0), b, 1.0))
        updated = _self_scaled_update(h, *safe, factors)
        h = jnp.where(valid & jnp.all(jnp.isfinite(updated)), updated, h)
        # First step: a gradient step capped to unit length, as optax.lbfgs does.
        direction = jnp.where(state.count > 0, h @ g, g * jnp.minimum(1.0, 1.0 / jnp.linalg.norm(g)))
        return unravel(direction), ScaleBySelfScaledState(state.count + 1, x, g, h)

    return optax.GradientTransformation(init, update)


def _with_linesearch(scaling, max_linesearch_steps: int) -> optax.GradientTransformationExtraArgs:
    return optax.chain(scaling, optax.scale(-1.0),
                       optax.scale_by_zoom_linesearch(max_linesearch_steps=max_linesearch_steps))  # fmt: skip


def ssbfgs(max_linesearch_steps: int = 30) -> optax.GradientTransformationExtraArgs:
    """Self-scaled BFGS with optax's zoom line search (strong Wolfe conditions)."""
    return _with_linesearch(scale_by_self_scaled(ssbfgs_factors), max_linesearch_steps)


def ssbroyden(max_linesearch_steps: int = 30) -> optax.GradientTransformationExtraArgs:
    """Self-scaled Broyden with optax's zoom line search (strong Wolfe conditions)."""
    return _with_linesearch(scale_by_self_scaled(ssbroyden_factors), max_linesearch_steps)
