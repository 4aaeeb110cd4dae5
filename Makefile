# Tandem — the two commands: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
VAR := var
CONFIG := $(VAR)/tandem.toml
PIP_INSTALL := $(BIN)/pip install -q --disable-pip-version-check -c constraints.txt

.PHONY: run test test-fast fuzz bench chaos services doctor emulators lock clean help

help:
	@echo "make run    - set up and run Tandem on SQLite + in-process broker with a sandbox program"
	@echo "make test   - set up and run the whole test suite (starts PostgreSQL/Redis if down)"
	@echo "make fuzz   - a long Hypothesis run of the parsers of untrusted input (TANDEM_FUZZ_EXAMPLES=4000)"
	@echo "make bench  - run the benchmarks"
	@echo "make chaos  - the chaos run at full size (300 pairs; private PostgreSQL and Redis)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip setuptools wheel

# Runtime install (make run); re-done when pyproject.toml or constraints.txt change.
$(VENV)/.installed-run: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e . --config-settings editable_mode=compat
	touch $@

# Runtime + dev extra (make test).
$(VENV)/.installed-dev: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[dev]' --config-settings editable_mode=compat
	touch $@ $(VENV)/.installed-run

$(CONFIG): | $(VENV)/.installed-run
	mkdir -p $(VAR)
	$(BIN)/tandem config init --out $(CONFIG) --demo

run: $(VENV)/.installed-run $(CONFIG)
	TANDEM_CONFIG=$(CONFIG) $(BIN)/tandem db upgrade
	TANDEM_CONFIG=$(CONFIG) $(BIN)/tandem run

doctor: $(VENV)/.installed-run $(CONFIG)
	TANDEM_CONFIG=$(CONFIG) $(BIN)/tandem doctor

services:
	bash scripts/ensure-services.sh
	bash scripts/ensure-chromium.sh

test: $(VENV)/.installed-dev services
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed-dev
	$(BIN)/lint-imports
	$(BIN)/python -m pytest tests/unit

# The long fuzzing run (make test runs a small deterministic one of the same tests).
fuzz: $(VENV)/.installed-dev services
	TANDEM_FUZZ=1 $(BIN)/python -m pytest tests/security/test_fuzz.py -p no:cacheprovider -o timeout=0

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

# The chaos run of `make test` (30 pairs) at full size; it starts its own PostgreSQL and Redis.
chaos: $(VENV)/.installed-dev
	TANDEM_CHAOS_PAIRS=300 $(BIN)/python -m pytest tests/chaos -s -p no:cacheprovider

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=compat
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) $(VAR) .pytest_cache .hypothesis test-artifacts
