# The README's two set-up commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SB := $(VENV)/bin/scenebridge
STAMP := $(VENV)/.installed-stamp
QS_DATA := data/ml-100k
QS_RUN := runs/quickstart

LLAMA_VERSION := 0.3.36
WHEELS := $(HOME)/.cache/scenebridge/wheels

.PHONY: run test unit integration lint install clean llama

install: $(STAMP)

# Re-installs only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

$(QS_DATA)/interactions.csv: | $(STAMP)
	$(SB) data prepare movielens-100k $(QS_DATA)

$(QS_RUN)/metrics.json: $(QS_DATA)/interactions.csv | $(STAMP)
	$(SB) evaluate $(QS_DATA) --source drama --target comedy --out $(QS_RUN)

run: $(QS_RUN)/metrics.json
	$(SB) report $(QS_RUN)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m unit

integration: $(STAMP)
	$(PY) -m pytest -m integration

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# llama-cpp-python compiles for ~12 min on 2 cores: build its wheel once into the cache, then reuse it.
llama: $(STAMP)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  $(PY) -m pip wheel --no-deps "llama-cpp-python==$(LLAMA_VERSION)" -w $(WHEELS)
	$(PY) -m pip install -q --find-links $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)"

clean:
	rm -rf $(QS_RUN) $(QS_DATA)
