# Two entry points: `make train` (set up, then train the main job) and `make test` (set up, then test).
# TORCH_SPEC pins the CPU build that lies on this project's machines; override it elsewhere, e.g.
#   make test TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
# The extras `make setup` installs. dev is the lighter default (without Triton's ~1 GB); CI adds the Triton
# interpreter tests with `make test EXTRAS=dev,triton` (.ci/run). To add an extra to an existing venv:
#   .venv/bin/pip install -e '.[triton]'
EXTRAS ?= dev
BIN := $(VENV)/bin

.PHONY: setup train test lint bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

train: setup
	$(BIN)/rnnkit train sentiment

test: setup
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_speed.py
