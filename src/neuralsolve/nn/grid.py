"""The grid an FNO's Fourier layers see: a non-periodic grid padded with zeros (so that the FFT's
implied periodicity does not join its two ends), and how many Fourier modes per axis that grid
carries. Plain Python, no JAX: checking a problem file uses it before anything is built."""

from __future__ import annotations

import math

PADDING = 0.125  # default: a non-periodic axis of s points gets ceil(s/8) zero points appended


def pad_points(s: int, padding: int | float = PADDING) -> int:
    """How many zero points a non-periodic axis of ``s`` points gets: ``padding`` points (an int),
    or that fraction of ``s`` (a float)."""
    return padding if isinstance(padding, int) else math.ceil(padding * s)


def carried_modes(s: int, periodic: bool, padding: int | float = PADDING) -> int:
    """The Fourier modes per axis a Fourier layer can keep on an axis of ``s`` points (padded
    when not ``periodic``): half the points the layer transforms."""
    return (s if periodic else s + pad_points(s, padding)) // 2
