# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# The dependency sets, locked with hashes from pyproject.toml (`make lock`, docs/operations.md):
# the image installs the first, developers and CI the second.
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock

.PHONY: demo test test-fast lint typecheck imports unit unit-fast axe-core bench bench-replicas lock clean

# The development environment: exactly the locked versions, then the project itself (editable,
# its dependencies already there).
$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## demo: the service doing its job against the built-in Asana sandbox (no account needed)
demo: $(STAMP)
	$(BIN)/delegator demo

## test: lint, format check, strict typing, layering contracts and the test suite
test: lint typecheck imports unit

## test-fast: the edit-test loop: the same checks and every test not marked slow (about 30 s);
## the slow ones are measured and listed in tests/slow-tests.txt (tools/slow_tests.py)
test-fast: lint typecheck imports unit-fast

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

# Bytecode written even where the environment says not to (PYTHONDONTWRITEBYTECODE): pytest's
# rewritten test modules are then cached, which saves about ten seconds a run.
unit-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "not slow" -p no:randomly

## axe-core: the accessibility checker the browser tests inject (tests/browser/), a pinned
## release from npm into ~/.cache/delegator/ (tools/axe_core.py); with Debian's chromium and
## chromium-driver installed, `make test` then runs the browser tests too (skipped without them,
## failed under CI), leaving screenshots in test-artifacts/screenshots/
axe-core:
	$(PYTHON) tools/axe_core.py

## bench: the benchmarks (bench/); they print figures, they assert nothing about time
bench: $(STAMP)
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/check.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/cycle.py
	$(BIN)/python bench/cycle.py --clients 500 --tasks 10 --idle-at 200
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/summary.py
	$(BIN)/python bench/statuspage.py
	$(BIN)/python bench/suggest.py

## bench-replicas: 500 clients shared through leases by 1, 2 and 3 replica processes on one
## PostgreSQL (DELEGATOR_BENCH_DATABASE_URL or DELEGATOR_TEST_DATABASE_URL, skipped without);
## about 6 minutes on 2 cores, so not part of `make bench`; BENCH_REPLICAS=--quick: 30 s
BENCH_REPLICAS ?=
bench-replicas: $(STAMP)
	$(BIN)/python bench/replicas.py $(BENCH_REPLICAS)

## lock: both lock files again from pyproject.toml, for every platform and Python 3.11+;
## versions already locked stay unless asked: make lock UPGRADE=--upgrade
## (or UPGRADE='--upgrade-package ruff' for one package)
UPGRADE ?=
LOCK_OPTIONS = --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command 'make lock' $(UPGRADE)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra postgres $(LOCK_OPTIONS) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_OPTIONS) -o $(DEV_LOCK)

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
