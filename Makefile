# Two commands do everything on a fresh machine:
#   make mnist   train the default preset (mnist-iic; a resumed run keeps its own), then write traversals and the evaluation (the main job)
#   make test    create the environment and run the whole test suite (what CI runs)
# make docs builds the documentation site (mkdocs.yml, docs/) into site/.
# Offline, point the data at local MNIST files: make mnist INFOGAN_DATA_ROOT=../shared/data

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN ?= runs/mnist
BASELINE ?= runs/mnist-plain
SEED ?= 0
# Tests and CI use the MNIST files beside the checkout when they are there.
TEST_DATA_ROOT ?= $(if $(INFOGAN_DATA_ROOT),$(INFOGAN_DATA_ROOT),$(abspath ../shared/data))

.PHONY: setup mnist baseline test test-fast lint docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

mnist: setup
	$(BIN)/infogan train --seed $(SEED) --out $(RUN) $(if $(wildcard $(RUN)/checkpoint.safetensors),--resume $(RUN))
	$(BIN)/infogan traverse $(RUN) --all
	$(BIN)/infogan sample $(RUN)
	$(BIN)/infogan evaluate $(RUN) --dataset mnist --split test > /dev/null
	@echo "figures: $(RUN)/traversals/  evaluation: $(RUN)/evaluation.json"

baseline: setup
	$(BIN)/infogan train --preset mnist --plain-gan --paper-objective --seed $(SEED) --out $(BASELINE) $(if $(wildcard $(BASELINE)/checkpoint.safetensors),--resume $(BASELINE))
	$(BIN)/infogan traverse $(BASELINE) --all
	$(BIN)/infogan evaluate $(BASELINE) --dataset mnist --split test > /dev/null

test: setup docs
	$(BIN)/ruff check .
	INFOGAN_DATA_ROOT=$(TEST_DATA_ROOT) $(BIN)/python -m pytest --durations=15

test-fast: setup
	INFOGAN_DATA_ROOT=$(TEST_DATA_ROOT) $(BIN)/python -m pytest -m "not slow" --durations=15

# --strict: a broken link, anchor or API reference fails the build (and so `make test`).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site  # not --quiet: it hides the warnings that --strict aborts on

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
