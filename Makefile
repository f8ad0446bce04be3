# Two entry points: `make train` (set up, then train the main job) and `make test` (set up, then test).
# TORCH_SPEC pins the CPU build that lies on this project's machines; override it elsewhere, e.g.
#   make test TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
# `make train` installs rnnkit's core (what training and predicting text needs); `make test` adds EXTRAS, by
# default dev (every extra, pytest, ruff, …; without Triton's ~1 GB). CI adds the Triton interpreter tests with
# `make test EXTRAS=dev,triton` (.ci/run). To add an extra to an existing venv:
#   .venv/bin/pip install -e '.[speech]'
EXTRAS ?= dev
# Flags for the main job, e.g. `make train TRAIN_ARGS="--epochs 1"` (any flag of `rnnkit train sentiment --help`);
# tests/test_readme.py sets it to train on a small fixture.
TRAIN_ARGS ?=
BIN := $(VENV)/bin

.PHONY: setup setup-extras train test bench
setup: $(VENV)/.installed-core
setup-extras: $(VENV)/.installed-$(EXTRAS)

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	touch $@

$(VENV)/.installed-core: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-$(EXTRAS): pyproject.toml $(VENV)/.installed-core
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

train: setup
	$(BIN)/rnnkit train sentiment $(TRAIN_ARGS)

test: setup-extras
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/python -m pytest

bench: setup-extras
	$(BIN)/python benchmarks/bench_speed.py
