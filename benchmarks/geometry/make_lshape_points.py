"""Evaluation points for the L-shape comparison (issue 19).

A 401 x 401 grid over [-1, 1]^2 (spacing 0.005), keeping the points in the closed L-shape
of DeepXDE's Poisson_Lshape example, Polygon([[0, 0], [1, 0], [1, -1], [-1, -1], [-1, 1], [0, 1]]):
the square [-1, 1]^2 minus the quarter (0, 1] x (0, 1]. The re-entrant edges of that quarter
(x = 0 or y = 0 with the other coordinate in [0, 1]) are kept; the lines x = 1, 0 < y <= 1
and y = 1, 0 < x <= 1 are NOT in the polygon and are dropped (the literal "not in the open
square (0, 1) x (0, 1)" would keep those 399 outside points).

Order: x = linspace(-1, 1, 401), y likewise, meshgrid(indexing="ij"), flattened (y varies
fastest), then filtered. Saved as float64 array of shape (n, 2) = (120801, 2).

    python benchmarks/geometry/make_lshape_points.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
POINTS = HERE / "lshape_points.npy"


def lshape_points(n=401):
    t = np.linspace(-1.0, 1.0, n, dtype=np.float64)
    X, Y = np.meshgrid(t, t, indexing="ij")
    p = np.stack([X.ravel(), Y.ravel()], axis=1)
    cut = (p[:, 0] > 0) & (p[:, 1] > 0)  # the removed quarter (0, 1] x (0, 1]
    return np.ascontiguousarray(p[~cut])


def ensure_points(path=POINTS):
    if not Path(path).exists():
        np.save(path, lshape_points())
    return np.load(path)


if __name__ == "__main__":
    p = lshape_points()
    np.save(POINTS, p)
    print(f"wrote {POINTS}: shape {p.shape}, dtype {p.dtype}")
