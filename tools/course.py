"""The main job of the course (``make course``): execute every lesson and build the book.

A tool of the repository, not part of the ``ferkit`` library that students import; run it
from the repository's root as ``python -m tools.course`` (``make course`` does).

On the generated sample (the default), Jupyter Book executes each notebook
listed in ``_toc.yml`` itself, always afresh (``execute_notebooks: force`` in
``_config.yml``), and a failing cell fails the build.

When ``FERKIT_DATA`` holds ``fer2013/`` (or ``--data-source fer2013`` is
given), the course runs the real experiments instead: papermill executes every
lesson with ``DATA_SOURCE = "fer2013"``, ``FAST = False`` and the epochs of the
experiment the lesson rebuilds (``ferkit.experiments``), into a copy of the
book's sources under ``_build/real_source``; Jupyter Book then publishes those
executed notebooks without executing them again. Nothing is cached between
builds, so a sample run is never published as a real one. With ``--fast`` the
lessons run with ``FAST = True`` on the real data: smaller parts, fewer epochs, the same
recipes.

The set-up (Colab, JupyterHub, a laptop) is described on the book's set-up page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ferkit import data, environment, experiments

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
REAL_SOURCE = BUILD / "real_source"

LESSON_EXPERIMENTS = {
    "03_shallow_dropout_deep": "mondal_deep",
    "04_compact_cnn": "bedi_cnn",
    "05_fer_kd": "fer_kd",
    "07_transfer_learning": "resnet18",
}
"""Lesson -> the experiment whose epochs a real run of it uses; the other lessons keep their own."""

_NOT_COPIED = (".git", ".venv", "_build", "solutions", "test-artifacts", ".pytest_cache",
               "*.egg-info", "__pycache__", ".ipynb_checkpoints")


def choose_data_source(requested="auto"):
    """Return ``"sample"`` or ``"fer2013"``: the data the course's lessons run on.

    ``"auto"`` picks ``"fer2013"`` when ``$FERKIT_DATA/fer2013`` exists, the
    sample otherwise; ``"fer2013"`` without that folder raises
    ``FileNotFoundError``. Under CI or nbgrader grading the lessons always use
    the sample (:func:`ferkit.environment.resolve_data_source`), so this does too.
    """
    if requested == "auto":
        root = os.environ.get("FERKIT_DATA")
        requested = "fer2013" if root and (Path(root).expanduser() / "fer2013").exists() else "sample"
    data_source = environment.resolve_data_source(requested)
    if data_source == "fer2013":
        data.dataset_path("fer2013")  # a FileNotFoundError saying how to get the data, before any work
    return data_source


def real_parameters(lesson, declared, fast=False):
    """Return the parameters papermill gives ``lesson`` for a run on the real FER2013.

    Only names in ``declared`` (the lesson's ``parameters`` cell) are set:
    ``DATA_SOURCE = "fer2013"``, ``FAST`` and, when not ``fast``, ``EPOCHS`` from
    :data:`LESSON_EXPERIMENTS`.
    """
    parameters = {"DATA_SOURCE": "fer2013", "FAST": bool(fast)}
    if not fast and lesson in LESSON_EXPERIMENTS:
        parameters["EPOCHS"] = experiments.experiment_named(LESSON_EXPERIMENTS[lesson]).epochs
    return {name: value for name, value in parameters.items() if name in declared}


def copy_book_sources(destination):
    """Copy the book's sources to ``destination`` with notebook execution turned off; return it.

    The copy leaves out what is never published (``solutions/``, build outputs,
    virtual environments) and sets ``execute.execute_notebooks: "off"`` in its
    ``_config.yml``, so Jupyter Book publishes the notebooks as they are.
    """
    destination = Path(destination)
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    write_config(destination / "_config.yml", execute_notebooks="off")
    return destination


def write_config(path, execute_notebooks):
    """Write the book's ``_config.yml`` to ``path`` with ``execute.execute_notebooks`` replaced; return it.

    ``execute_notebooks`` is Jupyter Book's setting: ``"force"`` (as ``make course`` on the
    sample) or ``"off"`` (notebooks published as they are).
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["execute_notebooks"] = execute_notebooks
    path = Path(path)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def execute_lessons(source, fast=False, lessons=None):
    """Execute the lessons in ``source/notebooks`` in place on the real FER2013; return their times.

    ``lessons`` names the notebooks to run (default: every lesson). Each one
    runs with :func:`real_parameters`; a failing cell raises papermill's
    ``PapermillExecutionError``, naming the notebook and the cell.
    """
    import papermill

    notebook_folder = Path(source) / "notebooks"
    paths = sorted(notebook_folder.glob("[0-9][0-9]_*.ipynb"))
    if lessons is not None:
        paths = [path for path in paths if path.stem in lessons]
    seconds = {}
    for path in paths:
        declared = papermill.inspect_notebook(str(path))
        parameters = real_parameters(path.stem, declared, fast=fast)
        print(f"{path.stem}: running with {parameters}", flush=True)
        started = time.perf_counter()
        papermill.execute_notebook(str(path), str(path), parameters=parameters, cwd=str(notebook_folder),
                                   progress_bar=False, execution_timeout=None)
        seconds[path.stem] = time.perf_counter() - started
        print(f"{path.stem}: done in {seconds[path.stem]:.0f} s", flush=True)
    return seconds


def book_command(source=ROOT, output=ROOT, config=None):
    """The ``jupyter-book build`` command line of the course: every page, and any warning fails it.

    It builds ``source`` into ``output/_build/html``; ``config`` replaces ``source``'s
    ``_config.yml`` (see :func:`write_config`).
    """
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(source), "--path-output", str(output), "--all",
               "--warningiserror", "--keep-going"]
    return command if config is None else [*command, "--config", str(config)]


def build_book(source=ROOT, output=ROOT):
    """Build the HTML book from ``source`` into ``output/_build/html``; return the process's exit code."""
    return subprocess.run(book_command(source, output), cwd=source).returncode


def parse_arguments(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m tools.course", description=__doc__.split("\n")[0])
    parser.add_argument("--data-source", choices=("auto", "sample", "fer2013"), default="auto",
                        help="auto (default): fer2013 when $FERKIT_DATA/fer2013 exists, else the sample")
    parser.add_argument("--fast", action="store_true",
                        help="on real data, run the lessons with FAST = True (smaller parts, fewer epochs)")
    return parser.parse_args(arguments)


def main(arguments=None):
    options = parse_arguments(arguments)
    data_source = choose_data_source(options.data_source)
    started = time.perf_counter()
    if data_source == "fer2013":
        recipe = "FAST = True (--fast)" if options.fast else "the experiments' settings and epochs"
        print(f"Running every lesson on the real FER2013 from $FERKIT_DATA with {recipe}. Without --fast "
              f"this trains each paper's models on all of FER2013, which is meant for a GPU; "
              f"`make course DATA_SOURCE=sample` builds on the sample instead.", flush=True)
        source = copy_book_sources(REAL_SOURCE)
        execute_lessons(source, fast=options.fast)
    else:
        source = ROOT
    code = build_book(source)
    minutes = (time.perf_counter() - started) / 60
    if code == 0:
        print(f"Book built on the {data_source} data in {minutes:.1f} min: "
              f"open {BUILD / 'html' / 'index.html'}")
    else:
        print(f"The book build failed after {minutes:.1f} min (see the messages above).", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
