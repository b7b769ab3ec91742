# The invoice hub's two set-up commands: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system-packages compiled lint schema bench lock clean

demo: install
	scripts/demo.sh

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/invoice-hub schema --check
	$(BIN)/invoice-hub rules --check
	$(BIN)/invoice-hub terms --check
	scripts/run-tests.sh

install: system-packages $(STAMP) compiled

# The conversion modules compiled with Cython (plugins/invoice_hub/compiled.py): recompiled when a
# source changed since (half a minute), else done at once. A copy older than its source is never
# used, so an edit between two builds runs as the pure-Python module, never as the old copy.
compiled: $(STAMP)
	@$(BIN)/python -m invoice_hub.compiled

system-packages:
	@scripts/system-packages.sh

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || scripts/python.sh -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schema: install
	$(BIN)/invoice-hub schema

# Every bench/*.py at full size (minutes); `make test` runs each with --quick (tests/test_benchmarks.py).
bench: install
	@set -e; for benchmark in bench/*.py; do echo "== $$benchmark"; $(BIN)/python "$$benchmark"; done

# Re-freeze constraints.txt after changing requirements*.txt (needs a fresh venv to be exact).
lock:
	rm -rf .lock-venv && scripts/python.sh -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	( echo "# Every package, transitively, that requirements*.txt resolved to; regenerate with make lock."; \
	  .lock-venv/bin/pip freeze --exclude-editable ) > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .airflow .demo .pytest_cache .ruff_cache plugins/invoice_hub/_compiled
