"""The repository's address is one setting: ``repository.url`` (and ``branch``) in ``_config.yml``.

A lecturer adopts the course by forking it; the lessons' Colab badges and install cells,
the exercises, the book's pages and ``pyproject.toml`` must then name the fork. This tool
rewrites every place that names the repository from ``_config.yml``:

* Colab links to the repository's own notebooks,
  ``https://colab.research.google.com/github/<owner>/<name>/blob/<branch>/<path>.ipynb``
  (a link that lacks the ``.com`` is repaired; one to a notebook the repository does not
  hold is reported, not rewritten);
* install lines, ``ferkit @ git+<url>``;
* ``git clone https://github.com/...`` lines (the course's pages clone only the course),
  and the ``cd <name>`` line that follows one;
* ``Repository = "<url>"`` under ``[project.urls]`` in ``pyproject.toml``.

It looks in ``notebooks/``, ``exercises/``, ``solutions/``, ``book/``, ``README.md`` and
``pyproject.toml``, edits the files as text (a notebook's JSON keeps its layout), and leaves
every other address alone. In a released exercise it also updates nbgrader's checksum of
each cell it changed (the read-only setup cell holds an install line), so that *Validate*
does not report the cell as edited. Run it from the repository's root::

    python -m tools.repository_url --check                    # list the places that disagree; exit 1 if any
    python -m tools.repository_url                            # rewrite them from _config.yml
    python -m tools.repository_url --set https://github.com/my-school/ferkit [--branch main]

``make repository-url URL=...`` is the last form. Colab opens notebooks from GitHub only,
so the URL must be a GitHub repository's. A tool of the repository, not of the library.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "_config.yml"
# Where the repository's address may appear, relative to the root (globs).
SEARCHED = ("notebooks/*.ipynb", "exercises/*/*.ipynb", "solutions/*/*.ipynb", "book/**/*.md", "README.md",
            "pyproject.toml")

GITHUB = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]*))/(?P<name>[A-Za-z0-9._-]+?)(?:\.git)?/?$")
COLAB = re.compile(
    r"https?://colab\.research\.google(?P<com>\.com)?/github/(?P<owner>[A-Za-z0-9-]+)/(?P<name>[A-Za-z0-9._-]+)"
    r"/blob/(?P<branch>[A-Za-z0-9._-]+)/(?P<path>[A-Za-z0-9._/-]+?\.ipynb)"
)
INSTALL = re.compile(r"(?P<lead>ferkit @ git\+)(?P<url>https?://[^\s\"'\\)]+)")
CLONE = re.compile(r"(?P<lead>git clone )(?P<url>https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?P<git>\.git)?"
                   r"(?=[\s\"'\\)]|$)(?P<cd>\n[ \t]*cd (?P<folder>[A-Za-z0-9._-]+))?")
PROJECT_URL = re.compile(r'^(?P<lead>Repository\s*=\s*")(?P<url>[^"]*)(?P<end>")', flags=re.M)
CONFIG_URL = re.compile(r"^(?P<lead>repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(?P<url>\S+)", flags=re.M)
CONFIG_BRANCH = re.compile(r"^(?P<lead>repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+branch:[ \t]*)(?P<branch>\S+)",
                           flags=re.M)


@dataclass(frozen=True)
class Repository:
    """A GitHub repository: ``owner``, ``name`` and the ``branch`` the links open."""

    owner: str
    name: str
    branch: str = "main"

    @property
    def url(self):
        return f"https://github.com/{self.owner}/{self.name}"

    def colab(self, path):
        return f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{self.branch}/{path}"


def parse_url(url, branch="main", where="the repository URL"):
    """Return the :class:`Repository` of a GitHub URL; ``ValueError`` naming ``where`` for anything else."""
    match = GITHUB.match(str(url).strip())
    if match is None:
        raise ValueError(
            f"{where}: expected a GitHub repository URL such as https://github.com/<owner>/<name> "
            f"(Colab opens notebooks from GitHub only), found {url!r}"
        )
    if not re.fullmatch(r"[A-Za-z0-9._-]+", str(branch)):
        raise ValueError(f"{where}: expected a branch name without slashes or spaces, found {branch!r}")
    return Repository(match["owner"], match["name"], str(branch))


def configured(root=ROOT):
    """The :class:`Repository` named by ``repository.url`` and ``repository.branch`` in ``_config.yml``."""
    path = Path(root) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no Jupyter Book configuration here; run from the repository's root")
    text = path.read_text()
    url, branch = CONFIG_URL.search(text), CONFIG_BRANCH.search(text)
    if url is None:
        raise ValueError(f"{path}: expected a 'repository:' section with a 'url:' line")
    return parse_url(url["url"], branch["branch"] if branch else "main", where=f"{path}, repository.url")


def set_configured(repository, root=ROOT):
    """Write ``repository``'s URL (and branch, when the file has a branch line) into ``_config.yml``."""
    path = Path(root) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no Jupyter Book configuration here; run from the repository's root")
    text = path.read_text()
    if CONFIG_URL.search(text) is None:
        raise ValueError(f"{path}: expected a 'repository:' section with a 'url:' line")
    text = CONFIG_URL.sub(lambda match: match["lead"] + repository.url, text, count=1)
    text = CONFIG_BRANCH.sub(lambda match: match["lead"] + repository.branch, text, count=1)
    path.write_text(text)


