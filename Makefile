# MusicGraph: the two commands a newcomer needs are `make demo` and `make test`.
# Both work on a fresh machine with Python 3.11, Java 17 and Maven: they create the
# virtualenv, install the pinned dependencies, and start their own Neo4j.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
MG := $(BIN)/musicgraph
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
# The project's packages (setup.cfg finds the same set; tests/musicgraph/test_layout.py
# checks this list, the Dockerfile's COPY lines and import-linter's root packages).
PACKAGES := musicgraph etl gnn app evaluation cypher

# NEO4J_* come from the environment, else `.env`, else the development defaults: the
# `musicgraph` command reads them (musicgraph.config), so make passes nothing itself.

.PHONY: help setup demo test check lint neo4j-start neo4j-stop neo4j-status browser-deps compose-deps clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	# Pinned set; pip's cache serves repeats of the large torch download.
	$(BIN)/pip install -q -c requirements.lock -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

setup: $(STAMP)  ## Create .venv and install the project with its pinned dependencies

neo4j-start: setup  ## Start the local Neo4j (fetched from Maven Central once)
	$(MG) neo4j start

neo4j-stop: setup  ## Stop the local Neo4j
	$(MG) neo4j stop

neo4j-status: setup  ## Is the local Neo4j running? Where?
	$(MG) neo4j status

demo: setup neo4j-start  ## Set everything up, load the bundled data, train, and serve the app
	$(MG) etl
	$(MG) train
	@echo
	@echo "Neo4j Browser: http://127.0.0.1:7474/browser/  (user neo4j, password from NEO4J_PASSWORD; default musicgraph-dev)"
	@echo "  a first query to paste:  MATCH (s:Song)-[r:SIMILAR]->(t) RETURN s, r, t LIMIT 25"
	@echo "Training report: models/graphsage/ (training_curve.png, metrics.json)"
	@echo "The app: http://$(HOST):$(PORT)/   (Ctrl-C stops it; make neo4j-stop stops Neo4j)"
	$(MG) serve --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests, and the fonts the pages' colour emoji and
# Chinese/Japanese/Korean titles need (without them chromium draws empty boxes); each
# installed when missing.
browser-deps:  # chromium and the emoji and CJK fonts, installed when missing
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list -q ':family=Noto Color Emoji' 2>/dev/null || missing="$$missing fonts-noto-color-emoji"; \
	fc-list -q ':family=Noto Sans CJK JP' 2>/dev/null || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing$$missing"; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

compose-deps:  # Debian's docker-compose, which validates docker-compose.yml without an engine
	@command -v docker-compose >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; fi; }

lint: setup  ## ruff, mypy and the import contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/mypy $(PACKAGES) bench
	$(BIN)/lint-imports

check: lint compose-deps  ## The fast loop: lint and the tests that need no Neo4j and no browser (seconds)
	$(BIN)/pytest -q -m "not neo4j and not browser"

test: setup browser-deps compose-deps lint  ## Set up and run every test against a real Neo4j
	$(BIN)/pytest -q

clean:  ## Remove the virtualenv and build leftovers (not the Neo4j cache or data)
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
