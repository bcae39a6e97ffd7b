# The two set-up commands of the README:
#   make demo   creates .venv, installs scratchnet, fetches MNIST and runs the whole assignment in
#               quick mode into one HTML report (its path is printed at the end)
#   make test   creates .venv and runs the test suite, then the same suite on the CuPy host guard
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
OUT    ?= runs

.PHONY: demo full test test-numpy test-hostguard bench gpu-check lint clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev,examples]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/assignment.py all --quick --out $(OUT)/demo --force

full: $(STAMP)
	$(PY) examples/assignment.py all --out $(OUT)/full --force

test: test-numpy test-hostguard

test-numpy: $(STAMP)
	$(PY) -m pytest -q

# The CuPy code path on the CPU, with a NumPy-backed stand-in for cupy that raises TypeError on
# implicit host conversion (as CuPy does): a guard against host-conversion bugs, not a GPU test.
test-hostguard: $(STAMP)
	PYTHONPATH=tests/hostguard SCRATCHNET_BACKEND=cupy $(PY) -m pytest -q -m "not gpu"

bench: $(STAMP)
	$(PY) benchmarks/train_speed.py

gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py

lint: $(STAMP)
	$(PY) -m ruff check scratchnet examples tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
