"""Write the spiral data set of torchdiffeq's ``examples/ode_demo.py`` to a CSV file.

    python benchmarks/neural_ode/make_spiral_data.py

The system is dy/dt = (y**3) A with y a row vector, A = [[-0.1, 2.0], [-2.0, -0.1]], y(0) = (2, 0),
sampled at 1000 equally spaced times on [0, 25] (the demo's ``torch.mm(y**3, true_A)``). The demo
solves it with its own float32 dopri5; here it is solved once to near machine precision (DOP853,
rtol = atol = 1e-12) so that every method is trained against the same, accurate trajectory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
Y0 = np.array([2.0, 0.0])
T_END = 25.0
N_TIMES = 1000
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "src" / "neuralsolve" / "bench" / "data" / "spiral.csv"


def spiral_rhs(t: float, y: np.ndarray) -> np.ndarray:
    """Right-hand side (y**3) A, with y multiplied from the left as a row vector."""
    return (y**3) @ A


def spiral_trajectory() -> tuple[np.ndarray, np.ndarray]:
    """Times (N_TIMES,) and states (N_TIMES, 2) of the spiral, solved to rtol = atol = 1e-12."""
    t = np.linspace(0.0, T_END, N_TIMES)
    sol = solve_ivp(spiral_rhs, (0.0, T_END), Y0, method="DOP853", t_eval=t, rtol=1e-12, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return t, sol.y.T


def write_csv(path: Path, t: np.ndarray, y: np.ndarray) -> None:
    """Write ``t,y1,y2`` rows; %.17g keeps every float64 bit, so the file round-trips exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([t, y]), fmt="%.17g", delimiter=",", header="t,y1,y2", comments="")


def main() -> None:
    """Parse the command line, solve and write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    t, y = spiral_trajectory()
    write_csv(args.out, t, y)
    print(f"wrote {args.out} ({len(t)} rows, y(25) = {y[-1].tolist()})")


if __name__ == "__main__":
    main()
