# Set up once, then run. Every target installs what it needs (idempotent; a second run is fast).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv

.PHONY: setup demo lint test test-fast bench clean-lake

setup: $(VENV)/.installed .cache/jars/.fetched

# Runtime packages (requirements.lock, all the image gets) plus the test-only ones.
# --compile-bytecode: .pyc written at install, so no command pays for compiling pandas & co. on its first
# run (or on every run where PYTHONDONTWRITEBYTECODE is set): `pathways sql` answers in about a second.
$(VENV)/.installed: requirements.lock requirements-test.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip install --quiet --python $(BIN)/python --compile-bytecode --require-hashes -r requirements.lock -r requirements-test.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

.cache/jars/.fetched: $(VENV)/.installed
	$(BIN)/python -m jobs.jars fetch
	@touch $@

# Quick start 1: set up, generate demo data, run the whole nightly flow, print where to look.
demo: setup
	$(BIN)/pathways demo

# ruff (rules in pyproject.toml) and mypy (--strict on jobs/ and schemas/); .ci/run runs it before the tests.
# docs/architecture.md, "Lint". Not `ruff format`: the code is wrapped by hand.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# Quick start 2: the full default test suite.
test: setup
	@scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "unit or spark"

# The pre-release cluster step (docs/cluster.md, "Tests and timings"): on a 2-worker standalone
# cluster, a worker and a driver killed mid-stage (test_faults.py), code and jars shipped to
# executors (test_shipping.py), and the whole nightly flow against a local run, with a worker
# killed and the driver killed and re-run (test_full_flow.py): ~25 min idle, beyond the default
# suite's (and CI's) budget. Fails when a test fails, is skipped, or nothing is collected.
# PYTEST_ARGS: extra options.
.PHONY: test-cluster-flow
test-cluster-flow: setup
	PATHWAYS_CLUSTER_FULL_FLOW=1 $(BIN)/python -m pytest tests/cluster/test_faults.py tests/cluster/test_shipping.py \
		tests/cluster/test_full_flow.py $(PYTEST_ARGS)

bench: setup
	$(BIN)/pathways bench --scale small