def searched_files(root=ROOT):
    """The files that may name the repository, in a stable order."""
    root = Path(root)
    files = {path for pattern in SEARCHED for path in root.glob(pattern) if path.is_file()}
    return sorted(path for path in files if ".ipynb_checkpoints" not in path.parts)


def _line(text, position):
    return text.count("\n", 0, position) + 1


def _rewritten(text, repository, path, root):
    """``(new text, [(line, found, expected)])`` for one file."""
    changes = []

    def note(match, found, expected):
        if found != expected:
            changes.append((_line(text, match.start()), found, expected))
        return expected

    def colab(match):
        if not (Path(root) / match["path"]).is_file():
            return match[0]  # not one of ours: disagreements() reports it
        return note(match, match[0], repository.colab(match["path"]))

    def install(match):
        return match["lead"] + note(match, match["url"], repository.url)

    def clone(match):
        expected = match["lead"] + repository.url + ".git"
        if match["cd"]:
            old_name = match["url"].rsplit("/", 1)[-1]
            folder = repository.name if match["folder"] == old_name else match["folder"]
            expected += match["cd"][: match.start("folder") - match.start("cd")] + folder
        return note(match, match[0], expected)

    text = COLAB.sub(colab, text)
    text = INSTALL.sub(install, text)
    text = CLONE.sub(clone, text)
    if path.name == "pyproject.toml":
        text = PROJECT_URL.sub(lambda match: match["lead"] + note(match, match["url"], repository.url) + match["end"],
                               text)
    return text, changes


def disagreements(root=ROOT, repository=None):
    """Every place that does not name ``repository`` (default: ``_config.yml``'s), as readable lines.

    Each line is ``"<file>:<line>: <found> (expected <expected>)"``; an empty list means the
    repository agrees with itself. A Colab link to a notebook that does not exist is listed too.
    """
    root = Path(root)
    repository = repository or configured(root)
    problems = []
    for path in searched_files(root):
        text = path.read_text()
        relative = path.relative_to(root).as_posix()
        for line, found, expected in _rewritten(text, repository, path, root)[1]:
            problems.append(f"{relative}:{line}: {found} (expected {expected})")
        for match in COLAB.finditer(text):
            if not (root / match["path"]).is_file():
                problems.append(f"{relative}:{_line(text, match.start())}: the Colab link opens {match['path']}, "
                                "which is not in the repository")
    return problems


def rewrite(root=ROOT, repository=None, only=None):
    """Rewrite every place from ``repository`` (default: ``_config.yml``'s); return the files changed.

    ``only`` limits the rewrite to files under those folders or names (e.g. ``["exercises",
    "solutions"]``); the check covers everything regardless.
    """
    root = Path(root)
    repository = repository or configured(root)
    changed = []
    for path in searched_files(root):
        relative = path.relative_to(root)
        if only and not any(relative.parts[0] == Path(part).parts[0] for part in only):
            continue
        text = path.read_text()
        new, changes = _rewritten(text, repository, path, root)
        if changes:
            path.write_text(new)
            if path.suffix == ".ipynb":
                _update_nbgrader_checksums(path)
            changed.append(path)
    return changed


def _update_nbgrader_checksums(path):
    """Recompute the checksum of every nbgrader cell of a released notebook whose source changed."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    stale = [cell for cell in notebook.cells if "checksum" in cell.metadata.get("nbgrader", {})]
    if not stale:
        return
    from nbgrader.utils import compute_checksum

    updated = False
    for cell in stale:
        checksum = compute_checksum(cell)
        if cell.metadata.nbgrader["checksum"] != checksum:
            cell.metadata.nbgrader["checksum"] = checksum
            updated = True
    if updated:
        nbformat.write(notebook, path)


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m tools.repository_url", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT), help="the repository's root (default: this checkout)")
    parser.add_argument("--set", metavar="URL", help="write this GitHub URL into _config.yml, then rewrite")
    parser.add_argument("--branch", help="with --set: the branch the links open (default: _config.yml's)")
    parser.add_argument("--check", action="store_true", help="only list the places that disagree; exit 1 if any")
    parser.add_argument("--only", nargs="+", metavar="FOLDER", help="rewrite only these folders or files")
    options = parser.parse_args(arguments)
    root = Path(options.root)
    try:
        if options.set:
            if options.check:
                parser.error("--check and --set exclude each other")
            branch = options.branch or (CONFIG_BRANCH.search((root / CONFIG).read_text()) or {"branch": "main"})["branch"]
            repository = parse_url(options.set, branch, where="--set")
            set_configured(repository, root)
            print(f"{CONFIG}: repository {repository.url}, branch {repository.branch}")
        if options.check:
            problems = disagreements(root)
            for problem in problems:
                print(problem)
            print(f"{len(problems)} place(s) disagree with {CONFIG} ({configured(root).url})")
            return 1 if problems else 0
        for path in rewrite(root, only=options.only):
            print("rewrote", path.relative_to(root))
        return 0
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
