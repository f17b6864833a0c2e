# The two commands of the README's quick start: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test build check bench clean fixtures

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/polc build

test: $(STAMP)
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/polc check

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

# Regenerate the golden fixtures under tests/fixtures for review (git diff shows what moved).
fixtures: $(STAMP)
	POLC_REGEN_FIXTURES=1 $(BIN)/python -m pytest -q tests -k golden

clean:
	rm -rf $(VENV) artifacts build *.egg-info
