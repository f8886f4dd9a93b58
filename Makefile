# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck imports unit bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: the service doing its job against the built-in Asana sandbox (no account needed)
demo: $(STAMP)
	$(BIN)/delegator demo

## test: lint, format check, strict typing, layering contracts and the test suite
test: lint typecheck imports unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

## bench: the benchmarks (bench/); they print figures, they assert nothing about time
bench: $(STAMP)
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/cycle.py
	$(BIN)/python bench/summary.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
