# The two commands of the README: `make verify` and `make test`.
# Each creates the virtual environment .venv from the project's requirement files on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: verify test test-all clean

$(VENV)/.checker: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.checker
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

verify: $(VENV)/.checker          ## decide every statement in proofs/
	$(PY) -m checker verify proofs --necessity --catalogue docs/THEOREMS.md

test: $(VENV)/.dev                ## the test suite CI runs (fast tier)
	$(PY) -m pytest -q

test-all: $(VENV)/.dev            ## every tier, including the slow fuzzing runs
	$(PY) -m pytest -q --run-slow

clean:
	rm -rf build .pytest_cache
