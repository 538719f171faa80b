# Two commands for a new user: `make run` and `make test`. Each creates .venv on first use and
# installs the project into it. torch is pinned and installed *before* the project, so pip takes
# the CPU wheel instead of resolving a multi-GB CUDA build.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0
ARGS   ?=
# The suite runs on this many xdist workers (CI has 2 cores); each test file stays on one worker.
JOBS   ?= 2

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The main job on the embedded defaults: the dashboard on scenarios/default.toml.
# `make run ARGS=--headless` runs its headless twin (same scenario and seed, no UI); without a
# terminal (a pipe, CI) the headless twin runs anyway.
run: $(STAMP)
	$(BIN)/subnetsim tui $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

# Ruff, the import layers and mypy all run inside `make test` (tests/test_project.py, on the
# built wheel's layout); this runs just those.
lint: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_project.py

clean:
	rm -rf $(VENV) build *.egg-info .wheel-check .mypy_cache
