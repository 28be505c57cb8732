"""Taylor mode through the MLP: every derivative a residual needs, at all points, in one pass.

Nested ``jvp`` computes one derivative at a time and repeats shared work: each direction
recomputes the value, and a second derivative along x carries the first derivative twice. Here the
network carries one *stream* per multi-index of the set D that is needed (closed under taking
sub-multi-indices, so it holds the value ``()`` and every lower derivative):

* a linear layer maps every stream by the same weights (the bias enters the value only);
* an elementwise activation σ combines them by Faà di Bruno's formula,
  ``∂^α σ(z) = Σ_π σ^(|π|)(z) Π_{B ∈ π} ∂^{α_B} z`` over the set partitions π of α's directions.

A stream known to vanish is left out rather than carried as zeros: after affine input scaling
every second and higher derivative of the inputs is zero, and the first ones are constants.
Points lie along the last axis (features × points), so elementwise work vectorises over points.

The cheap parts around the network are differentiated by nested ``jvp``: input embeddings before
it, and the trial function after it. For the latter, the network's output streams at a point x
define its Taylor polynomial ``p(y) = Σ_α n_α (y - x)^α / α!``, whose derivatives at x are exactly
the n_α for α in D; nested ``jvp`` of ``trial(p(y), y)`` at y = x then gives the field's
derivatives exactly, by the chain rule, without differentiating the network again.
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Callable, Iterable
from functools import cache

import jax
import jax.numpy as jnp

from .derivatives import derivatives


def closure(wanted: Iterable[tuple[int, ...]]) -> tuple[tuple[int, ...], ...]:
    """Every sub-multi-index of the ``wanted`` ones (with the value ``()``), lowest order first."""
    found = {()}
    for alpha in wanted:
        for k in range(1, len(alpha) + 1):
            found.update(itertools.combinations(alpha, k))  # alpha is sorted, so each is too
    return tuple(sorted(found, key=lambda a: (len(a), a)))


@cache
def partitions(alpha: tuple[int, ...]) -> tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]:
    """Faà di Bruno's terms for ``alpha``: ``(count, blocks)`` per distinct multiset of blocks."""
    counts: dict = {}
    for blocks in _set_partitions(list(range(len(alpha)))):
        key = tuple(sorted(tuple(alpha[i] for i in block) for block in blocks))
        counts[key] = counts.get(key, 0) + 1
    return tuple((count, key) for key, count in counts.items())


def _set_partitions(items: list) -> Iterable[list[list]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        yield [[first]] + part
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1 :]


def activation_derivatives(activation: Callable, z: jax.Array, order: int) -> list[jax.Array]:
    """``[σ(z), σ'(z), ..., σ^(order)(z)]``: closed forms for tanh and sin, nested jvp otherwise."""
    if activation is jnp.tanh:
        return _tanh_derivatives(jnp.tanh(z), order)
    if activation is jnp.sin:
        s, c = jnp.sin(z), jnp.cos(z)
        return [(s, c, -s, -c)[k % 4] for k in range(order + 1)]
    out, f = [activation(z)], activation
    for _ in range(order):
        f = _derivative(f)
        out.append(f(z))
    return out


def _derivative(f: Callable) -> Callable:
    return lambda z: jax.jvp(f, (z,), (jnp.ones_like(z),))[1]


