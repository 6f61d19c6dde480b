"""Shared test set-up: a quiet TensorFlow, a headless matplotlib, an isolated cache."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# The repository's tools (tools/course.py, the book build) import as ``tools``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# One cache for the whole run, outside the user's ~/.cache: the generated sample is
# made once per run and every test sees the same arrays.
os.environ["FERKIT_CACHE"] = tempfile.mkdtemp(prefix="ferkit-test-cache-")


def real_fer2013_path():
    """The real FER2013 folder named by FERKIT_DATA, or None where it is absent."""
    root = os.environ.get("FERKIT_DATA")
    if root and (Path(root) / "fer2013").is_dir():
        return Path(root) / "fer2013"
    return None


@pytest.fixture
def fer2013_real():
    path = real_fer2013_path()
    if path is None:
        pytest.skip("real FER2013 not available: set FERKIT_DATA to a folder holding fer2013/")
    return path
