# tfhook developer tasks. Every target sets up what it needs: a fresh clone
# only needs python3 (3.11+) and make.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Four pytest workers on two cores: most of a test's time is spent waiting on its children
# (servers, Terraform, providers, PostgreSQL, a timeout or a heartbeat), so two more workers
# fill that time (on 2 cores, measured: 136 s with -n 2, 77 s with -n 4, 84 s with -n 6 for
# one sixth of the suite). Deadlines in the tests are hang guards, not speed checks.
WORKERS ?= 4
# What `make test` runs a second time with every server on asyncio's own loop (not uvloop).
ASYNCIO_PASS := tests/server/test_golden.py tests/server/test_server.py \
  tests/process/test_process_server.py tests/runners
# The simulated cloud's Terraform provider (examples/simcloud) lives in its own venv: its
# framework, tf, pins protobuf below 6, and tfhook needs protobuf 7.
SIMCLOUD := .venv-simcloud
SIMCLOUD_STAMP := $(SIMCLOUD)/.installed

.PHONY: help venv simcloud golden protos options-doc reference docs docs-serve lint test demo clean tools bench stress

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv with tfhook and its development tools

$(SIMCLOUD_STAMP): examples/simcloud/pyproject.toml
	$(PYTHON) -m venv $(SIMCLOUD)
	$(SIMCLOUD)/bin/python -m pip install --quiet -e examples/simcloud
	@touch $(SIMCLOUD_STAMP)

simcloud: $(SIMCLOUD_STAMP) ## create .venv-simcloud: the simulated cloud's Terraform provider

# $(call apt_tool,TEST,PACKAGE,NAME): install Debian's PACKAGE on the host unless TEST finds
# NAME, where this machine allows (root with apt-get; the package lists refreshed once if it
# fails). Only for the benchmark's Go client; no package it installs starts a service.
define apt_tool
	@$(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "bench: installing Debian's $(2) on this host (apt-get) for the benchmark's client"; \
	    (apt-get install -y -qq --no-install-recommends $(2) >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && \
	      apt-get install -y -qq --no-install-recommends $(2) >/dev/null 2>&1)) \
	     || echo "note: could not install $(3)"; \
	  else echo "note: $(3) missing and not root"; fi; }
endef

# The programs some tests run, unpacked from Debian's packages into $(TOOLS) by
# tests/support/tools.sh (apt-get download + dpkg-deb -x, no root needed): nothing is
# installed on the host, so no service is enabled or started (Debian's prometheus and
# postgresql packages start one when installed). The tests find them there ($$TFHOOK_TOOLS).
TOOLS ?= .tools
UNPACK := bash tests/support/tools.sh $(TOOLS)

tools: ## unpack the programs some tests run (shellcheck, promtool, PostgreSQL) into .tools/; no service
	@$(UNPACK) shellcheck "lints the shell hook tfhook init writes" shellcheck
	@$(UNPACK) promtool "checks the example alert rules and dashboard queries" prometheus
	@$(UNPACK) postgresql "a throwaway server for the Terraform pg backend tests" \
	  postgresql@ postgresql-client@

# Where the golden vectors come from, when a checkout of it sits beside the repository.
UPSTREAM_GOLDEN := ../shared/golden/vectors.jsonl

golden: ## compare tests/golden/vectors.jsonl with the upstream file beside the repository, if any
	@if [ ! -f $(UPSTREAM_GOLDEN) ]; then \
	  echo "no upstream golden vectors at $(UPSTREAM_GOLDEN): nothing to compare"; \
	else cmp tests/golden/vectors.jsonl $(UPSTREAM_GOLDEN) && \
	  echo "tests/golden/vectors.jsonl is identical to $(UPSTREAM_GOLDEN)"; fi

protos: $(STAMP) ## regenerate tfhook/v1 from protos/ (handler.proto, admin.proto)
	$(BIN)/python -m tfhook.server.protos

options-doc: $(STAMP) ## rewrite docs/options.md from the option table
	$(BIN)/python -m tfhook.config.options > docs/options.md

reference: $(STAMP) ## rewrite the generated reference pages (docs/reference/) from the code
	$(BIN)/python -m tfhook.docs docs

$(VENV)/.docs-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	@touch $@

docs: $(VENV)/.docs-installed reference ## build the documentation site into site/ (mkdocs --strict: a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: $(VENV)/.docs-installed reference ## serve the documentation site on http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

lint: $(STAMP) ## ruff, mypy, and the package's layers (import-linter)
	$(BIN)/ruff check tfhook tests bench examples/simcloud
	$(BIN)/mypy tfhook
	$(BIN)/lint-imports --no-cache

# The tests run as in a user's shell, whatever the developer's sets: unbuffered output hides
# failures of Python's last flush at exit (a closed log pipe), and bytecode is written.
test: $(STAMP) $(VENV)/.docs-installed $(SIMCLOUD_STAMP) tools lint ## lint, then run the test suite (the docs site is built strict by one of them)
	env -u PYTHONUNBUFFERED -u PYTHONDONTWRITEBYTECODE TFHOOK_TOOLS=$(abspath $(TOOLS)) \
	  $(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)
	@# The servers above ran on uvloop (the fast extra, --event-loop auto); the generic-mode
	@# tests once more on asyncio's own loop, the fallback (#25).
	env -u PYTHONUNBUFFERED -u PYTHONDONTWRITEBYTECODE \
	  $(BIN)/python -m pytest -n $(WORKERS) --event-loop asyncio $(ASYNCIO_PASS)

demo: $(STAMP) ## serve the demo Terraform module and handle one real event
	@$(MAKE) --no-print-directory simcloud || \
	  echo "note: could not install the simcloud provider; the demo uses the built-in module"
	$(BIN)/python examples/demo.py

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

# The Core-like client the benchmark calls tfhook with: grpc-go from Debian's packages
# (GOPATH mode, nothing downloaded); without it the benchmark uses grpcio and says so.
CORECLIENT := bench/.bin/coreclient

$(CORECLIENT): bench/coreclient/main.go
	$(call apt_tool,command -v go,golang-go,go; the benchmark calls with grpcio instead)
	$(call apt_tool,test -d /usr/share/gocode/src/google.golang.org/grpc,golang-google-grpc-dev,grpc-go; the benchmark calls with grpcio instead)
	-GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$(CURDIR)/bench/.bin/go-build \
	  go build -o $@ $<

bench: $(VENV)/.bench-installed $(CORECLIENT) ## measure speed and footprint; writes bench/RESULTS.md (BENCH_QUICK=1: ~1 min)
	$(BIN)/python -m bench.run bench

stress: $(STAMP) ## every fault case, then 5,000 calls at concurrency 32; prints a table of what held
	$(BIN)/python tests/faults/stress.py

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) $(SIMCLOUD) $(TOOLS) site .pytest_cache .mypy_cache .ruff_cache build dist bench/.bin
