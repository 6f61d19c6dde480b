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
# DATA_SOURCE=sample forces the sample; FAST=1 runs the lessons on trimmed real data, fewer epochs.
DATA_SOURCE ?= auto
course: $(INSTALLED)
	$(PY) -m tools.course --data-source $(DATA_SOURCE) $(if $(FAST),--fast)

bench: $(INSTALLED)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf _build .pytest_cache

# The student edition, for the public repository the students and the Colab badges open
# (tools/student_release.py; DEST must be a new or empty folder):
#   make student-release DEST=../ferkit-students URL=https://github.com/<you>/ferkit-students [BRANCH=main]
# One setting for the repository's address (tools/repository_url.py): with URL, write it into
# _config.yml and rewrite every badge, install line and link from it; without, rewrite them
# from _config.yml; CHECK=1 only lists the places that disagree.
#   make repository-url URL=https://github.com/<you>/ferkit [BRANCH=main]
.PHONY: student-release student-release-arguments repository-url
student-release: student-release-arguments $(INSTALLED)
	$(PY) -m tools.student_release "$(DEST)" --repository-url "$(URL)" --branch "$(or $(BRANCH),main)"

student-release-arguments:
	@if [ -z "$(DEST)" ] || [ -z "$(URL)" ]; then \
	    echo "usage: make student-release DEST=<new or empty folder> URL=<the students' GitHub repository>" >&2; exit 2; fi

repository-url: $(INSTALLED)
	$(PY) -m tools.repository_url $(if $(URL),--set "$(URL)") $(if $(BRANCH),--branch "$(BRANCH)") $(if $(CHECK),--check)
