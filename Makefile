# Two commands matter: `make run` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8765

.PHONY: run test lint typecheck unit sandbox-api stdio clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP) ## serve MCP over streamable HTTP (sandbox unless KUPE_API_KEY/KUPE_BEARER_TOKEN are set)
	$(BIN)/kupe-mcp --transport http --host $(HOST) --port $(PORT) $(if $(KUPE_API_KEY)$(KUPE_BEARER_TOKEN),,--sandbox)

test: lint typecheck unit ## ruff, mypy --strict and pytest

lint: $(STAMP)
	$(BIN)/ruff check kupe_mcp tests
	$(BIN)/ruff format --check kupe_mcp tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

sandbox-api: $(STAMP) ## the Kupe sandbox alone, for any REST client
	$(BIN)/kupe-mcp sandbox-api --port 8766

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
