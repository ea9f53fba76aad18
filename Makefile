# `make figures` and `make test` do all set-up: they use the active virtual or conda environment,
# or create ./.venv, install the project into it, then run.
ACTIVE_ENV := $(or $(VIRTUAL_ENV),$(if $(filter-out base,$(CONDA_DEFAULT_ENV)),$(CONDA_PREFIX)))
PYTHON := $(if $(ACTIVE_ENV),$(ACTIVE_ENV)/bin/python,$(CURDIR)/.venv/bin/python)
PROFILE ?= cpu
STAMP := $(if $(ACTIVE_ENV),$(ACTIVE_ENV),$(CURDIR)/.venv)/.takdlib-installed

.PHONY: figures test setup book
figures: setup
	PYTHON=$(PYTHON) ./run_all.sh --profile $(PROFILE)

test: setup
	$(PYTHON) -m pytest -q -n auto --dist loadgroup --durations=10  # a test process per core; the ten slowest

book: setup  # the committed executed notebooks as a book (Sphinx, MyST-NB, the book theme), in site/
	$(PYTHON) -m takdlib.book

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(CURDIR)/.venv
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)
