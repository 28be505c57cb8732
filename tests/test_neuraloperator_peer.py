"""The neuraloperator peer (src/neuralsolve/bench/peers/neuraloperator_fno.py) on tiny data sets.

The peer runs in the benchmark peers' interpreter (.venv-bench, torch + neuraloperator), so these
tests run it as a subprocess, and are skipped where that interpreter or the library is missing.
The data are made here: exact solutions of two linear operators, sampled on any grid, so that
the zero-shot sets are the same functions at another resolution.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "src" / "neuralsolve" / "bench" / "peers" / "neuraloperator_fno.py"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def _has_neuralop() -> bool:
    """Whether .venv-bench has neuraloperator installed. find_spec does not import it: importing
    torch and the library costs seconds that every peer run pays again, and a broken install then
    fails the tests below instead of skipping them."""
    if not BENCH_PYTHON.exists():
        return False
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('neuralop') is None)"
    return subprocess.run([str(BENCH_PYTHON), "-c", probe], capture_output=True, timeout=60).returncode == 0


pytestmark = pytest.mark.skipif(not _has_neuralop(), reason=".venv-bench with neuraloperator is not installed")


def heat_1d(n: int, s: int, rng: np.random.Generator, t: float = 0.1, nu: float = 0.01, k_max: int = 8):
    """u0 -> u(t) of u_t = nu u_xx on the periodic [0, 1): ``(x, y)`` of shape (n, 1, s) for each s in ``s``.

    u0 is a random trigonometric polynomial of degree ``k_max`` (coefficients decaying as 1/k);
    every Fourier mode decays exactly by exp(-nu (2 pi k)^2 t), so any grid samples the same pair.
    """
    k = np.arange(1, k_max + 1)
    a, b = rng.normal(size=(2, n, k_max)) / k
    decay = np.exp(-nu * (2 * np.pi * k) ** 2 * t)
    pairs = {}
    for size in s:
        phase = 2 * np.pi * np.outer(k, np.arange(size) / size)  # (k_max, size)
        u0 = a @ np.cos(phase) + b @ np.sin(phase)
        ut = (a * decay) @ np.cos(phase) + (b * decay) @ np.sin(phase)
        pairs[size] = (u0[:, None], ut[:, None])
    return pairs


def integral_2d(n: int, s: int, rng: np.random.Generator, k_max: int = 3):
    """a -> (int_0^x1 a dx1', a**2) on [0, 1]^2 with both ends in the grid (non-periodic): (n, 1|2, s, s).

    a = sum c_kl cos(pi k x1) cos(pi l x2), so the integral is exact: x1 for k = 0, sin(pi k x1) / (pi k) else.
    """
    c = rng.normal(size=(n, k_max + 1, k_max + 1))
    pairs = {}
    for size in s:
        x = np.linspace(0.0, 1.0, size)
        k = np.arange(k_max + 1)
        cos = np.cos(np.pi * np.outer(k, x))  # (k, size)
        primitive = np.vstack([x, np.sin(np.pi * np.outer(k[1:], x)) / (np.pi * k[1:, None])])
        a = np.einsum("nkl,ki,lj->nij", c, cos, cos)
        integral = np.einsum("nkl,ki,lj->nij", c, primitive, cos)
        pairs[size] = (a[:, None], np.stack([integral, a**2], axis=1))
    return pairs


def write_npz(path: Path, train: dict, test: dict, s: int, periodic: bool) -> Path:
    """DATA.npz in the peer's layout: the training resolution ``s``, every other one of ``test`` zero-shot."""
    arrays = {"x_train": train[s][0], "y_train": train[s][1], "periodic": np.array(int(periodic))}
    for size, (x, y) in test.items():
        suffix = "" if size == s else f"_{size}"
        arrays[f"x_test{suffix}"], arrays[f"y_test{suffix}"] = x, y
    np.savez(path, **{name: np.asarray(v, dtype=np.float32) for name, v in arrays.items()})
    return path


def run_peer(tmp_path: Path, data: Path, *flags: str) -> dict:
    out = tmp_path / "result.json"
    command = [str(BENCH_PYTHON), str(PEER), "--data", str(data), "--out", str(out), "--threads", "1", *flags]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def check_record(record: dict, epochs: int, zero_shot: list[str]) -> None:
    assert record["library"] == "neuraloperator" and record["torch"].startswith("2.")
    assert len(record["epoch_seconds"]) == len(record["train_loss"]) == epochs
    assert all(t > 0 for t in record["epoch_seconds"])
    assert record["train_loss"][-1] < record["train_loss"][0]  # it learns
    assert sorted(record["zero_shot"]) == zero_shot
    errors = [record["test_error"], *record["zero_shot"].values()]
    assert all(np.isfinite(e) and 0 < e < 2 for e in errors)


def test_heat_1d_periodic(tmp_path):
    rng = np.random.default_rng(0)
    train, test = heat_1d(64, [64], rng), heat_1d(16, [64, 128], rng)
    data = write_npz(tmp_path / "heat.npz", train, test, 64, periodic=True)
    record = run_peer(tmp_path, data, "--epochs", "2", "--width", "16", "--modes", "8", "--layers", "2",
                      "--batch", "8", "--lr", "3e-3")  # fmt: skip
    check_record(record, 2, ["128"])
    # the paper's 8 modes: k = 0..7 on the rFFT axis (the library's n_modes = 15)
    assert record["model"]["n_modes"] == [15] and record["model"]["spectral_weight_shape"][-1] == 8
    assert record["model"]["domain_padding"] is None


def test_integral_2d_non_periodic(tmp_path):
    rng = np.random.default_rng(1)
    train, test = integral_2d(64, [17], rng), integral_2d(16, [17, 33], rng)
    data = write_npz(tmp_path / "integral.npz", train, test, 17, periodic=False)
    record = run_peer(tmp_path, data, "--epochs", "2", "--width", "16", "--modes", "4", "--layers", "2",
                      "--batch", "8", "--lr", "3e-3")  # fmt: skip
    check_record(record, 2, ["33"])
    # -4..3 on the first axis, 0..3 on the last
    assert record["model"]["spectral_weight_shape"][-2:] == [8, 4]
    assert record["model"]["domain_padding"] == 0.125
