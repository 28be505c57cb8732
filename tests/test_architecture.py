"""The architecture contract (docs/architecture.md): layers, independent method families, no
import cycles — checked by import-linter, and shown here to catch a wrong import."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINT = pathlib.Path(sys.executable).with_name("lint-imports")
pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (make test installs it)")


def _lint(src: pathlib.Path, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return subprocess.run([str(LINT), "--no-cache"], cwd=tmp_path, env={"PYTHONPATH": str(src), "PATH": ""},
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _copy(tmp_path: pathlib.Path) -> pathlib.Path:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "neuralsolve", src / "neuralsolve", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def test_the_package_keeps_its_contracts(tmp_path):
    result = _lint(ROOT / "src", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, line, broken, shown", [
    # a low layer reaching up: the problem layer importing the command line
    ("problem/parse.py", "from ..cli import main as _main", "Layers", "neuralsolve.problem.parse -> neuralsolve.cli.main"),
    # one method family importing another
    ("methods/forward.py", "from .march import FAMILY as _MARCH", "Method families",
     "neuralsolve.methods.forward -> neuralsolve.methods.march"),
    # a module importing one that imports it back, inside one folder
    ("problem/parse.py", "from . import problem as _problem", "No import cycles", "neuralsolve.problem"),
])  # fmt: skip
def test_a_wrong_import_breaks_a_contract_and_is_named(tmp_path, module, line, broken, shown):
    src = _copy(tmp_path)
    with open(src / "neuralsolve" / module, "a") as f:
        f.write(f"\n{line}  # deliberately wrong\n")
    result = _lint(src, tmp_path)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout.split("Broken contracts")[1], result.stdout
    assert shown in result.stdout, result.stdout


@pytest.mark.parametrize("path", ["rundir.py", "solution.py", "dispatch.py", "report/outputs.py", "report/plots.py"])
def test_shared_modules_ask_the_family_instead_of_testing_for_one(path):
    """rundir, solution, the dispatcher and the report hold no family-specific branch."""
    code = "\n".join(line.split("#")[0] for line in (ROOT / "src" / "neuralsolve" / path).read_text().splitlines())
    for marker in (".eigen is", ".eigen.", '["windows"]', "EigenSolution(", "solve_eigen", "solve_windows"):
        assert marker not in code, f"{path} tests for a method family: {marker!r}"
