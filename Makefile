# The two commands of the course (see README.md):
#   make test    create .venv on first use, install, run the whole test suite
#   make course  create .venv on first use, execute every lesson, build the book
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: test course install bench clean

install: $(INSTALLED)

# Re-install only when the dependency list or the pins change.
$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,course]"
	touch $(INSTALLED)

test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

# DATA_SOURCE=auto runs the real experiments when $$FERKIT_DATA holds fer2013/ (see tools/course.py);
# DATA_SOURCE=sample forces the sample; FAST=1 keeps the lessons' quick recipes on real data.
DATA_SOURCE ?= auto
course: $(INSTALLED)
	$(PY) -m tools.course --data-source $(DATA_SOURCE) $(if $(FAST),--fast)

bench: $(INSTALLED)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf _build .pytest_cache
