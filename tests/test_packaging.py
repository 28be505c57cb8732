"""A wheel built from the repository works outside it: the examples ship as package data.

The wheel is built without build isolation (no network; the test environment's own setuptools,
which may be older than 77 and so refuse an SPDX ``license`` string), installed without its
dependencies into a fresh venv, and run there with this environment's packages on PYTHONPATH for
the dependencies. An editable install's .pth file is not read from PYTHONPATH, so the neuralsolve
that runs is the wheel's: the test checks that too.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import site
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).parents[1]
BUNDLED = ROOT / "src/neuralsolve/examples"


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=180, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv holding only the wheel: its ``neuralsolve`` command and an environment to run it in."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"  # a copy: the build writes build/ and egg-info, which stay out of the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "wheel", source])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (tmp / "wheel").glob("neuralsolve-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)  # pip of this environment installs into it (--python): faster
    python = env_dir / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages())}
    return {"command": env_dir / "bin" / "neuralsolve", "python": python, "venv": env_dir, "env": env, "cwd": tmp}


def test_the_installed_wheel_is_the_neuralsolve_that_runs(installed):
    where = _run([installed["python"], "-c", "import neuralsolve; print(neuralsolve.__file__)"],
                 env=installed["env"], cwd=installed["cwd"])  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert pathlib.Path(where.stdout.strip()).is_relative_to(installed["venv"])


def test_the_installed_wheel_lists_and_copies_the_examples(installed):
    listed = _run([installed["command"], "examples"], env=installed["env"], cwd=installed["cwd"])
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines() if line and not line.startswith(" ")}
    assert names == {p.stem for p in BUNDLED.glob("*.toml")}
    copied = _run([installed["command"], "examples", "heat", "--to", installed["cwd"] / "mine.toml"],
                  env=installed["env"], cwd=installed["cwd"])  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert (installed["cwd"] / "mine.toml").read_text() == (BUNDLED / "heat.toml").read_text()
