"""Write the student edition of the course into a new, empty folder.

Courses that grade with nbgrader and publish with Jupyter Book commonly keep two
repositories: a private one for the instructors (this one, with ``solutions/``, the hidden
tests and the gradebook) and a public one that the students, the Colab badges and the
book's launch buttons open. This tool writes the public one::

    python -m tools.student_release ../ferkit-students --repository-url https://github.com/my-school/ferkit-students
    make student-release DEST=../ferkit-students URL=https://github.com/my-school/ferkit-students

It copies the lessons (``notebooks/``), the book's sources (``book/``, ``_config.yml``,
``_toc.yml``, ``references.bib``), the released exercises (``exercises/``), the library
(``ferkit/``) and what installs it (``pyproject.toml``, ``constraints.txt``,
``environment.yml``, ``postBuild``), writes a README and a ``.gitignore`` for the students,
and points every repository address of the copy at ``--repository-url`` (with
:mod:`tools.repository_url`), so that the students' badges open the students' repository.
It never copies ``solutions/``, ``tests/``, ``tools/``, ``nbgrader_config.py``, a gradebook
or students' work, and it checks the copy before it hands it over: no nbgrader solution or
hidden-test marker in any notebook or Python file. A destination that already holds anything is refused, and
nothing in it is touched. A tool of the repository, not of the library.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from tools import repository_url as addresses

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("notebooks", "book", "exercises", "ferkit", "_config.yml", "_toc.yml", "references.bib",
          "pyproject.toml", "constraints.txt", "environment.yml", "postBuild")
"""What the student edition holds, relative to the root (folders are copied whole, less IGNORED)."""
IGNORED = ("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
"""nbgrader's region markers: none may reach a student's notebook or code (the instructor guide names them)."""
NEVER = ("solutions", "gradebook.db", "nbgrader_config.py", "submitted", "autograded", "feedback", "release",
         "downloaded", "tests", "tools")
"""Names that must not appear anywhere in the copy's tree."""

README = """# {title}: the student edition

This repository holds the lessons, the exercises and the helper library `ferkit` of the
course. Your instructor publishes the course's book and tells you where to hand in the
exercises.

- `notebooks/`: the nine lessons. Open one on Colab with the badge in its first cell,
  or in JupyterLab.
- `exercises/`: the graded exercises. How to work on them and hand them in is on the
  book's page *Exercises* (`book/exercises.md`).
- `ferkit/`: the library the lessons import.
- `book/`, `_config.yml`, `_toc.yml`, `references.bib`: the book's sources.

## Running the course on your computer

With Python 3.11 and git:

```bash
git clone {url}.git
cd {name}
python3 -m venv .venv
source .venv/bin/activate
pip install -c constraints.txt -e ".[course]"
jupyter lab
```

Or with conda: `conda env create -f environment.yml`, then `conda activate ferkit`.
Everything runs on a CPU with the generated sample data; the book's page *Set-up*
(`book/setup.md`) has the details, and *Getting the data* (`book/data.md`) the real
datasets.
"""

GITIGNORE = """.venv/
__pycache__/
*.egg-info/
.ipynb_checkpoints/
_build/
"""


def check_destination(destination):
    """Refuse a destination that exists as a file or holds anything; return it as a ``Path``."""
    destination = Path(destination).expanduser()
    if destination.exists() and not destination.is_dir():
        raise FileExistsError(f"{destination}: a file is in the way; the student edition needs a new, empty folder")
    if destination.is_dir():
        entries = sorted(entry.name for entry in destination.iterdir())
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise FileExistsError(
                f"{destination}: the folder already holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} "
                f"({shown}); the student edition is written only into a new or empty folder, so nothing there "
                "is overwritten. Choose another folder, or empty this one yourself."
            )
    if destination.resolve() == ROOT or ROOT in destination.resolve().parents:
        raise ValueError(f"{destination}: the student edition cannot be written inside the course itself ({ROOT})")
    return destination


def leaks(folder):
    """Files of ``folder`` holding an nbgrader marker, and paths named like instructor-only material."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in NEVER for part in relative.parts):
            found.append(f"{relative}: instructor-only material")
        elif path.is_file() and path.suffix in (".ipynb", ".py"):  # the book's pages may name the markers
            text = path.read_bytes().decode("utf-8", errors="ignore")
            found += [f"{relative}: holds {marker!r}" for marker in MARKERS if marker in text]
    return found


def write_student_release(destination, repository_url, branch="main", root=ROOT):
    """Write the student edition of the course at ``root`` into ``destination``; return its path.

    ``repository_url`` is the students' (public) GitHub repository, ``branch`` the branch its
    links open. Raises ``FileExistsError`` when ``destination`` holds anything (nothing there
    is changed), ``ValueError`` for a URL that is not a GitHub repository's, and
    ``RuntimeError`` (after removing what it wrote) if the copy would leak instructor-only
    material.
    """
    root = Path(root)
    repository = repository_url_checked(repository_url, branch)
    destination = check_destination(destination)
    missing = [name for name in COPIED if not (root / name).exists()]
    if missing:
        raise FileNotFoundError(f"{root}: the course is missing {missing}; run from a complete checkout")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".student-release-", dir=destination.parent))
    try:
        for name in COPIED:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns(*IGNORED))
            else:
                shutil.copy2(source, staging / name)
        title = _book_title(root)
        (staging / "README.md").write_text(README.format(title=title, url=repository.url, name=repository.name))
        (staging / ".gitignore").write_text(GITIGNORE)
        addresses.set_configured(repository, staging)
        addresses.rewrite(staging, repository)
        problems = leaks(staging) + addresses.disagreements(staging, repository)
        if problems:
            raise RuntimeError("the student edition would not be clean:\n  " + "\n  ".join(problems[:20]))
        check_destination(destination)  # still empty: nothing there is overwritten
        destination.mkdir(exist_ok=True)
        for entry in sorted(staging.iterdir()):
            shutil.move(str(entry), str(destination / entry.name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def repository_url_checked(url, branch):
    return addresses.parse_url(url, branch, where="--repository-url")


def _book_title(root):
    import yaml

    title = yaml.safe_load((Path(root) / "_config.yml").read_text()).get("title", "The course")
    return title.split(":")[0]


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m tools.student_release", description=__doc__.split("\n\n")[0])
    parser.add_argument("destination", help="a new or empty folder for the student edition")
    parser.add_argument("--repository-url", required=True,
                        help="the students' public GitHub repository, e.g. https://github.com/my-school/ferkit-students")
    parser.add_argument("--branch", default="main", help="the branch its links open (default: main)")
    options = parser.parse_args(arguments)
    try:
        destination = write_student_release(options.destination, options.repository_url, options.branch)
    except (FileExistsError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote the student edition to {destination}; its links open {options.repository_url} "
          f"(branch {options.branch}). Next: cd {destination} && git init && git add . && git commit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
