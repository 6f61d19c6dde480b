"""The main job of the course (``make course``): execute every lesson and build the book.

Jupyter Book executes each notebook listed in ``_toc.yml`` (always afresh:
``execute_notebooks: force`` in ``_config.yml``) and stops on the first cell
that fails. Lessons run on the generated sample unless their ``DATA_SOURCE``
parameter asks for real data.
"""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_book():
    """Build the HTML book into ``_build/html``; return the process's exit code."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(ROOT), "--warningiserror", "--keep-going"]
    return subprocess.run(command, cwd=ROOT).returncode


def main():
    started = time.perf_counter()
    code = build_book()
    minutes = (time.perf_counter() - started) / 60
    if code == 0:
        print(f"Book built in {minutes:.1f} min: open {ROOT / '_build' / 'html' / 'index.html'}")
    else:
        print(f"The book build failed after {minutes:.1f} min (see the messages above).", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
