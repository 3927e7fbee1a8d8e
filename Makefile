# Two commands for a newcomer: `make demo` and `make test`. Both create .venv and install into it first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test notebooks clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  (apt-get update -q && apt-get install -y -q python3-venv) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: its CPU build lies on disk here; an unpinned torch pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	# the review page's browser tests drive the system Chromium (Playwright's own browser download is not used)
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the review page's tests"; \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/avm demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

notebooks: install
	$(PY) -m pip install -q -e '.[test,notebooks]'
	$(PY) notebooks/run.py

clean:
	rm -rf outputs .pytest_cache
