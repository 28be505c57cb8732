# Set-up and entry points. `make demo` and `make test` each work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## solve a bundled example and say where the results are
	$(VENV)/bin/neuralsolve solve examples/poisson_1d.toml --out runs/demo
	@echo "open runs/demo/report.html to see the report"

test: $(STAMP)  ## check the architecture contract (docs/architecture.md), then run the test suite
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

bench: $(STAMP)  ## derivative micro-benchmark (others: see BENCHMARKS.md)
	$(PY) benchmarks/derivatives.py

clean:
	rm -rf $(VENV) runs .pytest_cache
