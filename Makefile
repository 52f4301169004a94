# Two commands do all the set-up: `make demo` and `make test`.
# Each creates .venv when missing and installs the project into it; a second run is fast.
# `make demo` installs the CPU runtime only (no torch, no lab, no test tools); `make test` adds the
# lab (reenact-lab/) and every extra.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.reenact-installed
RUNTIME := $(VENV)/.reenact-runtime

.PHONY: demo test lint bench soak doctor sizes clean

# what a user runs (`make demo`, `make doctor`): the CPU runtime only, no torch, no test tools
$(RUNTIME): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@touch $(RUNTIME)

# everything (`make test`, `make lint`, `make bench`): the runtime, the lab and every extra
$(STAMP): pyproject.toml reenact-lab/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# torch first and exactly: a bare `torch` (or an open range pulled in by another package)
	@# would resolve to a multi-GB CUDA build; 2.13.0 installs the CPU build from local disk here.
	$(BIN)/python -m pip install -q torch==2.13.0
	@# the lab (reenact-lab, this checkout's second package) first: the train and eval extras name
	@# it, and pip takes the installed one instead of looking for it on the package index
	$(BIN)/python -m pip install -q --no-deps -e reenact-lab
	$(BIN)/python -m pip install -q -e '.[all]'
	@touch $(STAMP) $(RUNTIME)

demo: $(RUNTIME)
	$(BIN)/reenact demo --output out/demo.mp4

# As root with apt-get (CI, a fresh container): Debian packages some tests need (Chromium for
# the panel's browser test) are installed first; elsewhere those tests skip and say why.
test: $(STAMP)
	bash .ci/install-system-deps
	$(BIN)/python -m pytest -q tests

# ruff (lint and format) and mypy, configured in pyproject.toml; CI runs this before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/reenact bench

doctor: $(RUNTIME)
	$(BIN)/reenact doctor

# the house rule: files under 400 lines, functions under 50 (docs/ARCHITECTURE.md)
sizes:
	python3 scripts/check_sizes.py

clean:
	rm -rf out .pytest_cache build *.egg-info
