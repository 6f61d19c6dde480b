"""Shared test set-up: a quiet TensorFlow, a headless matplotlib, an isolated cache."""

import os
import shutil
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


def headless_chromium(window_size="1280,1600"):
    """Headless Chromium driven by Selenium through Debian's chromedriver (no downloads).

    Skips the test with the reason where Selenium, Chromium or chromedriver is missing
    (``.ci/run`` installs Debian's ``chromium`` and ``chromium-driver`` as root). Nothing
    outside this machine resolves: the pages under test must work offline. The caller quits
    the driver.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: pip install -c constraints.txt -e '.[test]'")
    chromium = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                     if shutil.which(name)), None)
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver; .ci/run does it as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     f"--window-size={window_size}", "--allow-file-access-from-files",
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(60)
    return driver


SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def solution_regions(notebook):
    """``(secret, public)``: the stripped lines of ``notebook`` inside nbgrader's solution or
    hidden-test regions, and all the others (the marker lines themselves in neither)."""
    secret, public = set(), set()
    for cell in notebook.cells:
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
                inside = True
            elif stripped in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1]):
                inside = False
            else:
                (secret if inside else public).add(stripped)
    return secret, public
