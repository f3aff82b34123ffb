# Evidence brief on social capital and social mobility.
# `make help` lists the targets. Every target bootstraps .venv from requirements.lock.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
# --rerun-incomplete and --nolock: a run killed midway is simply redone by the next one
# (the workflow takes a lock of its own, so two builds of one folder never run at once).
# CORES is checked before any shell sees it (SAFE_CORES, below).
# --resources brief_render=1: the HTML and PDF renders (the largest in memory) one at a time.
SNAKEMAKE = $(BIN)/snakemake --cores "$(SAFE_CORES)" --resources brief_render=1 --rerun-incomplete --nolock
# `make brief` starts Snakemake only when a stamp of an input, the code or a result changed
# since the last run that ended well (analysis/uptodate.py); Snakemake run directly always decides.

.DEFAULT_GOAL := help
.PHONY: help brief test test-fast system-deps lint atlas lock clean
.PHONY: release verify-release zenodo quarto
# Quarto for the Quarto tests (tests/workflow/test_quarto.py): installed from the
# bundle beside this project, when there is one, into an ignored cache folder.
# `make brief` never needs it (it uses a `quarto` on PATH, else pandoc + typst).
QUARTO_BUNDLE ?= ../shared/tools/quarto
QUARTO_CACHE := .cache/quarto

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

brief: $(STAMP) ## Build everything: results/ and the brief (results/brief/brief.html, .pdf)
	$(check_cores)
	$(BIN)/python -m analysis.uptodate $(SNAKEMAKE)

test: $(STAMP) lint system-deps quarto ## Lint, then run the whole test suite (what CI runs)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## Unit and reference tests only
	$(BIN)/python -m pytest tests/unit tests/reference

lint: $(STAMP) ## ruff (check and format), snakefmt and snakemake --lint; fails on any finding
	$(BIN)/ruff check analysis tests benchmarks tools
	$(BIN)/ruff format --check analysis tests benchmarks tools
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/python tools/lint_workflow.py $(BIN)/snakemake

atlas: $(STAMP) ## Recompute extracted/sca2022.yaml from the public Atlas data (needs ../shared/data)
	$(check_cores)
	$(SNAKEMAKE) results/atlas/sca2022.yaml
	cp results/atlas/sca2022.yaml extracted/sca2022.yaml

# VERSION (and CORES) of the release targets are checked here, by make, before any shell
# sees them: one word of digits and dots (a leading v allowed), or the target stops with one
# line. $(value ...) reads the text as typed, so a value like $(shell ...) is never expanded.
# Python then checks the exact form, MAJOR.MINOR.PATCH. Not exported: make would expand them
# to build the recipes' environment.
unexport VERSION CORES
no_digits = $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst 4,,$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$(1)))))))))))
RAW_VERSION = $(strip $(value VERSION))
SAFE_VERSION = $(if $(or $(word 2,$(RAW_VERSION)),$(subst v,,$(subst .,,$(call no_digits,$(RAW_VERSION))))),,$(RAW_VERSION))
RAW_CORES = $(strip $(value CORES))
SAFE_CORES = $(if $(or $(word 2,$(RAW_CORES)),$(call no_digits,$(RAW_CORES))),,$(RAW_CORES))
# The first recipe line of each release target: stop with one line unless both are safe.
VERSION_MISSING = @echo "Say which version: make $@ VERSION=X.Y.Z (see README, Releases and versioning)"; exit 1
VERSION_REFUSED = @echo "release refused: VERSION must look like 1.2.0 (MAJOR.MINOR.PATCH): digits and dots only." >&2; exit 1
CORES_REFUSED = @echo "release refused: CORES must be a whole number, e.g. CORES=2." >&2; exit 1
check_cores = $(if $(SAFE_CORES),,@echo "CORES must be a whole number, e.g. make brief CORES=2." >&2; exit 1)
check_release_args = $(if $(RAW_VERSION),$(if $(SAFE_VERSION),$(if $(SAFE_CORES),,$(CORES_REFUSED)),$(VERSION_REFUSED)),$(VERSION_MISSING))

release: $(STAMP) ## Freeze a citable release in releases/vX.Y.Z and tag it: make release VERSION=X.Y.Z
	$(check_release_args)
	@$(BIN)/python -m analysis.release "$(SAFE_VERSION)" --cores "$(SAFE_CORES)"

verify-release: $(STAMP) ## Rebuild a release's commit (from its tag or the history) and compare every file: make verify-release VERSION=X.Y.Z
	$(check_release_args)
	@$(BIN)/python -m analysis.release "$(SAFE_VERSION)" --verify --cores "$(SAFE_CORES)"

zenodo: $(STAMP) ## Check CITATION.cff and regenerate .zenodo.json from it
	@$(BIN)/python -m analysis.release.zenodo

system-deps: ## Install the browser and PDF tools the reader tests use (Debian: chromium, poppler-utils)
	@if command -v chromium >/dev/null && command -v pdftotext >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing chromium and poppler-utils (Debian packages) for the reader tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	else echo "chromium/pdftotext missing and cannot be installed here: the reader tests will be skipped"; fi

quarto: ## Install Quarto from ../shared/tools/quarto into .cache/quarto (once per bundle checksum), if there
	@if [ ! -x "$(QUARTO_BUNDLE)/install-quarto" ]; then \
	  echo "No $(QUARTO_BUNDLE)/install-quarto: the Quarto tests will be skipped"; \
	else \
	  sum="$$(cat "$(QUARTO_BUNDLE)"/install-quarto "$(QUARTO_BUNDLE)"/*.tar.xz | sha256sum | cut -d' ' -f1)"; \
	  if [ -x $(QUARTO_CACHE)/bin/quarto ] && [ "$$(cat $(QUARTO_CACHE)/bundle.sha256 2>/dev/null)" = "$$sum" ]; then :; \
	  else \
	    echo "Installing Quarto from $(QUARTO_BUNDLE) into $(QUARTO_CACHE) (about 10 s, 440 MB)"; \
	    mkdir -p "$$(dirname $(QUARTO_CACHE))" && rm -rf $(QUARTO_CACHE) $(QUARTO_CACHE).tmp && \
	    "$(QUARTO_BUNDLE)"/install-quarto $(QUARTO_CACHE).tmp >$(QUARTO_CACHE).log 2>&1 && \
	    echo "$$sum" > $(QUARTO_CACHE).tmp/bundle.sha256 && mv $(QUARTO_CACHE).tmp $(QUARTO_CACHE) || \
	    { tail -20 $(QUARTO_CACHE).log; rm -rf $(QUARTO_CACHE).tmp; echo "Quarto install failed: the Quarto tests will fail"; exit 1; }; \
	  fi; \
	fi

lock: ## Re-resolve requirements.in into requirements.lock (exact versions)
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet -r requirements.in
	/tmp/lock-venv/bin/pip install --quiet --no-deps -r requirements.nodeps
	/tmp/lock-venv/bin/pip freeze --all --exclude-editable | grep -v "^pip==" | sort -f > requirements.lock

clean: ## Remove generated results (keeps .venv and releases/)
	rm -rf results .snakemake
