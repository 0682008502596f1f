# Two commands on a fresh machine:
#   make demo   install into .venv and index this repository, printing a summary
#   make test   install into .venv, run ruff and the whole test suite, then build, test
#               and package the VS Code extension (npm)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= build/demo/mira.db

.PHONY: demo test lint format install clean bench readme

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,qdrant]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(PY) -m mira_ls index . --db $(DEMO_DB)
	$(PY) -m mira_ls mine . --db $(DEMO_DB) 2>/dev/null
	@echo; echo "hover of mira_ls.config.load, as an editor shows it:"; echo
	$(PY) -m mira_ls hover mira_ls/config.py:$$(grep -n '^def load' mira_ls/config.py | cut -d: -f1):5 --db $(DEMO_DB)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(VENV)/bin/pytest -q
	bash editors/vscode/ci.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache

readme: $(STAMP)
	$(PY) scripts/update_readme.py