def _tanh_derivatives(a: jax.Array, order: int) -> list[jax.Array]:
    """tanh's derivatives from its value a, by differentiating σ' = 1 - σ² k times:
    ``σ^(k+1) = -Σ_j C(k, j) σ^(j) σ^(k-j)`` (fewer operations than a polynomial in a)."""
    out = [a, 1 - a * a][: order + 1]
    for k in range(1, order):
        pairs = [math.comb(k, j) * (out[j] * out[k - j]) for j in range(k // 2 + 1)]
        doubled = [2 * p if j != k - j else p for j, p in enumerate(pairs)]  # C(k,j) = C(k,k-j)
        out.append(-sum(doubled[1:], doubled[0]))
    return out


class _Scaled:
    """A stream ``Σ_j coefficients[j] ⊙ sigma[j]`` whose factors besides the activation's
    derivatives are constant over the points (right after affine input scaling). It is left
    unmultiplied: the next layer scales its weights instead of every point, and streams sharing a
    derivative σ^(j) share one product (12% faster per step on Burgers)."""

    def __init__(self, sigma: list, coefficients: dict):
        self.sigma, self.coefficients = sigma, coefficients


def linear(weight: jax.Array, bias: jax.Array | None, streams: dict) -> dict:
    """Streams of ``W z + b``: the bias enters the value only.

    One product per stream: concatenating the streams into one product was 1.7x slower per
    training step on Burgers (the slices and their gradients cost more than the products saved).
    """
    out = {a: weight @ s for a, s in streams.items() if not isinstance(s, _Scaled)}
    by_order: dict = {}
    for a, s in streams.items():
        if isinstance(s, _Scaled):
            for j, c in s.coefficients.items():
                by_order.setdefault(j, []).append((a, c, s.sigma[j]))
    rows = weight.shape[0]
    for items in by_order.values():
        product = jnp.concatenate([weight * c.T for _, c, _ in items]) @ items[0][2]
        for k, (a, _, _) in enumerate(items):
            part = product[k * rows : (k + 1) * rows]
            out[a] = out[a] + part if a in out else part
    if bias is not None:
        out[()] = out[()] + bias[:, None]
    return out


def elementwise(activation: Callable, streams: dict, alphas: tuple) -> dict:
    """Streams of ``σ(z)`` for every multi-index in ``alphas`` (Faà di Bruno)."""
    order = max(len(a) for a in alphas)
    sigma = activation_derivatives(activation, streams[()], order)
    out = {(): sigma[0]}
    for alpha in alphas[1:]:  # alphas[0] is the value ()
        terms = [(count, blocks) for count, blocks in partitions(alpha) if all(b in streams for b in blocks)]
        if not terms:
            continue
        if all(streams[b].shape[-1] == 1 for _, blocks in terms for b in blocks):
            coefficients: dict = {}
            for count, blocks in terms:
                c = count * math.prod(streams[b] for b in blocks)
                coefficients[len(blocks)] = coefficients[len(blocks)] + c if len(blocks) in coefficients else c
            out[alpha] = _Scaled(sigma, coefficients)
        else:
            values = [count * sigma[len(blocks)] * math.prod(streams[b] for b in blocks) for count, blocks in terms]
            out[alpha] = sum(values[1:], values[0])
    return out


def mlp_streams(mlp, streams: dict, alphas: tuple) -> dict:
    """Push input streams (features × points) through an Equinox MLP with identity output."""
    for i, layer in enumerate(mlp.layers):
        streams = linear(layer.weight, layer.bias, streams)
        if i < len(mlp.layers) - 1:
            streams = elementwise(mlp.activation, streams, alphas)
    return streams


def through_head(head: Callable, values: dict, xs: jax.Array, wanted: Iterable) -> dict:
    """Derivatives of ``head(n(y), y)`` from the streams ``values`` ({α: (points, m)}) of n; a head
    marked ``affine`` (in n) goes by :func:`_through_affine_head`."""
    wanted = tuple(wanted)
    if getattr(head, "affine", False):
        return _through_affine_head(head, values, xs, wanted)

    def one(x, at_x):
        def surrogate(y):
            dy = y - x
            return sum((v * _monomial(dy, alpha) for alpha, v in at_x.items() if alpha), at_x[()])

        return derivatives(lambda y: head(surrogate(y), y), x, wanted, "jvp")

    return jax.vmap(one)(xs, values)


def _through_affine_head(head: Callable, values: dict, xs: jax.Array, wanted: tuple) -> dict:
    """Derivatives of ``u = A(y) + B(y) n(y)``, a head affine in the network's outputs n, by
    Leibniz's rule: ``∂^α u = ∂^α A + Σ_{S ⊆ α} ∂^S B · ∂^{α∖S} n``. A (the head at n = 0) and B
    (its Jacobian in n) depend on the points alone, not on the parameters: nothing of them is
    differentiated in training, and the program is smaller (on Burgers with exact values the
    training step compiled in about 1.4 s less) than nested ``jvp`` through the whole head."""
    alphas = closure(wanted)
    parts = _head_parts(head, alphas)
    a, b = jax.lax.stop_gradient(parts(xs, values[()].shape[1]))  # (points, m) and (points, m, outputs)
    out = {}
    for alpha in wanted:
        total = a[alpha]
        for (on_b, on_n), count in _leibniz(alpha).items():
            total = total + count * jnp.einsum("pij,pj->pi", b[on_b], values[on_n])
        out[alpha] = total
    return out


_PARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # head -> {alphas: program}


def _head_parts(head: Callable, alphas: tuple) -> Callable:
    """``parts(xs, outputs) -> (∂A, ∂B)`` at the points for an affine head, one jitted function per
    head and derivative set: a training chunk (its loss, its progress record) and the metrics call
    it several times, and JAX traces a jitted function once per argument shape, not once per call
    (the trial function's derivatives are the costliest part of tracing a step: on Burgers with
    exact values, 1.3 of the chunk's 3.1 s of tracing went to its second, identical trace). The
    function is jitted for one point and mapped over the points outside it, so the training points,
    the metrics' 4096 fresh points and any other number share its one trace (0.2 s on Burgers that
    the metrics' background preparation took from training's cores on every run)."""
    programs = _PARTS.setdefault(head, {})
    if alphas not in programs:
        owner = weakref.ref(head)  # the cache holds its heads weakly: no reference back from the program

        def at_point(x, outputs):
            zero, head = jnp.zeros(outputs, x.dtype), owner()

            def both(y):  # [A | B] (m, 1 + outputs): the value and Jacobian of one forward pass
                along = lambda e: jax.jvp(lambda n: head(n, y), (zero,), (e,))  # noqa: E731
                a, b = jax.vmap(along, out_axes=(None, -1))(jnp.eye(outputs, dtype=x.dtype))
                return jnp.concatenate([a[:, None], b], axis=1)

            ab = derivatives(both, x, alphas, "jvp")
            return {k: v[..., 0] for k, v in ab.items()}, {k: v[..., 1:] for k, v in ab.items()}

        # jitted per point, mapped outside: traced once for every number of points
        one = jax.jit(at_point, static_argnums=1)
        programs[alphas] = lambda xs, outputs: jax.vmap(lambda x: one(x, outputs))(xs)
    return programs[alphas]


@cache
def _leibniz(alpha: tuple[int, ...]) -> dict:
    """``{(β, α∖β): count}`` over the subsets of α's positions (Leibniz's rule for a product)."""
    counts: dict = {}
    for k in range(len(alpha) + 1):
        for subset in itertools.combinations(range(len(alpha)), k):
            key = (tuple(alpha[i] for i in subset), tuple(alpha[i] for i in range(len(alpha)) if i not in subset))
            counts[key] = counts.get(key, 0) + 1
    return counts


def _monomial(dy: jax.Array, alpha: tuple[int, ...]) -> jax.Array:
    """``dy^α / α!``: its derivative ∂^α at dy = 0 is 1, every other one is 0."""
    factorial = math.prod(math.factorial(alpha.count(i)) for i in set(alpha))
    return math.prod(dy[i] for i in alpha) / factorial
