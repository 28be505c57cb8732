# Set-up and entry points. `make demo` and `make test` each work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test accuracy bench constraints clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The exact versions of constraints.txt: a new release of a dependency cannot break a fresh set-up.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	$(PY) -m compileall -q src  # bytecode, as a wheel install has it: no command compiles the package's sources first
	touch $(STAMP)

demo: $(STAMP)  ## solve a bundled example and say where the results are
	$(VENV)/bin/neuralsolve solve src/neuralsolve/examples/poisson_1d.toml --out runs/demo
	@echo "open runs/demo/report.html to see the report"

test: $(STAMP)  ## check the architecture contract (docs/architecture.md), then run the test suite
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not slow" --durations=25

accuracy: $(STAMP)  ## the long accuracy runs that make test leaves out (tests marked slow; several minutes)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)  ## derivative micro-benchmark (others: see BENCHMARKS.md)
	$(PY) benchmarks/derivatives.py

# Upgrade: the newest releases that satisfy pyproject.toml, installed in a fresh venv, become
# constraints.txt; then `make test` installs them into .venv. Review the diff before committing.
constraints:  ## regenerate constraints.txt from a fresh install
	rm -rf $(VENV)-constraints
	$(PYTHON) -m venv $(VENV)-constraints
	$(VENV)-constraints/bin/python -m pip install --quiet --upgrade pip
	$(VENV)-constraints/bin/python -m pip install --quiet ".[test]"
	head -n 3 constraints.txt > constraints.txt.new
	$(VENV)-constraints/bin/python -m pip freeze --exclude-editable --exclude neuralsolve >> constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(VENV)-constraints

clean:
	rm -rf $(VENV) runs .pytest_cache
