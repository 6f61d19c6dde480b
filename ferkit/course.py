"""The main job of the course (``make course``): execute every lesson and build the book.

Lessons run on the generated sample unless ``FERKIT_DATA`` points at real data.
Until the lessons and the full book exist, it executes what exists and says so.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def execute_notebook(path, timeout=600):
    """Execute one notebook in place of its outputs-free source, into ``_build/executed/``."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    target = ROOT / "_build" / "executed" / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


def main():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print("make course: no lessons in notebooks/ yet; nothing to execute.")
    for notebook in notebooks:
        print(f"executing {notebook.relative_to(ROOT)} ...", flush=True)
        print(f"  -> {execute_notebook(notebook).relative_to(ROOT)}")
    build = subprocess.run([sys.executable, "-m", "jupyter_book", "build", str(ROOT), "-W", "--keep-going"])
    if build.returncode == 0:
        print(f"Book built: open {ROOT / '_build' / 'html' / 'index.html'}")
    return build.returncode


if __name__ == "__main__":
    sys.exit(main())
