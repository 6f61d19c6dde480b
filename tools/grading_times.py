"""How long nbgrader takes to autograde each exercise on one CPU core: prints a table.

    python -m tools.grading_times                 # every exercise
    python -m tools.grading_times a4_overfitting  # some

In a temporary copy of the course (``nbgrader_config.py`` and ``solutions/``), it generates
the release, submits each exercise's source notebook as one student and times
``nbgrader autograde`` for it, pinned to one core with ``taskset`` where that exists (the
whole command: kernel start, imports, every cell). The exercises promise to grade within a
minute on one core; on a machine busy with other work the figures grow. A tool of the
repository, not of the library.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def exercises(root=ROOT):
    """The exercises of ``solutions/``, in the order of their numbers."""
    names = [path.parent.name for path in (Path(root) / "solutions").glob("*/*.ipynb")
             if path.stem == path.parent.name]
    return sorted(names, key=lambda name: (int(name[1:].split("_")[0]) if name[1:].split("_")[0].isdigit() else 0,
                                           name))


def _environment():
    environment = os.environ.copy()
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    return environment


def grading_seconds(names, root=ROOT, core=0):
    """``{exercise: seconds}`` that ``nbgrader autograde`` took for its solution on CPU ``core``."""
    nbgrader = [sys.executable, "-m", "nbgrader"]
    pin = ["taskset", "-c", str(core)] if shutil.which("taskset") else []
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="ferkit-grading-") as temporary:
        course = Path(temporary) / "course"
        course.mkdir()
        shutil.copy(Path(root) / "nbgrader_config.py", course)
        shutil.copytree(Path(root) / "solutions", course / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        subprocess.run([*nbgrader, "generate_assignment", "*", "--force"], cwd=course, env=_environment(),
                       check=True, capture_output=True)
        for name in names:
            submitted = course / "submitted" / "timing" / name
            submitted.mkdir(parents=True)
            shutil.copy(course / "solutions" / name / f"{name}.ipynb", submitted)
            started = time.perf_counter()
            result = subprocess.run([*pin, *nbgrader, "autograde", name, "--student=timing"], cwd=course,
                                    env=_environment(), capture_output=True, text=True)
            seconds[name] = time.perf_counter() - started
            if result.returncode != 0:
                raise RuntimeError(f"nbgrader autograde {name} failed:\n{result.stderr[-3000:]}")
    return seconds


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m tools.grading_times", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", help="exercise names (default: every one)")
    parser.add_argument("--core", type=int, default=0, help="the CPU core to pin grading to (default: 0)")
    options = parser.parse_args(arguments)
    names = options.exercises or exercises()
    unknown = sorted(set(names) - set(exercises()))
    if unknown:
        parser.error(f"no such exercise in solutions/: {unknown}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"nbgrader autograde of each solution, one CPU core (load average {load:.1f} when it started):")
    for name, seconds in grading_seconds(names, core=options.core).items():
        print(f"  {name:<24} {seconds:5.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
