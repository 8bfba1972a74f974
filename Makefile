# Every target does its own set-up: a fresh clone needs only `make check` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help setup system-tools check test build new-model cost bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## Create .venv and install llmfleet with pinned dependencies (kubectl included)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

system-tools: ## Install promtool (Debian package prometheus) when missing and running as root
	@if command -v promtool >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing promtool (Debian package prometheus)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
	else \
	  echo "promtool not found: install it (apt-get install prometheus) for the alert tests and rules" >&2; \
	fi

check: setup system-tools ## Render, validate and lint every overlay (the main job)
	$(BIN)/llmfleet check $(ARGS)

test: setup system-tools ## Run the test suite
	$(BIN)/pytest $(ARGS)

build: setup ## Render one overlay: make build MODEL=<overlay>
	@if [ -z "$(MODEL)" ]; then echo "usage: make build MODEL=<overlay folder name>" >&2; exit 2; fi
	$(BIN)/llmfleet build overlays/$(MODEL)

new-model: setup system-tools ## Scaffold an overlay: make new-model MODEL=<hf id> [GPU=<class>] [NAME=<name>]
	@if [ -z "$(MODEL)" ]; then echo "usage: make new-model MODEL=<hugging face id> [GPU=l4] [NAME=name]" >&2; exit 2; fi
	$(BIN)/llmfleet new-model "$(MODEL)" $(if $(GPU),--gpu "$(GPU)") $(if $(NAME),--name "$(NAME)") $(ARGS)

cost: setup ## Cost per overlay and break-even against a hosted API
	$(BIN)/llmfleet cost $(ARGS)

bench: setup ## Time `llmfleet check` against bare kustomize rendering
	$(BIN)/python benchmarks/bench_check.py $(ARGS)

clean: ## Remove the venv and caches
	rm -rf $(VENV) .llmfleet-cache .pytest_cache
