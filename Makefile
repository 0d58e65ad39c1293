# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/grader demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# mypy reads the package as it is installed (exercises/ and templates/ are grader.exercises and
# grader.templates): a tree of symlinks gives it that layout without copying a file.
MYPY_TREE := .mypy-tree

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check grader exercises tests bench
	$(BIN)/ruff format --check grader exercises tests bench
	rm -rf $(MYPY_TREE) && mkdir -p $(MYPY_TREE)
	cp -as "$(CURDIR)/grader" $(MYPY_TREE)/grader
	ln -s "$(CURDIR)/exercises" $(MYPY_TREE)/grader/exercises
	ln -s "$(CURDIR)/templates" $(MYPY_TREE)/grader/templates
	cd $(MYPY_TREE) && ../$(BIN)/mypy --config-file ../pyproject.toml -p grader

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(MYPY_TREE) demo-output build *.egg-info
