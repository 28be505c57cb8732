"""What an inverse solve trains: the fields' network, the unknown constants and the hidden terms'
networks, as one pytree of parameters, and the loss terms over it (equations, conditions, data).

Every part is trained by every optimiser phase, quasi-Newton ones included: the constants are
leaves of the same pytree as the network's weights, not variables kept aside.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ...loss.terms import make_terms, sample_data, term_names
from ...nn.mlp import MLP
from ...nn.model import split
from ...nn.trial import make_trial
from ...problem.inverse import data_scale, hidden_box
from ...problem.problem import Problem

# A field's data term is its mean squared misfit relative to the spread of its measurements; with
# hidden terms, made smaller by 1 + (noise / (NOISE_SCALE * spread))^2 when the noise is known: noisy
# data then pulls less against the equations, which cannot fit the noise (:func:`data_weights`).
NOISE_SCALE = 0.05


class FieldModel:
    """``model(params, x)`` of the fields alone, over the whole parameter pytree (``params["net"]``
    is the network's part), with the fields' Taylor mode passed through."""

    def __init__(self, model):
        self.model = model

    def __call__(self, params, x):
        return self.model(params["net"], x)

    def taylor(self, params, xs, wanted):
        return self.model.taylor(params["net"], xs, wanted)


class Learned:
    """The unknowns of a problem and how they sit in the parameter pytree.

    ``params = {"net": field network, "theta": {name: raw value}, "hidden": {name: network}}``;
    a positive unknown's raw value is its logarithm, a signed one's is the value divided by its
    initial magnitude (see :meth:`~neuralsolve.problem.inverse.Unknown.scale`).
    """

    def __init__(self, problem: Problem, network: MLP, dtype, seed: int, floor: bool | None = None,
                 noise_aware: bool | None = None):  # fmt: skip
        inv = problem.inverse
        # the known noise shapes the loss only where hidden terms are learned (:func:`data_weights`)
        self.noise_aware = bool(inv.hidden) if noise_aware is None else noise_aware
        self.problem, self.dtype = problem, dtype
        self.floor = self.noise_aware if floor is None else floor
        model, net = build_fields(problem, network, dtype, seed)
        self.model = FieldModel(model)
        self.names = tuple(inv.unknowns)
        theta = {k: jnp.asarray(np.log(u.initial) if u.positive else u.initial / u.scale(), dtype)
                 for k, u in inv.unknowns.items()}  # fmt: skip
        hidden, self.hidden = {}, {}
        for i, (name, h) in enumerate(inv.hidden.items()):
            lo, hi = hidden_box(problem, h)
            net_h = MLP(width=h.width, depth=h.depth, activation=h.activation).build(
                len(h.inputs), 1, lo, hi, dtype, seed + 7919 * (i + 1))  # fmt: skip
            import equinox as eqx

            arrays, static = eqx.partition(net_h, eqx.is_inexact_array)
            hidden[name], self.hidden[name] = arrays, (static, self._reader(h.inputs))
        self.params = {"net": net, "theta": theta, "hidden": hidden}
        self._terms: dict = {}
        self.sizes: list[float] | None = None  # each equation's size, its weight's scale (train.equation_sizes)

    def _reader(self, inputs) -> Callable:
        """``read(x, values) -> inputs`` of a hidden term at one point (values: derivatives by
        direction, each (fields,))."""
        coords, fields = self.problem.domain.coords, self.problem.fields

        def read(x, values):
            return jnp.stack([values[()][fields.index(n)] if n in fields else x[coords.index(n)] for n in inputs])

        return read

    def constants(self, params, support: dict | None = None) -> dict:
        """The unknown constants' values from the parameters; ``support`` (name -> 0 or 1, in the
        data) holds some at 0 (a formula's terms left out, see ``train.discover_and_verify``)."""
        out = {}
        for name, u in self.problem.inverse.unknowns.items():
            raw = params["theta"][name]
            out[name] = jnp.exp(raw) if u.positive else raw * u.scale()
            if support is not None and name in support:
                out[name] = out[name] * support[name]
        return out

    def hidden_value(self, params, name: str, inputs: jax.Array) -> jax.Array:
        """Hidden term ``name`` at one point's ``inputs``."""
        import equinox as eqx

        static, _ = self.hidden[name]
        return eqx.combine(params["hidden"][name], static)(inputs)[0]

    @functools.cached_property
    def misfits(self) -> Callable:
        """``misfits(params, observed)``: :func:`data_misfits` of this model as one compiled
        program, traced once (op by op, the network's evaluation was about 40 compilations on a
        first run; elimination measures the misfit once a round)."""
        return jax.jit(lambda params, observed: data_misfits(self.model, params, observed))

    def unknowns(self, params, support: dict | None = None) -> Callable | dict:
        """The residual's scalar unknowns from the parameters: the constants, and the hidden terms
        as functions of the point (see :func:`~neuralsolve.loss.terms.make_terms`)."""
        constants = self.constants(params, support)
        if not self.hidden:
            return constants

        def at(x, values):
            return {**constants, **{k: self.hidden_value(params, k, read(x, values))
                                    for k, (_, read) in self.hidden.items()}}  # fmt: skip

        return at

    def terms(self, method: str, causal=None) -> Callable:
        """``terms(params, data) -> (k,)``: the equations' and conditions' mean squared residuals,
        then each measured field's data misfit (see :func:`data_misfits`). The same function for
        the same arguments, so that fits sharing a phase share its compiled steps."""
        key = (method, causal)
        if key not in self._terms:
            self._terms[key] = self._make_terms(method, causal)
        return self._terms[key]

    def _make_terms(self, method: str, causal) -> Callable:
        problem, model = self.problem, self.model

        def terms(params, data):
            physics = make_terms(problem, model, method, unknowns=self.unknowns(params, data.get("support")), causal=causal)
            return jnp.concatenate([physics(params, data), data_misfits(model, params, data["observed"], floor=self.floor)])

        return terms


def build_fields(problem: Problem, network: MLP, dtype, seed: int):
    """The fields' model and initial network, as for a forward solve, except that a measured
    field without a ``scale`` of its own is scaled by its measurements' root mean square: the
    network then works with values near 1 whatever the field's units."""
    domain = problem.domain
    lo, hi = domain.bounds()
    given = problem.arguments.get("scale") or {}
    scales = [s if f in given else data_scale(problem, j) for j, (f, s) in enumerate(zip(problem.fields, problem.scale))]
    trial = make_trial(problem.hard, domain.segments(), domain.coords, len(problem.fields), scales, problem.sign,
                       shape=getattr(domain.plane(), "shape", None), shape_values=problem.shape_hard)
    net = network.build(domain.dim, len(problem.fields) + trial.extra_outputs, lo, hi, dtype, seed,
                        (), problem.periodic)
    return split(net, trial)


def measured(problem: Problem) -> list[tuple[int, int]]:
    """``(data set, field)`` of every field measured in some row of a data set, in term order."""
    return [(i, j) for i, d in enumerate(problem.inverse.data) for j in range(len(problem.fields))
            if np.isfinite(d.values[:, j]).any()]  # fmt: skip


def data_term_names(problem: Problem) -> list[str]:
    """Names of the data terms, after the equations' and conditions' (:func:`term_names`)."""
    many = len(problem.inverse.data) > 1
    return [f"data{f' {i + 1}' if many else ''}: {problem.fields[j]}" for i, j in measured(problem)]


def all_term_names(problem: Problem) -> list[str]:
    """Every loss term's name, in the order of :meth:`Learned.terms`."""
    return term_names(problem) + data_term_names(problem)


def data_weights(problem: Problem, noise_aware: bool) -> list[float]:
    """Each data term's weight: the data set's ``weight`` if given, else 1 / spread², the spread
    being the measurements' standard deviation (their magnitude if they are all alike); when
    ``noise_aware`` (problems with hidden terms), divided by 1 + (noise / (NOISE_SCALE spread))².

    Why only there: a hidden network can follow any path, so nothing but a lighter data weight
    (and the misfit's floor at the noise variance) stops the fields from following the noise. With
    constants alone the equations do that, and the lighter weight and the floor only let them
    smooth what few points resolve: on Burgers (N = 2000, 10% noise, seeds 0-4) the median error of
    nu was 7.6% with them and 0.95% without (BENCHMARKS.md)."""
    out = []
    for i, j in measured(problem):
        d = problem.inverse.data[i]
        if d.weight is not None:
            out.append(d.weight)
            continue
        seen = d.values[:, j][np.isfinite(d.values[:, j])]
        spread = float(np.std(seen)) or float(np.max(np.abs(seen))) or 1.0
        noise = d.noise[j]
        factor = 1.0 + (noise / (NOISE_SCALE * spread)) ** 2 if noise_aware and np.isfinite(noise) else 1.0
        out.append(1.0 / (spread**2 * factor))
    return out


def observed_data(problem: Problem) -> list[dict]:
    """The data sets as arrays for the loss: points, values (0 where not measured) and a 0/1 mask,
    one column per measured field of the set (in :func:`measured` order)."""
    out = []
    for i, d in enumerate(problem.inverse.data):
        cols = [j for k, j in measured(problem) if k == i]
        values = d.values[:, cols]
        mask = np.isfinite(values)
        floor = np.where(np.isfinite(d.noise[cols]), d.noise[cols], 0.0) ** 2
        out.append({"points": d.points, "values": np.where(mask, values, 0.0), "mask": mask.astype(float),
                    "columns": np.asarray(cols), "floor": floor})  # fmt: skip
    return out


def data_misfits(model, params, observed: list[dict], floor: bool = False) -> jax.Array:
    """Mean squared misfit of each measured field of each data set, over the rows measuring it;
    with ``floor``, less the known noise variance and never below 0 (the discrepancy principle: a
    fit closer to the data than the noise is fitting the noise, so the data stop pulling there
    and the equations alone shape the solution)."""
    out = []
    for d in observed:
        u = jax.vmap(model, in_axes=(None, 0))(params, d["points"])[:, d["columns"]]
        r = (u - d["values"]) * d["mask"]
        mse = jnp.sum(r**2, axis=0) / jnp.maximum(jnp.sum(d["mask"], axis=0), 1)
        out.append(jnp.maximum(mse - d["floor"], 0.0) if floor else mse)
    return jnp.concatenate(out) if out else jnp.zeros((0,))


def sampler_for(problem: Problem, settings: dict, dtype, support: dict | None = None) -> Callable:
    """``sampler(draw)``: collocation points (fresh per draw), the data sets (always the same) and
    the ``support`` of the constants (see :meth:`Learned.constants`), if given."""
    points, seed = settings["points"], settings["seed"]
    observed = observed_data(problem)
    extra = {} if support is None else {"support": {k: np.asarray(float(v)) for k, v in support.items()}}

    def sampler(draw):
        data = {**sample_data(problem, points, seed + 1000003 * draw), "observed": observed, **extra}
        cast = lambda a: jnp.asarray(a, dtype) if np.issubdtype(np.asarray(a).dtype, np.floating) else jnp.asarray(a)
        return jax.tree_util.tree_map(cast, data)

    return sampler


def misfit_rms(problem: Problem, learned: Learned, params) -> dict[str, float]:
    """Root-mean-square misfit to the data of each measured field (over every data set), in the
    field's units."""
    squares = np.asarray(learned.misfits(params, _as_arrays(problem, learned.dtype)))
    counts = [np.isfinite(problem.inverse.data[i].values[:, j]).sum() for i, j in measured(problem)]
    total, n = {}, {}
    for (i, j), s, c in zip(measured(problem), squares, counts):
        f = problem.fields[j]
        total[f], n[f] = total.get(f, 0.0) + s * c, n.get(f, 0) + c
    return {f: float(np.sqrt(total[f] / n[f])) for f in total}


def _as_arrays(problem: Problem, dtype) -> list[dict]:
    cast = lambda a: jnp.asarray(a, dtype) if np.issubdtype(np.asarray(a).dtype, np.floating) else jnp.asarray(a)
    return jax.tree_util.tree_map(cast, observed_data(problem))

