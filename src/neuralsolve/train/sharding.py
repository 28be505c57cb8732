"""Data-parallel training: the collocation points split over several devices (``devices``, or a
CPU's cores on their own).

One 1-D mesh of the chosen devices, with the axis ``"points"``: every point array is split along
its leading axis (``NamedSharding(mesh, P("points"))``), the parameters and the optimiser state
are replicated. Only the order of the sums over points changes. Two ways to run the steps:

* *per device* (a loss that is a plain mean over each term's points): every device runs the whole
  chunk of steps on its share of the points (``jax.shard_map``), and the devices meet once per
  loss evaluation, to average their losses and gradients (``neuralsolve.train.fit``). Each
  device's share is equal, so the mean of their means is the mean over all points;
* *by XLA* (any other loss: causal weights, adaptive points, Gauss–Newton rows): the program is
  written for all the points and XLA inserts the reductions over the devices itself.

On a CPU, XLA splits each operation over the cores, and at this problem size the threads meet
at every operation: on issue 20's Burgers setup (2540 points, a 20 x 3 network, float32, a 2-core
Xeon) the Adam steps ran 1.2-1.5x faster with the CPU made two devices, each running the steps on
half the points. :func:`cores_for` chooses that split where it pays; ``neuralsolve``'s command line
makes each core a device before JAX starts (:mod:`neuralsolve.cores`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._errors import ProblemError

AXIS = "points"
# Points per device below which a CPU's cores are not split (Burgers' Adam step, 2-core Xeon: 256
# points per device ran 0.92x as fast as one device on all 512, 512 per device 1.25x, 1024 1.47x)
MIN_POINTS_PER_CORE = 512


def check_devices(value) -> int | str | None:
    """The ``devices`` setting checked: ``"all"``, a whole number (1: one device, nothing split),
    or None (not given: a CPU's cores where that pays, :func:`cores_for`)."""
    if value is None or value == "all":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProblemError(f"devices must be 'all' or a whole number >= 1, got {value!r}")
    return value


class OneDevice:
    """The placement of a solve on one device: arrays stay where JAX puts them."""

    count = 1
    per_device = None  # the mesh whose devices each run the whole chunk of steps on their points

    def points(self, data):
        """``data`` as it is."""
        return data

    def replicated(self, tree):
        """``tree`` as it is."""
        return tree

    def shardings(self, data):
        """None: nothing was placed."""
        return None


class Placement(OneDevice):
    """Collocation points split over the devices of ``mesh`` along their leading axis, everything
    else (parameters, optimiser state) replicated on each of them."""

    def __init__(self, mesh: Mesh, per_device: bool = False):
        self.mesh, self.count = mesh, mesh.size
        self.per_device = mesh if per_device else None

    def points(self, data):
        """``data`` (a pytree of point arrays) split over the devices; ProblemError for an array
        whose length is not a multiple of the device count."""
        split, whole = NamedSharding(self.mesh, P(AXIS)), NamedSharding(self.mesh, P())

        def put(a):
            if np.ndim(a) == 0:
                return jax.device_put(a, whole)
            if len(a) % self.count:
                raise ProblemError(f"devices: an array of {len(a)} points does not split evenly over "
                                   f"{self.count} devices")  # fmt: skip
            return jax.device_put(a, split)

        return jax.tree_util.tree_map(put, data)

    def replicated(self, tree):
        """``tree`` (parameters, optimiser state, counters) copied to every device."""
        return jax.device_put(tree, NamedSharding(self.mesh, P()))

    def shardings(self, data):
        """The ``.sharding`` of each array of ``data`` (where the points really are)."""
        return jax.tree_util.tree_map(lambda a: a.sharding, data)


def placement(devices, per_device: bool = False) -> OneDevice:
    """The placement of the checked setting ``devices`` (:func:`check_devices`) on this machine's
    devices of the default backend (every process's, after ``jax.distributed.initialize()``);
    ``per_device``: each device runs the whole chunk of steps (a loss that is a plain mean).

    Raises:
        ProblemError: when more devices are asked for than there are.
    """
    if devices is None or devices == 1:
        return OneDevice()
    found = jax.devices()
    if devices != "all" and devices > len(found):
        raise ProblemError(f"devices: {devices} asked for, but there are only {len(found)} {found[0].platform} "
                           f"device(s) here; use devices = 'all' or a number up to {len(found)}")  # fmt: skip
    chosen = found if devices == "all" else found[:devices]
    return Placement(Mesh(np.array(chosen), (AXIS,)), per_device) if len(chosen) > 1 else OneDevice()


def cores_for(points: int) -> int:
    """How many of a CPU's devices (its cores, when the command line made them devices) to
    split ``points`` interior points over when the settings ask for none: as many as give each at
    least :data:`MIN_POINTS_PER_CORE` points and split them evenly; 1 (no split) on a GPU."""
    if jax.default_backend() != "cpu":
        return 1
    count = min(len(jax.devices()), points // MIN_POINTS_PER_CORE)
    while count > 1 and points % count:
        count -= 1
    return max(count, 1)


def on_each_device(chunk: Callable, mesh: Mesh) -> Callable:
    """``chunk(carry, data, weights, n)`` compiled to run on every device of ``mesh`` at once, each
    on its share of ``data``'s point arrays (``jax.shard_map``), the rest replicated; the chunk
    makes its devices agree (:func:`averaged`), so its results are replicated."""

    @jax.jit
    def run(carry, data, weights, n):
        on_points = jax.tree_util.tree_map(lambda a: P(AXIS) if jnp.ndim(a) else P(), data)
        return jax.shard_map(chunk, mesh=mesh, in_specs=(P(), on_points, P(), P()), out_specs=P(),
                             check_vma=False)(carry, data, weights, n)  # fmt: skip

    return run


def averaged(local: Callable) -> Callable:
    """``loss(p)`` over every device's points, from ``local(p)`` on a device's own equal share (a
    mean of means), inside :func:`on_each_device`. Its value and gradient are averaged across the
    devices together, in one exchange per evaluation, not one for the value and another for the
    gradient (a custom VJP: the gradient is computed, averaged and kept with the value)."""

    @jax.custom_vjp
    def loss(p):
        return averaged_values(local(p))

    def forward(p):
        value, grad = averaged_values(jax.value_and_grad(local)(p))
        return value, grad

    def backward(grad, cotangent):
        return (jax.tree_util.tree_map(lambda g: cotangent * g, grad),)

    loss.defvjp(forward, backward)
    return loss


def averaged_values(tree):
    """``tree`` averaged across the devices, inside :func:`on_each_device`."""
    return jax.lax.pmean(tree, AXIS)


def check_split(count: int, extra: int, devices: int) -> None:
    """ProblemError unless ``count`` interior points (and ``extra`` places kept for points that
    adaptive sampling adds) split evenly over ``devices`` devices; it says which counts would."""
    left = (count + extra) % devices
    if not left:
        return
    fits = " or ".join(str(c) for c in (count - left, count - left + devices) if c >= 1)
    room = f" (and {extra} places for points added by adaptive sampling)" if extra else ""
    raise ProblemError(f"devices: {count} interior points{room} do not split evenly over {devices} devices; "
                       f"use points.interior = {fits}")  # fmt: skip


def whole_copies(tree, devices: int):
    """Each array of ``tree`` repeated whole until its length is a multiple of ``devices``, so
    that it splits evenly: a mean over its points is the same over the copies (conditions' and
    data points, whose counts the user does not set exactly)."""

    def repeat(a):
        n = len(a)
        return np.concatenate([np.asarray(a)] * (devices // math.gcd(n, devices))) if n % devices else a

    return jax.tree_util.tree_map(repeat, tree)
