"""A CPU's cores as XLA devices: the ``XLA_FLAGS`` that make them so, set before JAX starts.

XLA makes a CPU one device and splits each operation over its cores, and on small problems the
threads then meet at every operation. Made one device per core, the CPU can run a training chunk
on each core's share of the points instead, the devices meeting once per loss evaluation
(:mod:`neuralsolve.train.sharding`). The ``neuralsolve`` command line does so when it starts
(:func:`cores_as_devices`); a Python program can set the same flag before it imports JAX. No JAX
here: this runs before it is imported.
"""

from __future__ import annotations

import os
import re

COUNT = "--xla_force_host_platform_device_count"


def usable_cores(quota: str = "/sys/fs/cgroup/cpu.max") -> int:
    """The cores this process may run on: those of its CPU affinity, no more than the cgroup's
    CPU ``quota`` allows (a container given 2 CPUs of a 64-core host has 2, not 64)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        with open(quota) as file:
            allowed, period = file.read().split()[:2]
        if allowed != "max":
            cores = min(cores, max(1, int(allowed) // int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota here
    return cores


def cores_as_devices(flags: str, cores: int | None) -> str:
    """``XLA_FLAGS`` (``flags``) with the CPU made one XLA device per core (``cores``), unless the
    flags already set a device count (the user's choice stands). Only the CPU backend reads it; a
    program for one device runs as before, on all the cores' threads."""
    if COUNT in flags or not cores or cores < 2:
        return flags
    return f"{flags} {COUNT}={cores}".strip()


def one_device(flags: str) -> str:
    """``XLA_FLAGS`` without a device count: for worker processes that are given one CPU each (a
    sweep's Ray tasks), whose solves should not split over cores that other workers use."""
    return re.sub(rf"\s*{COUNT}=\d+", "", flags).strip()
